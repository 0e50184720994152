// client/remote_services.cc — WS-Management over Boost.Beast (sync HTTP/1.1 keep-alive) on a
// Unix socket, TCP or TLS; certificate pinning; Services mapped onto the client codec.
#include "client/remote_services.h"
#include "base/mutex.h"

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>

#include "base/strings.h"
#include "cim/schema.h"
#include "event/subscription_manager.h"
#include "lwmi/object_path.h"
#include "net/cloexec_socket.h"
#include "os/accounts.h"
#include "os/descriptors.h"
#include "security/caller.h"
#include "wql/parser.h"

namespace lwmi::client {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace http = boost::beast::http;
using boost::system::error_code;

namespace wc = wsman::client;

// ---------------------------------------------------------------------------------------------
// Endpoints

std::string Endpoint::host_port() const {
  if (kind == Kind::kUnix) return "unix:" + path;
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

std::string Endpoint::url() const {
  if (kind == Kind::kUnix) return "http://localhost" + target;
  return std::string(kind == Kind::kHttps ? "https://" : "http://") + host_port() + target;
}

Result<Endpoint> parse_node(std::string_view node) {
  Endpoint e;
  auto bad = [&](const std::string& why) {
    return Error{WbemStatus::kInvalidParameter, "node '" + std::string(node) + "': " + why};
  };
  if (node.rfind("unix:", 0) == 0) {
    e.kind = Endpoint::Kind::kUnix;
    e.path = std::string(node.substr(5));
    if (e.path.empty()) return bad("no socket path after unix:");
    return e;
  }
  std::string_view rest = node;
  bool url = false;
  if (rest.rfind("https://", 0) == 0) {
    rest.remove_prefix(8);
    url = true;
  } else if (rest.rfind("http://", 0) == 0) {
    rest.remove_prefix(7);
    e.kind = Endpoint::Kind::kHttp;
    e.port = kHttpPort;
    url = true;
  }
  if (url) {
    auto slash = rest.find('/');
    if (slash != std::string_view::npos) {
      e.target = std::string(rest.substr(slash));
      rest = rest.substr(0, slash);
    }
  }
  if (rest.empty()) return bad("no host name");
  std::string_view host = rest, port;
  if (rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string_view::npos) return bad("unterminated [ in an IPv6 address");
    host = rest.substr(1, close - 1);
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("unexpected text after ]");
      port = after.substr(1);
    }
  } else if (std::count(rest.begin(), rest.end(), ':') == 1) {
    auto colon = rest.find(':');
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }  // more than one ':' without brackets: a bare IPv6 address
  if (host.empty()) return bad("no host name");
  if (!port.empty() || (rest.back() == ':' && rest.front() != '[')) {
    auto p = base::parse_u64(port);
    if (!p || *p == 0 || *p > 65535) return bad("port '" + std::string(port) + "' is not 1-65535");
    e.port = static_cast<uint16_t>(*p);
  }
  e.host = std::string(host);
  return e;
}

bool socket_accepts(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) return false;
  asio::io_context ioc;
  asio::local::stream_protocol::socket s(ioc);
  error_code ec = net::open_cloexec(s, asio::local::stream_protocol());
  if (!ec) s.connect(asio::local::stream_protocol::endpoint(path), ec);
  return !ec;
}

std::string default_known_hosts_file() {
  std::string home;
  if (const char* h = ::getenv("HOME"); h && *h) home = h;
  if (home.empty())
    if (auto me = os::SystemAccounts().user_with_uid(::geteuid())) home = me->home;
  if (home.empty()) home = "/";
  return home + "/.config/lwmi/known_hosts";
}

namespace {

std::string base64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(n < 0 ? 0 : static_cast<size_t>(n));
  return out;
}

std::string fingerprint(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert, EVP_sha256(), md, &len) != 1) return {};
  static const char kHex[] = "0123456789ABCDEF";
  std::string out = "SHA256:";
  for (unsigned int i = 0; i < len; ++i) {
    if (i) out += ':';
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

std::string openssl_reason(const error_code& ec) {
  std::string m = ec.message();
  if (ec.category() == asio::error::get_ssl_category()) {
    unsigned long e = static_cast<unsigned long>(ec.value());
    if (const char* r = ERR_reason_error_string(e)) m = r;
  }
  return m;
}

/// Creates `dir` and its parents with `mode` (existing ones are left as they are).
bool make_dirs(const std::string& dir, mode_t mode) {
  if (dir.empty()) return true;
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) return S_ISDIR(st.st_mode);
  auto slash = dir.find_last_of('/');
  if (slash != std::string::npos && slash > 0 && !make_dirs(dir.substr(0, slash), mode))
    return false;
  return ::mkdir(dir.c_str(), mode) == 0 || errno == EEXIST;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Connection: one keep-alive HTTP/1.1 connection, reopened when needed.

class Connection {
 public:
  Connection(Endpoint endpoint, const ConnectOptions& options)
      : endpoint_(std::move(endpoint)),
        user_(options.user),
        password_(options.password),
        ca_file_(options.ca_file),
        known_hosts_(options.known_hosts_file.empty() ? default_known_hosts_file()
                                                      : options.known_hosts_file),
        connect_timeout_ms_(options.connect_timeout_ms),
        operation_timeout_ms_(options.operation_timeout_ms) {}
  ~Connection() { close(); }

  /// POSTs an envelope; the response body for HTTP 200, the fault's Error for a SOAP fault,
  /// else an Error for the HTTP status or the transport failure.
  /// `server_wait_ms`: how long the server may hold the request by design (a Pull's
  /// OperationTimeout), added to the operation timeout.
  /// `cancel`: when set (before or during the exchange) and cancel(cancel) is called, the
  /// exchange ends at once with WBEM_E_CALL_CANCELLED and the connection is closed (the next
  /// post opens a new one).
  Result<std::string> post(const std::string& envelope, int server_wait_ms = 0,
                           const std::atomic<bool>* cancel = nullptr) {
    base::MutexLock lock(mu_);
    struct Exchanging {
      Connection* c;
      ~Exchanging() {
        base::MutexLock l(c->cancel_mu_);
        c->cancel_token_ = nullptr;
      }
    } exchanging{this};
    {
      base::MutexLock l(cancel_mu_);
      ++exchange_;
      cancel_token_ = cancel;
      if (cancel && *cancel) return cancelled();
    }
    for (int attempt = 0;; ++attempt) {
      bool reused = open_ && used_;
      if (!open_) {
        auto r = open();
        if (!r.ok()) return cancel && *cancel ? cancelled() : r.take_error();
      }
      http::request<http::string_body> req{http::verb::post, endpoint_.target, 11};
      req.set(http::field::host, endpoint_.kind == Endpoint::Kind::kUnix ? std::string("localhost")
                                                                         : endpoint_.host_port());
      req.set(http::field::user_agent, "lwmi/0.1.0");
      req.set(http::field::content_type, "application/soap+xml;charset=UTF-8");
      if (endpoint_.kind != Endpoint::Kind::kUnix && !user_.empty())
        req.set(http::field::authorization, "Basic " + base64(user_ + ":" + password_));
      req.keep_alive(true);
      req.body() = envelope;
      req.prepare_payload();

      http::response_parser<http::string_body> parser;
      parser.body_limit(64u << 20);
      error_code ec = exchange(req, parser, server_wait_ms);
      if (ec == asio::error::timed_out) {
        close();
        return Error{WbemStatus::kTimedOut, "no answer from " + where() + " within " +
                                                millis(operation_timeout_ms_ + server_wait_ms) +
                                                " (operation timeout)"};
      }
      if (ec) {
        close();
        if (cancel && *cancel) return cancelled();
        // The server may have closed an idle keep-alive connection: try once on a new one.
        if (reused && attempt == 0 && !parser.got_some()) continue;
        return Error{WbemStatus::kFailed, "cannot reach " + where() + ": " + openssl_reason(ec)};
      }
      used_ = true;
      auto& res = parser.get();
      if (!res.keep_alive()) close();
      int status = static_cast<int>(res.result_int());
      if (status == 401) {
        if (user_.empty())
          return Error{WbemStatus::kAccessDenied,
                       "authentication failed at " + where() + ": no user given (use --user)"};
        return Error{WbemStatus::kAccessDenied,
                     "authentication failed for user '" + user_ + "' at " + where()};
      }
      if (status == 200) return std::move(res.body());
      if (auto f = wc::fault_of(res.body())) return *f;
      return Error{WbemStatus::kFailed, where() + " answered HTTP " + std::to_string(status) + " " +
                                            std::string(res.reason())};
    }
  }

  /// From any thread: ends the exchange that post() runs with this `token` (already set by the
  /// caller), if one runs; a post() that starts later with it set ends at once instead.
  void cancel(const std::atomic<bool>* token) {
    base::MutexLock l(cancel_mu_);
    if (cancel_token_ != token || !token) return;
    // The sockets belong to the thread running the exchange: it closes them, in its io_context.
    asio::post(ioc_, [this, exchange = exchange_] {
      if (exchange != exchange_) return;  // a later exchange's, queued too late
      abort_io();
    });
  }

  std::vector<std::string> notes() const {
    base::MutexLock lock(mu_);
    return notes_;
  }

  std::string where() const { return endpoint_.host_port(); }

 private:
  /// On the thread that runs the exchange: closes every socket and cancels a resolve, so that
  /// whatever is pending ends with operation_aborted.
  void abort_io() {
    error_code ignored;
    if (tls_) tls_->lowest_layer().close(ignored);
    if (tcp_) tcp_->close(ignored);
    if (unix_) unix_->close(ignored);
    if (pending_tcp_) pending_tcp_->close(ignored);
    if (resolver_) resolver_->cancel();
  }

  Error cancelled() const {
    return Error{WbemStatus::kCallCancelled, "the request to " + where() + " was interrupted"};
  }

  static std::string millis(int ms) {
    if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
    return std::to_string(ms) + " ms";
  }

  /// Runs the asynchronous operation `start` begins (it calls its handler with an error_code)
  /// until it completes or `deadline` passes; then its sockets are closed, the operation ends
  /// with operation_aborted, and asio::error::timed_out is returned.
  template <class Start>
  error_code run(Start&& start, std::optional<std::chrono::steady_clock::time_point> deadline) {
    error_code result = asio::error::would_block;
    start([&](error_code ec) { result = ec; });
    ioc_.restart();
    while (result == asio::error::would_block) {
      size_t n = deadline ? ioc_.run_one_until(*deadline) : ioc_.run_one();
      if (n == 0 && result == asio::error::would_block) {
        // Deadline passed: abort what is pending, and let its handlers run before any
        // stream is destroyed.
        abort_io();
        ioc_.restart();
        ioc_.run();
        return asio::error::timed_out;
      }
    }
    return result;
  }

  static std::optional<std::chrono::steady_clock::time_point> deadline_after(int ms) {
    if (ms <= 0) return std::nullopt;
    return std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  }

  template <class Req, class Parser>
  error_code exchange(Req& req, Parser& parser, int server_wait_ms) {
    error_code ec;
    buffer_.clear();
    auto deadline = deadline_after(
        operation_timeout_ms_ > 0 ? operation_timeout_ms_ + std::max(server_wait_ms, 0) : 0);
    auto run = [&](auto& stream) {
      ec = this->run(
          [&](auto done) {
            http::async_write(stream, req, [done](error_code e, size_t) { done(e); });
          },
          deadline);
      if (!ec)
        ec = this->run(
            [&](auto done) {
              http::async_read(stream, buffer_, parser, [done](error_code e, size_t) { done(e); });
            },
            deadline);
    };
    if (unix_)
      run(*unix_);
    else if (tls_)
      run(*tls_);
    else if (tcp_)
      run(*tcp_);
    else
      ec = asio::error::not_connected;
    return ec;
  }

  Result<void> open() {
    close();
    used_ = false;
    error_code ec;
    if (endpoint_.kind == Endpoint::Kind::kUnix) {
      unix_.emplace(ioc_);
      ec = net::open_cloexec(*unix_, asio::local::stream_protocol());
      if (!ec)
        ec = run(
            [&](auto done) {
              unix_->async_connect(asio::local::stream_protocol::endpoint(endpoint_.path), done);
            },
            deadline_after(connect_timeout_ms_));
      if (ec) {
        unix_.reset();
        return Error{WbemStatus::kFailed, "cannot reach lwmid at " + where() + ": " + ec.message()};
      }
      open_ = true;
      return {};
    }
    auto deadline = deadline_after(connect_timeout_ms_);
    auto no_connection = [&] {
      return Error{WbemStatus::kFailed, "cannot reach " + where() + ": no connection within " +
                                            millis(connect_timeout_ms_) + " (connect timeout)"};
    };
    resolver_.emplace(ioc_);
    asio::ip::tcp::resolver::results_type results;
    ec = run(
        [&](auto done) {
          resolver_->async_resolve(endpoint_.host, std::to_string(endpoint_.port),
                                   [&results, done](error_code e, auto r) {
                                     results = std::move(r);
                                     done(e);
                                   });
        },
        deadline);
    resolver_.reset();
    if (ec == asio::error::timed_out) return no_connection();
    if (ec)
      return Error{WbemStatus::kFailed, "cannot reach " + where() + ": cannot resolve '" +
                                            endpoint_.host + "': " + ec.message()};
    pending_tcp_.emplace(ioc_);
    ec = run(
        [&](auto done) {
          asio::async_connect(*pending_tcp_, results,
                              [done](error_code e, const auto&) { done(e); });
        },
        deadline);
    if (ec) {
      pending_tcp_.reset();
      if (ec == asio::error::timed_out) return no_connection();
      return Error{WbemStatus::kFailed, "cannot reach " + where() + ": " + ec.message()};
    }
    asio::ip::tcp::socket sock(std::move(*pending_tcp_));
    pending_tcp_.reset();
    // asio's range connect opens a socket per address without close-on-exec: flag it now (a
    // program that forks while this connects may still inherit it for that instant).
    (void)os::set_cloexec(sock.native_handle());
    sock.set_option(asio::ip::tcp::no_delay(true), ec);
    if (endpoint_.kind == Endpoint::Kind::kHttp) {
      tcp_.emplace(std::move(sock));
      open_ = true;
      return {};
    }
    if (!ssl_ctx_) {
      ssl_ctx_ = std::make_unique<ssl::context>(ssl::context::tls_client);
      ssl_ctx_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                            ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                            ssl::context::no_tlsv1_1);
      if (!ca_file_.empty()) {
        ssl_ctx_->load_verify_file(ca_file_, ec);
        if (ec) {
          ssl_ctx_.reset();
          return Error{WbemStatus::kFailed, "cannot reach " + where() +
                                                ": cannot load the CA file " + ca_file_ + ": " +
                                                openssl_reason(ec)};
        }
        ssl_ctx_->set_verify_mode(ssl::verify_peer);
      } else {
        ssl_ctx_->set_verify_mode(ssl::verify_none);  // pinned below instead
      }
    }
    tls_.emplace(std::move(sock), *ssl_ctx_);
    bool is_address = false;
    {
      error_code aec;
      asio::ip::make_address(endpoint_.host, aec);
      is_address = !aec;
    }
    if (!is_address) SSL_set_tlsext_host_name(tls_->native_handle(), endpoint_.host.c_str());
    if (!ca_file_.empty()) tls_->set_verify_callback(ssl::host_name_verification(endpoint_.host));
    ec = run([&](auto done) { tls_->async_handshake(ssl::stream_base::client, done); }, deadline);
    if (ec) {
      tls_.reset();
      // Connected, but no TLS answer: the host is there and does not answer (e.g. stopped).
      if (ec == asio::error::timed_out)
        return Error{WbemStatus::kTimedOut, "no answer from " + where() + " within " +
                                                millis(connect_timeout_ms_) +
                                                " (TLS handshake; connect timeout)"};
      if (!ca_file_.empty() && ec.category() == asio::error::get_ssl_category())
        return Error{WbemStatus::kFailed, "cannot reach " + where() + ": the certificate of " +
                                              where() + " does not verify against " + ca_file_ +
                                              ": " + openssl_reason(ec)};
      // A plain-HTTP server (lwmid's port 5985) answers a TLS hello with an HTTP error page,
      // which OpenSSL reads as a record of an unknown version: say what to type instead.
      std::string hint;
      if (ec.category() == asio::error::get_ssl_category() &&
          ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_WRONG_VERSION_NUMBER)
        hint =
            " (the server answered without TLS: for a plain HTTP port such as lwmid's 5985, "
            "name it http://" +
            where() + ")";
      return Error{WbemStatus::kFailed, "cannot reach " + where() +
                                            ": TLS handshake failed: " + openssl_reason(ec) + hint};
    }
    if (ca_file_.empty()) {
      auto pinned = pin();
      if (!pinned.ok()) {
        tls_.reset();
        return pinned;
      }
    }
    open_ = true;
    return {};
  }

  /// Trust on first use: compares the peer's certificate with known_hosts, records it if new.
  Result<void> pin() {
    X509* cert = SSL_get_peer_certificate(tls_->native_handle());
    if (!cert)
      return Error{WbemStatus::kFailed, "cannot reach " + where() + ": it sent no certificate"};
    std::string fp = fingerprint(cert);
    X509_free(cert);
    std::string key = where();
    std::ifstream in(known_hosts_);
    std::string line;
    while (std::getline(in, line)) {
      std::string_view l = base::trim(line);
      if (l.empty() || l.front() == '#') continue;
      auto sp = l.find_first_of(" \t");
      if (sp == std::string_view::npos) continue;
      if (l.substr(0, sp) != key) continue;
      std::string_view known = base::trim(l.substr(sp + 1));
      if (known == fp) return {};
      return Error{WbemStatus::kFailed, "certificate of " + key + " changed (was " +
                                            std::string(known) + ", now " + fp +
                                            "): refusing; remove the line from " + known_hosts_ +
                                            " if the change is expected"};
    }
    in.close();
    // Accepted on first use; recorded once the connection proved useful (commit_pin), so a
    // failed login leaves no trace and the note reaches the caller with a working connection.
    if (!pending_fp_.empty() && pending_fp_ != fp)
      return Error{WbemStatus::kFailed, "certificate of " + key + " changed (was " + pending_fp_ +
                                            ", now " + fp + "): refusing"};
    pending_fp_ = fp;
    return {};
  }

 public:
  /// Records a certificate accepted on first use in known_hosts (a note says so).
  void commit_pin() {
    base::MutexLock lock(mu_);
    if (pending_fp_.empty()) return;
    std::string fp = std::move(pending_fp_);
    pending_fp_.clear();
    std::string key = where();
    auto slash = known_hosts_.find_last_of('/');
    if (slash != std::string::npos && slash > 0) make_dirs(known_hosts_.substr(0, slash), 0700);
    std::ofstream out(known_hosts_, std::ios::app);
    if (out) out << key << ' ' << fp << '\n';
    if (out && out.flush()) {
      notes_.push_back("recorded the certificate of " + key + " (" + fp + ") in " + known_hosts_);
    } else {
      notes_.push_back("trusting the certificate of " + key + " (" + fp +
                       ") for this session only: cannot write " + known_hosts_ + ": " +
                       std::strerror(errno));
    }
  }

 private:
  void close() {
    error_code ec;
    if (tls_) tls_->lowest_layer().close(ec);
    if (tcp_) tcp_->close(ec);
    if (unix_) unix_->close(ec);
    tls_.reset();
    tcp_.reset();
    unix_.reset();
    open_ = false;
  }

  Endpoint endpoint_;
  std::string user_, password_, ca_file_, known_hosts_;
  mutable base::Mutex mu_;
  base::Mutex cancel_mu_;  ///< guards the two below (cancel() runs on another thread)
  /// The running exchange's.
  const std::atomic<bool>* cancel_token_ GUARDED_BY(cancel_mu_) = nullptr;
  /// Counts exchanges. Written with mu_ and cancel_mu_ held, so read with either: cancel() holds
  /// cancel_mu_; the abort it posts runs in post(), which holds mu_ (not expressible as
  /// GUARDED_BY).
  uint64_t exchange_ = 0;
  asio::io_context ioc_;
  std::unique_ptr<ssl::context> ssl_ctx_;
  std::optional<asio::local::stream_protocol::socket> unix_;
  std::optional<asio::ip::tcp::socket> tcp_;
  std::optional<ssl::stream<asio::ip::tcp::socket>> tls_;
  std::optional<asio::ip::tcp::socket> pending_tcp_;  ///< while connecting
  std::optional<asio::ip::tcp::resolver> resolver_;   ///< while resolving
  int connect_timeout_ms_ = 0;                        ///< 0 = no limit
  int operation_timeout_ms_ = 0;
  boost::beast::flat_buffer buffer_;
  bool open_ = false;
  bool used_ = false;
  std::vector<std::string> notes_;
  std::string pending_fp_;  ///< a certificate accepted on first use, not yet recorded
};

// ---------------------------------------------------------------------------------------------
// Streams: pull lazily as the caller iterates.

namespace {

class RemoteStream : public InstanceStream {
 public:
  RemoteStream(std::shared_ptr<Connection> c, wc::Common common, std::string uri,
               wc::EnumerationPage first, std::string server)
      : connection_(std::move(c)),
        common_(std::move(common)),
        uri_(std::move(uri)),
        server_(std::move(server)) {
    take(std::move(first));
  }
  ~RemoteStream() override {
    if (!done_ && !context_.empty()) {
      common_.message_id.clear();
      (void)connection_->post(wc::release_request(common_, uri_, context_));
    }
  }

  bool next(Instance* out) override {
    while (items_.empty()) {
      if (done_) return false;
      common_.message_id.clear();
      auto body = connection_->post(wc::pull_request(common_, uri_, context_, 100));
      if (!body.ok()) return fail(body.take_error());
      auto page = wc::parse_enumeration_response(*body);
      if (!page.ok()) return fail(page.take_error());
      take(std::move(*page));
    }
    *out = std::move(items_.front());
    items_.pop_front();
    return true;
  }

 private:
  void take(wc::EnumerationPage page) {
    for (auto& i : page.items) {
      i.set_server(server_);
      items_.push_back(std::move(i));
    }
    if (!page.context.empty()) context_ = page.context;
    if (page.end_of_sequence || page.context.empty()) done_ = true;
  }
  bool fail(Error e) {
    error_ = std::move(e);
    done_ = true;
    items_.clear();
    return false;
  }

  std::shared_ptr<Connection> connection_;
  wc::Common common_;
  std::string uri_;
  std::string server_;
  std::string context_;
  std::deque<Instance> items_;
  bool done_ = false;
};

/// `server` as the __SERVER of an event and of the objects it embeds (TargetInstance,
/// PreviousInstance, an aggregate's Representative and its own), which come from the same host
/// and reach us without one.
void name_server(Instance& inst, const std::string& server) {
  inst.set_server(server);
  for (size_t i = 0; i < inst.cls().properties.size(); ++i) {
    if (!inst.has(i)) continue;
    const Value& v = inst.at(i);
    if (v.type() != CimType::kObject || v.is_array() || v.is_null()) continue;
    auto copy = std::make_shared<Instance>(*v.as_object());
    name_server(*copy, server);
    inst.set(i, Value::object(std::move(copy)));
  }
}

/// Events over WS-Eventing: Pulls on the subscription's context, each waiting on the server up
/// to the time next() has left (or kPullWait when it waits forever).
class RemoteEventStream : public EventStream {
 public:
  static constexpr double kPullWait = 30;

  /// `server`: the host the events come from (their __SERVER, as RemoteStream's instances).
  RemoteEventStream(std::shared_ptr<Connection> c, wc::Common common, std::string uri,
                    wc::SubscribeResult sub, std::string server)
      : connection_(std::move(c)),
        common_(std::move(common)),
        uri_(std::move(uri)),
        sub_(std::move(sub)),
        server_(std::move(server)) {}
  ~RemoteEventStream() override {
    if (sub_.identifier.empty()) return;
    common_.message_id.clear();
    common_.timeout_s = 10;
    (void)connection_->post(wc::unsubscribe_request(common_, uri_, sub_.identifier));
  }

  GuardStatus guard_status() const override {
    if (sub_.guard) return *sub_.guard;
    return {};
  }

  Result<bool> next(Instance* out, int timeout_ms) override {
    using Clock = std::chrono::steady_clock;
    auto start = Clock::now();
    for (bool first = true;; first = false) {
      if (!queue_.empty()) {
        *out = std::move(queue_.front());
        queue_.pop_front();
        return true;
      }
      if (interrupted_.exchange(false)) return false;
      double wait = kPullWait;
      if (timeout_ms >= 0) {
        double left =
            timeout_ms / 1000.0 - std::chrono::duration<double>(Clock::now() - start).count();
        if (left <= 0 && !first) return false;
        wait = std::max(left, 0.0);
      }
      common_.message_id.clear();
      common_.timeout_s = wait;
      auto body = connection_->post(wc::pull_request(common_, uri_, sub_.context, 100),
                                    static_cast<int>(wait * 1000), &interrupted_);
      if (!body.ok()) {
        const Error& e = body.error();
        // interrupt(): the pull was abandoned (the server answers it when the Unsubscribe the
        // destructor sends comes, or when its wait ends).
        if (e.code == WbemStatus::kCallCancelled && interrupted_.exchange(false)) return false;
        // The server's TimedOut fault: nothing happened, pull again (not the client's own
        // operation timeout, "no answer from …": the server is stuck).
        if (e.code == WbemStatus::kTimedOut && e.message.rfind("no answer from", 0) != 0) continue;
        if (e.code == WbemStatus::kQueueOverflow) {
          dropped_ += std::max<uint64_t>(event::SubscriptionManager::dropped_in(e), 1);
          continue;
        }
        return body.take_error();
      }
      if (wc::is_heartbeat(*body)) continue;
      auto page = wc::parse_enumeration_response(*body);
      if (!page.ok()) return page.take_error();
      for (auto& i : page->items) {
        name_server(i, server_);
        queue_.push_back(std::move(i));
      }
      if (page->lost_events) lost_ = *page->lost_events;
      if (!page->context.empty()) sub_.context = page->context;
    }
  }
  /// Ends the Pull under way at once: its connection is closed (the next request opens another;
  /// on the Unix socket lwmid ends the subscription with it).
  void interrupt() override {
    interrupted_ = true;
    connection_->cancel(&interrupted_);
  }
  uint64_t dropped() const override { return dropped_; }
  /// The server's count of kernel events lost (each answered by a rescan there).
  uint64_t lost() const override { return lost_; }

 private:
  std::shared_ptr<Connection> connection_;
  wc::Common common_;
  std::string uri_;
  wc::SubscribeResult sub_;
  std::string server_;
  std::deque<Instance> queue_;
  uint64_t dropped_ = 0;
  uint64_t lost_ = 0;
  std::atomic<bool> interrupted_{false};
};

std::string local_host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

/// A query error from the server, its caret restored: the server names the query's column
/// ("… at column 15: …"), which a fault carries only in its text.
Error with_query_position(Error e, std::string_view wql) {
  auto at = e.message.find("at column ");
  if (at != std::string::npos && !e.position)
    if (auto col = base::parse_u64(e.message.substr(at + 10, e.message.find(':', at) - at - 10));
        col && *col >= 1 && *col <= wql.size() + 1)
      e.position = static_cast<size_t>(*col - 1);
  return e;
}

bool is_identifier(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return true;
}

/// The selectors of an instance path (unnamed bindings take the class's key name, else Handle).
std::vector<wsman::Selector> selectors_of(const ObjectPath& p) {
  std::vector<wsman::Selector> out;
  for (const auto& k : p.keys) {
    std::string name = k.name;
    if (name.empty()) {
      name = "Handle";
      if (auto cls = cim::Schema::builtin().find(p.class_name)) {
        auto keys = cls->key_indices();
        if (!keys.empty()) name = cls->properties[keys.front()].name;
      }
    }
    out.push_back({name, k.value.to_text()});
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// RemoteServices

RemoteServices::RemoteServices(std::shared_ptr<Connection> connection, Endpoint endpoint,
                               std::string host, std::string namespace_path)
    : connection_(std::move(connection)),
      endpoint_(std::move(endpoint)),
      host_(std::move(host)),
      namespace_(std::move(namespace_path)) {}

std::string RemoteServices::namespace_for(std::string_view cls, std::string_view path_ns) const {
  if (!path_ns.empty()) return std::string(path_ns);
  if (!namespace_.empty()) return namespace_;
  if (auto c = cim::Schema::builtin().find(cls)) return c->namespace_path;
  return "root\\cimv2";
}

std::string RemoteServices::uri_for(std::string_view cls, std::string_view path_ns) const {
  return wc::class_uri(cls, namespace_for(cls, path_ns));
}

RemoteServices::~RemoteServices() = default;

Result<std::unique_ptr<RemoteServices>> RemoteServices::connect(const ConnectOptions& options) {
  auto ep = parse_node(options.node);
  if (!ep.ok()) return ep.take_error();
  std::string ns = options.namespace_path;
  if (!ns.empty() && !ClassDecl::same_namespace(ns, "root\\cimv2") &&
      !ClassDecl::same_namespace(ns, "root\\subscription"))
    return Error{WbemStatus::kInvalidNamespace,
                 "namespace '" + options.namespace_path +
                     "' is not served (lwmi serves root\\cimv2 and root\\subscription)"};
  for (char& c : ns)
    if (c == '/') c = '\\';
  while (!ns.empty() && ns.front() == '\\') ns.erase(ns.begin());
  auto conn = std::make_shared<Connection>(*ep, options);
  std::string host = ep->kind == Endpoint::Kind::kUnix ? local_host_name() : ep->host;
  std::unique_ptr<RemoteServices> s(new RemoteServices(conn, *ep, host, ns));
  auto body = conn->post(wc::identify_request(s->common()));
  if (!body.ok()) return body.take_error();
  auto product = wc::parse_identify_response(*body);
  if (!product.ok()) return product.take_error();
  s->product_ = std::move(*product);
  conn->commit_pin();
  return s;
}

std::vector<std::string> RemoteServices::notes() const {
  return connection_->notes();
}

wc::Common RemoteServices::common() const {
  wc::Common c;
  c.to = endpoint_.url();
  c.privileges = privileges_;
  return c;
}

Result<Instance> RemoteServices::get_object(std::string_view path,
                                            const std::vector<std::string>& properties) {
  auto p = ObjectPath::parse(path);
  if (!p.ok()) return p.take_error();
  if (!p->is_instance_path() || p->singleton)
    return Error{WbemStatus::kInvalidObjectPath,
                 "'" + std::string(path) + "' names no instance (expected Class.Key=\"value\")"};
  auto body = connection_->post(
      wc::get_request(common(), uri_for(p->class_name, p->namespace_path), selectors_of(*p)));
  if (!body.ok()) return body.take_error();
  auto inst = wc::parse_get_response(*body);
  if (!inst.ok()) return inst.take_error();
  inst->set_server(host_);
  if (properties.empty()) return inst;
  // The projection the caller asked for.
  Instance proj(inst->cls_ptr());
  for (const auto& name : properties) {
    auto idx = inst->cls().property_index(name);
    if (!idx)
      return Error{WbemStatus::kInvalidProperty,
                   "class " + inst->class_name() + " has no property '" + name + "'"};
    if (inst->has(*idx)) proj.set(*idx, inst->at(*idx));
  }
  proj.set_server(host_);
  proj.set_identity(inst->identity());
  return proj;
}

Result<std::unique_ptr<InstanceStream>> RemoteServices::enumerate(const std::string& uri,
                                                                  const std::string& filter) {
  wc::EnumerateOptions o;
  o.filter = filter;
  o.optimize = true;
  o.max_elements = 100;
  o.object_and_epr = true;
  auto c = common();
  auto body = connection_->post(wc::enumerate_request(c, uri, o));
  if (!body.ok()) return body.take_error();
  auto page = wc::parse_enumeration_response(*body);
  if (!page.ok()) return page.take_error();
  return std::unique_ptr<InstanceStream>(
      std::make_unique<RemoteStream>(connection_, c, uri, std::move(*page), host_));
}

Result<std::unique_ptr<InstanceStream>> RemoteServices::enumerate_instances(
    std::string_view class_name, const std::vector<std::string>& properties) {
  if (!is_identifier(class_name))
    return Error{WbemStatus::kInvalidClass,
                 "'" + std::string(class_name) + "' is not a class name"};
  if (properties.empty()) return enumerate(uri_for(class_name), "");
  std::string wql = "SELECT ";
  for (size_t i = 0; i < properties.size(); ++i) {
    if (!is_identifier(properties[i]))
      return Error{WbemStatus::kInvalidProperty, "'" + properties[i] + "' is not a property name"};
    wql += (i ? "," : "") + properties[i];
  }
  wql += " FROM " + std::string(class_name);
  return enumerate(wc::class_uri("*", namespace_for(class_name)), wql);
}

Result<std::unique_ptr<InstanceStream>> RemoteServices::exec_query(std::string_view wql,
                                                                   std::string_view language) {
  if (!base::iequals(language, "WQL"))
    return Error{WbemStatus::kInvalidQueryType,
                 "query language '" + std::string(language) + "' is not supported (use WQL)"};
  // The wildcard resource URI names the namespace of the class queried; a query that does not
  // parse goes as it is, for the server to point at its error.
  std::string cls;
  if (auto q = wql::parse(wql); q.ok() && q->kind == wql::Query::Kind::kSelect)
    cls = q->select.class_name;
  auto r = enumerate(wc::class_uri("*", namespace_for(cls)), std::string(wql));
  if (!r.ok()) return with_query_position(r.take_error(), wql);
  return r;
}

Result<std::unique_ptr<InstanceStream>> RemoteServices::exec_query_in(std::string_view ns,
                                                                      std::string_view wql) {
  if (ns.empty()) return exec_query(wql, "WQL");
  auto r = enumerate(wc::class_uri("*", ns), std::string(wql));
  if (!r.ok()) return with_query_position(r.take_error(), wql);
  return r;
}

Result<std::shared_ptr<const ClassDecl>> RemoteServices::get_class(std::string_view class_name) {
  if (!is_identifier(class_name))
    return Error{WbemStatus::kInvalidClass,
                 "'" + std::string(class_name) + "' is not a class name"};
  // The host's own declaration (GetClass), then its ancestors' names for __DERIVATION: CIM-XML
  // names only the superclass.
  std::string ns = namespace_for(class_name);
  auto fetch = [&](std::string_view name) -> Result<std::shared_ptr<ClassDecl>> {
    auto body = connection_->post(wc::get_class_request(common(), name, ns));
    if (!body.ok()) return body.take_error();
    return wc::parse_get_class_response(*body);
  };
  auto decl = fetch(class_name);
  if (decl.ok()) {
    (*decl)->namespace_path = ns;
    for (std::string sup = (*decl)->superclass; !sup.empty();) {
      if ((*decl)->derivation.size() >= 32)
        return Error{WbemStatus::kFailed, "the host's class " + (*decl)->name +
                                              " has more than 32 ancestors (a superclass cycle?)"};
      auto anc = fetch(sup);
      if (!anc.ok()) return anc.take_error();
      (*decl)->derivation.push_back((*anc)->name);
      sup = (*anc)->superclass;
    }
    return std::shared_ptr<const ClassDecl>(std::move(*decl));
  }
  // A host without GetClass: this build's schema, which a host of the same version shares.
  if (decl.error().code != WbemStatus::kNotSupported) return decl.take_error();
  auto c = cim::Schema::builtin().find(class_name);
  if (!c)
    return Error{WbemStatus::kInvalidClass,
                 "class '" + std::string(class_name) + "' does not exist in " +
                     (namespace_.empty() ? std::string("root\\cimv2") : namespace_)};
  if (!namespace_.empty() && !c->in_namespace(namespace_))
    return Error{WbemStatus::kInvalidClass,
                 "class " + c->name + " is in " + c->namespace_path + ", not " + namespace_};
  return c;
}

Result<MethodResult> RemoteServices::exec_method(std::string_view path, std::string_view method,
                                                 const Parameters& in) {
  auto p = ObjectPath::parse(path);
  if (!p.ok()) return p.take_error();
  if (p->is_namespace_path())
    return Error{WbemStatus::kInvalidObjectPath, "'" + std::string(path) + "' names no class"};
  if (!is_identifier(method))
    return Error{WbemStatus::kInvalidMethod, "'" + std::string(method) + "' is not a method name"};
  std::string uri = uri_for(p->class_name, p->namespace_path);
  auto body = connection_->post(wc::invoke_request(common(), uri, method, selectors_of(*p), in));
  if (!body.ok()) return body.take_error();
  return wc::parse_invoke_response(*body, p->class_name, method);
}

Result<MethodResult> RemoteServices::exec_method_what_if(std::string_view path,
                                                         std::string_view method,
                                                         const Parameters& in) {
  auto p = ObjectPath::parse(path);
  if (!p.ok()) return p.take_error();
  if (!p->is_instance_path())
    return Error{WbemStatus::kInvalidObjectPath, "'" + std::string(path) + "' names no instance"};
  if (!is_identifier(method))
    return Error{WbemStatus::kInvalidMethod, "'" + std::string(method) + "' is not a method name"};
  // lwmid's option: the Invoke is answered with what it would return. It must be complied with
  // (MustComply, in an OptionSet the server must understand): a server without it faults instead
  // of running the call.
  wc::Common c = common();
  c.what_if = true;
  auto body = connection_->post(wc::invoke_request(c, uri_for(p->class_name, p->namespace_path),
                                                   method, selectors_of(*p), in));
  if (!body.ok()) return body.take_error();
  return wc::parse_invoke_response(*body, p->class_name, method);
}

Result<MethodResult> RemoteServices::delete_instance(std::string_view path) {
  auto p = ObjectPath::parse(path);
  if (!p.ok()) return p.take_error();
  if (!p->is_instance_path())
    return Error{WbemStatus::kInvalidObjectPath,
                 "'" + std::string(path) + "' names no instance (expected Class.Key=\"value\")"};
  auto body = connection_->post(
      wc::delete_request(common(), uri_for(p->class_name, p->namespace_path), selectors_of(*p)));
  if (!body.ok()) return body.take_error();
  auto r = wc::parse_empty_response(*body);
  if (!r.ok()) return r.take_error();
  return MethodResult{};
}

Result<ObjectPath> RemoteServices::create_instance(std::string_view class_name,
                                                   const Parameters& properties) {
  auto p = ObjectPath::parse(class_name);
  if (!p.ok()) return p.take_error();
  if (!p->is_class_path())
    return Error{WbemStatus::kInvalidObjectPath,
                 "'" + std::string(class_name) +
                     "' is not a class: CreateInstance takes the class and the properties, keys "
                     "included"};
  for (const auto& [name, value] : properties)
    if (!is_identifier(name))
      return Error{WbemStatus::kInvalidProperty, "'" + name + "' is not a property name"};
  auto body = connection_->post(
      wc::create_request(common(), uri_for(p->class_name, p->namespace_path), properties));
  if (!body.ok()) return body.take_error();
  return wc::parse_create_response(*body);
}

Result<std::unique_ptr<EventStream>> RemoteServices::exec_notification_query(
    std::string_view wql, const NotificationOptions& options) {
  wc::SubscribeOptions o;
  o.filter = std::string(wql);
  o.guard = options.guard;
  o.guard_own_session = options.guard_own_session;
  std::string uri = wc::class_uri("*");
  auto c = common();
  auto body = connection_->post(wc::subscribe_request(c, uri, o));
  if (!body.ok()) return with_query_position(body.take_error(), wql);
  auto sub = wc::parse_subscribe_response(*body);
  if (!sub.ok()) return sub.take_error();
  return std::unique_ptr<EventStream>(
      std::make_unique<RemoteEventStream>(connection_, c, uri, std::move(*sub), host_));
}

// The server enables, per request, every privilege the caller holds: "*" in the list.
Result<void> RemoteServices::enable_held_privileges() {
  for (const auto& q : privileges_)
    if (q == wsman::kEveryHeldPrivilege) return {};
  privileges_.emplace_back(wsman::kEveryHeldPrivilege);
  return {};
}

Result<void> RemoteServices::enable_privilege(std::string_view name) {
  auto p = security::parse_privilege(name);
  if (!p)
    return Error{WbemStatus::kInvalidParameter, "unknown privilege '" + std::string(name) +
                                                    "' (lwmi knows SeDebugPrivilege and "
                                                    "SeIncreaseBasePriorityPrivilege)"};
  std::string canonical(security::privilege_name(*p));
  for (const auto& q : privileges_)
    if (q == canonical) return {};
  privileges_.push_back(canonical);
  return {};
}

}  // namespace lwmi::client
