// net/http_server_test.cc — the HTTP server over real loopback sockets (TCP, TLS, Unix) and
// the self-signed certificate.
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "net/certificate.h"
#include "net/http_server.h"

namespace lwmi::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using unix_proto = asio::local::stream_protocol;
using Clock = std::chrono::steady_clock;

std::string unique_name(const std::string& stem) {
  static std::atomic<int> n{0};
  return stem + "-" + std::to_string(getpid()) + "-" + std::to_string(n++) + "-" +
         std::to_string(Clock::now().time_since_epoch().count() % 1000000);
}

struct TempDir {
  std::filesystem::path path;
  TempDir() : path(std::filesystem::temp_directory_path() / unique_name("lwmi-net-test")) {}
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

/// "http://127.0.0.1:40123/wsman" → 40123.
uint16_t port_of(const std::string& url) {
  auto end = url.rfind('/');
  auto colon = url.rfind(':', end);
  return static_cast<uint16_t>(std::stoul(url.substr(colon + 1, end - colon - 1)));
}

std::string url_with_prefix(const Server& server, const std::string& prefix) {
  for (const auto& e : server.endpoints())
    if (e.rfind(prefix, 0) == 0) return e;
  return {};
}

/// Echoes the request and the peer; "/slow" asks for a 300 ms delay, "/throw" throws, "/close"
/// asks to close the connection.
HttpResponse echo(const HttpRequest& req, const Peer& peer) {
  if (req.target == "/throw") throw std::runtime_error("boom");
  HttpResponse r;
  r.headers.emplace_back("Content-Type", "text/plain");
  r.body = req.method + " " + req.target + " " + req.body + " " + peer.describe() +
           " id=" + std::to_string(peer.connection_id) +
           " uid=" + (peer.uid ? std::to_string(*peer.uid) : "-") +
           " pid=" + (peer.pid ? std::to_string(*peer.pid) : "-") +
           " loopback=" + (peer.loopback ? "1" : "0") + " x=" + req.header("x-test");
  if (req.target == "/slow") r.delay_ms = 300;
  if (req.target == "/close") r.close = true;
  return r;
}

http::request<http::string_body> make_request(const std::string& target, const std::string& body,
                                              bool keep_alive = true) {
  http::request<http::string_body> req{http::verb::post, target, 11};
  req.set(http::field::host, "localhost");
  req.set(http::field::content_type, "text/plain");
  req.set("X-Test", "yes");
  req.body() = body;
  req.keep_alive(keep_alive);
  req.prepare_payload();
  return req;
}

template <class Stream>
http::response<http::string_body> round_trip(Stream& stream, beast::flat_buffer& buffer,
                                             const http::request<http::string_body>& req) {
  http::write(stream, req);
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  return res;
}

/// A plain TCP client connection.
struct TcpClient {
  asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
  TcpClient(const std::string& host, uint16_t port) {
    stream.connect(tcp::endpoint(asio::ip::make_address(host), port));
    stream.expires_after(std::chrono::seconds(10));
  }
  http::response<http::string_body> send(const std::string& target, const std::string& body = "",
                                         bool keep_alive = true) {
    return round_trip(stream, buffer, make_request(target, body, keep_alive));
  }
};

struct UnixClient {
  asio::io_context ioc;
  unix_proto::socket socket{ioc};
  beast::flat_buffer buffer;
  explicit UnixClient(const std::string& path) { socket.connect(unix_proto::endpoint(path)); }
  http::response<http::string_body> send(const std::string& target, const std::string& body = "") {
    return round_trip(socket, buffer, make_request(target, body));
  }
};

struct TlsClient {
  asio::io_context ioc;
  asio::ssl::context ctx{asio::ssl::context::tls_client};
  beast::ssl_stream<beast::tcp_stream> stream{ioc, ctx};
  beast::flat_buffer buffer;
  TlsClient(const std::string& host, uint16_t port, const std::string& ca_file) {
    ctx.load_verify_file(ca_file);
    stream.set_verify_mode(asio::ssl::verify_peer);
    stream.set_verify_callback(asio::ssl::rfc2818_verification(host));
    beast::get_lowest_layer(stream).connect(tcp::endpoint(asio::ip::make_address(host), port));
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(10));
    stream.handshake(asio::ssl::stream_base::client);
  }
  std::string peer_certificate_pem() {
    X509* cert = SSL_get1_peer_certificate(stream.native_handle());
    if (!cert) return {};
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, cert);
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    std::string pem(data, static_cast<size_t>(n));
    BIO_free(bio);
    X509_free(cert);
    return pem;
  }
  http::response<http::string_body> send(const std::string& target, const std::string& body = "") {
    return round_trip(stream, buffer, make_request(target, body));
  }
};

bool ipv6_loopback_available() {
  int fd = socket(AF_INET6, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  bool ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

// ---------------------------------------------------------------------------------------------

TEST(HttpServer, EchoOverTcpTlsAndUnix) {
  TempDir dir;
  auto files = ensure_self_signed(dir.path.string(), "lwmi-test.example");
  ASSERT_TRUE(files) << files.error().to_string();
  ServerOptions opt;
  opt.certificate_file = files->certificate;
  opt.private_key_file = files->private_key;
  Server server(opt, echo);
  std::string sock = "/tmp/" + unique_name("lwmi-net") + ".sock";
  ASSERT_TRUE(server.listen("http://127.0.0.1:0"));
  ASSERT_TRUE(server.listen("https://127.0.0.1:0"));
  auto u = server.listen("unix:" + sock);
  ASSERT_TRUE(u) << u.error().to_string();
  server.start();

  auto eps = server.endpoints();
  ASSERT_EQ(eps.size(), 3u);
  std::string http_url = url_with_prefix(server, "http://127.0.0.1:");
  std::string https_url = url_with_prefix(server, "https://127.0.0.1:");
  ASSERT_FALSE(http_url.empty());
  ASSERT_FALSE(https_url.empty());
  EXPECT_NE(port_of(http_url), 0);
  EXPECT_EQ(http_url.substr(http_url.size() - 6), "/wsman");
  EXPECT_EQ(eps[2], "unix:" + sock);

  struct stat st {};
  ASSERT_EQ(stat(sock.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0666u);

  {
    TcpClient c("127.0.0.1", port_of(http_url));
    auto res = c.send("/wsman", "hello");
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_EQ(res[http::field::content_type], "text/plain");
    EXPECT_EQ(res[http::field::content_length], std::to_string(res.body().size()));
    EXPECT_EQ(res.body().rfind("POST /wsman hello http:127.0.0.1:", 0), 0u) << res.body();
    EXPECT_NE(res.body().find("loopback=1 x=yes"), std::string::npos) << res.body();
  }
  {
    TlsClient c("127.0.0.1", port_of(https_url), files->certificate);
    auto res = c.send("/wsman", "secret");
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_EQ(res.body().rfind("POST /wsman secret https:127.0.0.1:", 0), 0u) << res.body();
    auto served = sha256_fingerprint(c.peer_certificate_pem(), true);
    auto on_disk = sha256_fingerprint(files->certificate);
    ASSERT_TRUE(served) << served.error().to_string();
    ASSERT_TRUE(on_disk);
    EXPECT_EQ(*served, *on_disk);
  }
  {
    UnixClient c(sock);
    auto res = c.send("/wsman", "local");
    EXPECT_EQ(res.result_int(), 200);
    std::string expect = "POST /wsman local unix:pid=" + std::to_string(getpid()) +
                         ",uid=" + std::to_string(getuid());
    EXPECT_EQ(res.body().rfind(expect, 0), 0u) << res.body();
    EXPECT_NE(
        res.body().find(" uid=" + std::to_string(getuid()) + " pid=" + std::to_string(getpid())),
        std::string::npos)
        << res.body();
  }
  server.stop();
  EXPECT_NE(stat(sock.c_str(), &st), 0) << "the socket file is removed at stop";
}

TEST(HttpServer, TlsRejectsOldProtocolsAndWrongCa) {
  TempDir dir;
  auto files = ensure_self_signed(dir.path.string(), "localhost");
  ASSERT_TRUE(files);
  TempDir other;
  auto other_files = ensure_self_signed(other.path.string(), "localhost");
  ASSERT_TRUE(other_files);
  ServerOptions opt;
  opt.certificate_file = files->certificate;
  opt.private_key_file = files->private_key;
  Server server(opt, echo);
  ASSERT_TRUE(server.listen("https://127.0.0.1:0"));
  server.start();
  uint16_t port = port_of(server.endpoints()[0]);
  EXPECT_THROW(TlsClient("127.0.0.1", port, other_files->certificate), boost::system::system_error);
  {
    asio::io_context ioc;
    asio::ssl::context ctx{asio::ssl::context::tls_client};
    SSL_CTX_set_security_level(ctx.native_handle(), 0);
    SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_VERSION);
    SSL_CTX_set_max_proto_version(ctx.native_handle(), TLS1_1_VERSION);
    beast::ssl_stream<beast::tcp_stream> stream{ioc, ctx};
    beast::get_lowest_layer(stream).connect(
        tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(10));
    boost::system::error_code ec;
    stream.handshake(asio::ssl::stream_base::client, ec);
    EXPECT_TRUE(ec) << "TLS 1.1 must be refused";
  }
  // The server is still fine.
  TlsClient c("127.0.0.1", port, files->certificate);
  EXPECT_EQ(c.send("/wsman").result_int(), 200);
}

TEST(HttpServer, UnixPeerCredentials) {
  Server server(ServerOptions{}, [](const HttpRequest&, const Peer& peer) {
    HttpResponse r;
    r.body = std::to_string(peer.uid.value_or(-1)) + " " + std::to_string(peer.gid.value_or(-1)) +
             " " + std::to_string(peer.pid.value_or(-1)) + " " +
             (peer.transport == Peer::Transport::kUnix ? "unix" : "?");
    return r;
  });
  TempDir dir;
  std::string sock = (dir.path / "sub" / "lwmid.sock").string();
  auto l = server.listen("unix:" + sock);
  ASSERT_TRUE(l) << l.error().to_string();
  struct stat st {};
  ASSERT_EQ(stat((dir.path / "sub").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
  server.start();
  UnixClient c(sock);
  auto res = c.send("/wsman");
  EXPECT_EQ(res.body(), std::to_string(getuid()) + " " + std::to_string(getgid()) + " " +
                            std::to_string(getpid()) + " unix");
}

TEST(HttpServer, UnixStaleSocketIsReplacedLiveOneIsNot) {
  TempDir dir;
  std::filesystem::create_directories(dir.path);
  std::string sock = (dir.path / "lwmid.sock").string();
  {  // a socket file nobody listens on (a crashed daemon)
    asio::io_context ioc;
    unix_proto::acceptor a(ioc, unix_proto::endpoint(sock));
  }
  ASSERT_TRUE(std::filesystem::exists(sock));
  Server first(ServerOptions{}, echo);
  auto l = first.listen("unix:" + sock);
  ASSERT_TRUE(l) << l.error().to_string();
  first.start();
  Server second(ServerOptions{}, echo);
  auto l2 = second.listen("unix:" + sock);
  ASSERT_FALSE(l2);
  EXPECT_NE(l2.error().message.find(sock), std::string::npos) << l2.error().message;
  UnixClient c(sock);
  EXPECT_EQ(c.send("/wsman").result_int(), 200);

  // A regular file is never removed.
  std::string file = (dir.path / "plain").string();
  std::ofstream(file) << "x";
  Server third(ServerOptions{}, echo);
  EXPECT_FALSE(third.listen("unix:" + file));
  EXPECT_TRUE(std::filesystem::exists(file));
}

TEST(HttpServer, KeepAliveSharesConnectionId) {
  Server server(ServerOptions{}, echo);
  ASSERT_TRUE(server.listen("http://127.0.0.1:0"));
  server.start();
  uint16_t port = port_of(server.endpoints()[0]);
  auto id_of = [](const std::string& body) {
    return body.substr(body.find(" id=") + 4, body.find(" uid=") - body.find(" id=") - 4);
  };
  TcpClient c("127.0.0.1", port);
  auto r1 = c.send("/wsman", "one");
  auto r2 = c.send("/wsman", "two");
  ASSERT_EQ(r1.result_int(), 200);
  ASSERT_EQ(r2.result_int(), 200);
  EXPECT_TRUE(r2.keep_alive());
  EXPECT_EQ(id_of(r1.body()), id_of(r2.body()));
  TcpClient other("127.0.0.1", port);
  EXPECT_NE(id_of(other.send("/wsman").body()), id_of(r1.body()));

  // Connection: close from the client, then from the handler.
  auto r3 = c.send("/wsman", "three", /*keep_alive=*/false);
  EXPECT_FALSE(r3.keep_alive());
  boost::system::error_code ec;
  http::response<http::string_body> none;
  http::read(c.stream, c.buffer, none, ec);
  EXPECT_EQ(ec, http::error::end_of_stream);
  auto r4 = other.send("/close");
  EXPECT_FALSE(r4.keep_alive());
  http::read(other.stream, other.buffer, none, ec);
  EXPECT_EQ(ec, http::error::end_of_stream);
}

TEST(HttpServer, LimitsGive413And431) {
  ServerOptions opt;
  opt.max_body_bytes = 1024;
  Server server(opt, echo);
  ASSERT_TRUE(server.listen("http://127.0.0.1:0"));
  server.start();
  uint16_t port = port_of(server.endpoints()[0]);
  {
    TcpClient c("127.0.0.1", port);
    EXPECT_EQ(c.send("/wsman", std::string(1024, 'a')).result_int(), 200);
    auto res = c.send("/wsman", std::string(4096, 'b'));
    EXPECT_EQ(res.result_int(), 413);
    EXPECT_FALSE(res.keep_alive());
  }
  {  // chunked, no Content-Length: the limit still holds
    TcpClient c("127.0.0.1", port);
    http::request<http::string_body> req{http::verb::post, "/wsman", 11};
    req.body() = std::string(4096, 'c');
    req.chunked(true);
    auto res = round_trip(c.stream, c.buffer, req);
    EXPECT_EQ(res.result_int(), 413);
  }
  {
    TcpClient c("127.0.0.1", port);
    http::request<http::string_body> req = make_request("/wsman", "x");
    req.set("X-Big", std::string(17 * 1024, 'h'));
    auto res = round_trip(c.stream, c.buffer, req);
    EXPECT_EQ(res.result_int(), 431);
  }
  {  // garbage
    TcpClient c("127.0.0.1", port);
    asio::write(c.stream, asio::buffer(std::string("NOT HTTP AT ALL\r\n\r\n")));
    http::response<http::string_body> res;
    http::read(c.stream, c.buffer, res);
    EXPECT_EQ(res.result_int(), 400);
  }
}

TEST(HttpServer, ExpectContinue) {
  Server server(ServerOptions{}, echo);
  ASSERT_TRUE(server.listen("http://127.0.0.1:0"));
  server.start();
  TcpClient c("127.0.0.1", port_of(server.endpoints()[0]));
  auto req = make_request("/wsman", "later");
  req.set(http::field::expect, "100-continue");
  http::request_serializer<http::string_body> sr{req};
  http::write_header(c.stream, sr);
  http::response<http::empty_body> cont;
  http::read(c.stream, c.buffer, cont);
  EXPECT_EQ(cont.result_int(), 100);
  http::write(c.stream, sr);
  http::response<http::string_body> res;
  http::read(c.stream, c.buffer, res);
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body().rfind("POST /wsman later ", 0), 0u);
}

TEST(HttpServer, DelayHoldsNoWorker) {
  ServerOptions opt;
  opt.workers = 1;
  Server server(opt, echo);
  ASSERT_TRUE(server.listen("http://127.0.0.1:0"));
  server.start();
  uint16_t port = port_of(server.endpoints()[0]);

  auto t0 = Clock::now();
  std::atomic<int64_t> slow_done_ms{-1};
  auto slow = std::async(std::launch::async, [&] {
    TcpClient c("127.0.0.1", port);
    auto res = c.send("/slow");
    slow_done_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
    return res.result_int();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  TcpClient fast("127.0.0.1", port);
  auto t1 = Clock::now();
  auto res = fast.send("/fast");
  auto fast_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t1).count();
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_LT(fast_ms, 200) << "the only worker must be free while the slow answer waits";
  EXPECT_EQ(slow_done_ms.load(), -1) << "the fast answer came before the delayed one";
  EXPECT_EQ(slow.get(), 200);
  EXPECT_GE(slow_done_ms.load(), 300);
}

TEST(HttpServer, RetryAfterRunsTheHandlerAgainHoldingNoWorker) {
  // "/retry" asks to be handled again 300 ms later, once; the second call sees waited_ms.
  std::atomic<int> calls{0};
  ServerOptions opt;
  opt.workers = 1;
  Server server(opt, [&](const HttpRequest& req, const Peer& peer) {
    if (req.target != "/retry") return echo(req, peer);
    ++calls;
    HttpResponse r;
    if (req.waited_ms == 0) {
      r.retry_after_ms = 300;
      r.body = "must never be sent";
      return r;
    }
    r.body = "waited " + std::to_string(req.waited_ms) + " body " + req.body;
    return r;
  });
  ASSERT_TRUE(server.listen("http://127.0.0.1:0"));
  server.start();
  uint16_t port = port_of(server.endpoints()[0]);
  auto t0 = Clock::now();
  std::atomic<int64_t> retry_done_ms{-1};
  auto retried = std::async(std::launch::async, [&] {
    TcpClient c("127.0.0.1", port);
    auto res = c.send("/retry", "abc");
    retry_done_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
    return res.body();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  TcpClient fast("127.0.0.1", port);
  auto res = fast.send("/fast");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(retry_done_ms.load(), -1) << "the only worker served another while the first waited";
  EXPECT_EQ(retried.get(), "waited 300 body abc");
  EXPECT_GE(retry_done_ms.load(), 300);
  EXPECT_EQ(calls.load(), 2);
}

TEST(HttpServer, DeferredResponseHoldsNoWorker) {
  std::mutex mu;
  std::shared_ptr<DeferredResponse> pending;
  ServerOptions opt;
  opt.workers = 1;
  Server server(opt, [&](const HttpRequest& req, const Peer& peer) {
    HttpResponse r;
    if (req.target == "/later" || req.target == "/now") {
      r.deferred = std::make_shared<DeferredResponse>();
      if (req.target == "/now") {
        HttpResponse now;
        now.body = "at once";
        r.deferred->complete(now);  // completed before the server asks for it
      } else {
        std::lock_guard<std::mutex> lock(mu);
        pending = r.deferred;
      }
      return r;
    }
    return echo(req, peer);
  });
  ASSERT_TRUE(server.listen("http://127.0.0.1:0"));
  server.start();
  uint16_t port = port_of(server.endpoints()[0]);

  auto later = std::async(std::launch::async, [&] {
    TcpClient c("127.0.0.1", port);
    return c.send("/later");
  });
  for (int i = 0; i < 1000; ++i) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (pending) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_TRUE(pending) << "the handler never ran";
  // The only worker is free while the long poll waits: other requests are answered.
  TcpClient fast("127.0.0.1", port);
  EXPECT_EQ(fast.send("/fast").result_int(), 200);
  EXPECT_EQ(fast.send("/now").body(), "at once");
  EXPECT_EQ(later.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);
  HttpResponse done;
  done.status = 202;
  done.body = "events";
  pending->complete(done);
  pending->complete(HttpResponse{});  // a second completion is ignored
  auto res = later.get();
  EXPECT_EQ(res.result_int(), 202);
  EXPECT_EQ(res.body(), "events");
}

TEST(HttpServer, HandlerExceptionGives500) {
  Server server(ServerOptions{}, echo);
  ASSERT_TRUE(server.listen("http://127.0.0.1:0"));
  server.start();
  TcpClient c("127.0.0.1", port_of(server.endpoints()[0]));
  auto res = c.send("/throw");
  EXPECT_EQ(res.result_int(), 500);
  EXPECT_EQ(res.body().find("boom"), std::string::npos) << "no internals leak";
}

TEST(HttpServer, ResponsesAreSanitized) {
  Server server(ServerOptions{}, [](const HttpRequest& req, const Peer&) {
    HttpResponse r;
    if (req.target == "/bad-status") r.status = 0;
    r.headers.emplace_back("X-Injected", "a\r\nSet-Cookie: evil=1");
    r.headers.emplace_back("Content-Length", "999");
    r.headers.emplace_back("X-Fine", "ok");
    r.body = "body";
    return r;
  });
  ASSERT_TRUE(server.listen("http://127.0.0.1:0"));
  server.start();
  TcpClient c("127.0.0.1", port_of(server.endpoints()[0]));
  auto res = c.send("/wsman");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "body");
  EXPECT_EQ(res[http::field::content_length], "4");
  EXPECT_EQ(res["X-Fine"], "ok");
  EXPECT_EQ(res.count("X-Injected"), 0u);
  EXPECT_EQ(res.count(http::field::set_cookie), 0u);
  TcpClient c2("127.0.0.1", port_of(server.endpoints()[0]));
  EXPECT_EQ(c2.send("/bad-status").result_int(), 500);
}

TEST(HttpServer, StopIsPromptWithIdleConnections) {
  TempDir dir;
  auto files = ensure_self_signed(dir.path.string(), "localhost");
  ASSERT_TRUE(files);
  ServerOptions opt;
  opt.certificate_file = files->certificate;
  opt.private_key_file = files->private_key;
  opt.io_threads = 2;
  Server server(opt, echo);
  ASSERT_TRUE(server.listen("http://127.0.0.1:0"));
  ASSERT_TRUE(server.listen("https://127.0.0.1:0"));
  server.start();
  TcpClient idle("127.0.0.1", port_of(server.endpoints()[0]));
  EXPECT_EQ(idle.send("/wsman").result_int(), 200);
  TlsClient idle_tls("127.0.0.1", port_of(server.endpoints()[1]), files->certificate);
  EXPECT_EQ(idle_tls.send("/wsman").result_int(), 200);
  // A connection that never even sends a request or handshake.
  TcpClient silent("127.0.0.1", port_of(server.endpoints()[1]));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto t0 = Clock::now();
  server.stop();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
  EXPECT_LT(ms, 500);
  boost::system::error_code ec;
  http::response<http::string_body> none;
  http::read(idle.stream, idle.buffer, none, ec);
  EXPECT_TRUE(ec) << "the idle connection is closed";
}

// The attack: one peer opens connection after connection and keeps them idle. Past the cap each
// new one gets a 503 at once and is reported; every loopback address is the same peer; a closed
// connection gives its slot back.
TEST(HttpServer, ConnectionsOverTheCapAreRefusedAtOnce) {
  ServerOptions opt;
  opt.max_connections_per_user = 2;
  std::mutex mu;
  std::vector<std::string> refused;
  opt.on_connection_refused = [&](const Peer& peer, const std::string& why) {
    std::lock_guard lock(mu);
    refused.push_back(peer.describe() + " " + why);
  };
  Server server(opt, echo);
  ASSERT_TRUE(server.listen("http://127.0.0.1:0"));
  server.start();
  const uint16_t port = port_of(server.endpoints()[0]);
  auto a = std::make_unique<TcpClient>("127.0.0.1", port);
  EXPECT_EQ(a->send("/wsman").result_int(), 200);
  TcpClient b("127.0.0.1", port);  // idle, never sends
  for (const char* source : {"127.0.0.1", "127.0.0.2"}) {
    asio::io_context ioc;
    beast::tcp_stream over(ioc);
    over.socket().open(tcp::v4());
    over.socket().bind(tcp::endpoint(asio::ip::make_address(source), 0));
    over.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    over.expires_after(std::chrono::seconds(10));
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(over, buffer, res);  // no request sent: the answer comes by itself
    EXPECT_EQ(res.result_int(), 503) << source;
  }
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(refused.size(), 2u);
    EXPECT_NE(refused[0].find("addr:loopback has 2 connections open"), std::string::npos)
        << refused[0];
  }
  a.reset();  // closed: the server frees the slot when it sees the end of the stream
  int status = 0;
  for (int i = 0; i < 200 && status != 200; ++i) {
    TcpClient c("127.0.0.1", port);
    boost::system::error_code ec;
    http::write(c.stream, make_request("/wsman", ""), ec);
    http::response<http::string_body> res;
    if (!ec) http::read(c.stream, c.buffer, res, ec);
    if (!ec) status = res.result_int();
    if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(status, 200);
}

// A connection that never sends a request is closed after first_request_timeout_s, not after
// the (longer) idle timeout.
TEST(HttpServer, SilentConnectionIsClosedAfterTheFirstRequestTimeout) {
  ServerOptions opt;
  opt.first_request_timeout_s = 1;
  opt.idle_timeout_s = 600;
  Server server(opt, echo);
  ASSERT_TRUE(server.listen("http://127.0.0.1:0"));
  server.start();
  TcpClient silent("127.0.0.1", port_of(server.endpoints()[0]));
  silent.stream.expires_after(std::chrono::seconds(30));
  boost::system::error_code ec;
  http::response<http::string_body> none;
  http::read(silent.stream, silent.buffer, none, ec);
  EXPECT_TRUE(ec == http::error::end_of_stream || ec == asio::error::connection_reset ||
              ec == asio::error::eof)
      << "closed by the server, not by the client's own 30 s limit: " << ec.message();
}

TEST(HttpServer, Ipv6Loopback) {
  if (!ipv6_loopback_available()) GTEST_SKIP() << "no IPv6 loopback";
  Server server(ServerOptions{}, echo);
  auto l = server.listen("http://[::1]:0");
  ASSERT_TRUE(l) << l.error().to_string();
  server.start();
  std::string url = server.endpoints()[0];
  EXPECT_EQ(url.rfind("http://[::1]:", 0), 0u) << url;
  TcpClient c("::1", port_of(url));
  auto res = c.send("/wsman", "six");
  EXPECT_EQ(res.body().rfind("POST /wsman six http:[::1]:", 0), 0u) << res.body();
  EXPECT_NE(res.body().find("loopback=1"), std::string::npos);
}

TEST(HttpServer, BadEndpointsAreErrors) {
  Server server(ServerOptions{}, echo);
  EXPECT_FALSE(server.listen("ftp://127.0.0.1:1"));
  EXPECT_FALSE(server.listen("http://127.0.0.1"));
  EXPECT_FALSE(server.listen("http://[::1:0"));
  EXPECT_FALSE(server.listen("https://127.0.0.1:0")) << "no certificate configured";
  auto taken = server.listen("http://127.0.0.1:0");
  ASSERT_TRUE(taken);
  std::string url = server.endpoints()[0];
  auto again = server.listen("http://127.0.0.1:" + std::to_string(port_of(url)));
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message.find("errno"), std::string::npos) << again.error().message;
}

TEST(PeerDescribe, Formats) {
  Peer p;
  p.transport = Peer::Transport::kUnix;
  p.pid = 123;
  p.uid = 1000;
  EXPECT_EQ(p.describe(), "unix:pid=123,uid=1000");
  Peer h;
  h.transport = Peer::Transport::kHttps;
  h.address = "::1";
  h.port = 5000;
  EXPECT_EQ(h.describe(), "https:[::1]:5000");
  h.transport = Peer::Transport::kHttp;
  h.address = "127.0.0.1";
  h.port = 4242;
  EXPECT_EQ(h.describe(), "http:127.0.0.1:4242");
}

// ---------------------------------------------------------------------------------------------

TEST(Certificate, GeneratesKey0600AndReuses) {
  TempDir dir;
  auto sub = dir.path / "state";
  auto files = ensure_self_signed(sub.string(), "host.example");
  ASSERT_TRUE(files) << files.error().to_string();
  struct stat st {};
  ASSERT_EQ(stat(sub.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(stat(files->private_key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat(files->certificate.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);

  auto fp1 = sha256_fingerprint(files->certificate);
  ASSERT_TRUE(fp1) << fp1.error().to_string();
  EXPECT_EQ(fp1->rfind("SHA256:", 0), 0u);
  EXPECT_EQ(fp1->size(), 7u + 32 * 3 - 1);
  auto again = ensure_self_signed(sub.string(), "host.example");
  ASSERT_TRUE(again);
  EXPECT_EQ(*sha256_fingerprint(again->certificate), *fp1);

  // Without its key, a new pair is made.
  std::filesystem::remove(files->private_key);
  auto regenerated = ensure_self_signed(sub.string(), "host.example");
  ASSERT_TRUE(regenerated);
  EXPECT_NE(*sha256_fingerprint(regenerated->certificate), *fp1);
}

TEST(Certificate, SubjectAndAltNames) {
  TempDir dir;
  auto files = ensure_self_signed(dir.path.string(), "host.example");
  ASSERT_TRUE(files);
  FILE* f = fopen(files->certificate.c_str(), "r");
  ASSERT_NE(f, nullptr);
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  fclose(f);
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(X509_check_host(cert, "host.example", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(cert, "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(cert, "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(cert, "::1", 0), 1);
  EXPECT_NE(X509_check_host(cert, "other.example", 0, 0, nullptr), 1);
  char cn[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
  EXPECT_STREQ(cn, "host.example");
  // Valid now, for about ten years, with a 128-bit serial.
  EXPECT_LT(X509_cmp_current_time(X509_get0_notBefore(cert)), 0);
  int days = 0, secs = 0;
  ASSERT_EQ(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(cert), X509_get0_notAfter(cert)), 1);
  EXPECT_GE(days, 3650);
  BIGNUM* serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  EXPECT_EQ(BN_num_bits(serial), 127);
  BN_free(serial);
  EXPECT_EQ(X509_get_signature_nid(cert), NID_ecdsa_with_SHA256);
  X509_free(cert);
}

TEST(Certificate, FingerprintErrorsNameTheFile) {
  auto fp = sha256_fingerprint("/nonexistent/lwmid.crt");
  ASSERT_FALSE(fp);
  EXPECT_NE(fp.error().message.find("/nonexistent/lwmid.crt"), std::string::npos);
  EXPECT_FALSE(sha256_fingerprint("not a pem", true));
}

}  // namespace
}  // namespace lwmi::net
