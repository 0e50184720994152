// wql/compiler.h — binds a parsed data query to a class and evaluates its WHERE clause.
//
// compile() resolves names (case-insensitively) against the class queried, checks each
// operator against the property's type (WBEM_E_INVALID_OPERATOR), converts constants to the
// property's type ('1234' for a uint32 works; 'abc' does not), and finds the pushdown hints: the
// properties the SELECT list needs and a pid pinned by Handle / ProcessId equality.
// evaluate() uses SQL's three-valued logic; a row matches only when its WHERE is TRUE. Strings
// compare without regard to case; DATETIME values compare after normalising to UTC.
// Thread safety: a CompiledQuery is immutable; evaluate() may run on many threads.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "lwmi/class_decl.h"
#include "lwmi/datetime.h"
#include "lwmi/result.h"
#include "wql/ast.h"
#include "wql/like.h"

namespace lwmi::wql {

/// The index evaluate() passes for __CLASS.
inline constexpr size_t kClassProperty = static_cast<size_t>(-2);

/// Reads one property of the row being tested, by index into the concrete class.
using PropertyReader = std::function<Value(size_t index)>;

enum class Truth { kFalse, kTrue, kUnknown };

struct Condition {
  Expr::Kind kind = Expr::Kind::kAnd;
  std::unique_ptr<Condition> left, right;
  size_t property = 0;
  CimType type = CimType::kString;
  CompareOp op = CompareOp::kEq;
  Value constant;                ///< converted to the property's type (text for strings)
  std::optional<DateTime> when;  ///< datetime constants
  std::optional<LikePattern> like;
  bool negated = false;
};

struct CompiledQuery {
  std::shared_ptr<const ClassDecl> queried;   ///< the class named in FROM
  std::shared_ptr<const ClassDecl> concrete;  ///< the class whose rows are read
  bool select_all = true;
  std::vector<std::string> select;   ///< property names (concrete spelling), in order
  std::unique_ptr<Condition> where;  ///< nullptr: every row
  /// A pid the WHERE pins with Handle = 'N' / ProcessId = N (alone or ANDed); 0 matches none.
  std::optional<uint32_t> only_pid;
};

/// Binds `query` (a SELECT data query) to `queried`, reading rows of `concrete` (the same class
/// or a subclass). Errors carry the position of the offending name or constant.
Result<CompiledQuery> compile(const Query& query, std::shared_ptr<const ClassDecl> queried,
                              std::shared_ptr<const ClassDecl> concrete);

Truth evaluate(const Condition& c, const PropertyReader& read);
/// True when the query has no WHERE or it evaluates to TRUE.
bool matches(const CompiledQuery& q, const PropertyReader& read);

}  // namespace lwmi::wql
