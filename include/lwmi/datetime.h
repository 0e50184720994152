// lwmi/datetime.h — the CIM DATETIME format.
//
// Absolute: "yyyymmddHHMMSS.mmmmmmsUUU" (25 characters; s is + or -, UUU the offset from UTC in
// minutes), e.g. "20170712123353.342056-420". Interval: "ddddddddHHMMSS.mmmmmm:000". Unused
// fields may be '*' (then the value cannot be converted or compared as a time).
// Comparison of absolute times is done after normalising to UTC.
// Thread safety: plain value type.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "lwmi/result.h"

namespace lwmi {

class DateTime {
 public:
  /// Parses CIM DATETIME text; WBEM_E_INVALID_PARAMETER naming the bad field otherwise.
  static Result<DateTime> parse(std::string_view text);
  /// An absolute time from Unix time (UTC) in microseconds, shown with `offset_minutes`.
  static DateTime from_unix_micros(int64_t unix_us, int offset_minutes);
  /// An absolute time from Unix time shown in the local time zone (its offset at that instant).
  static DateTime from_unix_micros_local(int64_t unix_us);
  /// An interval of `micros` microseconds.
  static DateTime interval(uint64_t micros);

  bool is_interval() const { return interval_; }
  /// True when some field is '*'.
  bool has_wildcards() const { return wild_; }
  /// Offset from UTC in minutes (absolute times without wildcards).
  int offset_minutes() const { return offset_; }
  /// Absolute time as Unix microseconds (UTC); nullopt for intervals and wildcards.
  std::optional<int64_t> unix_micros() const;
  /// Interval length in microseconds; nullopt for absolute times and wildcards.
  std::optional<uint64_t> interval_micros() const;
  /// The 25-character CIM text.
  const std::string& to_string() const { return text_; }
  /// Orders two comparable values (both absolute, or both intervals, no wildcards) by the time
  /// they denote; nullopt when they cannot be compared.
  std::optional<int> compare(const DateTime& other) const;

 private:
  std::string text_;
  bool interval_ = false;
  bool wild_ = false;
  int offset_ = 0;
  int64_t micros_ = 0;  // UTC unix micros (absolute) or length (interval)
};

}  // namespace lwmi
