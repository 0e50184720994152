// cli/stop_signals.h — SIGINT, SIGTERM and SIGHUP for a command that must clean up before it
// ends: a watch unsubscribes, so that an interrupted watch leaves no subscription behind.
//
// The signals are blocked in every thread and taken by a thread of their own (sigtimedwait),
// which runs the stop action; the command then ends as the signal would have ended it
// (end_as_received), so that a shell sees "killed by SIGINT" as before. A second signal, or one
// that comes while no action is set, ends the process at once. A signal the process was started
// with ignored (a background job's SIGINT, nohup's SIGHUP) stays ignored.
// Thread safety: on_stop() and received() from any thread; construct before any other thread
// starts (threads inherit the mask), destroy after they are joined.
#pragma once

#include <signal.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <thread>

#include "base/mutex.h"

namespace lwmi::cli {

class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  /// What the first signal does (runs on the signal thread; keep it short: set a flag, interrupt
  /// a wait). Once on_stop returns, a previous action no longer runs. Empty: none.
  void on_stop(std::function<void()> action);
  /// The signal taken so far (0: none).
  int received() const { return received_; }
  /// When a signal was taken: ends the process as that signal does by default. Else returns.
  void end_as_received();
  /// Ends the process as `sig` does by default (for SIGPIPE after a broken pipe was noticed).
  [[noreturn]] static void end_as(int sig);

 private:
  void run();

  sigset_t set_;
  sigset_t old_mask_;
  base::Mutex mu_;
  std::function<void()> action_ GUARDED_BY(mu_);
  std::atomic<int> received_{0};
  std::atomic<bool> closing_{false};
  std::thread thread_;
};

}  // namespace lwmi::cli
