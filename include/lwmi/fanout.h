// lwmi/fanout.h — one operation on many hosts at once.
//
//   auto nodes = lwmi::parse_host_list("web1,web2,@more-hosts.txt");
//   lwmi::FanoutOptions o;  o.connect.user = "alice";  o.connect.password = pw;
//   o.connect.connect_timeout_ms = 5000;  o.throttle = 256;
//   auto summary = lwmi::run_fanout(*nodes, o,
//       [](lwmi::HostContext& h) -> lwmi::Result<void> {       // on a worker, once per host
//         auto s = h.services().exec_query("SELECT * FROM Win32_Process WHERE Name='x'");
//         if (!s.ok()) return s.take_error();
//         lwmi::Instance i;
//         while ((*s)->next(&i)) h.emit(std::move(i));          // tagged with the host
//         if ((*s)->error()) return *(*s)->error();
//         return {};
//       },
//       {.on_instance = ..., .on_host = ...});                   // as results arrive
//
// Each host gets its own connection (the credentials and trust settings of `connect` shared by
// all, each host's certificate pinned or verified on its own), at most `throttle` at a time.
// A host that fails — unreachable, refusing the credentials or a changed certificate, timing
// out, or answering with a WBEM error — is reported and the others go on.
// Thread safety: run_fanout blocks until every host is done; the callbacks are called one at a
// time (never concurrently), from worker threads, as results arrive.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lwmi/instance.h"
#include "lwmi/result.h"
#include "lwmi/services.h"

namespace lwmi {

/// Parses the hosts of a --node value: a comma-separated list of nodes (host, host:port, URL),
/// where an item "@FILE" stands for the hosts of FILE (see parse_host_file). Errors name the
/// item or FILE:LINE; a host listed twice is an error naming both places.
Result<std::vector<std::string>> parse_host_list(std::string_view arg);

/// The hosts of a host file's text: one node a line, blank lines and '#' comments (a line's
/// rest from a '#' at its start or after a blank) ignored. `file_name` is used in errors.
Result<std::vector<std::string>> parse_host_file(std::string_view text, std::string_view file_name);

/// What happened to one host, mildest first.
enum class HostOutcome {
  kOk,            ///< done; every method returned 0
  kMethodFailed,  ///< done; some method returned a non-zero ReturnValue
  kFailed,        ///< the host answered with a WBEM error
  /// connected, but no answer in time: the TLS handshake within the connect timeout (e.g. a
  /// stopped daemon, whose kernel still accepts), or a request within the operation timeout
  kTimedOut,
  kUnreachable,  ///< no connection: refused port, no route, TCP connect timeout, TLS failure
  kRefused,      ///< the host refused the credentials, or its certificate changed / is untrusted
};

/// "ok", "method failed", "failed", "timed out", "unreachable", "refused".
const char* outcome_name(HostOutcome outcome);

/// The outcome an error from connecting to or calling a host stands for, by its ErrorKind
/// (never by its message, which may be reworded).
HostOutcome classify(const Error& error);

/// Per host: what the operation did, counted by the operation through HostContext.
struct HostTally {
  size_t instances = 0;      ///< results emitted
  size_t calls = 0;          ///< methods called
  size_t returned_zero = 0;  ///< … that returned 0 (for Terminate: processes ended)
  size_t returned_nonzero = 0;
  size_t gone = 0;  ///< targets gone before the call
};

/// The end of one host's work.
struct HostReport {
  std::string node;  ///< as listed
  size_t index = 0;  ///< its place in the list
  HostOutcome outcome = HostOutcome::kOk;
  std::optional<Error> error;      ///< the error behind a failed outcome
  std::vector<std::string> notes;  ///< e.g. the certificate recorded on first use
  HostTally tally;
  double seconds = 0;  ///< from the start of its connection to its end
};

/// What a host's operation sees: its connection, and a way to report results.
class HostContext {
 public:
  virtual ~HostContext() = default;
  virtual const std::string& node() const = 0;
  virtual Services& services() = 0;
  /// Reports an instance (its __SERVER set to the node), delivered to on_instance.
  virtual void emit(Instance instance) = 0;
  /// Reports an error that did not stop the host's operation (e.g. one call of several failed).
  virtual void error(Error error) = 0;
  /// A note for the caller (delivered with the host's report).
  virtual void note(std::string text) = 0;
  HostTally tally;
};

/// The operation run on each host (on a worker thread). An Error ends the host's work.
using HostOperation = std::function<Result<void>(HostContext&)>;

struct FanoutCallbacks {
  /// An instance a host emitted, as it arrives.
  std::function<void(const std::string& node, const Instance&)> on_instance;
  /// A non-fatal error a host reported.
  std::function<void(const std::string& node, const Error&)> on_error;
  /// A host is done (done hosts so far, hosts in all).
  std::function<void(const HostReport&, size_t done, size_t total)> on_host;
};

struct FanoutOptions {
  ConnectOptions connect;  ///< credentials, trust, timeouts (`node` is each host's)
  size_t throttle = 256;   ///< hosts worked on at once (0 = 1)
  /// Privileges to enable on each connection (one the account does not hold is a note).
  std::vector<std::string> privileges;
  /// Enable every privilege the account holds (wmic's default, /privileges:enable).
  bool enable_held_privileges = false;
};

struct FanoutSummary {
  std::vector<HostReport> hosts;  ///< in list order
  size_t count(HostOutcome outcome) const;
  HostOutcome worst() const;  ///< the most severe outcome (kOk for no host)
  HostTally total() const;
};

/// Runs `op` on every node, `options.throttle` at a time; returns when all are done.
FanoutSummary run_fanout(const std::vector<std::string>& nodes, const FanoutOptions& options,
                         const HostOperation& op, const FanoutCallbacks& callbacks = {});

}  // namespace lwmi
