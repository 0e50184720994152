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

namespace lwmi::service {

class CimService {
 public:
  CimService(config::Config config, os::ProcFs fs, os::SystemInfo sys);

  /// An instance by path text. Errors: WBEM_E_INVALID_OBJECT_PATH, WBEM_E_INVALID_NAMESPACE,
  /// WBEM_E_INVALID_CLASS, WBEM_E_NOT_FOUND, WBEM_E_INVALID_PROPERTY.
  Result<Instance> get_object(const security::Caller& caller, std::string_view path,
                              const std::vector<std::string>& properties);
  /// Every instance of `class_name` and its subclasses.
  Result<std::unique_ptr<InstanceStream>> enumerate(const security::Caller& caller,
                                                    std::string_view class_name,
                                                    const std::vector<std::string>& properties);
  /// Runs a WQL data query: results stream, each keeping its identity for a later method call.
  /// The WHERE clause is evaluated on each process before its other properties are read.
  Result<std::unique_ptr<InstanceStream>> exec_query(const security::Caller& caller,
                                                     std::string_view wql,
                                                     std::string_view language = "WQL");
  /// Calls a method on the instance (or, for a static method, the class) `path` names.
  /// WBEM_E_INVALID_METHOD for an unknown method, WBEM_E_INVALID_METHOD_PARAMETERS for an
  /// unknown in-parameter; a value that does not convert to its parameter's type is
  /// ReturnValue 21. Every state-changing call is audited, whatever its outcome.
  Result<MethodResult> exec_method(const security::Caller& caller, std::string_view path,
                                   std::string_view method, const Parameters& in);
  /// DeleteInstance: for Win32_Process, Terminate. ReturnValue 2/3 become WBEM_E_ACCESS_DENIED.
  /// WBEM_E_PROVIDER_NOT_CAPABLE for a read-only class (LWMI_EventSource).
  Result<MethodResult> delete_instance(const security::Caller& caller, std::string_view path);
  /// A class declaration; WBEM_E_INVALID_CLASS when unknown.
  Result<std::shared_ptr<const ClassDecl>> get_class(std::string_view class_name) const;
  /// Checks a path's server and namespace name this host's root\cimv2.
  Result<void> check_location(const ObjectPath& path) const;

  /// Deletes the instance a path names (for a served class).
  using Remover = std::function<Result<void>(const security::Caller&, const ObjectPath&)>;
  /// Serves one more class beside the engine's own (lwmid: LWMI_EventSubscription): get,
  /// enumerate, queries and DeleteInstance (through `remove`) go to `p`. Before serving starts.
  void serve(std::shared_ptr<provider::InstanceProvider> p, Remover remove);

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
  Result<provider::Request> request_for(const ClassDecl& requested,
                                        const std::vector<std::string>& properties) const;

  config::Config config_;
  provider::process::ProcessProvider processes_;
  provider::EventSourceProvider event_sources_;  ///< LWMI_EventSource
  security::AuditLog audit_;
  struct Served {
    std::shared_ptr<provider::InstanceProvider> provider;
    Remover remove;
  };
  std::vector<Served> served_;  ///< serve(); unchanged once serving
  /// The served class `cls` is (or derives from), if any.
  const Served* served_for(const ClassDecl& cls) const;
};

}  // namespace lwmi::service
