#include "daemon/endpoint.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "base/budget.h"
#include "base/strings.h"
#include "wsman/envelope.h"

namespace lwmi::daemon {
namespace {

constexpr const char* kSoapType = "application/soap+xml;charset=UTF-8";
// How long a request may be held back while its address is in its login-failure delay.
constexpr int kMaxHeldMs = 30000;
// A request whose user already has its share of the workers busy is handed back after a delay
// that grows with its wait (few retries for long waits), and answered with a fault past the last.
constexpr int kShareRetryMinMs = 10;
constexpr int kShareRetryMaxMs = 250;
constexpr int kMaxShareWaitMs = 60000;

}  // namespace

Endpoint::Endpoint(const config::Config& config, wsman::Operations& operations,
                   security::Authenticator& authenticator, const os::Accounts& accounts,
                   std::function<void(const std::string&)> log, security::AuditLog* audit)
    : config_(config),
      operations_(operations),
      authenticator_(authenticator),
      accounts_(accounts),
      log_(std::move(log)),
      audit_(audit),
      share_(config.requests.max_per_user) {}

security::Caller Endpoint::local_caller(const net::Peer& peer, const config::SecurityConfig& cfg,
                                        const os::Accounts& accounts) {
  security::Caller c;
  c.uid = c.euid = peer.uid.value_or(65534);
  c.gid = peer.gid.value_or(65534);
  c.pid = peer.pid.value_or(0);
  c.embedded = false;
  c.remote = false;
  c.peer = peer.describe();
  if (auto account = accounts.user_with_uid(c.uid)) {
    c.user = account->name;
    c.groups = accounts.groups_of(*account);
  }
  // A caller outside lwmid's user or pid namespace holds no privilege, and one in a child pid
  // namespace sees and acts only inside it (Caller::pid_ns).
  static const os::ProcFs proc("/proc");
  // The pid SO_PEERCRED gave at connect is checked against the pidfd (or start time) taken at
  // accept: once the peer exits its pid may name another process, and the caller is nowhere.
  security::Caller::PeerIdentity identity;
  if (peer.pidfd) identity.pidfd = *peer.pidfd;
  identity.start_ticks = peer.start_ticks;
  auto ns = security::Caller::peer_namespaces(proc, c.pid, &identity);
  c.pid_ns = ns.pid_ns;
  c.sandboxed = !(ns.same_user_ns && ns.same_mount_ns && ns.same_net_ns) || ns.pid_ns;
  // The peer's own groups, read while its pid still names it (checked after reading).
  // Unreadable, or the pid no longer names it: none (fails closed).
  c.process_groups = security::Caller::process_groups_of(proc, c.pid);
  if (!c.process_groups || !security::Caller::is_same_process(proc, c.pid, identity))
    c.process_groups = std::vector<gid_t>{};
  bool own_ns = ns.same_user_ns && !ns.pid_ns;
  if (own_ns) {
    // The peer's gid (SO_PEERCRED) counts beside its account's groups.
    std::vector<gid_t> groups = c.groups;
    groups.push_back(c.gid);
    c.held = security::held_privileges(accounts, c.uid, groups, cfg.admin_group);
  }
  return c;
}

net::HttpResponse Endpoint::unauthorized(const net::Peer& peer, const std::string& why,
                                         int delay_ms, const std::string& user) {
  log_("refused " + peer.describe() + ": " + why);
  if (audit_) {
    security::Caller who;
    who.uid = static_cast<uid_t>(-1);
    who.user = user.empty() ? std::string("-") : user;
    who.peer = peer.describe();
    who.embedded = false;
    who.remote = true;
    security::AuditRecord rec;
    rec.action = "Login";
    rec.result = "refused";
    rec.detail = why;
    std::string problem = audit_->record(who, rec);
    if (!problem.empty()) log_(problem);
  }
  net::HttpResponse r;
  r.status = 401;
  r.headers.push_back({"WWW-Authenticate", "Basic realm=\"lwmi\""});
  r.headers.push_back({"Content-Type", "text/plain"});
  r.body = "401 Unauthorized\n";
  r.delay_ms = delay_ms;
  return r;
}

net::HttpResponse Endpoint::challenge() {
  // Not a refused login: HTTP clients (libcurl, WinRM) send their first request without
  // credentials and answer the challenge. Counted, neither logged nor audited.
  challenges_.fetch_add(1, std::memory_order_relaxed);
  net::HttpResponse r;
  r.status = 401;
  r.headers.push_back({"WWW-Authenticate", "Basic realm=\"lwmi\""});
  r.headers.push_back({"Content-Type", "text/plain"});
  r.body = "401 Unauthorized\n";
  return r;
}

net::HttpResponse Endpoint::handle(const net::HttpRequest& req, const net::Peer& peer) {
  net::HttpResponse out;
  if (req.target != "/wsman" && req.target.rfind("/wsman?", 0) != 0) {
    out.status = 404;
    out.body = "not found: lwmi serves /wsman\n";
    return out;
  }
  if (req.method != "POST") {
    out.status = 405;
    out.headers.push_back({"Allow", "POST"});
    return out;
  }
  // WinRM's unauthenticated Identify (Test-WSMan): protocol version and vendor only.
  bool anonymous_identify = base::iequals(req.header("wsmanidentify"), "unauthenticated");

  std::optional<security::Caller> caller;
  if (peer.transport == net::Peer::Transport::kUnix) {
    caller = local_caller(peer, config_.security, accounts_);
  } else if (!anonymous_identify) {
    std::string auth = req.header("authorization");
    if (auth.empty()) return challenge();
    if (peer.transport == net::Peer::Transport::kHttp && !peer.loopback &&
        !config_.server.allow_basic_over_http)
      return unauthorized(peer, "Basic authentication over plain HTTP from a remote address", 0);
    auto creds = security::parse_basic(auth);
    if (!creds) return unauthorized(peer, "malformed Authorization header", 0);
    auto outcome = authenticator_.authenticate(creds->first, creds->second, peer.address);
    if (outcome.retry_after_ms > 0) {
      // The address is inside its login-failure delay (or has an attempt under way): the server
      // holds this request on a timer, holding no worker, and asks again; past kMaxHeldMs, 401.
      if (req.waited_ms + outcome.retry_after_ms > kMaxHeldMs)
        return unauthorized(
            peer,
            "user '" + creds->first + "': too many login attempts from " + "this address at once",
            0, creds->first);
      net::HttpResponse later;
      later.retry_after_ms = outcome.retry_after_ms;
      return later;
    }
    if (!outcome.ok)
      return unauthorized(peer, "user '" + creds->first + "': " + outcome.reason, outcome.delay_ms,
                          creds->first);
    caller = outcome.caller;
    caller->peer = peer.describe();
  }

  // Each user's share of the workers: past it, the request waits on the server's timer,
  // holding no worker, and comes back here.
  auto slot = caller ? share_.try_take(caller->uid) : std::nullopt;
  if (caller && !slot && req.waited_ms < kMaxShareWaitMs) {
    net::HttpResponse later;
    later.retry_after_ms = std::clamp(req.waited_ms / 2, kShareRetryMinMs, kShareRetryMaxMs);
    return later;
  }

  auto decoded = wsman::decode(req.body);
  out.headers.push_back({"Content-Type", kSoapType});
  if (auto* fault = std::get_if<wsman::Fault>(&decoded)) {
    out.status = fault->http_status;
    out.body = wsman::encode_fault(*fault, "");
    return out;
  }
  auto& request = std::get<wsman::Request>(decoded);
  if (peer.transport == net::Peer::Transport::kUnix) request.local_connection = peer.connection_id;
  if (!caller && request.operation != wsman::Operation::kIdentify)
    return unauthorized(peer, "WSMANIDENTIFY: unauthenticated is only for Identify", 0);
  wsman::Response response;
  // Every request served runs within its time budget (base::Budget): a query still running
  // past it ends with WBEM_E_QUOTA_VIOLATION instead of holding its worker.
  base::Budget budget(std::chrono::milliseconds(config_.requests.time_limit_ms),
                      "[requests] time_limit_ms");
  base::Budget::Scope in_budget(&budget);
  if (caller && !slot) {
    response.relates_to = request.message_id;
    response.fault = wsman::fault_for(
        Error{WbemStatus::kQuotaViolation,
              "user " + std::to_string(caller->uid) + " already has " +
                  std::to_string(share_.per_user()) +
                  " requests being served ([requests] max_per_user) and this one waited " +
                  std::to_string(req.waited_ms / 1000) + " s for its turn"});
  } else if (!caller) {
    response.is_identify = true;
    response.relates_to = request.message_id;
  } else if (request.operation == wsman::Operation::kPull) {
    // A Pull on an event subscription is a long poll: answered when events come, holding no
    // worker meanwhile.
    auto deferred = std::make_shared<net::DeferredResponse>();
    operations_.handle_async(request, *caller,
                             [this, deferred, out, where = peer.describe(),
                              action = request.action](wsman::Response response) mutable {
                               deferred->complete(finish(std::move(out), response, where, action));
                             });
    net::HttpResponse later;
    later.deferred = std::move(deferred);
    return later;
  } else {
    response = operations_.handle(request, *caller);
  }
  return finish(std::move(out), response, peer.describe(), request.action);
}

net::HttpResponse Endpoint::finish(net::HttpResponse out, const wsman::Response& response,
                                   const std::string& peer, const std::string& action) {
  if (response.fault) {
    out.status = response.fault->http_status;
    // Pulls that time out are how clients wait for events: not worth a line each.
    if (response.fault->wbem != WbemStatus::kTimedOut)
      log_("fault for " + peer + " (" + action + "): " + response.fault->reason);
  }
  out.body = wsman::encode(response);
  return out;
}

}  // namespace lwmi::daemon
