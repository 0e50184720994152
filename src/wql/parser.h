// wql/parser.h — a hand-written lexer and recursive-descent parser for WQL.
//
// Errors: WBEM_E_INVALID_QUERY (0x80041017) with the position of the offending token and a
// message naming what was expected and what was found ("expected FROM after the property list
// but found 'FORM'"); limits (query text over 64 KiB, more than 1024 AND/OR operators, nesting
// deeper than 128) WBEM_E_QUOTA_VIOLATION; a class name over 255 characters
// WBEM_E_CLASS_NAME_TOO_WIDE; a property name over 255 characters WBEM_E_PROPERTY_NAME_TOO_WIDE.
// Keywords, class and property names are case-insensitive.
// Thread safety: pure function.
#pragma once

#include <string_view>

#include "lwmi/result.h"
#include "wql/ast.h"

namespace lwmi::wql {

inline constexpr size_t kMaxQueryLength = 64 * 1024;
inline constexpr size_t kMaxBooleanOperators = 1024;
inline constexpr size_t kMaxDepth = 128;
inline constexpr size_t kMaxNameLength = 255;

/// Parses one WQL statement.
Result<Query> parse(std::string_view text);

/// Checks the query language name: "WQL" (case-insensitive) or WBEM_E_INVALID_QUERY_TYPE.
Result<void> check_language(std::string_view language);

}  // namespace lwmi::wql
