// config_test.cc — the TOML loader: defaults, a full file, every class of error with its exact
// message, loading files, and the shipped example and reference staying in step with config.h.
#include "config/config.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace lwmi::config {
namespace {

namespace fs = std::filesystem;

/// The error message parse() gives for `text` from "lwmid.conf", or "OK".
std::string ParseError(std::string_view text) {
  auto result = parse(text, "lwmid.conf");
  if (result.ok()) return "OK";
  EXPECT_EQ(result.error().code, WbemStatus::kInvalidParameter);
  return result.error().message;
}

void ExpectSameSettings(const Config& a, const Config& b) {
  EXPECT_EQ(a.server.socket, b.server.socket);
  EXPECT_EQ(a.server.http, b.server.http);
  EXPECT_EQ(a.server.https, b.server.https);
  EXPECT_EQ(a.server.state_dir, b.server.state_dir);
  EXPECT_EQ(a.server.certificate, b.server.certificate);
  EXPECT_EQ(a.server.private_key, b.server.private_key);
  EXPECT_EQ(a.server.allow_basic_over_http, b.server.allow_basic_over_http);
  EXPECT_EQ(a.server.max_connections, b.server.max_connections);
  EXPECT_EQ(a.server.max_connections_per_user, b.server.max_connections_per_user);
  EXPECT_EQ(a.server.idle_timeout, b.server.idle_timeout);
  EXPECT_EQ(a.security.remote_group, b.security.remote_group);
  EXPECT_EQ(a.security.admin_group, b.security.admin_group);
  EXPECT_EQ(a.security.pam_service, b.security.pam_service);
  EXPECT_EQ(a.security.protected_processes, b.security.protected_processes);
  EXPECT_EQ(a.security.remote_create, b.security.remote_create);
  EXPECT_EQ(a.methods.debugger_command, b.methods.debugger_command);
  EXPECT_EQ(a.methods.terminate_wait_ms, b.methods.terminate_wait_ms);
  EXPECT_EQ(a.audit.file, b.audit.file);
  EXPECT_EQ(a.audit.journal, b.audit.journal);
  EXPECT_EQ(a.events.max_subscription_expiry, b.events.max_subscription_expiry);
  EXPECT_EQ(a.events.default_subscription_expiry, b.events.default_subscription_expiry);
  EXPECT_EQ(a.events.queue_size, b.events.queue_size);
  EXPECT_EQ(a.events.max_subscriptions_per_user, b.events.max_subscriptions_per_user);
  EXPECT_EQ(a.events.max_subscriptions, b.events.max_subscriptions);
  EXPECT_EQ(a.events.max_pull_wait, b.events.max_pull_wait);
  EXPECT_EQ(a.requests.time_limit_ms, b.requests.time_limit_ms);
  EXPECT_EQ(a.requests.max_per_user, b.requests.max_per_user);
  EXPECT_EQ(a.guard.enabled, b.guard.enabled);
  EXPECT_EQ(a.guard.breaker_per_second, b.guard.breaker_per_second);
  EXPECT_EQ(a.guard.protected_programs, b.guard.protected_programs);
  EXPECT_EQ(a.subscriptions.directory, b.subscriptions.directory);
  EXPECT_EQ(a.subscriptions.log_directory, b.subscriptions.log_directory);
  EXPECT_EQ(a.subscriptions.command_user, b.subscriptions.command_user);
  EXPECT_EQ(a.subscriptions.max_concurrent_commands, b.subscriptions.max_concurrent_commands);
  EXPECT_EQ(a.subscriptions.max_queued_commands, b.subscriptions.max_queued_commands);
  EXPECT_EQ(a.subscriptions.command_timeout, b.subscriptions.command_timeout);
  EXPECT_EQ(a.subscriptions.breaker_failures, b.subscriptions.breaker_failures);
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << "cannot open " << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Every (table, key) in config.h: the members of ServerConfig, SecurityConfig, MethodsConfig and
/// AuditConfig, each named after its table.
std::vector<std::pair<std::string, std::string>> KeysInHeader() {
  std::string header = ReadFile(fs::path(LWMI_SOURCE_DIR) / "src/config/config.h");
  std::regex block(
      R"(struct (Server|Security|Methods|Audit|Events|Requests|Guard|Subscriptions)Config \{([^}]*)\};)");
  std::regex member(
      R"((?:std::string|bool|u?int\d+_t|std::vector<std::string>)\s+([a-z_]+)\s*[;=])");
  std::vector<std::pair<std::string, std::string>> keys;
  for (std::sregex_iterator b(header.begin(), header.end(), block), end; b != end; ++b) {
    std::string table = (*b)[1];
    table[0] = static_cast<char>(table[0] - 'A' + 'a');
    std::string body = (*b)[2];
    for (std::sregex_iterator m(body.begin(), body.end(), member); m != end; ++m)
      keys.emplace_back(table, (*m)[1]);
  }
  return keys;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "lwmi-config-test-XXXXXX").string();
    char* made = mkdtemp(tmpl.data());
    EXPECT_NE(made, nullptr);
    path_ = tmpl;
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }
  fs::path write(const std::string& name, const std::string& text) const {
    fs::path p = path_ / name;
    std::ofstream(p) << text;
    return p;
  }

 private:
  fs::path path_;
};

TEST(Config, DefaultsMatchTheDocumentedValues) {
  Config c;
  EXPECT_EQ(c.server.socket, "/run/lwmi/lwmid.sock");
  EXPECT_EQ(c.server.http, "127.0.0.1:5985");
  EXPECT_EQ(c.server.https, "0.0.0.0:5986");
  EXPECT_EQ(c.server.state_dir, "/var/lib/lwmi");
  EXPECT_EQ(c.server.certificate, "");
  EXPECT_EQ(c.server.private_key, "");
  EXPECT_FALSE(c.server.allow_basic_over_http);
  EXPECT_EQ(c.server.max_connections, 512u);
  EXPECT_EQ(c.server.max_connections_per_user, 32u);
  EXPECT_EQ(c.server.idle_timeout, 30u);
  EXPECT_EQ(c.security.remote_group, "lwmi");
  EXPECT_EQ(c.security.admin_group, "lwmi-admins");
  EXPECT_EQ(c.security.pam_service, "lwmi");
  EXPECT_TRUE(c.security.protected_processes.empty());
  EXPECT_FALSE(c.security.remote_create);
  EXPECT_EQ(c.methods.debugger_command, "");
  EXPECT_EQ(c.methods.terminate_wait_ms, 2000u);
  EXPECT_EQ(c.audit.file, "");
  EXPECT_TRUE(c.audit.journal);
  EXPECT_EQ(c.events.max_subscription_expiry, 3600u);
  EXPECT_EQ(c.events.default_subscription_expiry, 600u);
  EXPECT_EQ(c.events.queue_size, 1000u);
  EXPECT_EQ(c.events.max_subscriptions_per_user, 16u);
  EXPECT_EQ(c.events.max_subscriptions, 256u);
  EXPECT_EQ(c.events.max_pull_wait, 300u);
  EXPECT_EQ(c.requests.time_limit_ms, 10000u);
  EXPECT_EQ(c.requests.max_per_user, 3u);
  EXPECT_TRUE(c.guard.enabled);
  EXPECT_EQ(c.guard.breaker_per_second, 50u);
  EXPECT_TRUE(c.guard.protected_programs.empty());
  EXPECT_EQ(c.source, "");
}

TEST(Config, EmptyTextGivesDefaults) {
  auto r = parse("", "empty.conf");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ExpectSameSettings(*r, Config{});
  EXPECT_EQ(r->source, "empty.conf");

  r = parse("# only a comment\n\n[server]\n[security]\n[methods]\n[audit]\n", "tables.conf");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ExpectSameSettings(*r, Config{});
}

TEST(Config, FullValidFile) {
  auto r = parse(R"(
[server]
socket = "/tmp/lwmid.sock"
http = "[::1]:0"
https = "host.example.com:443"
state_dir = "/srv/lwmi"
certificate = "/etc/lwmi/cert.pem"
private_key = "/etc/lwmi/key.pem"
allow_basic_over_http = true
max_connections = 2000
max_connections_per_user = 8
idle_timeout = 5

[security]
remote_group = "wheel"
admin_group = "ops.admins_2"
pam_service = "login"
protected_processes = ["sshd", "systemd-journald"]
remote_create = true

[methods]
debugger_command = "gdb --batch -p %pid%"
terminate_wait_ms = 600000

[audit]
file = "/var/log/lwmi/audit.log"
journal = false
)",
                 "full.conf");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Config& c = *r;
  EXPECT_EQ(c.source, "full.conf");
  EXPECT_EQ(c.server.socket, "/tmp/lwmid.sock");
  EXPECT_EQ(c.server.http, "[::1]:0");
  EXPECT_EQ(c.server.https, "host.example.com:443");
  EXPECT_EQ(c.server.state_dir, "/srv/lwmi");
  EXPECT_EQ(c.server.certificate, "/etc/lwmi/cert.pem");
  EXPECT_EQ(c.server.private_key, "/etc/lwmi/key.pem");
  EXPECT_TRUE(c.server.allow_basic_over_http);
  EXPECT_EQ(c.server.max_connections, 2000u);
  EXPECT_EQ(c.server.max_connections_per_user, 8u);
  EXPECT_EQ(c.server.idle_timeout, 5u);
  EXPECT_EQ(c.security.remote_group, "wheel");
  EXPECT_EQ(c.security.admin_group, "ops.admins_2");
  EXPECT_EQ(c.security.pam_service, "login");
  EXPECT_EQ(c.security.protected_processes, (std::vector<std::string>{"sshd", "systemd-journald"}));
  EXPECT_TRUE(c.security.remote_create);
  EXPECT_EQ(c.methods.debugger_command, "gdb --batch -p %pid%");
  EXPECT_EQ(c.methods.terminate_wait_ms, 600000u);
  EXPECT_EQ(c.audit.file, "/var/log/lwmi/audit.log");
  EXPECT_FALSE(c.audit.journal);
}

TEST(Config, InlineTablesAndEmptyValuesAreAccepted) {
  auto r = parse(R"(server = { socket = "", http = "", https = "" }
methods = { terminate_wait_ms = 1 }
)",
                 "inline.conf");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->server.socket, "");
  EXPECT_EQ(r->server.http, "");
  EXPECT_EQ(r->server.https, "");
  EXPECT_EQ(r->methods.terminate_wait_ms, 1u);
}

TEST(Config, ValidAddresses) {
  for (const char* address : {"127.0.0.1:5985", "0.0.0.0:0", "255.255.255.255:65535", "[::]:5986",
                              "[::1]:1", "[fe80::1%eth0]:5986", "[::ffff:10.0.0.1]:80",
                              "localhost:5985", "my-host.example.com:8080", "a:1"}) {
    EXPECT_EQ(ParseError(std::string("[server]\nhttps = \"") + address + "\"\n"), "OK") << address;
  }
}

TEST(Config, UnknownTable) {
  EXPECT_EQ(ParseError("[serve]\nsocket = \"/x\"\n"), "lwmid.conf:1:1: unknown table [serve]");
  EXPECT_EQ(ParseError("\n\n[serve.sub]\n"), "lwmid.conf:3:1: unknown table [serve]");
  EXPECT_EQ(ParseError("[server]\n[server.tls]\n"), "lwmid.conf:2:1: unknown table [server.tls]");
}

TEST(Config, UnknownKey) {
  EXPECT_EQ(ParseError("[server]\nsocket = \"/run/x.sock\"\n\n[security]\nremote_group = "
                       "\"lwmi\"\n\nadmin_grp = \"wheel\"\n"),
            "lwmid.conf:7:1: unknown key 'admin_grp' in [security]");
  EXPECT_EQ(ParseError("[server]\n  tls.enabled = true\n"),
            "lwmid.conf:2:3: unknown key 'tls' in [server]");
  EXPECT_EQ(ParseError("[server]\nhttp = \"\"\njournal = true\n"),
            "lwmid.conf:3:1: unknown key 'journal' in [server]; it belongs in [audit]");
}

TEST(Config, KeyOutsideAnyTable) {
  EXPECT_EQ(ParseError("socket = \"/x\"\n"),
            "lwmid.conf:1:1: key 'socket' is outside any table; it belongs in [server]");
  EXPECT_EQ(ParseError("verbose = true\n"),
            "lwmid.conf:1:1: key 'verbose' is outside any table; keys belong in [server], "
            "[security], [methods], [audit], [events], [requests], [guard] or [subscriptions]");
  EXPECT_EQ(ParseError("server = \"/x\"\n"),
            "lwmid.conf:1:10: 'server' must be the table [server], got \"/x\"");
  EXPECT_EQ(ParseError("[[methods]]\n"),
            "lwmid.conf:1:1: 'methods' must be the table [methods], got an array of tables");
}

TEST(Config, WrongType) {
  EXPECT_EQ(ParseError("[security]\nremote_create = \"yes\"\n"),
            "lwmid.conf:2:17: [security] remote_create must be true or false, got \"yes\"");
  EXPECT_EQ(ParseError("[server]\nmax_connections = 0\n"),
            "lwmid.conf:2:19: [server] max_connections must be an integer from 1 to 65536, got 0");
  EXPECT_EQ(ParseError("[server]\nallow_basic_over_http = 1\n"),
            "lwmid.conf:2:25: [server] allow_basic_over_http must be true or false, got 1");
  EXPECT_EQ(ParseError("[methods]\ndebugger_command = [\"gdb\"]\n"),
            "lwmid.conf:2:20: [methods] debugger_command must be a string, got an array");
  EXPECT_EQ(ParseError("[audit]\njournal = { on = true }\n"),
            "lwmid.conf:2:11: [audit] journal must be true or false, got a table");
  EXPECT_EQ(ParseError("[server]\nstate_dir = 1979-05-27\n"),
            "lwmid.conf:2:13: [server] state_dir must be an absolute path, got date 1979-05-27");
  EXPECT_EQ(ParseError("[methods]\ndebugger_command = \"gdb\\u0000x\"\n"),
            "lwmid.conf:2:20: [methods] debugger_command must be a string without NUL "
            "characters, got \"gdb\\u0000x\"");
}

TEST(Config, ProtectedProcesses) {
  EXPECT_EQ(ParseError("[security]\nprotected_processes = \"sshd\"\n"),
            "lwmid.conf:2:23: [security] protected_processes must be an array of process names, "
            "got \"sshd\"");
  EXPECT_EQ(ParseError("[security]\nprotected_processes = [\"sshd\", \"\"]\n"),
            "lwmid.conf:2:32: [security] protected_processes[1] must be a non-empty process "
            "name, got \"\"");
  EXPECT_EQ(ParseError("[security]\nprotected_processes = [\n  \"sshd\",\n  42,\n]\n"),
            "lwmid.conf:4:3: [security] protected_processes[1] must be a non-empty process name, "
            "got 42");
  auto r = parse("[security]\nprotected_processes = []\n", "x");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->security.protected_processes.empty());
}

TEST(Config, OutOfRange) {
  EXPECT_EQ(ParseError("[methods]\n\nterminate_wait_ms = \"fast\"\n"),
            "lwmid.conf:3:21: [methods] terminate_wait_ms must be an integer from 1 to 600000, "
            "got \"fast\"");
  EXPECT_EQ(ParseError("[methods]\nterminate_wait_ms = 0\n"),
            "lwmid.conf:2:21: [methods] terminate_wait_ms must be an integer from 1 to 600000, "
            "got 0");
  EXPECT_EQ(ParseError("[methods]\nterminate_wait_ms = 600001\n"),
            "lwmid.conf:2:21: [methods] terminate_wait_ms must be an integer from 1 to 600000, "
            "got 600001");
  EXPECT_EQ(ParseError("[methods]\nterminate_wait_ms = -9223372036854775808\n"),
            "lwmid.conf:2:21: [methods] terminate_wait_ms must be an integer from 1 to 600000, "
            "got -9223372036854775808");
  EXPECT_EQ(ParseError("[methods]\nterminate_wait_ms = 2.5\n"),
            "lwmid.conf:2:21: [methods] terminate_wait_ms must be an integer from 1 to 600000, "
            "got floating-point 2.5");
}

TEST(Config, Events) {
  auto r = parse(
      "[events]\nmax_subscription_expiry = 7200\ndefault_subscription_expiry = 60\n"
      "queue_size = 5\nmax_subscriptions_per_user = 2\nmax_subscriptions = 10\n"
      "max_pull_wait = 30\n",
      "x");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->events.max_subscription_expiry, 7200u);
  EXPECT_EQ(r->events.default_subscription_expiry, 60u);
  EXPECT_EQ(r->events.queue_size, 5u);
  EXPECT_EQ(r->events.max_subscriptions_per_user, 2u);
  EXPECT_EQ(r->events.max_subscriptions, 10u);
  EXPECT_EQ(r->events.max_pull_wait, 30u);
  EXPECT_EQ(ParseError("[events]\nqueue_size = 0\n"),
            "lwmid.conf:2:14: [events] queue_size must be an integer from 1 to 1000000, got 0");
  EXPECT_EQ(ParseError("[events]\nmax_subscription_expiry = \"1h\"\n"),
            "lwmid.conf:2:27: [events] max_subscription_expiry must be an integer from 1 to "
            "604800, got \"1h\"");
  EXPECT_EQ(ParseError("[events]\nmax_subscriptions_per_user = -1\n"),
            "lwmid.conf:2:30: [events] max_subscriptions_per_user must be an integer from 1 to "
            "100000, got -1");
  EXPECT_EQ(ParseError("[events]\nmax_pull_wait = 3601\n"),
            "lwmid.conf:2:17: [events] max_pull_wait must be an integer from 1 to 3600, got 3601");
  EXPECT_EQ(ParseError("[events]\nmax_subscriptions = 1.5\n"),
            "lwmid.conf:2:21: [events] max_subscriptions must be an integer from 1 to 100000, "
            "got floating-point 1.5");
  EXPECT_EQ(ParseError("[events]\ndefault_subscription_expiry = 900\nmax_subscription_expiry = "
                       "300\n"),
            "lwmid.conf:2:31: [events] default_subscription_expiry (900) must not exceed "
            "max_subscription_expiry (300)");
  EXPECT_EQ(ParseError("[events]\nqueue = 5\n"), "lwmid.conf:2:1: unknown key 'queue' in [events]");
  EXPECT_EQ(ParseError("[audit]\nqueue_size = 5\n"),
            "lwmid.conf:2:1: unknown key 'queue_size' in [audit]; it belongs in [events]");
}

TEST(Config, Requests) {
  auto r = parse("[requests]\ntime_limit_ms = 250\nmax_per_user = 1\n", "x");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->requests.time_limit_ms, 250u);
  EXPECT_EQ(r->requests.max_per_user, 1u);
  EXPECT_EQ(
      ParseError("[requests]\ntime_limit_ms = 0\n"),
      "lwmid.conf:2:17: [requests] time_limit_ms must be an integer from 1 to 3600000, got 0");
  EXPECT_EQ(ParseError("[requests]\nmax_per_user = 1025\n"),
            "lwmid.conf:2:16: [requests] max_per_user must be an integer from 1 to 1024, got 1025");
  EXPECT_EQ(ParseError("[server]\nmax_per_user = 2\n"),
            "lwmid.conf:2:1: unknown key 'max_per_user' in [server]; it belongs in [requests]");
}

TEST(Config, Guard) {
  auto r = parse(
      "[guard]\nenabled = false\nbreaker_per_second = 1000000\n"
      "protected_programs = [\"/usr/sbin/sshd\", \"/usr/bin/systemctl\"]\n",
      "x");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->guard.enabled);
  EXPECT_EQ(r->guard.breaker_per_second, 1000000u);
  EXPECT_EQ(r->guard.protected_programs,
            (std::vector<std::string>{"/usr/sbin/sshd", "/usr/bin/systemctl"}));
  r = parse("[guard]\nbreaker_per_second = 1\nprotected_programs = []\n", "x");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->guard.breaker_per_second, 1u);
  EXPECT_TRUE(r->guard.protected_programs.empty());

  EXPECT_EQ(ParseError("[guard]\nenabled = \"no\"\n"),
            "lwmid.conf:2:11: [guard] enabled must be true or false, got \"no\"");
  EXPECT_EQ(ParseError("[guard]\nbreaker_per_second = 0\n"),
            "lwmid.conf:2:22: [guard] breaker_per_second must be an integer from 1 to 1000000, "
            "got 0");
  EXPECT_EQ(ParseError("[guard]\nbreaker_per_second = 1000001\n"),
            "lwmid.conf:2:22: [guard] breaker_per_second must be an integer from 1 to 1000000, "
            "got 1000001");
  EXPECT_EQ(ParseError("[guard]\nprotected_programs = \"/usr/sbin/sshd\"\n"),
            "lwmid.conf:2:22: [guard] protected_programs must be an array of absolute paths, "
            "got \"/usr/sbin/sshd\"");
  EXPECT_EQ(ParseError("[guard]\nprotected_programs = [\"/usr/sbin/sshd\", \"sshd\"]\n"),
            "lwmid.conf:2:41: [guard] protected_programs[1] must be an absolute path, got "
            "\"sshd\"");
  EXPECT_EQ(ParseError("[guard]\nprotected_programs = [\n  \"\",\n]\n"),
            "lwmid.conf:3:3: [guard] protected_programs[0] must be an absolute path, got \"\"");
  EXPECT_EQ(ParseError("[guard]\nprotected_programs = [\"/bin/a\", 7]\n"),
            "lwmid.conf:2:33: [guard] protected_programs[1] must be an absolute path, got 7");
  EXPECT_EQ(ParseError("[guard]\nprotected_programs = [\"/bin/\\u0000x\"]\n"),
            "lwmid.conf:2:23: [guard] protected_programs[0] must be an absolute path, got "
            "\"/bin/\\u0000x\"");
  EXPECT_EQ(ParseError("[guard]\nbreaker = 5\n"),
            "lwmid.conf:2:1: unknown key 'breaker' in [guard]");
  EXPECT_EQ(ParseError("[security]\nprotected_programs = []\n"),
            "lwmid.conf:2:1: unknown key 'protected_programs' in [security]; it belongs in "
            "[guard]");
  EXPECT_EQ(ParseError("enabled = true\n"),
            "lwmid.conf:1:1: key 'enabled' is outside any table; it belongs in [guard]");
}

TEST(Config, BadAddress) {
  auto error = [](const char* address) {
    return ParseError(std::string("[server]\nhttp = \"") + address + "\"\n");
  };
  const std::string prefix = "lwmid.conf:2:8: [server] http must be \"\" or ADDR:PORT, got ";
  EXPECT_EQ(error("5985"), prefix + "\"5985\": missing ':PORT'");
  EXPECT_EQ(error("127.0.0.1:65536"), prefix +
                                          "\"127.0.0.1:65536\": port must be a number from "
                                          "0 to 65535");
  EXPECT_EQ(error("127.0.0.1:"), prefix + "\"127.0.0.1:\": port must be a number from 0 to 65535");
  EXPECT_EQ(error("127.0.0.1:http"),
            prefix + "\"127.0.0.1:http\": port must be a number from 0 to 65535");
  EXPECT_EQ(error("127.0.0.1:-1"), prefix +
                                       "\"127.0.0.1:-1\": port must be a number from 0 to "
                                       "65535");
  EXPECT_EQ(error("127.0.1:80"), prefix + "\"127.0.1:80\": '127.0.1' is not an IPv4 address");
  EXPECT_EQ(error("256.0.0.1:80"), prefix + "\"256.0.0.1:80\": '256.0.0.1' is not an IPv4 address");
  EXPECT_EQ(error("::1:80"),
            prefix + "\"::1:80\": an IPv6 address must be in brackets, e.g. [::1]:5986");
  EXPECT_EQ(error("[::1]"), prefix + "\"[::1]\": missing ':PORT' after ']'");
  EXPECT_EQ(error("[::1:80"), prefix + "\"[::1:80\": '[' without a closing ']'");
  EXPECT_EQ(error("[::g]:80"), prefix + "\"[::g]:80\": '::g' is not an IPv6 address");
  EXPECT_EQ(error("[fe80::1%]:80"), prefix + "\"[fe80::1%]:80\": bad IPv6 zone ''");
  EXPECT_EQ(error(":80"), prefix +
                              "\":80\": missing address before ':' (0.0.0.0 or [::] means "
                              "every address)");
  EXPECT_EQ(error("my_host:80"), prefix + "\"my_host:80\": 'my_host' is not a valid host name");
  EXPECT_EQ(error("-host:80"), prefix + "\"-host:80\": '-host' is not a valid host name");
  EXPECT_EQ(error("host..example:80"),
            prefix + "\"host..example:80\": 'host..example' is not a valid host name");
  EXPECT_EQ(ParseError("[server]\nhttps = 5986\n"),
            "lwmid.conf:2:9: [server] https must be \"\" or ADDR:PORT, got 5986");
}

TEST(Config, BadGroup) {
  const std::string must =
      " must be a group name (letters, digits, '.', '_' and '-', not starting with '-'), got ";
  EXPECT_EQ(ParseError("[security]\nadmin_group = \"\"\n"),
            "lwmid.conf:2:15: [security] admin_group" + must + "\"\"");
  EXPECT_EQ(ParseError("[security]\nremote_group = \"-lwmi\"\n"),
            "lwmid.conf:2:16: [security] remote_group" + must + "\"-lwmi\"");
  EXPECT_EQ(ParseError("[security]\nremote_group = \"domain users\"\n"),
            "lwmid.conf:2:16: [security] remote_group" + must + "\"domain users\"");
  EXPECT_EQ(ParseError("[security]\nremote_group = 1000\n"),
            "lwmid.conf:2:16: [security] remote_group" + must + "1000");
  EXPECT_EQ(ParseError("[security]\npam_service = \"../shadow\"\n"),
            "lwmid.conf:2:15: [security] pam_service must be a PAM service name (letters, "
            "digits, '.', '_' and '-', not starting with '-'), got \"../shadow\"");
}

TEST(Config, RelativePath) {
  EXPECT_EQ(ParseError("[server]\nsocket = \"run/lwmid.sock\"\n"),
            "lwmid.conf:2:10: [server] socket must be an absolute path or \"\", got "
            "\"run/lwmid.sock\"");
  EXPECT_EQ(ParseError("[server]\nstate_dir = \"\"\n"),
            "lwmid.conf:2:13: [server] state_dir must be an absolute path, got \"\"");
  EXPECT_EQ(ParseError("[server]\ncertificate = \"cert.pem\"\n"),
            "lwmid.conf:2:15: [server] certificate must be an absolute path or \"\", got "
            "\"cert.pem\"");
  EXPECT_EQ(ParseError("[server]\nprivate_key = \"~/key.pem\"\n"),
            "lwmid.conf:2:15: [server] private_key must be an absolute path or \"\", got "
            "\"~/key.pem\"");
  EXPECT_EQ(ParseError("[audit]\nfile = \"audit.log\"\n"),
            "lwmid.conf:2:8: [audit] file must be an absolute path or \"\", got \"audit.log\"");
}

TEST(Config, TomlSyntaxError) {
  EXPECT_EQ(ParseError("[server]\nsocket = \"/x\"\nsocket = \"/y\"\n"),
            "lwmid.conf:3:10: Error while parsing key-value pair: cannot redefine existing string "
            "'socket'");
  EXPECT_EQ(ParseError("[server\n"),
            "lwmid.conf:1:8: Error while parsing table header: expected ']', saw '\\n'");
  EXPECT_EQ(ParseError("[methods]\nterminate_wait_ms = 99999999999999999999\n"),
            "lwmid.conf:2:41: Error while parsing decimal integer: '99999999999999999999' is not "
            "representable in 64 bits");
}

TEST(Config, LongOrBinaryValuesAreShownEscapedAndShortened) {
  std::string value(200, 'x');
  EXPECT_EQ(ParseError("[audit]\nfile = \"" + value + "\"\n"),
            "lwmid.conf:2:8: [audit] file must be an absolute path or \"\", got \"" +
                std::string(80, 'x') + "...\"");
  EXPECT_EQ(ParseError("[audit]\nfile = \"a\\tb\\\"\\u0001\"\n"),
            "lwmid.conf:2:8: [audit] file must be an absolute path or \"\", got "
            "\"a\\tb\\\"\\u0001\"");
}

TEST(Config, OddKeyNamesAreQuotedInMessages) {
  EXPECT_EQ(ParseError("[server]\n\"a'b\\n\" = 1\n"),
            "lwmid.conf:2:1: unknown key \"a'b\\n\" in [server]");
  EXPECT_EQ(ParseError("[\"my table\"]\n"), "lwmid.conf:1:1: unknown table [\"my table\"]");
  EXPECT_EQ(ParseError("serve = {}\n"), "lwmid.conf:1:1: unknown table [serve]");
}

// Inputs that reach toml++ 3.3 bugs (a debug assertion in parse_key, marzer/tomlplusplus#301; an
// unreachable branch for some non-ASCII characters, #190/#295): with the shipped library they are
// ordinary syntax errors.
TEST(Config, InputsThatTripTomlppBugsAreSyntaxErrors) {
  EXPECT_EQ(ParseError("[= \"].56.9:.\"919\n").substr(0, 20), "lwmid.conf:1:2: Erro");
  EXPECT_EQ(ParseError("\xc3\x90").substr(0, 20), "lwmid.conf:1:1: Erro");
  auto r = parse("[methods]\ndebugger_command = \"\"\"\\\n\xc2\xa7\"\"\"\n", "x");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->methods.debugger_command, "\xc2\xa7");
}

TEST(Config, InvalidUtf8IsASyntaxError) {
  EXPECT_EQ(ParseError("[server]\nsocket = \"/\xff\"\n"),
            "lwmid.conf:2:11: Encountered invalid utf-8 sequence");
  EXPECT_EQ(ParseError(std::string_view("[server]\0", 9)).substr(0, 11), "lwmid.conf:");
}

TEST(Config, EmptySourceNameStillGivesALocation) {
  auto r = parse("[serve]\n", "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "config:1:1: unknown table [serve]");
}

TEST(Config, LoadsAFile) {
  TempDir dir;
  fs::path path = dir.write("lwmid.conf", "[methods]\nterminate_wait_ms = 50\n");
  auto r = load(path.string());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->methods.terminate_wait_ms, 50u);
  EXPECT_EQ(r->source, path.string());

  fs::path bad = dir.write("bad.conf", "[methods]\nterminate_wait_ms = 0\n");
  r = load(bad.string());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, bad.string() +
                                   ":2:21: [methods] terminate_wait_ms must be an integer from 1 "
                                   "to 600000, got 0");
}

TEST(Config, MissingExplicitFileIsAnError) {
  TempDir dir;
  std::string path = (dir.path() / "nope.conf").string();
  for (bool optional : {true, false}) {
    auto r = load(path, optional);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, WbemStatus::kInvalidParameter);
    EXPECT_EQ(r.error().message, "cannot read " + path + ": No such file or directory");
  }
  auto r = load(dir.path().string());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "cannot read " + dir.path().string() + ": Is a directory");
}

TEST(Config, MissingDefaultFileGivesDefaults) {
  if (fs::exists(kDefaultPath)) GTEST_SKIP() << kDefaultPath << " exists on this machine";
  auto r = load(std::string(kDefaultPath));
  ASSERT_TRUE(r.ok()) << r.error().message;
  ExpectSameSettings(*r, Config{});
  EXPECT_EQ(r->source, "");

  r = load(std::string(kDefaultPath), false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "cannot read " + std::string(kDefaultPath) + ": No such file or directory");
}

TEST(Config, HeaderKeysAreAllParsed) {
  auto keys = KeysInHeader();
  EXPECT_EQ(keys.size(), 37u) << "config.h's structs changed; update this test";
  for (const auto& [table, key] : keys) {
    // An inline table is the wrong type for every key: the error must be about the value.
    std::string message = ParseError("[" + table + "]\n" + key + " = {}\n");
    EXPECT_NE(message, "OK") << key;
    EXPECT_EQ(message.find("unknown"), std::string::npos) << message;
    EXPECT_NE(message.find("[" + table + "] " + key + " must be"), std::string::npos) << message;
  }
}

TEST(Config, SubscriptionsCommandUserIsNeverRoot) {
  std::string message = ParseError("[subscriptions]\ncommand_user = \"root\"\n");
  EXPECT_NE(message.find("[subscriptions] command_user must be an unprivileged account"),
            std::string::npos)
      << message;
  auto ok = parse("[subscriptions]\ncommand_user = \"lwmi-run\"\ncommand_timeout = 5\n", "t");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->subscriptions.command_user, "lwmi-run");
  EXPECT_EQ(ok->subscriptions.command_timeout, 5u);
}

TEST(Config, ShippedExampleParsesToDefaults) {
  fs::path path = fs::path(LWMI_SOURCE_DIR) / "etc/lwmid.conf";
  auto r = load(path.string());
  ASSERT_TRUE(r.ok()) << r.error().message;
  ExpectSameSettings(*r, Config{});
}

TEST(Config, ShippedExampleListsEveryKeyWithItsDefault) {
  std::string text = ReadFile(fs::path(LWMI_SOURCE_DIR) / "etc/lwmid.conf");
  // Uncomment every "#key = value" line: the result must still be exactly the defaults.
  std::regex setting(R"(#([a-z_]+ = .*))");
  std::istringstream lines(text);
  std::string uncommented;
  size_t settings = 0;
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    bool is_setting = std::regex_match(line, m, setting);
    settings += is_setting;
    uncommented += is_setting ? m[1].str() : line;
    uncommented += '\n';
  }
  EXPECT_EQ(settings, KeysInHeader().size());
  auto r = parse(uncommented, "lwmid.conf (uncommented)");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ExpectSameSettings(*r, Config{});
  for (const auto& [table, key] : KeysInHeader()) {
    EXPECT_NE(text.find("\n#" + key + " = "), std::string::npos) << key << " missing";
  }
}

TEST(Config, ReferenceDocumentsEveryKey) {
  std::string doc = ReadFile(fs::path(LWMI_SOURCE_DIR) / "docs/config.md");
  for (const auto& [table, key] : KeysInHeader()) {
    EXPECT_NE(doc.find("| `[" + table + "]` | `" + key + "` |"), std::string::npos)
        << "[" << table << "] " << key << " is not in docs/config.md's table";
  }
}

}  // namespace
}  // namespace lwmi::config
