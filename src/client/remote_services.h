// client/remote_services.h — Services over WS-Management: lwmid's Unix socket, HTTPS or HTTP.
//
// Nodes: "unix:/run/lwmi/lwmid.sock" (identity from the socket's peer credentials, no password),
// "host" (https://host:5986/wsman), "host:port" (HTTPS), "[v6addr]:port", or a full URL
// "https://host:port/path" / "http://host:port/path" (plain HTTP: lwmid takes Basic over it only
// on loopback). Requests go over one net::HttpClient per Services (keep-alive, deadlines, and
// TLS verified with ConnectOptions.ca_file or pinned on first use in known_hosts).
// Errors: the client's own failures carry their ErrorKind (transport, timeout, certificate,
// authentication: see net/http_client.h); a SOAP fault gives its WBEM code as a kWbem Error.
// Thread safety: as Services; streams share the connection under a mutex.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lwmi/services.h"
#include "net/http_client.h"
#include "wsman/client_codec.h"

namespace lwmi::client {

inline constexpr const char* kDefaultSocket = "/run/lwmi/lwmid.sock";
inline constexpr uint16_t kHttpsPort = 5986;
inline constexpr uint16_t kHttpPort = 5985;

/// Where a node is.
using Endpoint = net::Endpoint;

/// Parses a node: "unix:PATH", "http(s)://HOST[:PORT][/PATH]", "HOST", "HOST:PORT", "[V6]:PORT".
Result<Endpoint> parse_node(std::string_view node);

/// True when a Unix socket at `path` accepts a connection (lwmid runs).
bool socket_accepts(const std::string& path);

/// $HOME/.config/lwmi/known_hosts (or the passwd entry's home when HOME is unset).
std::string default_known_hosts_file();

class RemoteServices : public Services {
 public:
  /// Connects to `options.node` and says hello (Identify), so that an unreachable host, bad
  /// credentials or a changed certificate fail here rather than on the first call.
  static Result<std::unique_ptr<RemoteServices>> connect(const ConnectOptions& options);
  ~RemoteServices() override;

  Result<Instance> get_object(std::string_view path,
                              const std::vector<std::string>& properties = {}) override;
  Result<std::unique_ptr<InstanceStream>> enumerate_instances(
      std::string_view class_name, const std::vector<std::string>& properties) override;
  Result<std::unique_ptr<InstanceStream>> exec_query(std::string_view wql,
                                                     std::string_view language) override;
  Result<std::shared_ptr<const ClassDecl>> get_class(std::string_view class_name) override;
  using Services::exec_method;
  Result<MethodResult> exec_method(std::string_view path, std::string_view method,
                                   const Parameters& in = {}) override;
  Result<MethodResult> exec_method_what_if(std::string_view path, std::string_view method,
                                           const Parameters& in = {}) override;
  Result<MethodResult> delete_instance(std::string_view path) override;
  Result<ObjectPath> create_instance(std::string_view class_name,
                                     const Parameters& properties) override;
  /// Subscribe (Pull delivery) + a Pull per next(); Unsubscribe when the stream is destroyed.
  Result<std::unique_ptr<EventStream>> exec_notification_query(
      std::string_view wql, const NotificationOptions& options = {}) override;
  bool embedded() const override { return false; }
  std::string host() const override { return host_; }
  std::vector<std::string> notes() const override;

  /// The product the server named in its IdentifyResponse ("lwmi 0.1.0").
  const std::string& product() const { return product_; }

 protected:
  Result<void> enable_privilege(std::string_view name) override;
  Result<void> enable_held_privileges() override;
  Result<std::unique_ptr<InstanceStream>> exec_query_in(std::string_view ns,
                                                        std::string_view wql) override;

 private:
  RemoteServices(std::shared_ptr<net::HttpClient> connection, Endpoint endpoint, std::string host,
                 std::string namespace_path);
  wsman::client::Common common() const;
  /// The namespace to name `cls` in: the path's own, else the connection's, else the one the
  /// built-in schema declares the class in (root\\cimv2 for a class it does not know).
  std::string namespace_for(std::string_view cls, std::string_view path_ns = {}) const;
  /// The WMI resource URI of `cls` in namespace_for().
  std::string uri_for(std::string_view cls, std::string_view path_ns = {}) const;
  /// `callers_query`: the filter is the caller's own WQL (a fault's position points into it).
  Result<std::unique_ptr<InstanceStream>> enumerate(const std::string& resource_uri,
                                                    const std::string& filter, bool callers_query);

  std::shared_ptr<net::HttpClient> connection_;
  Endpoint endpoint_;
  std::string host_;
  std::string namespace_;  ///< ConnectOptions::namespace_path ("" = the class's own)
  std::string product_;
  std::vector<std::string> privileges_;
};

}  // namespace lwmi::client
