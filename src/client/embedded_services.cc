#include "client/embedded_services.h"

#include "base/strings.h"
#include "client/remote_services.h"
#include "event/event_query.h"
#include "event/process_event_stream.h"
#include "os/proc_events.h"

namespace lwmi {

Result<std::vector<std::shared_ptr<const ClassDecl>>> Services::enumerate_classes(
    std::string_view namespace_path) {
  auto stream = exec_query_in(namespace_path, "SELECT * FROM meta_class");
  if (!stream.ok()) return stream.take_error();
  std::vector<std::shared_ptr<const ClassDecl>> out;
  Instance c;
  while ((*stream)->next(&c))
    if (c.is_class()) out.push_back(c.cls_ptr());
  if ((*stream)->error()) return *(*stream)->error();
  return out;
}

Result<void> Privileges::enable(std::string_view name) {
  return services_->enable_privilege(name);
}

Result<void> Privileges::enable_held() {
  return services_->enable_held_privileges();
}

Result<std::unique_ptr<Services>> Locator::connect(const ConnectOptions& options) {
  const std::string& node = options.node;
  bool url = node.rfind("unix:", 0) == 0 || node.rfind("http://", 0) == 0 ||
             node.rfind("https://", 0) == 0;
  bool local = !url && (node.empty() || node == "." || base::iequals(node, "localhost") ||
                        node == "127.0.0.1" || node == "::1");
  auto remote = [](const ConnectOptions& o) -> Result<std::unique_ptr<Services>> {
    auto r = client::RemoteServices::connect(o);
    if (!r.ok()) return r.take_error();
    return std::unique_ptr<Services>(std::move(*r));
  };
  if (!local) return remote(options);
  if (!options.user.empty() || !options.password.empty())
    return Error{WbemStatus::kLocalCredentials,
                 "user credentials cannot be used for local connections"};
  // The local host: lwmid over its Unix socket when it runs (a socket named explicitly must
  // answer), else the engine in this process.
  if (!options.embedded_only) {
    std::string sock = options.socket.empty() ? client::kDefaultSocket : options.socket;
    if (!options.socket.empty() || client::socket_accepts(sock)) {
      ConnectOptions o = options;
      o.node = "unix:" + sock;
      return remote(o);
    }
  }
  auto cfg = options.config_path.empty()
                 ? config::load(std::string(config::kDefaultPath), /*default_path_optional=*/true)
                 : config::load(options.config_path, /*default_path_optional=*/false);
  if (!cfg.ok()) return cfg.take_error();
  auto svc = std::make_unique<service::CimService>(std::move(*cfg), os::ProcFs("/proc"),
                                                   os::SystemInfo::live());
  // The caller runs this process: it hears once where the audit lines of the run go when a
  // configured destination does not take them (no journal, a file it may not write), not once
  // per line.
  svc->audit().tell_once();
  if (!options.namespace_path.empty() && !svc->has_namespace(options.namespace_path))
    return Error{WbemStatus::kInvalidNamespace,
                 "namespace '" + options.namespace_path +
                     "' does not exist (lwmi serves root\\cimv2 and root\\subscription)"};
  return std::unique_ptr<Services>(std::make_unique<client::EmbeddedServices>(
      std::move(svc), security::Caller::current_process(), options.namespace_path));
}

namespace client {

EmbeddedServices::EmbeddedServices(std::unique_ptr<service::CimService> service,
                                   security::Caller caller, std::string namespace_path)
    : service_(std::move(service)),
      caller_(std::move(caller)),
      namespace_(std::move(namespace_path)) {}

Result<void> EmbeddedServices::check_namespace(std::string_view path) const {
  if (namespace_.empty()) return {};
  auto p = ObjectPath::parse(path);
  // A malformed path, or one naming its own namespace, is the service's to judge.
  if (!p.ok() || !p->namespace_path.empty() || p->class_name.empty()) return {};
  if (!service_->get_class(p->class_name).ok()) return {};  // unknown: the service says so
  auto here = service_->get_class(p->class_name, namespace_);
  if (!here.ok()) return here.take_error();
  return {};
}

Result<Instance> EmbeddedServices::get_object(std::string_view path,
                                              const std::vector<std::string>& properties) {
  if (auto ns = check_namespace(path); !ns.ok()) return ns.take_error();
  return service_->get_object(caller_, path, properties);
}

Result<std::unique_ptr<InstanceStream>> EmbeddedServices::enumerate_instances(
    std::string_view class_name, const std::vector<std::string>& properties) {
  return service_->enumerate(caller_, class_name, properties, namespace_);
}

Result<std::shared_ptr<const ClassDecl>> EmbeddedServices::get_class(std::string_view name) {
  return service_->get_class(name, namespace_);
}

Result<std::unique_ptr<InstanceStream>> EmbeddedServices::exec_query(std::string_view wql,
                                                                     std::string_view language) {
  return service_->exec_query(caller_, wql, language, namespace_);
}

Result<std::unique_ptr<InstanceStream>> EmbeddedServices::exec_query_in(std::string_view ns,
                                                                        std::string_view wql) {
  return service_->exec_query(caller_, wql, "WQL", ns.empty() ? std::string_view(namespace_) : ns);
}

Result<MethodResult> EmbeddedServices::exec_method(std::string_view path, std::string_view method,
                                                   const Parameters& in) {
  if (auto ns = check_namespace(path); !ns.ok()) {
    service_->audit_refused_call(caller_, path, method, in, ns.error());
    return ns.take_error();
  }
  return service_->exec_method(caller_, path, method, in);
}

Result<MethodResult> EmbeddedServices::exec_method_what_if(std::string_view path,
                                                           std::string_view method,
                                                           const Parameters& in) {
  if (auto ns = check_namespace(path); !ns.ok()) return ns.take_error();
  return service_->exec_method(caller_, path, method, in, /*what_if=*/true);
}

Result<MethodResult> EmbeddedServices::delete_instance(std::string_view path) {
  if (auto ns = check_namespace(path); !ns.ok()) {
    service_->audit_refused_call(caller_, path, "DeleteInstance", {}, ns.error());
    return ns.take_error();
  }
  return service_->delete_instance(caller_, path);
}

Result<ObjectPath> EmbeddedServices::create_instance(std::string_view class_name,
                                                     const Parameters& properties) {
  if (auto ns = check_namespace(class_name); !ns.ok()) {
    service_->audit_refused_call(caller_, class_name, "CreateInstance", properties, ns.error());
    return ns.take_error();
  }
  return service_->create_instance(caller_, class_name, properties);
}

Result<std::unique_ptr<EventStream>> EmbeddedServices::exec_notification_query(
    std::string_view wql, const NotificationOptions& options) {
  // BPF, else the netlink connector, else /proc polling (LWMI_EVENT_SOURCE=bpf, netlink or
  // proc-poll chooses, for tests). The exec guard where BPF loads here (root), with the
  // default [guard] settings.
  std::string why;
  event::ExecGuard* guard = options.guard ? event::embedded_exec_guard(&why) : nullptr;
  return event::open_process_events(service_->processes(), caller_, wql, options, guard, why);
}

Result<void> EmbeddedServices::enable_held_privileges() {
  for (auto p : security::kPrivileges)
    if (caller_.held.has(p)) caller_.enable(p);
  return {};
}

Result<void> EmbeddedServices::enable_privilege(std::string_view name) {
  auto p = security::parse_privilege(name);
  if (!p)
    return Error{WbemStatus::kInvalidParameter, "unknown privilege '" + std::string(name) +
                                                    "' (lwmi knows SeDebugPrivilege and "
                                                    "SeIncreaseBasePriorityPrivilege)"};
  if (!caller_.enable(*p)) {
    // Asking for a privilege not held changes nothing, and is audited (as lwmid does).
    security::AuditRecord rec;
    rec.action = "EnablePrivilege";
    rec.result = "refused";
    rec.params = std::string(security::privilege_name(*p));
    rec.detail = rec.params + " is not held";
    std::string problem = service_->audit().record(caller_, rec);
    return Error{WbemStatus::kPrivilegeNotHeld,
                 std::string(security::privilege_name(*p)) + " is not held by " +
                     (caller_.user.empty() ? "uid " + std::to_string(caller_.uid) : caller_.user) +
                     ": enabling it changes nothing" +
                     (problem.empty() ? std::string() : " (" + problem + ")")};
  }
  return {};
}

}  // namespace client
}  // namespace lwmi
