#include "event/subscription_provider.h"

#include "base/strings.h"
#include "cim/schema.h"

namespace lwmi::event {
namespace {

uint64_t whole_seconds(Millis m) {
  return static_cast<uint64_t>(m.count() / 1000);
}

}  // namespace

SubscriptionProvider::SubscriptionProvider(SubscriptionManager& manager)
    : manager_(manager), cls_(cim::Schema::builtin().find("LWMI_EventSubscription")) {}

Instance SubscriptionProvider::instance(const SubscriptionInfo& i) const {
  Instance inst(cls_);
  inst.set("Id", Value::string(i.id));
  inst.set("Query", Value::string(i.query));
  inst.set("User", i.user.empty() ? Value::null(CimType::kString) : Value::string(i.user));
  inst.set("UserId", Value::uint32(i.uid));
  inst.set("Peer", Value::string(i.peer));
  inst.set("LeaseSeconds", Value::uint64(whole_seconds(i.lease)));
  inst.set("ExpiresInSeconds", Value::uint64(whole_seconds(i.expires_in)));
  inst.set("Pulling", Value::boolean(i.pulling));
  inst.set("QueuedEvents", Value::uint64(i.queued));
  inst.set("DroppedEvents", Value::uint64(i.dropped));
  ObjectPath id;
  id.class_name = cls_->name;
  id.keys.push_back({"Id", Value::string(i.id)});
  inst.set_identity(std::move(id));
  return inst;
}

std::unique_ptr<InstanceStream> SubscriptionProvider::enumerate(const security::Caller& caller,
                                                                const provider::Request& request) {
  std::vector<Instance> out;
  for (const auto& info : manager_.list(caller)) {
    Instance inst = instance(info);
    if (request.filter && !request.filter([&](size_t i) { return inst.at(i); })) continue;
    out.push_back(std::move(inst));
  }
  return std::make_unique<provider::VectorStream>(std::move(out));
}

Result<std::string> SubscriptionProvider::id_of(const ObjectPath& path) const {
  if (path.keys.size() != 1 ||
      !(path.keys[0].name.empty() || base::iequals(path.keys[0].name, "Id")))
    return Error{
        WbemStatus::kInvalidObjectPath,
        "LWMI_EventSubscription is keyed by Id, e.g. LWMI_EventSubscription.Id=\"uuid:…\""};
  return path.keys[0].value.to_text();
}

Result<Instance> SubscriptionProvider::get(const security::Caller& caller, const ObjectPath& path,
                                           const provider::Request&) {
  auto id = id_of(path);
  if (!id.ok()) return id.take_error();
  for (const auto& info : manager_.list(caller))
    if (info.id == *id) return instance(info);
  return Error{WbemStatus::kNotFound, "you hold no event subscription '" + *id + "'"};
}

Result<void> SubscriptionProvider::remove(const security::Caller& caller, const ObjectPath& path) {
  auto id = id_of(path);
  if (!id.ok()) return id.take_error();
  // Another's subscription is refused by the manager (and audited there); to this caller it is
  // "not found", as it is when listing.
  auto r = manager_.unsubscribe(*id, caller);
  if (!r.ok() && r.error().code == WbemStatus::kAccessDenied)
    return Error{WbemStatus::kNotFound, "you hold no event subscription '" + *id + "'"};
  return r;
}

}  // namespace lwmi::event
