#include "cli/hosts.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <thread>

#include "cli/console.h"
#include "cli/event_rows.h"
#include "cli/exit_status.h"

namespace lwmi::cli {
namespace {

int millis(double seconds) {
  return seconds <= 0 ? 0 : std::max(1, static_cast<int>(seconds * 1000 + 0.5));
}

/// The one host: results and notes shown as they come, on this thread.
class OneHost : public HostContext {
 public:
  OneHost(std::string node, Services& services, std::function<void(Instance)> show)
      : node_(std::move(node)), services_(services), show_(std::move(show)) {}
  const std::string& node() const override { return node_; }
  Services& services() override { return services_; }
  void emit(Instance instance) override {
    ++tally.instances;
    show_(std::move(instance));
  }
  void error(Error e) override {
    ++errors;
    print_error(e);
  }
  void note(std::string text) override { print_note(text); }

  size_t errors = 0;

 private:
  std::string node_;
  Services& services_;
  std::function<void(Instance)> show_;
};

/// The progress line on a terminal, and output that must not tear it.
class Progress {
 public:
  explicit Progress(bool enabled) : enabled_(enabled) {}
  /// Before anything else is written to the terminal.
  void clear() {
    if (enabled_ && shown_) {
      std::cerr << "\r\033[K" << std::flush;
      shown_ = false;
    }
  }
  void show(size_t done, size_t total, size_t failed, size_t ended) {
    if (!enabled_) return;
    std::cerr << "\r\033[Klwmic: " << done << "/" << total << " hosts done, " << failed
              << " not ok";
    if (ended) std::cerr << ", " << ended << " process(es) ended";
    std::cerr << std::flush;
    shown_ = true;
  }

 private:
  bool enabled_;
  bool shown_ = false;
};

int exit_status_for(HostOutcome worst) {
  switch (worst) {
    case HostOutcome::kOk:
      return kExitOk;
    case HostOutcome::kMethodFailed:
      return kExitMethodFailed;
    case HostOutcome::kFailed:
      return kExitWbemError;
    case HostOutcome::kTimedOut:
    case HostOutcome::kUnreachable:
    case HostOutcome::kRefused:
      return kExitConnection;
  }
  return kExitWbemError;
}

OutputOptions job_output(const GlobalOptions& g, const HostJob& job, bool many) {
  OutputOptions oo = job.format ? g.output(*job.format) : g.output();
  oo.node_column = many;
  if (job.streams && (oo.format == Format::kTable || oo.format == Format::kHtable))
    oo.format = Format::kList;
  if (oo.format == Format::kTable && job.one_as_list && !many) oo.format = Format::kList;
  return oo;
}

std::unique_ptr<Formatter> job_formatter(const OutputOptions& oo, const HostJob& job) {
  if (!job.event_query.empty()) return make_event_formatter(oo, std::cout, job.event_query);
  return make_sorting_formatter(make_formatter(oo, std::cout), job.sort);
}

int run_one(const GlobalOptions& g, const HostJob& job) {
  int status = kExitOk;
  auto services = open_one_host(g, &status);
  if (!services) return status;
  OutputOptions oo = job_output(g, job, false);
  std::unique_ptr<Formatter> f;
  auto start = [&] {
    if (f) return;
    f = job_formatter(oo, job);
    f->begin(job.columns);
  };
  OneHost h(g.node, *services, [&](Instance row) {
    start();
    f->add(row);
    if (job.streams) std::cout.flush();
    if (job.on_row) job.on_row(row);
  });
  auto r = job.op(h);
  if (r.ok()) start();  // an empty result still has its format's frame (a list's blank lines)
  if (f) f->end();
  if (!r.ok()) {
    print_error(r.error(), job.input);
    return status_for(r.error());
  }
  if (job.say_when_empty && h.tally.instances == 0 && h.tally.calls == 0) {
    std::cerr << "No instance(s) available.\n";
  } else if (job.summary) {
    if (std::string s = job.summary(h.tally, false); !s.empty()) std::cerr << s << '\n';
  }
  if (h.errors) return kExitWbemError;
  return h.tally.returned_nonzero ? kExitMethodFailed : kExitOk;
}

int run_many(const GlobalOptions& g, const HostJob& job) {
  const auto& nodes = g.nodes;
  OutputOptions oo = job_output(g, job, true);
  auto f = job_formatter(oo, job);
  f->begin(job.columns);
  // The table and htable wait for their widths, and a sort for every result.
  bool streams =
      oo.format != Format::kTable && oo.format != Format::kHtable && job.sort.keys.empty();
  Progress progress(!job.streams && ::isatty(STDERR_FILENO) && oo.format != Format::kJson);
  size_t not_ok = 0, ended = 0;

  FanoutOptions fo;
  fo.connect = connect_options(g);
  fo.throttle = job.throttle ? job.throttle : g.throttle;
  fo.privileges = g.privileges;
  fo.enable_held_privileges = g.enable_held.value_or(false);
  FanoutCallbacks cb;
  cb.on_instance = [&](const std::string&, const Instance& inst) {
    if (streams) progress.clear();
    f->add(inst);
    if (streams) std::cout.flush();
    if (job.on_row) job.on_row(inst);
  };
  cb.on_error = [&](const std::string& node, const Error& e) {
    progress.clear();
    std::cerr << "lwmic: " << display_text(node) << ": error: " << error_text(e) << '\n';
  };
  cb.on_host = [&](const HostReport& r, size_t done, size_t total) {
    progress.clear();
    std::string node = display_text(r.node);
    for (const auto& n : r.notes)
      std::cerr << "lwmic: " << node << ": note: " << display_text(n) << '\n';
    if (r.outcome != HostOutcome::kOk && r.outcome != HostOutcome::kMethodFailed) {
      ++not_ok;
      std::cerr << "lwmic: " << node << ": " << outcome_name(r.outcome) << ": "
                << (r.error ? error_text(*r.error) : std::string()) << '\n';
    } else if (r.outcome == HostOutcome::kMethodFailed) {
      std::cerr << "lwmic: " << node << ": " << r.tally.returned_nonzero
                << " call(s) returned non-zero\n";
    }
    ended += r.tally.returned_zero;
    progress.show(done, total, not_ok, ended);
    if (job.on_host_done) job.on_host_done(r);
  };
  auto summary = run_fanout(nodes, fo, job.op, cb);
  progress.clear();
  f->end();

  // The summary: what happened to each host, counted.
  auto t = summary.total();
  std::cerr << "lwmic: " << nodes.size() << " host(s): "
            << summary.count(HostOutcome::kOk) + summary.count(HostOutcome::kMethodFailed)
            << " ok, " << summary.count(HostOutcome::kFailed) << " failed, "
            << summary.count(HostOutcome::kUnreachable) << " unreachable, "
            << summary.count(HostOutcome::kRefused) << " refused, "
            << summary.count(HostOutcome::kTimedOut) << " timed out";
  if (job.summary)
    if (std::string s = job.summary(t, true); !s.empty()) std::cerr << "; " << s;
  std::cerr << '\n';
  if (job.say_when_empty && t.instances == 0 && t.calls == 0 &&
      summary.worst() <= HostOutcome::kMethodFailed)
    std::cerr << "No instance(s) available.\n";
  return exit_status_for(summary.worst());
}

}  // namespace

ConnectOptions connect_options(const GlobalOptions& g) {
  ConnectOptions o;
  o.user = g.user;
  o.password = g.password;
  o.config_path = g.config;
  o.namespace_path = g.namespace_path;
  o.socket = g.socket;
  o.ca_file = g.ca;
  o.embedded_only = g.embedded;
  o.connect_timeout_ms = millis(g.connect_timeout);
  o.operation_timeout_ms = millis(g.timeout);
  return o;
}

void ask_password(GlobalOptions* g) {
  if (g->user.empty() || !g->password.empty()) return;
  // Asked once, for every host.
  std::string where = g->node.empty() ? std::string("localhost")
                      : g->many()     ? std::to_string(g->nodes.size()) + " host(s)"
                                      : g->node;
  if (auto pw = prompt_password(g->user, where)) g->password = *pw;
}

std::unique_ptr<Services> open_one_host(GlobalOptions g, int* status) {
  ask_password(&g);
  ConnectOptions o = connect_options(g);
  o.node = g.node.empty() ? "." : g.node;
  auto s = Locator::connect(o);
  if (!s.ok()) {
    print_error(s.error());
    *status = status_for(s.error());
    return nullptr;
  }
  for (const auto& note : (*s)->notes()) print_note(note);
  for (const auto& name : g.privileges) {
    auto r = (*s)->privileges().enable(name);
    if (r.ok()) continue;
    if (r.error().code == WbemStatus::kPrivilegeNotHeld) {
      std::cerr << "lwmic: warning: " << display_text(r.error().message) << '\n';
      continue;
    }
    print_error(r.error());
    // A privilege name that does not exist is a usage error.
    *status = r.error().code == WbemStatus::kInvalidParameter ? kExitUsage : status_for(r.error());
    return nullptr;
  }
  if (g.enable_held.value_or(false)) {
    if (auto r = (*s)->privileges().enable_held(); !r.ok()) {
      print_error(r.error());
      *status = status_for(r.error());
      return nullptr;
    }
  }
  if ((*s)->embedded() && ::geteuid() != 0 && !g.embedded)
    std::cerr << "lwmic: note: no lwmid reachable; running embedded with your own rights, so "
                 "other users' processes show less\n";
  return std::move(*s);
}

int run_on_hosts(const GlobalOptions& g, const HostJob& job) {
  if ((!g.sort.empty() || g.first || g.every > 0) && !job.listing) {
    std::cerr << "lwmic: error: --sort, --first and --every apply to listings (get, list, query, "
                 "and get or list after process or path)\n";
    return kExitUsage;
  }
  GlobalOptions asked = g;
  ask_password(&asked);  // once, for every host and every repetition
  // wmic's /every:N [/repeat:M]: the listing again every N seconds, M times or until Ctrl-C.
  int status = kExitOk;
  for (size_t n = 1;; ++n) {
    status = asked.many() ? run_many(asked, job) : run_one(asked, job);
    if (asked.every <= 0 || (asked.repeat && n >= asked.repeat)) break;
    std::cout.flush();
    std::this_thread::sleep_for(std::chrono::duration<double>(asked.every));
  }
  return status;
}

}  // namespace lwmi::cli
