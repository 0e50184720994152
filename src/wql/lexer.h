// wql/lexer.h — the WQL tokenizer: one token at a time, each with its byte offset.
//
// Tokens: identifiers [A-Za-z_][A-Za-z0-9_]*; keywords (case-insensitive); '*' ',' '.' '(' ')';
// the raw text of "{…}" (the object path of ASSOCIATORS OF / REFERENCES OF); the comparison
// operators = <> != < > <= >=; string literals in ' or " with the escapes \\ \" \'; decimal
// integers and reals (digits '.' digits, optional exponent). A '-' directly before a digit is
// the sign of the number ("-5" is one token); the parser only accepts numbers where a constant
// is expected, so "a-5" is an error there.
// Errors: WBEM_E_INVALID_QUERY, "invalid query at column N: …", position = the byte offset.
// Thread safety: a Lexer is single-threaded; it only reads the text it was given.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "lwmi/result.h"

namespace lwmi::wql {

enum class TokenKind {
  kEnd,         ///< end of the query (returned again on every further call)
  kIdentifier,  ///< a name that is not a keyword
  kString,      ///< 'text' or "text"; value holds the unescaped content
  kInteger,     ///< integer / uinteger / is_unsigned hold the value
  kReal,        ///< real holds the value
  kBraced,      ///< {…}; value holds the text between the braces
  kStar,
  kComma,
  kDot,
  kLParen,
  kRParen,
  kEq,
  kNe,  ///< <> or !=
  kLt,
  kGt,
  kLe,
  kGe,
  // Keywords.
  kSelect,
  kFrom,
  kWhere,
  kAnd,
  kOr,
  kNot,
  kIs,
  kIsNot,
  kIsa,
  kLike,
  kNull,
  kTrue,
  kFalse,
  kWithin,
  kGroup,
  kBy,
  kHaving,
  kAssociators,
  kReferences,
  kOf,
  kKeysOnly,
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  size_t pos = 0;            ///< byte offset of the first character
  std::string_view raw;      ///< the token as written (empty for kEnd)
  std::string value;         ///< kString: unescaped content; kBraced: text inside the braces
  int64_t integer = 0;       ///< kInteger, when !is_unsigned
  uint64_t uinteger = 0;     ///< kInteger, when the value is not negative
  bool is_unsigned = false;  ///< kInteger above INT64_MAX (only uinteger holds it)
  double real = 0;           ///< kReal

  size_t end() const { return pos + raw.size(); }
  bool is_keyword() const { return kind >= TokenKind::kSelect; }
  bool is_comparison() const { return kind >= TokenKind::kEq && kind <= TokenKind::kGe; }
  /// How the token is named in messages: 'FORM', '=', "'abc'", end of query.
  std::string describe() const;
};

/// The keyword's canonical spelling ("SELECT"), or "" for non-keywords.
std::string_view keyword_name(TokenKind kind);

/// An Error with the message "invalid query at column <pos+1>: <what>".
Error query_error(WbemStatus code, size_t pos, std::string_view what);

/// A piece of query text quoted for a message: shortened when long, control bytes escaped.
std::string quote_excerpt(std::string_view text);

class Lexer {
 public:
  explicit Lexer(std::string_view text) : s_(text) {}

  /// The next token, or an error for a malformed one (bad character, string, number or braces).
  Result<Token> next();

 private:
  Result<Token> string_literal(size_t start);
  Result<Token> number(size_t start);
  Result<Token> braced(size_t start);

  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace lwmi::wql
