// permanent/template.h — WMI's standard string templates: "%TargetInstance.Name% started" with
// each %Property% (a dotted path into the event, e.g. %TargetInstance.ProcessId%, %__CLASS%,
// %TIME_CREATED%) replaced by its value; %% is a literal %. A NULL or absent property gives "".
//
// A value can never change the shape of what it is put into: in a command line, the template is
// split into arguments first (Windows' rules: blanks, double quotes, backslashes before a quote)
// and each value stays inside its argument; in a log line or journal message, control characters
// (newlines, ESC …) in a value are escaped (\n, \x1b) so one event is one line.
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lwmi/instance.h"
#include "lwmi/result.h"

namespace lwmi::permanent {

/// Checks a template: every % opens a reference closed on the same template, names are
/// [A-Za-z_][A-Za-z0-9_]* joined by dots. WBEM_E_INVALID_PARAMETER with Error::position the
/// offset of the unclosed % or of the bad character.
Result<void> check_template(std::string_view tmpl);

/// The template with each reference replaced; in values, backslash and every control character
/// (C0, DEL, C1, U+2028/U+2029) escaped as \\, \n, \r, \t or \xHH per byte.
Result<std::string> expand_line(std::string_view tmpl, const Instance& event);

/// The command line's arguments, split before expansion, each expanded (values verbatim; a
/// reference whose value is empty leaves an empty argument). The template holds the arguments
/// only: the program's argv[0] is its ExecutablePath, which the caller puts first; an empty
/// template gives no argument.
Result<std::vector<std::string>> expand_arguments(std::string_view tmpl, const Instance& event);

}  // namespace lwmi::permanent
