#include "wql/like.h"

#include <algorithm>

#include "base/budget.h"

namespace lwmi::wql {
namespace {

inline unsigned char lower(unsigned char c) {
  return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

/// One element of the pattern as written: a character, '_' or a set.
struct Item {
  enum Kind { kAny, kOne, kSet, kChar } kind;
  unsigned char c = 0;  ///< kChar, lower-cased
  bool negate = false;
  std::vector<std::pair<unsigned char, unsigned char>> ranges;  ///< kSet, lower-cased

  /// Sets bit `bit` of table[b * stride] for every byte b this element accepts.
  void mark(uint64_t* table, size_t stride, uint64_t bit) const {
    // Which lower-cased bytes the element names: a difference array over the ranges, so a set
    // costs its ranges plus 256, however wide they are.
    int in[257] = {};
    if (kind == kChar) {
      in[c] = 1, in[c + 1] = -1;
    } else if (kind == kSet) {
      for (auto [lo, hi] : ranges) ++in[lo], --in[hi + 1];
    }
    bool named[256];
    for (int b = 0, depth = 0; b < 256; ++b) named[b] = (depth += in[b]) > 0;
    for (unsigned b = 0; b < 256; ++b) {
      bool ok = kind == kOne || (named[lower(static_cast<unsigned char>(b))] != negate);
      if (ok) table[b * stride] |= bit;
    }
  }
};

/// Text bytes × mask words a search does between two looks at the request's budget (~1 ms).
constexpr size_t kWorkBetweenChecks = size_t{1} << 20;

}  // namespace

std::optional<LikePattern> LikePattern::compile(std::string_view p, std::string* error) {
  std::vector<Item> items;
  for (size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    if (c == '%') {
      if (items.empty() || items.back().kind != Item::kAny) items.push_back({Item::kAny});
    } else if (c == '_') {
      items.push_back({Item::kOne});
    } else if (c == '[') {
      size_t j = i + 1;
      Item set{Item::kSet};
      if (j < p.size() && p[j] == '^') {
        set.negate = true;
        ++j;
      }
      size_t first = j;
      // A ']' right after '[' or '[^' is a member, as in [[] and []].
      while (j < p.size() && (p[j] != ']' || j == first)) {
        unsigned char lo = lower(static_cast<unsigned char>(p[j]));
        if (j + 2 < p.size() && p[j + 1] == '-' && p[j + 2] != ']') {
          unsigned char hi = lower(static_cast<unsigned char>(p[j + 2]));
          if (hi < lo) std::swap(lo, hi);
          set.ranges.push_back({lo, hi});
          j += 3;
        } else {
          set.ranges.push_back({lo, lo});
          ++j;
        }
      }
      if (j >= p.size()) {
        *error = "unclosed '[' at offset " + std::to_string(i) + " of the LIKE pattern";
        return std::nullopt;
      }
      items.push_back(std::move(set));
      i = j;
    } else {
      Item it{Item::kChar};
      it.c = lower(static_cast<unsigned char>(c));
      items.push_back(it);
    }
  }

  LikePattern out;
  out.leading_any_ = !items.empty() && items.front().kind == Item::kAny;
  out.trailing_any_ = !items.empty() && items.back().kind == Item::kAny;
  for (size_t i = 0; i < items.size();) {
    if (items[i].kind == Item::kAny) {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < items.size() && items[end].kind != Item::kAny) ++end;
    Segment s;
    s.size = end - i;
    s.words = (s.size + 63) / 64;
    for (size_t k = 0; k < s.size; ++k)
      s.is_literal = s.is_literal && items[i + k].kind == Item::kChar;
    if (s.is_literal) {
      for (size_t k = 0; k < s.size; ++k) s.literal += static_cast<char>(items[i + k].c);
      // Knuth-Morris-Pratt failure function: kmp[k] is the length of the longest proper border
      // of literal[0, k].
      s.kmp.assign(s.size, 0);
      for (size_t k = 1, b = 0; k < s.size; ++k) {
        while (b > 0 && s.literal[k] != s.literal[b]) b = s.kmp[b - 1];
        if (s.literal[k] == s.literal[b]) ++b;
        s.kmp[k] = static_cast<uint32_t>(b);
      }
    } else {
      s.masks.assign(256 * s.words, 0);
      for (size_t k = 0; k < s.size; ++k)
        items[i + k].mark(&s.masks[k / 64], s.words, uint64_t{1} << (k % 64));
    }
    out.segments_.push_back(std::move(s));
    i = end;
  }
  return out;
}

bool LikePattern::Segment::matches_at(std::string_view text, size_t at) const {
  if (at > text.size() || text.size() - at < size) return false;
  if (is_literal) {
    for (size_t k = 0; k < size; ++k)
      if (lower(static_cast<unsigned char>(text[at + k])) != static_cast<unsigned char>(literal[k]))
        return false;
    return true;
  }
  for (size_t k = 0; k < size; ++k)
    if (!accepts(k, static_cast<unsigned char>(text[at + k]))) return false;
  return true;
}

size_t LikePattern::Segment::find(std::string_view text, size_t from, size_t limit) const {
  if (limit > text.size() || limit < from || limit - from < size) return std::string_view::npos;
  return is_literal ? find_literal(text, from, limit) : find_shift_and(text, from, limit);
}

size_t LikePattern::Segment::find_literal(std::string_view text, size_t from, size_t limit) const {
  size_t matched = 0;  // literal[0, matched) ends at the current text position
  size_t next_check = from + kWorkBetweenChecks;
  for (size_t t = from; t < limit; ++t) {
    if (t == next_check) {
      if (base::Budget::spent()) return std::string_view::npos;
      next_check += kWorkBetweenChecks;
    }
    char c = static_cast<char>(lower(static_cast<unsigned char>(text[t])));
    while (matched > 0 && literal[matched] != c) matched = kmp[matched - 1];
    if (literal[matched] == c) ++matched;
    if (matched == size) return t + 1 - size;
  }
  return std::string_view::npos;
}

size_t LikePattern::Segment::find_shift_and(std::string_view text, size_t from,
                                            size_t limit) const {
  // Bit k of the state is set when elements [0, k] match the text ending at the current byte.
  // Only the words up to `top` can be non-zero, so a state that dies out early stays cheap.
  std::vector<uint64_t> state(words, 0);
  const size_t last_word = words - 1;
  const uint64_t last_bit = uint64_t{1} << ((size - 1) % 64);
  size_t top = 0;  // state[w] == 0 for every w > top
  const size_t step = std::max<size_t>(1, kWorkBetweenChecks / words);
  size_t next_check = from + step;
  for (size_t t = from; t < limit; ++t) {
    if (t == next_check) {
      if (base::Budget::spent()) return std::string_view::npos;
      next_check += step;
    }
    const uint64_t* row = &masks[static_cast<unsigned char>(text[t]) * words];
    uint64_t carry = 1;  // a match may start at every byte
    size_t end = std::min(top + 1, last_word);
    for (size_t w = 0; w <= end; ++w) {
      uint64_t out = state[w] >> 63;
      state[w] = ((state[w] << 1) | carry) & row[w];
      carry = out;
    }
    top = end;
    while (top > 0 && state[top] == 0) --top;
    if (state[last_word] & last_bit) return t + 1 - size;
  }
  return std::string_view::npos;
}

bool LikePattern::matches(std::string_view text) const {
  const size_t n = text.size();
  if (!leading_any_ && !trailing_any_ && segments_.size() <= 1) {
    // No '%': the one segment is the whole text (no segment: the empty text).
    if (segments_.empty()) return n == 0;
    return segments_[0].size == n && segments_[0].matches_at(text, 0);
  }
  size_t first = 0, last = segments_.size();  // the segments to find, [first, last)
  size_t pos = 0, limit = n;
  if (!leading_any_) {
    if (!segments_[0].matches_at(text, 0)) return false;
    pos = segments_[0].size;
    first = 1;
  }
  if (!trailing_any_) {
    const Segment& s = segments_.back();
    if (n < s.size || n - s.size < pos || !s.matches_at(text, n - s.size)) return false;
    limit = n - s.size;
    last = segments_.size() - 1;
  }
  for (size_t i = first; i < last; ++i) {
    size_t at = segments_[i].find(text, pos, limit);
    if (at == std::string_view::npos) return false;
    pos = at + segments_[i].size;
  }
  return true;
}

}  // namespace lwmi::wql
