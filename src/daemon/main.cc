// lwmid — the lwmi daemon: WS-Management over a Unix socket, HTTP (loopback) and HTTPS.
#include <signal.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>

#include "config/config.h"
#include "daemon/endpoint.h"
#include "event/process_event_stream.h"
#include "event/subscription_manager.h"
#include "event/subscription_provider.h"
#include "net/certificate.h"
#include "net/http_server.h"
#include "os/system_info.h"
#include "security/authenticator.h"
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
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return false;
    for (const auto& e : endpoints) out << e << '\n';
    if (!out.flush()) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
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

  lwmi::os::SystemInfo sys = lwmi::os::SystemInfo::live();
  lwmi::net::ServerOptions options;
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

  lwmi::service::CimService service(config, lwmi::os::ProcFs("/proc"), sys);
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
  // Each subscription's filter runs on its subscriber's masked view.
  lwmi::event::SubscriptionManager subscriptions(
      limits,
      [&service](const lwmi::security::Caller& caller, std::string_view wql) {
        return lwmi::event::open_process_events(service.processes(), caller, wql);
      },
      &service.audit(), log_line);
  lwmi::wsman::Eventing eventing(subscriptions);
  // A user finds and ends its own subscriptions as LWMI_EventSubscription instances.
  auto subscription_class = std::make_shared<lwmi::event::SubscriptionProvider>(subscriptions);
  service.serve(subscription_class,
                [subscription_class](const lwmi::security::Caller& c, const lwmi::ObjectPath& p) {
                  return subscription_class->remove(c, p);
                });
  lwmi::wsman::Operations operations(service, {}, &eventing);
  lwmi::security::Authenticator authenticator(config.security);
  lwmi::daemon::Endpoint endpoint(config, operations, authenticator, log_line, &service.audit());
  // A subscription made on the Unix socket ends with its connection: a client that was killed
  // (and so never unsubscribed) does not hold the user's quota until the lease ends.
  options.on_close = [&subscriptions](const lwmi::net::Peer& peer) {
    if (peer.transport == lwmi::net::Peer::Transport::kUnix)
      subscriptions.connection_closed(peer.connection_id);
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
  for (;;) {
    if (sigwait(&sigs, &sig) != 0) continue;
    if (sig == SIGHUP) {
      log_line("SIGHUP: configuration reload is not supported yet; restart lwmid to apply");
      continue;
    }
    break;
  }
  log_line(std::string("stopping on ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT"));
  sd_notify(0, "STOPPING=1");
  subscriptions.shutdown();  // pulls still waiting are answered before the server stops
  server.stop();
  if (!config.server.socket.empty()) ::unlink(config.server.socket.c_str());
  return 0;
}
