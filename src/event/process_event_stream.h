// event/process_event_stream.h — process creation and deletion events from kernel events.
//
// Each process gets exactly one __InstanceCreationEvent, at its first exec (or, for a child
// that never execs, after a short settle time), and at most one __InstanceDeletionEvent when it
// exits, carrying the snapshot taken at its creation (at exit its files are gone). Processes that
// existed before the subscription are known from a /proc scan and get no creation event. Lost
// kernel events (overruns, sequence gaps) are answered by a rescan of /proc: creations and
// deletions found that way are delivered late, never dropped. Filters see the caller's masked
// view, as data queries do.
// Thread safety: one thread at a time.
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <unordered_map>

#include "event/event_query.h"
#include "lwmi/services.h"
#include "os/proc_events.h"
#include "provider/process/process_provider.h"

namespace lwmi::event {

class ProcessEventStream : public EventStream {
 public:
  ProcessEventStream(provider::process::ProcessProvider& provider, security::Caller caller,
                     EventQuery query, std::unique_ptr<os::ProcEventSource> source);
  /// Subscribes to the source, then learns the processes that already exist.
  Result<void> start();
  Result<bool> next(Instance* event, int timeout_ms) override;
  uint64_t lost() const override { return source_->lost() + source_->overruns(); }
  /// Processes that vanished before their properties could be read (their events carry NULLs).
  uint64_t uncaptured() const { return uncaptured_; }

  static constexpr int kSettleMs = 100;  ///< a child that never execs is created after this

 private:
  void handle(const os::ProcEvent& e);
  void created(int32_t tgid);
  void exited(int32_t tgid);
  void rescan();
  void settle(bool all);
  Instance make_event(const char* cls, const Instance& target) const;
  /// The instance as complete as it can still be read; a process already gone keeps only what
  /// the events told (Handle, ProcessId, ParentProcessId) and counts in uncaptured().
  std::optional<Instance> capture(int32_t tgid, provider::process::ProcessRow& row);

  provider::process::ProcessProvider& provider_;
  security::Caller caller_;
  EventQuery query_;
  std::unique_ptr<os::ProcEventSource> source_;
  // False when the row is outside the caller's pid namespace; else sets its view pid.
  bool in_view(provider::process::ProcessRow& row);
  provider::process::RowContext ctx_;
  std::optional<os::PidView> view_;  // a caller in a child pid namespace: only its processes
  std::unordered_map<int32_t, uint64_t> known_;     ///< tgid -> start ticks
  std::unordered_map<int32_t, Instance> snapshot_;  ///< for deletion events
  std::unordered_map<int32_t, std::chrono::steady_clock::time_point> forked_;
  std::unordered_map<int32_t, int32_t> parent_;  ///< from fork events, until exit
  uint64_t uncaptured_ = 0;
  std::deque<Instance> ready_;
  uint64_t losses_seen_ = 0;
};

/// Compiles the event query `wql` and opens a started stream of process events from the kernel's
/// process connector, filtered on `caller`'s masked view. Errors carry the query position.
Result<std::unique_ptr<EventStream>> open_process_events(
    provider::process::ProcessProvider& provider, const security::Caller& caller,
    std::string_view wql);

}  // namespace lwmi::event
