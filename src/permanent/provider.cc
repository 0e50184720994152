// permanent/provider.cc — definitions to instances and back, with the admin check.
#include "permanent/provider.h"

#include "base/strings.h"
#include "cim/schema.h"
#include "lwmi/datetime.h"

namespace lwmi::permanent {
namespace {

std::shared_ptr<const ClassDecl> find_class(std::string_view name) {
  return cim::Schema::builtin().find(name);
}

Result<void> check_admin(const security::Caller& caller, std::string_view what) {
  if (caller.held.has(security::Privilege::kDebug)) return Result<void>();
  return Error{WbemStatus::kAccessDenied,
               std::string("only the admin group may ") + std::string(what) +
                   " permanent event subscriptions (root\\subscription)"};
}

Instance make(std::string_view cls, const Properties& props, ObjectPath identity) {
  Instance inst(find_class(cls));
  for (const auto& [name, v] : props) inst.set(name, v);
  inst.set_namespace(std::string(kNamespace));
  identity.namespace_path.clear();
  inst.set_identity(std::move(identity));
  return inst;
}

ObjectPath path_of(std::string_view cls, std::vector<KeyBinding> keys) {
  ObjectPath p;
  p.class_name = std::string(cls);
  p.keys = std::move(keys);
  return p;
}

Value text_or_null(const std::string& s) {
  return s.empty() ? Value::null(CimType::kString) : Value::string(s);
}

Instance state_instance(const BindingState& s, const Definitions& defs) {
  Properties props = {{"Filter", Value::reference(s.binding.filter_path())},
                      {"Consumer", Value::reference(s.binding.consumer.path())},
                      {"State", Value::string(s.state)},
                      {"Fired", Value::uint64(s.fired)},
                      {"Failures", Value::uint64(s.failures)},
                      {"ConsecutiveFailures", Value::uint64(s.consecutive_failures)},
                      {"LastFailure", text_or_null(s.last_failure)},
                      {"LostEvents", Value::uint64(s.lost)},
                      {"Guard", text_or_null(s.guard)}};
  std::string origin = "store";
  for (const auto& b : defs.bindings)
    if (base::iequals(b.filter, s.binding.filter) && b.consumer == s.binding.consumer)
      origin = b.origin.from_file() ? b.origin.describe() : "store";
  props.emplace_back("Origin", Value::string(origin));
  if (s.last_fired) {
    const auto us =
        std::chrono::duration_cast<std::chrono::microseconds>(s.last_fired->time_since_epoch())
            .count();
    props.emplace_back("LastFired",
                       Value::datetime(DateTime::from_unix_micros_local(us).to_string()));
  } else {
    props.emplace_back("LastFired", Value::null(CimType::kDatetime));
  }
  return make(
      "LWMI_SubscriptionState", props,
      path_of("LWMI_SubscriptionState", {{"Consumer", Value::string(s.binding.consumer.path())},
                                         {"Filter", Value::string(s.binding.filter_path())}}));
}

// The binding a path names: Filter and Consumer keys, each a path (or a filter's bare name).
Result<Binding> binding_of(const ObjectPath& path) {
  const KeyBinding* f = path.key("Filter");
  const KeyBinding* c = path.key("Consumer");
  if (!f || !c || path.keys.size() != 2)
    return Error{WbemStatus::kInvalidObjectPath,
                 "a binding is named by its Filter and Consumer keys, e.g. "
                 "__FilterToConsumerBinding.Filter=\"__EventFilter.Name=\\\"f\\\"\","
                 "Consumer=\"LogFileEventConsumer.Name=\\\"c\\\"\""};
  return binding_from({{"Filter", Value::string(f->value.to_text())},
                       {"Consumer", Value::string(c->value.to_text())}});
}

Result<std::string> name_key(const ObjectPath& path) {
  const KeyBinding* k = path.key("Name");
  if (!k || path.keys.size() != 1)
    return Error{
        WbemStatus::kInvalidObjectPath,
        path.class_name + " is named by its Name key, e.g. " + path.class_name + ".Name=\"x\""};
  return k->value.to_text();
}

}  // namespace

Instance filter_instance(const EventFilter& f) {
  return make("__EventFilter", properties_of(f),
              path_of("__EventFilter", {{"Name", Value::string(f.name)}}));
}

Instance consumer_instance(const Consumer& c) {
  return make(c.class_name(), properties_of(c),
              path_of(c.class_name(), {{"Name", Value::string(c.name)}}));
}

Instance binding_instance(const Binding& b) {
  return make("__FilterToConsumerBinding", properties_of(b),
              path_of("__FilterToConsumerBinding", {{"Consumer", Value::string(b.consumer.path())},
                                                    {"Filter", Value::string(b.filter_path())}}));
}

PermanentProvider::PermanentProvider(Kind kind, Store& store, const Engine* engine,
                                     std::string_view cls)
    : kind_(kind), store_(store), engine_(engine), cls_(find_class(cls)) {}

std::vector<Instance> PermanentProvider::instances() const {
  const Definitions defs = store_.all();
  std::vector<Instance> out;
  switch (kind_) {
    case Kind::kFilter:
      for (const auto& f : defs.filters) out.push_back(filter_instance(f));
      break;
    case Kind::kConsumer:
      for (const auto& c : defs.consumers)
        if (cls_->abstract || base::iequals(c.class_name(), cls_->name))
          out.push_back(consumer_instance(c));
      break;
    case Kind::kBinding:
      for (const auto& b : defs.bindings) out.push_back(binding_instance(b));
      break;
    case Kind::kState:
      if (engine_)
        for (const auto& s : engine_->states()) out.push_back(state_instance(s, defs));
      break;
  }
  return out;
}

std::unique_ptr<InstanceStream> PermanentProvider::enumerate(const security::Caller& caller,
                                                             const provider::Request& request) {
  if (auto r = check_admin(caller, "read"); !r.ok())
    return std::make_unique<provider::VectorStream>(std::vector<Instance>{}, r.take_error());
  std::vector<Instance> out;
  for (auto& inst : instances()) {
    // The filter reads by this class's indices; a row of a subclass (a query on
    // __EventConsumer) is read by name.
    if (request.filter && !request.filter([&](size_t i) {
          if (inst.cls_ptr() == cls_) return inst.has(i) ? inst.at(i) : Value();
          auto v = inst.get(cls_->properties[i].name);
          return v ? *v : Value();
        }))
      continue;
    out.push_back(std::move(inst));
  }
  return std::make_unique<provider::VectorStream>(std::move(out));
}

Result<Instance> PermanentProvider::get(const security::Caller& caller, const ObjectPath& path,
                                        const provider::Request&) {
  if (auto r = check_admin(caller, "read"); !r.ok()) return r.take_error();
  for (auto& inst : instances()) {
    ObjectPath mine = inst.identity();
    ObjectPath asked = path;
    asked.server.clear();
    asked.namespace_path.clear();
    if (!base::iequals(asked.class_name, mine.class_name) && kind_ != Kind::kConsumer) continue;
    if (kind_ == Kind::kBinding || kind_ == Kind::kState) {
      auto b = binding_of(asked);
      if (!b.ok()) return b.take_error();
      auto m = binding_of(mine);
      if (m.ok() && base::iequals(m->filter, b->filter) && m->consumer == b->consumer)
        return std::move(inst);
      continue;
    }
    if (!base::iequals(asked.class_name, mine.class_name)) continue;
    auto n = name_key(asked);
    if (!n.ok()) return n.take_error();
    if (base::iequals(*n, inst.get("Name")->to_text())) return std::move(inst);
  }
  return Error{WbemStatus::kNotFound, "no " + path.class_name + " " + path.relative()};
}

std::vector<std::shared_ptr<PermanentProvider>> make_providers(Store& store, const Engine* engine) {
  using K = PermanentProvider::Kind;
  std::vector<std::shared_ptr<PermanentProvider>> out;
  out.push_back(std::make_shared<PermanentProvider>(K::kFilter, store, engine, "__EventFilter"));
  out.push_back(
      std::make_shared<PermanentProvider>(K::kConsumer, store, engine, "__EventConsumer"));
  for (std::string_view cls : {"CommandLineEventConsumer", "LogFileEventConsumer",
                               "LWMI_JournalEventConsumer", "LWMI_TerminateProcessEventConsumer"})
    out.push_back(std::make_shared<PermanentProvider>(K::kConsumer, store, engine, cls));
  out.push_back(
      std::make_shared<PermanentProvider>(K::kBinding, store, engine, "__FilterToConsumerBinding"));
  out.push_back(
      std::make_shared<PermanentProvider>(K::kState, store, engine, "LWMI_SubscriptionState"));
  return out;
}

Result<ObjectPath> create_instance(Store& store, const security::Caller& caller,
                                   const Instance& instance) {
  if (auto r = check_admin(caller, "create"); !r.ok()) return r.take_error();
  const std::string& cls = instance.class_name();
  Properties props;
  for (auto& [name, v] : instance.properties())
    if (!v.is_null()) props.emplace_back(name, v);
  const std::string creator = caller.user.empty() ? std::to_string(caller.uid) : caller.user;
  if (base::iequals(cls, "__EventFilter")) {
    auto f = filter_from(props);
    if (!f.ok()) return f.take_error();
    f->creator = creator;
    const std::string name = f->name;
    if (auto r = store.create(std::move(*f)); !r.ok()) return r.take_error();
    return filter_instance(EventFilter{name}).identity();
  }
  if (base::iequals(cls, "__FilterToConsumerBinding")) {
    auto b = binding_from(props);
    if (!b.ok()) return b.take_error();
    b->creator = creator;
    ObjectPath id = binding_instance(*b).identity();
    if (auto r = store.create(std::move(*b)); !r.ok()) return r.take_error();
    return id;
  }
  if (consumer_kind(cls)) {
    auto c = consumer_from(cls, props);
    if (!c.ok()) return c.take_error();
    c->creator = creator;
    ObjectPath id = path_of(c->class_name(), {{"Name", Value::string(c->name)}});
    if (auto r = store.create(std::move(*c)); !r.ok()) return r.take_error();
    return id;
  }
  return Error{WbemStatus::kInvalidClass, "instances of " + cls +
                                              " cannot be created (it is "
                                              "abstract or read-only)"};
}

namespace {

Result<void> delete_unaudited(Store& store, const security::Caller& caller,
                              const ObjectPath& path) {
  if (auto r = check_admin(caller, "delete"); !r.ok()) return r.take_error();
  if (base::iequals(path.class_name, "__EventFilter")) {
    auto n = name_key(path);
    if (!n.ok()) return n.take_error();
    return store.delete_filter(*n);
  }
  if (base::iequals(path.class_name, "__FilterToConsumerBinding")) {
    auto b = binding_of(path);
    if (!b.ok()) return b.take_error();
    return store.delete_binding(b->filter, b->consumer);
  }
  if (consumer_kind(path.class_name)) {
    auto n = name_key(path);
    if (!n.ok()) return n.take_error();
    auto ref = consumer_ref_from_path(path.relative());
    if (!ref.ok()) return ref.take_error();
    return store.delete_consumer(*ref);
  }
  return Error{WbemStatus::kProviderNotCapable,
               path.class_name + " instances cannot be deleted (read-only)"};
}

}  // namespace

Result<void> delete_instance(Store& store, const security::Caller& caller, const ObjectPath& path,
                             security::AuditLog* audit) {
  Result<void> r = delete_unaudited(store, caller, path);
  if (audit) {
    security::AuditRecord rec;
    rec.action = "DeleteInstance";
    rec.result = r.ok() ? "0" : std::string(wbem_status_name(r.error().code));
    rec.params = "path=" + std::string(kNamespace) + ":" + path.relative();
    if (!r.ok()) rec.detail = r.error().message;
    audit->record(caller, rec);
  }
  return r;
}

}  // namespace lwmi::permanent
