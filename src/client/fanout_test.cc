// Fan-out: the host list parser (every error class, with its place), outcome classification,
// and the runner against hosts that cannot answer (a closed port, a listener that never
// accepts, a server that accepts and never answers), with real sockets and timeouts.
#include "lwmi/fanout.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

namespace lwmi {
namespace {

namespace fs = std::filesystem;

std::string err(const Result<std::vector<std::string>>& r) {
  return r.ok() ? std::string("(ok)") : r.error().message;
}

TEST(HostFile, HostsCommentsBlanksAndForms) {
  auto r = parse_host_file(
      "# fleet\n"
      "web1\n"
      "\n"
      "  web2:5999   # a comment after a blank\n"
      "https://web3:6000/wsman\r\n"
      "[::1]:7000\n"
      "http://127.0.0.1:5985\n"
      "\t#indented comment\n"
      "last-without-newline",
      "hosts.txt");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r,
            (std::vector<std::string>{"web1", "web2:5999", "https://web3:6000/wsman", "[::1]:7000",
                                      "http://127.0.0.1:5985", "last-without-newline"}));
}

TEST(HostFile, HashInsideAWordIsNotAComment) {
  auto r = parse_host_file("https://h:1/wsman#frag\n", "f");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)[0], "https://h:1/wsman#frag");
}

TEST(HostFile, ErrorsNameFileAndLine) {
  struct Case {
    const char* text;
    const char* error;
  } cases[] = {
      {"a\nb c\n", "hosts.txt:2: one host a line, found 'b c'"},
      {"a\n\nweb:99999\n", "hosts.txt:3: node 'web:99999': port '99999' is not 1-65535"},
      {"web:0\n", "hosts.txt:1: node 'web:0': port '0' is not 1-65535"},
      {"[::1\n", "hosts.txt:1: node '[::1': unterminated [ in an IPv6 address"},
      {"https://\n", "hosts.txt:1: node 'https://': no host name"},
      {"a,b\n", "hosts.txt:1: one host a line, found a comma in 'a,b'"},
      {"a\x01z\n", "hosts.txt:1: a control character in 'a\\x01z'"},
      {"\f\f#\n", "hosts.txt:1: a control character in '\\x0c\\x0c#'"},  // fuzz
      {"@other\n", "hosts.txt:1: '@other': a host file cannot include another"},
      {"web1\n# x\nweb1  # again\n",
       "hosts.txt:3: host 'web1' is listed twice (first at hosts.txt:1)"},
      {"# nothing\n\n", "hosts.txt: lists no host"},
      {"", "hosts.txt: lists no host"},
  };
  for (const auto& c : cases) {
    auto r = parse_host_file(c.text, "hosts.txt");
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.error().code, WbemStatus::kInvalidParameter);
    EXPECT_EQ(r.error().message, c.error) << c.text;
  }
}

class HostListTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("lwmi-fanout-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    auto p = (dir_ / name).string();
    std::ofstream(p) << text;
    return p;
  }
  fs::path dir_;
};

TEST_F(HostListTest, CommaListAndFilesMix) {
  std::string f = write("hosts", "b:1\n# c\nc:2\n");
  auto r = parse_host_list("a, @" + f + ",d");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, (std::vector<std::string>{"a", "b:1", "c:2", "d"}));
  auto one = parse_host_list("web1");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(*one, std::vector<std::string>{"web1"});
}

TEST_F(HostListTest, Errors) {
  std::string f = write("hosts", "x\ny\n");
  std::string missing = (dir_ / "missing").string();
  EXPECT_EQ(err(parse_host_list("")), "--node: no host given");
  EXPECT_EQ(err(parse_host_list("a,,b")), "--node item 2: empty (two commas, or one at an end)");
  EXPECT_EQ(err(parse_host_list("a,")), "--node item 2: empty (two commas, or one at an end)");
  EXPECT_EQ(err(parse_host_list("a,@")), "--node item 2: no file after @");
  EXPECT_EQ(err(parse_host_list("@" + missing)),
            "--node item 1: cannot read the host file " + missing + ": No such file or directory");
  EXPECT_EQ(err(parse_host_list("a,b:70000")),
            "--node item 2: node 'b:70000': port '70000' is not 1-65535");
  EXPECT_EQ(err(parse_host_list("y,@" + f)),
            f + ":2: host 'y' is listed twice (first at --node item 1 ('y'))");
  EXPECT_EQ(err(parse_host_list("a,a")),
            "--node item 2 ('a'): host 'a' is listed twice (first at --node item 1 ('a'))");
}

TEST(Classify, TransportMessagesAndWbemErrors) {
  // The errors as net::HttpClient makes them: their kind decides.
  using K = ErrorKind;
  struct Case {
    Error e;
    HostOutcome want;
  } cases[] = {
      {Error::of(K::kAuthentication, WbemStatus::kAccessDenied,
                 "authentication failed for user 'a' at h:5986"),
       HostOutcome::kRefused},
      {Error::of(K::kCertificate, WbemStatus::kFailed,
                 "certificate of h:5986 changed (was SHA256:AA, now SHA256:BB)"),
       HostOutcome::kRefused},
      {Error::of(
           K::kCertificate, WbemStatus::kFailed,
           "cannot reach h:5986: the certificate of h:5986 does not verify against ca.pem: x"),
       HostOutcome::kRefused},
      {Error::of(K::kTransport, WbemStatus::kFailed, "cannot reach h:5986: Connection refused"),
       HostOutcome::kUnreachable},
      {Error::of(K::kTransport, WbemStatus::kFailed,
                 "cannot reach h:5986: no connection within 2 s (connect timeout)"),
       HostOutcome::kUnreachable},
      {Error::of(K::kTimeout, WbemStatus::kTimedOut,
                 "no answer from h:5986 within 5 s (operation timeout)"),
       HostOutcome::kTimedOut},
      {Error::of(K::kTimeout, WbemStatus::kTimedOut,
                 "no answer from h:5986 within 2 s (TLS handshake; connect timeout)"),
       HostOutcome::kTimedOut},
      {{WbemStatus::kInvalidQuery, "unexpected token"}, HostOutcome::kFailed},
      {{WbemStatus::kAccessDenied, "access denied to process 1"}, HostOutcome::kFailed},
  };
  for (const auto& c : cases)
    EXPECT_EQ(outcome_name(classify(c.e)), std::string(outcome_name(c.want))) << c.e.message;
}

TEST(Classify, RewordedMessagesKeepTheirOutcome) {
  // Rewording a message changes no outcome (nor lwmic's exit status, which follows it), and a
  // WBEM error that reads like a transport failure stays a WBEM failure.
  using K = ErrorKind;
  EXPECT_EQ(classify(Error::of(K::kTransport, WbemStatus::kFailed, "h:5986 is out of reach")),
            HostOutcome::kUnreachable);
  EXPECT_EQ(classify(Error::of(K::kAuthentication, WbemStatus::kAccessDenied, "wrong password")),
            HostOutcome::kRefused);
  EXPECT_EQ(classify(Error::of(K::kCertificate, WbemStatus::kFailed, "untrusted key")),
            HostOutcome::kRefused);
  EXPECT_EQ(classify(Error::of(K::kTimeout, WbemStatus::kTimedOut, "h:5986 stayed silent")),
            HostOutcome::kTimedOut);
  EXPECT_EQ(classify(Error{WbemStatus::kFailed, "cannot reach h:5986: Connection refused"}),
            HostOutcome::kFailed);
  EXPECT_EQ(classify(Error{WbemStatus::kAccessDenied, "authentication failed for user 'a'"}),
            HostOutcome::kFailed);
  EXPECT_EQ(classify(Error{WbemStatus::kTimedOut, "no answer from h:5986 within 5 s"}),
            HostOutcome::kFailed);
}

TEST(Summary, WorstCountsAndTotals) {
  FanoutSummary s;
  EXPECT_EQ(s.worst(), HostOutcome::kOk);
  s.hosts.resize(3);
  s.hosts[0].tally.returned_zero = 2;
  s.hosts[1].outcome = HostOutcome::kMethodFailed;
  s.hosts[1].tally.returned_nonzero = 1;
  s.hosts[2].outcome = HostOutcome::kFailed;
  EXPECT_EQ(s.worst(), HostOutcome::kFailed);
  EXPECT_EQ(s.count(HostOutcome::kOk), 1u);
  EXPECT_EQ(s.total().returned_zero, 2u);
  EXPECT_EQ(s.total().returned_nonzero, 1u);
  s.hosts[0].outcome = HostOutcome::kUnreachable;
  EXPECT_EQ(s.worst(), HostOutcome::kUnreachable);
}

/// A TCP socket on 127.0.0.1 with a free port: listening (never accepting) or merely bound.
class Socket {
 public:
  explicit Socket(bool listen) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    if (listen) {
      EXPECT_EQ(::listen(fd_, 16), 0);
    }
  }
  ~Socket() { ::close(fd_); }
  int fd() const { return fd_; }
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

TEST(RunFanout, EveryHostReportedWithItsOutcome) {
  Socket closed(false);  // bound, not listening: connection refused
  Socket silent(true);   // the kernel completes the TCP handshake; TLS never starts
  Socket mute(true);     // plain HTTP: accepted, the request read, never answered
  std::atomic<bool> stop{false};
  std::thread acceptor([&] {
    std::vector<int> conns;
    while (!stop) {
      int c = ::accept4(mute.fd(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (c >= 0) conns.push_back(c);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    for (int c : conns) ::close(c);
  });
  ::fcntl(mute.fd(), F_SETFL, O_NONBLOCK);

  std::vector<std::string> nodes = {
      "127.0.0.1:" + std::to_string(closed.port()),
      "127.0.0.1:" + std::to_string(silent.port()),
      "http://127.0.0.1:" + std::to_string(mute.port()) + "/wsman",
  };
  FanoutOptions o;
  o.connect.user = "nobody";
  o.connect.password = "x";
  o.connect.known_hosts_file = "/dev/null";
  o.connect.connect_timeout_ms = 1000;
  o.connect.operation_timeout_ms = 1000;
  std::vector<std::string> done_order;
  size_t last_done = 0;
  bool op_ran = false;
  auto start = std::chrono::steady_clock::now();
  auto s = run_fanout(nodes, o,
                      [&](HostContext&) -> Result<void> {
                        op_ran = true;
                        return {};
                      },
                      {.on_host = [&](const HostReport& r, size_t done, size_t total) {
                        done_order.push_back(r.node);
                        last_done = done;
                        EXPECT_EQ(total, 3u);
                      }});
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  stop = true;
  acceptor.join();

  EXPECT_FALSE(op_ran);
  EXPECT_EQ(last_done, 3u);
  EXPECT_EQ(done_order.size(), 3u);
  ASSERT_EQ(s.hosts.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(s.hosts[i].node, nodes[i]);
    EXPECT_EQ(s.hosts[i].index, i);
    ASSERT_TRUE(s.hosts[i].error.has_value()) << nodes[i];
  }
  EXPECT_EQ(s.hosts[0].outcome, HostOutcome::kUnreachable) << s.hosts[0].error->message;
  EXPECT_NE(s.hosts[0].error->message.find("Connection refused"), std::string::npos);
  // Connected (the kernel's backlog), but no TLS answer: timed out, not unreachable.
  EXPECT_EQ(s.hosts[1].outcome, HostOutcome::kTimedOut) << s.hosts[1].error->message;
  EXPECT_EQ(s.hosts[1].error->message, "no answer from 127.0.0.1:" + std::to_string(silent.port()) +
                                           " within 1 s (TLS handshake; connect timeout)");
  EXPECT_EQ(s.hosts[2].outcome, HostOutcome::kTimedOut) << s.hosts[2].error->message;
  EXPECT_EQ(s.hosts[2].error->code, WbemStatus::kTimedOut);
  EXPECT_EQ(s.hosts[2].error->message, "no answer from 127.0.0.1:" + std::to_string(mute.port()) +
                                           " within 1 s (operation timeout)");
  EXPECT_EQ(s.worst(), HostOutcome::kUnreachable);
  EXPECT_EQ(s.count(HostOutcome::kUnreachable), 1u);
  EXPECT_EQ(s.count(HostOutcome::kTimedOut), 2u);
  // The hosts ran concurrently: far less than three timeouts end to end would be a timing
  // assertion, so only check the obvious bound (each waits at most its timeouts).
  EXPECT_LT(took, 30.0);
}

TEST(RunFanout, ThrottleBoundsConcurrentHosts) {
  // Listeners that never accept: each host holds a worker for the connect timeout, so at most
  // `throttle` hosts can be in flight; count them from on_host's arrival pattern instead of
  // timing: with throttle 1 the hosts finish strictly in list order.
  std::vector<std::unique_ptr<Socket>> socks;
  std::vector<std::string> nodes;
  for (int i = 0; i < 4; ++i) {
    socks.push_back(std::make_unique<Socket>(true));
    nodes.push_back("127.0.0.1:" + std::to_string(socks.back()->port()));
  }
  FanoutOptions o;
  o.throttle = 1;
  o.connect.known_hosts_file = "/dev/null";
  o.connect.connect_timeout_ms = 50;
  std::vector<size_t> order;
  auto s = run_fanout(
      nodes, o, [](HostContext&) -> Result<void> { return {}; },
      {.on_host = [&](const HostReport& r, size_t, size_t) { order.push_back(r.index); }});
  EXPECT_EQ(order, (std::vector<size_t>{0, 1, 2, 3}));
  EXPECT_EQ(s.count(HostOutcome::kTimedOut), 4u);
}

TEST(RunFanout, NoHostsIsNoWork) {
  auto s = run_fanout({}, {}, [](HostContext&) -> Result<void> { return {}; });
  EXPECT_TRUE(s.hosts.empty());
  EXPECT_EQ(s.worst(), HostOutcome::kOk);
}

}  // namespace
}  // namespace lwmi
