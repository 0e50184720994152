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
/// each child as command_user, in its own session, stdin the event JSON, stdout/stderr to
/// /dev/null (or the journal), killed (its process group) after its timeout. Owns a reaper thread;
/// the destructor kills what still runs and reports each as failed.
class CommandRunner;
std::shared_ptr<CommandRunner> make_command_runner(const ConsumerSettings& settings);

/// Checks a consumer's definition against the settings: a command's ExecutablePath absolute and an
/// executable regular file, its template well-formed; a log file's Filename absolute, under
/// log_directory, with no symlink, '..' or non-directory on the way, and not itself a link; a
/// template whose %…% is not closed. WBEM_E_INVALID_PARAMETER naming the property.
Result<void> check_consumer(const Consumer& consumer, const ConsumerSettings& settings);

/// The action of a CommandLineEventConsumer, LogFileEventConsumer or LWMI_JournalEventConsumer
/// (WBEM_E_INVALID_PARAMETER for a terminate consumer: the engine makes those).
Result<std::unique_ptr<ConsumerAction>> make_action(const Consumer& consumer,
                                                    const ConsumerSettings& settings,
                                                    std::shared_ptr<CommandRunner> runner);

}  // namespace lwmi::permanent
