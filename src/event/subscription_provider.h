// event/subscription_provider.h — LWMI_EventSubscription: lwmid's event subscriptions as
// instances, so that a user can find the ones it holds (`lwmic list LWMI_EventSubscription`) and
// end one (`lwmic delete LWMI_EventSubscription.Id="uuid:…"`, WS-Man Delete = Unsubscribe).
// A caller sees and deletes only its own (SubscriptionManager's ownership: uid and pid
// namespace); another's is "not found" to it, so ids are not revealed by probing.
// Thread safety: as SubscriptionManager.
#pragma once

#include "event/subscription_manager.h"
#include "provider/provider.h"

namespace lwmi::event {

class SubscriptionProvider : public provider::InstanceProvider {
 public:
  explicit SubscriptionProvider(SubscriptionManager& manager);
  std::shared_ptr<const ClassDecl> class_decl() const override { return cls_; }
  std::unique_ptr<InstanceStream> enumerate(const security::Caller& caller,
                                            const provider::Request& request) override;
  Result<Instance> get(const security::Caller& caller, const ObjectPath& path,
                       const provider::Request& request) override;
  /// DeleteInstance: unsubscribes (audited). WBEM_E_NOT_FOUND for another's or an unknown id.
  Result<void> remove(const security::Caller& caller, const ObjectPath& path);

 private:
  Instance instance(const SubscriptionInfo& info) const;
  Result<std::string> id_of(const ObjectPath& path) const;

  SubscriptionManager& manager_;
  std::shared_ptr<const ClassDecl> cls_;
};

}  // namespace lwmi::event
