// service/cim_service.h — the CIM service: namespace and class dispatch to providers.
//
// One engine serves every front end: embedded mode in lwmic / liblwmi, and (later) lwmid. It
// validates object paths and class names, maps a superclass request to the concrete classes
// beneath it, and hands each call, with its Caller, to the provider of the class.
// Thread safety: safe to call concurrently.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "lwmi/instance.h"
#include "lwmi/instance_stream.h"
#include "lwmi/method.h"
#include "lwmi/result.h"
#include "os/proc_fs.h"
#include "os/system_info.h"
#include "provider/event_source_provider.h"
#include "provider/process/process_provider.h"
#include "security/audit.h"
#include "security/caller.h"
#include "service/provider_registry.h"
#include "wql/ast.h"

namespace lwmi::service {

class CimService {
 public:
  CimService(config::Config config, os::ProcFs fs, os::SystemInfo sys);
  // The registry points at the service's own providers.
  CimService(const CimService&) = delete;
  CimService& operator=(const CimService&) = delete;

  /// Namespaces: root\\cimv2 and root\\subscription (and any a served class declares). A path,
  /// class or query that names a namespace must name its class's (else WBEM_E_INVALID_CLASS:
  /// "class X is in root\\subscription, not root\\cimv2"); one without finds the class wherever
  /// it is. Instances carry their class's namespace (__NAMESPACE, __PATH).

  /// An instance by path text. Errors: WBEM_E_INVALID_OBJECT_PATH, WBEM_E_INVALID_NAMESPACE,
  /// WBEM_E_INVALID_CLASS, WBEM_E_NOT_FOUND, WBEM_E_INVALID_PROPERTY.
  Result<Instance> get_object(const security::Caller& caller, std::string_view path,
                              const std::vector<std::string>& properties);
  /// Every instance of `class_name` and its subclasses; `ns` ("" = any) must hold the class.
  Result<std::unique_ptr<InstanceStream>> enumerate(const security::Caller& caller,
                                                    std::string_view class_name,
                                                    const std::vector<std::string>& properties,
                                                    std::string_view ns = {});
  /// Runs a WQL data query: results stream, each keeping its identity for a later method call.
  /// The WHERE clause is evaluated on each process before its other properties are read. `ns`
  /// ("" = any) must hold the queried class.
  /// The schema query `SELECT * FROM meta_class [WHERE …]` answers a class object
  /// (Instance::class_object) for each class of `ns` ("" = root\\cimv2), in name order; its
  /// WHERE may test __CLASS, __SUPERCLASS, __DYNASTY, __PROPERTY_COUNT and `__THIS ISA 'Class'`
  /// (the class or a subclass of it); any other name is WBEM_E_INVALID_QUERY.
  Result<std::unique_ptr<InstanceStream>> exec_query(const security::Caller& caller,
                                                     std::string_view wql,
                                                     std::string_view language = "WQL",
                                                     std::string_view ns = {});
  /// Calls a method on the instance (or, for a static method, the class) `path` names.
  /// WBEM_E_INVALID_METHOD for an unknown method, WBEM_E_INVALID_METHOD_PARAMETERS for an
  /// unknown in-parameter; a value that does not convert to its parameter's type is
  /// ReturnValue 21. Every state-changing call is audited, whatever its outcome.
  /// `what_if`: what the call would return, nothing done and nothing audited (Terminate only:
  /// see ProcessProvider::invoke).
  Result<MethodResult> exec_method(const security::Caller& caller, std::string_view path,
                                   std::string_view method, const Parameters& in,
                                   bool what_if = false);
  /// DeleteInstance: for Win32_Process, Terminate. ReturnValue 2/3 become WBEM_E_ACCESS_DENIED.
  /// WBEM_E_PROVIDER_NOT_CAPABLE for a read-only class (LWMI_EventSource).
  Result<MethodResult> delete_instance(const security::Caller& caller, std::string_view path);
  /// CreateInstance of the class `class_path` names ("Class", or "root\\subscription:Class"):
  /// property values by name, as exec_method takes in-parameters (a string converts to the
  /// declared type, a repeated name appends to an array, a NULL stays NULL). The Instance, in its
  /// class's namespace, goes to the served class's creator; the result is the new instance's
  /// path (with its namespace). Errors: WBEM_E_INVALID_NAMESPACE / WBEM_E_INVALID_CLASS,
  /// WBEM_E_INVALID_OBJECT_PATH (a path with keys), WBEM_E_INVALID_PROPERTY (unknown name),
  /// WBEM_E_TYPE_MISMATCH (a value that does not convert), WBEM_E_PROVIDER_NOT_CAPABLE (the
  /// class has no creator), else the creator's. Audited as "CreateInstance", whatever the
  /// outcome.
  Result<ObjectPath> create_instance(const security::Caller& caller, std::string_view class_path,
                                     const Parameters& properties);
  /// A class declaration, in `ns` ("" = wherever it is). WBEM_E_INVALID_NAMESPACE for a
  /// namespace that does not exist, WBEM_E_INVALID_CLASS for a class that is not there.
  Result<std::shared_ptr<const ClassDecl>> get_class(std::string_view class_name,
                                                     std::string_view ns = {}) const;
  /// The classes of namespace `ns` (built-in and served), in name order.
  std::vector<std::shared_ptr<const ClassDecl>> classes_in(std::string_view ns) const;
  /// Checks a path's server is this host and its namespace (if any) exists.
  Result<void> check_location(const ObjectPath& path) const;
  /// True when `ns` is a namespace this service has.
  bool has_namespace(std::string_view ns) const;

  using Remover = service::Remover;
  using Creator = service::Creator;
  using ServedOps = service::ServedOps;
  /// Serves one more class beside the engine's own (lwmid: LWMI_EventSubscription, the
  /// root\\subscription classes): get, enumerate, queries, DeleteInstance and CreateInstance go
  /// to `p` and `ops`. Its namespace is its ClassDecl's. Before serving starts.
  void serve(std::shared_ptr<provider::InstanceProvider> p, ServedOps ops);
  void serve(std::shared_ptr<provider::InstanceProvider> p, Remover remove) {
    serve(std::move(p), ServedOps{std::move(remove), nullptr});
  }

  const config::Config& config() const { return config_; }
  const os::SystemInfo& system() const { return processes_.system(); }
  provider::process::ProcessProvider& processes() { return processes_; }
  /// The audit log every front end writes to (refused logins, state changes).
  security::AuditLog& audit() { return audit_; }
  /// Audits a call of `method` refused before it ran (its path, method or parameters invalid,
  /// or not allowed), with its parameters; nothing for a method that only reads. The service
  /// and the front ends (a resource URI or selectors that name no instance) use it alike.
  void audit_refused_call(const security::Caller& caller, std::string_view path,
                          std::string_view method, const Parameters& in, const Error& error);

 private:
  /// The class a path names, in the path's namespace when it has one.
  Result<std::shared_ptr<const ClassDecl>> class_of(const ObjectPath& path) const;
  Result<std::unique_ptr<InstanceStream>> meta_class_query(const wql::Query& query,
                                                           std::string_view ns) const;
  Result<provider::Request> request_for(const ClassDecl& requested,
                                        const std::vector<std::string>& properties) const;

  config::Config config_;
  provider::process::ProcessProvider processes_;
  provider::EventSourceProvider event_sources_;  ///< LWMI_EventSource
  security::AuditLog audit_;
  /// Which provider answers for a class: event sources, served classes (serve(); unchanged
  /// once serving), processes.
  ProviderRegistry registry_;
  /// The served classes, in the order they were served.
  std::vector<const ProviderRegistry::Entry*> served() const;
};

}  // namespace lwmi::service
