// cim/datetime.cc — CIM DATETIME parsing, formatting, local offsets and UTC comparison.
//
// Dates use a proleptic Gregorian calendar (years 0000-9999) with the days-from-civil algorithm,
// so parsing and formatting never depend on timegm/gmtime. Only from_unix_micros_local asks the C
// library, for the local offset at an instant (localtime_r's tm_gmtoff, after tzset()).
#include "lwmi/datetime.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace lwmi {
namespace {

constexpr int64_t kMicrosPerSecond = 1'000'000;
constexpr int64_t kMicrosPerMinute = 60 * kMicrosPerSecond;
constexpr int64_t kMicrosPerHour = 60 * kMicrosPerMinute;
constexpr int64_t kMicrosPerDay = 24 * kMicrosPerHour;
constexpr size_t kLength = 25;
constexpr int kMaxOffset = 999;                   // three digits
constexpr int64_t kMaxIntervalDays = 99'999'999;  // eight digits
constexpr int64_t kMaxIntervalMicros = (kMaxIntervalDays + 1) * kMicrosPerDay - 1;

// Floor division and its non-negative remainder (b > 0).
constexpr int64_t floor_div(int64_t a, int64_t b) {
  return a / b - (a % b != 0 && a < 0);
}
constexpr int64_t floor_mod(int64_t a, int64_t b) {
  return a - floor_div(a, b) * b;
}

constexpr bool is_leap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

constexpr int days_in_month(int64_t y, int m) {
  constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

// Days since 1970-01-01 of the proleptic Gregorian date y-m-d (H. Hinnant's days_from_civil).
constexpr int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = floor_div(y, 400);
  const int64_t yoe = y - era * 400;                                    // [0, 399]
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;  // [0, 365]
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;            // [0, 146096]
  return era * 146097 + doe - 719468;
}

struct Civil {
  int64_t y;
  int m;
  int d;
};

// Inverse of days_from_civil.
constexpr Civil civil_from_days(int64_t z) {
  z += 719468;
  const int64_t era = floor_div(z, 146097);
  const int64_t doe = z - era * 146097;                                       // [0, 146096]
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                // [0, 365]
  const int64_t mp = (5 * doy + 2) / 153;                                     // [0, 11]
  const int d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return {yoe + era * 400 + (m <= 2), m, d};
}

static_assert(days_from_civil(1970, 1, 1) == 0);
static_assert(days_from_civil(2000, 3, 1) == 11017);
static_assert(civil_from_days(-1).y == 1969 && civil_from_days(-1).d == 31);

// Local wall-clock micros (as if UTC) representable in yyyy 0000-9999.
constexpr int64_t kMinLocalMicros = days_from_civil(0, 1, 1) * kMicrosPerDay;
constexpr int64_t kMaxLocalMicros = days_from_civil(10000, 1, 1) * kMicrosPerDay - 1;
// Clamp for inputs before adding an offset, well outside the representable range, so no overflow.
constexpr int64_t kUnixClamp = 1'000'000'000'000'000'000;

std::string quote_for_message(std::string_view text) {
  constexpr size_t kMaxShown = 64;
  std::string out = "\"";
  if (text.size() > kMaxShown) {
    out.append(text.substr(0, kMaxShown));
    out += "...";
  } else {
    out.append(text);
  }
  out += '"';
  return out;
}

std::string two_digits(int v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02d", v);
  return buf;
}

// Walks the 25 characters once, left to right, reporting the first problem.
class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Error error(size_t pos, const std::string& what) const {
    return Error{WbemStatus::kInvalidParameter,
                 "invalid DATETIME " + quote_for_message(text_) + ": " + what + " at column " +
                     std::to_string(pos + 1),
                 pos};
  }

  // A numeric field of `len` digits at `pos`, or entirely '*' (then nullopt and wild_ is set).
  // For microseconds (`trailing_wild`), trailing '*' after leading digits mark lower precision.
  Result<std::optional<int64_t>> field(const char* name, size_t pos, size_t len,
                                       bool trailing_wild = false) {
    const std::string_view f = text_.substr(pos, len);
    const size_t stars = static_cast<size_t>(std::count(f.begin(), f.end(), '*'));
    if (stars == len) {
      wild_ = true;
      return std::optional<int64_t>{};
    }
    const std::string shown = std::string(name) + " \"" + std::string(f) + "\"";
    if (stars > 0) {
      const size_t first_star = f.find('*');
      const bool trailing = f.find_first_not_of('*', first_star) == std::string_view::npos;
      if (!(trailing_wild && trailing)) {
        return error(pos, shown + " is partly '*' (a field is all digits or all '*')");
      }
    }
    int64_t v = 0;
    for (size_t i = 0; i < len; ++i) {
      const char c = f[i];
      if (c == '*') {  // trailing precision wildcard (microseconds only)
        wild_ = true;
        return std::optional<int64_t>{};
      }
      if (c < '0' || c > '9') return error(pos, shown + " is not a number");
      v = v * 10 + (c - '0');
    }
    return std::optional<int64_t>{v};
  }

  Result<std::optional<int64_t>> ranged(const char* name, size_t pos, size_t len, int64_t lo,
                                        int64_t hi) {
    auto r = field(name, pos, len);
    if (!r.ok()) return r;
    const auto& v = r.value();
    if (v && (*v < lo || *v > hi)) {
      return error(pos, std::string(name) + " " + std::string(text_.substr(pos, len)) +
                            " out of range " + two_digits(static_cast<int>(lo)) + "-" +
                            two_digits(static_cast<int>(hi)));
    }
    return r;
  }

  bool wild() const { return wild_; }

 private:
  std::string_view text_;
  bool wild_ = false;
};

#define LWMI_DT_TRY(var, expr)                    \
  auto var##_r = (expr);                          \
  if (!var##_r.ok()) return var##_r.take_error(); \
  const std::optional<int64_t> var = var##_r.value()

}  // namespace

Result<DateTime> DateTime::parse(std::string_view text) {
  if (text.size() != kLength) {
    return Error{WbemStatus::kInvalidParameter,
                 "invalid DATETIME " + quote_for_message(text) + ": expected 25 characters, got " +
                     std::to_string(text.size()),
                 std::min(text.size(), kLength)};
  }
  Parser p(text);
  DateTime dt;
  dt.interval_ = text[21] == ':';

  int64_t micros = 0;
  if (dt.interval_) {
    LWMI_DT_TRY(days, p.field("days", 0, 8));
    LWMI_DT_TRY(hour, p.ranged("hours", 8, 2, 0, 23));
    LWMI_DT_TRY(minute, p.ranged("minutes", 10, 2, 0, 59));
    LWMI_DT_TRY(second, p.ranged("seconds", 12, 2, 0, 59));
    if (text[14] != '.') return p.error(14, "expected '.' after the seconds");
    LWMI_DT_TRY(us, p.field("microseconds", 15, 6, true));
    if (text.substr(21) != ":000") {
      return p.error(
          21, "an interval must end in \":000\", got \"" + std::string(text.substr(21)) + "\"");
    }
    if (!p.wild()) {
      micros = *days * kMicrosPerDay + *hour * kMicrosPerHour + *minute * kMicrosPerMinute +
               *second * kMicrosPerSecond + *us;
    }
  } else {
    LWMI_DT_TRY(year, p.field("year", 0, 4));
    LWMI_DT_TRY(month, p.ranged("month", 4, 2, 1, 12));
    // Day: the month's real length when known (29 for February of an unknown year).
    const int max_day = !month  ? 31
                        : !year ? (*month == 2 ? 29 : days_in_month(2001, static_cast<int>(*month)))
                                : days_in_month(*year, static_cast<int>(*month));
    LWMI_DT_TRY(day, p.ranged("day", 6, 2, 1, max_day));
    LWMI_DT_TRY(hour, p.ranged("hour", 8, 2, 0, 23));
    LWMI_DT_TRY(minute, p.ranged("minute", 10, 2, 0, 59));
    LWMI_DT_TRY(second, p.ranged("second", 12, 2, 0, 59));
    if (text[14] != '.') return p.error(14, "expected '.' after the seconds");
    LWMI_DT_TRY(us, p.field("microseconds", 15, 6, true));
    const char sign = text[21];
    if (sign != '+' && sign != '-') {
      return p.error(21,
                     std::string("expected '+', '-' or ':' before the offset, got '") + sign + "'");
    }
    LWMI_DT_TRY(offset, p.field("UTC offset", 22, 3));
    if (offset) dt.offset_ = static_cast<int>(sign == '-' ? -*offset : *offset);
    if (!p.wild()) {
      micros =
          days_from_civil(*year, static_cast<int>(*month), static_cast<int>(*day)) * kMicrosPerDay +
          *hour * kMicrosPerHour + *minute * kMicrosPerMinute + *second * kMicrosPerSecond + *us -
          dt.offset_ * kMicrosPerMinute;
    }
  }
  dt.wild_ = p.wild();
  dt.micros_ = micros;
  dt.text_ = std::string(text);
  return dt;
}

#undef LWMI_DT_TRY

DateTime DateTime::from_unix_micros(int64_t unix_us, int offset_minutes) {
  offset_minutes = std::clamp(offset_minutes, -kMaxOffset, kMaxOffset);
  unix_us = std::clamp(unix_us, -kUnixClamp, kUnixClamp);
  // Wall-clock time at the offset, kept within years 0000-9999 so the text stays 25 characters.
  const int64_t local =
      std::clamp(unix_us + offset_minutes * kMicrosPerMinute, kMinLocalMicros, kMaxLocalMicros);
  const int64_t days = floor_div(local, kMicrosPerDay);
  const int64_t rem = floor_mod(local, kMicrosPerDay);
  const Civil c = civil_from_days(days);
  const int abs_off = offset_minutes < 0 ? -offset_minutes : offset_minutes;

  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d%02d%02d%02d%02d%02d.%06d%c%03d", static_cast<int>(c.y), c.m,
                c.d, static_cast<int>(rem / kMicrosPerHour),
                static_cast<int>(rem / kMicrosPerMinute % 60),
                static_cast<int>(rem / kMicrosPerSecond % 60),
                static_cast<int>(rem % kMicrosPerSecond), offset_minutes < 0 ? '-' : '+', abs_off);
  DateTime dt;
  dt.text_ = buf;
  dt.offset_ = offset_minutes;
  dt.micros_ = local - offset_minutes * kMicrosPerMinute;
  return dt;
}

DateTime DateTime::from_unix_micros_local(int64_t unix_us) {
  unix_us = std::clamp(unix_us, -kUnixClamp, kUnixClamp);
  const time_t secs = static_cast<time_t>(floor_div(unix_us, kMicrosPerSecond));
  int offset = 0;
  tzset();  // pick up changes to TZ; localtime_r alone need not
  struct tm tm {};
  if (localtime_r(&secs, &tm) != nullptr) {
    // Whole minutes (local mean time offsets can carry seconds; truncated toward zero).
    offset = static_cast<int>(tm.tm_gmtoff / 60);
  }
  return from_unix_micros(unix_us, offset);
}

DateTime DateTime::interval(uint64_t micros) {
  const int64_t len = micros > static_cast<uint64_t>(kMaxIntervalMicros)
                          ? kMaxIntervalMicros
                          : static_cast<int64_t>(micros);
  const int64_t rem = len % kMicrosPerDay;
  char buf[96];
  std::snprintf(
      buf, sizeof buf, "%08lld%02d%02d%02d.%06d:000", static_cast<long long>(len / kMicrosPerDay),
      static_cast<int>(rem / kMicrosPerHour), static_cast<int>(rem / kMicrosPerMinute % 60),
      static_cast<int>(rem / kMicrosPerSecond % 60), static_cast<int>(rem % kMicrosPerSecond));
  DateTime dt;
  dt.text_ = buf;
  dt.interval_ = true;
  dt.micros_ = len;
  return dt;
}

std::optional<int64_t> DateTime::unix_micros() const {
  if (interval_ || wild_ || text_.empty()) return std::nullopt;
  return micros_;
}

std::optional<uint64_t> DateTime::interval_micros() const {
  if (!interval_ || wild_) return std::nullopt;
  return static_cast<uint64_t>(micros_);
}

std::optional<int> DateTime::compare(const DateTime& other) const {
  if (wild_ || other.wild_ || interval_ != other.interval_) return std::nullopt;
  if (text_.empty() || other.text_.empty()) return std::nullopt;
  return micros_ < other.micros_ ? -1 : micros_ > other.micros_ ? 1 : 0;
}

}  // namespace lwmi
