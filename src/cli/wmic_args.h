// cli/wmic_args.h — accepts wmic's global switches (/format:csv, /node:h, /user:u, /password:p)
// as aliases of lwmic's options, and splits comma-separated property lists.
// Thread safety: pure functions.
#pragma once

#include <string>
#include <vector>

namespace lwmi::cli {

/// Rewrites wmic-style switches into lwmic options (/format:, /node:, /user:, /password:,
/// /namespace:, /value, /output:, /append:, /privileges:); every other argument is kept as it is
/// (an object path such as //host/root/cimv2:… is not a switch). wmic's switches that mean nothing
/// here
/// (/interactive, /failfast, /locale, /trace, /role, /authlevel, /impersonation, /aggregate,
/// /record) are accepted and dropped, each with a line for `notes`.
std::vector<std::string> translate_wmic_switches(const std::vector<std::string>& args,
                                                 std::vector<std::string>* notes = nullptr);

/// "Name, ProcessId,,x" -> {"Name","ProcessId","x"}.
std::vector<std::string> split_list(const std::string& text);

/// wmic's method arguments as lwmic receives them. `process call create "sleep 100","/tmp"` reaches
/// lwmic (through a shell) as the one word `sleep 100,/tmp`: a word that is not Name=Value and
/// holds a comma outside double quotes is wmic's positional list, split at those commas, each
/// element's enclosing double quotes removed ('"a,b","/tmp"' keeps its comma). Other words are
/// kept as they are.
std::vector<std::string> split_wmic_arguments(const std::vector<std::string>& args);

/// The properties a get or --properties names, from comma-separated words; `*` (alone or in the
/// list) means every property, as in wmic's `get *`: the result is then empty.
std::vector<std::string> property_list(const std::vector<std::string>& words);

}  // namespace lwmi::cli
