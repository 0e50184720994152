// cli/options.h — lwmic's command line: the global options every verb shares, each verb's own
// arguments, and the one parse that reads them (wmic's /switches included) into an Invocation.
// The verbs themselves are in cli/verbs.h; the table that names each verb with its options and
// its run_<verb> is in options.cc, the one place a verb is declared.
// Thread safety: parse_command_line is called once, before any thread starts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "cli/output.h"
#include "cli/subscription_command.h"

namespace lwmi::cli {

struct GlobalOptions {
  std::string format = "table";
  bool format_given = false;    ///< --format (or /format:) was given: it wins over a verb's own
  std::string command_line;     ///< as typed (xml's COMMANDLINE)
  std::string sort;             ///< --sort Prop[:asc|:desc][,…]
  std::optional<size_t> first;  ///< --first N: at most N results
  double every = 0;             ///< --every SECONDS (wmic's /every:N): a listing again and again
  size_t repeat = 0;  ///< --repeat N (wmic's /repeat:N): with --every, N times (0: until Ctrl-C)
  std::string node;   ///< --node as given
  std::vector<std::string> nodes;  ///< the hosts of a list or @FILE (empty: the one host `node`)
  std::string user;
  std::string password;
  std::string password_file;
  std::string ca;
  std::string socket;
  std::string config;
  std::string namespace_path;  ///< --namespace; "" = wherever the class named is
  bool embedded = false;
  bool dry_run = false;
  bool system_properties = false;
  std::vector<std::string> privileges;  ///< --enable-privilege: each by name
  /// wmic's /privileges:enable|disable: every privilege held enabled, or only those named.
  /// Unset: enable for the wmic-style alias form (process, path), as wmic does; the generic
  /// verbs enable only what --enable-privilege names.
  std::optional<bool> enable_held;
  double connect_timeout = 10;  ///< seconds; 0 = no limit
  double timeout = 60;          ///< seconds per request; 0 = no limit
  size_t throttle = 256;        ///< hosts at once

  /// Several hosts (--node h1,h2 or @FILE): each result is tagged with its host.
  bool many() const { return !nodes.empty(); }
  /// The output options the format and flags ask for.
  OutputOptions output() const;
  /// The output options for a verb whose results read best as `preferred` (a method's
  /// out-parameters as a list): the same as output(), unless --format was given.
  OutputOptions output(Format preferred) const;
};

/// What each verb was given (only the fields of the verb parsed are meaningful).
struct VerbArgs {
  std::string path;    ///< get, call, delete: an object path (or a SELECT for call/delete)
  std::string cls;     ///< list, create: a class name
  std::string props;   ///< get, list --properties
  std::string method;  ///< call
  std::vector<std::string> params;  ///< call: in-parameters; create: properties
  std::string filter;               ///< list --filter
  std::string wql;                  ///< query, watch
  std::vector<std::string> words;   ///< process / path: the alias words
  // watch
  bool terminate = false;
  uint32_t reason = 0;
  bool no_guard = false;
  bool guard_own_session = false;
  size_t count = 0;
  double seconds = 0;
  bool stats = false;
  // subscription
  SubscriptionArgs sub;
  std::string sub_terminate;
  bool sub_journal_given = false;
};

struct Invocation;
using VerbRun = int (*)(const Invocation&);

/// A parsed command line.
struct Invocation {
  GlobalOptions g;
  std::string verb;  ///< its canonical (lower-case) name
  VerbArgs a;
  VerbRun run = nullptr;
};

/// Reads the command line (without the program name): wmic switches are translated (with a
/// note for the ones that mean nothing here), --output/--append redirect stdout, the password
/// comes from --password, --password-file, LWMI_PASSWORD (only with --user) or the terminal.
/// Returns the exit status instead when lwmic is done (help, version, a usage error, said).
std::variant<Invocation, int> parse_command_line(const std::vector<std::string>& args);

}  // namespace lwmi::cli
