// Fuzzes lwmid's request path: raw bytes through Beast's HTTP parser with lwmid's limits, then
// (when a request comes out) through the /wsman endpoint: Basic parsing, envelope decoding and
// the operations. The engine reads an EMPTY /proc tree and the caller is an unprivileged Unix
// peer, so nothing on the host can be read or touched whatever the input says.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "daemon/endpoint.h"
#include "os/system_info.h"
#include "security/authenticator.h"
#include "service/cim_service.h"
#include "wsman/operations.h"

namespace http = boost::beast::http;

namespace {

// No process is ever created, signalled or re-prioritised from a fuzz input.
class RefuseEverything : public lwmi::os::ProcessControl {
 public:
  int pidfd_open(pid_t, int*) override { return EPERM; }
  int kill(int) override { return EPERM; }
  int wait_exit(int, int, bool* exited) override {
    *exited = false;
    return EPERM;
  }
  void close(int) override {}
  int set_nice(pid_t, int) override { return EPERM; }
  int spawn(const lwmi::os::SpawnRequest&, pid_t*) override { return EPERM; }
};

struct World {
  lwmi::config::Config config;
  std::unique_ptr<lwmi::service::CimService> service;
  std::unique_ptr<lwmi::wsman::Operations> operations;
  lwmi::os::SystemAccounts accounts;
  lwmi::security::SystemPam pam;
  std::unique_ptr<lwmi::security::Authenticator> authenticator;
  std::unique_ptr<lwmi::daemon::Endpoint> endpoint;

  World() {
    auto root = std::filesystem::temp_directory_path() / "lwmi-fuzz-empty-proc";
    std::filesystem::create_directories(root);
    config.security.pam_service = "lwmi-fuzz-nonexistent";  // every password is refused
    config.audit.journal = false;
    lwmi::os::SystemInfo sys;
    sys.host = "fuzzhost";
    service =
        std::make_unique<lwmi::service::CimService>(config, lwmi::os::ProcFs(root.string()), sys);
    service->processes().set_control(std::make_shared<RefuseEverything>());
    operations = std::make_unique<lwmi::wsman::Operations>(*service);
    authenticator = std::make_unique<lwmi::security::Authenticator>(config.security, accounts, pam);
    endpoint = std::make_unique<lwmi::daemon::Endpoint>(config, *operations, *authenticator,
                                                        accounts, [](const std::string&) {});
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World world;
  http::request_parser<http::string_body> parser;
  parser.body_limit(512 * 1024);
  parser.header_limit(16 * 1024);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (!ec && !parser.is_done()) parser.put_eof(ec);
  if (ec || !parser.is_done()) return 0;
  const auto& msg = parser.get();
  lwmi::net::HttpRequest req;
  req.method = std::string(msg.method_string());
  req.target = std::string(msg.target());
  for (const auto& f : msg) {
    std::string name(f.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    req.headers[name] = std::string(f.value());
  }
  req.body = msg.body();
  lwmi::net::Peer peer;
  // Alternate transports by the first byte, so both identity paths are exercised.
  if (size > 0 && (data[0] & 1)) {
    peer.transport = lwmi::net::Peer::Transport::kUnix;
    peer.uid = 65534;
    peer.gid = 65534;
    peer.pid = 0;
  } else {
    peer.transport = lwmi::net::Peer::Transport::kHttp;
    peer.address = "127.0.0.1";
    peer.loopback = true;
  }
  auto resp = world.endpoint->handle(req, peer);
  if (resp.deferred) {  // a Pull: answered at once here (no subscriptions exist)
    lwmi::net::HttpResponse real;
    resp.deferred->on_complete([&](lwmi::net::HttpResponse r) { real = std::move(r); });
    resp = std::move(real);
  }
  if (resp.status < 100 || resp.status > 599) __builtin_trap();
  return 0;
}
