// event/subscription_manager.h — lwmid's event subscriptions: who subscribed to what, a bounded
// queue of events per subscription, pulls that wait without a thread, leases, quotas, audit.
//
// A subscription owns an EventStream (opened for the subscriber, so its filter runs on the
// subscriber's masked view) and a pump thread that moves the stream's events into the
// subscription's queue (at most `queue_size`; events that do not fit are dropped and counted,
// and the next pull reports WBEM_E_QUEUE_OVERFLOW with the count before it delivers again).
// pull() completes its callback at once when events are queued, else when the first event
// arrives, when the heartbeat interval passed with nothing to deliver, or when the wait ends —
// from the manager's own threads, so a waiting pull holds no caller thread.
// A subscription is a lease: it expires `expires` after it was made, last pulled or renewed,
// unless a pull is waiting on it. Only its owner (Caller::Owner: the uid, in the same pid
// namespace) may pull, renew or end it, and a pull or renew by a caller who no longer holds a
// privilege enabled at Subscribe ends it (WBEM_E_ACCESS_DENIED): rights are those of each
// request, not frozen at Subscribe. Subscribe, unsubscribe, expiry and overflow are written to
// the audit log.
// Thread safety: every method may be called concurrently; callbacks run without locks held.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/mutex.h"
#include "lwmi/services.h"
#include "security/audit.h"
#include "security/caller.h"

namespace lwmi::event {

using Millis = std::chrono::milliseconds;

struct SubscriptionLimits {
  Millis max_expiry{std::chrono::hours(1)};         ///< cap on the lease a client asks for
  Millis default_expiry{std::chrono::minutes(10)};  ///< the lease when the client asks none
  size_t queue_size = 1000;                         ///< events queued per subscription
  size_t max_per_user = 16;                         ///< open subscriptions per user
  size_t max_total = 256;                           ///< open subscriptions in all
  Millis max_pull_wait{std::chrono::minutes(5)};    ///< cap on a pull's OperationTimeout
  Millis min_heartbeat{std::chrono::seconds(1)};    ///< shorter heartbeat requests are raised to it
};

/// Opens the event stream of a new subscription for `caller` (already started: no event that
/// happens after it returns is missed). Errors (a bad query) are returned to the subscriber.
using StreamOpener = std::function<Result<std::unique_ptr<EventStream>>(
    const security::Caller& caller, std::string_view wql, const NotificationOptions& options)>;

/// What a subscription was granted.
struct Granted {
  std::string id;  ///< the subscription's identifier (also its enumeration context)
  Millis expires;  ///< the lease
  std::optional<Millis> heartbeat;
  GuardStatus guard;  ///< what became of NotificationOptions::guard
};

/// A subscription as its owner may see it (LWMI_EventSubscription).
struct SubscriptionInfo {
  std::string id;
  std::string query;
  std::string user;
  uid_t uid = 0;
  std::string peer;
  Millis lease{0};
  Millis expires_in{0};  ///< 0 while a pull waits
  bool pulling = false;
  uint64_t queued = 0;
  uint64_t dropped = 0;
};

/// What one pull delivers: events, or a heartbeat, or a timeout (neither).
struct PullResult {
  std::vector<Instance> events;
  bool heartbeat = false;  ///< nothing to deliver within the heartbeat interval
  bool timed_out = false;  ///< nothing to deliver within the wait
  uint64_t lost = 0;       ///< the stream's lost kernel events (cumulative; rescanned, not missed)
};
using PullDone = std::function<void(Result<PullResult>)>;

class SubscriptionManager {
 public:
  /// `audit` may be null (no audit lines); it must outlive the manager. `log` receives audit
  /// lines that could not be written.
  SubscriptionManager(SubscriptionLimits limits, StreamOpener opener, security::AuditLog* audit,
                      std::function<void(const std::string&)> log = {});
  /// Ends every subscription; pulls still waiting complete with WBEM_E_CALL_CANCELLED.
  ~SubscriptionManager();
  /// What the opener of a subscription (the caller who subscribed) holds now: lwmid re-reads the
  /// account's groups. With it set, the manager's thread checks every subscription made with a
  /// privilege enabled every kRightsCheckEvery, and ends one whose opener no longer holds it —
  /// so a Pull already waiting when an admin was removed from admin_group ends too (with
  /// WBEM_E_CALL_CANCELLED), not only the next Pull or Renew. Unset (embedded mode): no check.
  using RightsCheck = std::function<security::PrivilegeSet(const security::Caller& opener)>;
  static constexpr std::chrono::seconds kRightsCheckEvery{2};
  /// Before the first subscribe.
  void set_rights_check(RightsCheck check);
  /// What the destructor does, earlier (before the server that waits on pulls stops); later
  /// subscribes are refused.
  void shutdown();
  SubscriptionManager(const SubscriptionManager&) = delete;
  SubscriptionManager& operator=(const SubscriptionManager&) = delete;

  /// Subscribes `caller` to the event query `wql`. `expires`: the lease asked for (capped at
  /// max_expiry; default_expiry when absent); `heartbeat`: the interval asked for, if any;
  /// `connection`: the local connection it was made on, if it ends with it (connection_closed).
  /// WBEM_E_QUOTA_VIOLATION over the per-user or total quota; the opener's error for a bad query.
  /// `options`: lwmi's additions (the exec guard), passed to the opener.
  Result<Granted> subscribe(const security::Caller& caller, std::string_view wql,
                            std::optional<Millis> expires, std::optional<Millis> heartbeat,
                            std::optional<uint64_t> connection = std::nullopt,
                            const NotificationOptions& options = {});
  /// The local connection `connection` has closed: the subscriptions made on it end soon (on the
  /// manager's thread; a waiting pull completes with WBEM_E_CALL_CANCELLED), audited. Returns at
  /// once; any thread.
  void connection_closed(uint64_t connection);
  /// Delivers up to `max` queued events (at least 1), waiting up to `wait` (capped at
  /// max_pull_wait) for the first. `done` runs exactly once, maybe before pull() returns. A
  /// pull still waiting on the same subscription is answered as timed out.
  /// Errors: WBEM_E_NOT_FOUND (unknown or ended), WBEM_E_ACCESS_DENIED (another owner's; or
  /// `caller` no longer holds a privilege enabled at Subscribe: the subscription is ended),
  /// WBEM_E_QUEUE_OVERFLOW (events were dropped since the last pull; the count is in the
  /// message as "N event(s) dropped"), WBEM_E_CALL_CANCELLED (unsubscribed or shut down while
  /// waiting), the stream's own error.
  void pull(const std::string& id, const security::Caller& caller, uint32_t max, Millis wait,
            PullDone done);
  /// Pull, waiting on the calling thread.
  Result<PullResult> pull_sync(const std::string& id, const security::Caller& caller, uint32_t max,
                               Millis wait);
  /// Puts events a pull took back at the front of the queue, in order (they did not fit in the
  /// answer); nothing when the subscription has ended.
  void give_back(const std::string& id, std::vector<Instance> events);
  /// Extends the lease; returns the lease granted. Like pull(), ends the subscription when the
  /// caller no longer holds a privilege enabled at Subscribe (WBEM_E_ACCESS_DENIED).
  Result<Millis> renew(const std::string& id, const security::Caller& caller,
                       std::optional<Millis> expires);
  /// Ends a subscription (a waiting pull completes with WBEM_E_CALL_CANCELLED).
  Result<void> unsubscribe(const std::string& id, const security::Caller& caller);

  /// The subscriptions `caller` owns (made by its uid from its pid namespace), by id.
  std::vector<SubscriptionInfo> list(const security::Caller& caller) const;

  /// True while a subscription made on local connection `connection` lives (it ends with it).
  bool holds_connection(uint64_t connection) const;
  size_t size() const;
  /// True while a subscription with this id exists (whoever owns it).
  bool exists(const std::string& id) const;
  size_t count_for(uid_t uid) const;
  const SubscriptionLimits& limits() const { return limits_; }

  /// The count of dropped events an overflow error carries (0 when it says none or is no
  /// overflow). The count is data (Error::dropped_events), never read from the message.
  static uint64_t dropped_in(const Error& overflow);

 private:
  struct Subscription;
  using Clock = std::chrono::steady_clock;
  struct Completion {
    PullDone done;
    Result<PullResult> result;
  };

  void pump(Subscription* s);
  void housekeeping() EXCLUDES(mu_);
  /// With mu_ held: completes s's waiter if it can be (events, heartbeat, deadline, error).
  void try_complete_locked(Subscription& s, Clock::time_point now, std::vector<Completion>* out)
      REQUIRES(mu_);
  /// With mu_ held: takes s out of the table (the caller joins its pump after unlocking).
  std::shared_ptr<Subscription> remove_locked(const std::string& id, const char* why,
                                              std::vector<Completion>* out) REQUIRES(mu_);
  void finish(std::vector<Completion>& completions,
              std::vector<std::shared_ptr<Subscription>>& ended);
  /// With mu_ held: ends subscription `id`, whose owner's caller no longer holds `lost`; the
  /// error to answer with (audit it with audit_revoked once unlocked).
  Error revoke_locked(const std::string& id, security::Privilege lost,
                      std::vector<Completion>* completions,
                      std::vector<std::shared_ptr<Subscription>>* ended) REQUIRES(mu_);
  void audit_revoked(const security::Caller& caller, const Subscription& s, const Error& why);
  Millis grant(std::optional<Millis> asked) const;
  void audit(const security::Caller& caller, const std::string& action, const std::string& result,
             const std::string& query, const std::string& detail);

  SubscriptionLimits limits_;
  StreamOpener opener_;
  security::AuditLog* audit_;
  std::function<void(const std::string&)> log_;
  mutable base::Mutex mu_;
  std::condition_variable cv_;  ///< wakes housekeeping
  std::map<std::string, std::shared_ptr<Subscription>> subs_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  RightsCheck rights_check_ GUARDED_BY(mu_);
  Clock::time_point next_rights_check_ GUARDED_BY(mu_){};
  /// With mu_ held, on the housekeeper: ends the subscriptions whose opener lost a privilege
  /// enabled at Subscribe (unlocks mu_ while it asks rights_check_, and while it finishes the
  /// subscriptions it ended); true when it ended any.
  bool check_rights(Clock::time_point now) REQUIRES(mu_);
  std::thread housekeeper_;
};

}  // namespace lwmi::event
