// cli/hosts.h — runs one verb's work on its hosts: the one host of --node (this host by
// default: lwmid, or the engine in this process), or each host of a list, at once. A verb is
// written once, as a HostOperation; this file decides how its results, notes and errors are
// shown for one host or for many:
//   - one host: on this thread; rows as they are (no Node column), notes and errors as
//     `lwmic: note|error: …` when they happen, the error that ends the work with a caret under
//     its place in the verb's input;
//   - many hosts: each on its own connection, `--throttle` at a time; rows tagged with their
//     host (a Node column), each host's notes and outcome when it is done, a progress line on a
//     terminal, and a summary counting hosts by outcome.
// Thread safety: run_on_hosts is called from the main thread; the operation runs on worker
// threads when there are many hosts (HostContext's calls are serialized by the fan-out).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/options.h"
#include "cli/sorting.h"
#include "lwmi/fanout.h"
#include "lwmi/services.h"

namespace lwmi::cli {

/// A verb's work and how it reads.
struct HostJob {
  HostOperation op;                  ///< run once per host
  std::vector<std::string> columns;  ///< the properties shown, in order (empty: every present)
  std::string input;  ///< the text (a query, a path) the ending error's position points into
  /// One host and the table format: show the one result as a list (a method's out-parameters).
  bool one_as_list = false;
  /// The format the results read best in when --format is not given (wmic's `list full`).
  std::optional<Format> format;
  /// Results stream as they come (events): the formats that wait for every result to size
  /// their columns (table, htable) become a list.
  bool streams = false;
  /// The results are the events of this query: table and list show each event's class, time
  /// and its TargetInstance's properties (cli/event_rows.h).
  std::string event_query;
  /// --sort and --first, checked by the verb. Only a listing takes them (and --every).
  SortSpec sort;
  bool listing = false;
  /// "No instance(s) available." when nothing was shown or called (as wmic says).
  bool say_when_empty = true;
  /// The verb's own words at the end, from the tally of every host ("" for none): one host, a
  /// whole line (`lwmic: …`); many hosts, words after the hosts' counts. One host says
  /// "No instance(s) available." instead when nothing was shown or called.
  std::function<std::string(const HostTally& total, bool many)> summary;
  /// Hosts at once for many hosts (0: --throttle). A watch holds each host for its whole life.
  size_t throttle = 0;
  /// Called with each row as it is shown (on one thread at a time).
  std::function<void(const Instance&)> on_row;
  /// Many hosts: called as each host is done (after its notes and outcome are shown).
  std::function<void(const HostReport&)> on_host_done;
};

/// Runs `job` on the invocation's hosts and returns lwmic's exit status.
int run_on_hosts(const GlobalOptions& g, const HostJob& job);

/// The connection to the one host of `g` (asks for the password first when a user is named
/// without one), with the privileges asked for enabled and the connection's notes said.
/// Errors are printed; nullptr then, with the exit status in `*status`.
std::unique_ptr<Services> open_one_host(GlobalOptions g, int* status);

/// Asks for the password of --user on the terminal when none was given (once, for every host).
void ask_password(GlobalOptions* g);

/// ConnectOptions for `g` (node left for the caller).
ConnectOptions connect_options(const GlobalOptions& g);

}  // namespace lwmi::cli
