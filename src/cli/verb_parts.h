// cli/verb_parts.h — pieces several verbs share: a query's rows as a host's results, the
// columns a SELECT names, a method called on every result of a query, and wmic's alias words.
// Thread safety: the jobs' operations may run on several hosts at once; they share nothing
// but atomic counters.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/hosts.h"
#include "lwmi/method.h"

namespace lwmi::cli {

/// Emits every instance of `stream` on `h`; the stream's error ends the host's work.
Result<void> emit_all(HostContext& h, Result<std::unique_ptr<InstanceStream>> stream);

/// The properties a WQL SELECT names, in its order (empty for `*` or a query that does not
/// parse; system properties left out).
std::vector<std::string> select_columns(std::string_view wql);

/// --sort and --first for results of `cls` (checked against its schema when lwmi knows the
/// class); nullopt when they are wrong (said, with the exit status in `*status`).
std::optional<SortSpec> sort_spec(const GlobalOptions& g, std::string_view cls, int* status);

/// Shows every result of `wql` with `columns`.
HostJob show_job(const std::string& wql, std::vector<std::string> columns);

/// True when `wql` parses; else says why (with a caret), before any host is asked the same.
bool query_parses(std::string_view wql);

/// Shows `columns` of every instance of `cls` matching `where` (a WQL condition; "" for all),
/// sorted and limited as --sort and --first say, in `format` unless --format is given.
int run_show(const GlobalOptions& g, const std::string& cls, const std::string& where,
             std::vector<std::string> columns, std::optional<Format> format = std::nullopt);

/// Name=Value arguments as string values (converted by the service to the declared types); a
/// repeated name is an array. nullopt (the error said) for an argument without a name.
std::optional<Parameters> parse_assignments(const std::vector<std::string>& args);

/// A WQL SELECT given where a path is expected (call / delete on each result).
bool is_query_text(std::string_view s);

/// Calls Win32_Process's `method` with `args` (Name=Value, or wmic's positional list) on every
/// process `wql` finds, on each host: a row per target (Handle, Name, ReturnValue and the
/// out-parameters; with --dry-run the CommandLine and the expected outcome) and a summary.
/// Returns the exit status when the method or its arguments are wrong (said), else runs it.
int run_call_each(const Invocation& inv, const std::string& wql, const std::string& method,
                  const std::vector<std::string>& args);

/// wmic's alias form: [where COND] get PROPS | list [SET] | call METHOD [ARGS] | delete, on
/// `cls` (Win32_Process for `process`).
int run_alias(const Invocation& inv, const std::vector<std::string>& words, const std::string& cls);

}  // namespace lwmi::cli
