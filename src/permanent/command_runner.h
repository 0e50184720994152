// permanent/command_runner.h — the CommandRunner behind make_command_runner (consumers.h): a
// bounded queue of commands and one reaper thread that starts them, feeds each its stdin,
// kills the ones past their time and reports every exit.
// Thread safety: run() may be called from any thread; done callbacks run on the reaper thread
// (or on the caller's, for a refusal), never with the runner's lock held. The last reference to
// a runner must not be dropped inside a done callback (its destructor joins the reaper thread).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/mutex.h"
#include "os/descriptors.h"
#include "permanent/consumers.h"

namespace lwmi::permanent {

class CommandRunner {
 public:
  /// One command: argv[0] the executable's absolute path (never looked up, never a shell).
  struct Job {
    std::vector<std::string> argv;
    std::string directory;      ///< "" = "/"
    std::string input;          ///< written to its stdin, then stdin is closed
    uint32_t kill_timeout = 0;  ///< the consumer's KillTimeout (0: command_timeout)
    Delivered done;
  };

  explicit CommandRunner(const ConsumerSettings& settings);
  /// Kills every running command (its process group) and fails every queued one.
  ~CommandRunner();
  CommandRunner(const CommandRunner&) = delete;
  CommandRunner& operator=(const CommandRunner&) = delete;

  /// Queues `job`; refused at once (done with WBEM_E_QUOTA_VIOLATION) when
  /// max_concurrent_commands run and max_queued_commands wait.
  void run(Job job);

  /// The seconds a command may run: min(KillTimeout, command_timeout), command_timeout for 0
  /// (0 for both: no limit).
  static uint32_t timeout_of(uint32_t kill_timeout, uint32_t command_timeout);

 private:
  struct Child;
  void reap_loop();
  void start(Job job, std::vector<Child>* running,
             std::vector<std::pair<Delivered, Result<void>>>* out);
  void wake();

  const ConsumerSettings settings_;
  os::Fd wake_fd_;  // an eventfd: run() and the destructor wake the reaper
  base::Mutex mu_;
  std::deque<Job> queue_ GUARDED_BY(mu_);
  uint32_t active_ GUARDED_BY(mu_) = 0;  // started and not yet reported
  bool stopping_ GUARDED_BY(mu_) = false;
  std::thread reaper_;
};

}  // namespace lwmi::permanent
