// config/config.h — lwmi's configuration file (TOML), shared by lwmid and the embedded engine.
//
// Default location /etc/lwmi/lwmid.conf. Every key is documented in docs/config.md and in
// etc/lwmid.conf with its default. Unknown tables or keys, and values of the wrong type or out of
// range, are errors that name the file, the line and the key; nothing is silently ignored.
// Thread safety: Config is a plain value; load once and share read-only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lwmi/result.h"

namespace lwmi::config {

inline constexpr std::string_view kDefaultPath = "/etc/lwmi/lwmid.conf";

struct ServerConfig {
  std::string socket = "/run/lwmi/lwmid.sock";  ///< [server] socket; "" disables
  std::string http = "127.0.0.1:5985";          ///< [server] http; "" disables
  std::string https = "0.0.0.0:5986";           ///< [server] https; "" disables
  std::string state_dir = "/var/lib/lwmi";      ///< [server] state_dir
  std::string certificate;                      ///< [server] certificate (PEM); "" = generated
  std::string private_key;                      ///< [server] private_key (PEM)
  bool allow_basic_over_http = false;  ///< [server] Basic on non-loopback plain HTTP (not advised)
  uint32_t max_connections = 512;      ///< [server] open connections in all (+16 for root)
  uint32_t max_connections_per_user = 32;  ///< [server] per Unix uid and per TCP address
  uint32_t idle_timeout = 30;  ///< [server] seconds a connection may wait for its next request
};

struct SecurityConfig {
  std::string remote_group = "lwmi";        ///< [security] remote_group: may connect remotely
  std::string admin_group = "lwmi-admins";  ///< [security] admin_group: holds SeDebugPrivilege
  std::string pam_service = "lwmi";         ///< [security] pam_service
  /// [security] protected_processes: process names (Name property) that Terminate refuses with 3
  /// for every caller, besides PID 1, kernel threads and lwmi itself.
  std::vector<std::string> protected_processes;
  bool remote_create = false;  ///< [security] remote_create: may remote callers use Create
};

struct MethodsConfig {
  /// [methods] debugger_command: AttachDebugger's command, "%pid%" replaced; "" = not supported.
  std::string debugger_command;
  /// [methods] terminate_wait_ms: how long Terminate waits to see the process exit.
  uint32_t terminate_wait_ms = 2000;
};

struct AuditConfig {
  std::string file;     ///< [audit] file: also append audit lines here; "" = journal only
  bool journal = true;  ///< [audit] journal: send audit lines to the systemd journal
};

/// [events]: lwmid's event subscriptions (WS-Eventing, Pull delivery).
struct EventsConfig {
  uint32_t max_subscription_expiry = 3600;     ///< seconds: cap on the lease a client asks for
  uint32_t default_subscription_expiry = 600;  ///< seconds: the lease when the client asks none
  uint32_t queue_size = 1000;                  ///< events queued per subscription
  uint32_t max_subscriptions_per_user = 16;
  uint32_t max_subscriptions = 256;  ///< in all
  uint32_t max_pull_wait = 300;      ///< seconds: cap on a Pull's OperationTimeout
};

/// [requests]: what one request, and one user's requests, may take of lwmid.
struct RequestsConfig {
  /// [requests] time_limit_ms: how long one request may run on its worker; a query still
  /// running then ends with WBEM_E_QUOTA_VIOLATION.
  uint32_t time_limit_ms = 10000;
  /// [requests] max_per_user: requests of one user served at once (lwmid has 4 workers, so the
  /// default 3 always leaves one for other users); more wait, holding no worker.
  uint32_t max_per_user = 3;
};

/// [guard]: the exec guard, the kernel rules a `watch … --terminate` whose filter the kernel can
/// decide installs (event/exec_guard.h).
struct GuardConfig {
  bool enabled = true;  ///< [guard] enabled: false = no kernel rule is ever installed
  /// [guard] breaker_per_second: a rule that blocks more starts than this in one second trips
  /// (blocks nothing more until its subscription ends), in case it was written too wide.
  uint32_t breaker_per_second = 50;
  /// [guard] protected_programs: absolute paths of programs no rule ever blocks (the file found
  /// there, by device and inode), besides lwmid itself and PID 1.
  std::vector<std::string> protected_programs;
};

/// [subscriptions]: permanent event subscriptions (root\\subscription) and their consumers.
struct SubscriptionsConfig {
  /// [subscriptions] directory: *.toml files of filters, consumers and bindings (root-owned).
  std::string directory = "/etc/lwmi/subscriptions.d";
  /// [subscriptions] log_directory: the root-owned directory LogFileEventConsumer files live in.
  std::string log_directory = "/var/log/lwmi";
  /// [subscriptions] command_user: the account CommandLineEventConsumer programs run as (never
  /// root).
  std::string command_user = "nobody";
  uint32_t max_concurrent_commands = 4;  ///< [subscriptions] commands running at once
  uint32_t max_queued_commands = 64;     ///< [subscriptions] commands waiting; more fail
  uint32_t command_timeout = 60;  ///< [subscriptions] seconds: cap on KillTimeout (and 0's value)
  /// [subscriptions] breaker_failures: a consumer failing this many times in a row stops
  /// (its binding's State is "tripped") until the next reload or restart.
  uint32_t breaker_failures = 10;
};

struct Config {
  ServerConfig server;
  SecurityConfig security;
  MethodsConfig methods;
  AuditConfig audit;
  EventsConfig events;
  RequestsConfig requests;
  GuardConfig guard;
  SubscriptionsConfig subscriptions;
  std::string source;  ///< the file it came from, or "" for built-in defaults
};

/// Parses TOML text; `source_name` is used in error messages ("lwmid.conf:12: …").
Result<Config> parse(std::string_view text, std::string_view source_name);
/// Loads a file. A missing file is an error, except at kDefaultPath when `default_path_optional`
/// is true, in which case the defaults are returned.
Result<Config> load(const std::string& path, bool default_path_optional = true);

}  // namespace lwmi::config
