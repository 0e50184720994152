// permanent/engine.cc — one stream and one thread per binding; outcomes counted per binding.
#include "permanent/engine.h"
#include "base/mutex.h"

#include <atomic>
#include <thread>
#include <utility>

#include "base/strings.h"
#include "event/terminate_target.h"

namespace lwmi::permanent {
namespace {

constexpr int kWaitMs = 500;  // how often a binding's thread looks at its stop flag

std::string fingerprint(const EventFilter& f, const Consumer& c) {
  std::string out;
  auto add = [&](const Properties& props) {
    for (const auto& [name, v] : props) {
      if (name == "CreatorName") continue;  // who made it changes nothing it does
      out += name;
      out += '=';
      out += v.is_null() ? std::string("\x01") : v.to_text();
      out += '\x02';
    }
  };
  add(properties_of(f));
  out += c.class_name();
  add(properties_of(c));
  return out;
}

std::string describe_event(const Instance& event) {
  for (const char* outer : {"TargetInstance", ""}) {
    const Instance* target = &event;
    if (*outer) {
      auto t = event.get(outer);
      if (!t || t->is_null() || t->type() != CimType::kObject) continue;
      target = t->as_object().get();
    }
    for (const char* name : {"Name", "ProcessName"})
      if (auto n = target->get(name); n && !n->is_null()) return n->to_text();
  }
  return "";
}

}  // namespace

struct Engine::Running {
  Binding binding;
  std::string fingerprint;
  bool terminate = false;
  uint32_t reason = 0;
  std::unique_ptr<ConsumerAction> action;
  std::unique_ptr<EventStream> stream;
  std::thread thread;
  std::atomic<bool> stopping{false};
  mutable base::Mutex mu;  // guards state
  BindingState state GUARDED_BY(mu);

  void fail(std::string why) {
    base::MutexLock lock(mu);
    state.state = "failed";
    state.last_failure = std::move(why);
  }
  void halt() {
    stopping = true;
    if (stream) stream->interrupt();
    if (thread.joinable()) thread.join();
  }
};

Engine::Engine(EngineDeps deps)
    : deps_(std::move(deps)), runner_(make_command_runner(deps_.settings)) {}

Engine::~Engine() {
  stop();
}

void Engine::stop() {
  std::map<std::string, std::shared_ptr<Running>> all;
  {
    base::MutexLock lock(mu_);
    all.swap(running_);
  }
  for (auto& [path, r] : all) r->halt();
}

void Engine::apply(const Definitions& defs, bool reset) {
  std::map<std::string, std::shared_ptr<Running>> next;
  std::vector<std::shared_ptr<Running>> to_stop;
  std::vector<std::shared_ptr<Running>> to_start;
  {
    base::MutexLock lock(mu_);
    for (const auto& b : defs.bindings) {
      const EventFilter* f = nullptr;
      for (const auto& x : defs.filters)
        if (base::iequals(x.name, b.filter)) f = &x;
      const Consumer* c = nullptr;
      for (const auto& x : defs.consumers)
        if (ConsumerRef{std::string(x.class_name()), x.name} == b.consumer) c = &x;
      if (!f || !c) continue;  // the store never lets this happen; a reload may, for a moment
      const std::string path = b.path();
      const std::string fp = fingerprint(*f, *c);
      auto it = running_.find(path);
      if (it != running_.end() && it->second->fingerprint == fp) {
        bool keep = true;
        if (reset) {
          base::MutexLock l(it->second->mu);
          keep = it->second->state.state == "active";
        }
        if (keep) {
          next[path] = it->second;
          running_.erase(it);
          continue;
        }
      }
      auto r = start(b, *f, *c);
      r->fingerprint = fp;
      next[path] = r;
      to_start.push_back(r);
    }
    for (auto& [path, r] : running_) to_stop.push_back(r);
    running_.swap(next);
  }
  for (auto& r : to_stop) r->halt();
  for (auto& r : to_start)
    if (r->stream) r->thread = std::thread([this, r] { run(r); });
}

std::shared_ptr<Engine::Running> Engine::start(const Binding& b, const EventFilter& f,
                                               const Consumer& c) {
  auto r = std::make_shared<Running>();
  r->binding = b;
  {
    base::MutexLock lock(r->mu);  // not shared yet; state is written locked
    r->state.binding = b;
    r->state.state = "active";
  }
  if (const auto* t = std::get_if<TerminateConsumer>(&c.spec)) {
    r->terminate = true;
    r->reason = t->reason;
    if (std::string why = event::terminate_refusal(f.query); !why.empty()) {
      r->fail(why);
      return r;
    }
  } else {
    auto action = make_action(c, deps_.settings, runner_);
    if (!action.ok()) {
      r->fail(action.error().message);
      return r;
    }
    r->action = std::move(*action);
  }
  NotificationOptions options;
  options.guard = r->terminate;
  options.guard_own_session = true;  // lwmid has no login session to spare
  auto stream = deps_.open_stream(f.query, options);
  if (!stream.ok()) {
    r->fail("its filter could not be run: " + stream.error().to_string());
    return r;
  }
  r->stream = std::move(*stream);
  if (r->terminate) {
    const GuardStatus g = r->stream->guard_status();
    base::MutexLock lock(r->mu);
    r->state.guard = g.active
                         ? "on: " + g.summary
                         : "off: " + (g.refusal.empty() ? std::string("not requested") : g.refusal);
  }
  return r;
}

void Engine::run(const std::shared_ptr<Running>& r) {
  while (!r->stopping) {
    Instance event;
    auto got = r->stream->next(&event, kWaitMs);
    {
      // Read on this thread, the stream's reader: a breaker that opened shows in the state.
      base::MutexLock lock(r->mu);
      r->state.lost = r->stream->lost();
      if (r->terminate && r->stream->guard_status().tripped &&
          r->state.guard.rfind("tripped", 0) != 0)
        r->state.guard =
            "tripped: the rule blocked more starts in a second than [guard] "
            "breaker_per_second; matching programs are ended after they start (" +
            r->state.guard + ")";
    }
    if (!got.ok()) {
      r->fail("its event stream ended: " + got.error().to_string());
      return;
    }
    if (!*got) continue;
    deliver(r, event);
    base::MutexLock lock(r->mu);
    if (r->state.state != "active") return;  // tripped: stop taking events
  }
}

void Engine::deliver(const std::shared_ptr<Running>& r, const Instance& event) {
  if (!r->terminate) {
    r->action->deliver(
        event, [this, r, event](Result<void> result) { outcome(r, event, std::move(result)); });
    return;
  }
  if (event.class_name() == "LWMI_ProcessBlockedTrace") {
    outcome(r, event, Result<void>());  // the kernel stopped it before it ran
    return;
  }
  auto target = event::terminate_target(event);
  if (!target.ok()) {
    outcome(r, event, target.take_error());
    return;
  }
  auto rv = deps_.terminate(target->path, r->reason);
  if (!rv.ok()) {
    outcome(r, event, rv.take_error());
  } else if (*rv == 0) {
    outcome(r, event, Result<void>());
  } else {
    outcome(r, event,
            Error{WbemStatus::kFailed,
                  "Terminate of process " + target->pid + " returned " + std::to_string(*rv)});
  }
}

void Engine::outcome(const std::shared_ptr<Running>& r, const Instance& event,
                     Result<void> result) {
  bool tripped = false;
  {
    base::MutexLock lock(r->mu);
    BindingState& s = r->state;
    if (result.ok()) {
      ++s.fired;
      s.consecutive_failures = 0;
      s.last_fired = std::chrono::system_clock::now();
    } else {
      ++s.failures;
      ++s.consecutive_failures;
      s.last_failure = result.error().message;
      if (deps_.breaker_failures && s.consecutive_failures >= deps_.breaker_failures &&
          s.state == "active") {
        s.state = "tripped";
        tripped = true;
      }
    }
  }
  if (!deps_.audit) return;
  security::AuditRecord rec;
  rec.action = "EventConsumer";
  rec.result = result.ok() ? "0" : std::string(wbem_status_name(result.error().code));
  rec.params = "binding=" + r->binding.path();
  if (event.class_name() == "LWMI_ProcessBlockedTrace") rec.params += " blocked=1";
  rec.detail = result.ok() ? describe_event(event) : result.error().message;
  deps_.audit->record(deps_.audit_caller, rec);
  if (tripped) {
    security::AuditRecord trip;
    trip.action = "EventConsumerTripped";
    trip.result = "tripped";
    trip.params = rec.params;
    trip.detail = std::to_string(deps_.breaker_failures) +
                  " failures in a row; last: " + result.error().message;
    deps_.audit->record(deps_.audit_caller, trip);
  }
}

std::vector<BindingState> Engine::states() const {
  std::vector<BindingState> out;
  base::MutexLock lock(mu_);
  for (const auto& [path, r] : running_) {
    base::MutexLock l(r->mu);
    out.push_back(r->state);
  }
  return out;
}

}  // namespace lwmi::permanent
