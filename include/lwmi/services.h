// lwmi/services.h — the client API: connect to a host's CIM service and use it.
//
// Shaped after WMI's COM API, made idiomatic C++:
//   auto services = lwmi::Locator::connect();            // the local host
//   services.value()->privileges().enable("SeDebugPrivilege");
//   auto p = services.value()->get_object("Win32_Process.Handle=\"1234\"");
//   auto s = services.value()->enumerate_instances("Win32_Process", {"Name", "ProcessId"});
//   lwmi::Instance i; while (s.value()->next(&i)) { ... }
// With no daemon reachable on the local host, the engine runs in the caller's own process with
// the caller's own rights ("embedded mode"). Other hosts (node "host", "host:port", an
// https:// or http:// URL, or "unix:/path") are reached over WS-Management.
// Thread safety: a Services object may be used from one thread at a time; streams it returns
// are independent of each other.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lwmi/instance.h"
#include "lwmi/instance_stream.h"
#include "lwmi/method.h"
#include "lwmi/result.h"

namespace lwmi {

struct ConnectOptions {
  std::string node = ".";  ///< "." (or empty) for the local host
  /// The namespace paths, classes and queries without a namespace of their own are in:
  /// "root\\cimv2" or "root\\subscription"; "" = wherever the class named is.
  std::string namespace_path = "root\\cimv2";
  std::string config_path;  ///< "" = /etc/lwmi/lwmid.conf when it exists
  std::string user;         ///< remote connections only
  std::string password;
  /// lwmid's Unix socket for the local host ("" = /run/lwmi/lwmid.sock, used when it accepts a
  /// connection, else the engine runs embedded; a socket named here must answer).
  std::string socket;
  /// Remote HTTPS: a PEM CA file to verify the host's certificate against ("" = pin the
  /// certificate on first use, as ssh does, in known_hosts_file).
  std::string ca_file;
  /// Pinned certificates, lines "host:port SHA256:AA:BB:…" ("" = $HOME/.config/lwmi/known_hosts).
  std::string known_hosts_file;
  /// Run the engine in this process even when lwmid runs (local host only).
  bool embedded_only = false;
  /// Remote: the longest wait for a connection (name resolution, TCP connect and the TLS
  /// handshake together), in ms; 0 = no limit. Past it the host is "cannot reach".
  int connect_timeout_ms = 0;
  /// Remote: the longest wait for one request's answer, in ms; 0 = no limit. Past it the call
  /// fails with WBEM_E_TIMED_OUT ("no answer from host:port within …").
  int operation_timeout_ms = 0;
};

class Services;

/// A stream of events from exec_notification_query (WMI's NextEvent).
/// lwmi's additions to an event subscription (exec_notification_query).
struct NotificationOptions {
  /// Asks for the exec guard: where the kernel can decide the query's filter (Name,
  /// ExecutablePath, ProcessName: equality, IN, OR), it becomes rules that kill a matching
  /// program at its exec, before its first instruction, for as long as the stream lives. Only
  /// the admin group may install them, and a rule reaches other users' programs only with
  /// SeDebugPrivilege held and enabled (else it is restricted to the caller's own). A blocked
  /// program arrives as an LWMI_ProcessBlockedTrace instead of its creation event. A filter the
  /// kernel cannot decide keeps every event as it is (guard_status() says why): the caller
  /// ends such processes itself, with Terminate.
  bool guard = false;
  /// With guard: rules also apply in the caller's own session. By default they never block a
  /// program started in the session that asked for them, so an admin cannot lock themselves
  /// out of their own shell.
  bool guard_own_session = false;
};

/// What became of NotificationOptions::guard.
struct GuardStatus {
  bool requested = false;
  bool active = false;  ///< kernel rules are installed
  /// Active, but the rule's breaker opened (it blocked more starts per second than lwmid's
  /// [guard] breaker_per_second): it blocks nothing more; matching processes arrive as
  /// creation events again, for the caller to Terminate.
  bool tripped = false;
  std::string summary;  ///< active: what they block, e.g. "file name 'x' or comm 'x'"
  std::string refusal;  ///< requested but not active: why (not decidable, not permitted, no BPF)
};

class EventStream {
 public:
  virtual ~EventStream() = default;
  /// Waits up to timeout_ms (-1: forever) for the next event; false on timeout.
  virtual Result<bool> next(Instance* event, int timeout_ms) = 0;
  /// Makes a next() waiting in another thread return false (as on a timeout) soon, without
  /// waiting out its timeout, e.g. when its consumer is going away. Any thread may call it. The
  /// default does nothing: next() returns when its timeout ends. A stream over lwmid's Unix
  /// socket abandons its waiting Pull by closing that connection, which ends the subscription
  /// there (lwmid ends a subscription whose connection closed): interrupt it to stop using it.
  virtual void interrupt() {}
  /// Kernel events known lost (each answered by a rescan of /proc, so late creations still come);
  /// over WS-Man, the count lwmid reports for its stream.
  virtual uint64_t lost() const { return 0; }
  /// Events a server dropped because this consumer's queue overflowed (they never come;
  /// WMI's WBEM_E_QUEUE_OVERFLOW). Only remote streams drop events.
  virtual uint64_t dropped() const { return 0; }
  /// What became of NotificationOptions::guard for this stream.
  virtual GuardStatus guard_status() const { return {}; }
  /// The state of the stream's event source, as an LWMI_EventSource instance (Source = "netlink"
  /// or "proc-poll", EventsReceived, Overruns, SequenceGaps, Rescans…), where the stream knows it.
  virtual std::optional<Instance> source_state() const { return std::nullopt; }
};

/// The privileges of a connection (WMI's SWbemPrivilegeSet): enable one the account holds.
class Privileges {
 public:
  explicit Privileges(Services* services) : services_(services) {}
  /// Enables "SeDebugPrivilege" (or "Debug")… WBEM_E_PRIVILEGE_NOT_HELD, changing nothing, when
  /// the account does not hold it; WBEM_E_INVALID_PARAMETER for an unknown name.
  Result<void> enable(std::string_view name);
  /// Enables every privilege the account holds, as wmic does by default (/privileges:enable);
  /// the ones not held are left as they are, without a refusal (none was asked for by name).
  Result<void> enable_held();

 private:
  Services* services_;
};

class Services {
 public:
  virtual ~Services() = default;

  /// An instance by object path; `properties` limits what is read (empty = all).
  virtual Result<Instance> get_object(std::string_view path,
                                      const std::vector<std::string>& properties = {}) = 0;
  /// Every instance of a class (and its subclasses), streamed.
  virtual Result<std::unique_ptr<InstanceStream>> enumerate_instances(
      std::string_view class_name, const std::vector<std::string>& properties = {}) = 0;
  /// Runs a WQL data query (SELECT … FROM … WHERE …); results stream, and each keeps its
  /// identity so it can be the target of exec_method. Errors carry the position in `wql`.
  virtual Result<std::unique_ptr<InstanceStream>> exec_query(std::string_view wql,
                                                             std::string_view language = "WQL") = 0;
  /// Subscribes to an event query (SELECT * FROM __InstanceCreationEvent WHERE TargetInstance
  /// ISA 'Win32_Process' …); events stream as they happen. Not every connection serves events.
  virtual Result<std::unique_ptr<EventStream>> exec_notification_query(
      std::string_view wql, const NotificationOptions& options = {}) {
    (void)options;
    return Error{WbemStatus::kNotSupported, "this connection does not deliver events yet"};
  }
  /// A class declaration: its properties (types, units, Key, Read…), methods (parameters,
  /// ValueMap/Values of their return codes) and ancestry. Remote: asked of the host (WS-Man
  /// GetClass, with one more request per ancestor for __DERIVATION), so it is the host's schema.
  virtual Result<std::shared_ptr<const ClassDecl>> get_class(std::string_view class_name) = 0;
  /// The classes of a namespace ("" = the connection's, root\\cimv2 when it names none), in
  /// name order, as the schema query SELECT * FROM meta_class answers them, so a remote host
  /// lists its own. Remote classes this build does not know have their name, ancestry and
  /// property names only: get_class() gives the whole declaration.
  /// WBEM_E_INVALID_NAMESPACE for a namespace the host does not have.
  Result<std::vector<std::shared_ptr<const ClassDecl>>> enumerate_classes(
      std::string_view namespace_path = {});
  /// Calls `method` on the instance `path` names (for a static method such as Create, on the
  /// class). The ReturnValue is in the result; an Error only when the call could not be made.
  virtual Result<MethodResult> exec_method(std::string_view path, std::string_view method,
                                           const Parameters& in = {}) = 0;
  /// Calls `method` on an instance this connection returned: its identity (Handle and
  /// CreationDate) is checked, so a pid reused since the instance was read is never touched.
  Result<MethodResult> exec_method(const Instance& target, std::string_view method,
                                   const Parameters& in = {}) {
    return exec_method(target.identity().to_string(), method, in);
  }
  /// What exec_method would return, without doing it (lwmic --dry-run): the ReturnValue and
  /// notes of the service's own checks (for Terminate: 0, or 2/3 and why); nothing is done or
  /// audited. For an unprivileged caller the kernel, which is not asked, has the last word.
  /// WBEM_E_NOT_SUPPORTED for a method other than Terminate, or where the service cannot say.
  virtual Result<MethodResult> exec_method_what_if(std::string_view path, std::string_view method,
                                                   const Parameters& in = {}) {
    (void)path, (void)method, (void)in;
    return Error{WbemStatus::kNotSupported, "this connection cannot tell what a call would do"};
  }
  /// Deletes an instance: for a process, Terminate. WBEM_E_ACCESS_DENIED when refused.
  virtual Result<MethodResult> delete_instance(std::string_view path) = 0;
  /// CreateInstance (WMI's PutInstance with WBEM_FLAG_CREATE_ONLY) of `class_name` ("Class" or
  /// "root\\subscription:Class") with these property values, keys included: a string converts
  /// to the declared type, a repeated name makes an array, a NULL value is NULL. Returns the new
  /// instance's path. WBEM_E_PROVIDER_NOT_CAPABLE for a class not made this way (a process is
  /// made by Win32_Process.Create), WBEM_E_ALREADY_EXISTS for a key that is taken.
  virtual Result<ObjectPath> create_instance(std::string_view class_name,
                                             const Parameters& properties) = 0;

  /// The connection's privilege set.
  Privileges& privileges() { return privileges_; }
  /// True when the engine runs in this process (no daemon).
  virtual bool embedded() const = 0;
  /// The host this connection reaches ("." style names resolved to the host name).
  virtual std::string host() const = 0;
  /// What the caller should be told about the connection, e.g. "recorded the certificate of
  /// host:5986 (SHA256:…)" when a host's certificate was pinned on first use.
  virtual std::vector<std::string> notes() const { return {}; }

 protected:
  friend class Privileges;
  virtual Result<void> enable_privilege(std::string_view name) = 0;
  virtual Result<void> enable_held_privileges() = 0;
  /// exec_query() in namespace `ns` ("" = the connection's, as exec_query()).
  virtual Result<std::unique_ptr<InstanceStream>> exec_query_in(std::string_view ns,
                                                                std::string_view wql) = 0;

 private:
  Privileges privileges_{this};
};

class Locator {
 public:
  /// Connects to `options.node`: the local host runs embedded until a daemon is reachable.
  static Result<std::unique_ptr<Services>> connect(const ConnectOptions& options = {});
};

}  // namespace lwmi
