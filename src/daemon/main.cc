// lwmid — the lwmi daemon: WS-Management over a Unix socket, HTTP (loopback) and HTTPS.
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <mutex>

#include "config/config.h"
#include "daemon/endpoint.h"
#include "event/exec_guard.h"
#include "event/process_event_stream.h"
#include "event/subscription_manager.h"
#include "event/subscription_provider.h"
#include "net/certificate.h"
#include "net/connection_limiter.h"
#include "net/http_server.h"
#include "os/accounts.h"
#include "os/bpf_monitor.h"
#include "os/descriptors.h"
#include "os/system_info.h"
#include "permanent/provider.h"
#include "permanent/subscriptions.h"
#include "security/authenticator.h"
#include "security/pam.h"
#include "service/cim_service.h"
#include "wsman/operations.h"

namespace {

std::mutex log_mu;
void log_line(const std::string& line) {
  std::lock_guard<std::mutex> lock(log_mu);
  std::fprintf(stderr, "lwmid: %s\n", line.c_str());
  std::fflush(stderr);
}

// "ADDR:PORT" -> "scheme://ADDR:PORT"; "" stays "".
std::string url(const char* scheme, const std::string& addr) {
  return addr.empty() ? std::string() : std::string(scheme) + "://" + addr;
}

bool write_ready_file(const std::string& path, const std::vector<std::string>& endpoints) {
  std::string text;
  for (const auto& e : endpoints) text += e + '\n';
  return lwmi::os::write_file_atomically(path, text, 0644) == 0;
}

// Raises the soft descriptor limit to the hard one (the unit file's LimitNOFILE), and warns when
// it cannot hold every connection the caps allow: a Unix connection holds two descriptors (the
// socket and the caller's pidfd), a subscription a few, and lwmid needs some of its own.
void check_descriptor_limit(const lwmi::config::Config& config) {
  struct rlimit rl {};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &rl);
    (void)::getrlimit(RLIMIT_NOFILE, &rl);
  }
  const uint64_t needed =
      2 * (uint64_t{config.server.max_connections} + lwmi::net::ConnectionLimiter::kReserve) +
      4 * uint64_t{config.events.max_subscriptions} + 256;
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < needed)
    log_line("warning: the descriptor limit (" + std::to_string(rl.rlim_cur) +
             ") is below what max_connections and max_subscriptions may need (" +
             std::to_string(needed) + "): raise LimitNOFILE or lower them");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"lwmid: the lwmi daemon (WS-Management for Win32_Process on Linux)"};
  app.set_version_flag("--version", "lwmid 0.1.0");
  std::string config_path, state_dir, socket, http, https, ready_file;
  bool foreground = false;
  app.add_option("--config", config_path, "Configuration file (default /etc/lwmi/lwmid.conf)");
  app.add_option("--state-dir", state_dir, "State directory (default /var/lib/lwmi)");
  app.add_option("--socket", socket, "Unix socket path (\"\" disables)");
  app.add_option("--http", http, "HTTP listener ADDR:PORT (\"\" disables; loopback by default)");
  app.add_option("--https", https, "HTTPS listener ADDR:PORT (\"\" disables; port 0 = any)");
  app.add_option("--ready-file", ready_file,
                 "Written once every listener is bound: the endpoints, one URL a line");
  app.add_flag("--foreground", foreground, "Stay in the foreground (lwmid never forks)");
  bool testing_skip_own_checks = false;
  // Hidden, for the security tests only: lwmi's own kill(2)-rule check is skipped so that the
  // tests can show the kernel still refuses (signals of unprivileged callers carry their
  // credentials).
  app.add_flag("--testing-skip-own-checks", testing_skip_own_checks)->group("");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  auto cfg = config_path.empty() ? lwmi::config::load(std::string(lwmi::config::kDefaultPath), true)
                                 : lwmi::config::load(config_path, false);
  if (!cfg.ok()) {
    log_line(cfg.error().message);
    return 1;
  }
  lwmi::config::Config config = std::move(*cfg);
  if (app.count("--state-dir")) config.server.state_dir = state_dir;
  if (app.count("--socket")) config.server.socket = socket;
  if (app.count("--http")) config.server.http = http;
  if (app.count("--https")) config.server.https = https;
  if (::geteuid() != 0)
    log_line("warning: not running as root: callers are served with uid " +
             std::to_string(::geteuid()) + "'s rights at most");

  // Signals are handled by sigwait on this thread; block them before any thread starts.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  check_descriptor_limit(config);
  lwmi::os::SystemInfo sys = lwmi::os::SystemInfo::live();
  lwmi::net::ServerOptions options;
  options.idle_timeout_s = static_cast<int>(config.server.idle_timeout);
  options.max_connections = config.server.max_connections;
  options.max_connections_per_user = config.server.max_connections_per_user;
  if (!config.server.https.empty()) {
    if (!config.server.certificate.empty()) {
      options.certificate_file = config.server.certificate;
      options.private_key_file = config.server.private_key;
    } else {
      ::mkdir(config.server.state_dir.c_str(), 0700);
      auto files = lwmi::net::ensure_self_signed(config.server.state_dir, sys.host);
      if (!files.ok()) {
        log_line("cannot prepare the HTTPS certificate: " + files.error().message);
        return 1;
      }
      options.certificate_file = files->certificate;
      options.private_key_file = files->private_key;
    }
    auto fp = lwmi::net::sha256_fingerprint(options.certificate_file);
    log_line("HTTPS certificate " + options.certificate_file + " " +
             (fp.ok() ? *fp : std::string("(fingerprint unavailable)")));
  }

  // The system's account database and PAM, handed to what looks callers up (tests use fakes).
  const lwmi::os::SystemAccounts accounts;
  lwmi::security::SystemPam pam;
  lwmi::service::CimService service(config, lwmi::os::ProcFs("/proc"), sys);
  service.audit().limit_repeats();
  // A connection over a cap is audited (identical refusals of one caller are summarised) and
  // counted; the log gets a count now and then, not a line each.
  std::atomic<uint64_t> connections_refused{0};
  options.on_connection_refused = [&](const lwmi::net::Peer& peer, const std::string& why) {
    connections_refused.fetch_add(1, std::memory_order_relaxed);
    lwmi::security::Caller who;
    who.uid = who.euid = peer.uid.value_or(static_cast<uid_t>(-1));
    who.user = peer.uid ? std::string() : std::string("-");
    who.peer = peer.describe();
    who.embedded = false;
    who.remote = peer.transport != lwmi::net::Peer::Transport::kUnix;
    lwmi::security::AuditRecord rec;
    rec.action = "Connect";
    rec.result = "refused";
    rec.detail = why;
    if (std::string problem = service.audit().record(who, rec); !problem.empty()) log_line(problem);
  };
  if (testing_skip_own_checks) {
    log_line("WARNING: --testing-skip-own-checks: lwmi's own permission check is OFF (tests only)");
    auto policy = service.processes().policy();
    policy.testing_skip_own_check = true;
    service.processes().set_policy(policy);
  }
  lwmi::event::SubscriptionLimits limits;
  limits.max_expiry = std::chrono::seconds(config.events.max_subscription_expiry);
  limits.default_expiry = std::chrono::seconds(config.events.default_subscription_expiry);
  limits.queue_size = config.events.queue_size;
  limits.max_per_user = config.events.max_subscriptions_per_user;
  limits.max_total = config.events.max_subscriptions;
  limits.max_pull_wait = std::chrono::seconds(config.events.max_pull_wait);
  // The exec guard: kernel rules for `watch … --terminate` filters the kernel can decide. Its
  // BPF programs are the event source's too (one load per lwmid).
  std::unique_ptr<lwmi::event::ExecGuard> exec_guard;
  std::string guard_unavailable;
  if (!config.guard.enabled) {
    guard_unavailable = "the exec guard is disabled in lwmid's configuration ([guard] enabled)";
  } else if (auto monitor = lwmi::os::BpfMonitor::shared(); monitor.ok()) {
    exec_guard = std::make_unique<lwmi::event::ExecGuard>(*monitor, config.guard);
    for (const auto& problem : exec_guard->problems()) log_line("exec guard: " + problem);
  } else {
    guard_unavailable = "BPF is not available to lwmid: " + monitor.error().message;
    log_line("exec guard unavailable: " + monitor.error().message);
  }
  // Each subscription's filter runs on its subscriber's masked view.
  lwmi::event::SubscriptionManager subscriptions(
      limits,
      [&service, &exec_guard, &guard_unavailable](const lwmi::security::Caller& caller,
                                                  std::string_view wql,
                                                  const lwmi::NotificationOptions& options) {
        return lwmi::event::open_process_events(service.processes(), caller, wql, options,
                                                exec_guard.get(), guard_unavailable);
      },
      &service.audit(), log_line);
  // A subscription made with a privilege enabled ends when its opener no longer holds it (an
  // admin removed from admin_group), even while a Pull waits on it.
  subscriptions.set_rights_check(
      [&accounts, admin_group = config.security.admin_group](const lwmi::security::Caller& opener) {
        return lwmi::security::held_privileges(accounts, opener.uid, admin_group);
      });
  lwmi::wsman::Eventing eventing(subscriptions);
  // A user finds and ends its own subscriptions as LWMI_EventSubscription instances.
  auto subscription_class = std::make_shared<lwmi::event::SubscriptionProvider>(subscriptions);
  service.serve(subscription_class,
                [subscription_class](const lwmi::security::Caller& c, const lwmi::ObjectPath& p) {
                  return subscription_class->remove(c, p);
                });
  // Permanent subscriptions (root\\subscription), run by lwmid itself as lwmid: every process,
  // SeDebugPrivilege enabled (only the admin group may define them). Their bindings start, and
  // their guard rules are installed, before lwmid reports ready.
  const lwmi::security::Caller self = lwmi::permanent::daemon_caller();
  lwmi::permanent::EngineDeps permanent_deps;
  permanent_deps.open_stream = [&service, &exec_guard, &guard_unavailable, self](
                                   std::string_view wql, const lwmi::NotificationOptions& o) {
    return lwmi::event::open_process_events(service.processes(), self, wql, o, exec_guard.get(),
                                            guard_unavailable);
  };
  permanent_deps.terminate = [&service, self](const std::string& path,
                                              uint32_t reason) -> lwmi::Result<uint32_t> {
    auto r =
        service.exec_method(self, path, "Terminate", {{"Reason", lwmi::Value::uint32(reason)}});
    if (!r.ok()) return r.take_error();
    return r->return_value;
  };
  permanent_deps.audit = &service.audit();
  permanent_deps.audit_caller = self;
  lwmi::permanent::PermanentSubscriptions permanent(config, permanent_deps);
  for (auto& p : lwmi::permanent::make_providers(permanent.store(), &permanent.engine())) {
    lwmi::service::CimService::ServedOps ops;
    ops.remove = [&permanent, &service](const lwmi::security::Caller& c,
                                        const lwmi::ObjectPath& path) {
      return lwmi::permanent::delete_instance(permanent.store(), c, path, &service.audit());
    };
    ops.create = [&permanent](const lwmi::security::Caller& c, const lwmi::Instance& inst) {
      return lwmi::permanent::create_instance(permanent.store(), c, inst);
    };
    service.serve(p, std::move(ops));
  }
  for (const auto& problem : permanent.start()) log_line("permanent subscriptions: " + problem);
  lwmi::wsman::Operations operations(service, {}, &eventing);
  lwmi::security::Authenticator authenticator(config.security, accounts, pam);
  lwmi::daemon::Endpoint endpoint(config, operations, authenticator, accounts, log_line,
                                  &service.audit());
  // A subscription made on the Unix socket ends with its connection: a client that was killed
  // (and so never unsubscribed) does not hold the user's quota until the lease ends.
  options.on_close = [&subscriptions](const lwmi::net::Peer& peer) {
    if (peer.transport == lwmi::net::Peer::Transport::kUnix)
      subscriptions.connection_closed(peer.connection_id);
  };
  // Such a connection may wait between Pulls as long as its subscription's lease allows, not
  // only the idle limit: a client that pulls every minute keeps its subscription.
  options.idle_timeout_for = [&subscriptions, &config](const lwmi::net::Peer& peer) {
    if (peer.transport != lwmi::net::Peer::Transport::kUnix ||
        !subscriptions.holds_connection(peer.connection_id))
      return 0;
    return static_cast<int>(config.events.max_subscription_expiry);
  };
  lwmi::net::Server server(options, [&](const lwmi::net::HttpRequest& r, const lwmi::net::Peer& p) {
    return endpoint.handle(r, p);
  });

  std::vector<std::string> wanted;
  if (!config.server.socket.empty()) wanted.push_back("unix:" + config.server.socket);
  if (!config.server.http.empty()) wanted.push_back(url("http", config.server.http));
  if (!config.server.https.empty()) wanted.push_back(url("https", config.server.https));
  if (wanted.empty()) {
    log_line("no listener configured (socket, http and https are all empty)");
    return 1;
  }
  for (const auto& w : wanted) {
    auto r = server.listen(w);
    if (!r.ok()) {
      log_line("cannot listen on " + w + ": " + r.error().message);
      return 1;
    }
  }
  // Nothing lwmid holds may reach a process it starts (DESIGN decision 10): every descriptor is
  // opened close-on-exec; one that is not (inherited from whoever started lwmid, or a library's)
  // is named here and flagged.
  for (int fd : lwmi::os::inheritable_descriptors()) {
    log_line("descriptor " + std::to_string(fd) +
             " was not close-on-exec (inherited or a library's): flagged");
    (void)lwmi::os::set_cloexec(fd);
  }
  server.start();
  auto endpoints = server.endpoints();
  for (const auto& e : endpoints) log_line("listening on " + e);
  if (!ready_file.empty() && !write_ready_file(ready_file, endpoints)) {
    log_line("cannot write the ready file " + ready_file);
    server.stop();
    return 1;
  }
  sd_notify(0, "READY=1\nSTATUS=serving WS-Management");

  int sig = 0;
  uint64_t refused_logged = 0;
  auto log_refused = [&] {
    const uint64_t n = connections_refused.load(std::memory_order_relaxed);
    if (n == refused_logged) return;
    log_line(std::to_string(n - refused_logged) +
             " connection(s) refused over max_connections / max_connections_per_user (audited)");
    refused_logged = n;
  };
  auto last_refused_log = std::chrono::steady_clock::now();
  for (;;) {
    // Every second: the audit's repeat summaries that are due, and now and then the count of
    // refused connections.
    const struct timespec tick { 1, 0 };
    sig = sigtimedwait(&sigs, nullptr, &tick);
    if (sig < 0) {
      service.audit().flush();
      if (std::chrono::steady_clock::now() - last_refused_log >= std::chrono::seconds(10)) {
        log_refused();
        last_refused_log = std::chrono::steady_clock::now();
      }
      continue;
    }
    if (sig == SIGHUP) {
      // subscriptions.d is re-read (a bad file keeps what ran); lwmid.conf is read at start.
      auto reloaded = permanent.reload();
      log_line("SIGHUP: " + (reloaded.ok() ? "reloaded " + *reloaded
                                           : "subscriptions.d not reloaded, the previous "
                                             "definitions run on: " +
                                                 reloaded.error().message));
      log_line("SIGHUP: lwmid.conf is read at start only; restart lwmid to apply a change");
      continue;
    }
    break;
  }
  log_line(std::string("stopping on ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT"));
  sd_notify(0, "STOPPING=1");
  permanent.stop();
  subscriptions.shutdown();  // pulls still waiting are answered before the server stops
  server.stop();
  if (!config.server.socket.empty()) ::unlink(config.server.socket.c_str());
  log_refused();
  log_line(std::to_string(endpoint.challenges()) +
           " request(s) without credentials answered with a 401 challenge");
  service.audit().flush();
  return 0;
}
