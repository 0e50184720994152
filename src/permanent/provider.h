// permanent/provider.h — root\subscription's classes as instances: __EventFilter, the
// consumers (__EventConsumer and its subclasses), __FilterToConsumerBinding, and
// LWMI_SubscriptionState (what the engine made of each binding). Get, enumerate and queries go
// through these providers; CreateInstance and DeleteInstance through create() and remove().
//
// Only the admin group ([security] admin_group: SeDebugPrivilege held) reads, creates or deletes
// them: they hold command lines and make root act; others are refused with
// WBEM_E_ACCESS_DENIED. Each change is audited by the service.
// Thread safety: as Store and Engine.
#pragma once

#include <memory>
#include <vector>

#include "lwmi/instance.h"
#include "lwmi/object_path.h"
#include "permanent/engine.h"
#include "permanent/store.h"
#include "provider/provider.h"
#include "security/audit.h"

namespace lwmi::permanent {

class PermanentProvider : public provider::InstanceProvider {
 public:
  enum class Kind { kFilter, kConsumer, kBinding, kState };
  /// `engine` may be null (no LWMI_SubscriptionState rows then). `cls`: the class served (for
  /// kConsumer: one consumer class, or __EventConsumer for all of them).
  PermanentProvider(Kind kind, Store& store, const Engine* engine, std::string_view cls);
  std::shared_ptr<const ClassDecl> class_decl() const override { return cls_; }
  std::unique_ptr<InstanceStream> enumerate(const security::Caller& caller,
                                            const provider::Request& request) override;
  Result<Instance> get(const security::Caller& caller, const ObjectPath& path,
                       const provider::Request& request) override;

 private:
  std::vector<Instance> instances() const;

  Kind kind_;
  Store& store_;
  const Engine* engine_;
  std::shared_ptr<const ClassDecl> cls_;
};

/// The providers of every class, for CimService::serve, in the order to serve them
/// (__EventConsumer before its subclasses, so that a query on it reaches every consumer).
std::vector<std::shared_ptr<PermanentProvider>> make_providers(Store& store, const Engine* engine);

/// CreateInstance of a filter, consumer or binding: the admin group only; checked by the store
/// (WBEM_E_ALREADY_EXISTS, WBEM_E_INVALID_QUERY …). Returns the new instance's path.
Result<ObjectPath> create_instance(Store& store, const security::Caller& caller,
                                   const Instance& instance);
/// DeleteInstance by path (deleting a filter or consumer deletes its bindings), audited as
/// "DeleteInstance" to `audit` (if any) whatever the outcome.
Result<void> delete_instance(Store& store, const security::Caller& caller, const ObjectPath& path,
                             security::AuditLog* audit);

/// Instances of a definition (with __PATH identity, namespace root\subscription).
Instance filter_instance(const EventFilter& f);
Instance consumer_instance(const Consumer& c);
Instance binding_instance(const Binding& b);

}  // namespace lwmi::permanent
