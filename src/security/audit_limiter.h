// security/audit_limiter.h — a limit on identical audit lines per caller, so that one caller
// cannot flood the journal or the audit file with the same refusal, and nothing is lost.
//
// Two lines are identical when everything but their time and peer is the same: the caller's
// uid, name, mode, privileges and pid namespace, the action, result, params, detail and target
// (the peer is left out so that a flood over many connections or processes is one). Of identical
// lines, the first kBurst of a kWindow are written; the rest are counted, and when the window
// ends one summary line is written: the same record with `repeated=N` (N lines not written
// since). A window's summary is written by the next record() or flush() after it ends, or when
// the table is full and the oldest window makes room: counted lines are never dropped silently.
// At most kMaxKeys windows are open; a summary keeps the first kMaxSampleField bytes of params
// and detail (the first line of the window was written whole).
// Thread safety: none; AuditLog serialises the calls.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "security/audit.h"

namespace lwmi::security {

class AuditRepeatLimiter {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  static constexpr size_t kBurst = 5;
  static constexpr std::chrono::seconds kWindow{10};
  static constexpr size_t kMaxKeys = 4096;
  static constexpr size_t kMaxSampleField = 1024;

  struct Summary {
    Caller caller;
    AuditRecord record;  ///< record.repeated > 0
  };

  /// True when the line is to be written; false when it is counted for a later summary.
  /// Summaries now due (windows ended, or closed to make room) are appended to `due`.
  bool admit(const Caller& caller, const AuditRecord& record, TimePoint now,
             std::vector<Summary>* due);
  /// The summaries of windows ended by `now`.
  std::vector<Summary> flush(TimePoint now);
  /// Every pending summary (at exit).
  std::vector<Summary> flush_all();
  /// Lines counted and not written since the start (each is in a summary written or pending).
  uint64_t suppressed() const { return suppressed_; }
  size_t open_windows() const { return windows_.size(); }

 private:
  struct Window {
    TimePoint end;
    size_t written = 0;
    uint64_t counted = 0;
    Caller caller;
    AuditRecord sample;
  };
  void close_front(std::vector<Summary>* out);

  std::unordered_map<std::string, Window> windows_;      // by SHA-256 of the line's identity
  std::deque<std::pair<TimePoint, std::string>> order_;  // windows by end (all equally long)
  uint64_t suppressed_ = 0;
};

}  // namespace lwmi::security
