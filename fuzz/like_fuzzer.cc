// like_fuzzer.cc — libFuzzer target for WQL's LIKE matcher (wql/like.cc), which evaluates
// patterns from untrusted queries against untrusted text (command lines). The input is a pattern
// and a text separated by the first NUL byte. A pattern must either compile or be refused with a
// message; a compiled one must agree with the dynamic-programming reference on the text.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "wql/like.h"
#include "wql/like_reference.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t nul = in.find('\0');
  if (nul == std::string_view::npos) return 0;
  std::string_view pattern = in.substr(0, nul), text = in.substr(nul + 1);
  // The reference costs pattern × text: keep each run fast.
  if (pattern.size() > 512 || text.size() > 4096) return 0;
  std::string error;
  auto compiled = lwmi::wql::LikePattern::compile(pattern, &error);
  if (!compiled) {
    if (error.empty()) __builtin_trap();  // a refusal says why
    return 0;
  }
  if (compiled->matches(text) != lwmi::wql::reference_like(pattern, text)) __builtin_trap();
  return 0;
}
