// wql/like.h — WQL's LIKE patterns: % (any run), _ (one character), [abc] [a-f] [^…] sets;
// a literal %, _ or [ is written [%], [_], [[]. Matching ignores ASCII case.
// Thread safety: a compiled pattern is immutable.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lwmi::wql {

class LikePattern {
 public:
  /// Compiles a pattern; nullopt with *error set for an unclosed '['.
  static std::optional<LikePattern> compile(std::string_view pattern, std::string* error);
  bool matches(std::string_view text) const;

 private:
  struct Item {
    enum Kind { kAny, kOne, kSet, kChar } kind;
    char c = 0;
    bool negate = false;
    std::vector<std::pair<unsigned char, unsigned char>> ranges;  // for kSet, lower-cased
  };
  bool match_from(size_t item, std::string_view text) const;
  std::vector<Item> items_;
};

}  // namespace lwmi::wql
