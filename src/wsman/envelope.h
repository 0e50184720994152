// wsman/envelope.h — the SOAP 1.2 envelope codec for WS-Management (libxml2, namespace-aware).
//
// decode() (envelope_decode.cc) accepts UTF-8 and UTF-16 (with BOM) bodies, any namespace
// prefixes, CRLF line ends, unknown options and headers (unless mustUnderstand), and never checks
// wsa:To strictly. Malformed input gives a Fault answered with HTTP 400
// (wsman:InvalidMessageInformationHeader / s:Sender / WBEM_E_INVALID_PARAMETER, or
// wsman:EncodingLimit for size and nesting limits), never a crash.
// encode() (envelope_encode.cc) writes a response envelope (UTF-8) for a Response; a class
// definition (GetClass) goes in as CIM-XML (cim_xml.h). The xs: text of durations, dateTimes
// and scalars is xsd.h's, shared with the client codec.
// Thread safety: pure functions (libxml2 is initialised once, thread-safely).
#pragma once

#include <string>
#include <string_view>
#include <variant>

#include "wsman/message.h"

namespace lwmi::wsman {

inline constexpr size_t kMaxEnvelopeBytes = 512 * 1024;  ///< request bodies larger are refused
inline constexpr int kMaxXmlDepth = 64;

/// Decodes a request envelope; on failure the Fault to send back.
std::variant<Request, Fault> decode(std::string_view body);

/// Encodes a response envelope.
std::string encode(const Response& response);

/// A Fault response envelope for `fault`, relating to `message_id`.
std::string encode_fault(const Fault& fault, std::string_view message_id);

}  // namespace lwmi::wsman
