#include "base/strings.h"

#include <gtest/gtest.h>

namespace lwmi::base {

TEST(Strings, IEqualsIgnoresAsciiCase) {
  EXPECT_TRUE(iequals("Win32_Process", "WIN32_process"));
  EXPECT_FALSE(iequals("Win32_Process", "Win32_Processes"));
  EXPECT_FALSE(iequals("a", "b"));
}

TEST(Strings, IStartsWithIgnoresAsciiCase) {
  EXPECT_TRUE(istarts_with("HTTP://Schemas.Microsoft.com/wbem", "http://schemas.microsoft.com"));
  EXPECT_TRUE(istarts_with("abc", ""));
  EXPECT_FALSE(istarts_with("ab", "abc"));
  EXPECT_FALSE(istarts_with("xabc", "abc"));
}

TEST(Strings, BaseName) {
  EXPECT_EQ(base_name("/usr/bin/sleep"), "sleep");
  EXPECT_EQ(base_name("sleep"), "sleep");
  EXPECT_EQ(base_name("/usr/bin/"), "");
  EXPECT_EQ(base_name(""), "");
}

TEST(Strings, ICompareOrders) {
  EXPECT_LT(icompare("abc", "ABD"), 0);
  EXPECT_EQ(icompare("abc", "ABC"), 0);
  EXPECT_GT(icompare("abcd", "ABC"), 0);
}

TEST(Strings, ParseU64) {
  EXPECT_EQ(parse_u64("0"), 0u);
  EXPECT_EQ(parse_u64("18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(parse_u64("18446744073709551616"), std::nullopt);
  EXPECT_EQ(parse_u64(""), std::nullopt);
  EXPECT_EQ(parse_u64("12a"), std::nullopt);
  EXPECT_EQ(parse_u64("-1"), std::nullopt);
}

TEST(Strings, ParseI64) {
  EXPECT_EQ(parse_i64("-9223372036854775808"), INT64_MIN);
  EXPECT_EQ(parse_i64("9223372036854775807"), INT64_MAX);
  EXPECT_EQ(parse_i64("9223372036854775808"), std::nullopt);
  EXPECT_EQ(parse_i64("-"), std::nullopt);
}

TEST(Strings, SplitKeepsEmptyFields) {
  auto v = split("a,,b", ',');
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[1], "");
  EXPECT_EQ(v[2], "b");
}

TEST(Strings, IHashIsCaseInsensitive) {
  EXPECT_EQ(IHash{}("Handle"), IHash{}("HANDLE"));
}

}  // namespace lwmi::base
