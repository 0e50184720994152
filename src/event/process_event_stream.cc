#include "event/process_event_stream.h"

#include <time.h>

#include "cim/schema.h"

namespace lwmi::event {
namespace {

using Clock = std::chrono::steady_clock;

uint64_t filetime_now() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 10000000ull + static_cast<uint64_t>(ts.tv_nsec) / 100 +
         116444736000000000ull;
}

}  // namespace

ProcessEventStream::ProcessEventStream(provider::process::ProcessProvider& provider,
                                       security::Caller caller, EventQuery query,
                                       std::unique_ptr<os::ProcEventSource> source)
    : provider_(provider),
      caller_(std::move(caller)),
      query_(std::move(query)),
      source_(std::move(source)) {
  ctx_.fs = &provider_.fs();
  ctx_.sys = &provider_.system();
  ctx_.caller = &caller_;
  ctx_.cls = provider_.class_decl();
  ctx_.ids = &provider_.ids();
  ctx_.peaks = &provider_.peaks();
  if (caller_.pid_ns) {
    view_.emplace(&provider_.fs(), *caller_.pid_ns);
    ctx_.view = &*view_;
  }
}

bool ProcessEventStream::in_view(provider::process::ProcessRow& row) {
  if (!view_) return true;
  const provider::process::ProcStatus* st = row.status();
  auto v = st ? view_->to_view(row.pid(), st->nspid) : std::nullopt;
  if (!v) return false;  // outside the caller's pid namespace, or gone before it could be told
  row.set_view_pid(*v);
  return true;
}

Result<void> ProcessEventStream::start() {
  if (auto r = source_->start(); !r.ok()) return r;
  // Subscribe first, then scan: a process that starts in between is seen by both, never by none.
  auto scan = provider_.fs().scan();
  int32_t pid;
  while (scan.next(&pid)) {
    provider::process::ProcessRow row(ctx_, pid);
    if (!row.exists() || !in_view(row)) continue;
    known_[pid] = *row.start_ticks();
    if (query_.deletion) {
      if (auto inst = row.materialize(provider::PropertySet::all()))
        snapshot_[pid] = std::move(*inst);
    }
  }
  return {};
}

Instance ProcessEventStream::make_event(const char* cls, const Instance& target) const {
  Instance ev(cim::Schema::builtin().find(cls));
  ev.set("TargetInstance", Value::object(std::make_shared<Instance>(target)));
  ev.set("TIME_CREATED", Value::uint64(filetime_now()));
  ev.set("SECURITY_DESCRIPTOR", Value::null(CimType::kUint8, true));
  return ev;
}

std::optional<Instance> ProcessEventStream::capture(int32_t tgid,
                                                    provider::process::ProcessRow& row) {
  if (row.exists())
    if (auto inst = row.materialize(provider::PropertySet::all())) return inst;
  // Gone (or a zombie already): keep what can still be read, and what the events told.
  ++uncaptured_;
  Instance inst(ctx_.cls);
  const bool zombie = row.stat() != nullptr;
  for (size_t i = 0; i < ctx_.cls->properties.size(); ++i) {
    const auto& p = ctx_.cls->properties[i];
    inst.set(i, zombie ? row.property(i) : Value::null(p.type, p.is_array));
  }
  inst.set("Handle", Value::string(std::to_string(row.view_pid())));
  inst.set("ProcessId", Value::uint32(static_cast<uint32_t>(row.view_pid())));
  if (auto it = parent_.find(tgid); !view_ && it != parent_.end() &&
                                    inst.at(*ctx_.cls->property_index("ParentProcessId")).is_null())
    inst.set("ParentProcessId", Value::uint32(static_cast<uint32_t>(it->second)));
  inst.set_server(ctx_.sys->host);
  inst.set_identity(row.identity());
  return inst;
}

void ProcessEventStream::created(int32_t tgid) {
  forked_.erase(tgid);
  provider::process::ProcessRow row(ctx_, tgid);
  const bool alive = row.exists();
  if (alive && !row.is_thread_group_leader()) return;
  if (!in_view(row)) return;  // a caller in a child pid namespace hears only of its own
  uint64_t start = alive ? *row.start_ticks() : 0;
  auto it = known_.find(tgid);
  if (alive && it != known_.end() && it->second == start) {
    // A later exec of a known process: a modification, not a creation. Refresh the snapshot.
    if (query_.deletion)
      if (auto inst = row.materialize(provider::PropertySet::all()))
        snapshot_[tgid] = std::move(*inst);
    return;
  }
  if (!alive && it != known_.end()) return;  // already delivered; its exit follows
  known_[tgid] = start;
  auto inst = capture(tgid, row);
  if (!inst) return;
  // The filter runs on the captured view (masked for the caller, NULL where nothing was left).
  bool wanted = wql::matches(*query_.filter, [&](size_t i) {
    return i == wql::kClassProperty ? Value::string(ctx_.cls->name) : inst->at(i);
  });
  if (query_.deletion) snapshot_[tgid] = *inst;
  if (wanted && query_.creation) ready_.push_back(make_event("__InstanceCreationEvent", *inst));
}

void ProcessEventStream::exited(int32_t tgid) {
  if (forked_.count(tgid)) created(tgid);  // a child that exited before its settle time
  parent_.erase(tgid);
  if (known_.erase(tgid) == 0) return;
  auto snap = snapshot_.find(tgid);
  if (snap == snapshot_.end()) return;
  Instance target = std::move(snap->second);
  snapshot_.erase(snap);
  if (!query_.deletion) return;
  bool wanted = wql::matches(*query_.filter, [&](size_t i) {
    return i == wql::kClassProperty ? Value::string(ctx_.cls->name) : target.at(i);
  });
  if (wanted) ready_.push_back(make_event("__InstanceDeletionEvent", target));
}

void ProcessEventStream::handle(const os::ProcEvent& e) {
  using K = os::ProcEvent::Kind;
  switch (e.kind) {
    case K::kFork:
      if (!e.is_thread()) {
        forked_[e.tgid] = Clock::now();
        parent_[e.tgid] = e.parent_tgid;
      }
      break;
    case K::kExec:
      created(e.tgid);
      break;
    case K::kExit:
      if (!e.is_thread()) exited(e.tgid);
      break;
    default:
      break;
  }
}

void ProcessEventStream::settle(bool all) {
  auto now = Clock::now();
  for (auto it = forked_.begin(); it != forked_.end();) {
    if (all || now - it->second >= std::chrono::milliseconds(kSettleMs)) {
      int32_t tgid = it->first;
      it = forked_.erase(it);
      created(tgid);
    } else {
      ++it;
    }
  }
}

void ProcessEventStream::rescan() {
  std::unordered_map<int32_t, bool> alive;
  auto scan = provider_.fs().scan();
  int32_t pid;
  while (scan.next(&pid)) {
    alive[pid] = true;
    if (!known_.count(pid)) created(pid);
  }
  std::vector<int32_t> gone;
  for (const auto& [tgid, start] : known_)
    if (!alive.count(tgid)) gone.push_back(tgid);
  for (int32_t tgid : gone) exited(tgid);
}

Result<bool> ProcessEventStream::next(Instance* event, int timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms < 0 ? 0 : timeout_ms);
  std::vector<os::ProcEvent> events;
  for (;;) {
    if (!ready_.empty()) {
      *event = std::move(ready_.front());
      ready_.pop_front();
      return true;
    }
    int wait = -1;
    if (timeout_ms >= 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return false;
      wait = static_cast<int>(left.count());
    }
    if (!forked_.empty()) wait = (wait < 0 || wait > kSettleMs) ? kSettleMs : wait;
    events.clear();
    auto n = source_->read(&events, wait);
    if (!n.ok()) return n.take_error();
    for (const auto& e : events) handle(e);
    settle(false);
    uint64_t losses = lost();
    if (losses != losses_seen_) {
      losses_seen_ = losses;
      rescan();
    }
  }
}

Result<std::unique_ptr<EventStream>> open_process_events(
    provider::process::ProcessProvider& provider, const security::Caller& caller,
    std::string_view wql) {
  auto q = compile_event_query(wql);
  if (!q.ok()) return q.take_error();
  // Root can force a receive buffer large enough for fork storms; others get rmem_max and rely
  // on loss detection and rescans.
  auto stream = std::make_unique<ProcessEventStream>(provider, caller, std::move(*q),
                                                     std::make_unique<os::NetlinkProcEvents>());
  if (auto r = stream->start(); !r.ok()) return r.take_error();
  return std::unique_ptr<EventStream>(std::move(stream));
}

}  // namespace lwmi::event
