// cli/wmic_sets.h — wmic's `list SET` property sets (the FORMAT definitions of wmic's aliases).
//
// Every class has FULL (every property, as Name=Value blocks), INSTANCE (__PATH) and SYSTEM (the
// system properties). The PROCESS alias (Win32_Process) adds BRIEF, IO, MEMORY, STATISTICS and
// STATUS. Property names come in the order wmic shows them: alphabetical, case-insensitive.
// Set names and the alias or class are case-insensitive ("process", "PROCESS", "Win32_Process").
// Thread safety: pure functions over the built-in schema.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/output.h"

namespace lwmi::cli {

/// The properties of wmic's `list SET` for an alias or class; nullopt when the set (or the
/// class) is unknown: wmic_list_set_names() then says which sets there are.
std::optional<std::vector<std::string>> wmic_list_set(std::string_view alias_or_class,
                                                      std::string_view set);

/// The set names `list` accepts for an alias or class, lower-case, alphabetical ("brief, full,
/// instance, io, memory, statistics, status, system" for process); empty for an unknown class.
std::vector<std::string> wmic_list_set_names(std::string_view alias_or_class);

/// The format wmic shows a set in when no /format is given: FULL as Name=Value blocks (kList),
/// the others as a table.
Format wmic_list_format(std::string_view set);

}  // namespace lwmi::cli
