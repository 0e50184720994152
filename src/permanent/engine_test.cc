// engine_test.cc — the engine with scripted event streams (the real streams and processes are in
// tests/e2e/test_permanent.py): which bindings run, what a terminate consumer ends, failures
// counted and the breaker, restarts on change and on reload.
#include "permanent/engine.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <thread>

#include "cim/schema.h"

namespace lwmi::permanent {
namespace {

// Events pushed by the test; next() waits for one.
class ScriptedStream : public EventStream {
 public:
  struct Queue {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<Instance> events;
    bool interrupted = false;
  };
  explicit ScriptedStream(std::shared_ptr<Queue> q) : q_(std::move(q)) {}
  Result<bool> next(Instance* event, int timeout_ms) override {
    std::unique_lock<std::mutex> lock(q_->mu);
    q_->cv.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                    [&] { return !q_->events.empty() || q_->interrupted; });
    if (q_->events.empty()) return false;
    *event = std::move(q_->events.front());
    q_->events.pop_front();
    return true;
  }
  void interrupt() override {
    std::lock_guard<std::mutex> lock(q_->mu);
    q_->interrupted = true;
    q_->cv.notify_all();
  }
  GuardStatus guard_status() const override {
    GuardStatus g;
    g.requested = true;
    g.refusal = "scripted";
    return g;
  }

 private:
  std::shared_ptr<Queue> q_;
};

Instance StartTrace(uint32_t pid, const std::string& name) {
  Instance e(cim::Schema::builtin().find("Win32_ProcessStartTrace"));
  e.set("ProcessID", Value::uint32(pid));
  e.set("ProcessName", Value::string(name));
  e.set("ProcessCreationDate", Value::datetime("20261207120000.000000+000"));
  return e;
}

struct Fixture {
  std::mutex mu;
  std::vector<std::string> opened;  // queries, in order
  std::vector<std::shared_ptr<ScriptedStream::Queue>> queues;
  std::vector<std::string> terminated;
  uint32_t answer = 0;  // Terminate's return value

  EngineDeps deps() {
    EngineDeps d;
    d.open_stream = [this](std::string_view wql,
                           const NotificationOptions&) -> Result<std::unique_ptr<EventStream>> {
      std::lock_guard<std::mutex> lock(mu);
      opened.emplace_back(wql);
      queues.push_back(std::make_shared<ScriptedStream::Queue>());
      return std::unique_ptr<EventStream>(new ScriptedStream(queues.back()));
    };
    d.terminate = [this](const std::string& path, uint32_t) -> Result<uint32_t> {
      std::lock_guard<std::mutex> lock(mu);
      terminated.push_back(path);
      return answer;
    };
    d.breaker_failures = 3;
    return d;
  }
  void push(size_t stream, Instance e) {
    auto q = queues.at(stream);
    std::lock_guard<std::mutex> lock(q->mu);
    q->events.push_back(std::move(e));
    q->cv.notify_all();
  }
};

Definitions OneBinding(const std::string& query) {
  Definitions d;
  EventFilter f;
  f.name = "f";
  f.query = query;
  d.filters.push_back(f);
  Consumer c;
  c.name = "t";
  c.spec = TerminateConsumer{7};
  d.consumers.push_back(c);
  Binding b;
  b.filter = "f";
  b.consumer = ConsumerRef{"LWMI_TerminateProcessEventConsumer", "t"};
  d.bindings.push_back(b);
  return d;
}

template <class Pred>
bool Eventually(Pred p) {
  for (int i = 0; i < 500; ++i) {
    if (p()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

const char* kTrace = "SELECT * FROM Win32_ProcessStartTrace WHERE ProcessName = 'x'";

TEST(Engine, ATerminateConsumerEndsTheProcessByPidAndStartTime) {
  Fixture fx;
  Engine engine(fx.deps());
  engine.apply(OneBinding(kTrace));
  ASSERT_EQ(fx.opened.size(), 1u);
  fx.push(0, StartTrace(4242, "x"));
  ASSERT_TRUE(Eventually([&] { return engine.states().at(0).fired == 1; }));
  std::lock_guard<std::mutex> lock(fx.mu);
  ASSERT_EQ(fx.terminated.size(), 1u);
  EXPECT_NE(fx.terminated[0].find("4242"), std::string::npos);
  EXPECT_NE(fx.terminated[0].find("20261207120000.000000+000"), std::string::npos);
  EXPECT_EQ(engine.states().at(0).guard, "off: scripted");
}

TEST(Engine, FailuresTripTheBreakerAndAReloadResetsIt) {
  Fixture fx;
  fx.answer = 2;  // access denied, every time
  Engine engine(fx.deps());
  const Definitions defs = OneBinding(kTrace);
  engine.apply(defs);
  for (uint32_t i = 0; i < 5; ++i) fx.push(0, StartTrace(100 + i, "x"));
  ASSERT_TRUE(Eventually([&] { return engine.states().at(0).state == "tripped"; }));
  const BindingState s = engine.states().at(0);
  EXPECT_EQ(s.failures, 3u) << "events taken after the breaker opened";
  EXPECT_NE(s.last_failure.find("returned 2"), std::string::npos) << s.last_failure;
  engine.apply(defs);  // unchanged: stays tripped
  EXPECT_EQ(engine.states().at(0).state, "tripped");
  engine.apply(defs, /*reset=*/true);
  EXPECT_EQ(engine.states().at(0).state, "active");
  EXPECT_EQ(fx.opened.size(), 2u) << "the reset binding has a new stream";
}

TEST(Engine, ChangedDefinitionsRestartOnlyWhatChanged) {
  Fixture fx;
  Engine engine(fx.deps());
  Definitions defs = OneBinding(kTrace);
  engine.apply(defs);
  engine.apply(defs);
  EXPECT_EQ(fx.opened.size(), 1u) << "an unchanged binding was restarted";
  defs.filters[0].query = "SELECT * FROM Win32_ProcessStartTrace WHERE ProcessName = 'y'";
  engine.apply(defs);
  ASSERT_EQ(fx.opened.size(), 2u);
  EXPECT_EQ(fx.opened[1], defs.filters[0].query);
  defs.bindings.clear();
  engine.apply(defs);
  EXPECT_TRUE(engine.states().empty());
}

TEST(Engine, AQueryTerminateCannotActOnFailsVisibly) {
  Fixture fx;
  Engine engine(fx.deps());
  engine.apply(OneBinding("SELECT * FROM Win32_ProcessStopTrace"));
  ASSERT_EQ(engine.states().size(), 1u);
  EXPECT_EQ(engine.states()[0].state, "failed");
  EXPECT_FALSE(engine.states()[0].last_failure.empty());
  EXPECT_TRUE(fx.opened.empty());
}

}  // namespace
}  // namespace lwmi::permanent
