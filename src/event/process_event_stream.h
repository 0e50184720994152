// event/process_event_stream.h — process events from kernel events and polling.
//
// Each process gets exactly one __InstanceCreationEvent (and Win32_ProcessStartTrace), at its
// first exec (or, for a child that never execs, after a short settle time), and at most one
// __InstanceDeletionEvent (and Win32_ProcessStopTrace) when it exits; the deletion carries the
// snapshot taken at its creation (at exit its files are gone). A later exec of a process gives
// an __InstanceModificationEvent and another Win32_ProcessStartTrace. Other modifications are
// found by polling every WITHIN seconds: a snapshot shared with the other polling subscriptions
// of this process (SharedSnapshots), compared on the properties the query selects and tests.
// Processes that existed before the subscription are known from a /proc scan and get no
// creation event. Lost kernel events (overruns, sequence gaps) are answered by a rescan of /proc:
// creations and deletions found that way are delivered late, never dropped, and counted.
// Filters see the caller's masked view, as data queries do. GROUP WITHIN folds the filtered
// events into __AggregateEvent instances.
// Thread safety: one thread at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <unordered_map>

#include "event/event_query.h"
#include "event/shared_snapshot.h"
#include "lwmi/services.h"
#include "os/proc_events.h"
#include "provider/event_source_provider.h"
#include "provider/process/process_provider.h"

namespace lwmi::event {

class ProcessEventStream : public EventStream {
 public:
  ProcessEventStream(provider::process::ProcessProvider& provider, security::Caller caller,
                     EventQuery query, std::unique_ptr<os::ProcEventSource> source);
  ~ProcessEventStream() override;
  /// Subscribes to the source, then learns the processes that already exist.
  Result<void> start();
  Result<bool> next(Instance* event, int timeout_ms) override;
  /// Wakes the source's read (os::ProcEventSource::wake) and makes next() return false.
  void interrupt() override;
  /// Kernel events lost, plus events whose filter ran past its budget (not delivered).
  uint64_t lost() const override {
    return source_->lost() + source_->overruns() + filter_overruns_.load();
  }
  std::optional<Instance> source_state() const override;
  /// Processes that vanished before their properties could be read (their events carry NULLs).
  uint64_t uncaptured() const { return uncaptured_; }
  /// Rescans of /proc made to answer a loss.
  uint64_t rescans() const { return rescans_; }
  /// Polls made for modification events, and how many of them reused another's snapshot.
  uint64_t polls() const { return polls_; }
  uint64_t shared_polls() const { return shared_polls_; }
  /// GROUP WITHIN … BY keeps at most this many groups (default kMaxGroups): a new group beyond
  /// them first delivers the oldest group's aggregate early (counted in groups_flushed_early()).
  static constexpr size_t kMaxGroups = 10000;
  void set_max_groups(size_t n) { max_groups_ = n ? n : 1; }
  /// A filter runs on the event engine's thread, for each event, with this budget (a LIKE over a
  /// 2 MB command line can take a second): an event whose filter runs past it is not delivered
  /// and is counted in lost() and filter_overruns(), so the subscriber is told, and one
  /// subscriber's filter cannot keep a core busy.
  static constexpr std::chrono::milliseconds kFilterBudget{100};
  void set_filter_budget(std::chrono::milliseconds b) { filter_budget_ = b; }
  uint64_t filter_overruns() const { return filter_overruns_.load(); }
  uint64_t groups_flushed_early() const { return groups_flushed_early_; }
  const char* source_name() const { return source_->name(); }
  /// This subscription's kernel rule (event/exec_guard.h), kept alive as long as the stream:
  /// a process its rule blocked is delivered as an LWMI_ProcessBlockedTrace (Rule = summary)
  /// instead of a creation event or start trace.
  void set_guard(std::shared_ptr<void> keepalive, uint32_t rule, std::string summary) {
    guard_ = std::move(keepalive);
    guard_rule_ = rule;
    guard_summary_ = std::move(summary);
  }
  uint32_t guard_rule() const { return guard_rule_; }
  void set_guard_status(GuardStatus s) { guard_status_ = std::move(s); }
  GuardStatus guard_status() const override { return guard_status_; }
  const EventQuery& query() const { return query_; }

  static constexpr int kSettleMs = 100;  ///< a child that never execs is created after this

 private:
  using Clock = std::chrono::steady_clock;
  /// What a stop trace needs once the process is gone.
  struct Known {
    uint64_t start = 0;
    int32_t view_pid = 0;  ///< its pid in the caller's view (0: not read; then the tgid)
    std::string name;
    uint32_t ppid = 0, session = 0;
    std::optional<uint32_t> uid;
    std::string creation_date;  ///< its CreationDate ("" when it could not be read)
    bool info = false;
    bool owned = false;  ///< read as the caller's own process (its exit status is the caller's)
  };

  void handle(const os::ProcEvent& e);
  /// The first exec (or the settle time, or a rescan) of tgid; `exited`: its exit event came
  /// first, so whatever runs under the pid now is another process. `event_ns`: the time of the
  /// exec or fork event (CLOCK_MONOTONIC; 0 for a rescan): a process under the pid that started
  /// later has reused it, and this one has ended.
  /// `exec`: false when settled (no exec): a process a rescan created already gets nothing.
  void created(int32_t tgid, bool exited = false, uint64_t event_ns = 0, bool exec = true);
  /// A later exec of a known, live process (`start` its start time): a modification and a
  /// start trace, not a creation.
  void execed_again(int32_t tgid, provider::process::ProcessRow& row, uint64_t start);
  /// True when a process that started at start_ticks (stat's clock ticks since boot) started
  /// after event_ns (CLOCK_MONOTONIC); false when either is unknown (0).
  bool started_after(uint64_t start_ticks, uint64_t event_ns);
  void exited(int32_t tgid, const os::ProcEvent* e);
  void rescan();
  void settle(bool all, bool idle);
  void poll();
  void flush_groups(bool all);
  /// Applies GROUP, counts, and queues.
  void deliver(Instance ev);
  Instance make_event(const char* cls, const Instance& target,
                      const Instance* previous = nullptr) const;
  Instance make_trace(const char* cls, int32_t tgid, const Known& k) const;
  /// The LWMI_ProcessBlockedTrace of a blocked process, from its captured instance.
  Instance make_blocked_trace(int32_t tgid, const Known& k, const Instance& target,
                              uint32_t rule) const;
  bool matches(const Instance& target, const Instance* previous) const;
  bool trace_matches(const Instance& ev) const;
  /// `read_row`: false when the pid now belongs to another process (only `inst` is used).
  void remember(int32_t tgid, provider::process::ProcessRow& row, const Instance& inst,
                bool read_row = true);
  void remember_into(Known* k, provider::process::ProcessRow& row, const Instance& inst,
                     bool read_row);
  /// An exec the guard blocked, reported from its kernel record as an LWMI_ProcessBlockedTrace
  /// to this stream's rule (kOurs: instead of its creation) or to a query on blocked traces.
  enum class Block { kNotReported, kReported, kOurs };
  Block report_block(const os::ProcEvent& e);
  /// The instance as complete as it can still be read: from /proc while the process runs, else
  /// from the kernel's record of it (also when it ended while /proc was being read); a process
  /// gone without a record keeps only what the events told (Handle, ProcessId,
  /// ParentProcessId) and counts in uncaptured().
  /// `reused`: the pid belongs to a later process (alive or a zombie): nothing is read.
  std::optional<Instance> capture(int32_t tgid, provider::process::ProcessRow& row,
                                  bool exited = false, bool reused = false);
  Instance project(const Instance& full) const;  ///< only the watched properties

  provider::process::ProcessProvider& provider_;
  security::Caller caller_;
  EventQuery query_;
  std::unique_ptr<os::ProcEventSource> source_;
  // False when the row is outside the caller's pid namespace; else sets its view pid.
  bool in_view(provider::process::ProcessRow& row);
  provider::process::RowContext ctx_;
  std::optional<os::PidView> view_;  // a caller in a child pid namespace: only its processes
  provider::EventSourceCounters* counters_ = nullptr;
  bool started_ = false;
  std::atomic<bool> interrupted_{false};
  std::unordered_map<int32_t, Known> known_;
  std::unordered_map<int32_t, Instance> snapshot_;  ///< for deletion events
  std::unordered_map<int32_t, uint64_t> forked_;    ///< tgid -> fork time (CLOCK_MONOTONIC ns)
  uint64_t latest_ns_ = 0;                          ///< the newest event timestamp read
  uint64_t boot_offset_ns_ = 0;                     ///< CLOCK_BOOTTIME - CLOCK_MONOTONIC
  std::unordered_map<int32_t, int32_t> parent_;     ///< from fork events, until exit
  /// What a kernel source recorded at each process's fork and latest exec, until its exit.
  std::unordered_map<int32_t, std::shared_ptr<const os::ProcessRecord>> records_;
  /// Processes the exec guard killed at exec (tgid -> rule), until their exit.
  std::unordered_map<int32_t, uint32_t> blocked_;
  std::shared_ptr<void> guard_;
  uint32_t guard_rule_ = 0;
  std::string guard_summary_;
  GuardStatus guard_status_;
  uint64_t uncaptured_ = 0, rescans_ = 0, polls_ = 0, shared_polls_ = 0;
  uint64_t received_ = 0;
  std::deque<Instance> ready_;
  uint64_t overruns_seen_ = 0, gaps_seen_ = 0;
  // Modification polling.
  SharedSnapshots::Registration registration_;
  std::chrono::milliseconds interval_{0};
  Clock::time_point next_poll_;
  std::unordered_map<int32_t, ProcessSnapshot::Row> baseline_;
  // GROUP WITHIN.
  struct Group {
    uint32_t count = 0;
    Instance representative;
    Clock::time_point due;
  };
  std::map<std::string, Group> groups_;
  size_t max_groups_ = kMaxGroups;
  std::chrono::milliseconds filter_budget_ = kFilterBudget;
  mutable std::atomic<uint64_t> filter_overruns_{0};
  /// Runs a filter evaluation within filter_budget_; false (counted) when it ran past it.
  template <class Eval>
  bool within_filter_budget(Eval eval) const;
  uint64_t groups_flushed_early_ = 0;
  void flush_group(std::map<std::string, Group>::iterator it);  ///< delivers (HAVING) and erases
};

/// Which kernel source a subscription uses.
enum class SourceChoice { kAuto, kBpf, kNetlink, kProcPoll };
/// LWMI_EVENT_SOURCE=bpf|netlink|proc-poll in the environment (tests), else kAuto.
SourceChoice source_choice_from_environment();

/// Compiles `wql` and subscribes: a tap on the kernel source this process's streams share
/// (SharedProcSource::global(): BPF, else the netlink connector), or (kAuto, when neither can be
/// used) /proc polling every WITHIN seconds (1 s without WITHIN).
Result<std::unique_ptr<ProcessEventStream>> subscribe(provider::process::ProcessProvider& provider,
                                                      const security::Caller& caller,
                                                      std::string_view wql,
                                                      SourceChoice choice = SourceChoice::kAuto);

class ExecGuard;

/// The embedded engine's exec guard (this process's BPF programs, default [guard] settings),
/// made on first use; null, with *why set, where BPF cannot load (not root).
ExecGuard* embedded_exec_guard(std::string* why);

/// Compiles the event query `wql` and opens a started stream of process events, filtered on
/// `caller`'s masked view: subscribe() with the source LWMI_EVENT_SOURCE names (kAuto without
/// it). Errors carry the query position.
/// With options.guard, the filter is compiled into kernel rules installed on `guard` for the
/// stream's lifetime (the caller's own session exempt unless options.guard_own_session); when
/// that cannot be done the stream still opens, and its guard_status() says why. `guard` null:
/// the exec guard is unavailable (guard_unavailable says why).
Result<std::unique_ptr<EventStream>> open_process_events(
    provider::process::ProcessProvider& provider, const security::Caller& caller,
    std::string_view wql, const NotificationOptions& options = {}, ExecGuard* guard = nullptr,
    std::string_view guard_unavailable = "the exec guard is not available here");

}  // namespace lwmi::event
