// daemon/endpoint.h — lwmid's /wsman endpoint: authenticate, decode, run, encode.
//
// Every request needs an identity (DESIGN decision 2): on the Unix socket the peer's
// credentials; over TCP HTTP Basic checked by PAM (plain HTTP only from loopback unless the
// config allows it). The one exception is WinRM's: an Identify carrying the header
// `WSMANIDENTIFY: unauthenticated`. A missing or wrong credential gets 401 and nothing is done.
// Thread safety: handle() is called concurrently from the server's worker pool.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "config/config.h"
#include "daemon/fair_share.h"
#include "net/http_server.h"
#include "security/audit.h"
#include "security/authenticator.h"
#include "wsman/operations.h"

namespace lwmi::daemon {

class Endpoint {
 public:
  /// `log` receives one line per notable event (refused login, fault…).
  /// Refused logins are written to `audit` (when given) as well as to `log`. `accounts` is the
  /// account database local callers are looked up in (it must outlive the Endpoint).
  Endpoint(const config::Config& config, wsman::Operations& operations,
           security::Authenticator& authenticator, const os::Accounts& accounts,
           std::function<void(const std::string&)> log, security::AuditLog* audit = nullptr);

  net::HttpResponse handle(const net::HttpRequest& request, const net::Peer& peer);

  /// Requests without credentials answered with a 401 challenge (not refused logins).
  uint64_t challenges() const { return challenges_.load(std::memory_order_relaxed); }

  /// The Caller for a process on the Unix socket (SO_PEERCRED): its uid, gid and groups;
  /// SeDebugPrivilege held by uid 0 in lwmid's user namespace and by the admin group.
  static security::Caller local_caller(const net::Peer& peer, const config::SecurityConfig& cfg,
                                       const os::Accounts& accounts);

 private:
  /// The HTTP response for a WS-Man response (faults logged).
  net::HttpResponse finish(net::HttpResponse out, const wsman::Response& response,
                           const std::string& peer, const std::string& action);
  net::HttpResponse challenge();
  net::HttpResponse unauthorized(const net::Peer& peer, const std::string& why, int delay_ms,
                                 const std::string& user = "");

  const config::Config& config_;
  wsman::Operations& operations_;
  security::Authenticator& authenticator_;
  const os::Accounts& accounts_;
  std::function<void(const std::string&)> log_;
  security::AuditLog* audit_;
  std::atomic<uint64_t> challenges_{0};
  FairShare share_;  ///< each user's share of the workers ([requests] max_per_user)
};

}  // namespace lwmi::daemon
