// wsman/xsd.h — XML Schema (xs:) lexical forms as WS-Management carries lwmi's values:
// xs:duration (timeouts, leases, heartbeats; CIM intervals in <cim:Interval>), xs:dateTime (CIM
// DATETIME in <cim:Datetime>) and the text of a scalar. Shared by the server codec
// (envelope_decode.cc, envelope_encode.cc, cim_xml.cc) and the client codec (client_codec.cc), so
// both ends read and write the same text.
// Thread safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "lwmi/value.h"

namespace lwmi::wsman {

/// xs:duration ("PT60.000S", "P0DT0H1M") as seconds; years count 365 days and months 30 days.
/// Strict: designators in order (Y M D, then T H M S), a fraction only on seconds, no sign
/// ("-PT1S" is refused); nullopt when malformed.
std::optional<double> seconds_from_xs_duration(std::string_view text);
/// Seconds as xs:duration "PT<s>.<ms>S"; negative or non-finite values become PT0.000S.
std::string xs_duration(double seconds);

/// xs:dateTime ("2026-11-27T07:24:21.123456+01:00", "…Z") as CIM DATETIME text; nullopt if
/// malformed.
std::optional<std::string> cim_datetime_from_xs(std::string_view xs);
/// xs:duration ("P1DT2H3M4.5S") as a CIM interval; nullopt if malformed.
std::optional<std::string> cim_interval_from_xs(std::string_view xs);

/// A CIM DATETIME as XML Schema text: an interval as xs:duration ("P1DT02H03M04.000005S"), a
/// timestamp as xs:dateTime ("2026-11-27T07:24:21.123456+01:00").
struct XsTime {
  bool interval = false;
  std::string text;
};
/// nullopt when `cim` is not a complete DATETIME (wildcards, malformed): such text has no
/// XML Schema form.
std::optional<XsTime> xs_from_cim_datetime(std::string_view cim);

/// The text of a scalar as the server writes it: booleans true/false, reals NaN, INF and -INF
/// as XML Schema spells them, anything else Value::to_text().
std::string xs_text(const Value& v);

}  // namespace lwmi::wsman
