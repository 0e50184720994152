#include "wql/like.h"

#include <gtest/gtest.h>

namespace lwmi::wql {

static bool like(const char* pattern, const char* text) {
  std::string err;
  auto p = LikePattern::compile(pattern, &err);
  EXPECT_TRUE(p.has_value()) << err;
  return p && p->matches(text);
}

TEST(Like, WildcardsAndSets) {
  struct Case {
    const char* pattern;
    const char* text;
    bool want;
  } cases[] = {
      {"note%", "notepad.exe", true},
      {"note%", "NOTEPAD.EXE", true},
      {"%pad%", "notepad.exe", true},
      {"%pad", "notepad.exe", false},
      {"_leep", "sleep", true},
      {"_leep", "ssleep", false},
      {"[st]leep", "sleep", true},
      {"[a-f]%", "bash", true},
      {"[a-f]%", "sleep", false},
      {"[^a-f]%", "sleep", true},
      {"%[_][_]%", "a__b", true},
      {"%[_][_]%", "a_b", false},
      {"100[%]", "100%", true},
      {"100[%]", "1000", false},
      {"[[]x]", "[x]", true},
      {"%", "", true},
      {"", "", true},
      {"", "a", false},
      {"a%b%c", "aXXbYYc", true},
      {"a%b%c", "aXXbYY", false},
      {"%%%a", "bbba", true},
      {"sleep", "SLEEP", true},
  };
  for (const auto& c : cases)
    EXPECT_EQ(like(c.pattern, c.text), c.want) << c.pattern << " ~ " << c.text;
}

TEST(Like, UnclosedBracketIsAnError) {
  std::string err;
  EXPECT_FALSE(LikePattern::compile("ab[cd", &err).has_value());
  EXPECT_EQ(err, "unclosed '[' at offset 2 of the LIKE pattern");
}

TEST(Like, NoExponentialBacktracking) {
  std::string text(5000, 'a');
  EXPECT_FALSE(like("%a%a%a%a%a%a%a%a%b", text.c_str()));
}

}  // namespace lwmi::wql
