// watch: events as they happen, on one host or many, and with --terminate each process an event
// names ended (by the kernel at its exec where it can decide the filter, else after it started).
#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <mutex>
#include <set>

#include "base/mutex.h"
#include "cli/console.h"
#include "cli/exit_status.h"
#include "cli/stop_signals.h"
#include "cli/verb_parts.h"
#include "cli/verbs.h"
#include "event/event_query.h"
#include "event/terminate_target.h"

namespace lwmi::cli {
namespace {

using event::terminate_target;
using event::TerminateTarget;

// What Terminate did, with every untrusted part (pid, name, the method's notes) as lwmic shows
// untrusted text.
std::string terminate_outcome_shown(TerminateTarget target, MethodResult result) {
  target.pid = display_text(target.pid);
  target.name = display_text(target.name);
  for (auto& n : result.notes) n = display_text(n);
  return event::terminate_outcome(target, result);
}

// An identifier such as Win32_ProcessStartTrace (a class name, not a query).
bool is_class_name(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return true;
}

/// The watch's shared state: whether it is to stop, and every host's open subscription, so
/// that a signal, the count reached or a broken pipe ends each at once.
class Watch {
 public:
  explicit Watch(size_t hosts) : hosts_(hosts) {}

  void stop() {
    stop_ = true;
    base::MutexLock lock(mu_);
    for (EventStream* s : streams_) s->interrupt();  // next() returns at once
  }
  bool stopped() const { return stop_; }
  void add(EventStream* s) {
    base::MutexLock lock(mu_);
    streams_.insert(s);
  }
  void remove(EventStream* s) {
    base::MutexLock lock(mu_);
    streams_.erase(s);
  }
  /// A host subscribed, or failed before it could: the "watching" line once all have.
  void settle(const std::string& node, bool many) {
    base::MutexLock lock(mu_);
    if (!settled_.insert(node).second || settled_.size() != hosts_) return;
    if (many)
      std::cerr << "lwmic: watching " << hosts_ << " host(s) (Ctrl-C to stop)" << std::endl;
    else
      std::cerr << "lwmic: watching (Ctrl-C to stop)" << std::endl;
  }
  /// A line about one host's events, as it happens.
  void say(const std::string& node, bool many, const std::string& line) {
    base::MutexLock lock(mu_);
    std::cerr << "lwmic: " << (many ? display_text(node) + ": " : std::string()) << line << '\n';
  }

  std::atomic<size_t> events{0};
  std::atomic<bool> broken_pipe{false};

 private:
  size_t hosts_;
  std::atomic<bool> stop_{false};
  base::Mutex mu_;
  std::set<EventStream*> streams_ GUARDED_BY(mu_);
  std::set<std::string> settled_ GUARDED_BY(mu_);
};

}  // namespace

int run_watch(const Invocation& inv) {
  const VerbArgs& a = inv.a;
  const bool many = inv.g.many();
  // A class name alone means every event of it, as Register-CimIndicationEvent takes a class.
  std::string wql = is_class_name(a.wql) ? "SELECT * FROM " + a.wql : a.wql;
  // Before any prompt or connection: the query, and --terminate on events about ended processes.
  if (auto q = event::compile_event_query(wql); !q.ok()) {
    print_error(q.error(), wql);
    return kExitWbemError;
  }
  if (a.terminate) {
    if (std::string why = event::terminate_refusal(wql); !why.empty()) {
      std::cerr << "lwmic: error: " << why << '\n';
      return kExitUsage;
    }
  }
  // A watch holds a subscription on each host until it unsubscribes: Ctrl-C, SIGTERM and SIGHUP
  // end it through an unsubscribe (taken before any thread starts: threads inherit the mask),
  // and a reader that goes away (a broken pipe) is noticed rather than fatal.
  StopSignals signals;
  std::signal(SIGPIPE, SIG_IGN);
  Watch watch(many ? inv.g.nodes.size() : 1);
  signals.on_stop([&] { watch.stop(); });
  auto start = std::chrono::steady_clock::now();

  HostJob job;
  job.input = wql;
  job.streams = true;
  job.event_query = wql;
  job.say_when_empty = false;
  job.throttle = many ? inv.g.nodes.size() : 1;  // each host is held for the whole watch
  job.op = [&](HostContext& h) -> Result<void> {
    auto say = [&](const std::string& line) { watch.say(h.node(), many, line); };
    NotificationOptions notify;
    // --terminate asks for the exec guard: where the kernel can decide the filter, a matching
    // program is killed at its exec, before its first instruction.
    notify.guard = a.terminate && !a.no_guard;
    notify.guard_own_session = a.guard_own_session;
    auto subscribed = h.services().exec_notification_query(wql, notify);
    if (!subscribed.ok()) return subscribed.take_error();
    std::unique_ptr<EventStream> stream = std::move(*subscribed);
    watch.add(stream.get());
    // Subscribed: from here on no process start is missed.
    if (notify.guard) {
      GuardStatus gs = stream->guard_status();
      if (gs.active)
        say("kernel guard on: " + display_text(gs.summary) +
            " is killed at its exec, before its first instruction");
      else
        say("kernel guard not used (" +
            display_text(gs.requested ? gs.refusal : "the server did not answer the request") +
            "): each matching process is ended after it starts");
    }
    watch.settle(h.node(), many);
    Result<void> result;
    while (!watch.stopped()) {
      // Many hosts: wake twice a second at least, to see whether another ended the watch.
      int wait = many ? 500 : -1;
      if (a.seconds > 0) {
        double left =
            a.seconds -
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (left <= 0) break;
        int ms = static_cast<int>(left * 1000) + 1;
        wait = wait < 0 ? ms : std::min(wait, ms);
      }
      Instance ev;
      auto got = stream->next(&ev, wait);
      if (!got.ok()) {
        result = got.take_error();
        break;
      }
      if (!*got || watch.stopped()) continue;
      bool blocked = ev.class_name() == "LWMI_ProcessBlockedTrace";
      std::optional<Result<TerminateTarget>> target;
      if (a.terminate && !blocked) target = terminate_target(ev);
      if (a.terminate && blocked) {
        // The kernel ended it at its exec: nothing is left to terminate.
        auto pid = ev.get("ProcessID");
        auto name = ev.get("ProcessName");
        say("blocked process " +
            (pid && !pid->is_null() ? display_text(pid->to_text()) : std::string("?")) + " (" +
            (name && !name->is_null() ? display_text(name->to_text())
                                      : std::string("name not visible")) +
            ") at its exec, before its first instruction (kernel guard)");
      }
      h.emit(std::move(ev));
      if (target && !target->ok()) {
        if (target->error().code == WbemStatus::kNotFound)
          h.note(target->error().message);
        else
          h.error(target->take_error());
      } else if (target) {
        // The process by its pid and start time: a reused pid is never hit.
        ++h.tally.calls;
        auto r = h.services().exec_method((*target)->path, "Terminate",
                                          {{"Reason", Value::uint32(a.reason)}});
        if (!r.ok()) {
          Error e = r.take_error();
          e.message = "process " + (*target)->pid + ": " + e.message;
          h.error(std::move(e));
        } else {
          if (r->return_value == 0)  // (a refusal's explanation is in the outcome line)
            for (const auto& note : r->notes) h.note(note);
          ++(r->return_value == 0 ? h.tally.returned_zero : h.tally.returned_nonzero);
          say(terminate_outcome_shown(**target, *r));
        }
      }
      if (a.count && ++watch.events >= a.count) watch.stop();
    }
    watch.remove(stream.get());  // the stream's last uses follow
    if (stream->dropped())
      say("warning: " + std::to_string(stream->dropped()) +
          " event(s) were dropped by the server because they came faster than they were "
          "pulled (WBEM_E_QUEUE_OVERFLOW)");
    if (stream->lost())
      say("note: " + std::to_string(stream->lost()) +
          " kernel event(s) were lost; /proc was rescanned so none was missed");
    if (a.stats) {
      auto source_line = [](const Instance& src) {
        std::string line = "event source:";
        for (const auto& [name, value] : src.properties())
          line += ' ' + display_text(name) + '=' +
                  (value.is_null() ? std::string("NULL") : display_text(value.to_text()));
        return line;
      };
      if (auto state = stream->source_state()) {
        say(source_line(*state));  // FallbackReason: why a preferred source was not used
      } else if (auto sources = h.services().enumerate_instances("LWMI_EventSource");
                 sources.ok()) {
        // Through lwmid: its process-wide sources (the one in use has Active > 0).
        Instance src;
        while ((*sources)->next(&src)) say(source_line(src));
      } else {
        say("note: this connection does not report its event source");
      }
    }
    stream.reset();  // unsubscribes
    return result;
  };
  job.on_row = [&](const Instance&) {
    if (!std::cout) {  // the reader went away: end the watch cleanly
      watch.broken_pipe = true;
      watch.stop();
    }
  };
  job.on_host_done = [&](const HostReport& r) { watch.settle(r.node, many); };
  job.summary = [&](const HostTally& t, bool many_hosts) -> std::string {
    if (!many_hosts) return "";
    std::string s = std::to_string(t.instances) + " event(s)";
    if (a.terminate) s += "; " + std::to_string(t.returned_zero) + " process(es) ended";
    return s;
  };
  int status = run_on_hosts(inv.g, job);
  signals.on_stop({});  // every subscription has ended; a signal from here on ends lwmic
  if (watch.broken_pipe) StopSignals::end_as(SIGPIPE);
  signals.end_as_received();
  return status;
}

}  // namespace lwmi::cli
