// libFuzzer target for the host files of `lwmic --node @FILE` (parse_host_file). Any input must
// either fail with WBEM_E_INVALID_PARAMETER and a message naming the file (and line), or give a
// non-empty list of distinct hosts without blanks or control characters, which written back
// one a line parses to the same list.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "lwmi/fanout.h"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = lwmi::parse_host_file(text, "hosts");
  if (!parsed.ok()) {
    const lwmi::Error& e = parsed.error();
    check(e.code == lwmi::WbemStatus::kInvalidParameter);
    check(e.message.rfind("hosts:", 0) == 0);
    return 0;
  }
  check(!parsed->empty());
  std::set<std::string> seen;
  std::string again;
  for (const auto& h : *parsed) {
    check(!h.empty());
    for (unsigned char c : h) check(c > 0x20 && c != 0x7f && c != ',');
    check(h.front() != '#' && h.front() != '@');
    check(seen.insert(h).second);
    again += h + "\n";
  }
  auto back = lwmi::parse_host_file(again, "hosts");
  check(back.ok() && *back == *parsed);
  return 0;
}
