// wql/like.h — WQL's LIKE patterns: % (any run), _ (one character), [abc] [a-f] [^…] sets;
// a literal %, _ or [ is written [%], [_], [[]. Matching ignores ASCII case.
//
// Matching never backtracks. The pattern is cut at each '%' into fixed-length segments; the first
// is matched at the start of the text, the last at its end, and each one between at its leftmost
// occurrence after the previous one (leftmost is always right when any run may separate them).
// A segment of plain characters is found with Knuth-Morris-Pratt, one that holds '_' or a set
// with bit-parallel Shift-And. So one match reads each byte of the text once, and costs at most
// len(text) × ⌈m / 64⌉ word operations, m the longest segment holding '_' or a set — linear for
// every pattern whose such segments have at most 64 elements. (The old matcher backtracked:
// '%aaa…b' against a long run of 'a' cost len(text) × len(pattern).)
// Inside a request with a budget (base::Budget) a long match stops early when the budget runs
// out and returns false; its caller checks the budget and ends the request.
// Thread safety: a compiled pattern is immutable.
#pragma once

#include <cstdint>
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
  /// A run of the pattern between two '%': each element accepts a set of bytes.
  struct Segment {
    size_t size = 0;   ///< elements
    size_t words = 0;  ///< ⌈size / 64⌉
    /// Segments with '_' or a set: bit i % 64 of masks[c * words + i / 64] is set when element i
    /// accepts byte c.
    std::vector<uint64_t> masks;
    /// Every element is one character (either case): `literal` holds it lower-cased, and `kmp`
    /// its failure function.
    bool is_literal = true;
    std::string literal;
    std::vector<uint32_t> kmp;

    bool accepts(size_t i, unsigned char c) const {
      return (masks[c * words + i / 64] >> (i % 64)) & 1;
    }
    /// Whether the segment matches text[at, at + size).
    bool matches_at(std::string_view text, size_t at) const;
    /// The leftmost position p >= from with text[p, p + size) matched and p + size <= limit;
    /// npos when there is none, or when the request's budget ran out (base::Budget::spent()).
    size_t find(std::string_view text, size_t from, size_t limit) const;

   private:
    size_t find_literal(std::string_view text, size_t from, size_t limit) const;
    size_t find_shift_and(std::string_view text, size_t from, size_t limit) const;
  };

  std::vector<Segment> segments_;
  bool leading_any_ = false;   ///< the pattern starts with '%'
  bool trailing_any_ = false;  ///< the pattern ends with '%'
};

}  // namespace lwmi::wql
