// daemon/fair_share.h — each user's share of lwmid's worker threads.
//
// lwmid serves requests on a small pool of workers (4). Without a share, one user sending a few
// slow requests at once (a query over long command lines, each up to [requests] time_limit_ms)
// holds every worker and every other user waits. A user (by uid) holds at most `per_user` slots
// at once; a request that finds its user's slots taken is not served yet: the endpoint answers
// it with a retry (net::HttpResponse::retry_after_ms), so the server holds it on a timer, holding
// no worker, and hands it back later. With per_user below the number of workers, a worker is
// always left for the other users.
// Thread safety: safe to use concurrently.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "base/mutex.h"

namespace lwmi::daemon {

class FairShare {
 public:
  explicit FairShare(size_t per_user) : per_user_(per_user == 0 ? 1 : per_user) {}

  /// A slot held by one request; released when it is destroyed.
  class Slot {
   public:
    Slot(Slot&& other) noexcept : owner_(other.owner_), uid_(other.uid_) { other.owner_ = nullptr; }
    Slot& operator=(Slot&&) = delete;
    Slot(const Slot&) = delete;
    ~Slot() {
      if (owner_) owner_->release(uid_);
    }

   private:
    friend class FairShare;
    Slot(FairShare* owner, uid_t uid) : owner_(owner), uid_(uid) {}
    FairShare* owner_;
    uid_t uid_;
  };

  /// A slot for `uid`, or nullopt when it holds per_user() already.
  std::optional<Slot> try_take(uid_t uid);
  /// Requests of `uid` being served now.
  size_t running(uid_t uid) const;
  size_t per_user() const { return per_user_; }

 private:
  void release(uid_t uid);

  const size_t per_user_;
  mutable base::Mutex mu_;
  /// Only users with a request being served.
  std::unordered_map<uid_t, size_t> running_ GUARDED_BY(mu_);
};

}  // namespace lwmi::daemon
