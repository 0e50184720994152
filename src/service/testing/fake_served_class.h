// service/testing/fake_served_class.h — for tests: a small class served in root\subscription
// (LWMI_TestFilter: Name key, Query, Tags string[], Limit uint32, Target ref), kept in memory,
// with a creator and a remover, so namespace dispatch and CreateInstance are tested without the
// real subscription classes.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "base/mutex.h"
#include "base/strings.h"
#include "cim/schema.h"
#include "provider/provider.h"
#include "service/cim_service.h"

namespace lwmi::service::testing {

inline constexpr const char* kFakeSchema = R"({
 "namespace": "root\\subscription",
 "classes": [
  {"name": "LWMI_TestFilter",
   "properties": [
    {"name": "Name", "type": "string", "key": true},
    {"name": "Query", "type": "string"},
    {"name": "Tags", "type": "string[]"},
    {"name": "Limit", "type": "uint32"},
    {"name": "Target", "type": "ref", "embedded_class": "LWMI_TestFilter"}
   ]}
 ]
})";

/// The store and provider of LWMI_TestFilter: what create() stored, get / enumerate read.
class FakeServedClass : public provider::InstanceProvider {
 public:
  FakeServedClass() {
    auto schema = cim::Schema::load({kFakeSchema});
    if (schema.ok()) cls_ = schema->find("LWMI_TestFilter");
  }
  std::shared_ptr<const ClassDecl> class_decl() const override { return cls_; }
  std::unique_ptr<InstanceStream> enumerate(const security::Caller&,
                                            const provider::Request& request) override {
    base::MutexLock lock(mu_);
    std::vector<Instance> out;
    for (const auto& [k, inst] : store_) {
      if (request.filter && !request.filter([&](size_t i) { return inst.at(i); })) continue;
      out.push_back(inst);
    }
    return std::make_unique<provider::VectorStream>(std::move(out));
  }
  Result<Instance> get(const security::Caller&, const ObjectPath& path,
                       const provider::Request&) override {
    base::MutexLock lock(mu_);
    const KeyBinding* k = path.key("Name");
    auto it = k ? store_.find(base::to_lower(k->value.to_text())) : store_.end();
    if (it == store_.end())
      return Error{WbemStatus::kNotFound, "no LWMI_TestFilter matches " + path.relative()};
    return it->second;
  }
  Result<ObjectPath> create(const security::Caller&, const Instance& inst) {
    base::MutexLock lock(mu_);
    ++creates;
    auto name = inst.get("Name");
    if (!name || name->is_null() || name->as_string().empty())
      return Error{WbemStatus::kInvalidParameter, "Name is required"};
    std::string key = base::to_lower(name->as_string());
    if (store_.count(key))
      return Error{WbemStatus::kAlreadyExists, "LWMI_TestFilter " + name->as_string() + " exists"};
    Instance copy = inst;
    ObjectPath p;
    p.class_name = cls_->name;
    p.keys.push_back({"Name", Value::string(name->as_string())});
    copy.set_identity(p);
    store_.emplace(key, copy);
    return p;
  }
  Result<void> remove(const security::Caller&, const ObjectPath& path) {
    base::MutexLock lock(mu_);
    const KeyBinding* k = path.key("Name");
    if (!k || !store_.erase(base::to_lower(k->value.to_text())))
      return Error{WbemStatus::kNotFound, "no LWMI_TestFilter matches " + path.relative()};
    return {};
  }
  /// The instance stored under `name`, if any.
  std::optional<Instance> stored(const std::string& name) const {
    base::MutexLock lock(mu_);
    auto it = store_.find(base::to_lower(name));
    if (it == store_.end()) return std::nullopt;
    return it->second;
  }
  int creates = 0;  ///< calls of create(), refused ones included

 private:
  std::shared_ptr<const ClassDecl> cls_;
  mutable base::Mutex mu_;
  std::map<std::string, Instance> store_ GUARDED_BY(mu_);
};

/// Serves a FakeServedClass on `svc`, with its creator and remover.
inline std::shared_ptr<FakeServedClass> serve_fake_class(CimService& svc) {
  auto fake = std::make_shared<FakeServedClass>();
  CimService::ServedOps ops;
  ops.create = [fake](const security::Caller& c, const Instance& i) { return fake->create(c, i); };
  ops.remove = [fake](const security::Caller& c, const ObjectPath& p) {
    return fake->remove(c, p);
  };
  svc.serve(fake, std::move(ops));
  return fake;
}

}  // namespace lwmi::service::testing
