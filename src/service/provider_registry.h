// service/provider_registry.h — which provider answers for a class, looked up by class name.
//
// Each provider serves its own class, and a request for an ancestor of it reaches it too (a
// query on CIM_Process returns Win32_Process's instances): the registry indexes every provider
// under its class's name and each of its ancestors' (ClassDecl::derivation), case-insensitively.
// When several providers answer for one name, the engine's event sources come first, then the
// served classes in the order they were served, then the processes.
// Thread safety: add() before serving starts; find() is then safe from any thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lwmi/instance.h"
#include "lwmi/object_path.h"
#include "lwmi/result.h"
#include "provider/provider.h"
#include "security/caller.h"

namespace lwmi::service {

/// Deletes the instance a path names (for a served class).
using Remover = std::function<Result<void>(const security::Caller&, const ObjectPath&)>;
/// Stores a new instance of a served class (its properties as the caller gave them, typed
/// and checked against the class) and returns its path (keys; the namespace is added).
using Creator = std::function<Result<ObjectPath>(const security::Caller&, const Instance&)>;
/// What a served class supports beyond get, enumerate and queries; an empty one is
/// WBEM_E_PROVIDER_NOT_CAPABLE.
struct ServedOps {
  Remover remove;  ///< DeleteInstance
  Creator create;  ///< CreateInstance
};

class ProviderRegistry {
 public:
  /// What a provider is to the service, in lookup order.
  enum class Role { kEventSources, kServed, kProcesses };
  struct Entry {
    Role role;
    std::shared_ptr<provider::InstanceProvider> provider;
    ServedOps ops;  ///< kServed only
  };

  /// Registers `provider` for its class and the class's ancestors.
  void add(Role role, std::shared_ptr<provider::InstanceProvider> provider, ServedOps ops = {});
  /// The provider that answers for `class_name` (its class is it or derives from it), or
  /// nullptr when none does.
  const Entry* find(std::string_view class_name) const;
  /// The provider of `role` that answers for `class_name`, or nullptr.
  const Entry* find(std::string_view class_name, Role role) const;
  /// Every registered provider, in lookup order.
  std::vector<const Entry*> entries() const;

 private:
  static std::string key(std::string_view name);
  std::vector<std::unique_ptr<Entry>> entries_;               // stable addresses for by_name_
  std::map<std::string, std::vector<const Entry*>> by_name_;  // lower-cased name -> answerers
};

}  // namespace lwmi::service
