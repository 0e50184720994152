#include "event/subscription_manager.h"
#include "base/mutex.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <deque>
#include <future>
#include <limits>
#include <string_view>

#include "base/strings.h"
#include "base/uuid.h"

namespace lwmi::event {
namespace {

constexpr int kPumpPollMs = 200;  ///< how often a pump checks its stop flag (interrupt() aside)

// A subscription is its owner's (Caller::Owner: a same-uid caller in a container must not pull
// the host's events, nor the host a container's, nor a connection whose process is gone).
bool owned_by(const security::Caller& owner, const security::Caller& caller) {
  return owner.owner() == caller.owner();
}

std::string seconds(Millis m) {
  char buf[32];
  if (m.count() % 1000 == 0)
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(m.count() / 1000));
  else
    std::snprintf(buf, sizeof buf, "%.3fs", static_cast<double>(m.count()) / 1000.0);
  return buf;
}

}  // namespace

struct SubscriptionManager::Subscription {
  struct Waiter {
    uint32_t max = 1;
    Clock::time_point deadline;
    PullDone done;
  };
  std::string id;
  security::Caller owner;
  std::string query;
  std::unique_ptr<EventStream> stream;  ///< touched by the pump thread only
  std::thread pump;
  std::atomic<bool> stop{false};
  // Guarded by the manager's mu_:
  std::deque<Instance> queue;
  uint64_t dropped = 0;        ///< dropped since the last pull that reported them
  bool guard_tripped = false;  ///< the pump audited its kernel rule's breaker opening
  uint64_t lost = 0;
  Millis lease{0};
  std::optional<Millis> heartbeat;
  Clock::time_point expires_at;
  Clock::time_point last_delivery;
  std::optional<Error> stream_error;
  std::optional<Waiter> waiter;
  std::optional<uint64_t> connection;  ///< the local connection it ends with
  bool connection_closed = false;
};

SubscriptionManager::SubscriptionManager(SubscriptionLimits limits, StreamOpener opener,
                                         security::AuditLog* audit,
                                         std::function<void(const std::string&)> log)
    : limits_(limits), opener_(std::move(opener)), audit_(audit), log_(std::move(log)) {
  if (limits_.queue_size == 0) limits_.queue_size = 1;
  housekeeper_ = std::thread([this] { housekeeping(); });
}

SubscriptionManager::~SubscriptionManager() {
  shutdown();
}

void SubscriptionManager::shutdown() {
  std::vector<Completion> completions;
  std::vector<std::shared_ptr<Subscription>> ended;
  {
    base::MutexLock lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    while (!subs_.empty())
      ended.push_back(remove_locked(subs_.begin()->first, "lwmid stopped", &completions));
  }
  cv_.notify_all();
  housekeeper_.join();
  finish(completions, ended);
  for (auto& s : ended)
    audit(s->owner, "Unsubscribe", "0", s->query, "id=" + s->id + ": lwmid stopped");
}

Millis SubscriptionManager::grant(std::optional<Millis> asked) const {
  if (!asked || asked->count() <= 0) return std::min(limits_.default_expiry, limits_.max_expiry);
  return std::min(*asked, limits_.max_expiry);
}

void SubscriptionManager::audit(const security::Caller& caller, const std::string& action,
                                const std::string& result, const std::string& query,
                                const std::string& detail) {
  if (!audit_) return;
  security::AuditRecord rec;
  rec.action = action;
  rec.result = result;
  rec.params = "query=" + query;
  rec.detail = detail;
  std::string problem = audit_->record(caller, rec);
  if (!problem.empty() && log_) log_(problem);
}

Result<Granted> SubscriptionManager::subscribe(const security::Caller& caller, std::string_view wql,
                                               std::optional<Millis> expires,
                                               std::optional<Millis> heartbeat,
                                               std::optional<uint64_t> connection,
                                               const NotificationOptions& options) {
  std::string query(wql);
  auto refuse = [&](Error e) -> Result<Granted> {
    audit(caller, "Subscribe", std::string(wbem_status_name(e.code)), query, e.message);
    return e;
  };
  auto quota = [&]() REQUIRES(mu_) -> std::optional<Error> {
    if (stopping_) return Error{WbemStatus::kCallCancelled, "lwmid is stopping"};
    size_t mine = 0;
    for (const auto& [id, s] : subs_) mine += s->owner.uid == caller.uid;
    if (mine >= limits_.max_per_user)
      return Error{WbemStatus::kQuotaViolation,
                   "user " + (caller.user.empty() ? std::to_string(caller.uid) : caller.user) +
                       " has " + std::to_string(mine) +
                       " event subscriptions, the most allowed ([events] "
                       "max_subscriptions_per_user); Unsubscribe some"};
    if (subs_.size() >= limits_.max_total)
      return Error{WbemStatus::kQuotaViolation,
                   "lwmid serves " + std::to_string(subs_.size()) +
                       " event subscriptions, the most allowed ([events] max_subscriptions)"};
    return std::nullopt;
  };
  std::optional<Error> over;
  {
    base::MutexLock lock(mu_);
    over = quota();
  }
  if (over) return refuse(std::move(*over));
  // Compiles the query and starts the source (and installs kernel rules): may take a while.
  auto stream = opener_(caller, wql, options);
  if (!stream.ok()) return refuse(stream.take_error());

  auto s = std::make_shared<Subscription>();
  s->id = base::new_uuid();
  s->owner = caller;
  s->query = query;
  s->connection = connection;
  s->stream = std::move(*stream);
  s->lease = grant(expires);
  if (heartbeat && heartbeat->count() > 0)
    // At most the longest pull wait: a longer one never fires, and a huge one overflowed
    // steady_clock (a heartbeat due at once, at every pull).
    s->heartbeat = std::min(std::max(*heartbeat, limits_.min_heartbeat),
                            std::max(limits_.max_pull_wait, limits_.min_heartbeat));
  auto now = Clock::now();
  s->expires_at = now + s->lease;
  s->last_delivery = now;
  {
    base::MutexLock lock(mu_);
    over = quota();  // others may have subscribed meanwhile
    if (!over) {
      subs_[s->id] = s;
      Subscription* raw = s.get();
      s->pump = std::thread([this, raw] { pump(raw); });
    }
  }
  if (over) return refuse(std::move(*over));
  cv_.notify_all();
  Granted g{s->id, s->lease, s->heartbeat, s->stream->guard_status()};
  std::string guard;
  if (g.guard.active)
    guard = " guard=kernel rule: " + g.guard.summary;
  else if (g.guard.requested)
    guard = " guard=refused: " + g.guard.refusal;
  audit(caller, "Subscribe", "0", query,
        "id=" + g.id + " expires=" + seconds(g.expires) +
            (g.heartbeat ? " heartbeat=" + seconds(*g.heartbeat) : std::string()) + guard);
  return g;
}

void SubscriptionManager::pump(Subscription* s) {
  while (!s->stop.load()) {
    Instance ev;
    auto got = s->stream->next(&ev, kPumpPollMs);
    uint64_t lost = s->stream->lost();
    // A program this subscription's kernel rule killed at its exec: each one audited.
    std::string blocked_text;
    if (got.ok() && *got && ev.class_name() == "LWMI_ProcessBlockedTrace")
      if (auto rule = ev.get("Rule"); rule && !rule->is_null()) {
        auto text = [&](const char* p) {
          auto v = ev.get(p);
          return v && !v->is_null() ? v->to_text() : std::string("NULL");
        };
        blocked_text = "pid=" + text("ProcessID") + " name=" + text("ProcessName") +
                       " path=" + text("ExecutablePath") + " rule=" + rule->to_text();
      }
    std::vector<Completion> completions;
    bool overflowed = false;
    {
      base::MutexLock lock(mu_);
      s->lost = lost;
      if (!got.ok()) {
        s->stream_error = got.error();
      } else if (*got) {
        if (s->queue.size() >= limits_.queue_size) {
          overflowed = s->dropped++ == 0;
        } else {
          s->queue.push_back(std::move(ev));
        }
      }
      try_complete_locked(*s, Clock::now(), &completions);
    }
    for (auto& c : completions) c.done(std::move(c.result));
    if (!got.ok()) return;  // the subscription stays until it ends; its pulls report the error
    if (*got && !blocked_text.empty())
      audit(s->owner, "ExecBlocked", "0", s->query, "id=" + s->id + " " + blocked_text);
    if (!s->guard_tripped && s->stream->guard_status().tripped) {
      s->guard_tripped = true;
      audit(s->owner, "ExecGuardTripped", "WBEM_E_QUOTA_VIOLATION", s->query,
            "id=" + s->id +
                ": its kernel rule blocked too many starts per second ([guard] "
                "breaker_per_second) and blocks nothing more");
    }
    if (overflowed)
      audit(s->owner, "EventQueueOverflow", "WBEM_E_QUEUE_OVERFLOW", s->query,
            "id=" + s->id + " queue=" + std::to_string(limits_.queue_size) +
                ": events are dropped until the subscriber pulls");
  }
}

void SubscriptionManager::try_complete_locked(Subscription& s, Clock::time_point now,
                                              std::vector<Completion>* out) {
  if (!s.waiter) return;
  std::optional<Result<PullResult>> result;
  if (s.dropped > 0) {
    Error overflow{WbemStatus::kQueueOverflow,
                   "the subscription's event queue (" + std::to_string(limits_.queue_size) +
                       " events) overflowed: " + std::to_string(s.dropped) +
                       " event(s) dropped; the queued events follow with the next Pull"};
    overflow.dropped_events = s.dropped;
    result = Result<PullResult>(std::move(overflow));
    s.dropped = 0;
  } else if (!s.queue.empty()) {
    PullResult r;
    while (!s.queue.empty() && r.events.size() < s.waiter->max) {
      r.events.push_back(std::move(s.queue.front()));
      s.queue.pop_front();
    }
    r.lost = s.lost;
    result = std::move(r);
  } else if (s.stream_error) {
    result = Result<PullResult>(*s.stream_error);
  } else if (s.heartbeat && now >= s.last_delivery + *s.heartbeat) {
    PullResult r;
    r.heartbeat = true;
    r.lost = s.lost;
    result = std::move(r);
  } else if (now >= s.waiter->deadline) {
    PullResult r;
    r.timed_out = true;
    r.lost = s.lost;
    result = std::move(r);
  }
  if (!result) return;
  out->push_back(Completion{std::move(s.waiter->done), std::move(*result)});
  s.waiter.reset();
  s.last_delivery = now;
  s.expires_at = now + s.lease;
}

void SubscriptionManager::pull(const std::string& id, const security::Caller& caller, uint32_t max,
                               Millis wait, PullDone done) {
  std::vector<Completion> completions;
  std::vector<std::shared_ptr<Subscription>> ended;
  std::optional<Error> revoked;
  {
    base::MutexLock lock(mu_);
    auto it = subs_.find(id);
    if (it == subs_.end()) {
      completions.push_back(
          {std::move(done),
           Error{WbemStatus::kNotFound,
                 "no event subscription '" + id + "' (never made, unsubscribed, or expired)"}});
    } else if (!owned_by(it->second->owner, caller)) {
      completions.push_back(
          {std::move(done),
           Error{WbemStatus::kAccessDenied,
                 "the event subscription '" + id + "' belongs to another user or pid namespace"}});
    } else if (auto lost = caller.privilege_lost_since(it->second->owner)) {
      revoked = revoke_locked(id, *lost, &completions, &ended);
      completions.push_back({std::move(done), *revoked});
    } else {
      Subscription& s = *it->second;
      auto now = Clock::now();
      if (s.waiter) {
        // A new Pull replaces one still waiting (its client may have given up): the old one
        // is answered as timed out, and the events go to the new one.
        PullResult gone;
        gone.timed_out = true;
        gone.lost = s.lost;
        completions.push_back({std::move(s.waiter->done), std::move(gone)});
        s.waiter.reset();
      }
      wait = std::clamp(wait, Millis(0), limits_.max_pull_wait);
      s.waiter = Subscription::Waiter{std::max<uint32_t>(max, 1), now + wait, std::move(done)};
      try_complete_locked(s, now, &completions);
    }
  }
  cv_.notify_all();
  finish(completions, ended);
  if (revoked) audit_revoked(caller, *ended.front(), *revoked);
}

Result<PullResult> SubscriptionManager::pull_sync(const std::string& id,
                                                  const security::Caller& caller, uint32_t max,
                                                  Millis wait) {
  std::promise<Result<PullResult>> promise;
  auto future = promise.get_future();
  pull(id, caller, max, wait,
       [&promise](Result<PullResult> r) { promise.set_value(std::move(r)); });
  return future.get();
}

void SubscriptionManager::give_back(const std::string& id, std::vector<Instance> events) {
  base::MutexLock lock(mu_);
  auto it = subs_.find(id);
  if (it == subs_.end()) return;
  auto& q = it->second->queue;
  q.insert(q.begin(), std::make_move_iterator(events.begin()),
           std::make_move_iterator(events.end()));
}

Result<Millis> SubscriptionManager::renew(const std::string& id, const security::Caller& caller,
                                          std::optional<Millis> expires) {
  std::vector<Completion> completions;
  std::vector<std::shared_ptr<Subscription>> ended;
  std::optional<Error> revoked;
  {
    base::MutexLock lock(mu_);
    auto it = subs_.find(id);
    if (it == subs_.end())
      return Error{WbemStatus::kNotFound,
                   "no event subscription '" + id + "' (never made, unsubscribed, or expired)"};
    Subscription& s = *it->second;
    if (!owned_by(s.owner, caller))
      return Error{WbemStatus::kAccessDenied,
                   "the event subscription '" + id + "' belongs to another user or pid namespace"};
    if (auto lost = caller.privilege_lost_since(s.owner)) {
      revoked = revoke_locked(id, *lost, &completions, &ended);
    } else {
      s.lease = grant(expires);
      s.expires_at = Clock::now() + s.lease;
      return s.lease;
    }
  }
  cv_.notify_all();
  finish(completions, ended);
  audit_revoked(caller, *ended.front(), *revoked);
  return *revoked;
}

Result<void> SubscriptionManager::unsubscribe(const std::string& id,
                                              const security::Caller& caller) {
  std::vector<Completion> completions;
  std::vector<std::shared_ptr<Subscription>> ended;
  std::optional<std::string> denied;  // the query of another user's subscription
  {
    base::MutexLock lock(mu_);
    auto it = subs_.find(id);
    if (it == subs_.end())
      return Error{WbemStatus::kNotFound,
                   "no event subscription '" + id + "' (never made, unsubscribed, or expired)"};
    if (!owned_by(it->second->owner, caller))
      denied = it->second->query;
    else
      ended.push_back(remove_locked(id, "unsubscribed", &completions));
  }
  if (denied) {
    Error e{WbemStatus::kAccessDenied,
            "the event subscription '" + id + "' belongs to another user or pid namespace"};
    audit(caller, "Unsubscribe", "WBEM_E_ACCESS_DENIED", *denied, "id=" + id + ": " + e.message);
    return e;
  }
  cv_.notify_all();
  finish(completions, ended);
  audit(caller, "Unsubscribe", "0", ended.front()->query, "id=" + id);
  return {};
}

std::vector<SubscriptionInfo> SubscriptionManager::list(const security::Caller& caller) const {
  std::vector<SubscriptionInfo> out;
  auto now = Clock::now();
  base::MutexLock lock(mu_);
  for (const auto& [id, s] : subs_) {
    if (!owned_by(s->owner, caller)) continue;
    SubscriptionInfo i;
    i.id = id;
    i.query = s->query;
    i.user = s->owner.user;
    i.uid = s->owner.uid;
    i.peer = s->owner.peer;
    i.lease = s->lease;
    i.pulling = s->waiter.has_value();
    if (!i.pulling && s->expires_at > now)
      i.expires_in = std::chrono::duration_cast<Millis>(s->expires_at - now);
    i.queued = s->queue.size();
    i.dropped = s->dropped;
    out.push_back(std::move(i));
  }
  return out;
}

bool SubscriptionManager::holds_connection(uint64_t connection) const {
  base::MutexLock lock(mu_);
  for (const auto& [id, s] : subs_)
    if (s->connection == connection && !s->connection_closed) return true;
  return false;
}

void SubscriptionManager::connection_closed(uint64_t connection) {
  bool any = false;
  {
    base::MutexLock lock(mu_);
    for (auto& [id, s] : subs_)
      if (s->connection == connection) any = s->connection_closed = true;
  }
  if (any) cv_.notify_all();  // the housekeeper ends them: the caller may be an I/O thread
}

size_t SubscriptionManager::size() const {
  base::MutexLock lock(mu_);
  return subs_.size();
}

bool SubscriptionManager::exists(const std::string& id) const {
  base::MutexLock lock(mu_);
  return subs_.count(id) != 0;
}

size_t SubscriptionManager::count_for(uid_t uid) const {
  base::MutexLock lock(mu_);
  size_t n = 0;
  for (const auto& [id, s] : subs_) n += s->owner.uid == uid;
  return n;
}

uint64_t SubscriptionManager::dropped_in(const Error& e) {
  return e.code == WbemStatus::kQueueOverflow ? e.dropped_events : 0;
}

Error SubscriptionManager::revoke_locked(const std::string& id, security::Privilege lost,
                                         std::vector<Completion>* completions,
                                         std::vector<std::shared_ptr<Subscription>>* ended) {
  // Its stream was opened with the privilege, and filters and reads with it: it cannot go on.
  std::string why = std::string(security::privilege_name(lost)) +
                    ", enabled when the subscription was made, is no longer held";
  ended->push_back(remove_locked(id, "rights changed", completions));
  return Error{WbemStatus::kAccessDenied,
               "the event subscription '" + id + "' is ended: " + why + "; subscribe again"};
}

void SubscriptionManager::audit_revoked(const security::Caller& caller, const Subscription& s,
                                        const Error& why) {
  audit(caller, "Unsubscribe", std::string(wbem_status_name(why.code)), s.query,
        "id=" + s.id + ": " + why.message);
}

std::shared_ptr<SubscriptionManager::Subscription> SubscriptionManager::remove_locked(
    const std::string& id, const char* why, std::vector<Completion>* out) {
  auto it = subs_.find(id);
  auto s = it->second;
  subs_.erase(it);
  s->stop = true;
  s->stream->interrupt();  // the pump's next() returns now, not at its next poll
  if (s->waiter) {
    out->push_back(Completion{
        std::move(s->waiter->done),
        Error{WbemStatus::kCallCancelled,
              "the event subscription ended while a Pull waited (" + std::string(why) + ")"}});
    s->waiter.reset();
  }
  return s;
}

void SubscriptionManager::finish(std::vector<Completion>& completions,
                                 std::vector<std::shared_ptr<Subscription>>& ended) {
  for (auto& c : completions) c.done(std::move(c.result));
  for (auto& s : ended)
    if (s->pump.joinable()) s->pump.join();
}

void SubscriptionManager::set_rights_check(RightsCheck check) {
  base::MutexLock lock(mu_);
  rights_check_ = std::move(check);
}

bool SubscriptionManager::check_rights(Clock::time_point now) {
  if (!rights_check_ || now < next_rights_check_) return false;
  next_rights_check_ = now + kRightsCheckEvery;
  std::vector<std::pair<std::string, security::Caller>> privileged;
  for (auto& [id, s] : subs_)
    for (security::Privilege p : security::kPrivileges)
      if (s->owner.can(p)) {
        privileged.emplace_back(id, s->owner);
        break;
      }
  if (privileged.empty()) return false;
  // Account lookups read files: not under the lock every pull takes.
  RightsCheck check = rights_check_;
  mu_.unlock();
  std::vector<std::pair<std::string, security::Privilege>> lost;
  for (auto& [id, opener] : privileged) {
    security::Caller current = opener;
    current.held = check(opener);
    if (auto p = current.privilege_lost_since(opener)) lost.emplace_back(id, *p);
  }
  mu_.lock();
  std::vector<Completion> completions;
  std::vector<std::shared_ptr<Subscription>> ended;
  std::vector<Error> why;
  for (auto& [id, p] : lost)
    if (subs_.count(id)) why.push_back(revoke_locked(id, p, &completions, &ended));
  if (ended.empty()) return false;
  mu_.unlock();
  finish(completions, ended);
  for (size_t i = 0; i < ended.size(); ++i) audit_revoked(ended[i]->owner, *ended[i], why[i]);
  ended.clear();  // their streams end here, unlocked
  mu_.lock();
  return true;
}

void SubscriptionManager::housekeeping() {
  base::MutexLock lock(mu_);
  while (!stopping_) {
    if (check_rights(Clock::now())) continue;
    auto now = Clock::now();
    std::vector<Completion> completions;
    std::vector<std::shared_ptr<Subscription>> expired;
    std::vector<std::string> expire_ids;
    std::vector<std::string> closed_ids;
    for (auto& [id, s] : subs_) {
      if (s->connection_closed)
        closed_ids.push_back(id);
      else if (s->waiter)
        try_complete_locked(*s, now, &completions);
      else if (now >= s->expires_at)
        expire_ids.push_back(id);
    }
    for (const auto& id : expire_ids) expired.push_back(remove_locked(id, "expired", &completions));
    std::vector<std::shared_ptr<Subscription>> closed;
    for (const auto& id : closed_ids)
      closed.push_back(remove_locked(id, "its connection closed", &completions));
    // The next moment something is due.
    auto next = now + std::chrono::seconds(5);
    if (rights_check_) next = std::min(next, next_rights_check_);
    for (auto& [id, s] : subs_) {
      if (s->waiter) {
        next = std::min(next, s->waiter->deadline);
        if (s->heartbeat) next = std::min(next, s->last_delivery + *s->heartbeat);
      } else {
        next = std::min(next, s->expires_at);
      }
    }
    if (!completions.empty() || !expired.empty() || !closed.empty()) {
      lock.unlock();
      finish(completions, expired);
      std::vector<Completion> none;  // the completions ran above
      finish(none, closed);
      for (auto& s : expired)
        audit(s->owner, "SubscriptionExpired", "0", s->query,
              "id=" + s->id + ": neither pulled nor renewed for " + seconds(s->lease));
      for (auto& s : closed)
        audit(s->owner, "Unsubscribe", "0", s->query, "id=" + s->id + ": its connection closed");
      // Their streams end here, unlocked: tearing a source down must not hold up every pull.
      expired.clear();
      closed.clear();
      lock.lock();
      continue;
    }
    lock.wait_until(cv_, next);
  }
}

}  // namespace lwmi::event
