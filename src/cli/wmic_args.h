// cli/wmic_args.h — accepts wmic's global switches (/format:csv, /node:h, /user:u, /password:p)
// as aliases of lwmic's options, and splits comma-separated property lists.
// Thread safety: pure functions.
#pragma once

#include <string>
#include <vector>

namespace lwmi::cli {

/// Rewrites wmic-style switches into lwmic options; every other argument is kept as it is
/// (an object path such as //host/root/cimv2:… is not a switch).
std::vector<std::string> translate_wmic_switches(const std::vector<std::string>& args);

/// "Name, ProcessId,,x" -> {"Name","ProcessId","x"}.
std::vector<std::string> split_list(const std::string& text);

/// The properties a get or --properties names, from comma-separated words; `*` (alone or in the
/// list) means every property, as in wmic's `get *`: the result is then empty.
std::vector<std::string> property_list(const std::vector<std::string>& words);

}  // namespace lwmi::cli
