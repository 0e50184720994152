// net/http_server.h — lwmid's HTTP/1.1 server: plain TCP, TLS and a Unix socket (Boost.Beast).
//
// I/O runs on a small set of threads; every request's handler runs on a bounded worker pool
// (handlers may block: PAM), never on an I/O thread; a handler may also answer later through a
// DeferredResponse (a long poll), holding no worker meanwhile. A response may ask to be delayed
// (failed logins): the delay runs on a timer, holding no worker. Keep-alive, request size and
// header limits, idle timeouts. On the Unix socket the peer's credentials come from SO_PEERCRED.
// Thread safety: start() and stop() from one thread; the handler is called concurrently.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "lwmi/result.h"

namespace lwmi::net {

struct Peer {
  enum class Transport { kUnix, kHttp, kHttps };
  Transport transport = Transport::kHttp;
  std::string address;  ///< "127.0.0.1", "::1", "" for unix
  uint16_t port = 0;
  bool loopback = false;     ///< the TCP peer is on 127.0.0.0/8 or ::1
  std::optional<uid_t> uid;  ///< unix: SO_PEERCRED
  std::optional<gid_t> gid;
  std::optional<pid_t> pid;
  /// unix: a pidfd of the peer process (SO_PEERPIDFD), closed with the last copy of the Peer, so
  /// that later requests can tell whether `pid` still names the process that connected.
  std::shared_ptr<const int> pidfd;
  /// unix, where the kernel has no SO_PEERPIDFD: the peer's start time at accept (/proc/PID/stat
  /// field 22); 0 when neither could be had (the peer was already gone).
  uint64_t start_ticks = 0;
  uint64_t connection_id = 0;  ///< stable for one connection (keep-alive)
  /// "unix:pid=123,uid=1000", "https:[::1]:5000", "http:127.0.0.1:4242"
  std::string describe() const;
};

struct HttpRequest {
  std::string method;                          ///< "POST"
  std::string target;                          ///< "/wsman"
  std::map<std::string, std::string> headers;  ///< lower-case names
  std::string body;
  int waited_ms = 0;  ///< how long the server has held this request back (retry_after_ms)
  std::string header(const std::string& lower_name) const;
};

struct HttpResponse;

/// A response a handler completes later, from any thread (a long poll): no worker waits for it.
/// complete() must be called exactly once, before the Server is destroyed.
class DeferredResponse {
 public:
  void complete(HttpResponse response);
  /// For the server: runs `f` with the response once it is complete (at once if it is).
  void on_complete(std::function<void(HttpResponse)> f);

 private:
  base::Mutex mu_;
  std::unique_ptr<HttpResponse> response_ GUARDED_BY(mu_);
  std::function<void(HttpResponse)> then_ GUARDED_BY(mu_);
};

struct HttpResponse {
  /// When set, the real response comes through it later; the other fields are ignored.
  std::shared_ptr<DeferredResponse> deferred;
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  int delay_ms = 0;  ///< send after this delay (failed authentication), on a timer
  /// When > 0 nothing is sent: the handler is called again with the same request after this
  /// delay (a peer in its login-failure delay), on a timer, holding no worker meanwhile.
  int retry_after_ms = 0;
  bool close = false;  ///< close the connection after sending
};

using Handler = std::function<HttpResponse(const HttpRequest&, const Peer&)>;

struct ServerOptions {
  size_t io_threads = 1;
  size_t workers = 4;  ///< bounded pool for handlers
  size_t max_body_bytes = 512 * 1024;
  /// How long a connection may wait for its next request after a response (keep-alive).
  int idle_timeout_s = 30;
  /// How long a new connection may take to send its first request (TLS handshake apart).
  int first_request_timeout_s = 10;
  /// Open connections in all, and per Unix uid or TCP address (every loopback address counts as
  /// one): see ConnectionLimiter. uid 0 on the Unix socket has no per-uid cap and a reserve
  /// beyond max_connections. A connection over a cap is answered 503 (TLS: closed) at once.
  size_t max_connections = 512;
  size_t max_connections_per_user = 32;
  /// Told about every refused connection (on an I/O thread: keep it short).
  std::function<void(const Peer&, const std::string& why)> on_connection_refused;
  std::string certificate_file;  ///< PEM, for HTTPS
  std::string private_key_file;  ///< PEM
  /// Called once when a connection has ended (its last response sent or abandoned), on an I/O
  /// thread: keep it short and do not block.
  std::function<void(const Peer&)> on_close;
  /// When set and > 0 for a connection, its idle limit in seconds instead of idle_timeout_s (a
  /// Unix connection holding an event subscription, which ends with it). On an I/O thread.
  std::function<int(const Peer&)> idle_timeout_for;
};

class Server {
 public:
  Server(ServerOptions options, Handler handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds a listener. "unix:/run/lwmi/lwmid.sock" (mode 0666, parent dir created 0755),
  /// "http://ADDR:PORT", "https://ADDR:PORT" (port 0 = any). Errors name the address and errno.
  Result<void> listen(const std::string& endpoint);
  /// The bound endpoints as URLs with their real ports: "https://127.0.0.1:40123/wsman",
  /// "http://[::1]:5985/wsman", "unix:/run/lwmi/lwmid.sock".
  std::vector<std::string> endpoints() const;
  /// Starts the I/O threads and the workers; returns at once.
  void start();
  /// Stops accepting, finishes or cancels in-flight requests, joins every thread.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lwmi::net
