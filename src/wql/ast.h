// wql/ast.h — the syntax tree of a WQL statement, as the parser produces it.
//
// Data queries:  SELECT * | prop[, prop…] FROM Class [WHERE cond]
// Event queries: SELECT … FROM EventClass [WITHIN s] [WHERE cond]
//                [GROUP WITHIN s [BY prop[, prop…]] [HAVING NumberOfEvents relop n]]
// Association queries (ASSOCIATORS OF {path} / REFERENCES OF {path}) parse to their kind only.
// A comparison keeps the property on the left: "5 < ProcessId" becomes "ProcessId > 5".
// Thread safety: plain data.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lwmi/value.h"

namespace lwmi::wql {

/// Where a node came from in the query text (byte offset and length).
struct Location {
  size_t offset = 0;
  size_t length = 0;
};

/// A property name, possibly dotted into embedded objects ("TargetInstance.Name").
struct PropertyRef {
  std::vector<std::string> path;  ///< as written (case preserved)
  Location loc;
  std::string text() const;  ///< path joined with '.'
};

/// A constant as written.
struct Literal {
  enum class Kind { kString, kInteger, kReal, kBoolean, kNull };
  Kind kind = Kind::kNull;
  std::string text;       ///< string: the unescaped content; numbers: the digits as written
  int64_t integer = 0;    ///< kInteger (see is_unsigned for values above INT64_MAX)
  uint64_t uinteger = 0;  ///< kInteger when is_unsigned
  bool is_unsigned = false;
  double real = 0;       ///< kReal
  bool boolean = false;  ///< kBoolean
  Location loc;
};

enum class CompareOp { kEq, kNe, kLt, kGt, kLe, kGe };
/// The operator as WQL writes it: "=", "<>", "<"…
const char* op_text(CompareOp op);

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    kAnd,      ///< left AND right
    kOr,       ///< left OR right
    kNot,      ///< NOT left
    kCompare,  ///< prop op literal
    kLike,     ///< prop [NOT] LIKE literal (a string pattern)
    kIsNull,   ///< prop IS [NOT] NULL
    kIsa,      ///< prop ISA literal (a class name)
  };
  Kind kind = Kind::kAnd;
  ExprPtr left;
  ExprPtr right;
  PropertyRef prop;
  CompareOp op = CompareOp::kEq;
  Literal literal;
  bool negated = false;  ///< NOT LIKE, IS NOT NULL
  Location loc;          ///< the whole predicate or operator
};

struct SelectQuery {
  bool select_all = false;
  std::vector<PropertyRef> properties;  ///< when !select_all
  std::string class_name;
  Location class_loc;
  ExprPtr where;  ///< nullptr without WHERE
  // Event queries.
  std::optional<double> within;  ///< seconds
  Location within_loc;
  std::optional<double> group_within;
  std::vector<PropertyRef> group_by;
  std::optional<CompareOp> having_op;  ///< HAVING NumberOfEvents op having_value
  uint32_t having_value = 0;
  Location group_loc;
};

struct Query {
  enum class Kind { kSelect, kAssociators, kReferences };
  Kind kind = Kind::kSelect;
  SelectQuery select;       ///< kSelect
  std::string object_path;  ///< kAssociators / kReferences: the text inside { }
  Location loc;             ///< the whole statement
};

}  // namespace lwmi::wql
