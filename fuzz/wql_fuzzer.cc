// wql_fuzzer.cc — libFuzzer target for wql::parse(). Any input must either parse into a tree
// whose locations lie inside the text, or fail with one of the documented codes, a position
// inside the text and a message that names that position ("invalid query at column N: …").
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "wql/parser.h"

namespace {

using lwmi::WbemStatus;
using lwmi::wql::Expr;
using lwmi::wql::Location;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

void check_loc(const Location& loc, size_t size) {
  check(loc.offset <= size && loc.length <= size - loc.offset);
}

void check_expr(const Expr* e, size_t size, size_t depth) {
  check(e != nullptr);
  check(depth <= 2 * (lwmi::wql::kMaxBooleanOperators + lwmi::wql::kMaxDepth) + 2);
  check_loc(e->loc, size);
  switch (e->kind) {
    case Expr::Kind::kAnd:
    case Expr::Kind::kOr:
      check_expr(e->left.get(), size, depth + 1);
      check_expr(e->right.get(), size, depth + 1);
      break;
    case Expr::Kind::kNot:
      check(e->right == nullptr);
      check_expr(e->left.get(), size, depth + 1);
      break;
    default:
      check(e->left == nullptr && e->right == nullptr);
      check(!e->prop.path.empty());
      check_loc(e->prop.loc, size);
      for (const auto& name : e->prop.path)
        check(!name.empty() && name.size() <= lwmi::wql::kMaxNameLength);
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = lwmi::wql::parse(text);
  if (!parsed.ok()) {
    const lwmi::Error& e = parsed.error();
    check(e.code == WbemStatus::kInvalidQuery || e.code == WbemStatus::kQuotaViolation ||
          e.code == WbemStatus::kClassNameTooWide || e.code == WbemStatus::kPropertyNameTooWide ||
          e.code == WbemStatus::kMissingGroupWithin);
    check(e.position.has_value() && *e.position <= size);
    if (size <= lwmi::wql::kMaxQueryLength) {
      std::string prefix = "invalid query at column " + std::to_string(*e.position + 1) + ": ";
      check(e.message.size() > prefix.size() && e.message.compare(0, prefix.size(), prefix) == 0);
    }
    return 0;
  }
  const lwmi::wql::Query& q = *parsed;
  check_loc(q.loc, size);
  if (q.kind != lwmi::wql::Query::Kind::kSelect) {
    check(!q.object_path.empty());
    return 0;
  }
  const auto& s = q.select;
  check(!s.class_name.empty() && s.class_name.size() <= lwmi::wql::kMaxNameLength);
  check_loc(s.class_loc, size);
  check(s.select_all != !s.properties.empty());
  if (s.where) check_expr(s.where.get(), size, 0);
  if (s.having_op) check(s.group_within.has_value());
  if (!s.group_by.empty()) check(s.group_within.has_value());
  return 0;
}
