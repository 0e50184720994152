// WS-Eventing through Operations: openwsman's captured Subscribe/Pull/Unsubscribe decoded,
// answered and encoded, the answers read back with the client codec; events come from a fake
// stream fed by the test, the filter is compiled by the real event query compiler.
#include "wsman/eventing.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

#include "cim/schema.h"
#include "event/event_query.h"
#include "wsman/client_codec.h"
#include "wsman/envelope.h"
#include "wsman/operations.h"

namespace lwmi::wsman {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace wc = client;

std::string capture(const std::string& name) {
  fs::path p = fs::path(LWMI_SOURCE_DIR) / "fuzz/corpus/envelope" / name;
  std::ifstream in(p, std::ios::binary);
  EXPECT_TRUE(in) << p;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string replace(std::string s, const std::string& from, const std::string& to) {
  auto at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

Request decoded(const std::string& xml) {
  auto r = decode(xml);
  if (auto* f = std::get_if<Fault>(&r)) {
    ADD_FAILURE() << f->subcode << ": " << f->reason;
    return {};
  }
  return std::get<Request>(std::move(r));
}

struct Feed {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Instance> events;
  std::atomic<uint64_t> lost{0};
  void push(uint32_t pid, const std::string& name) {
    Instance target(cim::Schema::builtin().find("Win32_Process"));
    target.set("ProcessId", Value::uint32(pid));
    target.set("Handle", Value::string(std::to_string(pid)));
    target.set("Name", Value::string(name));
    Instance ev(cim::Schema::builtin().find("__InstanceCreationEvent"));
    ev.set("TargetInstance", Value::object(std::make_shared<Instance>(target)));
    ev.set("TIME_CREATED", Value::uint64(133000000000000000ull));
    {
      std::lock_guard<std::mutex> lock(mu);
      events.push_back(std::move(ev));
    }
    cv.notify_all();
  }
};

class FakeStream : public EventStream {
 public:
  explicit FakeStream(std::shared_ptr<Feed> f) : feed_(std::move(f)) {}
  Result<bool> next(Instance* ev, int timeout_ms) override {
    std::unique_lock<std::mutex> lock(feed_->mu);
    if (!feed_->cv.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                            [&] { return !feed_->events.empty(); }))
      return false;
    *ev = std::move(feed_->events.front());
    feed_->events.pop_front();
    return true;
  }
  uint64_t lost() const override { return feed_->lost; }

 private:
  std::shared_ptr<Feed> feed_;
};

security::Caller user(uid_t uid) {
  security::Caller c;
  c.uid = c.euid = uid;
  c.user = "u" + std::to_string(uid);
  c.embedded = false;
  return c;
}

class EventingOps : public ::testing::Test {
 protected:
  EventingOps() {
    limits_.min_heartbeat = 10ms;
    manager_ = std::make_unique<event::SubscriptionManager>(
        limits_,
        [feed = feed_](const security::Caller&, std::string_view wql,
                       const NotificationOptions&) -> Result<std::unique_ptr<EventStream>> {
          auto q = event::compile_event_query(wql);  // the real validation
          if (!q.ok()) return q.take_error();
          return std::unique_ptr<EventStream>(std::make_unique<FakeStream>(feed));
        },
        nullptr);
    eventing_ = std::make_unique<Eventing>(*manager_);
    ops_ = std::make_unique<Operations>(svc_, OperationLimits{}, eventing_.get());
  }
  ~EventingOps() override {
    ops_.reset();
    eventing_.reset();
    manager_.reset();
  }

  /// Handles a request and returns the encoded response envelope.
  std::string answer(const Request& r, const security::Caller& c) {
    return encode(ops_->handle(r, c));
  }
  wc::SubscribeResult subscribe(const security::Caller& c, std::optional<double> heartbeat = {}) {
    Request r = decoded(capture("07-subscribe-pull.xml"));
    r.heartbeats_s = heartbeat;
    std::string body = answer(r, c);
    auto sub = wc::parse_subscribe_response(body);
    EXPECT_TRUE(sub.ok()) << body;
    return sub.ok() ? *sub : wc::SubscribeResult{};
  }
  Request pull(const std::string& context, double timeout_s) {
    Request r = decoded(replace(capture("08-pull-events.xml"), "uuid:sub-ctx-1", context));
    r.operation_timeout_s = timeout_s;
    r.max_elements = 10;
    return r;
  }

  event::SubscriptionLimits limits_;
  std::shared_ptr<Feed> feed_ = std::make_shared<Feed>();
  service::CimService svc_{config::Config{}, os::ProcFs("/proc"), os::SystemInfo::live()};
  std::unique_ptr<event::SubscriptionManager> manager_;
  std::unique_ptr<Eventing> eventing_;
  std::unique_ptr<Operations> ops_;
  security::Caller alice_ = user(1001), bob_ = user(1002);
};

TEST_F(EventingOps, OpenwsmanSubscribePullUnsubscribe) {
  auto sub = subscribe(alice_);
  EXPECT_EQ(sub.identifier.rfind("uuid:", 0), 0u);
  EXPECT_EQ(sub.context, sub.identifier);
  EXPECT_EQ(sub.expires, "PT600.000S");  // as asked: below the 1 h maximum

  feed_->lost = 2;  // the kernel dropped two messages; the stream rescanned
  feed_->push(4242, "notepad.exe");
  std::string body = answer(pull(sub.context, 5), alice_);
  EXPECT_NE(body.find("http://schemas.xmlsoap.org/ws/2004/09/enumeration/PullResponse"),
            std::string::npos);
  auto page = wc::parse_enumeration_response(body);
  ASSERT_TRUE(page.ok()) << page.error().to_string();
  EXPECT_EQ(page->context, sub.context);
  EXPECT_FALSE(page->end_of_sequence);
  EXPECT_EQ(page->lost_events, 2u) << body;
  ASSERT_EQ(page->items.size(), 1u) << body;
  const Instance& ev = page->items[0];
  EXPECT_EQ(ev.class_name(), "__InstanceCreationEvent");
  auto target = ev.get("TargetInstance");
  ASSERT_TRUE(target && !target->is_null()) << body;
  EXPECT_EQ(target->as_object()->class_name(), "Win32_Process");
  EXPECT_EQ(target->as_object()->get("ProcessId")->as_u64(), 4242u);
  EXPECT_EQ(target->as_object()->get("Name")->as_string(), "notepad.exe");
  // The target keeps its identity: a consumer can call Terminate on it.
  EXPECT_EQ(target->as_object()->identity().to_string(), "Win32_Process.Handle=\"4242\"");

  // Nothing more: w:TimedOut, the fault clients pull again on.
  body = answer(pull(sub.context, 0.05), alice_);
  EXPECT_NE(body.find("w:TimedOut"), std::string::npos) << body;
  auto f = wc::fault_of(body);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->code, WbemStatus::kTimedOut);

  Request un = decoded(replace(capture("09-unsubscribe.xml"), "uuid:sub-1", sub.identifier));
  body = answer(un, alice_);
  EXPECT_FALSE(wc::fault_of(body)) << body;
  EXPECT_NE(body.find("eventing/UnsubscribeResponse"), std::string::npos) << body;
  body = answer(pull(sub.context, 0), alice_);
  EXPECT_NE(body.find("n:InvalidEnumerationContext"), std::string::npos) << body;
  EXPECT_EQ(manager_->size(), 0u);
}

TEST_F(EventingOps, AnotherUsersPullRenewAndUnsubscribeAreAccessDenied) {
  auto sub = subscribe(alice_);
  std::string body = answer(pull(sub.context, 0), bob_);
  EXPECT_NE(body.find("w:AccessDenied"), std::string::npos) << body;
  EXPECT_EQ(wc::fault_of(body)->code, WbemStatus::kAccessDenied);
  Request un = decoded(replace(capture("09-unsubscribe.xml"), "uuid:sub-1", sub.identifier));
  EXPECT_EQ(wc::fault_of(answer(un, bob_))->code, WbemStatus::kAccessDenied);
  Request renew = decoded(wc::renew_request({}, wc::class_uri("*"), sub.identifier, 30));
  EXPECT_EQ(renew.operation, Operation::kRenew);
  EXPECT_EQ(wc::fault_of(answer(renew, bob_))->code, WbemStatus::kAccessDenied);
  body = answer(renew, alice_);
  EXPECT_FALSE(wc::fault_of(body)) << body;
  EXPECT_NE(body.find("<e:RenewResponse><e:Expires>PT30.000S</e:Expires></e:RenewResponse>"),
            std::string::npos)
      << body;
  EXPECT_EQ(manager_->size(), 1u);
}

TEST_F(EventingOps, MaxEnvelopeSizeKeepsTheRestForTheNextPull) {
  auto sub = subscribe(alice_);
  for (uint32_t pid = 1; pid <= 3; ++pid) feed_->push(pid, "p" + std::to_string(pid));
  // Room for one event (measured: the answer with one event, as the codec writes it).
  Request r = pull(sub.context, 5);
  r.max_elements = 1;
  auto one = answer(r, alice_);
  ASSERT_FALSE(wc::fault_of(one)) << one;
  r.max_elements = 10;
  r.max_envelope_size = one.size() + 100;
  std::vector<uint64_t> pids;
  for (int i = 0; i < 2; ++i) {
    std::string body = answer(r, alice_);
    auto page = wc::parse_enumeration_response(body);
    ASSERT_TRUE(page.ok()) << body;
    ASSERT_EQ(page->items.size(), 1u) << "the rest waits for the next Pull";
    EXPECT_LE(body.size(), *r.max_envelope_size);
    pids.push_back(page->items[0].get("TargetInstance")->as_object()->get("ProcessId")->as_u64());
  }
  EXPECT_EQ(pids, (std::vector<uint64_t>{2, 3}));  // in order, none lost
  // Not even one fits: w:EncodingLimit, and the event stays for a Pull with more room.
  feed_->push(4, "p4");
  r.max_envelope_size = 600;
  std::string body = answer(r, alice_);
  EXPECT_NE(body.find("w:EncodingLimit"), std::string::npos) << body;
  r.max_envelope_size.reset();
  auto page = wc::parse_enumeration_response(answer(r, alice_));
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].get("TargetInstance")->as_object()->get("ProcessId")->as_u64(), 4u);
}

TEST_F(EventingOps, MaxTimeBoundsThePullToo) {
  auto sub = subscribe(alice_);
  Request r = pull(sub.context, 0);
  r.operation_timeout_s.reset();  // only wsen:MaxTime: else the default of 60 s would apply
  r.max_time_s = 0.05;
  auto start = std::chrono::steady_clock::now();
  Response out = ops_->handle(r, alice_);
  ASSERT_TRUE(out.fault);
  EXPECT_EQ(out.fault->subcode, "w:TimedOut");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 30s);
}

TEST_F(EventingOps, HeartbeatWhenNothingHappened) {
  auto sub = subscribe(alice_, 0.05);
  std::string body = answer(pull(sub.context, 5), alice_);
  EXPECT_TRUE(wc::is_heartbeat(body)) << body;
  auto page = wc::parse_enumeration_response(body);
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->items.empty());
  EXPECT_EQ(page->context, sub.context);
}

TEST_F(EventingOps, AsyncPullAnswersWhenTheEventComes) {
  auto sub = subscribe(alice_);
  std::promise<Response> p;
  auto f = p.get_future();
  ops_->handle_async(pull(sub.context, 10), alice_, [&](Response r) { p.set_value(std::move(r)); });
  EXPECT_EQ(f.wait_for(50ms), std::future_status::timeout);  // handle_async returned, waiting
  feed_->push(7, "x");
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  Response r = f.get();
  ASSERT_FALSE(r.fault) << r.fault->reason;
  EXPECT_EQ(r.items.size(), 1u);
  // Anything else is answered before handle_async returns.
  bool ran = false;
  Request id;
  id.operation = Operation::kIdentify;
  ops_->handle_async(id, alice_, [&](Response) { ran = true; });
  EXPECT_TRUE(ran);
}

TEST_F(EventingOps, SubscribeErrors) {
  Request bad = decoded(capture("07-subscribe-pull.xml"));
  bad.filter = "SELECT * FROM Win32_Process";
  Response out = ops_->handle(bad, alice_);
  ASSERT_TRUE(out.fault);
  EXPECT_EQ(out.fault->subcode, "w:CannotProcessFilter");
  EXPECT_EQ(out.fault->wbem, WbemStatus::kNotEventClass);
  EXPECT_NE(out.fault->reason.find("at column 15"), std::string::npos) << out.fault->reason;

  Request push = decoded(capture("07-subscribe-pull.xml"));
  push.delivery_mode.clear();
  out = ops_->handle(push, alice_);
  ASSERT_TRUE(out.fault);
  EXPECT_EQ(out.fault->subcode, "e:DeliveryModeRequestedUnavailable");

  Request dialect = decoded(capture("07-subscribe-pull.xml"));
  dialect.filter_dialect = "http://www.w3.org/TR/1999/REC-xpath-19991116";
  out = ops_->handle(dialect, alice_);
  ASSERT_TRUE(out.fault);
  EXPECT_EQ(out.fault->subcode, "w:FilterDialectRequestedUnavailable");

  Request none = decoded(capture("07-subscribe-pull.xml"));
  none.filter.clear();
  out = ops_->handle(none, alice_);
  ASSERT_TRUE(out.fault);
  EXPECT_EQ(out.fault->wbem, WbemStatus::kInvalidQuery);

  Request ns = decoded(capture("07-subscribe-pull.xml"));
  ns.resource_uri = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/default/*";
  out = ops_->handle(ns, alice_);
  ASSERT_TRUE(out.fault);
  EXPECT_EQ(out.fault->wbem, WbemStatus::kInvalidNamespace);

  Request unknown = decoded(capture("09-unsubscribe.xml"));
  out = ops_->handle(unknown, alice_);
  ASSERT_TRUE(out.fault);
  EXPECT_EQ(out.fault->wbem, WbemStatus::kNotFound);
  EXPECT_EQ(manager_->size(), 0u);
}

TEST_F(EventingOps, QuotaIsAQuotaLimitFault) {
  for (size_t i = 0; i < limits_.max_per_user; ++i) subscribe(alice_);
  Response out = ops_->handle(decoded(capture("07-subscribe-pull.xml")), alice_);
  ASSERT_TRUE(out.fault);
  EXPECT_EQ(out.fault->subcode, "w:QuotaLimit");
  EXPECT_EQ(out.fault->wbem, WbemStatus::kQuotaViolation);
}

TEST(EventingCodec, ClientSubscribeRequestDecodesToWhatItAsked) {
  wc::SubscribeOptions o;
  o.filter =
      "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Win32_Process' AND "
      "TargetInstance.Name = 'a<b'";
  o.expires_s = 120;
  o.heartbeat_s = 30;
  Request r = decoded(wc::subscribe_request({}, wc::class_uri("*"), o));
  EXPECT_EQ(r.operation, Operation::kSubscribe);
  EXPECT_EQ(r.filter, o.filter);
  EXPECT_EQ(r.filter_dialect, ns::kWqlDialect);
  EXPECT_EQ(r.delivery_mode, kPullDeliveryMode);
  EXPECT_DOUBLE_EQ(r.expires_s.value_or(0), 120);
  EXPECT_DOUBLE_EQ(r.heartbeats_s.value_or(0), 30);
  Request u = decoded(wc::unsubscribe_request({}, wc::class_uri("*"), "uuid:s-1"));
  EXPECT_EQ(u.operation, Operation::kUnsubscribe);
  EXPECT_EQ(u.identifier, "uuid:s-1");
}

TEST(EventingCodec, SubscribeResponseWithoutContextIsRefused) {
  Response resp;
  resp.action = "http://schemas.xmlsoap.org/ws/2004/08/eventing/SubscribeResponse";
  resp.subscription_id = "uuid:s";
  auto r = wc::parse_subscribe_response(encode(resp));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("EnumerationContext"), std::string::npos);
}

}  // namespace
}  // namespace lwmi::wsman
