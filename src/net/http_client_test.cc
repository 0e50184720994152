// net/http_client_test.cc — HttpClient against tiny loopback servers: each failure carries its
// kind (what lwmic's exit status and fan-out outcomes follow), whatever its message says.
#include "net/http_client.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "net/certificate.h"

namespace lwmi::net {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

/// A loopback TCP listener; serve() answers each connection on a thread with `answer`.
class Listener {
 public:
  Listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd_, 8), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~Listener() {
    ::shutdown(fd_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }
  uint16_t port() const { return port_; }
  int fd() const { return fd_; }

  /// Reads one request (headers and Content-Length body) from each connection and writes
  /// `response` back, until the listener closes.
  void serve(std::string response) {
    thread_ = std::thread([this, response] {
      for (;;) {
        int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) return;
        std::string got;
        char buf[4096];
        for (;;) {
          auto end = got.find("\r\n\r\n");
          if (end != std::string::npos) {
            auto cl = got.find("Content-Length: ");
            size_t want = cl == std::string::npos ? 0 : std::stoul(got.substr(cl + 16));
            if (got.size() >= end + 4 + want) break;
          }
          ssize_t n = ::read(c, buf, sizeof buf);
          if (n <= 0) break;
          got.append(buf, static_cast<size_t>(n));
        }
        (void)!::write(c, response.data(), response.size());
        ::close(c);
      }
    });
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
};

Endpoint http_to(uint16_t port) {
  Endpoint e;
  e.kind = Endpoint::Kind::kHttp;
  e.host = "127.0.0.1";
  e.port = port;
  return e;
}

std::string answer(std::string status_line, std::string body) {
  return "HTTP/1.1 " + status_line + "\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n" + body;
}

TEST(HttpClient, ClosedPortIsATransportError) {
  uint16_t port;
  {
    Listener gone;
    port = gone.port();
  }
  HttpClient c(http_to(port), {});
  auto r = c.post("<x/>");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().is_transport()) << r.error().message;
  EXPECT_EQ(r.error().code, WbemStatus::kFailed);
  EXPECT_EQ(r.error().message,
            "cannot reach 127.0.0.1:" + std::to_string(port) + ": Connection refused");
}

TEST(HttpClient, UnixSocketMissingIsATransportError) {
  Endpoint e;
  e.kind = Endpoint::Kind::kUnix;
  e.path = "/nonexistent/lwmid.sock";
  HttpClient c(e, {});
  auto r = c.post("<x/>");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().is_transport()) << r.error().message;
  EXPECT_EQ(r.error().message.rfind("cannot reach lwmid at unix:/nonexistent/lwmid.sock: ", 0), 0u);
}

TEST(HttpClient, Http401IsAnAuthenticationError) {
  Listener l;
  l.serve(answer("401 Unauthorized", ""));
  HttpClientOptions o;
  o.user = "alice";
  o.password = "wrong";
  HttpClient c(http_to(l.port()), o);
  auto r = c.post("<x/>");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().is_authentication()) << r.error().message;
  EXPECT_EQ(r.error().code, WbemStatus::kAccessDenied);
  EXPECT_EQ(r.error().message,
            "authentication failed for user 'alice' at 127.0.0.1:" + std::to_string(l.port()));
}

TEST(HttpClient, OtherStatusesAreAnswersNotErrors) {
  Listener l;
  l.serve(answer("500 Internal Server Error", "<fault/>"));
  HttpClient c(http_to(l.port()), {});
  auto r = c.post("<x/>");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->reason, "Internal Server Error");
  EXPECT_EQ(r->body, "<fault/>");
}

TEST(HttpClient, SilentServerIsATimeout) {
  Listener l;  // the kernel accepts; nobody reads or answers
  HttpClientOptions o;
  o.operation_timeout_ms = 200;
  HttpClient c(http_to(l.port()), o);
  auto r = c.post("<x/>");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().is_timeout()) << r.error().message;
  EXPECT_EQ(r.error().code, WbemStatus::kTimedOut);
  EXPECT_EQ(r.error().message, "no answer from 127.0.0.1:" + std::to_string(l.port()) +
                                   " within 200 ms (operation timeout)");
}

TEST(HttpClient, CancelledBeforeItStartsIsNeitherTransportNorTimeout) {
  Listener l;
  HttpClient c(http_to(l.port()), {});
  std::atomic<bool> cancel{true};
  auto r = c.post("<x/>", 0, &cancel);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, WbemStatus::kCallCancelled);
  EXPECT_TRUE(r.error().is_wbem());
}

TEST(HttpClient, ChangedCertificateIsACertificateError) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("lwmi-http-client-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto files = ensure_self_signed(dir.string(), "localhost");
  ASSERT_TRUE(files.ok()) << files.error().message;

  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  uint16_t port = acceptor.local_endpoint().port();
  asio::ssl::context ctx(asio::ssl::context::tls_server);
  ctx.use_certificate_chain_file(files->certificate);
  ctx.use_private_key_file(files->private_key, asio::ssl::context::pem);
  std::thread server([&] {
    boost::system::error_code ec;
    tcp::socket s(io);
    acceptor.accept(s, ec);
    if (ec) return;
    asio::ssl::stream<tcp::socket> tls(std::move(s), ctx);
    tls.handshake(asio::ssl::stream_base::server, ec);
    char byte;
    asio::read(tls, asio::buffer(&byte, 1), ec);  // until the client gives up
  });

  std::string known = (dir / "known_hosts").string();
  std::ofstream(known) << "127.0.0.1:" << port << " SHA256:00:11\n";
  Endpoint e;
  e.host = "127.0.0.1";
  e.port = port;
  HttpClientOptions o;
  o.known_hosts_file = known;
  o.connect_timeout_ms = 5000;
  HttpClient c(e, o);
  auto r = c.post("<x/>");
  server.join();
  fs::remove_all(dir);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().is_certificate()) << r.error().message;
  EXPECT_EQ(r.error().message.rfind("certificate of 127.0.0.1:" + std::to_string(port) +
                                        " changed (was SHA256:00:11, now SHA256:",
                                    0),
            0u)
      << r.error().message;
}

}  // namespace
}  // namespace lwmi::net
