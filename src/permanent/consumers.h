// permanent/consumers.h — what a permanent subscription's consumer does with one event: run a
// command, append to a log file, write a journal entry. (Terminate, which needs the process
// provider and the exec guard, lives in the engine.)
//
// A consumer is checked when it is defined (check_consumer: refused then, with a precise error,
// never at its first event) and made into a ConsumerAction when its binding starts. deliver()
// reports each event's outcome once, maybe later (a command's exit); the engine counts failures
// and opens a breaker. Every descriptor is close-on-exec; a command gets descriptors 0-2 only.
// Thread safety: a ConsumerAction may be called from several threads; CommandRunner is shared.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "lwmi/instance.h"
#include "lwmi/result.h"
#include "permanent/model.h"

namespace lwmi::permanent {

/// [subscriptions] settings the consumers obey.
struct ConsumerSettings {
  /// LogFileEventConsumer.Filename must lie under this root-owned directory (no symlink on the
  /// way, the file itself never a link).
  std::string log_directory = "/var/log/lwmi";
  /// The account commands run as (never root); its uid/gid/groups are looked up at each run.
  std::string command_user = "nobody";
  uint32_t max_concurrent_commands = 4;  ///< commands running at once; more wait in a queue
  uint32_t max_queued_commands = 64;     ///< beyond this a command is refused (a failure)
  uint32_t command_timeout = 60;         ///< seconds: cap on KillTimeout (and the limit when 0)
};

/// One event's outcome: ok, or why the consumer failed (counted against it).
using Delivered = std::function<void(Result<void>)>;

class ConsumerAction {
 public:
  virtual ~ConsumerAction() = default;
  /// Acts on `event` (an __InstanceCreationEvent, a Win32_ProcessStartTrace …); `done` runs
  /// exactly once, before or after deliver() returns, without locks held.
  virtual void deliver(const Instance& event, Delivered done) = 0;
};

/// Runs consumer commands: at most max_concurrent_commands children, the rest queued (bounded);
/// each child as command_user (refused if root: the run fails), in its own session, in
/// WorkingDirectory (default /), with PATH and LANG only as environment, stdin the event JSON
/// (cim::instance_json), stdout/stderr /dev/null, killed (its process group) after its timeout;
/// what it leaves running in its process group is killed when it exits.
/// Outcomes: ok for exit status 0, else WBEM_E_FAILED with the status or signal,
/// WBEM_E_TIMED_OUT when killed at its time, WBEM_E_QUOTA_VIOLATION when the queue is full.
/// Owns a reaper thread; the destructor kills what still runs and reports each as failed.
class CommandRunner;
std::shared_ptr<CommandRunner> make_command_runner(const ConsumerSettings& settings);

/// Checks a consumer's definition against the settings: a command's ExecutablePath absolute and an
/// executable regular file, its template well-formed; a log file's Filename absolute, under
/// log_directory (itself root's and writable by no one else), with no symlink, '..' or
/// non-directory on the way (a directory not there yet is allowed), and not itself a link or
/// other non-regular file; a journal consumer's EventType one of WMI's (1, 2, 4, 8, 16); a
/// template whose %…% is not closed. WBEM_E_INVALID_PARAMETER naming the property (a template's
/// error keeps its Error::position).
Result<void> check_consumer(const Consumer& consumer, const ConsumerSettings& settings);

/// The action of a CommandLineEventConsumer, LogFileEventConsumer or LWMI_JournalEventConsumer
/// (WBEM_E_INVALID_PARAMETER for a terminate consumer: the engine makes those; and for a
/// command consumer without a runner). Runs check_consumer first. A log file's path is walked
/// again at each delivery, so a link planted after the check is not followed either.
Result<std::unique_ptr<ConsumerAction>> make_action(const Consumer& consumer,
                                                    const ConsumerSettings& settings,
                                                    std::shared_ptr<CommandRunner> runner);

}  // namespace lwmi::permanent
