#include "provider/process/terminate_reasons.h"
#include "base/mutex.h"

namespace lwmi::provider::process {

void TerminateReasons::expire(Clock::time_point now) {
  while (!order_.empty() && (order_.size() > kMaxEntries || now - order_.front().first > kMaxAge)) {
    entries_.erase(order_.front().second);
    order_.pop_front();
  }
}

void TerminateReasons::record(int32_t pid, uint64_t start_ticks, uint32_t reason) {
  base::MutexLock lock(mu_);
  auto now = Clock::now();
  uint64_t k = key(pid, start_ticks);
  entries_[k] = Entry{pid, start_ticks, reason};
  order_.emplace_back(now, k);
  expire(now);
}

void TerminateReasons::forget(int32_t pid, uint64_t start_ticks) {
  base::MutexLock lock(mu_);
  entries_.erase(key(pid, start_ticks));
}

std::optional<uint32_t> TerminateReasons::lookup(int32_t pid, uint64_t start_ticks) {
  base::MutexLock lock(mu_);
  expire(Clock::now());
  if (start_ticks == 0) {
    // The process was gone before its start time could be read: the newest entry for the pid.
    for (auto o = order_.rbegin(); o != order_.rend(); ++o) {
      auto e = entries_.find(o->second);
      if (e != entries_.end() && e->second.pid == pid) return e->second.reason;
    }
    return std::nullopt;
  }
  auto it = entries_.find(key(pid, start_ticks));
  if (it == entries_.end() || it->second.pid != pid || it->second.start != start_ticks)
    return std::nullopt;
  return it->second.reason;
}

}  // namespace lwmi::provider::process
