// envelope_fuzzer.cc — libFuzzer target for wsman::decode(). Any input must either decode into a
// Request or give a Fault with a code, a reason and a 4xx/5xx HTTP status; never crash. A decoded
// request's fields are echoed back through encode() and encode_fault(), whose output must be
// well-formed enough to start with the XML declaration.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "wsman/envelope.h"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

const char kDecl[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";

bool starts_with_decl(const std::string& s) {
  return s.rfind(kDecl, 0) == 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lwmi::wsman;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto decoded = decode(text);
  if (auto* f = std::get_if<Fault>(&decoded)) {
    check(!f->code.empty() && !f->reason.empty());
    check(f->http_status >= 400 && f->http_status < 600);
    check(starts_with_decl(encode_fault(*f, "")));
    return 0;
  }
  const Request& r = std::get<Request>(decoded);
  check(size <= kMaxEnvelopeBytes);
  if (r.operation == Operation::kInvoke) check(!r.method.empty());
  // Echo what the client sent through the encoder: every field may carry arbitrary bytes.
  Fault echo;
  echo.subcode = "w:InvalidSelectors";
  echo.reason = r.action + r.resource_uri + r.filter + r.context;
  for (const auto& s : r.selectors) echo.reason += s.name + "=" + s.value;
  for (const auto& [n, v] : r.parameters) echo.reason += n + "=" + v;
  // A Create body: its element and properties (endpoint references already turned into paths).
  echo.reason += r.instance_element + r.instance_namespace;
  for (const auto& p : r.instance_properties) echo.reason += p.name + "=" + p.text;
  echo.detail = r.to;
  Response resp;
  resp.relates_to = r.message_id;
  resp.fault = echo;
  check(starts_with_decl(encode(resp)));
  Response enumeration;
  enumeration.relates_to = r.message_id;
  enumeration.action = r.action;
  enumeration.resource_uri = r.resource_uri;
  enumeration.is_pull = true;
  enumeration.context = r.context;
  enumeration.subscription_id = r.identifier;
  check(starts_with_decl(encode(enumeration)));
  if (r.operation == Operation::kCreate) {
    // The answer names the new instance by what the body held: echo it as a ResourceCreated.
    Response created;
    created.resource_uri = r.resource_uri;
    lwmi::ObjectPath p;
    p.class_name = r.instance_element;
    for (const auto& prop : r.instance_properties)
      p.keys.push_back({prop.name, lwmi::Value::string(prop.text)});
    created.created = p;
    check(starts_with_decl(encode(created)));
  }
  return 0;
}
