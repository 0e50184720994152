// wql/like_reference.h — for tests and the fuzzer only: LIKE by dynamic programming over the
// pattern as written, O(text × pattern), written apart from wql/like.cc (its own reading of the
// syntax) so that the two can disagree. The pattern must compile (sets closed).
#pragma once

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

namespace lwmi::wql {

inline bool reference_like(std::string_view p, std::string_view t) {
  auto low = [](char c) {
    return static_cast<unsigned char>(std::tolower(static_cast<unsigned char>(c)));
  };
  struct Tok {
    char kind;            // '%', '_', 's' (set), 'c'
    std::string members;  // 'c': the character; 's': a byte per accepted lower-cased byte
    bool negate = false;
  };
  std::vector<Tok> toks;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '%') {
      toks.push_back({'%', ""});
    } else if (p[i] == '_') {
      toks.push_back({'_', ""});
    } else if (p[i] == '[') {
      Tok t{'s', ""};
      size_t j = i + 1;
      if (j < p.size() && p[j] == '^') t.negate = true, ++j;
      size_t first = j;
      while (p[j] != ']' || j == first) {
        unsigned char lo = low(p[j]);
        if (j + 2 < p.size() && p[j + 1] == '-' && p[j + 2] != ']') {
          unsigned char hi = low(p[j + 2]);
          if (hi < lo) std::swap(lo, hi);
          for (unsigned c = lo; c <= hi; ++c) t.members += static_cast<char>(c);
          j += 3;
        } else {
          t.members += static_cast<char>(lo);
          ++j;
        }
      }
      toks.push_back(t);
      i = j;
    } else {
      toks.push_back({'c', std::string(1, static_cast<char>(low(p[i])))});
    }
  }
  auto one = [&](const Tok& k, char c) {
    if (k.kind == '_') return true;
    bool in = k.members.find(static_cast<char>(low(c))) != std::string::npos;
    return k.kind == 's' ? in != k.negate : in;
  };
  // m[i][j]: toks[i..] matches t[j..]
  std::vector<std::vector<char>> m(toks.size() + 1, std::vector<char>(t.size() + 1, 0));
  m[toks.size()][t.size()] = 1;
  for (size_t i = toks.size(); i-- > 0;)
    for (size_t j = t.size() + 1; j-- > 0;)
      m[i][j] = toks[i].kind == '%' ? (m[i + 1][j] || (j < t.size() && m[i][j + 1]))
                                    : (j < t.size() && one(toks[i], t[j]) && m[i + 1][j + 1]);
  return m[0][0];
}

}  // namespace lwmi::wql
