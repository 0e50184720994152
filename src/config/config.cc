// config/config.cc — parses lwmid.conf (TOML, via toml++) into Config, validating every key.
//
// The first problem found stops parsing and is reported as
// "<source>:<line>:<column>: <what>", with the position of the offending key or value.
#include "config/config.h"
#include "os/descriptors.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include <toml++/toml.h>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <sstream>
#include <string>

namespace lwmi::config {
namespace {

constexpr uint32_t kMaxTerminateWaitMs = 600000;
constexpr int64_t kMaxExpirySeconds = 7 * 24 * 3600;
constexpr int64_t kMaxQueueSize = 1000000;
constexpr int64_t kMaxSubscriptions = 100000;
constexpr int64_t kMaxPullWaitSeconds = 3600;
constexpr int64_t kMaxConnections = 65536;
constexpr int64_t kMaxIdleTimeoutSeconds = 3600;
constexpr int64_t kMaxTimeLimitMs = 3600 * 1000;
constexpr int64_t kMaxRequestsPerUser = 1024;
constexpr int64_t kMaxBreakerPerSecond = 1000000;
constexpr size_t kMaxFileBytes = 16 * 1024 * 1024;
constexpr size_t kMaxShownChars = 80;

/// A string as a TOML basic string literal, control characters escaped, long values shortened.
std::string quote(std::string_view s) {
  std::string out = "\"";
  size_t shown = 0;
  for (char c : s) {
    if (++shown > kMaxShownChars) {
      out += "...";
      break;
    }
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04X", u);
      out += buf;
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

/// What was found, for "got …": the value itself for scalars, the type for containers.
std::string describe(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return quote(node.as_string()->get());
    case toml::node_type::integer:
      return std::to_string(node.as_integer()->get());
    case toml::node_type::floating_point: {
      std::ostringstream os;
      os << *node.as_floating_point();
      return "floating-point " + os.str();
    }
    case toml::node_type::boolean:
      return node.as_boolean()->get() ? "true" : "false";
    case toml::node_type::date: {
      std::ostringstream os;
      os << *node.as_date();
      return "date " + os.str();
    }
    case toml::node_type::time: {
      std::ostringstream os;
      os << *node.as_time();
      return "time " + os.str();
    }
    case toml::node_type::date_time: {
      std::ostringstream os;
      os << *node.as_date_time();
      return "date-time " + os.str();
    }
    case toml::node_type::array:
      return node.as_array()->is_array_of_tables() && !node.as_array()->empty()
                 ? "an array of tables"
                 : "an array";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

/// A key as written in messages: bare keys as they are, anything else quoted and escaped.
std::string show_key(std::string_view key, char bare_quote = 0) {
  bool bare = !key.empty() && key.size() <= kMaxShownChars;
  for (char c : key) {
    bare = bare && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-');
  }
  if (!bare) return quote(key);
  return bare_quote ? bare_quote + std::string(key) + bare_quote : std::string(key);
}

bool valid(const toml::source_position& p) {
  return p.line != 0;
}

/// The first known position in `node` or, for tables and arrays made implicitly, its contents.
toml::source_position first_position(const toml::node& node) {
  if (valid(node.source().begin)) return node.source().begin;
  if (const auto* table = node.as_table()) {
    for (const auto& [key, child] : *table) {
      if (valid(key.source().begin)) return key.source().begin;
      if (auto p = first_position(child); valid(p)) return p;
    }
  } else if (const auto* array = node.as_array()) {
    for (const auto& child : *array)
      if (auto p = first_position(child); valid(p)) return p;
  }
  return {};
}

class Parser {
 public:
  explicit Parser(std::string_view source) : source_(source.empty() ? "config" : source) {}

  Error error_at(const toml::source_position& p, const std::string& what) const {
    std::string message = source_;
    if (valid(p)) message += ":" + std::to_string(p.line) + ":" + std::to_string(p.column);
    return Error{WbemStatus::kInvalidParameter, message + ": " + what, std::nullopt};
  }

  Result<Config> parse(std::string_view text) {
    toml::table root;
    try {
      root = toml::parse(text, source_);
    } catch (const toml::parse_error& e) {
      return error_at(e.source().begin, std::string(e.description()));
    }
    Config config;
    for (const auto& [key, node] : root) {
      const std::string name(key.str());
      const toml::table* table = node.as_table();
      bool known = name == "server" || name == "security" || name == "methods" || name == "audit" ||
                   name == "events" || name == "requests" || name == "guard" ||
                   name == "subscriptions";
      if (!known) {
        auto where = valid(key.source().begin) ? key.source().begin : first_position(node);
        if (table) {
          return error_at(from_header(key, *table) ? table->source().begin : where,
                          "unknown table [" + show_key(name) + "]");
        }
        std::string_view home = table_of(name);
        return error_at(where, "key " + show_key(name, '\'') + " is outside any table; " +
                                   (home.empty() ? std::string("keys belong in [server], "
                                                               "[security], [methods], [audit], "
                                                               "[events], [requests], [guard] or "
                                                               "[subscriptions]")
                                                 : "it belongs in [" + std::string(home) + "]"));
      }
      if (!table) {
        return error_at(first_position(node),
                        "'" + name + "' must be the table [" + name + "], got " + describe(node));
      }
      std::optional<Error> err;
      if (name == "server") err = server(*table, config.server);
      if (name == "security") err = security(*table, config.security);
      if (name == "methods") err = methods(*table, config.methods);
      if (name == "audit") err = audit(*table, config.audit);
      if (name == "events") err = events(*table, config.events);
      if (name == "requests") err = requests(*table, config.requests);
      if (name == "guard") err = guard(*table, config.guard);
      if (name == "subscriptions") err = subscriptions(*table, config.subscriptions);
      if (err) return std::move(*err);
    }
    config.source = std::string(source_);
    return config;
  }

 private:
  using MaybeError = std::optional<Error>;

  /// Position of a value: its own, else its key's.
  static toml::source_position at(const toml::key& key, const toml::node& node) {
    auto p = first_position(node);
    return valid(p) ? p : key.source().begin;
  }

  /// Whether a table was opened by a [header] (rather than `a.b = …` or `a = { … }`): a header's
  /// '[' comes before the key, a dotted key's table starts at the key.
  static bool from_header(const toml::key& key, const toml::table& table) {
    const auto& t = table.source().begin;
    const auto& k = key.source().begin;
    return !table.is_inline() && valid(t) && (t.line != k.line || t.column != k.column);
  }

  /// The table a key belongs in, or "" if no table has it.
  static std::string_view table_of(std::string_view key) {
    static constexpr std::pair<std::string_view, std::string_view> kKeys[] = {
        {"socket", "server"},
        {"http", "server"},
        {"https", "server"},
        {"state_dir", "server"},
        {"certificate", "server"},
        {"private_key", "server"},
        {"allow_basic_over_http", "server"},
        {"max_connections", "server"},
        {"max_connections_per_user", "server"},
        {"idle_timeout", "server"},
        {"remote_group", "security"},
        {"admin_group", "security"},
        {"pam_service", "security"},
        {"protected_processes", "security"},
        {"remote_create", "security"},
        {"debugger_command", "methods"},
        {"terminate_wait_ms", "methods"},
        {"file", "audit"},
        {"journal", "audit"},
        {"max_subscription_expiry", "events"},
        {"default_subscription_expiry", "events"},
        {"queue_size", "events"},
        {"max_subscriptions_per_user", "events"},
        {"max_subscriptions", "events"},
        {"max_pull_wait", "events"},
        {"time_limit_ms", "requests"},
        {"max_per_user", "requests"},
        {"enabled", "guard"},
        {"breaker_per_second", "guard"},
        {"protected_programs", "guard"},
        {"directory", "subscriptions"},
        {"log_directory", "subscriptions"},
        {"command_user", "subscriptions"},
        {"max_concurrent_commands", "subscriptions"},
        {"max_queued_commands", "subscriptions"},
        {"command_timeout", "subscriptions"},
        {"breaker_failures", "subscriptions"},
    };
    for (const auto& [k, t] : kKeys)
      if (k == key) return t;
    return {};
  }

  Error unknown(const std::string& table, const toml::key& key, const toml::node& node) const {
    std::string name(key.str());
    if (const auto* t = node.as_table(); t && from_header(key, *t))
      return error_at(t->source().begin, "unknown table [" + table + "." + show_key(name) + "]");
    auto where = valid(key.source().begin) ? key.source().begin : first_position(node);
    std::string_view home = table_of(name);
    if (!home.empty() && home != table)
      return error_at(where, "unknown key '" + name + "' in [" + table + "]; it belongs in [" +
                                 std::string(home) + "]");
    return error_at(where, "unknown key " + show_key(name, '\'') + " in [" + table + "]");
  }

  Error bad(const std::string& table, const toml::key& key, const toml::node& node,
            const std::string& must) const {
    return error_at(at(key, node), "[" + table + "] " + std::string(key.str()) + " must be " +
                                       must + ", got " + describe(node));
  }

  MaybeError get_string(const std::string& table, const toml::key& key, const toml::node& node,
                        std::string& out) const {
    const auto* s = node.as_string();
    if (!s) return bad(table, key, node, "a string");
    if (s->get().find('\0') != std::string::npos)
      return bad(table, key, node, "a string without NUL characters");
    out = s->get();
    return std::nullopt;
  }

  MaybeError get_bool(const std::string& table, const toml::key& key, const toml::node& node,
                      bool& out) const {
    const auto* b = node.as_boolean();
    if (!b) return bad(table, key, node, "true or false");
    out = b->get();
    return std::nullopt;
  }

  MaybeError get_path(const std::string& table, const toml::key& key, const toml::node& node,
                      std::string& out, bool may_be_empty) const {
    const char* must = may_be_empty ? "an absolute path or \"\"" : "an absolute path";
    if (!node.is_string()) return bad(table, key, node, must);
    std::string s;
    if (auto e = get_string(table, key, node, s)) return e;
    if (!(s.empty() && may_be_empty) && (s.empty() || s[0] != '/'))
      return bad(table, key, node, must);
    out = std::move(s);
    return std::nullopt;
  }

  /// POSIX portable name: [A-Za-z0-9._-]+, not starting with '-'.
  static bool portable_name(std::string_view s) {
    if (s.empty() || s[0] == '-') return false;
    for (char c : s) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == '-';
      if (!ok) return false;
    }
    return true;
  }

  MaybeError get_name(const std::string& table, const toml::key& key, const toml::node& node,
                      std::string& out, const char* what) const {
    std::string must =
        std::string("a ") + what + " (letters, digits, '.', '_' and '-', not starting with '-')";
    if (!node.is_string()) return bad(table, key, node, must);
    std::string s;
    if (auto e = get_string(table, key, node, s)) return e;
    if (!portable_name(s)) return bad(table, key, node, must);
    out = std::move(s);
    return std::nullopt;
  }

  static bool host_name(std::string_view s) {
    if (s.empty() || s.size() > 253) return false;
    size_t start = 0;
    while (true) {
      size_t dot = s.find('.', start);
      std::string_view label =
          s.substr(start, dot == std::string_view::npos ? s.npos : dot - start);
      if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
        return false;
      for (char c : label) {
        bool ok =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
        if (!ok) return false;
      }
      if (dot == std::string_view::npos) return true;
      start = dot + 1;
    }
  }

  /// "" if `s` is ADDR:PORT, else why not.
  static std::string address_problem(std::string_view s) {
    if (s.empty()) return {};
    std::string_view host;
    std::string_view port;
    if (s.front() == '[') {
      size_t close = s.find(']');
      if (close == std::string_view::npos) return "'[' without a closing ']'";
      host = s.substr(1, close - 1);
      std::string_view rest = s.substr(close + 1);
      if (rest.empty() || rest.front() != ':') return "missing ':PORT' after ']'";
      port = rest.substr(1);
      std::string_view address = host;
      if (size_t pct = host.find('%'); pct != std::string_view::npos) {
        std::string_view zone = host.substr(pct + 1);
        address = host.substr(0, pct);
        if (!portable_name(zone)) return "bad IPv6 zone '" + std::string(zone) + "'";
      }
      in6_addr a6;
      if (inet_pton(AF_INET6, std::string(address).c_str(), &a6) != 1)
        return "'" + std::string(address) + "' is not an IPv6 address";
    } else {
      size_t colon = s.rfind(':');
      if (colon == std::string_view::npos) return "missing ':PORT'";
      host = s.substr(0, colon);
      port = s.substr(colon + 1);
      if (host.find(':') != std::string_view::npos)
        return "an IPv6 address must be in brackets, e.g. [::1]:5986";
      if (host.empty()) return "missing address before ':' (0.0.0.0 or [::] means every address)";
      if (host.find_first_not_of("0123456789.") == std::string_view::npos) {
        in_addr a4;
        if (inet_pton(AF_INET, std::string(host).c_str(), &a4) != 1)
          return "'" + std::string(host) + "' is not an IPv4 address";
      } else if (!host_name(host)) {
        return "'" + std::string(host) + "' is not a valid host name";
      }
    }
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != port.npos ||
        std::stoul(std::string(port)) > 65535)
      return "port must be a number from 0 to 65535";
    return {};
  }

  MaybeError get_address(const std::string& table, const toml::key& key, const toml::node& node,
                         std::string& out) const {
    const char* must = "\"\" or ADDR:PORT";
    if (!node.is_string()) return bad(table, key, node, must);
    std::string s;
    if (auto e = get_string(table, key, node, s)) return e;
    if (std::string why = address_problem(s); !why.empty())
      return error_at(at(key, node), "[" + table + "] " + std::string(key.str()) + " must be " +
                                         must + ", got " + describe(node) + ": " + why);
    out = std::move(s);
    return std::nullopt;
  }

  MaybeError server(const toml::table& t, ServerConfig& c) const {
    const std::string table = "server";
    for (const auto& [key, node] : t) {
      std::string_view k = key.str();
      MaybeError e;
      if (k == "socket") {
        e = get_path(table, key, node, c.socket, true);
      } else if (k == "http") {
        e = get_address(table, key, node, c.http);
      } else if (k == "https") {
        e = get_address(table, key, node, c.https);
      } else if (k == "state_dir") {
        e = get_path(table, key, node, c.state_dir, false);
      } else if (k == "certificate") {
        e = get_path(table, key, node, c.certificate, true);
      } else if (k == "private_key") {
        e = get_path(table, key, node, c.private_key, true);
      } else if (k == "allow_basic_over_http") {
        e = get_bool(table, key, node, c.allow_basic_over_http);
      } else if (k == "max_connections") {
        e = get_uint(table, key, node, c.max_connections, 1, kMaxConnections);
      } else if (k == "max_connections_per_user") {
        e = get_uint(table, key, node, c.max_connections_per_user, 1, kMaxConnections);
      } else if (k == "idle_timeout") {
        e = get_uint(table, key, node, c.idle_timeout, 1, kMaxIdleTimeoutSeconds);
      } else {
        e = unknown(table, key, node);
      }
      if (e) return e;
    }
    return std::nullopt;
  }

  MaybeError security(const toml::table& t, SecurityConfig& c) const {
    const std::string table = "security";
    for (const auto& [key, node] : t) {
      std::string_view k = key.str();
      MaybeError e;
      if (k == "remote_group") {
        e = get_name(table, key, node, c.remote_group, "group name");
      } else if (k == "admin_group") {
        e = get_name(table, key, node, c.admin_group, "group name");
      } else if (k == "pam_service") {
        e = get_name(table, key, node, c.pam_service, "PAM service name");
      } else if (k == "protected_processes") {
        e = protected_processes(table, key, node, c.protected_processes);
      } else if (k == "remote_create") {
        e = get_bool(table, key, node, c.remote_create);
      } else {
        e = unknown(table, key, node);
      }
      if (e) return e;
    }
    return std::nullopt;
  }

  MaybeError protected_processes(const std::string& table, const toml::key& key,
                                 const toml::node& node, std::vector<std::string>& out) const {
    const auto* array = node.as_array();
    if (!array) return bad(table, key, node, "an array of process names");
    std::vector<std::string> names;
    for (size_t i = 0; i < array->size(); ++i) {
      const toml::node& item = *array->get(i);
      const auto* s = item.as_string();
      if (!s || s->get().empty() || s->get().find('\0') != std::string::npos) {
        auto p = first_position(item);
        return error_at(valid(p) ? p : at(key, node),
                        "[" + table + "] " + std::string(key.str()) + "[" + std::to_string(i) +
                            "] must be a non-empty process name, got " + describe(item));
      }
      names.push_back(s->get());
    }
    out = std::move(names);
    return std::nullopt;
  }

  MaybeError methods(const toml::table& t, MethodsConfig& c) const {
    const std::string table = "methods";
    for (const auto& [key, node] : t) {
      std::string_view k = key.str();
      MaybeError e;
      if (k == "debugger_command") {
        e = get_string(table, key, node, c.debugger_command);
      } else if (k == "terminate_wait_ms") {
        const auto* i = node.as_integer();
        if (!i || i->get() < 1 || i->get() > kMaxTerminateWaitMs) {
          e = bad(table, key, node, "an integer from 1 to " + std::to_string(kMaxTerminateWaitMs));
        } else {
          c.terminate_wait_ms = static_cast<uint32_t>(i->get());
        }
      } else {
        e = unknown(table, key, node);
      }
      if (e) return e;
    }
    return std::nullopt;
  }

  MaybeError audit(const toml::table& t, AuditConfig& c) const {
    const std::string table = "audit";
    for (const auto& [key, node] : t) {
      std::string_view k = key.str();
      MaybeError e;
      if (k == "file") {
        e = get_path(table, key, node, c.file, true);
      } else if (k == "journal") {
        e = get_bool(table, key, node, c.journal);
      } else {
        e = unknown(table, key, node);
      }
      if (e) return e;
    }
    return std::nullopt;
  }

  MaybeError get_uint(const std::string& table, const toml::key& key, const toml::node& node,
                      uint32_t& out, int64_t lo, int64_t hi) const {
    const auto* i = node.as_integer();
    if (!i || i->get() < lo || i->get() > hi)
      return bad(table, key, node,
                 "an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
    out = static_cast<uint32_t>(i->get());
    return std::nullopt;
  }

  MaybeError events(const toml::table& t, EventsConfig& c) const {
    const std::string table = "events";
    std::optional<toml::source_position> default_at;
    for (const auto& [key, node] : t) {
      std::string_view k = key.str();
      MaybeError e;
      if (k == "max_subscription_expiry") {
        e = get_uint(table, key, node, c.max_subscription_expiry, 1, kMaxExpirySeconds);
      } else if (k == "default_subscription_expiry") {
        e = get_uint(table, key, node, c.default_subscription_expiry, 1, kMaxExpirySeconds);
        default_at = at(key, node);
      } else if (k == "queue_size") {
        e = get_uint(table, key, node, c.queue_size, 1, kMaxQueueSize);
      } else if (k == "max_subscriptions_per_user") {
        e = get_uint(table, key, node, c.max_subscriptions_per_user, 1, kMaxSubscriptions);
      } else if (k == "max_subscriptions") {
        e = get_uint(table, key, node, c.max_subscriptions, 1, kMaxSubscriptions);
      } else if (k == "max_pull_wait") {
        e = get_uint(table, key, node, c.max_pull_wait, 1, kMaxPullWaitSeconds);
      } else {
        e = unknown(table, key, node);
      }
      if (e) return e;
    }
    if (c.default_subscription_expiry > c.max_subscription_expiry)
      return error_at(default_at.value_or(toml::source_position{}),
                      "[events] default_subscription_expiry (" +
                          std::to_string(c.default_subscription_expiry) +
                          ") must not exceed max_subscription_expiry (" +
                          std::to_string(c.max_subscription_expiry) + ")");
    return std::nullopt;
  }

  MaybeError requests(const toml::table& t, RequestsConfig& c) const {
    const std::string table = "requests";
    for (const auto& [key, node] : t) {
      std::string_view k = key.str();
      MaybeError e;
      if (k == "time_limit_ms") {
        e = get_uint(table, key, node, c.time_limit_ms, 1, kMaxTimeLimitMs);
      } else if (k == "max_per_user") {
        e = get_uint(table, key, node, c.max_per_user, 1, kMaxRequestsPerUser);
      } else {
        e = unknown(table, key, node);
      }
      if (e) return e;
    }
    return std::nullopt;
  }

  MaybeError guard(const toml::table& t, GuardConfig& c) const {
    const std::string table = "guard";
    for (const auto& [key, node] : t) {
      std::string_view k = key.str();
      MaybeError e;
      if (k == "enabled") {
        e = get_bool(table, key, node, c.enabled);
      } else if (k == "breaker_per_second") {
        e = get_uint(table, key, node, c.breaker_per_second, 1, kMaxBreakerPerSecond);
      } else if (k == "protected_programs") {
        e = protected_programs(table, key, node, c.protected_programs);
      } else {
        e = unknown(table, key, node);
      }
      if (e) return e;
    }
    return std::nullopt;
  }

  MaybeError subscriptions(const toml::table& t, SubscriptionsConfig& c) const {
    const std::string table = "subscriptions";
    for (const auto& [key, node] : t) {
      std::string_view k = key.str();
      MaybeError e;
      if (k == "directory") {
        e = get_path(table, key, node, c.directory, false);
      } else if (k == "log_directory") {
        e = get_path(table, key, node, c.log_directory, false);
      } else if (k == "command_user") {
        e = get_name(table, key, node, c.command_user, "user name");
        if (!e && c.command_user == "root")
          e = bad(table, key, node, "an unprivileged account (commands never run as root)");
      } else if (k == "max_concurrent_commands") {
        e = get_uint(table, key, node, c.max_concurrent_commands, 1, 256);
      } else if (k == "max_queued_commands") {
        e = get_uint(table, key, node, c.max_queued_commands, 0, 100000);
      } else if (k == "command_timeout") {
        e = get_uint(table, key, node, c.command_timeout, 1, 86400);
      } else if (k == "breaker_failures") {
        e = get_uint(table, key, node, c.breaker_failures, 1, 1000000);
      } else {
        e = unknown(table, key, node);
      }
      if (e) return e;
    }
    return std::nullopt;
  }

  MaybeError protected_programs(const std::string& table, const toml::key& key,
                                const toml::node& node, std::vector<std::string>& out) const {
    const auto* array = node.as_array();
    if (!array) return bad(table, key, node, "an array of absolute paths");
    std::vector<std::string> paths;
    for (size_t i = 0; i < array->size(); ++i) {
      const toml::node& item = *array->get(i);
      const auto* s = item.as_string();
      if (!s || s->get().empty() || s->get()[0] != '/' ||
          s->get().find('\0') != std::string::npos) {
        auto p = first_position(item);
        return error_at(valid(p) ? p : at(key, node),
                        "[" + table + "] " + std::string(key.str()) + "[" + std::to_string(i) +
                            "] must be an absolute path, got " + describe(item));
      }
      paths.push_back(s->get());
    }
    out = std::move(paths);
    return std::nullopt;
  }

  std::string source_;
};

}  // namespace

Result<Config> parse(std::string_view text, std::string_view source_name) {
  return Parser(source_name).parse(text);
}

Result<Config> load(const std::string& path, bool default_path_optional) {
  auto fail = [&](int err) {
    return Error{WbemStatus::kInvalidParameter, "cannot read " + path + ": " + std::strerror(err),
                 std::nullopt};
  };
  os::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    int err = errno;
    if (err == ENOENT && default_path_optional && path == kDefaultPath) return Config{};
    return fail(err);
  }
  std::string text;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(errno);
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxFileBytes) {
      return Error{WbemStatus::kInvalidParameter,
                   "cannot read " + path + ": larger than " +
                       std::to_string(kMaxFileBytes / (1024 * 1024)) + " MiB",
                   std::nullopt};
    }
  }
  fd.reset();
  return parse(text, path);
}

}  // namespace lwmi::config
