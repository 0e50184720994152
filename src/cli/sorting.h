// cli/sorting.h — sort and limit on listings (PowerShell's Sort-Object and Select-Object -First).
//
// Syntax of a sort specification (lwmic's --sort): a comma-separated list of property names,
// each optionally followed by ":asc" or ":desc" (case-insensitive; ascending by default), the
// first the most significant:  --sort WorkingSetSize:desc   --sort Name,ProcessId:desc
// Values compare by their CIM type: integers and reals numerically, booleans FALSE before TRUE,
// DATETIME chronologically (after normalising to UTC; a value that cannot be compared as a time
// compares as text), strings, char16 and references as text without regard to case. NULL (and
// a property the instance lacks) sorts last in both directions. Equal instances keep the order
// they arrived in (the sort is stable).
// A limit N keeps the first N instances after sorting; without a sort the first N as they come,
// without buffering.
// Thread safety: a Formatter belongs to one thread.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/output.h"
#include "lwmi/class_decl.h"
#include "lwmi/result.h"

namespace lwmi::cli {

struct SortKey {
  std::string property;
  bool descending = false;
};

struct SortSpec {
  std::vector<SortKey> keys;    ///< empty: no sorting
  std::optional<size_t> limit;  ///< at most this many instances
};

/// Parses "Name[:asc|:desc][,Name[:asc|:desc]…]"; WBEM_E_INVALID_PARAMETER naming the part that
/// is wrong. The limit is not part of the text.
Result<std::vector<SortKey>> parse_sort_keys(std::string_view text);

/// Checks every sort key against `cls` (case-insensitive) and spells it as the schema does;
/// WBEM_E_INVALID_PROPERTY naming the property and the class. System properties (__PATH…)
/// are accepted. Call before running the query.
Result<void> validate_sort(SortSpec& spec, const ClassDecl& cls);

/// The properties the query must select so that sorting sees them: `properties` (what will be
/// shown) followed by each sort key not already among them. Empty `properties` (every
/// property) stays empty.
std::vector<std::string> with_sort_properties(const std::vector<std::string>& properties,
                                              const SortSpec& spec);

/// Orders `a` before `b` (true), after (false) by `keys`; ties are false both ways.
bool sorts_before(const Instance& a, const Instance& b, const std::vector<SortKey>& keys);

/// `inner` behind sorting and limiting by `spec`; `inner` itself when the spec does neither.
/// Sorting buffers the instances until end() (with a limit, at most about twice the limit).
std::unique_ptr<Formatter> make_sorting_formatter(std::unique_ptr<Formatter> inner, SortSpec spec);

}  // namespace lwmi::cli
