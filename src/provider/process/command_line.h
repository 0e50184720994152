// provider/process/command_line.h — Windows command-line parsing (CommandLineToArgvW's rules),
// used by Win32_Process.Create: no shell is involved.
// Thread safety: pure function.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lwmi::provider::process {

/// Splits a command line as CommandLineToArgvW does: whitespace separates arguments outside
/// double quotes; 2n backslashes + '"' give n backslashes and toggle quoting; 2n+1 backslashes
/// + '"' give n backslashes and a literal '"'; other backslashes are literal; inside quotes
/// '""' is a literal '"'. argv[0] takes no backslash escapes (quotes only delimit it).
/// nullopt for an empty (or all-whitespace) command line or an unterminated quote.
std::optional<std::vector<std::string>> parse_windows_command_line(std::string_view text);

}  // namespace lwmi::provider::process
