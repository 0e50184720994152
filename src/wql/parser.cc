// The WQL parser: recursive descent over the tokens of wql/lexer.h, one function per grammar
// element (spec 3.2 / 3.3), with one token of lookahead.
//
//   query      := select | (ASSOCIATORS | REFERENCES) OF {path} [WHERE assoc_kw {assoc_kw}]
//   select     := SELECT ('*' | prop {',' prop}) FROM class [WITHIN n] [WHERE or] [WITHIN n]
//                 [GROUP WITHIN n [BY prop {',' prop}] [HAVING NumberOfEvents relop uint32]]
//   or         := and {OR and}
//   and        := not {AND not}
//   not        := NOT not | primary
//   primary    := '(' or ')' | predicate
//   predicate  := prop relop constant | constant relop prop | prop [NOT] LIKE string
//               | prop IS [NOT] NULL | prop ISNOT NULL | prop ISA string
//   assoc_kw   := name ['=' (name | string)]
//
// Decisions the headers leave open:
//  * WITHIN may come before or after WHERE (once); GROUP comes last.
//  * NOT may repeat ("NOT NOT a = 1"); every NOT and every '(' counts as one nesting level, and
//    the level is checked before recursing, so the parser's stack depth is bounded.
//  * AND and OR are left-associative; the operators are counted as they are read.
//  * GROUP not followed by WITHIN is WBEM_E_MISSING_GROUP_WITHIN (spec 3.3), not a syntax error.
//  * The parser checks syntax only: WITHIN values, LIKE patterns, NULL comparisons, class and
//    property existence are for the compiler.
//  * Association WHERE clauses are checked only for shape (names, optionally "= value").
//  * The query-length limit is reported at position kMaxQueryLength (where the excess starts).
#include <string>
#include <utility>

#include "base/strings.h"
#include "wql/lexer.h"
#include "wql/parser.h"

namespace lwmi::wql {

std::string PropertyRef::text() const {
  std::string out;
  for (size_t i = 0; i < path.size(); ++i) {
    if (i > 0) out += '.';
    out += path[i];
  }
  return out;
}

namespace {

/// Returned by Parser::fail(): false for bool functions, nullptr for ExprPtr ones.
struct Failed {
  operator bool() const { return false; }       // NOLINT: implicit by design
  operator ExprPtr() const { return nullptr; }  // NOLINT
};

CompareOp compare_op(TokenKind kind) {
  switch (kind) {
    case TokenKind::kNe:
      return CompareOp::kNe;
    case TokenKind::kLt:
      return CompareOp::kLt;
    case TokenKind::kGt:
      return CompareOp::kGt;
    case TokenKind::kLe:
      return CompareOp::kLe;
    case TokenKind::kGe:
      return CompareOp::kGe;
    default:
      return CompareOp::kEq;
  }
}

/// "5 < p" is "p > 5".
CompareOp mirror(CompareOp op) {
  switch (op) {
    case CompareOp::kLt:
      return CompareOp::kGt;
    case CompareOp::kGt:
      return CompareOp::kLt;
    case CompareOp::kLe:
      return CompareOp::kGe;
    case CompareOp::kGe:
      return CompareOp::kLe;
    default:
      return op;
  }
}

bool is_constant(TokenKind kind) {
  switch (kind) {
    case TokenKind::kString:
    case TokenKind::kInteger:
    case TokenKind::kReal:
    case TokenKind::kTrue:
    case TokenKind::kFalse:
    case TokenKind::kNull:
      return true;
    default:
      return false;
  }
}

/// A number token that starts with '-': after a constant it can only be an attempt at arithmetic.
bool is_signed_number(const Token& t) {
  return (t.kind == TokenKind::kInteger || t.kind == TokenKind::kReal) && !t.raw.empty() &&
         t.raw[0] == '-';
}

class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text), lex_(text) {}

  Result<Query> run() {
    if (s_.size() > kMaxQueryLength) {
      return Error{WbemStatus::kQuotaViolation,
                   "query is " + std::to_string(s_.size()) + " bytes long; the limit is " +
                       std::to_string(kMaxQueryLength),
                   kMaxQueryLength};
    }
    Query q;
    if (!query(&q)) return std::move(*err_);
    return q;
  }

 private:
  // ---- errors -------------------------------------------------------------------------------

  Failed fail(size_t pos, std::string_view what, WbemStatus code = WbemStatus::kInvalidQuery) {
    if (!err_) err_ = query_error(code, pos, what);
    return {};
  }

  /// "expected <what> but found <current token>".
  Failed expected(const std::string& what) {
    return fail(tok_.pos, "expected " + what + " but found " + tok_.describe());
  }

  /// How a token is named after "after": keywords in capitals, everything else quoted.
  static std::string after(const Token& t) {
    if (t.is_keyword()) return std::string(keyword_name(t.kind));
    return t.describe();
  }

  // ---- tokens -------------------------------------------------------------------------------

  bool advance() {
    prev_ = std::move(tok_);
    auto next = lex_.next();
    if (!next.ok()) {
      if (!err_) err_ = next.take_error();
      return false;
    }
    tok_ = std::move(next.value());
    return true;
  }

  bool at(TokenKind kind) const { return tok_.kind == kind; }

  /// From `start` to the end of the last token read.
  Location span(size_t start) const { return Location{start, prev_.end() - start}; }

  // ---- statements ---------------------------------------------------------------------------

  bool query(Query* q) {
    if (!advance()) return false;
    if (at(TokenKind::kEnd)) return fail(0, "empty query");
    const size_t start = tok_.pos;
    bool ok = false;
    if (at(TokenKind::kSelect)) {
      q->kind = Query::Kind::kSelect;
      ok = select(&q->select);
    } else if (at(TokenKind::kAssociators) || at(TokenKind::kReferences)) {
      q->kind = at(TokenKind::kAssociators) ? Query::Kind::kAssociators : Query::Kind::kReferences;
      ok = association(q);
    } else {
      return expected("SELECT, ASSOCIATORS OF or REFERENCES OF");
    }
    if (!ok) return false;
    if (at(TokenKind::kRParen)) return fail(tok_.pos, "unexpected ')'");
    if (!at(TokenKind::kEnd)) {
      return fail(tok_.pos, "trailing text after the query: " +
                                quote_excerpt(base::trim(s_.substr(tok_.pos))));
    }
    q->loc = span(start);
    return true;
  }

  bool select(SelectQuery* sq) {
    if (!advance()) return false;  // SELECT
    if (at(TokenKind::kStar)) {
      sq->select_all = true;
      if (!advance()) return false;
    } else if (at(TokenKind::kIdentifier)) {
      if (!property_list(&sq->properties)) return false;
    } else {
      return expected("a property name or '*' after SELECT");
    }
    if (!at(TokenKind::kFrom)) return expected("FROM");
    if (!advance()) return false;
    if (!at(TokenKind::kIdentifier)) return expected("a class name after FROM");
    if (tok_.raw.size() > kMaxNameLength) {
      return fail(tok_.pos, too_long("class name", tok_.raw), WbemStatus::kClassNameTooWide);
    }
    sq->class_name = std::string(tok_.raw);
    sq->class_loc = Location{tok_.pos, tok_.raw.size()};
    if (!advance()) return false;

    if (at(TokenKind::kWithin) && !within(sq)) return false;
    if (at(TokenKind::kWhere)) {
      if (!advance()) return false;
      sq->where = or_expr();
      if (!sq->where) return false;
    }
    if (at(TokenKind::kWithin)) {
      if (sq->within) return fail(tok_.pos, "WITHIN appears twice");
      if (!within(sq)) return false;
    }
    if (at(TokenKind::kGroup) && !group(sq)) return false;
    return true;
  }

  /// WITHIN seconds (integer or real).
  bool within(SelectQuery* sq) {
    const size_t start = tok_.pos;
    if (!advance()) return false;
    double seconds = 0;
    if (!number(&seconds)) return expected("a number of seconds after WITHIN");
    sq->within = seconds;
    sq->within_loc = span(start);
    return true;
  }

  /// Reads an integer or real into *out; false (no error set) if the token is not a number.
  bool number(double* out) {
    if (at(TokenKind::kInteger)) {
      *out =
          tok_.is_unsigned ? static_cast<double>(tok_.uinteger) : static_cast<double>(tok_.integer);
    } else if (at(TokenKind::kReal)) {
      *out = tok_.real;
    } else {
      return false;
    }
    return advance();
  }

  /// GROUP WITHIN n [BY prop {, prop}] [HAVING NumberOfEvents relop uint32].
  bool group(SelectQuery* sq) {
    const size_t start = tok_.pos;
    if (!advance()) return false;  // GROUP
    if (!at(TokenKind::kWithin)) {
      return fail(tok_.pos, "expected WITHIN after GROUP but found " + tok_.describe(),
                  WbemStatus::kMissingGroupWithin);
    }
    if (!advance()) return false;
    double seconds = 0;
    if (!number(&seconds)) {
      return err_ ? false : expected("a number of seconds after GROUP WITHIN");
    }
    sq->group_within = seconds;
    if (at(TokenKind::kBy)) {
      if (!advance()) return false;
      if (!at(TokenKind::kIdentifier)) return expected("a property name after BY");
      if (!property_list(&sq->group_by)) return false;
    }
    if (at(TokenKind::kHaving)) {
      if (!advance()) return false;
      if (!at(TokenKind::kIdentifier) || !base::iequals(tok_.raw, "NumberOfEvents")) {
        return expected("NumberOfEvents after HAVING");
      }
      if (!advance()) return false;
      if (!tok_.is_comparison()) return expected("a comparison operator after NumberOfEvents");
      const std::string op(tok_.raw);
      sq->having_op = compare_op(tok_.kind);
      if (!advance()) return false;
      if (!at(TokenKind::kInteger) || tok_.is_unsigned || tok_.integer < 0 ||
          tok_.uinteger > UINT32_MAX || is_signed_number(tok_)) {
        return expected("an unsigned 32-bit integer after '" + op + "'");
      }
      sq->having_value = static_cast<uint32_t>(tok_.uinteger);
      if (!advance()) return false;
    }
    sq->group_loc = span(start);
    return true;
  }

  /// ASSOCIATORS OF {path} [WHERE …] / REFERENCES OF {path} [WHERE …]; tok_ is the first word.
  bool association(Query* q) {
    const std::string first(keyword_name(tok_.kind));
    if (!advance()) return false;
    if (!at(TokenKind::kOf)) return expected("OF after " + first);
    if (!advance()) return false;
    if (!at(TokenKind::kBraced)) return expected("an object path in { } after OF");
    if (base::trim(tok_.value).empty()) return fail(tok_.pos, "empty object path in { }");
    q->object_path = tok_.value;
    if (!advance()) return false;
    if (!at(TokenKind::kWhere)) return true;
    if (!advance()) return false;
    if (at(TokenKind::kEnd)) return expected("an association keyword after WHERE");
    while (!at(TokenKind::kEnd) && !at(TokenKind::kRParen)) {
      if (at(TokenKind::kAnd) || at(TokenKind::kOr)) {
        return fail(tok_.pos, "unexpected " + std::string(keyword_name(tok_.kind)) +
                                  " (association keywords are separated by spaces)");
      }
      if (!at(TokenKind::kIdentifier) && !at(TokenKind::kKeysOnly)) {
        return expected("an association keyword such as ResultClass = ClassName");
      }
      const std::string name(tok_.raw);
      if (!advance()) return false;
      if (!at(TokenKind::kEq)) continue;
      if (!advance()) return false;
      if (!at(TokenKind::kIdentifier) && !at(TokenKind::kString)) {
        return expected("a value for " + quote_excerpt(name) + " after '='");
      }
      if (!advance()) return false;
    }
    return true;
  }

  /// prop {',' prop}; tok_ is an identifier.
  bool property_list(std::vector<PropertyRef>* out) {
    while (true) {
      PropertyRef p;
      if (!property(&p)) return false;
      out->push_back(std::move(p));
      if (!at(TokenKind::kComma)) return true;
      if (!advance()) return false;
      if (!at(TokenKind::kIdentifier)) return expected("a property name after ','");
    }
  }

  /// name {'.' name}; tok_ is an identifier.
  bool property(PropertyRef* p) {
    const size_t start = tok_.pos;
    while (true) {
      if (tok_.raw.size() > kMaxNameLength) {
        return fail(tok_.pos, too_long("property name", tok_.raw),
                    WbemStatus::kPropertyNameTooWide);
      }
      p->path.emplace_back(tok_.raw);
      if (!advance()) return false;
      if (!at(TokenKind::kDot)) break;
      if (!advance()) return false;
      if (!at(TokenKind::kIdentifier)) return expected("a property name after '.'");
    }
    p->loc = span(start);
    return true;
  }

  static std::string too_long(std::string_view noun, std::string_view name) {
    return std::string(noun) + " " + quote_excerpt(name) + " is " + std::to_string(name.size()) +
           " characters long; the limit is " + std::to_string(kMaxNameLength);
  }

  // ---- conditions ---------------------------------------------------------------------------

  static ExprPtr binary(Expr::Kind kind, ExprPtr left, ExprPtr right, Location loc) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->left = std::move(left);
    e->right = std::move(right);
    e->loc = loc;
    return e;
  }

  /// Counts one AND/OR at tok_ against the limit.
  bool count_operator() {
    if (++operators_ > kMaxBooleanOperators) {
      return fail(tok_.pos,
                  "more than " + std::to_string(kMaxBooleanOperators) + " AND/OR operators",
                  WbemStatus::kQuotaViolation);
    }
    return true;
  }

  /// Checks that one more nesting level (a '(' or NOT at tok_) stays within the limit.
  bool enter_level() {
    if (depth_ >= kMaxDepth) {
      return fail(tok_.pos,
                  "conditions nested deeper than " + std::to_string(kMaxDepth) + " levels",
                  WbemStatus::kQuotaViolation);
    }
    ++depth_;
    return true;
  }

  ExprPtr or_expr() {
    ExprPtr left = and_expr();
    while (left && at(TokenKind::kOr)) {
      Location loc{tok_.pos, tok_.raw.size()};
      if (!count_operator() || !advance()) return nullptr;
      ExprPtr right = and_expr();
      if (!right) return nullptr;
      left = binary(Expr::Kind::kOr, std::move(left), std::move(right), loc);
    }
    return left;
  }

  ExprPtr and_expr() {
    ExprPtr left = not_expr();
    while (left && at(TokenKind::kAnd)) {
      Location loc{tok_.pos, tok_.raw.size()};
      if (!count_operator() || !advance()) return nullptr;
      ExprPtr right = not_expr();
      if (!right) return nullptr;
      left = binary(Expr::Kind::kAnd, std::move(left), std::move(right), loc);
    }
    return left;
  }

  ExprPtr not_expr() {
    if (!at(TokenKind::kNot)) return primary();
    Location loc{tok_.pos, tok_.raw.size()};
    if (!enter_level() || !advance()) return nullptr;
    ExprPtr operand = not_expr();
    --depth_;
    if (!operand) return nullptr;
    return binary(Expr::Kind::kNot, std::move(operand), nullptr, loc);
  }

  ExprPtr primary() {
    if (at(TokenKind::kLParen)) {
      const size_t open = tok_.pos;
      if (!enter_level() || !advance()) return nullptr;
      ExprPtr inner = or_expr();
      --depth_;
      if (!inner) return nullptr;
      if (!at(TokenKind::kRParen)) {
        return expected("')' to close the '(' at column " + std::to_string(open + 1));
      }
      if (!advance()) return nullptr;
      return inner;
    }
    if (at(TokenKind::kIdentifier)) return property_predicate();
    if (is_constant(tok_.kind)) return constant_predicate();
    return expected("a condition after " + after(prev_));
  }

  /// Reads the constant at tok_.
  bool constant(Literal* lit) {
    lit->loc = Location{tok_.pos, tok_.raw.size()};
    switch (tok_.kind) {
      case TokenKind::kString:
        lit->kind = Literal::Kind::kString;
        lit->text = tok_.value;
        break;
      case TokenKind::kInteger:
        lit->kind = Literal::Kind::kInteger;
        lit->text = std::string(tok_.raw);
        lit->integer = tok_.integer;
        lit->uinteger = tok_.uinteger;
        lit->is_unsigned = tok_.is_unsigned;
        break;
      case TokenKind::kReal:
        lit->kind = Literal::Kind::kReal;
        lit->text = std::string(tok_.raw);
        lit->real = tok_.real;
        break;
      case TokenKind::kTrue:
      case TokenKind::kFalse:
        lit->kind = Literal::Kind::kBoolean;
        lit->text = std::string(tok_.raw);
        lit->boolean = at(TokenKind::kTrue);
        break;
      default:
        lit->kind = Literal::Kind::kNull;
        lit->text = std::string(tok_.raw);
        break;
    }
    if (!advance()) return false;
    // "a = 4 * 2", "a = 4 -2": the constant is followed by what can only be arithmetic.
    if (at(TokenKind::kStar) || is_signed_number(tok_)) {
      return fail(tok_.pos,
                  "unexpected " + tok_.describe() + " after a constant (WQL has no arithmetic)");
    }
    return true;
  }

  static ExprPtr predicate(Expr::Kind kind, PropertyRef prop) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->prop = std::move(prop);
    return e;
  }

  /// prop relop constant | prop [NOT] LIKE string | prop IS [NOT] NULL | prop ISNOT NULL |
  /// prop ISA string.
  ExprPtr property_predicate() {
    const size_t start = tok_.pos;
    PropertyRef prop;
    if (!property(&prop)) return nullptr;
    ExprPtr e;
    if (tok_.is_comparison()) {
      const std::string op(tok_.raw);
      e = predicate(Expr::Kind::kCompare, std::move(prop));
      e->op = compare_op(tok_.kind);
      if (!advance()) return nullptr;
      if (at(TokenKind::kIdentifier)) {
        return fail(tok_.pos, "property names cannot appear on both sides of '" + op + "'");
      }
      if (at(TokenKind::kLParen)) {
        return fail(tok_.pos,
                    "expected a constant after '" + op + "' but found '(' (WQL has no arithmetic)");
      }
      if (!is_constant(tok_.kind)) return expected("a constant after '" + op + "'");
      if (!constant(&e->literal)) return nullptr;
    } else if (at(TokenKind::kLike) || at(TokenKind::kNot)) {
      const bool negated = at(TokenKind::kNot);
      if (!advance()) return nullptr;
      if (negated) {
        if (!at(TokenKind::kLike)) return expected("LIKE after NOT");
        if (!advance()) return nullptr;
      }
      if (!at(TokenKind::kString)) return expected("a string pattern after LIKE");
      e = predicate(Expr::Kind::kLike, std::move(prop));
      e->negated = negated;
      if (!constant(&e->literal)) return nullptr;
    } else if (at(TokenKind::kIs) || at(TokenKind::kIsNot)) {
      std::string words(keyword_name(tok_.kind));
      bool negated = at(TokenKind::kIsNot);
      if (!advance()) return nullptr;
      if (!negated && at(TokenKind::kNot)) {
        negated = true;
        words = "IS NOT";
        if (!advance()) return nullptr;
      }
      if (!at(TokenKind::kNull)) {
        return fail(tok_.pos, "expected NULL after " + words + " but found " + tok_.describe() +
                                  " (" + words + " takes only NULL)");
      }
      if (!advance()) return nullptr;
      e = predicate(Expr::Kind::kIsNull, std::move(prop));
      e->negated = negated;
    } else if (at(TokenKind::kIsa)) {
      if (!advance()) return nullptr;
      if (!at(TokenKind::kString)) return expected("a class name in quotes after ISA");
      e = predicate(Expr::Kind::kIsa, std::move(prop));
      if (!constant(&e->literal)) return nullptr;
    } else {
      return expected("an operator after " + quote_excerpt(prop.text()));
    }
    e->loc = span(start);
    return e;
  }

  /// constant relop prop, normalised to prop relop' constant.
  ExprPtr constant_predicate() {
    const size_t start = tok_.pos;
    const std::string shown = tok_.describe();
    Literal lit;
    if (!constant(&lit)) return nullptr;
    if (!tok_.is_comparison()) return expected("a comparison operator after " + shown);
    const std::string op(tok_.raw);
    const CompareOp cmp = compare_op(tok_.kind);
    if (!advance()) return nullptr;
    if (is_constant(tok_.kind)) {
      return fail(tok_.pos, "expected a property name after '" + op + "' but found " +
                                tok_.describe() + " (one side of a comparison must be a property)");
    }
    if (!at(TokenKind::kIdentifier)) return expected("a property name after '" + op + "'");
    PropertyRef prop;
    if (!property(&prop)) return nullptr;
    ExprPtr e = predicate(Expr::Kind::kCompare, std::move(prop));
    e->op = mirror(cmp);
    e->literal = std::move(lit);
    e->loc = span(start);
    return e;
  }

  std::string_view s_;
  Lexer lex_;
  Token tok_;
  Token prev_;
  std::optional<Error> err_;
  size_t depth_ = 0;
  size_t operators_ = 0;
};

}  // namespace

Result<Query> parse(std::string_view text) {
  return Parser(text).run();
}

Result<void> check_language(std::string_view language) {
  if (base::iequals(language, "WQL")) return {};
  return Result<void>(WbemStatus::kInvalidQueryType,
                      "query language " + quote_excerpt(language) + " is not supported: use WQL");
}

}  // namespace lwmi::wql
