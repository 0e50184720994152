// RemoteServices against a fake WS-Man server (a thread answering envelopes the server codec
// encodes) over TLS, plain HTTP and a Unix socket.
#include "client/remote_services.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <thread>

#include "cim/schema.h"
#include "net/certificate.h"
#include "service/testing/fake_served_class.h"
#include "wsman/envelope.h"
#include "wsman/operations.h"

namespace lwmi::client {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace http = boost::beast::http;
namespace fs = std::filesystem;
using boost::system::error_code;

const char kProcUri[] = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_Process";
const char kCreation[] = "20261127072421.123456+000";

struct Reply {
  int status = 200;
  std::string body;
};
using Handler = std::function<Reply(const wsman::Request&)>;

std::string b64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(n);
  return out;
}

Reply encoded(const wsman::Response& r) {
  Reply out;
  out.body = wsman::encode(r);
  if (r.fault) out.status = r.fault->http_status;
  return out;
}

/// A fake lwmid: one thread, one connection at a time, keep-alive.
class FakeServer {
 public:
  enum class Mode { kTls, kHttp, kUnix };
  FakeServer(Mode mode, Handler handler, std::string unix_path = {})
      : mode_(mode), handler_(std::move(handler)), unix_path_(std::move(unix_path)) {
    if (mode_ == Mode::kUnix) {
      ::unlink(unix_path_.c_str());
      local_.emplace(ioc_, asio::local::stream_protocol::endpoint(unix_path_));
    } else {
      tcp_.emplace(ioc_, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
      port_ = tcp_->local_endpoint().port();
    }
  }
  ~FakeServer() { stop(); }

  /// Adds a certificate (TLS); the last one added is served unless use_certificate() says.
  void add_certificate(const net::CertificateFiles& files) {
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    ctx->use_certificate_chain_file(files.certificate);
    ctx->use_private_key_file(files.private_key, ssl::context::pem);
    std::lock_guard<std::mutex> lock(mu_);
    contexts_.push_back(ctx);
    current_ = contexts_.size() - 1;
  }
  void use_certificate(size_t i) {
    std::lock_guard<std::mutex> lock(mu_);
    current_ = i;
  }
  void expect_auth(std::string user, std::string password) {
    std::lock_guard<std::mutex> lock(mu_);
    auth_ = "Basic " + b64(user + ":" + password);
  }
  void start() {
    thread_ = std::thread([this] { run(); });
  }
  void stop() {
    if (!thread_.joinable()) return;
    stopping_ = true;
    // Wake the blocking accept.
    asio::io_context io;
    error_code ec;
    if (mode_ == Mode::kUnix) {
      asio::local::stream_protocol::socket s(io);
      s.connect(asio::local::stream_protocol::endpoint(unix_path_), ec);
    } else {
      asio::ip::tcp::socket s(io);
      s.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);
    }
    thread_.join();
  }
  uint16_t port() const { return port_; }
  int requests() const { return requests_; }

 private:
  template <class Stream>
  void serve(Stream& stream) {
    boost::beast::flat_buffer buf;
    for (;;) {
      http::request<http::string_body> req;
      error_code ec;
      http::read(stream, buf, req, ec);
      if (ec) return;
      ++requests_;
      http::response<http::string_body> res;
      res.version(11);
      res.keep_alive(true);
      std::string want;
      {
        std::lock_guard<std::mutex> lock(mu_);
        want = auth_;
      }
      if (mode_ != Mode::kUnix && !want.empty() &&
          std::string(req[http::field::authorization]) != want) {
        res.result(401);
        res.set(http::field::www_authenticate, "Basic realm=\"lwmi\"");
      } else {
        auto decoded = wsman::decode(req.body());
        Reply reply;
        if (auto* f = std::get_if<wsman::Fault>(&decoded)) {
          reply.status = f->http_status;
          reply.body = wsman::encode_fault(*f, "");
        } else {
          reply = handler_(std::get<wsman::Request>(decoded));
        }
        res.result(reply.status);
        res.set(http::field::content_type, "application/soap+xml;charset=UTF-8");
        res.body() = reply.body;
      }
      res.prepare_payload();
      http::write(stream, res, ec);
      if (ec) return;
    }
  }

  void run() {
    while (!stopping_) {
      error_code ec;
      if (mode_ == Mode::kUnix) {
        auto sock = std::make_shared<asio::local::stream_protocol::socket>(ioc_);
        local_->accept(*sock, ec);
        if (ec || stopping_) continue;
        workers_.emplace_back([this, sock] { serve(*sock); });
        continue;
      }
      auto sock = std::make_shared<asio::ip::tcp::socket>(ioc_);
      tcp_->accept(*sock, ec);
      if (ec || stopping_) continue;
      if (mode_ == Mode::kHttp) {
        workers_.emplace_back([this, sock] { serve(*sock); });
        continue;
      }
      std::shared_ptr<ssl::context> ctx;
      {
        std::lock_guard<std::mutex> lock(mu_);
        ctx = contexts_.at(current_);
      }
      workers_.emplace_back([this, sock, ctx] {
        ssl::stream<asio::ip::tcp::socket&> tls(*sock, *ctx);
        error_code hec;
        tls.handshake(ssl::stream_base::server, hec);
        if (!hec) serve(tls);
      });
    }
    for (auto& t : workers_) t.join();
  }

  Mode mode_;
  Handler handler_;
  std::string unix_path_;
  asio::io_context ioc_;
  std::optional<asio::ip::tcp::acceptor> tcp_;
  std::optional<asio::local::stream_protocol::acceptor> local_;
  uint16_t port_ = 0;
  std::mutex mu_;
  std::vector<std::shared_ptr<ssl::context>> contexts_;
  size_t current_ = 0;
  std::string auth_;
  std::thread thread_;
  std::vector<std::thread> workers_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> requests_{0};
};

Instance process(uint32_t pid) {
  auto cls = cim::Schema::builtin().find("Win32_Process");
  Instance inst(cls);
  inst.set("Handle", Value::string(std::to_string(pid)));
  inst.set("ProcessId", Value::uint32(pid));
  inst.set("Name", Value::string("proc" + std::to_string(pid)));
  inst.set("CreationDate", Value::datetime(kCreation));
  inst.set("ExecutablePath", Value::null(CimType::kString));
  ObjectPath id;
  id.class_name = "Win32_Process";
  id.keys.push_back({"Handle", Value::string(std::to_string(pid))});
  id.keys.push_back({"CreationDate", Value::string(kCreation)});
  inst.set_identity(id);
  return inst;
}

/// A handler for a small world: processes 1, 2, 3; Terminate returns 2 for pid 1.
struct World {
  int pulls = 0;
  int releases = 0;
  std::vector<wsman::Request> seen;
  std::mutex mu;

  Reply operator()(const wsman::Request& r) {
    std::lock_guard<std::mutex> lock(mu);
    seen.push_back(r);
    wsman::Response out;
    out.relates_to = r.message_id;
    out.resource_uri = r.resource_uri;
    switch (r.operation) {
      case wsman::Operation::kIdentify:
        out.is_identify = true;
        return encoded(out);
      case wsman::Operation::kGet: {
        if (r.selectors.empty() || r.selectors[0].value != "42") {
          wsman::Fault f;
          f.subcode = "w:DestinationUnreachable";
          f.reason = "no Win32_Process with Handle " +
                     (r.selectors.empty() ? std::string("?") : r.selectors[0].value);
          f.wbem = WbemStatus::kNotFound;
          out.fault = f;
          return encoded(out);
        }
        out.action = "http://schemas.xmlsoap.org/ws/2004/09/transfer/GetResponse";
        out.instance = process(42);
        return encoded(out);
      }
      case wsman::Operation::kEnumerate:
        out.action = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/EnumerateResponse";
        out.is_enumeration = true;
        out.items.push_back(wsman::Item{process(1), true, true});
        out.context = "uuid:ctx";
        return encoded(out);
      case wsman::Operation::kPull:
        ++pulls;
        out.action = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/PullResponse";
        out.is_pull = true;
        out.items.push_back(wsman::Item{process(1 + pulls), true, true});
        if (pulls >= 2)
          out.end_of_sequence = true;
        else
          out.context = r.context;
        return encoded(out);
      case wsman::Operation::kRelease:
        ++releases;
        out.action = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/ReleaseResponse";
        return encoded(out);
      case wsman::Operation::kInvoke: {
        auto cls = std::make_shared<ClassDecl>();
        cls->name = "__PARAMETERS";
        PropertyDecl rv;
        rv.name = "ReturnValue";
        rv.type = CimType::kUint32;
        cls->properties.push_back(rv);
        if (r.method == "Create") {
          PropertyDecl pid;
          pid.name = "ProcessId";
          pid.type = CimType::kUint32;
          cls->properties.push_back(pid);
        }
        Instance o(cls);
        o.set(0, Value::uint32(r.method == "Terminate" ? 2 : 0));
        if (r.method == "Create") o.set(1, Value::uint32(777));
        out.action = r.resource_uri + "/" + r.method + "Response";
        out.output_element = r.method + "_OUTPUT";
        out.instance = o;
        return encoded(out);
      }
      case wsman::Operation::kDelete:
        out.action = "http://schemas.xmlsoap.org/ws/2004/09/transfer/DeleteResponse";
        return encoded(out);
      default: {
        wsman::Fault f;
        f.subcode = "a:ActionNotSupported";
        f.reason = "unsupported";
        f.wbem = WbemStatus::kNotSupported;
        out.fault = f;
        return encoded(out);
      }
    }
  }
};

class RemoteServicesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("lwmi-remote-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  net::CertificateFiles cert(const std::string& name) {
    auto c = net::ensure_self_signed((dir_ / name).string(), "localhost");
    EXPECT_TRUE(c.ok()) << c.error().to_string();
    return *c;
  }

  ConnectOptions options(uint16_t port) {
    ConnectOptions o;
    o.node = "127.0.0.1:" + std::to_string(port);
    o.user = "alice";
    o.password = "secret";
    o.known_hosts_file = (dir_ / "known_hosts").string();
    return o;
  }

  std::string read(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  fs::path dir_;
};

TEST(ParseNode, Forms) {
  auto bare = parse_node("server1");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->kind, Endpoint::Kind::kHttps);
  EXPECT_EQ(bare->port, 5986);
  EXPECT_EQ(bare->url(), "https://server1:5986/wsman");
  auto hp = parse_node("server1:6000");
  ASSERT_TRUE(hp.ok());
  EXPECT_EQ(hp->port, 6000);
  EXPECT_EQ(hp->host_port(), "server1:6000");
  auto http_url = parse_node("http://127.0.0.1/wsman");
  ASSERT_TRUE(http_url.ok());
  EXPECT_EQ(http_url->kind, Endpoint::Kind::kHttp);
  EXPECT_EQ(http_url->port, 5985);
  auto v6 = parse_node("[::1]:7000");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->host_port(), "[::1]:7000");
  auto url = parse_node("https://h.example:443/custom");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->target, "/custom");
  EXPECT_EQ(url->port, 443);
  auto unix_node = parse_node("unix:/run/x.sock");
  ASSERT_TRUE(unix_node.ok());
  EXPECT_EQ(unix_node->kind, Endpoint::Kind::kUnix);
  EXPECT_EQ(unix_node->path, "/run/x.sock");
  EXPECT_FALSE(parse_node("h:99999").ok());
  EXPECT_FALSE(parse_node("unix:").ok());
  EXPECT_FALSE(parse_node("[::1").ok());
}

TEST_F(RemoteServicesTest, GetObjectOverTlsPinsTheCertificate) {
  World world;
  FakeServer server(FakeServer::Mode::kTls, std::ref(world));
  server.add_certificate(cert("a"));
  server.expect_auth("alice", "secret");
  server.start();
  auto s = Locator::connect(options(server.port()));
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  EXPECT_FALSE((*s)->embedded());
  EXPECT_EQ((*s)->host(), "127.0.0.1");
  auto notes = (*s)->notes();
  ASSERT_EQ(notes.size(), 1u);
  std::string key = "127.0.0.1:" + std::to_string(server.port());
  EXPECT_EQ(notes[0].rfind("recorded the certificate of " + key + " (SHA256:", 0), 0u) << notes[0];
  std::string known = read(dir_ / "known_hosts");
  auto fp = net::sha256_fingerprint(cert("a").certificate);
  ASSERT_TRUE(fp.ok());
  EXPECT_EQ(known, key + " " + *fp + "\n");

  ASSERT_TRUE((*s)->privileges().enable("SeDebugPrivilege").ok());
  auto p = (*s)->get_object("Win32_Process.Handle=\"42\"");
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  EXPECT_EQ(p->get("ProcessId")->type(), CimType::kUint32);
  EXPECT_EQ(p->get("ProcessId")->as_u64(), 42u);
  EXPECT_EQ(p->get("Name")->as_string(), "proc42");
  EXPECT_EQ(p->get("CreationDate")->as_string(), kCreation);
  EXPECT_TRUE(p->get("ExecutablePath")->is_null());
  EXPECT_EQ(p->identity().key("CreationDate")->value.to_text(), kCreation);
  EXPECT_EQ(p->server(), "127.0.0.1");
  {
    std::lock_guard<std::mutex> lock(world.mu);
    const auto& get = world.seen.back();
    EXPECT_EQ(get.operation, wsman::Operation::kGet);
    EXPECT_EQ(get.resource_uri, kProcUri);
    ASSERT_EQ(get.options.size(), 1u);
    EXPECT_EQ(get.options[0].second, "SeDebugPrivilege");
  }
  // A projection.
  auto proj = (*s)->get_object("Win32_Process.Handle=\"42\"", {"Name"});
  ASSERT_TRUE(proj.ok());
  EXPECT_TRUE(proj->get("Name"));
  EXPECT_FALSE(proj->get("ProcessId"));
  // A second connection finds the pinned certificate and says nothing.
  auto again = Locator::connect(options(server.port()));
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_TRUE((*again)->notes().empty());
  // One keep-alive connection: every request so far went over few connections.
  EXPECT_GE(server.requests(), 4);
}

TEST_F(RemoteServicesTest, ChangedCertificateIsRefusedByName) {
  World world;
  FakeServer server(FakeServer::Mode::kTls, std::ref(world));
  server.add_certificate(cert("a"));
  server.add_certificate(cert("b"));
  server.use_certificate(0);
  server.start();
  {
    auto s = RemoteServices::connect(options(server.port()));
    ASSERT_TRUE(s.ok()) << s.error().to_string();
  }
  server.use_certificate(1);
  auto s = RemoteServices::connect(options(server.port()));
  ASSERT_FALSE(s.ok());
  std::string key = "127.0.0.1:" + std::to_string(server.port());
  EXPECT_EQ(s.error().message.rfind("certificate of " + key + " changed (was SHA256:", 0), 0u)
      << s.error().message;
  EXPECT_NE(s.error().message.find("now SHA256:"), std::string::npos);
  EXPECT_NE(s.error().message.find("remove the line from " + (dir_ / "known_hosts").string()),
            std::string::npos);
  EXPECT_TRUE(s.error().is_certificate());
}

TEST_F(RemoteServicesTest, CaFileVerifiesInsteadOfPinning) {
  World world;
  FakeServer server(FakeServer::Mode::kTls, std::ref(world));
  auto a = cert("a");
  server.add_certificate(a);
  server.start();
  auto o = options(server.port());
  o.node = "localhost:" + std::to_string(server.port());
  o.ca_file = a.certificate;  // self-signed: its own CA
  auto s = RemoteServices::connect(o);
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  EXPECT_TRUE((*s)->notes().empty());
  EXPECT_FALSE(fs::exists(dir_ / "known_hosts"));
  // Another CA: refused.
  o.ca_file = cert("b").certificate;
  auto bad = RemoteServices::connect(o);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("does not verify"), std::string::npos) << bad.error().message;
  EXPECT_TRUE(bad.error().is_certificate());
}

TEST_F(RemoteServicesTest, EnumerationStreamsAcrossPulls) {
  World world;
  FakeServer server(FakeServer::Mode::kTls, std::ref(world));
  server.add_certificate(cert("a"));
  server.start();
  auto s = RemoteServices::connect(options(server.port()));
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  auto stream = (*s)->enumerate_instances("Win32_Process", {});
  ASSERT_TRUE(stream.ok()) << stream.error().to_string();
  EXPECT_EQ(world.pulls, 0);
  Instance i;
  std::vector<uint64_t> pids;
  ASSERT_TRUE((*stream)->next(&i));
  pids.push_back(i.get("ProcessId")->as_u64());
  EXPECT_EQ(world.pulls, 0);  // lazily: no Pull until the first page is used up
  while ((*stream)->next(&i)) {
    pids.push_back(i.get("ProcessId")->as_u64());
    EXPECT_EQ(i.identity().key("Handle")->value.to_text(), std::to_string(pids.back()));
  }
  EXPECT_FALSE((*stream)->error());
  EXPECT_EQ(pids, (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(world.pulls, 2);
  std::lock_guard<std::mutex> lock(world.mu);
  const wsman::Request* en = nullptr;
  for (const auto& r : world.seen)
    if (r.operation == wsman::Operation::kEnumerate) en = &r;
  ASSERT_TRUE(en);
  EXPECT_TRUE(en->optimize);
  EXPECT_TRUE(en->object_and_epr);
  EXPECT_EQ(*en->max_elements, 100u);
  EXPECT_EQ(en->resource_uri, kProcUri);
}

TEST_F(RemoteServicesTest, QueryAbandonedEarlyIsReleased) {
  World world;
  FakeServer server(FakeServer::Mode::kTls, std::ref(world));
  server.add_certificate(cert("a"));
  server.start();
  auto s = RemoteServices::connect(options(server.port()));
  ASSERT_TRUE(s.ok());
  {
    auto stream = (*s)->exec_query("SELECT Name FROM Win32_Process", "WQL");
    ASSERT_TRUE(stream.ok());
    Instance i;
    ASSERT_TRUE((*stream)->next(&i));
  }
  std::lock_guard<std::mutex> lock(world.mu);
  EXPECT_EQ(world.releases, 1);
  bool saw_filter = false;
  for (const auto& r : world.seen)
    if (r.operation == wsman::Operation::kEnumerate) {
      EXPECT_EQ(r.filter, "SELECT Name FROM Win32_Process");
      EXPECT_EQ(r.filter_dialect, wsman::ns::kWqlDialect);
      EXPECT_EQ(r.resource_uri, "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/*");
      saw_filter = true;
    }
  EXPECT_TRUE(saw_filter);
  EXPECT_FALSE((*s)->exec_query("x", "CQL").ok());
}

TEST_F(RemoteServicesTest, ExecMethodReturnValueAndStaticCreate) {
  World world;
  FakeServer server(FakeServer::Mode::kTls, std::ref(world));
  server.add_certificate(cert("a"));
  server.start();
  auto s = RemoteServices::connect(options(server.port()));
  ASSERT_TRUE(s.ok());
  auto r = (*s)->exec_method(
      std::string("Win32_Process.Handle=\"1\",CreationDate=\"") + kCreation + "\"", "Terminate",
      {{"Reason", Value::uint32(15)}});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->return_value, 2u);
  {
    std::lock_guard<std::mutex> lock(world.mu);
    const auto& inv = world.seen.back();
    EXPECT_EQ(inv.operation, wsman::Operation::kInvoke);
    EXPECT_EQ(inv.method, "Terminate");
    ASSERT_EQ(inv.selectors.size(), 2u);
    EXPECT_EQ(inv.selectors[0].name, "Handle");
    EXPECT_EQ(inv.selectors[0].value, "1");
    EXPECT_EQ(inv.selectors[1].name, "CreationDate");
    EXPECT_EQ(inv.selectors[1].value, kCreation);
    ASSERT_EQ(inv.parameters.size(), 1u);
    EXPECT_EQ(inv.parameters[0].second, "15");
  }
  auto c = (*s)->exec_method("Win32_Process", "Create",
                             {{"CommandLine", Value::string("sleep 5")},
                              {"ProcessStartupInformation.PriorityClass", Value::uint32(64)}});
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_EQ(c->return_value, 0u);
  ASSERT_EQ(c->out.size(), 1u);
  EXPECT_EQ(c->out[0].first, "ProcessId");
  EXPECT_EQ(c->out[0].second.as_u64(), 777u);
  {
    std::lock_guard<std::mutex> lock(world.mu);
    const auto& inv = world.seen.back();
    EXPECT_TRUE(inv.selectors.empty());
    ASSERT_EQ(inv.parameters.size(), 2u);
    EXPECT_EQ(inv.parameters[1].first, "ProcessStartupInformation.PriorityClass");
  }
  auto d = (*s)->delete_instance("Win32_Process.Handle=\"1\"");
  ASSERT_TRUE(d.ok()) << d.error().to_string();
  EXPECT_EQ(d->return_value, 0u);
  // An instance this connection returned carries its identity into the call.
  auto p = (*s)->get_object("Win32_Process.Handle=\"42\"");
  ASSERT_TRUE(p.ok());
  auto t = (*s)->exec_method(*p, "Terminate");
  ASSERT_TRUE(t.ok());
  std::lock_guard<std::mutex> lock(world.mu);
  EXPECT_EQ(world.seen.back().selectors.size(), 2u);
}

TEST_F(RemoteServicesTest, FaultBecomesErrorWithItsCode) {
  World world;
  FakeServer server(FakeServer::Mode::kTls, std::ref(world));
  server.add_certificate(cert("a"));
  server.start();
  auto s = RemoteServices::connect(options(server.port()));
  ASSERT_TRUE(s.ok());
  auto p = (*s)->get_object("Win32_Process.Handle=\"99\"");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code, WbemStatus::kNotFound);
  EXPECT_EQ(p.error().message, "no Win32_Process with Handle 99");
  // The connection is still usable after a fault (HTTP 500).
  EXPECT_TRUE((*s)->get_object("Win32_Process.Handle=\"42\"").ok());
  EXPECT_FALSE((*s)->privileges().enable("SeNonsense").ok());
}

TEST_F(RemoteServicesTest, WrongPasswordIsAccessDenied) {
  World world;
  FakeServer server(FakeServer::Mode::kTls, std::ref(world));
  server.add_certificate(cert("a"));
  server.expect_auth("alice", "secret");
  server.start();
  auto o = options(server.port());
  o.password = "wrong";
  auto s = RemoteServices::connect(o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, WbemStatus::kAccessDenied);
  EXPECT_EQ(s.error().message,
            "authentication failed for user 'alice' at 127.0.0.1:" + std::to_string(server.port()));
  EXPECT_TRUE(s.error().is_authentication());
  // A failed login pins nothing: the certificate is recorded with a working connection.
  EXPECT_FALSE(fs::exists(dir_ / "known_hosts"));
}

TEST_F(RemoteServicesTest, PlainHttpUrl) {
  World world;
  FakeServer server(FakeServer::Mode::kHttp, std::ref(world));
  server.expect_auth("alice", "secret");
  server.start();
  auto o = options(server.port());
  o.node = "http://127.0.0.1:" + std::to_string(server.port()) + "/wsman";
  auto s = Locator::connect(o);
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  EXPECT_TRUE((*s)->get_object("Win32_Process.Handle=\"42\"").ok());
  EXPECT_FALSE(fs::exists(dir_ / "known_hosts"));
}

// Create, Get, Enumerate, Query and Delete of a root\subscription class through the real
// server operations: the client names the connection's namespace (or the path's) in each
// resource URI, and the server's refusals keep their WBEM codes.
TEST_F(RemoteServicesTest, SubscriptionNamespaceCreateGetQueryDelete) {
  service::CimService svc{config::Config{}, os::ProcFs("/proc"), os::SystemInfo::live()};
  auto fake = service::testing::serve_fake_class(svc);
  wsman::Operations ops{svc};
  auto me = security::Caller::current_process();
  FakeServer server(FakeServer::Mode::kHttp,
                    [&](const wsman::Request& r) { return encoded(ops.handle(r, me)); });
  server.start();
  auto o = options(server.port());
  o.node = "http://127.0.0.1:" + std::to_string(server.port()) + "/wsman";
  o.namespace_path = "root\\subscription";
  auto s = Locator::connect(o);
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  auto made = (*s)->create_instance("LWMI_TestFilter",
                                    {{"Name", Value::string("r1")},
                                     {"Limit", Value::string("5")},
                                     {"Tags", Value::string("a")},
                                     {"Tags", Value::string("b")},
                                     {"Target", Value::reference("LWMI_TestFilter.Name=\"x\"")}});
  ASSERT_TRUE(made.ok()) << made.error().to_string();
  EXPECT_EQ(made->to_string(), "root\\subscription:LWMI_TestFilter.Name=\"r1\"");
  auto stored = fake->stored("r1");
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->get("Limit")->as_u64(), 5u);
  EXPECT_EQ(stored->get("Tags")->elements().size(), 2u);
  EXPECT_EQ(stored->get("Target")->to_text(), "LWMI_TestFilter.Name=\"x\"");

  auto got = (*s)->get_object(made->relative());
  ASSERT_TRUE(got.ok()) << got.error().to_string();
  EXPECT_EQ(got->namespace_path(), "root\\subscription");
  auto q = (*s)->exec_query("SELECT * FROM LWMI_TestFilter WHERE Name = 'r1'");
  ASSERT_TRUE(q.ok()) << q.error().to_string();
  Instance i;
  ASSERT_TRUE((*q)->next(&i)) << ((*q)->error() ? (*q)->error()->to_string() : "");
  EXPECT_EQ(i.get("Name")->to_text(), "r1");
  auto dup = (*s)->create_instance("LWMI_TestFilter", {{"Name", Value::string("R1")}});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, WbemStatus::kAlreadyExists);
  auto process = (*s)->create_instance("root\\cimv2:Win32_Process", {});
  ASSERT_FALSE(process.ok());
  EXPECT_EQ(process.error().code, WbemStatus::kProviderNotCapable);
  ASSERT_TRUE((*s)->delete_instance(made->relative()).ok());
  EXPECT_FALSE(fake->stored("r1"));

  // Connected to root\cimv2, the class is not there: the server says where it is.
  o.namespace_path = "root\\cimv2";
  auto cimv2 = Locator::connect(o);
  ASSERT_TRUE(cimv2.ok());
  auto wrong = (*cimv2)->create_instance("LWMI_TestFilter", {{"Name", Value::string("w")}});
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, WbemStatus::kInvalidClass);
  EXPECT_EQ(wrong.error().message,
            "class LWMI_TestFilter is in root\\subscription, not root\\cimv2");
  // A path naming its namespace goes there.
  EXPECT_TRUE(
      (*cimv2)
          ->create_instance("root\\subscription:LWMI_TestFilter", {{"Name", Value::string("w")}})
          .ok());
  o.namespace_path = "root\\nowhere";
  EXPECT_EQ(Locator::connect(o).error().code, WbemStatus::kInvalidNamespace);
}

// Class introspection over WS-Man: get_class is the host's GetClass (qualifiers and all, with
// the ancestry asked for class by class), enumerate_classes and meta_class the host's schema query.
TEST_F(RemoteServicesTest, ClassesAndSchemaQueriesComeFromTheHost) {
  service::CimService svc{config::Config{}, os::ProcFs("/proc"), os::SystemInfo::live()};
  auto fake = service::testing::serve_fake_class(svc);
  wsman::Operations ops{svc};
  auto me = security::Caller::current_process();
  std::vector<std::string> asked;  // GetClass requests, by ClassName
  FakeServer server(FakeServer::Mode::kHttp, [&](const wsman::Request& r) {
    for (const auto& sel : r.selectors)
      if (sel.name == "ClassName") asked.push_back(sel.value);
    return encoded(ops.handle(r, me));
  });
  server.start();
  auto o = options(server.port());
  o.node = "http://127.0.0.1:" + std::to_string(server.port()) + "/wsman";
  o.namespace_path = "";
  auto s = Locator::connect(o);
  ASSERT_TRUE(s.ok()) << s.error().to_string();

  auto cls = (*s)->get_class("win32_process");
  ASSERT_TRUE(cls.ok()) << cls.error().to_string();
  EXPECT_EQ(asked, (std::vector<std::string>{"win32_process", "CIM_Process", "CIM_LogicalElement",
                                             "CIM_ManagedSystemElement"}));
  EXPECT_EQ((*cls)->name, "Win32_Process");
  EXPECT_EQ((*cls)->derivation, cim::Schema::builtin().find("Win32_Process")->derivation);
  EXPECT_EQ((*cls)->namespace_path, "root\\cimv2");
  EXPECT_EQ((*cls)->property("WorkingSetSize")->units, "bytes");
  ASSERT_NE((*cls)->method("Terminate")->qualifier("ValueMap"), nullptr);
  // A class only the host serves comes from the host, in its namespace.
  auto served = (*s)->get_class("LWMI_TestFilter");
  ASSERT_FALSE(served.ok());  // namespace_for() says root\cimv2 for a class this build lacks
  EXPECT_EQ(served.error().code, WbemStatus::kInvalidClass);
  EXPECT_EQ(served.error().message,
            "class LWMI_TestFilter is in root\\subscription, not root\\cimv2");
  auto missing = (*s)->get_class("Win32_Nothing");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, WbemStatus::kInvalidClass);
  EXPECT_EQ((*s)->get_class("a b").error().code, WbemStatus::kInvalidClass);

  auto sub = (*s)->enumerate_classes("root\\subscription");
  ASSERT_TRUE(sub.ok()) << sub.error().to_string();
  std::vector<std::string> names;
  for (const auto& c : *sub) names.push_back(c->name);
  EXPECT_NE(std::find(names.begin(), names.end(), "__EventFilter"), names.end());
  auto test = std::find(names.begin(), names.end(), "LWMI_TestFilter");
  ASSERT_NE(test, names.end());  // unknown to this build: its property names came along
  EXPECT_EQ((*sub)[test - names.begin()]->properties.size(), 5u);

  auto q = (*s)->exec_query("SELECT * FROM meta_class WHERE __THIS ISA 'CIM_Process'");
  ASSERT_TRUE(q.ok()) << q.error().to_string();
  Instance i;
  std::vector<std::string> found;
  while ((*q)->next(&i)) {
    EXPECT_TRUE(i.is_class());
    EXPECT_EQ(i.get("__GENUS")->as_i64(), 1);
    found.push_back(i.get("__CLASS")->as_string() + ":" + i.get("__SUPERCLASS")->as_string());
  }
  EXPECT_FALSE((*q)->error()) << (*q)->error()->to_string();
  EXPECT_EQ(found, (std::vector<std::string>{"CIM_Process:CIM_LogicalElement",
                                             "Win32_Process:CIM_Process"}));
  auto bad = (*s)->exec_query("SELECT * FROM meta_class WHERE Nope = 1");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, WbemStatus::kInvalidQuery);
  EXPECT_EQ(bad.error().position, std::optional<size_t>(31));  // the caret under Nope, as embedded
}

// A host whose class names itself as its superclass: get_class stops after 32 ancestors and
// says so, rather than asking forever.
TEST_F(RemoteServicesTest, GetClassAncestryIsBounded) {
  service::CimService svc{config::Config{}, os::ProcFs("/proc"), os::SystemInfo::live()};
  wsman::Operations ops{svc};
  auto me = security::Caller::current_process();
  auto loop = std::make_shared<ClassDecl>();
  loop->name = "X_Loop";
  loop->superclass = "X_Loop";
  int get_classes = 0;
  FakeServer server(FakeServer::Mode::kHttp, [&](const wsman::Request& r) {
    if (r.operation != wsman::Operation::kGet) return encoded(ops.handle(r, me));
    ++get_classes;
    wsman::Response out;
    out.action = "http://schemas.xmlsoap.org/ws/2004/09/transfer/GetResponse";
    out.relates_to = r.message_id;
    out.class_decl = loop;
    return encoded(out);
  });
  server.start();
  auto o = options(server.port());
  o.node = "http://127.0.0.1:" + std::to_string(server.port()) + "/wsman";
  auto s = Locator::connect(o);
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  auto c = (*s)->get_class("X_Loop");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message,
            "the host's class X_Loop has more than 32 ancestors (a superclass cycle?)");
  EXPECT_EQ(get_classes, 33);
}

TEST_F(RemoteServicesTest, UnixSocketForTheLocalHost) {
  World world;
  std::string path = (dir_ / "lwmid.sock").string();
  FakeServer server(FakeServer::Mode::kUnix, std::ref(world), path);
  server.start();
  EXPECT_TRUE(socket_accepts(path));
  EXPECT_FALSE(socket_accepts((dir_ / "none.sock").string()));
  ConnectOptions o;
  o.socket = path;
  auto s = Locator::connect(o);
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  EXPECT_FALSE((*s)->embedded());
  EXPECT_TRUE((*s)->get_object("Win32_Process.Handle=\"42\"").ok());
  // Forced embedded.
  o.embedded_only = true;
  auto e = Locator::connect(o);
  ASSERT_TRUE(e.ok()) << e.error().to_string();
  EXPECT_TRUE((*e)->embedded());
}

/// A fake lwmid's eventing: a subscription whose Pulls answer, in turn, a timeout, an overflow of
/// 3 dropped events, a heartbeat, then one event; anything after that times out.
struct EventWorld {
  std::mutex mu;
  std::vector<wsman::Request> seen;
  int pulls = 0;
  Reply operator()(const wsman::Request& r) {
    std::lock_guard<std::mutex> lock(mu);
    seen.push_back(r);
    wsman::Response out;
    out.relates_to = r.message_id;
    // `position` and `dropped`: the data lwmid sends with the fault (the client reads no text).
    auto fault = [&](const std::string& sub, const std::string& reason, WbemStatus code,
                     std::optional<size_t> position = std::nullopt, uint64_t dropped = 0) {
      wsman::Fault f;
      f.subcode = sub;
      f.reason = reason;
      f.wbem = code;
      f.position = position;
      f.dropped_events = dropped;
      out.fault = f;
      return encoded(out);
    };
    switch (r.operation) {
      case wsman::Operation::kIdentify:
        out.is_identify = true;
        return encoded(out);
      case wsman::Operation::kSubscribe:
        if (r.filter.rfind("SELECT * FROM Win32_Process", 0) == 0)
          return fault("w:CannotProcessFilter",
                       "invalid query at column 15: Win32_Process is not an event class",
                       WbemStatus::kNotEventClass, 14);
        out.action = "http://schemas.xmlsoap.org/ws/2004/08/eventing/SubscribeResponse";
        out.subscription_id = "uuid:sub";
        out.context = "uuid:sub-ctx";
        out.expires_s = 600;
        return encoded(out);
      case wsman::Operation::kPull: {
        if (r.context != "uuid:sub-ctx")
          return fault("n:InvalidEnumerationContext", "no such context",
                       WbemStatus::kInvalidParameter);
        int n = ++pulls;
        if (n == 1 || n > 4) return fault("w:TimedOut", "nothing", WbemStatus::kTimedOut);
        if (n == 2)
          return fault("w:QuotaLimit", "overflowed: 3 event(s) dropped; the rest follows",
                       WbemStatus::kQueueOverflow, std::nullopt, 3);
        out.is_pull = true;
        out.context = r.context;
        out.resource_uri = r.resource_uri;
        if (n == 3) {
          out.action = "http://schemas.dmtf.org/wbem/wsman/1/wsman/Heartbeat";
          return encoded(out);
        }
        out.action = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/PullResponse";
        out.lost_events = 5;
        Instance target(cim::Schema::builtin().find("Win32_Process"));
        target.set("Handle", Value::string("4242"));
        target.set("ProcessId", Value::uint32(4242));
        target.set("CreationDate", Value::datetime(kCreation));
        Instance ev(cim::Schema::builtin().find("__InstanceCreationEvent"));
        ev.set("TargetInstance", Value::object(std::make_shared<Instance>(target)));
        out.items.push_back({ev, true, false});
        return encoded(out);
      }
      case wsman::Operation::kUnsubscribe:
        out.action = "http://schemas.xmlsoap.org/ws/2004/08/eventing/UnsubscribeResponse";
        return encoded(out);
      default:
        return fault("a:ActionNotSupported", "unsupported", WbemStatus::kNotSupported);
    }
  }
};

TEST_F(RemoteServicesTest, EventsBySubscribeAndPulls) {
  EventWorld world;
  std::string path = (dir_ / "lwmid.sock").string();
  FakeServer server(FakeServer::Mode::kUnix, std::ref(world), path);
  server.start();
  ConnectOptions o;
  o.socket = path;
  auto s = Locator::connect(o);
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  std::string wql =
      "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Win32_Process'";
  {
    auto stream = (*s)->exec_notification_query(wql);
    ASSERT_TRUE(stream.ok()) << stream.error().to_string();
    Instance ev;
    // Timeout, overflow and heartbeat are pulled through; the event comes.
    auto got = (*stream)->next(&ev, 10000);
    ASSERT_TRUE(got.ok()) << got.error().to_string();
    ASSERT_TRUE(*got);
    EXPECT_EQ(ev.class_name(), "__InstanceCreationEvent");
    EXPECT_EQ(ev.server(), (*s)->host()) << "an event names its host, as an instance does";
    EXPECT_FALSE(ev.server().empty());
    auto target = ev.get("TargetInstance")->as_object();
    EXPECT_EQ(target->server(), (*s)->host()) << "and so does the process it is about";
    EXPECT_EQ(target->identity().to_string(),
              std::string("Win32_Process.Handle=\"4242\",CreationDate=\"") + kCreation + "\"");
    EXPECT_EQ((*stream)->dropped(), 3u);
    EXPECT_EQ((*stream)->lost(), 5u);
    // Nothing more within the time given.
    got = (*stream)->next(&ev, 50);
    ASSERT_TRUE(got.ok());
    EXPECT_FALSE(*got);
  }
  std::lock_guard<std::mutex> lock(world.mu);
  ASSERT_GE(world.seen.size(), 7u);
  const auto& sub = world.seen[1];
  EXPECT_EQ(sub.operation, wsman::Operation::kSubscribe);
  EXPECT_EQ(sub.filter, wql);
  EXPECT_EQ(sub.delivery_mode, "http://schemas.dmtf.org/wbem/wsman/1/wsman/Pull");
  EXPECT_EQ(sub.filter_dialect, "http://schemas.microsoft.com/wbem/wsman/1/WQL");
  // The first Pulls wait up to what next() had left; the last one at most 50 ms.
  EXPECT_GT(world.seen[2].operation_timeout_s.value_or(0), 5.0);
  EXPECT_LE(world.seen[world.seen.size() - 2].operation_timeout_s.value_or(99), 0.05);
  // Destroying the stream unsubscribed.
  EXPECT_EQ(world.seen.back().operation, wsman::Operation::kUnsubscribe);
  EXPECT_EQ(world.seen.back().identifier, "uuid:sub");
}

// interrupt() ends a Pull the server holds (lwmic on Ctrl-C) instead of waiting for its answer;
// destroying the stream then unsubscribes on a new connection.
TEST_F(RemoteServicesTest, InterruptEndsAPullTheServerHolds) {
  EventWorld events;
  std::mutex mu;
  std::condition_variable cv;
  bool pull_waiting = false, released = false;
  auto world = [&](const wsman::Request& r) -> Reply {
    if (r.operation == wsman::Operation::kPull) {
      std::unique_lock<std::mutex> lock(mu);
      pull_waiting = true;
      cv.notify_all();
      // Held until the test releases it (bounded, so that a broken interrupt fails the test
      // rather than hanging it: the next Pulls then answer, and next() returns an event).
      cv.wait_for(lock, std::chrono::seconds(10), [&] { return released; });
      pull_waiting = false;
    }
    return events(r);
  };
  std::string path = (dir_ / "lwmid.sock").string();
  FakeServer server(FakeServer::Mode::kUnix, world, path);
  server.start();
  ConnectOptions o;
  o.socket = path;
  auto s = Locator::connect(o);
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  {
    auto stream = (*s)->exec_notification_query(
        "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Win32_Process'");
    ASSERT_TRUE(stream.ok()) << stream.error().to_string();
    std::thread interrupter([&] {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return pull_waiting; });
      lock.unlock();
      (*stream)->interrupt();
    });
    Instance ev;
    auto got = (*stream)->next(&ev, -1);
    bool answered;
    {
      std::lock_guard<std::mutex> lock(mu);
      answered = released || !pull_waiting;
      released = true;  // let the held Pull go
    }
    cv.notify_all();
    interrupter.join();
    ASSERT_TRUE(got.ok()) << got.error().to_string();
    EXPECT_FALSE(*got);
    EXPECT_FALSE(answered) << "next() returned before the server answered its Pull";
  }
  // The stream unsubscribed as it was destroyed (the held Pull's answer may be recorded later).
  std::lock_guard<std::mutex> lock(events.mu);
  auto unsubscribed = std::find_if(events.seen.begin(), events.seen.end(), [](const auto& r) {
    return r.operation == wsman::Operation::kUnsubscribe;
  });
  ASSERT_NE(unsubscribed, events.seen.end());
  EXPECT_EQ(unsubscribed->identifier, "uuid:sub");
}

TEST_F(RemoteServicesTest, EventQueryErrorPointsAtTheColumn) {
  EventWorld world;
  std::string path = (dir_ / "lwmid.sock").string();
  FakeServer server(FakeServer::Mode::kUnix, std::ref(world), path);
  server.start();
  ConnectOptions o;
  o.socket = path;
  auto s = Locator::connect(o);
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  auto stream = (*s)->exec_notification_query("SELECT * FROM Win32_Process");
  ASSERT_FALSE(stream.ok());
  EXPECT_EQ(stream.error().code, WbemStatus::kNotEventClass);
  EXPECT_EQ(stream.error().position, size_t{14});
}

TEST_F(RemoteServicesTest, UnreachableSaysCannotReach) {
  uint16_t port;
  {
    asio::io_context io;
    asio::ip::tcp::acceptor a(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }
  auto s = Locator::connect(options(port));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message.rfind("cannot reach 127.0.0.1:" + std::to_string(port), 0), 0u)
      << s.error().message;
  EXPECT_TRUE(s.error().is_transport());
  ConnectOptions o;
  o.socket = (dir_ / "missing.sock").string();
  auto u = Locator::connect(o);
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.error().message.rfind("cannot reach", 0), 0u) << u.error().message;
  EXPECT_TRUE(u.error().is_transport());
}

}  // namespace
}  // namespace lwmi::client
