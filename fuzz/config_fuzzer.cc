// config_fuzzer.cc — libFuzzer target: config::parse() on arbitrary bytes (invalid UTF-8, NULs,
// deep nesting included) must return a Config or an Error, never crash or throw.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto result = lwmi::config::parse(text, "fuzz.conf");
  if (result.ok()) {
    // A parsed config satisfies the documented invariants.
    const auto& c = *result;
    if (c.methods.terminate_wait_ms < 1 || c.methods.terminate_wait_ms > 600000) std::abort();
    if (c.server.state_dir.empty() || c.server.state_dir[0] != '/') std::abort();
    if (c.security.admin_group.empty() || c.security.remote_group.empty()) std::abort();
    for (const auto& name : c.security.protected_processes)
      if (name.empty()) std::abort();
    if (c.source != "fuzz.conf") std::abort();
  } else {
    // Every error names the source.
    if (result.error().message.rfind("fuzz.conf", 0) != 0) std::abort();
  }
  return 0;
}
