// net/http_server.cc — Boost.Beast HTTP/1.1 server over TCP, TLS and a Unix socket.
//
// Plain asynchronous callbacks (no coroutines). Every connection is a Session on its own strand:
// read a request → post the handler onto the worker pool → the worker posts the response back
// onto the strand → (optional delay on a steady_timer, no worker held) → write → read again or
// close. Acceptors live on their own strands. stop() closes acceptors and idle connections, joins
// the pool, then the I/O threads (forcing the io_context to stop after a short grace period).
#include "net/http_server.h"
#include "base/mutex.h"

#include <openssl/ssl.h>

#include <atomic>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <list>
#include <mutex>
#include <thread>
#include <utility>

#include "net/cloexec_socket.h"
#include "net/connection_limiter.h"
#include "os/descriptors.h"
#include "os/proc_fs.h"
#include "os/sockets.h"

namespace lwmi::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using unix_proto = asio::local::stream_protocol;
using error_code = boost::system::error_code;

namespace {

constexpr size_t kHeaderLimit = 16 * 1024;
constexpr auto kHandshakeTimeout = std::chrono::seconds(10);
constexpr auto kCloseTimeout = std::chrono::seconds(2);
constexpr auto kStopGrace = std::chrono::seconds(2);

using TcpStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using UnixStream =
    beast::basic_stream<unix_proto, asio::any_io_executor, beast::unlimited_rate_policy>;

Error errno_error(const std::string& what, int err) {
  return Error{WbemStatus::kFailed,
               what + ": " + std::strerror(err) + " (errno " + std::to_string(err) + ")"};
}

Error asio_error(const std::string& what, const error_code& ec) {
  if (ec.category() == boost::system::system_category() ||
      ec.category() == boost::system::generic_category())
    return errno_error(what, ec.value());
  return Error{WbemStatus::kFailed, what + ": " + ec.message()};
}

bool is_loopback(const asio::ip::address& a) {
  if (a.is_v4()) return a.to_v4().to_bytes()[0] == 127;
  auto v6 = a.to_v6();
  if (v6.is_loopback()) return true;
  if (v6.is_v4_mapped())
    return asio::ip::make_address_v4(asio::ip::v4_mapped, v6).to_bytes()[0] == 127;
  return false;
}

std::string host_text(const asio::ip::address& a) {
  return a.is_v6() ? "[" + a.to_string() + "]" : a.to_string();
}

bool is_http_error(const error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_target).category();
}

}  // namespace

// What names the unix peer's process beyond its pid, which is reused once it exits: a pidfd,
// or on kernels without SO_PEERPIDFD its start time now. Neither when the peer is already gone.
static void identify_peer_process(int fd, Peer* peer) {
  os::Fd pidfd;
  const int err = os::peer_pidfd(fd, &pidfd);
  if (err == 0) {
    // Shared by every copy of the Peer; closed with the last.
    peer->pidfd = std::shared_ptr<const int>(new int(pidfd.release()), [](const int* p) {
      os::Fd closing(*p);
      delete p;
    });
    return;
  }
  if (err != ENOPROTOOPT && err != EINVAL) return;  // ESRCH: the peer has exited
  static const os::ProcFs proc("/proc");
  uint64_t ticks = 0;
  if (peer->pid && proc.start_ticks(*peer->pid, &ticks) == 0) peer->start_ticks = ticks;
}

std::string Peer::describe() const {
  switch (transport) {
    case Transport::kUnix: {
      std::string s = "unix:";
      std::string sep;
      if (pid) s += "pid=" + std::to_string(*pid), sep = ",";
      if (uid) s += sep + "uid=" + std::to_string(*uid);
      return s;
    }
    case Transport::kHttp:
    case Transport::kHttps: {
      std::string s = transport == Transport::kHttps ? "https:" : "http:";
      if (address.find(':') != std::string::npos)
        s += "[" + address + "]";
      else
        s += address;
      return s + ":" + std::to_string(port);
    }
  }
  return "?";
}

std::string HttpRequest::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

// ---------------------------------------------------------------------------------------------
// Impl

namespace {

struct SessionBase {
  virtual ~SessionBase() = default;
  ConnectionLimiter::Ticket ticket;  ///< the connection's slot, given back when it closes
  /// Called from any thread: closes the connection if it waits for a request, otherwise makes
  /// it close after the response in flight.
  virtual void cancel() = 0;
};

/// The server's state (Server::Impl is private in the header; sessions need a nameable type).
struct Core {
  ServerOptions options;
  Handler handler;

  base::Mutex sessions_mu;
  std::list<std::weak_ptr<SessionBase>> sessions GUARDED_BY(sessions_mu);
  std::atomic<uint64_t> next_connection_id{1};
  std::atomic<bool> stopping{false};

  std::unique_ptr<asio::ssl::context> ssl_ctx;
  std::unique_ptr<asio::io_context> ioc;
  std::unique_ptr<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::unique_ptr<asio::thread_pool> pool;
  std::vector<std::thread> io_threads;
  bool started = false;

  struct TcpListener {
    std::unique_ptr<tcp::acceptor> acceptor;
    Peer::Transport transport;
    std::string url;
  };
  struct UnixListener {
    std::unique_ptr<unix_proto::acceptor> acceptor;
    std::string path;
    os::FileIdentity file;  // the socket file it made, removed at stop if still that file
  };
  std::list<TcpListener> tcp_listeners;  // list: stable addresses for the accept loops
  std::list<UnixListener> unix_listeners;

  std::shared_ptr<ConnectionLimiter> limiter;

  Core(ServerOptions o, Handler h) : options(std::move(o)), handler(std::move(h)) {
    limiter = ConnectionLimiter::create(
        {.max_total = options.max_connections, .max_per_key = options.max_connections_per_user});
    if (options.io_threads == 0) options.io_threads = 1;
    if (options.workers == 0) options.workers = 1;
    ioc = std::make_unique<asio::io_context>(static_cast<int>(options.io_threads));
  }

  void add_session(const std::shared_ptr<SessionBase>& s) {
    base::MutexLock lock(sessions_mu);
    sessions.remove_if([](const std::weak_ptr<SessionBase>& w) { return w.expired(); });
    sessions.push_back(s);
    if (stopping) s->cancel();  // accepted while stop() ran: stop() may have missed it
  }

  Result<void> ensure_ssl();
  Result<void> listen_tcp(const std::string& endpoint, const std::string& hostport,
                          Peer::Transport transport);
  Result<void> listen_unix(const std::string& path);
  void accept_tcp(TcpListener& l);
  void accept_unix(UnixListener& l);
  // A connection over a cap: reported through options.on_connection_refused (first, so that a
  // client that sees the answer finds the refusal counted), then a short 503 when the stream is
  // plain (best effort, never blocking), then closed at once.
  template <class Socket>
  void refuse_connection(Socket& socket, const Peer& peer, const std::string& why, bool plain) {
    if (options.on_connection_refused) options.on_connection_refused(peer, why);
    if (plain) {
      static constexpr char kBusy[] =
          "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
          "Content-Length: 33\r\nConnection: close\r\n\r\ntoo many connections: try later\r\n";
      (void)os::send_now(socket.native_handle(), std::string_view(kBusy, sizeof kBusy - 1));
    }
    error_code ignored;
    socket.shutdown(asio::socket_base::shutdown_both, ignored);
    socket.close(ignored);
  }
  void stop();
};

// ---------------------------------------------------------------------------------------------
// Session

template <class Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  template <class... Args>
  Session(Core* impl, Peer peer, Args&&... args)
      : impl_(impl),
        peer_(std::move(peer)),
        stream_(std::forward<Args>(args)...),
        timer_(stream_.get_executor()) {}
  // The last handler holding the session is gone: the connection is over for good.
  ~Session() override { notify_closed(); }

  void run() {
    // The accept completion runs on the acceptor's strand; move onto ours.
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->begin(); });
  }

  void cancel() override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
      self->stopping_ = true;
      if (self->state_ != State::kHandling && self->state_ != State::kWriting) self->close_now();
    });
  }

 private:
  enum class State { kHandshake, kReading, kHandling, kDelaying, kWriting, kClosing, kClosed };

  auto& lowest() { return beast::get_lowest_layer(stream_); }

  void arm_idle() {
    // Until its first request has been answered, a connection gets the shorter limit.
    int s = answered_ ? impl_->options.idle_timeout_s : impl_->options.first_request_timeout_s;
    if (answered_ && impl_->options.idle_timeout_for)
      if (int longer = impl_->options.idle_timeout_for(peer_); longer > 0) s = longer;
    if (s > 0)
      lowest().expires_after(std::chrono::seconds(s));
    else
      lowest().expires_never();
  }

  static bool has_crlf(std::string_view s) {
    return s.find_first_of("\r\n") != std::string_view::npos;
  }

  void begin() {
    if (impl_->stopping) return close_now();
    if constexpr (kTls) {
      state_ = State::kHandshake;
      lowest().expires_after(kHandshakeTimeout);
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](error_code ec) {
                                if (ec) return self->close_now();
                                self->do_read();
                              });
    } else {
      do_read();
    }
  }

  void do_read() {
    if (stopping_ || impl_->stopping) return close_now();
    state_ = State::kReading;
    parser_.emplace();
    parser_->body_limit(impl_->options.max_body_bytes);
    parser_->header_limit(kHeaderLimit);
    arm_idle();
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](error_code ec, size_t) { self->on_header(ec); });
  }

  void on_header(error_code ec) {
    if (ec) return on_read_error(ec);
    auto expect = parser_->get()[http::field::expect];
    if (beast::iequals(expect, "100-continue")) {
      continue_ = std::make_shared<http::response<http::empty_body>>(http::status::continue_,
                                                                     parser_->get().version());
      arm_idle();
      http::async_write(stream_, *continue_,
                        [self = this->shared_from_this()](error_code ec, size_t) {
                          self->continue_.reset();
                          if (ec) return self->close_now();
                          self->read_body();
                        });
      return;
    }
    read_body();
  }

  void read_body() {
    arm_idle();
    http::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read_error(error_code ec) {
    if (ec == http::error::end_of_stream) return close_graceful();
    if (ec == http::error::body_limit) return send_error(413, "Request body too large\n");
    if (ec == http::error::header_limit)
      return send_error(431, "Request header fields too large\n");
    if (is_http_error(ec) && ec != http::error::partial_message)
      return send_error(400, "Bad request\n");
    close_now();  // timeout, reset, cancelled, partial message
  }

  void on_read(error_code ec) {
    if (ec) return on_read_error(ec);
    state_ = State::kHandling;
    lowest().expires_never();
    auto req = parser_->release();
    parser_.reset();
    keep_alive_ = req.keep_alive();
    version_ = req.version();

    auto request = std::make_shared<HttpRequest>();
    request->method = std::string(req.method_string());
    request->target = std::string(req.target());
    for (const auto& f : req) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      auto [it, inserted] = request->headers.emplace(name, std::string(f.value()));
      if (!inserted) it->second += ", " + std::string(f.value());
    }
    request->body = std::move(req.body());
    dispatch(std::move(request));
  }

  // Runs the handler on the worker pool; its response comes back on the strand. A response that
  // asks to be retried later (retry_after_ms) is not sent: the same request goes back to the
  // handler after that delay, on a timer, holding no worker meanwhile.
  void dispatch(std::shared_ptr<HttpRequest> request) {
    asio::post(*impl_->pool, [self = this->shared_from_this(), request] {
      HttpResponse response;
      try {
        response = self->impl_->handler(*request, self->peer_);
      } catch (const std::exception& e) {
        response = error_response(500, "Internal server error\n");
      } catch (...) {
        response = error_response(500, "Internal server error\n");
      }
      if (auto deferred = std::move(response.deferred)) {
        if constexpr (std::is_same_v<Stream, UnixStream>)
          asio::post(self->stream_.get_executor(), [self] { self->watch_hangup(); });
        deferred->on_complete([self](HttpResponse later) {
          later.deferred.reset();
          asio::post(self->stream_.get_executor(), [self, later = std::move(later)]() mutable {
            self->on_response(std::move(later));
          });
        });
        return;
      }
      asio::post(self->stream_.get_executor(),
                 [self, request, response = std::move(response)]() mutable {
                   if (response.retry_after_ms > 0) return self->retry_later(request, response);
                   self->on_response(std::move(response));
                 });
    });
  }

  void retry_later(std::shared_ptr<HttpRequest> request, const HttpResponse& response) {
    if (state_ == State::kClosed) return;
    state_ = State::kDelaying;
    request->waited_ms += response.retry_after_ms;
    timer_.expires_after(std::chrono::milliseconds(response.retry_after_ms));
    timer_.async_wait([self = this->shared_from_this(), request](error_code ec) {
      if (ec || self->state_ == State::kClosed || self->stopping_ || self->impl_->stopping)
        return self->close_now();
      self->state_ = State::kHandling;
      self->dispatch(request);
    });
  }

  static HttpResponse error_response(int status, const std::string& text) {
    HttpResponse r;
    r.status = status;
    r.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
    r.body = text;
    r.close = true;
    return r;
  }

  void send_error(int status, const std::string& text) {
    drain_after_ = true;
    keep_alive_ = false;
    version_ = 11;
    on_response(error_response(status, text));
  }

  void on_response(HttpResponse response) {
    if (state_ == State::kClosed) return;
    if (response.delay_ms > 0) {
      state_ = State::kDelaying;
      timer_.expires_after(std::chrono::milliseconds(response.delay_ms));
      response.delay_ms = 0;
      timer_.async_wait(
          [self = this->shared_from_this(), response = std::move(response)](error_code ec) mutable {
            if (ec || self->state_ == State::kClosed) return self->close_now();
            self->on_response(std::move(response));
          });
      return;
    }
    state_ = State::kWriting;
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(version_);
    if (response.status < 100 || response.status > 999)
      response = error_response(500, "Internal server error\n");
    res->result(static_cast<unsigned>(response.status));
    for (auto& [name, value] : response.headers) {
      if (name.empty() || beast::iequals(name, "content-length") ||
          beast::iequals(name, "transfer-encoding") || has_crlf(name) || has_crlf(value))
        continue;  // framing is ours; no header injection
      res->insert(name, value);
    }
    res->body() = std::move(response.body);
    bool keep = keep_alive_ && !response.close && !stopping_ && !impl_->stopping;
    res->keep_alive(keep);
    res->prepare_payload();
    response_ = res;
    arm_idle();
    http::async_write(
        stream_, *response_, [self = this->shared_from_this(), keep](error_code ec, size_t) {
          self->response_.reset();
          if (ec) return self->close_now();
          self->answered_ = true;
          if (!keep) return self->drain_after_ ? self->close_draining() : self->close_graceful();
          self->do_read();
        });
  }

  /// After an error answer the client may still be sending: half-close and read what comes for a
  /// moment, so that closing with unread data (which sends RST) cannot destroy the answer.
  void close_draining() {
    state_ = State::kClosing;
    error_code ignored;
    lowest().socket().shutdown(asio::socket_base::shutdown_send, ignored);
    lowest().expires_after(kCloseTimeout);
    drain_some();
  }

  void drain_some() {
    scratch_.resize(16 * 1024);
    lowest().async_read_some(asio::buffer(scratch_),
                             [self = this->shared_from_this()](error_code ec, size_t) {
                               if (ec) return self->close_now();
                               self->drain_some();
                             });
  }

  void close_graceful() {
    state_ = State::kClosing;
    if constexpr (kTls) {
      lowest().expires_after(kCloseTimeout);
      stream_.async_shutdown([self = this->shared_from_this()](error_code) { self->close_now(); });
    } else {
      error_code ignored;
      lowest().socket().shutdown(asio::socket_base::shutdown_send, ignored);
      close_now();
    }
  }

  void notify_closed() {
    if (closed_notified_ || !impl_->options.on_close) return;
    closed_notified_ = true;
    impl_->options.on_close(peer_);
  }

  // While a long poll waits, nothing reads the socket: a peer that went away (a killed client)
  // is seen here, so that what it made ends now rather than when the poll is answered. Bytes
  // the peer sent meanwhile (a pipelined request) stay for the next read.
  void watch_hangup() {
    if (state_ != State::kHandling) return;
    lowest().socket().async_wait(asio::socket_base::wait_read,
                                 [self = this->shared_from_this()](error_code ec) {
                                   if (ec || self->state_ != State::kHandling) return;
                                   if (os::peer_hung_up(self->lowest().socket().native_handle()))
                                     self->notify_closed();
                                 });
  }

  void close_now() {
    if (state_ == State::kClosed) return;
    state_ = State::kClosed;
    error_code ignored;
    timer_.cancel();
    lowest().cancel();
    lowest().socket().shutdown(asio::socket_base::shutdown_both, ignored);
    lowest().socket().close(ignored);
    ticket.reset();  // the descriptor is gone: so is the slot, whoever still holds the session
  }

  Core* impl_;
  Peer peer_;
  Stream stream_;
  asio::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<http::response<http::empty_body>> continue_;
  std::shared_ptr<http::response<http::string_body>> response_;
  std::vector<char> scratch_;
  State state_ = State::kHandshake;
  bool keep_alive_ = false;
  bool stopping_ = false;
  bool drain_after_ = false;
  bool answered_ = false;         // a response was written: idle_timeout_s applies from now on
  bool closed_notified_ = false;  ///< on_close ran (at most once)
  unsigned version_ = 11;
};

/// Parses "ADDR:PORT", "[V6]:PORT" (an optional path after the port is ignored).
bool split_host_port(std::string s, std::string& host, std::string& port) {
  if (auto slash = s.find('/'); slash != std::string::npos) s.resize(slash);
  if (!s.empty() && s[0] == '[') {
    auto close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':') return false;
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string::npos || s.find(':') != colon) return false;
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  if (host.empty() || port.empty() || port.size() > 5) return false;
  for (char c : port)
    if (c < '0' || c > '9') return false;
  return std::stoul(port) <= 65535;
}

}  // namespace

struct Server::Impl : Core {
  using Core::Core;
};

Result<void> Core::ensure_ssl() {
  if (ssl_ctx) return {};
  if (options.certificate_file.empty() || options.private_key_file.empty())
    return Error{WbemStatus::kFailed, "https: no certificate_file/private_key_file configured"};
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                   asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  error_code ec;
  ctx->use_certificate_chain_file(options.certificate_file, ec);
  if (ec) return Error{WbemStatus::kFailed, options.certificate_file + ": " + ec.message()};
  ctx->use_private_key_file(options.private_key_file, asio::ssl::context::pem, ec);
  if (ec) return Error{WbemStatus::kFailed, options.private_key_file + ": " + ec.message()};
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1)
    return Error{
        WbemStatus::kFailed,
        options.private_key_file + ": does not match the certificate " + options.certificate_file};
  ssl_ctx = std::move(ctx);
  return {};
}

Result<void> Core::listen_tcp(const std::string& endpoint, const std::string& hostport,
                              Peer::Transport transport) {
  std::string host, port;
  if (!split_host_port(hostport, host, port))
    return Error{WbemStatus::kInvalidParameter, endpoint + ": expected ADDR:PORT or [V6ADDR]:PORT"};
  if (transport == Peer::Transport::kHttps) {
    auto s = ensure_ssl();
    if (!s) return s;
  }
  error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) {
    tcp::resolver resolver(*ioc);
    auto results =
        resolver.resolve(host, port, tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec || results.empty()) return asio_error(endpoint + ": resolve " + host, ec);
    addr = results.begin()->endpoint().address();
  }
  tcp::endpoint ep(addr, static_cast<uint16_t>(std::stoul(port)));
  auto acceptor = std::make_unique<tcp::acceptor>(asio::make_strand(*ioc));
  ec = open_cloexec(*acceptor, ep.protocol());
  if (!ec) acceptor->non_blocking(true, ec);
  if (ec) return asio_error(endpoint + ": socket", ec);
  acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (addr.is_v6()) acceptor->set_option(asio::ip::v6_only(true), ec);
  acceptor->bind(ep, ec);
  if (ec) return asio_error(endpoint + ": bind", ec);
  acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return asio_error(endpoint + ": listen", ec);
  auto bound = acceptor->local_endpoint(ec);
  if (ec) return asio_error(endpoint + ": getsockname", ec);
  std::string url = std::string(transport == Peer::Transport::kHttps ? "https://" : "http://") +
                    host_text(bound.address()) + ":" + std::to_string(bound.port()) + "/wsman";
  auto& l = tcp_listeners.emplace_back(TcpListener{std::move(acceptor), transport, url});
  if (started) asio::dispatch(l.acceptor->get_executor(), [this, &l] { accept_tcp(l); });
  return {};
}

Result<void> Core::listen_unix(const std::string& path) {
  if (path.empty() || path[0] != '/')
    return Error{WbemStatus::kInvalidParameter, "unix:" + path + ": not an absolute path"};
  // Parent directories, 0755.
  std::string dir;
  if (int err = os::make_parent_directories(path, 0755, &dir))
    return errno_error("unix:" + path + ": mkdir " + dir, err);
  // A stale socket file (a crashed lwmid) is removed, a live one is not.
  bool is_socket = false;
  if (os::socket_file_state(path, &is_socket) == 0) {
    if (!is_socket)
      return Error{WbemStatus::kFailed, "unix:" + path + ": exists and is not a socket"};
    unix_proto::socket probe(*ioc);
    error_code ec = open_cloexec(probe, unix_proto());
    if (ec) return asio_error("unix:" + path + ": socket", ec);
    probe.connect(unix_proto::endpoint(path), ec);
    if (!ec)
      return Error{WbemStatus::kFailed, "unix:" + path + ": another process is listening on it"};
    if (ec != asio::error::connection_refused)
      return asio_error("unix:" + path + ": probing the existing socket", ec);
    if (int err = os::remove_file(path); err != 0 && err != ENOENT)
      return errno_error("unix:" + path + ": unlink stale socket", err);
  }
  auto acceptor = std::make_unique<unix_proto::acceptor>(asio::make_strand(*ioc));
  error_code ec;
  ec = open_cloexec(*acceptor, unix_proto());
  if (!ec) acceptor->non_blocking(true, ec);
  if (ec) return asio_error("unix:" + path + ": socket", ec);
  acceptor->bind(unix_proto::endpoint(path), ec);
  if (ec) return asio_error("unix:" + path + ": bind", ec);
  if (int err = os::set_file_mode(path, 0666))
    return errno_error("unix:" + path + ": chmod 0666", err);
  acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return asio_error("unix:" + path + ": listen", ec);
  UnixListener l{std::move(acceptor), path};
  if (auto id = os::file_identity(path)) l.file = *id;
  auto& ref = unix_listeners.emplace_back(std::move(l));
  if (started) asio::dispatch(ref.acceptor->get_executor(), [this, &ref] { accept_unix(ref); });
  return {};
}

void Core::accept_tcp(TcpListener& l) {
  async_accept_cloexec(
      *l.acceptor, asio::make_strand(*ioc), [this, &l](error_code ec, tcp::socket socket) {
        if (ec == asio::error::operation_aborted || !l.acceptor->is_open() || stopping) return;
        if (ec) {  // EMFILE and the like: try again shortly
          auto timer = std::make_shared<asio::steady_timer>(l.acceptor->get_executor(),
                                                            std::chrono::milliseconds(100));
          timer->async_wait([this, &l, timer](error_code) {
            if (!stopping && l.acceptor->is_open()) accept_tcp(l);
          });
          return;
        }
        Peer peer;
        peer.transport = l.transport;
        peer.connection_id = next_connection_id++;
        error_code ignored;
        auto remote = socket.remote_endpoint(ignored);
        peer.address = remote.address().to_string();
        peer.port = remote.port();
        peer.loopback = is_loopback(remote.address());
        auto admission = limiter->admit(
            "addr:" + (peer.loopback ? std::string("loopback") : peer.address), false);
        if (!admission.ticket) {
          refuse_connection(socket, peer, admission.refusal,
                            l.transport != Peer::Transport::kHttps);
          return accept_tcp(l);
        }
        socket.set_option(tcp::no_delay(true), ignored);
        std::shared_ptr<SessionBase> session;
        if (l.transport == Peer::Transport::kHttps) {
          auto s = std::make_shared<Session<TlsStream>>(this, std::move(peer), std::move(socket),
                                                        *ssl_ctx);
          session = s;
          s->ticket = std::move(admission.ticket);
          s->run();
        } else {
          auto s = std::make_shared<Session<TcpStream>>(this, std::move(peer), std::move(socket));
          s->ticket = std::move(admission.ticket);
          s->run();
          session = s;
        }
        add_session(session);
        accept_tcp(l);
      });
}

void Core::accept_unix(UnixListener& l) {
  async_accept_cloexec(
      *l.acceptor, asio::make_strand(*ioc), [this, &l](error_code ec, unix_proto::socket socket) {
        if (ec == asio::error::operation_aborted || !l.acceptor->is_open() || stopping) return;
        if (ec) {
          auto timer = std::make_shared<asio::steady_timer>(l.acceptor->get_executor(),
                                                            std::chrono::milliseconds(100));
          timer->async_wait([this, &l, timer](error_code) {
            if (!stopping && l.acceptor->is_open()) accept_unix(l);
          });
          return;
        }
        Peer peer;
        peer.transport = Peer::Transport::kUnix;
        peer.connection_id = next_connection_id++;
        peer.loopback = true;
        if (auto cred = os::peer_credentials(socket.native_handle())) {
          peer.uid = cred->uid;
          peer.gid = cred->gid;
          peer.pid = cred->pid;
        }
        // Counted before the pidfd is taken: a refused connection costs no second descriptor.
        auto admission = limiter->admit(
            peer.uid ? "uid:" + std::to_string(*peer.uid) : std::string("uid:?"), peer.uid == 0u);
        if (!admission.ticket) {
          refuse_connection(socket, peer, admission.refusal, true);
          return accept_unix(l);
        }
        if (peer.uid) identify_peer_process(socket.native_handle(), &peer);
        auto s = std::make_shared<Session<UnixStream>>(this, std::move(peer), std::move(socket));
        s->ticket = std::move(admission.ticket);
        s->run();
        add_session(s);
        accept_unix(l);
      });
}

void Core::stop() {
  if (!started) {
    // Never started: only the listeners to release.
    for (auto& l : unix_listeners) os::remove_if_same(l.path, l.file);
    tcp_listeners.clear();
    unix_listeners.clear();
    return;
  }
  stopping = true;
  // Close the acceptors on their strands.
  std::mutex mu;
  std::condition_variable cv;
  size_t pending = tcp_listeners.size() + unix_listeners.size();
  auto done = [&] {
    std::lock_guard lock(mu);
    if (--pending == 0) cv.notify_all();
  };
  for (auto& l : tcp_listeners)
    asio::dispatch(l.acceptor->get_executor(), [&l, &done] {
      error_code ignored;
      l.acceptor->close(ignored);
      done();
    });
  for (auto& l : unix_listeners)
    asio::dispatch(l.acceptor->get_executor(), [&l, &done] {
      error_code ignored;
      l.acceptor->close(ignored);
      done();
    });
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return pending == 0; });
  }
  // Idle connections close now; busy ones after their response.
  {
    base::MutexLock lock(sessions_mu);
    for (auto& w : sessions)
      if (auto s = w.lock()) s->cancel();
    sessions.clear();
  }
  // Handlers in flight finish (their responses are posted to the connections' strands).
  pool->join();
  // Let the I/O threads write the last responses, but not for long.
  work.reset();
  std::mutex wd_mu;
  std::condition_variable wd_cv;
  bool joined = false;
  std::thread watchdog([&] {
    std::unique_lock lock(wd_mu);
    if (!wd_cv.wait_for(lock, kStopGrace, [&] { return joined; })) ioc->stop();
  });
  for (auto& t : io_threads) t.join();
  io_threads.clear();
  {
    std::lock_guard lock(wd_mu);
    joined = true;
  }
  wd_cv.notify_all();
  watchdog.join();
  for (auto& l : unix_listeners) os::remove_if_same(l.path, l.file);
  started = false;
}

// ---------------------------------------------------------------------------------------------
// DeferredResponse

void DeferredResponse::complete(HttpResponse response) {
  std::function<void(HttpResponse)> then;
  {
    base::MutexLock lock(mu_);
    if (response_) return;  // completed already
    if (!then_) {
      response_ = std::make_unique<HttpResponse>(std::move(response));
      return;
    }
    then = std::move(then_);
    response_ = std::make_unique<HttpResponse>();  // marks it complete
  }
  then(std::move(response));
}

void DeferredResponse::on_complete(std::function<void(HttpResponse)> f) {
  std::unique_ptr<HttpResponse> ready;
  {
    base::MutexLock lock(mu_);
    if (!response_) {
      then_ = std::move(f);
      return;
    }
    ready = std::move(response_);
    response_ = std::make_unique<HttpResponse>();
  }
  f(std::move(*ready));
}

// ---------------------------------------------------------------------------------------------
// Server

Server::Server(ServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

Server::~Server() {
  stop();
  // Handlers queued in the pool or the io_context hold sessions whose sockets belong to the
  // io_context: the pool first, then the acceptors, then the io_context itself.
  impl_->pool.reset();
  impl_->tcp_listeners.clear();
  impl_->unix_listeners.clear();
  impl_->ioc.reset();
}

Result<void> Server::listen(const std::string& endpoint) {
  if (impl_->stopping) return Error{WbemStatus::kFailed, endpoint + ": the server is stopped"};
  if (endpoint.rfind("unix:", 0) == 0) return impl_->listen_unix(endpoint.substr(5));
  if (endpoint.rfind("http://", 0) == 0)
    return impl_->listen_tcp(endpoint, endpoint.substr(7), Peer::Transport::kHttp);
  if (endpoint.rfind("https://", 0) == 0)
    return impl_->listen_tcp(endpoint, endpoint.substr(8), Peer::Transport::kHttps);
  return Error{WbemStatus::kInvalidParameter,
               endpoint + ": expected unix:/PATH, http://ADDR:PORT or https://ADDR:PORT"};
}

std::vector<std::string> Server::endpoints() const {
  std::vector<std::string> out;
  for (const auto& l : impl_->tcp_listeners) out.push_back(l.url);
  for (const auto& l : impl_->unix_listeners) out.push_back("unix:" + l.path);
  return out;
}

void Server::start() {
  if (impl_->started || impl_->stopping) return;
  impl_->started = true;
  impl_->pool = std::make_unique<asio::thread_pool>(impl_->options.workers);
  impl_->work = std::make_unique<asio::executor_work_guard<asio::io_context::executor_type>>(
      impl_->ioc->get_executor());
  for (auto& l : impl_->tcp_listeners)
    asio::dispatch(l.acceptor->get_executor(), [this, &l] { impl_->accept_tcp(l); });
  for (auto& l : impl_->unix_listeners)
    asio::dispatch(l.acceptor->get_executor(), [this, &l] { impl_->accept_unix(l); });
  for (size_t i = 0; i < impl_->options.io_threads; ++i)
    impl_->io_threads.emplace_back([this] { impl_->ioc->run(); });
}

void Server::stop() {
  impl_->stop();
  impl_->stopping = true;
}

}  // namespace lwmi::net
