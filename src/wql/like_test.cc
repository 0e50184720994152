#include "wql/like.h"
#include "wql/like_reference.h"

#include <gtest/gtest.h>

#include <chrono>
#include <random>

#include "base/budget.h"

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

TEST(Like, AgreesWithTheReferenceOnRandomPatternsAndTexts) {
  std::mt19937 rng(20261207);
  const char* pieces[] = {"a",    "b",    "A",     "B",     "%",   "%",   "_",
                          "[ab]", "[^a]", "[a-b]", "[B-a]", "[_]", "[%]", "c"};
  const char text_chars[] = {'a', 'b', 'A', 'B', 'c', '_', '%'};
  for (int n = 0; n < 100000; ++n) {
    std::string pattern, text;
    for (int k = std::uniform_int_distribution<int>(0, 8)(rng); k > 0; --k)
      pattern += pieces[std::uniform_int_distribution<size_t>(0, std::size(pieces) - 1)(rng)];
    for (int k = std::uniform_int_distribution<int>(0, 12)(rng); k > 0; --k)
      text += text_chars[std::uniform_int_distribution<size_t>(0, std::size(text_chars) - 1)(rng)];
    std::string err;
    auto compiled = LikePattern::compile(pattern, &err);
    ASSERT_TRUE(compiled) << pattern << ": " << err;
    ASSERT_EQ(compiled->matches(text), reference_like(pattern, text))
        << "'" << text << "' LIKE '" << pattern << "'";
  }
}

TEST(Like, LongSegmentsWithSetsAgreeWithTheReference) {
  // Segments longer than one 64-bit word take the multi-word Shift-And path.
  std::mt19937 rng(7);
  for (int n = 0; n < 300; ++n) {
    size_t len = std::uniform_int_distribution<size_t>(60, 200)(rng);
    std::string text;
    for (size_t i = 0; i < 400; ++i) text += "ab"[std::uniform_int_distribution<int>(0, 1)(rng)];
    size_t at = std::uniform_int_distribution<size_t>(0, text.size() - len)(rng);
    std::string pattern = "%";
    for (size_t i = 0; i < len; ++i) {
      int r = std::uniform_int_distribution<int>(0, 9)(rng);
      pattern += r == 0   ? std::string("_")
                 : r == 1 ? std::string("[ab]")
                          : std::string(1, text[at + i]);
    }
    if (n % 3 == 0) pattern += 'c';  // nowhere in the text
    pattern += "%";
    ASSERT_EQ(like(pattern.c_str(), text.c_str()), reference_like(pattern, text)) << pattern;
  }
}

// Each of these took len(text) × len(pattern) steps with the backtracking matcher (seconds on a
// 2 MB command line); they must now cost one pass. Only the answers are checked here (bench/
// measures the time); the texts are large enough that a quadratic matcher would not finish
// within the test's timeout.
TEST(Like, PathologicalPatternsAreAnsweredRight) {
  const std::string text(2 * 1024 * 1024, 'a');
  std::string tail_b = "%" + std::string(100000, 'a') + "b";
  EXPECT_FALSE(like(tail_b.c_str(), text.c_str()));
  std::string mid_b = "%" + std::string(100000, 'a') + "b%";
  EXPECT_FALSE(like(mid_b.c_str(), text.c_str()));
  std::string found = "%" + std::string(100000, 'a') + "%";
  EXPECT_TRUE(like(found.c_str(), text.c_str()));
  std::string set_b = "%";
  for (int i = 0; i < 63; ++i) set_b += "[a]";
  set_b += "b%";
  EXPECT_FALSE(like(set_b.c_str(), text.c_str()));
  std::string under_b = "%" + std::string(63, '_') + "b%";
  EXPECT_FALSE(like(under_b.c_str(), text.c_str()));
  std::string many = "%";
  for (int i = 0; i < 2000; ++i) many += "a%";
  many += "b";
  EXPECT_FALSE(like(many.c_str(), text.c_str()));
}

TEST(Like, StopsWhenTheRequestBudgetIsSpent) {
  // A segment of 4096 sets costs 64 words per byte: long on 2 MB, and it matches only at the
  // very end. With the request's budget spent, the match gives up at its first look at the
  // budget (and says false); without a budget it runs to the end and finds it.
  const std::string text = std::string(2 * 1024 * 1024, 'a') + "c";
  std::string pattern = "%";
  for (int i = 0; i < 4096; ++i) pattern += "[ab]";
  pattern += "c%";
  std::string err;
  auto p = LikePattern::compile(pattern, &err);
  ASSERT_TRUE(p) << err;
  EXPECT_TRUE(p->matches(text));
  base::Budget spent(std::chrono::milliseconds(0), "test");
  base::Budget::Scope scope(&spent);
  EXPECT_FALSE(p->matches(text));
  EXPECT_TRUE(base::Budget::spent());
}

}  // namespace lwmi::wql
