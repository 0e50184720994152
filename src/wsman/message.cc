// wsman/message.cc — the few constructors of message.h's plain data.
#include "wsman/message.h"

namespace lwmi::wsman {

Fault make_fault(std::string subcode, std::string reason, WbemStatus wbem, std::string code) {
  Fault f;
  f.code = std::move(code);
  f.subcode = std::move(subcode);
  f.reason = std::move(reason);
  f.wbem = wbem;
  f.http_status = 500;
  return f;
}

Response fault_response(const Request& r, Fault fault) {
  Response out;
  out.relates_to = r.message_id;
  out.fault = std::move(fault);
  return out;
}

}  // namespace lwmi::wsman
