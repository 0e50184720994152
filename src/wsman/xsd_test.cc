#include "wsman/xsd.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace lwmi::wsman {
namespace {

const char kCreation[] = "20261127072421.123456+060";

// Kept under the client codec's suite name: the client was the first to read these.
TEST(ClientCodecDatetime, XsDateTimeToCim) {
  EXPECT_EQ(cim_datetime_from_xs("2026-11-27T07:24:21.123456+01:00"), kCreation);
  EXPECT_EQ(cim_datetime_from_xs("2026-11-27T07:24:21Z"), "20261127072421.000000+000");
  EXPECT_EQ(cim_datetime_from_xs("2026-11-27T07:24:21.5-07:00"), "20261127072421.500000-420");
  EXPECT_FALSE(cim_datetime_from_xs("2026-11-27 07:24:21"));
  EXPECT_FALSE(cim_datetime_from_xs("yesterday"));
  EXPECT_EQ(cim_interval_from_xs("P1DT2H3M4.5S"), "00000001020304.500000:000");
  EXPECT_FALSE(cim_interval_from_xs("P"));
}

TEST(Xsd, DurationToSeconds) {
  EXPECT_EQ(seconds_from_xs_duration("PT60.000S"), 60.0);
  EXPECT_EQ(seconds_from_xs_duration(" P0DT0H1M "), 60.0);
  EXPECT_EQ(seconds_from_xs_duration("P1Y"), 365.0 * 86400);
  EXPECT_EQ(seconds_from_xs_duration("P1M"), 30.0 * 86400);
  EXPECT_EQ(seconds_from_xs_duration("PT1M"), 60.0);
  // Malformed: a sign, designators out of order or repeated, a fraction off seconds, nothing.
  for (const char* bad : {"-PT1S", "PT1S1M", "P1DT", "P1.5D", "PT1..5S", "PT.5S", "P", "PT", "1S",
                          "PTS", "P1DTT1S", "soon"})
    EXPECT_FALSE(seconds_from_xs_duration(bad)) << bad;
}

TEST(Xsd, SecondsToDurationNeverNegative) {
  EXPECT_EQ(xs_duration(600), "PT600.000S");
  EXPECT_EQ(xs_duration(0.25), "PT0.250S");
  EXPECT_EQ(xs_duration(-1), "PT0.000S");
  EXPECT_EQ(xs_duration(std::numeric_limits<double>::quiet_NaN()), "PT0.000S");
  EXPECT_EQ(xs_duration(std::numeric_limits<double>::infinity()), "PT0.000S");
  // What one end writes, the other reads.
  EXPECT_EQ(seconds_from_xs_duration(xs_duration(42.5)), 42.5);
}

TEST(Xsd, CimDatetimeToXs) {
  auto t = xs_from_cim_datetime(kCreation);
  ASSERT_TRUE(t);
  EXPECT_FALSE(t->interval);
  EXPECT_EQ(t->text, "2026-11-27T07:24:21.123456+01:00");
  EXPECT_EQ(cim_datetime_from_xs(t->text), kCreation);
  auto west = xs_from_cim_datetime("20261127072421.500000-420");
  ASSERT_TRUE(west);
  EXPECT_EQ(west->text, "2026-11-27T07:24:21.500000-07:00");
  auto i = xs_from_cim_datetime("00000001020304.000005:000");
  ASSERT_TRUE(i);
  EXPECT_TRUE(i->interval);
  EXPECT_EQ(i->text, "P1DT02H03M04.000005S");
  EXPECT_EQ(cim_interval_from_xs(i->text), "00000001020304.000005:000");
  // Wildcards and malformed text have no XML Schema form.
  EXPECT_FALSE(xs_from_cim_datetime("2026**27072421.123456+060"));
  EXPECT_FALSE(xs_from_cim_datetime("yesterday"));
}

TEST(Xsd, ScalarText) {
  EXPECT_EQ(xs_text(Value::boolean(true)), "true");
  EXPECT_EQ(xs_text(Value::boolean(false)), "false");
  EXPECT_EQ(xs_text(Value::real64(std::nan(""))), "NaN");
  EXPECT_EQ(xs_text(Value::real64(INFINITY)), "INF");
  EXPECT_EQ(xs_text(Value::real32(-INFINITY)), "-INF");
  EXPECT_EQ(xs_text(Value::uint32(7)), "7");
}

}  // namespace
}  // namespace lwmi::wsman
