// client/embedded_services.h — Services backed by the in-process engine (embedded mode).
// Thread safety: as Services.
#pragma once

#include <memory>

#include "lwmi/services.h"
#include "service/cim_service.h"

namespace lwmi::client {

class EmbeddedServices : public Services {
 public:
  /// `namespace_path`: where paths, classes and queries without a namespace are ("" = anywhere).
  EmbeddedServices(std::unique_ptr<service::CimService> service, security::Caller caller,
                   std::string namespace_path = {});

  Result<Instance> get_object(std::string_view path,
                              const std::vector<std::string>& properties) override;
  Result<std::unique_ptr<InstanceStream>> enumerate_instances(
      std::string_view class_name, const std::vector<std::string>& properties) override;
  Result<std::shared_ptr<const ClassDecl>> get_class(std::string_view class_name) override;
  Result<std::unique_ptr<InstanceStream>> exec_query(std::string_view wql,
                                                     std::string_view language) override;
  using Services::exec_method;
  Result<MethodResult> exec_method(std::string_view path, std::string_view method,
                                   const Parameters& in) override;
  Result<MethodResult> exec_method_what_if(std::string_view path, std::string_view method,
                                           const Parameters& in) override;
  Result<MethodResult> delete_instance(std::string_view path) override;
  Result<ObjectPath> create_instance(std::string_view class_name,
                                     const Parameters& properties) override;
  Result<std::unique_ptr<EventStream>> exec_notification_query(
      std::string_view wql, const NotificationOptions& options = {}) override;
  bool embedded() const override { return true; }
  std::string host() const override { return service_->system().host; }

  const security::Caller& caller() const { return caller_; }
  service::CimService& service() { return *service_; }

 protected:
  Result<void> enable_privilege(std::string_view name) override;
  Result<void> enable_held_privileges() override;
  Result<std::unique_ptr<InstanceStream>> exec_query_in(std::string_view ns,
                                                        std::string_view wql) override;

 private:
  /// A path (or class) naming no namespace must name a class of the connection's namespace.
  Result<void> check_namespace(std::string_view path) const;

  std::unique_ptr<service::CimService> service_;
  security::Caller caller_;
  std::string namespace_;
};

}  // namespace lwmi::client
