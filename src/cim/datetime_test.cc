// Tests for lwmi::DateTime (CIM DATETIME).
#include "lwmi/datetime.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

namespace lwmi {
namespace {

constexpr int64_t kSec = 1'000'000;
constexpr int64_t kDay = 86'400 * kSec;

DateTime must_parse(const std::string& text) {
  auto r = DateTime::parse(text);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? r.value() : DateTime{};
}

// Sets TZ for the scope of a test and restores the previous value (or its absence) afterwards.
class ScopedTz {
 public:
  explicit ScopedTz(const char* tz) {
    if (const char* old = std::getenv("TZ")) saved_ = old;
    setenv("TZ", tz, 1);
    tzset();
  }
  ~ScopedTz() {
    if (saved_) {
      setenv("TZ", saved_->c_str(), 1);
    } else {
      unsetenv("TZ");
    }
    tzset();
  }
  ScopedTz(const ScopedTz&) = delete;
  ScopedTz& operator=(const ScopedTz&) = delete;

 private:
  std::optional<std::string> saved_;
};

TEST(DateTime, ParsesKnownAbsoluteValues) {
  DateTime epoch = must_parse("19700101000000.000000+000");
  EXPECT_FALSE(epoch.is_interval());
  EXPECT_FALSE(epoch.has_wildcards());
  EXPECT_EQ(epoch.offset_minutes(), 0);
  EXPECT_EQ(epoch.unix_micros(), 0);
  EXPECT_EQ(epoch.interval_micros(), std::nullopt);

  // The Windows example: 12:33:53 at UTC-7 is 19:33:53 UTC.
  DateTime win = must_parse("20170712123353.342056-420");
  EXPECT_EQ(win.offset_minutes(), -420);
  EXPECT_EQ(win.unix_micros(), int64_t{1499888033} * kSec + 342056);
  EXPECT_EQ(win.to_string(), "20170712123353.342056-420");

  EXPECT_EQ(must_parse("20260101120000.000000+060").unix_micros(),
            must_parse("20260101110000.000000+000").unix_micros());
  EXPECT_EQ(must_parse("19691231235959.999999+000").unix_micros(), -1);
  EXPECT_EQ(must_parse("19600301000000.000000+000").unix_micros(), int64_t{-310435200} * kSec);
  EXPECT_EQ(must_parse("00000101000000.000000+000").unix_micros(), int64_t{-62167219200} * kSec);
  EXPECT_EQ(must_parse("99991231235959.999999+000").unix_micros(),
            int64_t{253402300800} * kSec - 1);
}

TEST(DateTime, ParseToStringRoundTrips) {
  const std::vector<std::string> texts = {
      "19700101000000.000000+000", "20170712123353.342056-420", "20240229235959.999999+060",
      "20000229000000.000001-000", "16000229120000.500000+999", "00000229000000.000000-999",
      "19691231235959.999999+000", "18991231235959.000000-480", "20251231230000.000000+330",
      "99991231235959.999999+840", "00000101000000.000000+000", "20260101000000.000000+545",
      "19980416******.000000+***", "00000001120032.000000:000", "99999999235959.999999:000",
      "**************.******:000", "20260101120000.123***+000",
  };
  for (const std::string& t : texts) EXPECT_EQ(must_parse(t).to_string(), t);
}

TEST(DateTime, FromUnixMicrosFormatsWallTimeAtOffset) {
  EXPECT_EQ(DateTime::from_unix_micros(0, 0).to_string(), "19700101000000.000000+000");
  EXPECT_EQ(DateTime::from_unix_micros(0, -420).to_string(), "19691231170000.000000-420");
  EXPECT_EQ(DateTime::from_unix_micros(0, 60).to_string(), "19700101010000.000000+060");
  EXPECT_EQ(DateTime::from_unix_micros(-1, 0).to_string(), "19691231235959.999999+000");
  EXPECT_EQ(DateTime::from_unix_micros(int64_t{1499888033} * kSec + 342056, -420).to_string(),
            "20170712123353.342056-420");
  EXPECT_EQ(DateTime::from_unix_micros(int64_t{1625140800} * kSec, 330).to_string(),
            "20210701173000.000000+330");
  // 2024-02-29 is a leap day; one microsecond before 2024-03-01 UTC.
  EXPECT_EQ(DateTime::from_unix_micros(int64_t{1709251200} * kSec - 1, 0).to_string(),
            "20240229235959.999999+000");
  // Year boundary crossed by the offset in both directions.
  EXPECT_EQ(DateTime::from_unix_micros(int64_t{1767225600} * kSec, -60).to_string(),
            "20251231230000.000000-060");
  EXPECT_EQ(DateTime::from_unix_micros(int64_t{1767225600} * kSec - kSec, 60).to_string(),
            "20260101005959.000000+060");
  EXPECT_EQ(DateTime::from_unix_micros(int64_t{-310435200} * kSec - 1, -480).to_string(),
            "19600229155959.999999-480");
  EXPECT_EQ(DateTime::from_unix_micros(0, -420).offset_minutes(), -420);
}

TEST(DateTime, FromUnixMicrosClampsToTheFormat) {
  // Offsets have three digits; years four.
  EXPECT_EQ(DateTime::from_unix_micros(0, 2000).to_string(), "19700101163900.000000+999");
  EXPECT_EQ(DateTime::from_unix_micros(INT64_MAX, 0).to_string(), "99991231235959.999999+000");
  EXPECT_EQ(DateTime::from_unix_micros(INT64_MIN, 0).to_string(), "00000101000000.000000+000");
  DateTime max = DateTime::from_unix_micros(INT64_MAX, -420);
  EXPECT_EQ(max.to_string(), "99991231235959.999999-420");
  EXPECT_EQ(max.unix_micros(), must_parse(max.to_string()).unix_micros());
}

TEST(DateTime, FromUnixRoundTripsThroughParse) {
  const std::vector<int64_t> instants = {
      0,
      1,
      -1,
      kSec - 1,
      -kSec,
      kDay - 1,
      -kDay,
      int64_t{1499888033} * kSec + 342056,
      int64_t{951782400} * kSec,              // 2000-02-29
      int64_t{1709164800} * kSec,             // 2024-02-29
      int64_t{1767225599} * kSec + 999999,    // last microsecond of 2025
      int64_t{-2208988800} * kSec,            // 1900-01-01
      int64_t{-2203891200} * kSec,            // 1900-03-01 (1900 is not a leap year)
      int64_t{-62135596800} * kSec,           // 0001-01-01
      int64_t{-12219292800} * kSec + 123456,  // 1582-10-15
      int64_t{4102444800} * kSec,             // 2100-01-01
      int64_t{253402300799} * kSec,           // 9999-12-31 23:59:59
  };
  const std::vector<int> offsets = {0, -420, 60, -480, 330, 345, 840, -720, 999, -999, -1, 1};
  for (int64_t us : instants) {
    for (int off : offsets) {
      DateTime dt = DateTime::from_unix_micros(us, off);
      SCOPED_TRACE(dt.to_string());
      ASSERT_EQ(dt.to_string().size(), 25u);
      auto parsed = DateTime::parse(dt.to_string());
      ASSERT_TRUE(parsed.ok()) << parsed.error().message;
      // Instants near the ends of years 0000-9999 are clamped; others survive exactly.
      EXPECT_EQ(parsed->unix_micros(), dt.unix_micros());
      if (us > int64_t{-62135596800} * kSec && us < int64_t{253402300799} * kSec - kDay) {
        EXPECT_EQ(dt.unix_micros(), us);
      }
      EXPECT_EQ(parsed->offset_minutes(), off);
      EXPECT_EQ(parsed->to_string(), dt.to_string());
      EXPECT_EQ(parsed->compare(dt), 0);
    }
  }
}

TEST(DateTime, MatchesGmtimeAcrossCenturies) {
  // Cross-check the calendar arithmetic against the C library from 1811 to 2223, in steps of
  // 37 days, 1 hour and 1 second (so every month, day and time of day is visited).
  const int64_t step = 86'400 * 37 + 3'601;
  for (int64_t s = int64_t{-5'000'000'000}; s < int64_t{8'000'000'000}; s += step) {
    time_t t = static_cast<time_t>(s);
    struct tm tm {};
    ASSERT_NE(gmtime_r(&t, &tm), nullptr);
    char buf[96];
    std::snprintf(buf, sizeof buf, "%04d%02d%02d%02d%02d%02d.000000+000", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    ASSERT_EQ(DateTime::from_unix_micros(s * kSec, 0).to_string(), buf);
    ASSERT_EQ(must_parse(buf).unix_micros(), s * kSec);
  }
}

TEST(DateTime, LeapDays) {
  EXPECT_TRUE(DateTime::parse("20240229000000.000000+000").ok());
  EXPECT_TRUE(DateTime::parse("20000229000000.000000+000").ok());
  EXPECT_TRUE(DateTime::parse("00000229000000.000000+000").ok());  // year 0 is a leap year
  EXPECT_FALSE(DateTime::parse("20230229000000.000000+000").ok());
  EXPECT_FALSE(DateTime::parse("19000229000000.000000+000").ok());
  EXPECT_FALSE(DateTime::parse("21000229000000.000000+000").ok());
  EXPECT_EQ(*must_parse("20240301000000.000000+000").unix_micros() -
                *must_parse("20240228000000.000000+000").unix_micros(),
            2 * kDay);
  EXPECT_EQ(*must_parse("20230301000000.000000+000").unix_micros() -
                *must_parse("20230228000000.000000+000").unix_micros(),
            kDay);
  EXPECT_FALSE(DateTime::parse("20240431000000.000000+000").ok());  // April has 30
  EXPECT_TRUE(DateTime::parse("20241231000000.000000+000").ok());
}

TEST(DateTime, LocalTimeUsesTzOffsetAtTheInstant) {
  {
    ScopedTz tz("America/Los_Angeles");
    DateTime summer = DateTime::from_unix_micros_local(int64_t{1625140800} * kSec);  // 2021-07-01
    EXPECT_EQ(summer.offset_minutes(), -420);
    EXPECT_EQ(summer.to_string(), "20210701050000.000000-420");
    EXPECT_EQ(summer.unix_micros(), int64_t{1625140800} * kSec);
    DateTime winter = DateTime::from_unix_micros_local(int64_t{1610712000} * kSec);  // 2021-01-15
    EXPECT_EQ(winter.offset_minutes(), -480);
    EXPECT_EQ(winter.to_string(), "20210115040000.000000-480");
    // Before 1970 too: 1960-03-01 00:00 UTC was 1960-02-29 16:00 PST.
    EXPECT_EQ(DateTime::from_unix_micros_local(int64_t{-310435200} * kSec).to_string(),
              "19600229160000.000000-480");
  }
  {
    ScopedTz tz("Asia/Kolkata");
    DateTime ist = DateTime::from_unix_micros_local(int64_t{1625140800} * kSec + 250);
    EXPECT_EQ(ist.offset_minutes(), 330);
    EXPECT_EQ(ist.to_string(), "20210701173000.000250+330");
    EXPECT_EQ(ist.unix_micros(), int64_t{1625140800} * kSec + 250);
  }
  {
    ScopedTz tz("UTC");
    EXPECT_EQ(DateTime::from_unix_micros_local(-1).to_string(), "19691231235959.999999+000");
  }
}

TEST(DateTime, ScopedTzRestoresPreviousValue) {
  const char* before = std::getenv("TZ");
  const std::optional<std::string> saved =
      before ? std::optional<std::string>(before) : std::nullopt;
  { ScopedTz tz("Asia/Kolkata"); }
  const char* after = std::getenv("TZ");
  EXPECT_EQ(after ? std::optional<std::string>(after) : std::nullopt, saved);
}

TEST(DateTime, Intervals) {
  DateTime zero = DateTime::interval(0);
  EXPECT_EQ(zero.to_string(), "00000000000000.000000:000");
  EXPECT_TRUE(zero.is_interval());
  EXPECT_EQ(zero.interval_micros(), 0u);
  EXPECT_EQ(zero.unix_micros(), std::nullopt);

  const uint64_t spec_example = (86'400 + 12 * 3'600 + 32) * uint64_t{kSec};
  EXPECT_EQ(DateTime::interval(spec_example).to_string(), "00000001120032.000000:000");
  DateTime parsed = must_parse("00000001120032.000000:000");
  EXPECT_TRUE(parsed.is_interval());
  EXPECT_FALSE(parsed.has_wildcards());
  EXPECT_EQ(parsed.interval_micros(), spec_example);
  EXPECT_EQ(parsed.unix_micros(), std::nullopt);

  EXPECT_EQ(DateTime::interval(123'456'789).to_string(), "00000000000203.456789:000");
  const uint64_t max = uint64_t{100'000'000} * kDay - 1;
  EXPECT_EQ(DateTime::interval(max).to_string(), "99999999235959.999999:000");
  EXPECT_EQ(DateTime::interval(UINT64_MAX).to_string(), "99999999235959.999999:000");
  EXPECT_EQ(must_parse("99999999235959.999999:000").interval_micros(), max);

  for (uint64_t us : {uint64_t{1}, uint64_t{999'999}, uint64_t{kDay}, uint64_t{kDay} - 1,
                      uint64_t{3'600} * kSec * 25 + 7, uint64_t{12'345'678} * kDay + 42}) {
    DateTime dt = DateTime::interval(us);
    EXPECT_EQ(must_parse(dt.to_string()).interval_micros(), us) << dt.to_string();
    EXPECT_EQ(must_parse(dt.to_string()).to_string(), dt.to_string());
  }
}

TEST(DateTime, Wildcards) {
  DateTime day = must_parse("19980416******.000000+***");
  EXPECT_TRUE(day.has_wildcards());
  EXPECT_FALSE(day.is_interval());
  EXPECT_EQ(day.unix_micros(), std::nullopt);
  EXPECT_EQ(day.to_string(), "19980416******.000000+***");

  EXPECT_TRUE(must_parse("**************.******+***").has_wildcards());
  EXPECT_TRUE(must_parse("********0229**.******-***").has_wildcards());  // Feb 29, any year
  EXPECT_FALSE(DateTime::parse("****0431******.******+***").ok());       // April never has 31

  DateTime iv = must_parse("********12****.******:000");
  EXPECT_TRUE(iv.is_interval());
  EXPECT_TRUE(iv.has_wildcards());
  EXPECT_EQ(iv.interval_micros(), std::nullopt);

  // Trailing '*' in the microseconds mark lower precision (CIM DSP0004).
  DateTime coarse = must_parse("20260101120000.12****+000");
  EXPECT_TRUE(coarse.has_wildcards());
  EXPECT_EQ(coarse.unix_micros(), std::nullopt);

  // Only the offset unknown.
  EXPECT_TRUE(must_parse("20260101120000.000000+***").has_wildcards());
  EXPECT_FALSE(must_parse("20260101120000.000000+000").has_wildcards());
}

TEST(DateTime, CompareNormalisesToUtc) {
  auto cmp = [](const char* a, const char* b) { return must_parse(a).compare(must_parse(b)); };
  EXPECT_EQ(cmp("20260101120000.000000+060", "20260101110000.000000+000"), 0);
  EXPECT_EQ(cmp("20260101000000.000000+060", "20251231230000.000000+000"), 0);
  EXPECT_EQ(cmp("20260101000000.000000-420", "20260101070000.000000+000"), 0);
  EXPECT_EQ(cmp("20260101000000.000000-420", "20260101000000.000000+000"), 1);
  EXPECT_EQ(cmp("20260101000000.000000+000", "20260101000000.000000-420"), -1);
  EXPECT_EQ(cmp("20260101120000.000001+060", "20260101110000.000000+000"), 1);
  EXPECT_EQ(cmp("19691231235959.999999+000", "19700101000000.000000+000"), -1);
  // Intervals compare by length.
  EXPECT_EQ(cmp("00000001000000.000000:000", "00000000235959.999999:000"), 1);
  EXPECT_EQ(cmp("00000000000001.000000:000", "00000000000001.000000:000"), 0);
  EXPECT_EQ(cmp("00000000000000.000000:000", "00000000000000.000001:000"), -1);
  // Not comparable: mixed kinds, wildcards.
  EXPECT_EQ(cmp("20260101000000.000000+000", "00000001000000.000000:000"), std::nullopt);
  EXPECT_EQ(cmp("00000001000000.000000:000", "20260101000000.000000+000"), std::nullopt);
  EXPECT_EQ(cmp("20260101000000.000000+***", "20260101000000.000000+000"), std::nullopt);
  EXPECT_EQ(cmp("20260101000000.000000+000", "2026010100****.000000+000"), std::nullopt);
  EXPECT_EQ(cmp("********12****.******:000", "00000000120000.000000:000"), std::nullopt);
  // Values built from Unix time compare with parsed ones.
  EXPECT_EQ(DateTime::from_unix_micros(0, -420).compare(DateTime::from_unix_micros(0, 330)), 0);
  EXPECT_EQ(DateTime::interval(5).compare(DateTime::interval(6)), -1);
}

// One test per error class, comparing the whole message.
void expect_error(const std::string& text, const std::string& message,
                  std::optional<size_t> position) {
  auto r = DateTime::parse(text);
  ASSERT_FALSE(r.ok()) << text;
  EXPECT_EQ(r.error().code, WbemStatus::kInvalidParameter);
  EXPECT_EQ(r.error().message, message);
  EXPECT_EQ(r.error().position, position);
}

TEST(DateTime, ErrorWrongLength) {
  expect_error("20260101000000.000000+00",
               "invalid DATETIME \"20260101000000.000000+00\": expected 25 characters, got 24", 24);
  expect_error("20260101000000.000000+0000",
               "invalid DATETIME \"20260101000000.000000+0000\": expected 25 characters, got 26",
               25);
  expect_error("", "invalid DATETIME \"\": expected 25 characters, got 0", 0);
  expect_error(
      std::string(70, '1'),
      "invalid DATETIME \"" + std::string(64, '1') + "...\": expected 25 characters, got 70", 25);
}

TEST(DateTime, ErrorNotANumber) {
  expect_error("2026a101000000.000000+000",
               "invalid DATETIME \"2026a101000000.000000+000\": month \"a1\" is not a number at "
               "column 5",
               4);
  expect_error("20260101000000.0000x0+000",
               "invalid DATETIME \"20260101000000.0000x0+000\": microseconds \"0000x0\" is not a "
               "number at column 16",
               15);
  expect_error("20260101000000.000000+0x0",
               "invalid DATETIME \"20260101000000.000000+0x0\": UTC offset \"0x0\" is not a number "
               "at column 23",
               22);
  expect_error("0000 001000000.000000:000",
               "invalid DATETIME \"0000 001000000.000000:000\": days \"0000 001\" is not a number "
               "at column 1",
               0);
}

TEST(DateTime, ErrorPartialWildcard) {
  expect_error("19*80416000000.000000+000",
               "invalid DATETIME \"19*80416000000.000000+000\": year \"19*8\" is partly '*' (a "
               "field is all digits or all '*') at column 1",
               0);
  expect_error("199804161*0000.000000+000",
               "invalid DATETIME \"199804161*0000.000000+000\": hour \"1*\" is partly '*' (a field "
               "is all digits or all '*') at column 9",
               8);
  expect_error("19980416000000.*00000+000",
               "invalid DATETIME \"19980416000000.*00000+000\": microseconds \"*00000\" is partly "
               "'*' (a field is all digits or all '*') at column 16",
               15);
  expect_error("19980416000000.000000+**0",
               "invalid DATETIME \"19980416000000.000000+**0\": UTC offset \"**0\" is partly '*' "
               "(a field is all digits or all '*') at column 23",
               22);
}

TEST(DateTime, ErrorMonthOutOfRange) {
  expect_error("20261301000000.000000+000",
               "invalid DATETIME \"20261301000000.000000+000\": month 13 out of range 01-12 at "
               "column 5",
               4);
  expect_error("20260001000000.000000+000",
               "invalid DATETIME \"20260001000000.000000+000\": month 00 out of range 01-12 at "
               "column 5",
               4);
}

TEST(DateTime, ErrorDayOutOfRange) {
  expect_error("20230229000000.000000+000",
               "invalid DATETIME \"20230229000000.000000+000\": day 29 out of range 01-28 at "
               "column 7",
               6);
  expect_error("20240230000000.000000+000",
               "invalid DATETIME \"20240230000000.000000+000\": day 30 out of range 01-29 at "
               "column 7",
               6);
  expect_error("20240431000000.000000+000",
               "invalid DATETIME \"20240431000000.000000+000\": day 31 out of range 01-30 at "
               "column 7",
               6);
  expect_error("20240100000000.000000+000",
               "invalid DATETIME \"20240100000000.000000+000\": day 00 out of range 01-31 at "
               "column 7",
               6);
  expect_error("****0230******.******+***",
               "invalid DATETIME \"****0230******.******+***\": day 30 out of range 01-29 at "
               "column 7",
               6);
  expect_error("2024**32******.******+***",
               "invalid DATETIME \"2024**32******.******+***\": day 32 out of range 01-31 at "
               "column 7",
               6);
}

TEST(DateTime, ErrorTimeOfDayOutOfRange) {
  expect_error("20260101240000.000000+000",
               "invalid DATETIME \"20260101240000.000000+000\": hour 24 out of range 00-23 at "
               "column 9",
               8);
  expect_error("20260101236000.000000+000",
               "invalid DATETIME \"20260101236000.000000+000\": minute 60 out of range 00-59 at "
               "column 11",
               10);
  expect_error("20260101235960.000000+000",
               "invalid DATETIME \"20260101235960.000000+000\": second 60 out of range 00-59 at "
               "column 13",
               12);
}

TEST(DateTime, ErrorIntervalFieldOutOfRange) {
  expect_error("00000001240000.000000:000",
               "invalid DATETIME \"00000001240000.000000:000\": hours 24 out of range 00-23 at "
               "column 9",
               8);
  expect_error("00000001006000.000000:000",
               "invalid DATETIME \"00000001006000.000000:000\": minutes 60 out of range 00-59 at "
               "column 11",
               10);
  expect_error("00000001000099.000000:000",
               "invalid DATETIME \"00000001000099.000000:000\": seconds 99 out of range 00-59 at "
               "column 13",
               12);
}

TEST(DateTime, ErrorMissingDot) {
  expect_error("20260101000000,000000+000",
               "invalid DATETIME \"20260101000000,000000+000\": expected '.' after the seconds at "
               "column 15",
               14);
  expect_error("00000001000000 000000:000",
               "invalid DATETIME \"00000001000000 000000:000\": expected '.' after the seconds at "
               "column 15",
               14);
}

TEST(DateTime, ErrorBadSign) {
  expect_error("20260101000000.000000 000",
               "invalid DATETIME \"20260101000000.000000 000\": expected '+', '-' or ':' before "
               "the offset, got ' ' at column 22",
               21);
  expect_error("20260101000000.000000Z000",
               "invalid DATETIME \"20260101000000.000000Z000\": expected '+', '-' or ':' before "
               "the offset, got 'Z' at column 22",
               21);
}

TEST(DateTime, ErrorIntervalSuffix) {
  expect_error("00000001000000.000000:001",
               "invalid DATETIME \"00000001000000.000000:001\": an interval must end in \":000\", "
               "got \":001\" at column 22",
               21);
  expect_error("00000001000000.000000:***",
               "invalid DATETIME \"00000001000000.000000:***\": an interval must end in \":000\", "
               "got \":***\" at column 22",
               21);
}

TEST(DateTime, FirstErrorFromTheLeftIsReported) {
  expect_error("20261332250000.000000Z000",
               "invalid DATETIME \"20261332250000.000000Z000\": month 13 out of range 01-12 at "
               "column 5",
               4);
}

}  // namespace
}  // namespace lwmi
