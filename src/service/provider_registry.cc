#include "service/provider_registry.h"

#include <algorithm>

#include "base/strings.h"

namespace lwmi::service {

std::string ProviderRegistry::key(std::string_view name) {
  return base::to_lower(name);
}

void ProviderRegistry::add(Role role, std::shared_ptr<provider::InstanceProvider> provider,
                           ServedOps ops) {
  entries_.push_back(std::make_unique<Entry>(Entry{role, std::move(provider), std::move(ops)}));
  const Entry* e = entries_.back().get();
  auto cls = e->provider->class_decl();
  std::vector<std::string> names = {cls->name};
  names.insert(names.end(), cls->derivation.begin(), cls->derivation.end());
  for (const auto& name : names) {
    auto& answerers = by_name_[key(name)];
    // After every entry of the same or an earlier role: a role's entries keep their order.
    auto at = std::upper_bound(answerers.begin(), answerers.end(), e,
                               [](const Entry* a, const Entry* b) { return a->role < b->role; });
    answerers.insert(at, e);
  }
}

const ProviderRegistry::Entry* ProviderRegistry::find(std::string_view class_name) const {
  auto it = by_name_.find(key(class_name));
  return it == by_name_.end() ? nullptr : it->second.front();
}

const ProviderRegistry::Entry* ProviderRegistry::find(std::string_view class_name,
                                                      Role role) const {
  auto it = by_name_.find(key(class_name));
  if (it == by_name_.end()) return nullptr;
  for (const Entry* e : it->second)
    if (e->role == role) return e;
  return nullptr;
}

std::vector<const ProviderRegistry::Entry*> ProviderRegistry::entries() const {
  std::vector<const Entry*> out;
  for (const auto& e : entries_) out.push_back(e.get());
  std::stable_sort(out.begin(), out.end(),
                   [](const Entry* a, const Entry* b) { return a->role < b->role; });
  return out;
}

}  // namespace lwmi::service
