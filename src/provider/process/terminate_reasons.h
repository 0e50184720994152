// provider/process/terminate_reasons.h — the Reason each Terminate gave, until the exit is seen.
//
// Linux cannot set another process's exit code, so the Reason of Win32_Process.Terminate
// reaches Win32_ProcessStopTrace.ExitStatus this way: Terminate records (pid, start time) ->
// Reason before it sends the signal, and the event engine reading the same ProcessProvider
// (lwmid's, or the embedded engine's) looks it up when that process's exit arrives. Entries are
// bounded in number and age, and kept until they expire so that every subscription can read them.
// Thread safety: safe to call concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "base/mutex.h"

namespace lwmi::provider::process {

class TerminateReasons {
 public:
  static constexpr size_t kMaxEntries = 65536;
  static constexpr std::chrono::seconds kMaxAge{120};

  /// Terminate is about to signal (pid, start ticks) with `reason`.
  void record(int32_t pid, uint64_t start_ticks, uint32_t reason);
  /// The signal could not be sent: forget it.
  void forget(int32_t pid, uint64_t start_ticks);
  /// The Reason given for (pid, start ticks), if lwmi's Terminate ended it. start_ticks 0 (the
  /// process vanished before its start time was read): the newest entry for the pid.
  std::optional<uint32_t> lookup(int32_t pid, uint64_t start_ticks);

 private:
  using Clock = std::chrono::steady_clock;
  static uint64_t key(int32_t pid, uint64_t start) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(pid)) << 40) ^ start;
  }
  void expire(Clock::time_point now) REQUIRES(mu_);

  base::Mutex mu_;
  struct Entry {
    int32_t pid;
    uint64_t start;
    uint32_t reason;
  };
  std::unordered_map<uint64_t, Entry> entries_ GUARDED_BY(mu_);
  std::deque<std::pair<Clock::time_point, uint64_t>> order_ GUARDED_BY(mu_);
};

}  // namespace lwmi::provider::process
