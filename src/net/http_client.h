// net/http_client.h — the client side of HTTP: one keep-alive HTTP/1.1 connection to lwmid's
// Unix socket, a TCP port or a TLS port, with deadlines, cancellation and certificate pinning.
//
// Requests are POSTs of SOAP envelopes (Boost.Beast, synchronous), reconnecting once when the
// server closed an idle connection. TLS: with a CA file the chain and host name are verified;
// otherwise the host's certificate is pinned on first use, as ssh does: an unknown host:port is
// recorded in the known_hosts file once commit_pin() says the connection proved useful (a note
// says so), a changed certificate is refused naming the file.
// Errors carry their kind (lwmi/result.h): kTransport (no connection, a broken one, a failed TLS
// handshake), kTimeout (connected, but no answer in time), kCertificate (not the trusted
// certificate), kAuthentication (HTTP 401, as WBEM_E_ACCESS_DENIED). Any other HTTP answer is
// returned as it is, for the caller to read.
// Thread safety: post() calls are serialized; cancel() and notes() may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lwmi/result.h"

namespace lwmi::net {

/// Where a client connects.
struct Endpoint {
  enum class Kind { kUnix, kHttp, kHttps };
  Kind kind = Kind::kHttps;
  std::string path;  ///< kUnix: the socket
  std::string host;  ///< host name or address, without brackets
  uint16_t port = 5986;
  std::string target = "/wsman";
  /// "host:port" ("[::1]:5986" for IPv6), the known_hosts key; "unix:/path" for a socket.
  std::string host_port() const;
  /// The URL for wsa:To.
  std::string url() const;
};

struct HttpClientOptions {
  std::string user;  ///< Basic authentication (not sent over a Unix socket); "" = none
  std::string password;
  std::string ca_file;           ///< verify the chain and host name; "" = pin instead
  std::string known_hosts_file;  ///< the pins: lines "host:port SHA256:AA:BB:…"
  int connect_timeout_ms = 0;    ///< resolve, connect and TLS handshake; 0 = no limit
  int operation_timeout_ms = 0;  ///< one request and its answer; 0 = no limit
};

struct HttpReply {
  int status = 0;
  std::string reason;
  std::string body;
};

class HttpClient {
 public:
  HttpClient(Endpoint endpoint, HttpClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  /// POSTs a SOAP envelope and returns the answer (any HTTP status but 401).
  /// `server_wait_ms`: how long the server may hold the request by design (a Pull's
  /// OperationTimeout), added to the operation timeout.
  /// `cancel`: when set (before or during the exchange) and cancel(cancel) is called, the
  /// exchange ends at once with WBEM_E_CALL_CANCELLED and the connection is closed (the next
  /// post opens a new one).
  Result<HttpReply> post(const std::string& envelope, int server_wait_ms = 0,
                         const std::atomic<bool>* cancel = nullptr);

  /// From any thread: ends the exchange that post() runs with this `token` (already set by the
  /// caller), if one runs; a post() that starts later with it set ends at once instead.
  void cancel(const std::atomic<bool>* token);

  /// Records a certificate accepted on first use in known_hosts (a note says so).
  void commit_pin();

  /// What the client told the user about (a certificate recorded).
  std::vector<std::string> notes() const;

  /// The endpoint as host_port() names it, for messages.
  std::string where() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lwmi::net
