#include "daemon/fair_share.h"
#include "base/mutex.h"

namespace lwmi::daemon {

std::optional<FairShare::Slot> FairShare::try_take(uid_t uid) {
  base::MutexLock lock(mu_);
  size_t& n = running_[uid];
  if (n >= per_user_) return std::nullopt;
  ++n;
  return Slot(this, uid);
}

size_t FairShare::running(uid_t uid) const {
  base::MutexLock lock(mu_);
  auto it = running_.find(uid);
  return it == running_.end() ? 0 : it->second;
}

void FairShare::release(uid_t uid) {
  base::MutexLock lock(mu_);
  auto it = running_.find(uid);
  if (it == running_.end()) return;
  if (--it->second == 0) running_.erase(it);
}

}  // namespace lwmi::daemon
