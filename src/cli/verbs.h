// cli/verbs.h — lwmic's verbs, one run_<verb> each. Each builds its work on a host once (a
// HostOperation) and hands it to run_on_hosts (cli/hosts.h), which runs it on the one host or
// on each of many; verbs that only make sense on one host (create, subscription) say so.
// Returns lwmic's exit status (cli/exit_status.h).
// Thread safety: called once, from main.
#pragma once

#include <cstddef>

#include "cli/options.h"

namespace lwmi::cli {

int run_get(const Invocation& inv);           ///< get PATH [--properties a,b]
int run_list(const Invocation& inv);          ///< list CLASS [--filter COND] [--properties a,b]
int run_query(const Invocation& inv);         ///< query "SELECT …"
int run_call(const Invocation& inv);          ///< call PATH|"SELECT …" METHOD [params]
int run_delete(const Invocation& inv);        ///< delete PATH|"SELECT …"
int run_process(const Invocation& inv);       ///< process [where COND] get|list|call|delete …
int run_path(const Invocation& inv);          ///< path CLASS [where COND] get|list|call|delete …
int run_watch(const Invocation& inv);         ///< watch "SELECT … event query" | CLASS
int run_create(const Invocation& inv);        ///< create CLASS Name=Value…
int run_subscription(const Invocation& inv);  ///< subscription add|list|show|remove
int run_class(const Invocation& inv);         ///< class [NAME]: a class, or a namespace's

/// The width descriptions wrap at: the terminal's, else 100.
size_t terminal_width();

}  // namespace lwmi::cli
