#include "event/shared_snapshot.h"
#include "base/mutex.h"

#include <cstdio>

namespace lwmi::event {
namespace {

bool covers(const provider::PropertySet& have, const provider::PropertySet& want, size_t n) {
  if (have.is_all()) return true;
  if (want.is_all()) return false;
  for (size_t i = 0; i < n; ++i)
    if (want.contains(i) && !have.contains(i)) return false;
  return true;
}

void merge(provider::PropertySet* into, const provider::PropertySet& from, size_t n) {
  if (into->is_all()) return;
  if (from.is_all()) {
    *into = provider::PropertySet::all();
    return;
  }
  for (size_t i = 0; i < n; ++i)
    if (from.contains(i)) into->add(i);
}

}  // namespace

SharedSnapshots& SharedSnapshots::global() {
  static SharedSnapshots snapshots;
  return snapshots;
}

SharedSnapshots::Registration& SharedSnapshots::Registration::operator=(Registration&& o) noexcept {
  if (this != &o) {
    this->~Registration();
    owner_ = o.owner_;
    view_ = std::move(o.view_);
    id_ = o.id_;
    o.owner_ = nullptr;
  }
  return *this;
}

SharedSnapshots::Registration::~Registration() {
  if (!owner_) return;
  base::MutexLock lock(owner_->mu_);
  auto it = owner_->views_.find(view_);
  if (it != owner_->views_.end()) {
    it->second.wanted.erase(id_);
    if (it->second.wanted.empty()) owner_->views_.erase(it);
  }
  owner_ = nullptr;
}

std::string SharedSnapshots::view_of(const provider::process::ProcessProvider& provider,
                                     const security::Caller& caller) {
  // Keyed by everything that shapes the rows (Caller::view_key): a caller that is nowhere once
  // shared the host's snapshot, since its key equalled a same-uid host caller's.
  char buf[32];
  std::snprintf(buf, sizeof buf, "%p/", static_cast<const void*>(&provider));
  return buf + caller.view_key();
}

SharedSnapshots::Registration SharedSnapshots::add(provider::process::ProcessProvider& provider,
                                                   const security::Caller& caller,
                                                   const provider::PropertySet& props) {
  std::string view = view_of(provider, caller);
  base::MutexLock lock(mu_);
  uint64_t id = next_id_++;
  views_[view].wanted[id] = props;
  return Registration(this, view, id);
}

SharedSnapshots::Clock::time_point SharedSnapshots::next_tick(Clock::time_point now,
                                                              std::chrono::milliseconds interval) {
  auto since = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
  auto n = since.count() / interval.count() + 1;
  return Clock::time_point(std::chrono::duration_cast<Clock::duration>(interval * n));
}

std::shared_ptr<const ProcessSnapshot> SharedSnapshots::get(
    provider::process::ProcessProvider& provider, const security::Caller& caller,
    const provider::PropertySet& props, Clock::time_point not_before, bool* shared,
    provider::EventSourceCounters* counters) {
  const size_t n = provider.class_decl()->properties.size();
  std::string view = view_of(provider, caller);
  // Held while reading: a second subscriber at the same tick waits and then shares.
  base::MutexLock lock(mu_);
  View& v = views_[view];
  if (v.last && v.last->taken >= not_before && covers(v.last->properties, props, n)) {
    *shared = true;
    if (counters) ++counters->shared_polls;
    return v.last;
  }
  *shared = false;
  provider::PropertySet want = props;
  for (const auto& [id, p] : v.wanted) merge(&want, p, n);

  auto snap = std::make_shared<ProcessSnapshot>();
  snap->taken = Clock::now();
  snap->properties = want;
  std::optional<os::PidView> ns_view;  // a caller in a child pid namespace: only its processes
  if (caller.pid_ns) ns_view.emplace(&provider.fs(), *caller.pid_ns);
  const provider::process::RowContext ctx =
      provider.row_context(caller, ns_view ? &*ns_view : nullptr);
  auto scan = provider.fs().scan();
  int32_t pid;
  // A caller that is nowhere sees no process: nothing to read.
  while (!caller.nowhere() && scan.next(&pid)) {
    provider::process::ProcessRow row(ctx, pid);
    if (!row.exists()) continue;
    if (ns_view) {
      const provider::process::ProcStatus* st = row.status();
      auto v = st ? ns_view->to_view(pid, st->nspid) : std::nullopt;
      if (!v) continue;
      row.set_view_pid(*v);
    }
    auto start = row.start_ticks();
    auto inst = row.materialize(want);
    if (!start || !inst) continue;
    snap->rows[pid] = ProcessSnapshot::Row{*start, std::move(*inst)};
  }
  if (counters) ++counters->polls;
  v.last = snap;
  return snap;
}

}  // namespace lwmi::event
