// libFuzzer target for ObjectPath::parse. Any input must either fail with
// WBEM_E_INVALID_OBJECT_PATH and a position inside the text, or parse into a path whose
// relative() and to_string() forms parse back to the same path and format identically.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "lwmi/object_path.h"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

bool same_keys(const lwmi::ObjectPath& a, const lwmi::ObjectPath& b) {
  if (a.keys.size() != b.keys.size() || a.singleton != b.singleton) return false;
  for (size_t i = 0; i < a.keys.size(); ++i)
    if (a.keys[i].name != b.keys[i].name || !(a.keys[i].value == b.keys[i].value)) return false;
  return a.class_name == b.class_name;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = lwmi::ObjectPath::parse(text);
  if (!parsed.ok()) {
    const lwmi::Error& e = parsed.error();
    check(e.code == lwmi::WbemStatus::kInvalidObjectPath);
    check(e.position.has_value() && *e.position <= size);
    check(!e.message.empty());
    return 0;
  }
  const lwmi::ObjectPath& p = *parsed;
  check(same_path(p, p));

  // Relative form: Class.Key=value — only meaningful when there is a class.
  if (!p.is_namespace_path()) {
    std::string rel = p.relative();
    auto again = lwmi::ObjectPath::parse(rel);
    check(again.ok());
    check(again->server.empty() && again->namespace_path.empty());
    check(same_path(p, *again) && same_path(*again, p));
    check(same_keys(p, *again));
    check(again->relative() == rel);
  }

  // Full form: \\server\namespace:relative.
  std::string full = p.to_string();
  auto full_again = lwmi::ObjectPath::parse(full);
  check(full_again.ok());
  check(full_again->server == p.server && full_again->namespace_path == p.namespace_path);
  check(same_path(p, *full_again));
  check(same_keys(p, *full_again));
  check(full_again->to_string() == full);
  return 0;
}
