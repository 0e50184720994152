#include "event/process_event_stream.h"

#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <mutex>

#include "base/budget.h"
#include "base/strings.h"
#include "cim/schema.h"
#include "event/exec_guard.h"
#include "event/shared_proc_source.h"
#include "provider/process/terminate_reasons.h"

namespace lwmi::event {
namespace {

using Clock = std::chrono::steady_clock;
using provider::EventSourceStats;

uint64_t filetime_now() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 10000000ull + static_cast<uint64_t>(ts.tv_nsec) / 100 +
         116444736000000000ull;
}

// S-1-22-1-<uid> (Samba's "Unix user" authority) in binary form: revision 1, two
// sub-authorities, identifier authority 22 (six bytes, big-endian), then 1 and the uid
// (little-endian each).
Value binary_sid(uint32_t uid) {
  std::vector<Value> b;
  for (uint8_t x : {1, 2, 0, 0, 0, 0, 0, 22, 1, 0, 0, 0}) b.push_back(Value::uint8(x));
  for (int i = 0; i < 4; ++i) b.push_back(Value::uint8(static_cast<uint8_t>(uid >> (8 * i))));
  return Value::array(CimType::kUint8, std::move(b));
}

uint64_t clock_ns(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

EventSourceStats::Kind kind_of(const os::ProcEventSource& s) {
  return EventSourceStats::kind_of(s.name());
}

}  // namespace

ProcessEventStream::ProcessEventStream(provider::process::ProcessProvider& provider,
                                       security::Caller caller, EventQuery query,
                                       std::unique_ptr<os::ProcEventSource> source)
    : provider_(provider),
      caller_(std::move(caller)),
      query_(std::move(query)),
      source_(std::move(source)) {
  if (caller_.pid_ns) view_.emplace(&provider_.fs(), *caller_.pid_ns);
  ctx_ = provider_.row_context(caller_, view_ ? &*view_ : nullptr);
  counters_ = &EventSourceStats::global().of(kind_of(*source_));
  const uint64_t mono = clock_ns(CLOCK_MONOTONIC), boot = clock_ns(CLOCK_BOOTTIME);
  boot_offset_ns_ = boot > mono ? boot - mono : 0;
}

bool ProcessEventStream::in_view(provider::process::ProcessRow& row) {
  if (!view_) return true;
  const provider::process::ProcStatus* st = row.status();
  auto v = st ? view_->to_view(row.pid(), st->nspid) : std::nullopt;
  if (!v) return false;  // outside the caller's pid namespace, or gone before it could be told
  row.set_view_pid(*v);
  return true;
}

ProcessEventStream::~ProcessEventStream() {
  if (started_) --counters_->active;
}

void ProcessEventStream::remember(int32_t tgid, provider::process::ProcessRow& row,
                                  const Instance& inst, bool read_row) {
  remember_into(&known_[tgid], row, inst, read_row);
}

void ProcessEventStream::remember_into(Known* out, provider::process::ProcessRow& row,
                                       const Instance& inst, bool read_row) {
  Known& k = *out;
  k.info = true;
  k.view_pid = row.view_pid();
  const auto& ids = provider_.ids();
  using provider::process::Prop;
  const Value& name = inst.at(ids.index(Prop::kName));
  k.name = name.is_null() ? std::string() : name.as_string();
  const Value& ppid = inst.at(ids.index(Prop::kParentProcessId));
  k.ppid = ppid.is_null() ? 0 : static_cast<uint32_t>(ppid.as_u64());
  const Value& session = inst.at(ids.index(Prop::kSessionId));
  k.session = session.is_null() ? 0 : static_cast<uint32_t>(session.as_u64());
  const Value& created = inst.at(ids.index(Prop::kCreationDate));
  k.creation_date = created.is_null() ? std::string() : created.as_string();
  if (read_row && !row.gone())
    if (auto uid = row.owner_uid()) k.uid = uid;
  // The masking rule of Win32_Process's ptrace-guarded properties.
  k.owned = read_row && !row.gone() && !row.masked();
}

Result<void> ProcessEventStream::start() {
  if (auto r = source_->start(); !r.ok()) return r;
  started_ = true;
  ++counters_->active;
  ++counters_->subscriptions;
  // Subscribe first, then scan: a process that starts in between is seen by both, never by none.
  const bool traces = query_.start_trace || query_.stop_trace;
  auto scan = provider_.fs().scan();
  int32_t pid;
  while (scan.next(&pid)) {
    provider::process::ProcessRow row(ctx_, pid);
    if (!row.exists() || !in_view(row)) continue;
    known_[pid].start = *row.start_ticks();
    if (query_.deletion || traces) {
      if (auto inst = row.materialize(provider::PropertySet::all())) {
        if (traces) remember(pid, row, *inst);
        if (query_.deletion) snapshot_[pid] = std::move(*inst);
      }
    }
  }
  if (query_.modification) {
    interval_ = std::chrono::milliseconds(
        std::max<int64_t>(100, std::llround(query_.within.value_or(1.0) * 1000)));
    registration_ = SharedSnapshots::global().add(provider_, caller_, query_.watched);
    bool shared = false;
    auto snap = SharedSnapshots::global().get(provider_, caller_, query_.watched, Clock::now(),
                                              &shared, counters_);
    ++polls_;
    for (const auto& [p, row] : snap->rows) baseline_[p] = row;
    next_poll_ = SharedSnapshots::next_tick(Clock::now(), interval_);
  }
  return {};
}

Instance ProcessEventStream::make_event(const char* cls, const Instance& target,
                                        const Instance* previous) const {
  Instance ev(cim::Schema::builtin().find(cls));
  ev.set("TargetInstance", Value::object(std::make_shared<Instance>(target)));
  if (previous) ev.set("PreviousInstance", Value::object(std::make_shared<Instance>(*previous)));
  ev.set("TIME_CREATED", Value::uint64(filetime_now()));
  ev.set("SECURITY_DESCRIPTOR", Value::null(CimType::kUint8, true));
  ev.set_server(ctx_.sys->host);  // __SERVER, as the processes it is about
  return ev;
}

Instance ProcessEventStream::make_trace(const char* cls, int32_t tgid, const Known& k) const {
  Instance ev(cim::Schema::builtin().find(cls));
  // In the caller's view: a caller in a child pid namespace gets its own pids, not the host's.
  ev.set("ProcessID", Value::uint32(static_cast<uint32_t>(k.view_pid ? k.view_pid : tgid)));
  ev.set("ParentProcessID",
         k.info || k.ppid ? Value::uint32(k.ppid) : Value::null(CimType::kUint32));
  ev.set("ProcessName", k.name.empty() ? Value::null(CimType::kString) : Value::string(k.name));
  ev.set("SessionID", k.info ? Value::uint32(k.session) : Value::null(CimType::kUint32));
  ev.set("Sid", k.uid ? binary_sid(*k.uid) : Value::null(CimType::kUint8, true));
  // With ProcessID, the identity a Terminate re-checks (pid and start time).
  ev.set("ProcessCreationDate", k.creation_date.empty() ? Value::null(CimType::kDatetime)
                                                        : Value::datetime(k.creation_date));
  ev.set("TIME_CREATED", Value::uint64(filetime_now()));
  ev.set("SECURITY_DESCRIPTOR", Value::null(CimType::kUint8, true));
  ev.set_server(ctx_.sys->host);  // __SERVER, as the processes it is about
  return ev;
}

Instance ProcessEventStream::make_blocked_trace(int32_t tgid, const Known& k,
                                                const Instance& target, uint32_t rule) const {
  Instance ev = make_trace("LWMI_ProcessBlockedTrace", tgid, k);
  const auto& ids = provider_.ids();
  using provider::process::Prop;
  ev.set("ExecutablePath", target.at(ids.index(Prop::kExecutablePath)));
  ev.set("CommandLine", target.at(ids.index(Prop::kCommandLine)));
  ev.set("Rule", rule && rule == guard_rule_ ? Value::string(guard_summary_)
                                             : Value::null(CimType::kString));
  return ev;
}

template <class Eval>
bool ProcessEventStream::within_filter_budget(Eval eval) const {
  // A filter cut short by its budget says false; that is not its answer: the event is lost.
  base::Budget budget(filter_budget_, "the event filter's limit");
  base::Budget::Scope scope(&budget);
  const bool pass = eval();
  if (!budget.exhausted()) return pass;
  ++filter_overruns_;
  return false;
}

bool ProcessEventStream::matches(const Instance& target, const Instance* previous) const {
  const auto& combined = *query_.filter->concrete;
  const size_t n = query_.target_count;
  return within_filter_budget([&] {
    return wql::matches(*query_.filter, [&](size_t i) -> Value {
      if (i == wql::kClassProperty) return Value::string(ctx_.cls->name);
      if (i < n) return target.at(i);
      const auto& p = combined.properties[i];
      if (!previous) return Value::null(p.type, p.is_array);
      return previous->at(i - n);
    });
  });
}

bool ProcessEventStream::trace_matches(const Instance& ev) const {
  const auto& cls = *query_.filter->concrete;
  return within_filter_budget([&] {
    return wql::matches(*query_.filter, [&](size_t i) -> Value {
      if (i == wql::kClassProperty) return Value::string(ev.class_name());
      const auto& p = cls.properties[i];
      if (auto v = ev.get(p.name)) return *v;
      return Value::null(p.type, p.is_array);
    });
  });
}

Instance ProcessEventStream::project(const Instance& full) const {
  if (query_.watched.is_all()) return full;
  Instance out(ctx_.cls);
  for (size_t i = 0; i < ctx_.cls->properties.size(); ++i)
    if (query_.watched.contains(i)) out.set(i, full.at(i));
  out.set_server(full.server());
  out.set_identity(full.identity());
  return out;
}

std::optional<Instance> ProcessEventStream::capture(int32_t tgid,
                                                    provider::process::ProcessRow& row, bool exited,
                                                    bool reused) {
  // Described by the kernel at its fork or exec: complete however short its life.
  if (row.has_record())
    if (auto inst = row.materialize(provider::PropertySet::all())) return inst;
  const bool alive = row.exists();
  if (alive && !exited)
    if (auto inst = row.materialize(provider::PropertySet::all())) return inst;
  // It ended while /proc was read (its exe link and command line went with its memory, before
  // it was a zombie): what the kernel recorded at its fork or exec describes it. Not for a
  // caller in a child pid namespace: the record holds host pids.
  if (!view_ && !row.has_record())
    if (auto r = records_.find(tgid); r != records_.end() && r->second) {
      row.use_record(r->second);
      if (auto inst = row.materialize(provider::PropertySet::all())) return inst;
    }
  // Gone (or a zombie already): keep what can still be read, and what the events told. After
  // its exit event, a live process under the pid is another one that reused it: not read.
  ++uncaptured_;
  ++counters_->uncaptured;
  Instance inst(ctx_.cls);
  const bool zombie = !reused && !alive && row.stat() != nullptr;
  for (size_t i = 0; i < ctx_.cls->properties.size(); ++i) {
    const auto& p = ctx_.cls->properties[i];
    inst.set(i, zombie ? row.property(i) : Value::null(p.type, p.is_array));
  }
  inst.set("Handle", Value::string(std::to_string(row.view_pid())));
  inst.set("ProcessId", Value::uint32(static_cast<uint32_t>(row.view_pid())));
  // A zombie being reaped shows parent 0 (its task is already unhashed): the events know better
  // (host pids: not for a caller in a child pid namespace).
  const Value& ppid = inst.at(*ctx_.cls->property_index("ParentProcessId"));
  if (auto it = parent_.find(tgid);
      !view_ && it != parent_.end() && (ppid.is_null() || ppid.as_u64() == 0))
    inst.set("ParentProcessId", Value::uint32(static_cast<uint32_t>(it->second)));
  inst.set_server(ctx_.sys->host);
  if (zombie) {
    inst.set_identity(row.identity());
  } else {
    // Nothing was read from this process: its identity is its Handle alone. The start time
    // under the pid now (if any) is another process's, and a method re-checking it would act
    // on that one.
    ObjectPath id;
    id.class_name = ctx_.cls->name;
    id.keys.push_back({"Handle", Value::string(std::to_string(row.view_pid()))});
    inst.set_identity(std::move(id));
  }
  return inst;
}

void ProcessEventStream::deliver(Instance ev) {
  if (!query_.group_within) {
    ++counters_->delivered;
    ready_.push_back(std::move(ev));
    return;
  }
  std::string key;
  for (const auto& path : query_.group_by) {
    std::optional<Value> v = ev.get(path[0]);
    if (v && path.size() > 1)
      v = (!v->is_null() && v->type() == CimType::kObject) ? v->as_object()->get(path[1])
                                                           : std::nullopt;
    key += (v && !v->is_null()) ? "v" + v->to_text() : std::string("n");
    key += '\x1f';
  }
  if (groups_.size() >= max_groups_ && !groups_.count(key)) {
    // Full: the oldest group (the first due) is delivered now rather than kept without bound.
    auto oldest = groups_.begin();
    for (auto it = groups_.begin(); it != groups_.end(); ++it)
      if (it->second.due < oldest->second.due) oldest = it;
    flush_group(oldest);
    ++groups_flushed_early_;
  }
  Group& g = groups_[key];
  if (g.count == 0) {
    g.representative = std::move(ev);
    g.due = Clock::now() + std::chrono::seconds(*query_.group_within);
  }
  ++g.count;
}

void ProcessEventStream::flush_groups(bool all) {
  auto now = Clock::now();
  for (auto it = groups_.begin(); it != groups_.end();) {
    if (!all && it->second.due > now) {
      ++it;
      continue;
    }
    auto next = std::next(it);
    flush_group(it);
    it = next;
  }
}

void ProcessEventStream::flush_group(std::map<std::string, Group>::iterator it) {
  if (having_passes(query_, it->second.count)) {
    Instance agg(cim::Schema::builtin().find("__AggregateEvent"));
    agg.set("NumberOfEvents", Value::uint32(it->second.count));
    agg.set_server(ctx_.sys->host);
    agg.set("Representative",
            Value::object(std::make_shared<Instance>(std::move(it->second.representative))));
    ++counters_->delivered;
    ready_.push_back(std::move(agg));
  }
  groups_.erase(it);
}

bool ProcessEventStream::started_after(uint64_t start_ticks, uint64_t event_ns) {
  if (event_ns == 0 || start_ticks == 0) return false;
  // The offset grows across a suspend: read it now. Start times are whole ticks (rounded
  // down), so a pid reused within one tick of the event is not told apart.
  const uint64_t mono = clock_ns(CLOCK_MONOTONIC), boot = clock_ns(CLOCK_BOOTTIME);
  boot_offset_ns_ = boot > mono ? boot - mono : 0;
  const uint64_t tick_ns = 1000000000ull / static_cast<uint64_t>(ctx_.sys->clk_tck);
  return start_ticks * tick_ns > event_ns + boot_offset_ns_ + tick_ns;  // CLOCK_BOOTTIME
}

void ProcessEventStream::created(int32_t tgid, bool exited, uint64_t event_ns, bool exec) {
  forked_.erase(tgid);
  provider::process::ProcessRow row(ctx_, tgid);
  // Read late (a slow reader lags the kernel by seconds), the pid may already belong to a
  // process that started after the fork or exec this creation is about: then that process has
  // ended, and nothing read under its pid now is about it.
  const bool reused = started_after(row.start_ticks().value_or(0), event_ns);  // a zombie's too
  if (reused) exited = true;
  bool alive = !exited && row.exists();
  if (alive && !row.is_thread_group_leader()) {
    if (!row.gone() && row.status()) return;  // a thread id, not a process
    alive = false;                            // it exited meanwhile
  }
  // Gone already (or its pid reused): what the kernel recorded at its fork or exec describes
  // it. Not for a caller in a child pid namespace: the record holds host pids.
  if (!alive && !view_)
    if (auto r = records_.find(tgid); r != records_.end() && r->second) row.use_record(r->second);
  if (!in_view(row)) return;  // a caller in a child pid namespace hears only of its own
  uint64_t start = alive || row.has_record() ? row.start_ticks().value_or(0) : 0;
  auto it = known_.find(tgid);
  if (auto b = blocked_.find(tgid); exec && it != known_.end() && b != blocked_.end()) {
    // Blocked at an exec read after its fork had settled (a child that waited over 100 ms to
    // exec, or a reader that lagged): created already, as the program it forked from, but the
    // block is news. The rule's subscription and the blocked trace hear of it as of a new
    // process's block (it went unreported: 1 in 1000 launches under load).
    const uint32_t rule = b->second;
    const bool ours = guard_rule_ && rule == guard_rule_;
    if (ours || query_.blocked_trace) {
      auto inst = capture(tgid, row, exited, reused);
      if (!inst) return;
      remember(tgid, row, *inst, !reused || row.has_record());
      Instance ev = make_blocked_trace(tgid, known_[tgid], *inst, rule);
      if (ours || trace_matches(ev)) deliver(std::move(ev));
      if (ours) {
        if (query_.deletion) snapshot_[tgid] = *inst;
        return;
      }
    }
  }
  if (alive && it != known_.end() && it->second.start == start) {
    // Settled after a rescan found it (its fork was read first): created already.
    if (exec) execed_again(tgid, row, start);
    return;
  }
  if (!alive && it != known_.end()) return;  // already delivered; its exit follows
  known_[tgid] = Known{};
  known_[tgid].start = start;
  auto inst = capture(tgid, row, exited, reused);
  if (!inst) return;
  const bool traces = query_.start_trace || query_.stop_trace || query_.blocked_trace;
  if (traces || guard_rule_) remember(tgid, row, *inst, !reused || row.has_record());
  if (auto b = blocked_.find(tgid); b != blocked_.end()) {
    // Killed by the exec guard before its first instruction. The subscription whose rule it
    // was hears of it as a block, not as a creation; a query on the blocked trace hears of
    // every block it may see.
    const bool ours = guard_rule_ && b->second == guard_rule_;
    if (ours || query_.blocked_trace) {
      Instance ev = make_blocked_trace(tgid, known_[tgid], *inst, b->second);
      if (ours || trace_matches(ev)) deliver(std::move(ev));
    }
    if (ours) {
      if (query_.deletion) snapshot_[tgid] = *inst;
      return;
    }
  }
  // The filter runs on the captured view (masked for the caller, NULL where nothing was left).
  if (query_.deletion) snapshot_[tgid] = *inst;
  if (query_.modification && alive) baseline_[tgid] = ProcessSnapshot::Row{start, project(*inst)};
  if (query_.creation && matches(*inst, nullptr))
    deliver(make_event("__InstanceCreationEvent", *inst));
  if (query_.start_trace) {
    Instance ev = make_trace("Win32_ProcessStartTrace", tgid, known_[tgid]);
    if (trace_matches(ev)) deliver(std::move(ev));
  }
}

void ProcessEventStream::execed_again(int32_t tgid, provider::process::ProcessRow& row,
                                      uint64_t start) {
  // A later exec of a known process: a modification and a start trace, not a creation.
  if (!query_.modification && !query_.start_trace && !query_.stop_trace && !query_.deletion) return;
  auto inst = capture(tgid, row);
  if (!inst) return;
  if (query_.start_trace || query_.stop_trace) remember(tgid, row, *inst);
  if (query_.modification) {
    Instance target = project(*inst);
    Instance previous;
    if (auto b = baseline_.find(tgid); b != baseline_.end()) {
      previous = project(b->second.instance);
    } else if (auto s = snapshot_.find(tgid); s != snapshot_.end()) {
      previous = project(s->second);
    } else {
      previous = Instance(ctx_.cls);
      previous.set("Handle", Value::string(std::to_string(row.view_pid())));
      previous.set("ProcessId", Value::uint32(static_cast<uint32_t>(row.view_pid())));
    }
    // A poll may have seen the new program first: then it has been reported already.
    bool changed = false;
    for (size_t i = 0; i < ctx_.cls->properties.size() && !changed; ++i)
      if (query_.watched.contains(i) && !(previous.at(i) == target.at(i))) changed = true;
    if (changed && matches(target, &previous))
      deliver(make_event("__InstanceModificationEvent", target, &previous));
    baseline_[tgid] = ProcessSnapshot::Row{start, std::move(target)};
  }
  if (query_.deletion) snapshot_[tgid] = *inst;
  if (query_.start_trace) {
    Instance ev = make_trace("Win32_ProcessStartTrace", tgid, known_[tgid]);
    if (trace_matches(ev)) deliver(std::move(ev));
  }
}

void ProcessEventStream::exited(int32_t tgid, const os::ProcEvent* e) {
  // Read late, after a rescan found a later process under the pid: the exit is not its own.
  if (auto k = known_.find(tgid);
      e && k != known_.end() && started_after(k->second.start, e->timestamp_ns))
    return;
  if (auto f = forked_.find(tgid); f != forked_.end()) {  // exited before its settle time
    if (e && e->parent_tgid > 0 && !parent_.count(tgid)) parent_[tgid] = e->parent_tgid;
    created(tgid, /*exited=*/true, f->second, /*exec=*/false);
  }
  parent_.erase(tgid);
  baseline_.erase(tgid);
  auto it = known_.find(tgid);
  if (it == known_.end()) return;
  Known k = std::move(it->second);
  known_.erase(it);
  auto snap = snapshot_.find(tgid);
  if (snap != snapshot_.end()) {
    Instance target = std::move(snap->second);
    snapshot_.erase(snap);
    if (query_.deletion && matches(target, nullptr))
      deliver(make_event("__InstanceDeletionEvent", target));
  }
  if (query_.stop_trace) {
    if (e && e->parent_tgid > 0) {
      // A host pid: in a child pid namespace's view, its pid there, or 0 (as Win32_Process
      // shows a parent outside the view).
      std::optional<int32_t> parent = e->parent_tgid;
      if (view_) parent = view_->to_view(e->parent_tgid);
      k.ppid = parent ? static_cast<uint32_t>(*parent) : 0;
      k.info = true;
    }
    Instance ev = make_trace("Win32_ProcessStopTrace", tgid, k);
    Value status = Value::null(CimType::kUint32);
    // Another user's exit status is theirs: NULL unless the caller may read the process's
    // guarded properties (it owned it, or has SeDebugPrivilege enabled).
    if (!k.owned && !caller_.can(security::Privilege::kDebug)) {
    } else if (auto reason = provider_.terminate_reasons().lookup(tgid, k.start)) {
      status = Value::uint32(*reason);
    } else if (e && source_->has_exit_status()) {
      const int st = static_cast<int>(e->exit_code);
      if (WIFEXITED(st))
        status = Value::uint32(static_cast<uint32_t>(WEXITSTATUS(st)));
      else if (WIFSIGNALED(st))
        status = Value::uint32(128u + static_cast<uint32_t>(WTERMSIG(st)));
    }
    ev.set("ExitStatus", status);
    if (trace_matches(ev)) deliver(std::move(ev));
  }
}

ProcessEventStream::Block ProcessEventStream::report_block(const os::ProcEvent& e) {
  const bool ours = guard_rule_ && e.blocked_rule == guard_rule_;
  if (!ours && !query_.blocked_trace) return Block::kNotReported;
  if (!e.record || view_) return Block::kNotReported;  // created() reads what it can
  provider::process::ProcessRow row(ctx_, e.tgid);
  row.use_record(e.record);
  auto inst = row.materialize(provider::PropertySet::all());
  if (!inst) return Block::kNotReported;
  Known k;
  k.start = row.start_ticks().value_or(0);
  remember_into(&k, row, *inst, /*read_row=*/true);
  if (ours) {
    // Created for this stream as a block: its exit (a deletion, a stop trace) follows.
    forked_.erase(e.tgid);
    known_[e.tgid] = k;
    if (query_.deletion) snapshot_[e.tgid] = *inst;
  }
  Instance ev = make_blocked_trace(e.tgid, k, *inst, e.blocked_rule);
  if (ours || trace_matches(ev)) deliver(std::move(ev));
  return ours ? Block::kOurs : Block::kReported;
}

void ProcessEventStream::handle(const os::ProcEvent& e) {
  using K = os::ProcEvent::Kind;
  if (e.timestamp_ns > latest_ns_) latest_ns_ = e.timestamp_ns;
  switch (e.kind) {
    case K::kFork:
      if (!e.is_thread()) {
        forked_[e.tgid] = e.timestamp_ns ? e.timestamp_ns : clock_ns(CLOCK_MONOTONIC);
        parent_[e.tgid] = e.parent_tgid;
        if (e.record) records_[e.tgid] = e.record;
      }
      break;
    case K::kExec:
      if (e.record) records_[e.tgid] = e.record;
      if (e.blocked) {
        blocked_[e.tgid] = e.blocked_rule;
        // Reported from the kernel's record alone: /proc may already show another process
        // (or a thread) under the pid, and the program never ran anyway.
        if (const Block b = report_block(e); b != Block::kNotReported) {
          blocked_.erase(e.tgid);
          if (b == Block::kOurs) break;  // its subscription hears of a block, not a creation
        }
      }
      if (e.breaker && guard_rule_ && e.blocked_rule == guard_rule_) guard_status_.tripped = true;
      created(e.tgid, false, e.timestamp_ns);
      break;
    case K::kExit:
      if (!e.is_thread()) {
        exited(e.tgid, &e);
        records_.erase(e.tgid);
        blocked_.erase(e.tgid);
      }
      break;
    default:
      break;
  }
}

void ProcessEventStream::settle(bool all, bool idle) {
  // Settled by the events' own clock: once events from 100 ms after the fork have been read,
  // its exit (if it came sooner) has been read too. With nothing queued, by the clock itself.
  constexpr uint64_t kSettleNs = uint64_t{kSettleMs} * 1000000;
  const uint64_t now = idle ? clock_ns(CLOCK_MONOTONIC) : 0;
  for (auto it = forked_.begin(); it != forked_.end();) {
    if (all || latest_ns_ >= it->second + kSettleNs || (idle && now >= it->second + kSettleNs)) {
      const int32_t tgid = it->first;
      const uint64_t fork_ns = it->second;
      it = forked_.erase(it);
      created(tgid, /*exited=*/false, fork_ns, /*exec=*/false);
    } else {
      ++it;
    }
  }
}

void ProcessEventStream::rescan() {
  ++rescans_;
  ++counters_->rescans;
  std::unordered_map<int32_t, bool> alive;
  auto scan = provider_.fs().scan();
  int32_t pid;
  const size_t name_index = provider_.ids().index(provider::process::Prop::kName);
  while (scan.next(&pid)) {
    provider::process::ProcessRow row(ctx_, pid);
    if (!row.exists()) continue;  // gone, or a zombie: exited (its exit may be read already)
    alive[pid] = true;
    auto k = known_.find(pid);
    if (k == known_.end()) {
      created(pid);
      continue;
    }
    // A known process whose exec event was lost runs another program now: a later exec.
    const std::string* before = nullptr;
    if (k->second.info) {
      before = &k->second.name;
    } else if (auto snap = snapshot_.find(pid); snap != snapshot_.end()) {
      const Value& n = snap->second.at(name_index);
      if (!n.is_null()) before = &n.as_string();
    }
    if (k->second.start != row.start_ticks().value_or(0)) {
      // The known process ended (its exit lost, or not read yet) and another has its pid.
      exited(pid, nullptr);
      created(pid);
      continue;
    }
    if (!before) continue;
    const Value now = row.property(name_index);
    if (!now.is_null() && now.as_string() != *before) created(pid);
  }
  std::vector<int32_t> gone;
  for (const auto& [tgid, k] : known_)
    if (!alive.count(tgid)) gone.push_back(tgid);
  for (int32_t tgid : gone) exited(tgid, nullptr);
  // Records of processes whose exit was lost: gone now, never to be used.
  for (auto it = records_.begin(); it != records_.end();)
    it = alive.count(it->first) || forked_.count(it->first) ? std::next(it) : records_.erase(it);
  for (auto it = blocked_.begin(); it != blocked_.end();)
    it = alive.count(it->first) || forked_.count(it->first) ? std::next(it) : blocked_.erase(it);
}

void ProcessEventStream::poll() {
  bool shared = false;
  auto snap = SharedSnapshots::global().get(provider_, caller_, query_.watched, next_poll_, &shared,
                                            counters_);
  ++polls_;
  if (shared) ++shared_polls_;
  const size_t n = ctx_.cls->properties.size();
  for (const auto& [pid, row] : snap->rows) {
    auto b = baseline_.find(pid);
    if (b == baseline_.end() || b->second.start != row.start) {
      baseline_[pid] = row;  // new to us: its creation comes from the kernel source
      continue;
    }
    bool changed = false;
    for (size_t i = 0; i < n && !changed; ++i)
      if (query_.watched.contains(i) && !(b->second.instance.at(i) == row.instance.at(i)))
        changed = true;
    if (!changed) continue;
    Instance target = project(row.instance);
    Instance previous = project(b->second.instance);
    if (matches(target, &previous))
      deliver(make_event("__InstanceModificationEvent", target, &previous));
    b->second = row;
  }
  for (auto it = baseline_.begin(); it != baseline_.end();)
    it = snap->rows.count(it->first) ? std::next(it) : baseline_.erase(it);
  next_poll_ = SharedSnapshots::next_tick(Clock::now(), interval_);
}

Result<bool> ProcessEventStream::next(Instance* event, int timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms < 0 ? 0 : timeout_ms);
  std::vector<os::ProcEvent> events;
  bool first = true;
  for (;;) {
    if (!ready_.empty()) {
      *event = std::move(ready_.front());
      ready_.pop_front();
      return true;
    }
    if (interrupted_.exchange(false)) return false;
    auto now = Clock::now();
    int wait = -1;
    if (timeout_ms >= 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
      if (left.count() <= 0 && !first) return false;
      wait = static_cast<int>(std::max<int64_t>(0, left.count()));
    }
    first = false;
    auto cap = [&](Clock::time_point when) {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(when - now).count() + 1;
      int m = static_cast<int>(std::max<int64_t>(0, ms));
      if (wait < 0 || m < wait) wait = m;
    };
    if (!forked_.empty()) wait = (wait < 0 || wait > kSettleMs) ? kSettleMs : wait;
    if (query_.modification) cap(next_poll_);
    for (const auto& [key, g] : groups_) cap(g.due);
    events.clear();
    auto n = source_->read(&events, wait);
    if (!n.ok()) return n.take_error();
    received_ += *n;
    counters_->received += *n;
    for (const auto& e : events) handle(e);
    settle(false, *n == 0);
    if (query_.modification && Clock::now() >= next_poll_) poll();
    uint64_t overruns = source_->overruns(), gaps = source_->lost();
    if (overruns != overruns_seen_ || gaps != gaps_seen_) {
      counters_->overruns += overruns - overruns_seen_;
      counters_->gaps += gaps - gaps_seen_;
      overruns_seen_ = overruns;
      gaps_seen_ = gaps;
      rescan();
    }
    if (!groups_.empty()) flush_groups(false);
  }
}

void ProcessEventStream::interrupt() {
  interrupted_ = true;
  source_->wake();
}

std::optional<Instance> ProcessEventStream::source_state() const {
  provider::EventSourceProvider p;
  Instance inst = p.snapshot(kind_of(*source_));
  // This subscription's own figures (the class's instances served by the CIM service hold the
  // whole process's).
  inst.set("Active", Value::uint32(1));
  inst.set("Subscriptions", Value::uint64(1));
  inst.set("EventsReceived", Value::uint64(received_));
  inst.set("Overruns", Value::uint64(source_->overruns()));
  inst.set("SequenceGaps", Value::uint64(source_->lost()));
  inst.set("Rescans", Value::uint64(rescans_));
  inst.set("UncapturedProperties", Value::uint64(uncaptured_));
  inst.set("Polls", Value::uint64(polls_));
  inst.set("SharedPolls", Value::uint64(shared_polls_));
  return inst;
}

SourceChoice source_choice_from_environment() {
  const char* v = std::getenv("LWMI_EVENT_SOURCE");
  if (!v) return SourceChoice::kAuto;
  if (base::iequals(v, "proc-poll")) return SourceChoice::kProcPoll;
  if (base::iequals(v, "netlink")) return SourceChoice::kNetlink;
  if (base::iequals(v, "bpf")) return SourceChoice::kBpf;
  return SourceChoice::kAuto;
}

Result<std::unique_ptr<ProcessEventStream>> subscribe(provider::process::ProcessProvider& provider,
                                                      const security::Caller& caller,
                                                      std::string_view wql, SourceChoice choice) {
  auto q = compile_event_query(wql);
  if (!q.ok()) return q.take_error();
  const int poll_ms = static_cast<int>(std::clamp<int64_t>(
      std::llround(q->within.value_or(1.0) * 1000), 100, std::numeric_limits<int>::max()));
  std::unique_ptr<os::ProcEventSource> source;
  if (choice != SourceChoice::kProcPoll) {
    // One kernel source for every stream of the process: BPF where it loads, else the netlink
    // connector (root can force its receive buffer large enough for fork storms; others get
    // rmem_max and rely on loss detection and rescans).
    auto& shared =
        choice == SourceChoice::kNetlink ? SharedProcSource::netlink() : SharedProcSource::global();
    auto r = shared.open();
    if (r.ok()) {
      source = std::move(*r);
      EventSourceStats::global().set_unavailable(EventSourceStats::kind_of(source->name()), "");
      if (choice == SourceChoice::kBpf && std::string_view(source->name()) != "bpf")
        return Error{WbemStatus::kNotSupported,
                     "the BPF event source is not available: " +
                         EventSourceStats::global().unavailable(EventSourceStats::Kind::kBpf)};
    } else if (choice != SourceChoice::kAuto) {
      return r.take_error();
    } else {
      EventSourceStats::global().set_unavailable(EventSourceStats::Kind::kNetlink,
                                                 r.error().message);
    }
  }
  if (!source) source = std::make_unique<os::ProcPollEvents>(provider.fs(), poll_ms);
  auto stream =
      std::make_unique<ProcessEventStream>(provider, caller, std::move(*q), std::move(source));
  if (auto r = stream->start(); !r.ok()) return r.take_error();
  return stream;
}

ExecGuard* embedded_exec_guard(std::string* why) {
  static std::mutex mu;
  static ExecGuard* guard = nullptr;  // never destroyed: its rules end with the process
  std::lock_guard<std::mutex> lock(mu);
  if (guard) return guard;
  auto monitor = os::BpfMonitor::shared();
  if (!monitor.ok()) {
    *why = "BPF is not available to this process: " + monitor.error().message;
    return nullptr;
  }
  guard = new ExecGuard(*monitor, GuardConfig{});
  return guard;
}

Result<std::unique_ptr<EventStream>> open_process_events(
    provider::process::ProcessProvider& provider, const security::Caller& caller,
    std::string_view wql, const NotificationOptions& options, ExecGuard* guard,
    std::string_view guard_unavailable) {
  auto stream = subscribe(provider, caller, wql, source_choice_from_environment());
  if (!stream.ok()) return stream.take_error();
  if (options.guard) {
    // Installed after the stream started: every block is seen by it.
    GuardStatus status;
    status.requested = true;
    auto rules = compile_guard_rules((*stream)->query());
    if (!rules.ok()) {
      status.refusal = rules.error().message;
    } else if (!guard) {
      status.refusal = std::string(guard_unavailable);
    } else {
      // The session that asked is spared (an admin cannot lock themselves out) unless forced.
      uint32_t session = 0;
      if (!options.guard_own_session && caller.pid > 0)
        if (pid_t sid = ::getsid(caller.pid); sid > 0) session = static_cast<uint32_t>(sid);
      auto handle = guard->install(caller, *rules, session);
      if (handle.ok()) {
        status.active = true;
        const uint32_t rule = (*handle)->rule();
        std::string summary = (*handle)->summary();
        // Session 0 (of a process whose init never called setsid) is no one's login session:
        // it is never exempt, and the caller is told.
        status.summary =
            summary + (session ? " (session " + std::to_string(session) + " exempt)"
                       : options.guard_own_session ? " (no session exempt)"
                                                   : " (no session exempt: the caller has none)");
        (*stream)->set_guard(std::shared_ptr<GuardHandle>(std::move(*handle)), rule,
                             std::move(summary));
      } else {
        status.refusal = handle.error().message;
      }
    }
    (*stream)->set_guard_status(std::move(status));
  }
  return std::unique_ptr<EventStream>(std::move(*stream));
}

}  // namespace lwmi::event
