#include "wql/like.h"

namespace lwmi::wql {
namespace {
inline unsigned char lower(unsigned char c) {
  return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}
}  // namespace

std::optional<LikePattern> LikePattern::compile(std::string_view p, std::string* error) {
  LikePattern out;
  for (size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    if (c == '%') {
      if (out.items_.empty() || out.items_.back().kind != Item::kAny)
        out.items_.push_back({Item::kAny});
    } else if (c == '_') {
      out.items_.push_back({Item::kOne});
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
      out.items_.push_back(std::move(set));
      i = j;
    } else {
      Item it{Item::kChar};
      it.c = static_cast<char>(lower(static_cast<unsigned char>(c)));
      out.items_.push_back(it);
    }
  }
  return out;
}

bool LikePattern::match_from(size_t item, std::string_view text) const {
  // Iterative with backtracking on the last '%' (linear in practice, no recursion blow-up).
  size_t i = item, t = 0;
  size_t star_item = SIZE_MAX, star_text = 0;
  while (t < text.size() || i < items_.size()) {
    if (i < items_.size()) {
      const Item& it = items_[i];
      if (it.kind == Item::kAny) {
        star_item = i++;
        star_text = t;
        continue;
      }
      if (t < text.size()) {
        unsigned char ch = lower(static_cast<unsigned char>(text[t]));
        bool ok = false;
        if (it.kind == Item::kOne) {
          ok = true;
        } else if (it.kind == Item::kChar) {
          ok = static_cast<unsigned char>(it.c) == ch;
        } else {
          bool in = false;
          for (auto [lo, hi] : it.ranges)
            if (ch >= lo && ch <= hi) in = true;
          ok = in != it.negate;
        }
        if (ok) {
          ++i;
          ++t;
          continue;
        }
      }
    }
    if (star_item == SIZE_MAX || star_text >= text.size()) return false;
    i = star_item + 1;
    t = ++star_text;
  }
  return true;
}

bool LikePattern::matches(std::string_view text) const {
  return match_from(0, text);
}

}  // namespace lwmi::wql
