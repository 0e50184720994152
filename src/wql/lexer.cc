// The WQL tokenizer. Decisions the header leaves open:
//  * Whitespace is space, tab, CR, LF, VT and FF; anything else outside a token is an error.
//  * A string literal may contain any byte, newlines included; only \\, \" and \' are escapes
//    (spec 3.2: 'Fabrikam\TimO' is an invalid query).
//  * A number directly followed by a name character or '.' ("5abc", "1.", "1e") is one invalid
//    number rather than two tokens, so the message points at what was written.
//  * "{…}" is read as one token up to the matching '}', skipping braces inside quoted values and
//    counting nested braces (a moniker path may contain "{impersonationLevel=…}").
//  * An unterminated string or "{" is reported at the end of the query, naming where it began.
#include "wql/lexer.h"

#include <array>
#include <charconv>
#include <system_error>

#include "base/strings.h"

namespace lwmi::wql {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_name_start(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool is_name_char(char c) {
  return is_name_start(c) || is_digit(c);
}

struct KeywordEntry {
  std::string_view name;
  TokenKind kind;
};

constexpr std::array<KeywordEntry, 22> kKeywords = {{
    {"SELECT", TokenKind::kSelect},
    {"FROM", TokenKind::kFrom},
    {"WHERE", TokenKind::kWhere},
    {"AND", TokenKind::kAnd},
    {"OR", TokenKind::kOr},
    {"NOT", TokenKind::kNot},
    {"IS", TokenKind::kIs},
    {"ISNOT", TokenKind::kIsNot},
    {"ISA", TokenKind::kIsa},
    {"LIKE", TokenKind::kLike},
    {"NULL", TokenKind::kNull},
    {"TRUE", TokenKind::kTrue},
    {"FALSE", TokenKind::kFalse},
    {"WITHIN", TokenKind::kWithin},
    {"GROUP", TokenKind::kGroup},
    {"BY", TokenKind::kBy},
    {"HAVING", TokenKind::kHaving},
    {"ASSOCIATORS", TokenKind::kAssociators},
    {"REFERENCES", TokenKind::kReferences},
    {"OF", TokenKind::kOf},
    {"KEYSONLY", TokenKind::kKeysOnly},
    {"", TokenKind::kEnd},
}};

constexpr char kHex[] = "0123456789ABCDEF";

/// One byte as shown inside a quoted excerpt: printable ASCII as is, the rest escaped.
void append_escaped(std::string* out, char c) {
  switch (c) {
    case '\t':
      *out += "\\t";
      return;
    case '\n':
      *out += "\\n";
      return;
    case '\r':
      *out += "\\r";
      return;
    default:
      break;
  }
  auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) {
    *out += c;
  } else {
    *out += "\\x";
    *out += kHex[u >> 4];
    *out += kHex[u & 15];
  }
}

/// A single character for "unexpected character X": 'x', '\t', or byte 0xNN.
std::string describe_char(char c) {
  auto u = static_cast<unsigned char>(c);
  if (c == '\'') return "\"'\"";
  if ((u >= 0x20 && u < 0x7f) || c == '\t' || c == '\n' || c == '\r') {
    std::string s = "'";
    append_escaped(&s, c);
    return s + "'";
  }
  return std::string("byte 0x") + kHex[u >> 4] + kHex[u & 15];
}

Error invalid(size_t pos, std::string_view what) {
  return query_error(WbemStatus::kInvalidQuery, pos, what);
}

}  // namespace

std::string_view keyword_name(TokenKind kind) {
  for (const auto& k : kKeywords)
    if (k.kind == kind && !k.name.empty()) return k.name;
  return {};
}

Error query_error(WbemStatus code, size_t pos, std::string_view what) {
  return Error{
      code, "invalid query at column " + std::to_string(pos + 1) + ": " + std::string(what), pos};
}

std::string quote_excerpt(std::string_view text) {
  constexpr size_t kMax = 40;
  std::string body;
  for (char c : text.substr(0, kMax)) append_escaped(&body, c);
  if (text.size() > kMax) body += "...";
  bool single = body.find('\'') != std::string::npos && body.find('"') == std::string::npos;
  return single ? "\"" + body + "\"" : "'" + body + "'";
}

std::string Token::describe() const {
  if (kind == TokenKind::kEnd) return "end of query";
  return quote_excerpt(raw);
}

Result<Token> Lexer::next() {
  while (pos_ < s_.size() && is_space(s_[pos_])) ++pos_;
  Token t;
  t.pos = pos_;
  if (pos_ >= s_.size()) {
    t.kind = TokenKind::kEnd;
    t.raw = s_.substr(s_.size(), 0);
    return t;
  }
  const size_t start = pos_;
  const char c = s_[pos_];
  const char n = pos_ + 1 < s_.size() ? s_[pos_ + 1] : '\0';
  auto single = [&](TokenKind kind, size_t len) -> Result<Token> {
    t.kind = kind;
    t.raw = s_.substr(start, len);
    pos_ = start + len;
    return t;
  };
  if (is_name_start(c)) {
    size_t end = pos_ + 1;
    while (end < s_.size() && is_name_char(s_[end])) ++end;
    std::string_view word = s_.substr(start, end - start);
    TokenKind kind = TokenKind::kIdentifier;
    for (const auto& k : kKeywords) {
      if (!k.name.empty() && base::iequals(word, k.name)) {
        kind = k.kind;
        break;
      }
    }
    return single(kind, end - start);
  }
  if (is_digit(c) || (c == '-' && is_digit(n))) return number(start);
  switch (c) {
    case '\'':
    case '"':
      return string_literal(start);
    case '{':
      return braced(start);
    case '*':
      return single(TokenKind::kStar, 1);
    case ',':
      return single(TokenKind::kComma, 1);
    case '.':
      return single(TokenKind::kDot, 1);
    case '(':
      return single(TokenKind::kLParen, 1);
    case ')':
      return single(TokenKind::kRParen, 1);
    case '=':
      return single(TokenKind::kEq, 1);
    case '<':
      if (n == '=') return single(TokenKind::kLe, 2);
      if (n == '>') return single(TokenKind::kNe, 2);
      return single(TokenKind::kLt, 1);
    case '>':
      if (n == '=') return single(TokenKind::kGe, 2);
      return single(TokenKind::kGt, 1);
    case '!':
      if (n == '=') return single(TokenKind::kNe, 2);
      return invalid(start, "unexpected character '!' (not-equal is written '!=' or '<>')");
    case '}':
      return invalid(start, "unexpected '}' without a matching '{'");
    case '+':
    case '-':
    case '/':
    case '%':
      return invalid(start,
                     "unexpected character " + describe_char(c) + " (WQL has no arithmetic)");
    default:
      return invalid(start, "unexpected character " + describe_char(c));
  }
}

Result<Token> Lexer::string_literal(size_t start) {
  const char quote = s_[start];
  Token t;
  t.kind = TokenKind::kString;
  t.pos = start;
  size_t i = start + 1;
  while (true) {
    // A backslash as the last byte escapes nothing: the string is still unterminated.
    if (i >= s_.size() || (s_[i] == '\\' && i + 1 >= s_.size())) {
      return invalid(s_.size(),
                     "unterminated string starting at column " + std::to_string(start + 1));
    }
    char c = s_[i];
    if (c == quote) break;
    if (c == '\\') {
      char e = s_[i + 1];
      if (e != '\\' && e != '"' && e != '\'') {
        auto u = static_cast<unsigned char>(e);
        std::string shown = (u >= 0x20 && u < 0x7f) ? std::string("'\\") + e + "'"
                                                    : "'\\' followed by " + describe_char(e);
        return invalid(
            i, "unknown escape " + shown + " in string (only \\\\, \\\" and \\' are escapes)");
      }
      t.value += e;
      i += 2;
      continue;
    }
    t.value += c;
    ++i;
  }
  t.raw = s_.substr(start, i + 1 - start);
  pos_ = i + 1;
  return t;
}

Result<Token> Lexer::number(size_t start) {
  size_t i = start;
  const bool negative = s_[i] == '-';
  if (negative) ++i;
  const size_t digits_start = i;
  while (i < s_.size() && is_digit(s_[i])) ++i;
  const size_t digits_end = i;
  bool real = false;
  if (i + 1 < s_.size() && s_[i] == '.' && is_digit(s_[i + 1])) {
    real = true;
    i += 1;
    while (i < s_.size() && is_digit(s_[i])) ++i;
  }
  if (i < s_.size() && (s_[i] == 'e' || s_[i] == 'E')) {
    size_t j = i + 1;
    if (j < s_.size() && (s_[j] == '+' || s_[j] == '-')) ++j;
    if (j < s_.size() && is_digit(s_[j])) {
      real = true;
      while (j < s_.size() && is_digit(s_[j])) ++j;
      i = j;
    }
  }
  if (i < s_.size() && (is_name_char(s_[i]) || s_[i] == '.')) {
    while (i < s_.size() && (is_name_char(s_[i]) || s_[i] == '.')) ++i;
    return invalid(start, "invalid number " + quote_excerpt(s_.substr(start, i - start)));
  }
  Token t;
  t.pos = start;
  t.raw = s_.substr(start, i - start);
  pos_ = i;
  if (real) {
    t.kind = TokenKind::kReal;
    auto [ptr, ec] = std::from_chars(t.raw.data(), t.raw.data() + t.raw.size(), t.real);
    if (ec != std::errc() || ptr != t.raw.data() + t.raw.size())
      return invalid(start, "number " + quote_excerpt(t.raw) + " is out of range");
    return t;
  }
  t.kind = TokenKind::kInteger;
  uint64_t v = 0;
  for (size_t k = digits_start; k < digits_end; ++k) {
    auto d = static_cast<uint64_t>(s_[k] - '0');
    if (v > (UINT64_MAX - d) / 10)
      return invalid(start, "integer " + quote_excerpt(t.raw) + " is out of range");
    v = v * 10 + d;
  }
  constexpr uint64_t kInt64Max = static_cast<uint64_t>(INT64_MAX);
  if (negative) {
    if (v > kInt64Max + 1)
      return invalid(start, "integer " + quote_excerpt(t.raw) + " is out of range");
    t.integer = v == kInt64Max + 1 ? INT64_MIN : -static_cast<int64_t>(v);
  } else if (v > kInt64Max) {
    t.is_unsigned = true;
    t.uinteger = v;
  } else {
    t.integer = static_cast<int64_t>(v);
    t.uinteger = v;
  }
  return t;
}

Result<Token> Lexer::braced(size_t start) {
  size_t depth = 0;
  char quote = 0;
  for (size_t i = start; i < s_.size(); ++i) {
    char c = s_[i];
    if (quote != 0) {
      if (c == '\\') {
        ++i;
      } else if (c == quote) {
        quote = 0;
      }
      continue;
    }
    if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '{') {
      ++depth;
    } else if (c == '}' && --depth == 0) {
      Token t;
      t.kind = TokenKind::kBraced;
      t.pos = start;
      t.raw = s_.substr(start, i + 1 - start);
      t.value = std::string(s_.substr(start + 1, i - start - 1));
      pos_ = i + 1;
      return t;
    }
  }
  return invalid(s_.size(), "unterminated '{' starting at column " + std::to_string(start + 1) +
                                " (expected '}' after the object path)");
}

}  // namespace lwmi::wql
