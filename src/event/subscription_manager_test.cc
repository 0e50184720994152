#include "event/subscription_manager.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <deque>
#include <fstream>
#include <future>
#include <limits>
#include <sstream>

#include "cim/schema.h"
#include "event/subscription_provider.h"

namespace lwmi::event {
namespace {

using namespace std::chrono_literals;

/// Events a test injects, shared by a fake stream and the test (a kernel event on demand).
struct Feed {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Instance> events;
  std::optional<Error> error;
  uint64_t lost = 0;
  std::atomic<int> open_streams{0};
  std::atomic<int> interrupts{0};
  bool interrupted = false;  // guarded by mu: the next next() returns false at once

  void push(int pid) {
    Instance target(cim::Schema::builtin().find("Win32_Process"));
    target.set("ProcessId", Value::uint32(static_cast<uint32_t>(pid)));
    target.set("Handle", Value::string(std::to_string(pid)));
    Instance ev(cim::Schema::builtin().find("__InstanceCreationEvent"));
    ev.set("TargetInstance", Value::object(std::make_shared<Instance>(target)));
    {
      std::lock_guard<std::mutex> lock(mu);
      events.push_back(std::move(ev));
    }
    cv.notify_all();
  }
  size_t pending() {
    std::lock_guard<std::mutex> lock(mu);
    return events.size();
  }
};

class FakeStream : public EventStream {
 public:
  explicit FakeStream(std::shared_ptr<Feed> feed) : feed_(std::move(feed)) {
    ++feed_->open_streams;
  }
  ~FakeStream() override { --feed_->open_streams; }
  Result<bool> next(Instance* event, int timeout_ms) override {
    std::unique_lock<std::mutex> lock(feed_->mu);
    feed_->cv.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
      return !feed_->events.empty() || feed_->error || feed_->interrupted;
    });
    if (feed_->error) return *feed_->error;
    if (std::exchange(feed_->interrupted, false)) return false;
    if (feed_->events.empty()) return false;
    *event = std::move(feed_->events.front());
    feed_->events.pop_front();
    return true;
  }
  uint64_t lost() const override { return feed_->lost; }
  void interrupt() override {
    ++feed_->interrupts;
    {
      std::lock_guard<std::mutex> lock(feed_->mu);
      feed_->interrupted = true;
    }
    feed_->cv.notify_all();
  }

 private:
  std::shared_ptr<Feed> feed_;
};

security::Caller user(uid_t uid, std::string name) {
  security::Caller c;
  c.uid = c.euid = uid;
  c.user = std::move(name);
  c.embedded = false;
  c.remote = true;
  c.peer = "https:127.0.0.1:4000";
  return c;
}

int pid_of(const Instance& ev) {
  return static_cast<int>(ev.get("TargetInstance")->as_object()->get("ProcessId")->as_u64());
}

class SubscriptionManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lwmi-subs-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    config::AuditConfig ac;
    ac.journal = false;
    ac.file = dir_ + "/audit.log";
    audit_ = std::make_unique<security::AuditLog>(ac);
  }
  void TearDown() override {
    manager_.reset();
    std::remove((dir_ + "/audit.log").c_str());
    ::rmdir(dir_.c_str());
  }
  SubscriptionManager& make(SubscriptionLimits limits = {}) {
    manager_ = std::make_unique<SubscriptionManager>(
        limits,
        [feed = feed_](const security::Caller&, std::string_view wql,
                       const NotificationOptions&) -> Result<std::unique_ptr<EventStream>> {
          if (wql.find("SELEKT") != std::string_view::npos)
            return Error{WbemStatus::kInvalidQuery, "expected SELECT", size_t{0}};
          return std::unique_ptr<EventStream>(std::make_unique<FakeStream>(feed));
        },
        audit_.get());
    return *manager_;
  }
  std::string audit_text() {
    std::ifstream in(dir_ + "/audit.log");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  /// Waits until the pump moved every injected event into the queue.
  void drain() {
    for (int i = 0; i < 500 && feed_->pending() > 0; ++i) std::this_thread::sleep_for(2ms);
    std::this_thread::sleep_for(20ms);  // the pump's last push
  }

  std::shared_ptr<Feed> feed_ = std::make_shared<Feed>();
  std::string dir_;
  std::unique_ptr<security::AuditLog> audit_;
  std::unique_ptr<SubscriptionManager> manager_;
  security::Caller alice_ = user(1001, "alice");
  security::Caller bob_ = user(1002, "bob");
  const std::string wql_ =
      "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Win32_Process'";
};

TEST_F(SubscriptionManagerTest, PullDeliversQueuedEventsUpToMax) {
  auto& m = make();
  auto g = m.subscribe(alice_, wql_, std::nullopt, std::nullopt);
  ASSERT_TRUE(g.ok()) << g.error().to_string();
  for (int pid = 100; pid < 105; ++pid) feed_->push(pid);
  drain();
  auto r = m.pull_sync(g->id, alice_, 3, 0ms);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_EQ(r->events.size(), 3u);
  EXPECT_EQ(pid_of(r->events[0]), 100);
  EXPECT_EQ(pid_of(r->events[2]), 102);
  r = m.pull_sync(g->id, alice_, 10, 0ms);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->events.size(), 2u);
  EXPECT_EQ(pid_of(r->events[1]), 104);
}

TEST_F(SubscriptionManagerTest, PullWaitsForTheFirstEventWithoutHoldingTheCaller) {
  auto& m = make();
  auto g = m.subscribe(alice_, wql_, std::nullopt, std::nullopt);
  ASSERT_TRUE(g.ok());
  std::promise<Result<PullResult>> p;
  auto f = p.get_future();
  m.pull(g->id, alice_, 5, 10s, [&](Result<PullResult> r) { p.set_value(std::move(r)); });
  // pull() returned with nothing to deliver: the callback has not run.
  EXPECT_EQ(f.wait_for(50ms), std::future_status::timeout);
  feed_->push(42);
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  auto r = f.get();
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->events.size(), 1u);
  EXPECT_EQ(pid_of(r->events[0]), 42);
  EXPECT_FALSE(r->timed_out);
}

TEST_F(SubscriptionManagerTest, PullTimesOutWhenNothingHappens) {
  auto& m = make();
  auto g = m.subscribe(alice_, wql_, std::nullopt, std::nullopt);
  ASSERT_TRUE(g.ok());
  auto start = std::chrono::steady_clock::now();
  auto r = m.pull_sync(g->id, alice_, 5, 150ms);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_FALSE(r->heartbeat);
  EXPECT_TRUE(r->events.empty());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 150ms);
}

TEST_F(SubscriptionManagerTest, WaitIsCappedAtMaxPullWait) {
  SubscriptionLimits l;
  l.max_pull_wait = 100ms;
  auto& m = make(l);
  auto g = m.subscribe(alice_, wql_, std::nullopt, std::nullopt);
  ASSERT_TRUE(g.ok());
  auto r = m.pull_sync(g->id, alice_, 5, std::chrono::hours(1));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
}

TEST_F(SubscriptionManagerTest, HeartbeatWhenNothingHappenedWithinTheInterval) {
  SubscriptionLimits l;
  l.min_heartbeat = 10ms;
  auto& m = make(l);
  auto g = m.subscribe(alice_, wql_, std::nullopt, Millis(100));
  ASSERT_TRUE(g.ok());
  ASSERT_TRUE(g->heartbeat);
  EXPECT_EQ(*g->heartbeat, 100ms);
  auto r = m.pull_sync(g->id, alice_, 5, 10s);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->heartbeat);
  EXPECT_FALSE(r->timed_out);
  // A heartbeat request below the minimum is raised to it.
  auto g2 = m.subscribe(alice_, wql_, std::nullopt, Millis(1));
  ASSERT_TRUE(g2.ok());
  EXPECT_EQ(*g2->heartbeat, 10ms);
}

TEST_F(SubscriptionManagerTest, AHugeHeartbeatIsLoweredToTheLongestPullWait) {
  SubscriptionLimits l;
  l.max_pull_wait = 2s;
  auto& m = make(l);
  auto g = m.subscribe(alice_, wql_, std::nullopt, Millis::max());
  ASSERT_TRUE(g.ok());
  ASSERT_TRUE(g->heartbeat);
  EXPECT_EQ(*g->heartbeat, 2s);
  // Not overflowed into a heartbeat due at once: a short pull times out.
  auto r = m.pull_sync(g->id, alice_, 5, 300ms);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->heartbeat);
  EXPECT_TRUE(r->timed_out);
}

TEST_F(SubscriptionManagerTest, OverflowIsReportedOnTheNextPullThenQueuedEventsFollow) {
  SubscriptionLimits l;
  l.queue_size = 3;
  auto& m = make(l);
  auto g = m.subscribe(alice_, wql_, std::nullopt, std::nullopt);
  ASSERT_TRUE(g.ok());
  for (int pid = 1; pid <= 7; ++pid) feed_->push(pid);
  drain();
  auto r = m.pull_sync(g->id, alice_, 10, 0ms);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, WbemStatus::kQueueOverflow);
  EXPECT_EQ(SubscriptionManager::dropped_in(r.error()), 4u) << r.error().message;
  r = m.pull_sync(g->id, alice_, 10, 0ms);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_EQ(r->events.size(), 3u);  // the first three, in order
  EXPECT_EQ(pid_of(r->events[0]), 1);
  EXPECT_EQ(pid_of(r->events[2]), 3);
  r = m.pull_sync(g->id, alice_, 10, 0ms);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);  // the overflow was reported once
  std::string a = audit_text();
  EXPECT_NE(a.find("action=EventQueueOverflow result=WBEM_E_QUEUE_OVERFLOW"), std::string::npos)
      << a;
}

TEST_F(SubscriptionManagerTest, QuotaPerUser) {
  SubscriptionLimits l;
  l.max_per_user = 2;
  auto& m = make(l);
  auto a1 = m.subscribe(alice_, wql_, std::nullopt, std::nullopt);
  auto a2 = m.subscribe(alice_, wql_, std::nullopt, std::nullopt);
  ASSERT_TRUE(a1.ok() && a2.ok());
  auto a3 = m.subscribe(alice_, wql_, std::nullopt, std::nullopt);
  ASSERT_FALSE(a3.ok());
  EXPECT_EQ(a3.error().code, WbemStatus::kQuotaViolation);
  EXPECT_NE(a3.error().message.find("max_subscriptions_per_user"), std::string::npos);
  EXPECT_TRUE(m.subscribe(bob_, wql_, std::nullopt, std::nullopt).ok());  // bob has his own
  ASSERT_TRUE(m.unsubscribe(a1->id, alice_).ok());
  EXPECT_TRUE(m.subscribe(alice_, wql_, std::nullopt, std::nullopt).ok());
  EXPECT_EQ(m.count_for(alice_.uid), 2u);
  EXPECT_EQ(m.size(), 3u);
  EXPECT_NE(audit_text().find("result=WBEM_E_QUOTA_VIOLATION"), std::string::npos);
}

TEST_F(SubscriptionManagerTest, QuotaInAll) {
  SubscriptionLimits l;
  l.max_total = 1;
  auto& m = make(l);
  ASSERT_TRUE(m.subscribe(alice_, wql_, std::nullopt, std::nullopt).ok());
  auto b = m.subscribe(bob_, wql_, std::nullopt, std::nullopt);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, WbemStatus::kQuotaViolation);
}

// The same uid in a child pid namespace (a container) is not the owner of a host subscription.
TEST_F(SubscriptionManagerTest, TheSameUidInAnotherPidNamespaceIsAccessDenied) {
  auto& m = make();
  auto g = m.subscribe(alice_, wql_, std::nullopt, std::nullopt);
  ASSERT_TRUE(g.ok());
  feed_->push(7);
  drain();
  security::Caller contained = alice_;
  contained.pid_ns = os::PidNamespaceId{4026532000u, 1};
  auto r = m.pull_sync(g->id, contained, 5, 0ms);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, WbemStatus::kAccessDenied) << r.error().to_string();
  auto u = m.unsubscribe(g->id, contained);
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.error().code, WbemStatus::kAccessDenied);
  auto n = m.renew(g->id, contained, Millis(1000));
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error().code, WbemStatus::kAccessDenied);
  r = m.pull_sync(g->id, alice_, 5, 0ms);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->events.size(), 1u) << "the owner still gets her event";
}

// A connection whose process is gone (nowhere) owns nothing a real caller made, and the other
// way round.
TEST_F(SubscriptionManagerTest, ACallerThatIsNowhereIsNotTheOwner) {
  auto& m = make();
  auto g = m.subscribe(alice_, wql_, std::nullopt, std::nullopt);
  ASSERT_TRUE(g.ok());
  security::Caller orphan = alice_;
  orphan.pid_ns = security::Caller::kNowhere;
  auto r = m.pull_sync(g->id, orphan, 5, 0ms);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, WbemStatus::kAccessDenied);
  auto n = m.renew(g->id, orphan, Millis(1000));
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error().code, WbemStatus::kAccessDenied);
  auto mine = m.subscribe(orphan, wql_, std::nullopt, std::nullopt);
  ASSERT_TRUE(mine.ok());
  r = m.pull_sync(mine->id, alice_, 5, 0ms);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, WbemStatus::kAccessDenied);
}

// Rights are those of each request: an admin removed from admin_group since Subscribe (a later
// request no longer holds SeDebugPrivilege) cannot pull or renew what it made with the privilege
// enabled: the subscription is ended, its waiting pull cancelled, and it is audited.
TEST_F(SubscriptionManagerTest, APrivilegeLostSinceSubscribeEndsTheSubscription) {
  auto& m = make();
  security::Caller admin = alice_;
  admin.held.add(security::Privilege::kDebug);
  ASSERT_TRUE(admin.enable(security::Privilege::kDebug));
  security::Caller admin_not_enabling = admin;
  admin_not_enabling.enabled = {};
  security::Caller demoted = alice_;  // the same user on a later request, no longer an admin

  // Still held (enabling is per request): pulls and renews go on.
  auto g = m.subscribe(admin, wql_, std::nullopt, std::nullopt);
  ASSERT_TRUE(g.ok());
  feed_->push(7);
  drain();
  auto r = m.pull_sync(g->id, admin_not_enabling, 5, 0ms);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->events.size(), 1u);
  ASSERT_TRUE(m.renew(g->id, admin_not_enabling, Millis(1000)).ok());

  // Renew by the demoted caller: refused, and the subscription is gone.
  auto n = m.renew(g->id, demoted, Millis(1000));
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error().code, WbemStatus::kAccessDenied) << n.error().to_string();
  EXPECT_NE(n.error().message.find("SeDebugPrivilege"), std::string::npos);
  EXPECT_FALSE(m.exists(g->id));
  EXPECT_EQ(feed_->open_streams.load(), 0);

  // Pull by the demoted caller while another pull waits: both end, nothing delivered.
  auto g2 = m.subscribe(admin, wql_, std::nullopt, std::nullopt);
  ASSERT_TRUE(g2.ok());
  std::promise<Result<PullResult>> p;
  auto waiting = p.get_future();
  m.pull(g2->id, admin, 5, 10s, [&](Result<PullResult> got) { p.set_value(std::move(got)); });
  r = m.pull_sync(g2->id, demoted, 5, 0ms);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, WbemStatus::kAccessDenied) << r.error().to_string();
  ASSERT_EQ(waiting.wait_for(5s), std::future_status::ready);
  auto w = waiting.get();
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().code, WbemStatus::kCallCancelled);
  feed_->push(8);
  EXPECT_FALSE(m.exists(g2->id));
  r = m.pull_sync(g2->id, admin, 5, 0ms);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, WbemStatus::kNotFound);
  std::string a = audit_text();
  EXPECT_NE(a.find("action=Unsubscribe result=WBEM_E_ACCESS_DENIED caller.uid=1001"),
            std::string::npos)
      << a;
  EXPECT_NE(a.find("no longer held"), std::string::npos) << a;
}

// A Pull already waiting when the opener loses the privilege (an admin removed from
// admin_group) ends too: the manager's thread re-checks the opener's rights.
TEST_F(SubscriptionManagerTest, APullAlreadyWaitingEndsWhenTheOpenerLosesThePrivilege) {
  auto& m = make();
  std::atomic<bool> still_admin{true};
  std::atomic<int> checks{0};
  m.set_rights_check([&](const security::Caller& opener) {
    ++checks;
    EXPECT_EQ(opener.uid, alice_.uid);
    security::PrivilegeSet held;
    if (still_admin) held.add(security::Privilege::kDebug);
    return held;
  });
  security::Caller admin = alice_;
  admin.held.add(security::Privilege::kDebug);
  ASSERT_TRUE(admin.enable(security::Privilege::kDebug));
  auto plain = m.subscribe(bob_, wql_, std::nullopt, std::nullopt);  // no privilege: unchecked
  auto g = m.subscribe(admin, wql_, std::nullopt, std::nullopt);
  ASSERT_TRUE(g.ok() && plain.ok());
  std::promise<Result<PullResult>> p;
  auto waiting = p.get_future();
  m.pull(g->id, admin, 5, 60s, [&](Result<PullResult> got) { p.set_value(std::move(got)); });
  // Still held: the pull keeps waiting through a check or two.
  std::this_thread::sleep_for(SubscriptionManager::kRightsCheckEvery + 500ms);
  EXPECT_EQ(waiting.wait_for(0ms), std::future_status::timeout);
  EXPECT_TRUE(m.exists(g->id));
  EXPECT_GE(checks.load(), 1);
  still_admin = false;
  ASSERT_EQ(waiting.wait_for(SubscriptionManager::kRightsCheckEvery * 3),
            std::future_status::ready);
  auto w = waiting.get();
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().code, WbemStatus::kCallCancelled) << w.error().to_string();
  EXPECT_FALSE(m.exists(g->id));
  EXPECT_TRUE(m.exists(plain->id)) << "a subscription made without a privilege stays";
  std::string a = audit_text();  // written just after the pull is answered
  for (int i = 0; i < 100 && a.find("no longer held") == std::string::npos; ++i) {
    std::this_thread::sleep_for(20ms);
    a = audit_text();
  }
  EXPECT_NE(a.find("action=Unsubscribe result=WBEM_E_ACCESS_DENIED caller.uid=1001"),
            std::string::npos)
      << a;
  EXPECT_NE(a.find("no longer held"), std::string::npos) << a;
}

TEST_F(SubscriptionManagerTest, AnotherUsersSubscriptionIsAccessDenied) {
  auto& m = make();
  auto g = m.subscribe(alice_, wql_, std::nullopt, std::nullopt);
  ASSERT_TRUE(g.ok());
  feed_->push(7);
  drain();
  auto r = m.pull_sync(g->id, bob_, 5, 0ms);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, WbemStatus::kAccessDenied);
  auto u = m.unsubscribe(g->id, bob_);
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.error().code, WbemStatus::kAccessDenied);
  auto n = m.renew(g->id, bob_, Millis(1000));
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error().code, WbemStatus::kAccessDenied);
  // Bob's attempts took nothing: alice still gets her event.
  r = m.pull_sync(g->id, alice_, 5, 0ms);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->events.size(), 1u);
  EXPECT_NE(audit_text().find("action=Unsubscribe result=WBEM_E_ACCESS_DENIED caller.uid=1002"),
            std::string::npos)
      << audit_text();
}

TEST_F(SubscriptionManagerTest, ExpiresWhenNeitherPulledNorRenewed) {
  SubscriptionLimits l;
  l.max_expiry = 300ms;
  auto& m = make(l);
  auto g = m.subscribe(alice_, wql_, Millis(3600 * 1000), std::nullopt);  // capped
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->expires, 300ms);
  auto kept = m.subscribe(alice_, wql_, Millis(200), std::nullopt);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->expires, 200ms);
  // Pulls and renewals extend `kept`'s lease; `g` is left alone.
  for (int i = 0; i < 6; ++i) {
    std::this_thread::sleep_for(100ms);
    if (i % 2)
      ASSERT_TRUE(m.renew(kept->id, alice_, Millis(200)).ok());
    else
      ASSERT_TRUE(m.pull_sync(kept->id, alice_, 1, 0ms).ok());
  }
  auto r = m.pull_sync(g->id, alice_, 1, 0ms);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, WbemStatus::kNotFound);
  EXPECT_TRUE(m.pull_sync(kept->id, alice_, 1, 0ms).ok());
  EXPECT_EQ(m.size(), 1u);
  std::string a = audit_text();
  EXPECT_NE(a.find("action=SubscriptionExpired result=0 caller.uid=1001"), std::string::npos) << a;
  EXPECT_NE(a.find(g->id), std::string::npos);
}

TEST_F(SubscriptionManagerTest, AWaitingPullKeepsTheSubscriptionAlive) {
  SubscriptionLimits l;
  l.max_expiry = 100ms;
  auto& m = make(l);
  auto g = m.subscribe(alice_, wql_, std::nullopt, std::nullopt);
  ASSERT_TRUE(g.ok());
  auto r = m.pull_sync(g->id, alice_, 1, 400ms);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_TRUE(r->timed_out);
  EXPECT_TRUE(m.pull_sync(g->id, alice_, 1, 0ms).ok());
}

TEST_F(SubscriptionManagerTest, UnsubscribeInterruptsThePumpsWait) {
  auto& m = make();
  auto g = m.subscribe(alice_, wql_, std::nullopt, std::nullopt);
  ASSERT_TRUE(g.ok());
  std::this_thread::sleep_for(20ms);  // the pump waits in next()
  EXPECT_EQ(feed_->interrupts.load(), 0);
  ASSERT_TRUE(m.unsubscribe(g->id, alice_).ok());
  EXPECT_EQ(feed_->interrupts.load(), 1) << "the stream was told to stop waiting";
  EXPECT_EQ(feed_->open_streams.load(), 0) << "and its pump was joined";
}

TEST_F(SubscriptionManagerTest, UnsubscribeEndsTheStreamAndAWaitingPull) {
  auto& m = make();
  auto g = m.subscribe(alice_, wql_, std::nullopt, std::nullopt);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(feed_->open_streams.load(), 1);
  std::promise<Result<PullResult>> p;
  auto f = p.get_future();
  m.pull(g->id, alice_, 5, 10s, [&](Result<PullResult> r) { p.set_value(std::move(r)); });
  ASSERT_TRUE(m.unsubscribe(g->id, alice_).ok());
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  auto r = f.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, WbemStatus::kCallCancelled);
  EXPECT_EQ(feed_->open_streams.load(), 0);
  auto again = m.unsubscribe(g->id, alice_);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, WbemStatus::kNotFound);
  std::string a = audit_text();
  EXPECT_NE(a.find("action=Subscribe result=0 caller.uid=1001 caller.user=alice"),
            std::string::npos)
      << a;
  EXPECT_NE(a.find("action=Unsubscribe result=0"), std::string::npos) << a;
  EXPECT_NE(a.find("peer=https:127.0.0.1:4000"), std::string::npos) << a;
  EXPECT_NE(a.find("TargetInstance ISA"), std::string::npos) << a;
}

// A client killed before it could unsubscribe: its connection closing ends what it made on it,
// and nothing else.
TEST_F(SubscriptionManagerTest, ClosingItsConnectionEndsASubscriptionAndAWaitingPull) {
  SubscriptionLimits l;
  l.max_per_user = 2;
  auto& m = make(l);
  auto on7 = m.subscribe(alice_, wql_, std::nullopt, std::nullopt, 7);
  auto on8 = m.subscribe(alice_, wql_, std::nullopt, std::nullopt, 8);
  auto remote = m.subscribe(bob_, wql_, std::nullopt, std::nullopt);
  ASSERT_TRUE(on7.ok() && on8.ok() && remote.ok());
  EXPECT_FALSE(m.subscribe(alice_, wql_, std::nullopt, std::nullopt, 9).ok());  // the quota
  std::promise<Result<PullResult>> p;
  auto f = p.get_future();
  m.pull(on7->id, alice_, 5, 10s, [&](Result<PullResult> r) { p.set_value(std::move(r)); });
  m.connection_closed(7);
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  auto r = f.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, WbemStatus::kCallCancelled);
  for (int i = 0; i < 500 && m.exists(on7->id); ++i) std::this_thread::sleep_for(2ms);
  EXPECT_FALSE(m.exists(on7->id));
  EXPECT_TRUE(m.exists(on8->id));
  EXPECT_TRUE(m.exists(remote->id));
  m.connection_closed(1234);  // a connection that made none
  EXPECT_EQ(m.size(), 2u);
  // The quota is free again.
  EXPECT_TRUE(m.subscribe(alice_, wql_, std::nullopt, std::nullopt, 9).ok());
  // Audited by the manager's thread once the stream has ended.
  std::string line = "action=Unsubscribe result=0 caller.uid=1001";
  std::string why = "id=" + on7->id + ": its connection closed";
  std::string a;
  for (int i = 0; i < 500; ++i, std::this_thread::sleep_for(2ms))
    if ((a = audit_text()).find(why) != std::string::npos) break;
  EXPECT_NE(a.find(why), std::string::npos) << a;
  EXPECT_NE(a.find(line), std::string::npos) << a;
}

// LWMI_EventSubscription: a user lists, reads and deletes its own subscriptions; another user's
// (or the same uid's from another pid namespace) do not exist for it.
TEST_F(SubscriptionManagerTest, ProviderShowsAndEndsOnlyTheCallersOwn) {
  auto& m = make();
  SubscriptionProvider p(m);
  auto mine = m.subscribe(alice_, wql_, std::nullopt, std::nullopt);
  auto his = m.subscribe(bob_, wql_ + " AND TargetInstance.Name = 'b'", std::nullopt, std::nullopt);
  ASSERT_TRUE(mine.ok() && his.ok());
  auto list = [&](const security::Caller& c) {
    std::vector<Instance> out;
    auto s = p.enumerate(c, {});
    Instance i;
    while (s->next(&i)) out.push_back(i);
    return out;
  };
  auto seen = list(alice_);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].get("Id")->to_text(), mine->id);
  EXPECT_EQ(seen[0].get("Query")->to_text(), wql_);
  EXPECT_EQ(seen[0].get("User")->to_text(), "alice");
  EXPECT_EQ(seen[0].get("UserId")->as_u64(), 1001u);
  EXPECT_EQ(seen[0].get("LeaseSeconds")->as_u64(), 600u);
  EXPECT_EQ(seen[0].identity().to_string(), "LWMI_EventSubscription.Id=\"" + mine->id + "\"");
  security::Caller alice_in_container = alice_;
  alice_in_container.pid_ns = os::PidNamespaceId{4026532000u, 1};
  auto path = [](const std::string& id) {
    ObjectPath o;
    o.class_name = "LWMI_EventSubscription";
    o.keys.push_back({"Id", Value::string(id)});
    return o;
  };
  for (const auto* intruder : {&bob_, &alice_in_container}) {
    auto got = p.get(*intruder, path(mine->id), {});
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.error().code, WbemStatus::kNotFound);
    auto gone = p.remove(*intruder, path(mine->id));
    ASSERT_FALSE(gone.ok());
    EXPECT_EQ(gone.error().code, WbemStatus::kNotFound);
  }
  EXPECT_TRUE(m.exists(mine->id));
  EXPECT_TRUE(p.get(alice_, path(mine->id), {}).ok());
  ASSERT_TRUE(p.remove(alice_, path(mine->id)).ok());
  EXPECT_FALSE(m.exists(mine->id));
  EXPECT_TRUE(list(alice_).empty());
  EXPECT_EQ(list(bob_).size(), 1u);
}

TEST_F(SubscriptionManagerTest, BadQueryIsRefusedWithItsErrorAndAudited) {
  auto& m = make();
  auto g = m.subscribe(alice_, "SELEKT * FROM x", std::nullopt, std::nullopt);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error().code, WbemStatus::kInvalidQuery);
  EXPECT_EQ(g.error().position, size_t{0});
  EXPECT_EQ(m.size(), 0u);
  EXPECT_NE(audit_text().find("action=Subscribe result=WBEM_E_INVALID_QUERY"), std::string::npos);
}

TEST_F(SubscriptionManagerTest, ANewPullReplacesAWaitingOne) {
  auto& m = make();
  auto g = m.subscribe(alice_, wql_, std::nullopt, std::nullopt);
  ASSERT_TRUE(g.ok());
  std::promise<Result<PullResult>> p;
  auto f = p.get_future();
  m.pull(g->id, alice_, 5, 10s, [&](Result<PullResult> r) { p.set_value(std::move(r)); });
  std::promise<Result<PullResult>> p2;
  auto f2 = p2.get_future();
  m.pull(g->id, alice_, 5, 10s, [&](Result<PullResult> r) { p2.set_value(std::move(r)); });
  ASSERT_EQ(f.wait_for(0s), std::future_status::ready);
  auto first = f.get();
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->timed_out);
  feed_->push(9);
  ASSERT_EQ(f2.wait_for(5s), std::future_status::ready);
  auto second = f2.get();
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->events.size(), 1u);
}

TEST_F(SubscriptionManagerTest, StreamErrorReachesThePuller) {
  auto& m = make();
  auto g = m.subscribe(alice_, wql_, std::nullopt, std::nullopt);
  ASSERT_TRUE(g.ok());
  {
    std::lock_guard<std::mutex> lock(feed_->mu);
    feed_->error = Error{WbemStatus::kProviderFailure, "netlink socket closed"};
  }
  feed_->cv.notify_all();
  auto r = m.pull_sync(g->id, alice_, 1, 5s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, WbemStatus::kProviderFailure);
}

TEST_F(SubscriptionManagerTest, DestructionCancelsWaitingPulls) {
  auto& m = make();
  auto g = m.subscribe(alice_, wql_, std::nullopt, std::nullopt);
  ASSERT_TRUE(g.ok());
  std::promise<Result<PullResult>> p;
  auto f = p.get_future();
  m.pull(g->id, alice_, 5, 10s, [&](Result<PullResult> r) { p.set_value(std::move(r)); });
  manager_.reset();
  ASSERT_EQ(f.wait_for(0s), std::future_status::ready);
  EXPECT_EQ(f.get().error().code, WbemStatus::kCallCancelled);
  EXPECT_EQ(feed_->open_streams.load(), 0);
}

TEST(SubscriptionManagerStatic, DroppedIn) {
  // The count is data: the message's text plays no part (a server's count beyond 64 bits
  // saturates where the client codec reads it: client_codec_test, FaultCarriesLwmiData).
  auto overflow = [](std::string message, uint64_t dropped) {
    Error e{WbemStatus::kQueueOverflow, std::move(message)};
    e.dropped_events = dropped;
    return e;
  };
  EXPECT_EQ(SubscriptionManager::dropped_in(overflow("overflowed: the rest", 12)), 12u);
  EXPECT_EQ(SubscriptionManager::dropped_in(overflow("no count", 0)), 0u);
  EXPECT_EQ(SubscriptionManager::dropped_in(overflow("overflowed: 12 event(s) dropped", 0)), 0u);
  Error failed{WbemStatus::kFailed, "3 event(s) dropped"};
  failed.dropped_events = 3;
  EXPECT_EQ(SubscriptionManager::dropped_in(failed), 0u);
  EXPECT_EQ(
      SubscriptionManager::dropped_in(overflow("overflowed", std::numeric_limits<uint64_t>::max())),
      std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(SubscriptionManager::dropped_in(overflow("overflowed", 18446744073709551615u)),
            18446744073709551615u);
}

}  // namespace
}  // namespace lwmi::event
