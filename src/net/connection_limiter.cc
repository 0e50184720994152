// net/connection_limiter.cc — see connection_limiter.h.
#include "net/connection_limiter.h"
#include "base/mutex.h"

#include <utility>

namespace lwmi::net {

ConnectionLimiter::Ticket::Ticket(Ticket&& o) noexcept
    : owner_(std::move(o.owner_)), key_(std::move(o.key_)) {
  o.owner_.reset();
}

ConnectionLimiter::Ticket& ConnectionLimiter::Ticket::operator=(Ticket&& o) noexcept {
  if (this != &o) {
    reset();
    owner_ = std::move(o.owner_);
    key_ = std::move(o.key_);
    o.owner_.reset();
  }
  return *this;
}

void ConnectionLimiter::Ticket::reset() {
  if (!owner_) return;
  auto owner = std::move(owner_);
  owner_.reset();
  owner->release(key_);
}

std::shared_ptr<ConnectionLimiter> ConnectionLimiter::create(Limits limits) {
  std::shared_ptr<ConnectionLimiter> l(new ConnectionLimiter(limits));
  l->self_ = l;
  return l;
}

ConnectionLimiter::Admission ConnectionLimiter::admit(const std::string& key, bool privileged) {
  Admission a;
  base::MutexLock lock(mu_);
  const size_t cap = privileged ? limits_.max_total + kReserve : limits_.max_total;
  if (total_ >= cap) {
    ++refused_;
    a.refusal = "lwmid has " + std::to_string(total_) +
                " connections open (max_connections = " + std::to_string(limits_.max_total) +
                (privileged ? ", and the reserve for root is used up)" : ")");
    return a;
  }
  size_t& mine = per_key_[key];
  if (!privileged && mine >= limits_.max_per_key) {
    ++refused_;
    a.refusal =
        key + " has " + std::to_string(mine) +
        " connections open (max_connections_per_user = " + std::to_string(limits_.max_per_key) +
        ")";
    if (mine == 0) per_key_.erase(key);
    return a;
  }
  ++mine;
  ++total_;
  a.ticket = Ticket(self_.lock(), key);
  return a;
}

void ConnectionLimiter::release(const std::string& key) {
  base::MutexLock lock(mu_);
  if (total_ > 0) --total_;
  auto it = per_key_.find(key);
  if (it == per_key_.end()) return;
  if (--it->second == 0) per_key_.erase(it);
}

size_t ConnectionLimiter::open() const {
  base::MutexLock lock(mu_);
  return total_;
}

size_t ConnectionLimiter::open(const std::string& key) const {
  base::MutexLock lock(mu_);
  auto it = per_key_.find(key);
  return it == per_key_.end() ? 0 : it->second;
}

uint64_t ConnectionLimiter::refused() const {
  base::MutexLock lock(mu_);
  return refused_;
}

}  // namespace lwmi::net
