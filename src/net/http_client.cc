// net/http_client.cc — HttpClient over Boost.Beast: sync HTTP/1.1 keep-alive on a Unix socket,
// TCP or TLS, each step under a deadline run on the client's own io_context.
#include "net/http_client.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <mutex>
#include <optional>

#include "base/strings.h"
#include "net/certificate.h"
#include "net/cloexec_socket.h"
#include "os/descriptors.h"

namespace lwmi::net {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace http = boost::beast::http;
using boost::system::error_code;

std::string Endpoint::host_port() const {
  if (kind == Kind::kUnix) return "unix:" + path;
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

std::string Endpoint::url() const {
  if (kind == Kind::kUnix) return "http://localhost" + target;
  return std::string(kind == Kind::kHttps ? "https://" : "http://") + host_port() + target;
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

// One keep-alive HTTP/1.1 connection, reopened when needed.
class HttpClient::Impl {
 public:
  Impl(Endpoint endpoint, HttpClientOptions options)
      : endpoint_(std::move(endpoint)),
        user_(std::move(options.user)),
        password_(std::move(options.password)),
        ca_file_(std::move(options.ca_file)),
        known_hosts_(std::move(options.known_hosts_file)),
        connect_timeout_ms_(options.connect_timeout_ms),
        operation_timeout_ms_(options.operation_timeout_ms) {}
  ~Impl() { close(); }

  Result<HttpReply> post(const std::string& envelope, int server_wait_ms,
                         const std::atomic<bool>* cancel) {
    std::lock_guard<std::mutex> lock(mu_);
    struct Exchanging {
      Impl* c;
      ~Exchanging() {
        std::lock_guard<std::mutex> l(c->cancel_mu_);
        c->cancel_token_ = nullptr;
      }
    } exchanging{this};
    {
      std::lock_guard<std::mutex> l(cancel_mu_);
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
        return Error::of(ErrorKind::kTimeout, WbemStatus::kTimedOut,
                         "no answer from " + where() + " within " +
                             millis(operation_timeout_ms_ + server_wait_ms) +
                             " (operation timeout)");
      }
      if (ec) {
        close();
        if (cancel && *cancel) return cancelled();
        // The server may have closed an idle keep-alive connection: try once on a new one.
        if (reused && attempt == 0 && !parser.got_some()) continue;
        return unreachable(openssl_reason(ec));
      }
      used_ = true;
      auto& res = parser.get();
      if (!res.keep_alive()) close();
      int status = static_cast<int>(res.result_int());
      if (status == 401) {
        if (user_.empty())
          return Error::of(ErrorKind::kAuthentication, WbemStatus::kAccessDenied,
                           "authentication failed at " + where() + ": no user given (use --user)");
        return Error::of(ErrorKind::kAuthentication, WbemStatus::kAccessDenied,
                         "authentication failed for user '" + user_ + "' at " + where());
      }
      return HttpReply{status, std::string(res.reason()), std::move(res.body())};
    }
  }

  /// From any thread: ends the exchange that post() runs with this `token` (already set by the
  /// caller), if one runs; a post() that starts later with it set ends at once instead.
  void cancel(const std::atomic<bool>* token) {
    std::lock_guard<std::mutex> l(cancel_mu_);
    if (cancel_token_ != token || !token) return;
    // The sockets belong to the thread running the exchange: it closes them, in its io_context.
    asio::post(ioc_, [this, exchange = exchange_] {
      if (exchange != exchange_) return;  // a later exchange's, queued too late
      abort_io();
    });
  }

  std::vector<std::string> notes() const {
    std::lock_guard<std::mutex> lock(mu_);
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

  /// No connection, or a broken one: `why`.
  Error unreachable(const std::string& why) const {
    return Error::of(ErrorKind::kTransport, WbemStatus::kFailed,
                     "cannot reach " + where() + ": " + why);
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
        return Error::of(ErrorKind::kTransport, WbemStatus::kFailed,
                         "cannot reach lwmid at " + where() + ": " + ec.message());
      }
      open_ = true;
      return {};
    }
    auto deadline = deadline_after(connect_timeout_ms_);
    auto no_connection = [&] {
      return unreachable("no connection within " + millis(connect_timeout_ms_) +
                         " (connect timeout)");
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
    if (ec) return unreachable("cannot resolve '" + endpoint_.host + "': " + ec.message());
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
      return unreachable(ec.message());
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
          return unreachable("cannot load the CA file " + ca_file_ + ": " + openssl_reason(ec));
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
        return Error::of(ErrorKind::kTimeout, WbemStatus::kTimedOut,
                         "no answer from " + where() + " within " + millis(connect_timeout_ms_) +
                             " (TLS handshake; connect timeout)");
      if (!ca_file_.empty() && ec.category() == asio::error::get_ssl_category())
        return Error::of(ErrorKind::kCertificate, WbemStatus::kFailed,
                         "cannot reach " + where() + ": the certificate of " + where() +
                             " does not verify against " + ca_file_ + ": " + openssl_reason(ec));
      // A plain-HTTP server (lwmid's port 5985) answers a TLS hello with an HTTP error page,
      // which OpenSSL reads as a record of an unknown version: say what to type instead.
      std::string hint;
      if (ec.category() == asio::error::get_ssl_category() &&
          ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_WRONG_VERSION_NUMBER)
        hint =
            " (the server answered without TLS: for a plain HTTP port such as lwmid's 5985, "
            "name it http://" +
            where() + ")";
      return unreachable("TLS handshake failed: " + openssl_reason(ec) + hint);
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
    if (!cert) return unreachable("it sent no certificate");
    std::string fp = sha256_fingerprint(cert);
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
      return Error::of(ErrorKind::kCertificate, WbemStatus::kFailed,
                       "certificate of " + key + " changed (was " + std::string(known) + ", now " +
                           fp + "): refusing; remove the line from " + known_hosts_ +
                           " if the change is expected");
    }
    in.close();
    // Accepted on first use; recorded once the connection proved useful (commit_pin), so a
    // failed login leaves no trace and the note reaches the caller with a working connection.
    if (!pending_fp_.empty() && pending_fp_ != fp)
      return Error::of(
          ErrorKind::kCertificate, WbemStatus::kFailed,
          "certificate of " + key + " changed (was " + pending_fp_ + ", now " + fp + "): refusing");
    pending_fp_ = fp;
    return {};
  }

 public:
  void commit_pin() {
    std::lock_guard<std::mutex> lock(mu_);
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
  mutable std::mutex mu_;
  std::mutex cancel_mu_;  ///< guards the two below (cancel() runs on another thread)
  const std::atomic<bool>* cancel_token_ = nullptr;  ///< the running exchange's
  uint64_t exchange_ = 0;                            ///< counts exchanges
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

HttpClient::HttpClient(Endpoint endpoint, HttpClientOptions options)
    : impl_(std::make_unique<Impl>(std::move(endpoint), std::move(options))) {}

HttpClient::~HttpClient() = default;

Result<HttpReply> HttpClient::post(const std::string& envelope, int server_wait_ms,
                                   const std::atomic<bool>* cancel) {
  return impl_->post(envelope, server_wait_ms, cancel);
}

void HttpClient::cancel(const std::atomic<bool>* token) {
  impl_->cancel(token);
}

void HttpClient::commit_pin() {
  impl_->commit_pin();
}

std::vector<std::string> HttpClient::notes() const {
  return impl_->notes();
}

std::string HttpClient::where() const {
  return impl_->where();
}

}  // namespace lwmi::net
