#include "service/cim_service.h"

#include <algorithm>

#include "base/strings.h"
#include "cim/schema.h"
#include "security/account.h"
#include "wql/compiler.h"
#include "wql/parser.h"

namespace lwmi::service {
namespace {

/// The namespaces every lwmi has, whether or not something is served there yet.
constexpr std::string_view kNamespaces[] = {"root\\cimv2", "root\\subscription"};

std::string display_namespace(std::string_view ns) {
  std::string n(ns);
  for (char& c : n)
    if (c == '/') c = '\\';
  while (!n.empty() && n.front() == '\\') n.erase(n.begin());
  return n;
}

/// Stamps each instance of a served class with its class's namespace.
class InNamespace : public InstanceStream {
 public:
  InNamespace(std::unique_ptr<InstanceStream> s, std::string ns)
      : s_(std::move(s)), ns_(std::move(ns)) {}
  bool next(Instance* out) override {
    if (!s_->next(out)) {
      error_ = s_->error();
      return false;
    }
    out->set_namespace(ns_);
    return true;
  }

 private:
  std::unique_ptr<InstanceStream> s_;
  std::string ns_;
};

std::unique_ptr<InstanceStream> in_namespace(std::unique_ptr<InstanceStream> s,
                                             const ClassDecl& cls) {
  if (!s) return s;
  return std::make_unique<InNamespace>(std::move(s), cls.namespace_path);
}

}  // namespace

CimService::CimService(config::Config config, os::ProcFs fs, os::SystemInfo sys)
    : config_(std::move(config)), processes_(std::move(fs), std::move(sys)), audit_(config_.audit) {
  provider::process::MethodPolicy policy;
  policy.protected_names = config_.security.protected_processes;
  policy.terminate_wait_ms = config_.methods.terminate_wait_ms;
  policy.debugger_command = config_.methods.debugger_command;
  processes_.set_policy(std::move(policy));
  // The service's own providers are members: registered without ownership.
  using Role = ProviderRegistry::Role;
  registry_.add(Role::kEventSources, std::shared_ptr<provider::InstanceProvider>(
                                         std::shared_ptr<void>(), &event_sources_));
  registry_.add(Role::kProcesses,
                std::shared_ptr<provider::InstanceProvider>(std::shared_ptr<void>(), &processes_));
}

std::vector<const ProviderRegistry::Entry*> CimService::served() const {
  std::vector<const ProviderRegistry::Entry*> out;
  for (const auto* e : registry_.entries())
    if (e->role == ProviderRegistry::Role::kServed) out.push_back(e);
  return out;
}

bool CimService::has_namespace(std::string_view ns) const {
  for (auto n : kNamespaces)
    if (ClassDecl::same_namespace(n, ns)) return true;
  for (const auto* s : served())
    if (s->provider->class_decl()->in_namespace(ns)) return true;
  return false;
}

Result<void> CimService::check_location(const ObjectPath& path) const {
  if (!path.server.empty() && path.server != "." && !base::iequals(path.server, "localhost") &&
      !base::iequals(path.server, system().host))
    return Error{WbemStatus::kInvalidParameter, "the path names host '" + path.server +
                                                    "': connect to it with --node " + path.server};
  if (!path.namespace_path.empty() && !has_namespace(path.namespace_path))
    return Error{WbemStatus::kInvalidNamespace,
                 "namespace '" + path.namespace_path +
                     "' does not exist (lwmi serves root\\cimv2 and root\\subscription)"};
  return {};
}

Result<std::shared_ptr<const ClassDecl>> CimService::get_class(std::string_view name,
                                                               std::string_view ns) const {
  if (name.size() > 255)
    return Error{WbemStatus::kClassNameTooWide, "class name longer than 255 characters"};
  if (!ns.empty() && !has_namespace(ns))
    return Error{WbemStatus::kInvalidNamespace,
                 "namespace '" + display_namespace(ns) +
                     "' does not exist (lwmi serves root\\cimv2 and root\\subscription)"};
  auto cls = cim::Schema::builtin().find(name);
  if (!cls)
    for (const auto* s : served())
      if (base::iequals(s->provider->class_decl()->name, name)) cls = s->provider->class_decl();
  if (!cls)
    return Error{WbemStatus::kInvalidClass,
                 "no class named '" + std::string(name) + "' in " +
                     (ns.empty() ? std::string("root\\cimv2 or root\\subscription")
                                 : display_namespace(ns))};
  if (!ns.empty() && !cls->in_namespace(ns))
    return Error{WbemStatus::kInvalidClass, "class " + cls->name + " is in " + cls->namespace_path +
                                                ", not " + display_namespace(ns)};
  return cls;
}

Result<std::shared_ptr<const ClassDecl>> CimService::class_of(const ObjectPath& path) const {
  return get_class(path.class_name, path.namespace_path);
}

Result<provider::Request> CimService::request_for(
    const ClassDecl& requested, const std::vector<std::string>& properties) const {
  provider::Request req;
  if (properties.empty()) return req;
  // Names are checked against the class asked for, then mapped to Win32_Process indices.
  for (const auto& p : properties)
    if (!requested.property(p))
      return Error{WbemStatus::kInvalidProperty,
                   "class " + requested.name + " has no property '" + p + "'"};
  auto set = provider::PropertySet::of(*processes_.class_decl(), properties);
  if (!set.ok()) return set.take_error();
  req.properties = std::move(*set);
  return req;
}

Result<Instance> CimService::get_object(const security::Caller& caller, std::string_view text,
                                        const std::vector<std::string>& properties) {
  auto path = ObjectPath::parse(text);
  if (!path.ok()) return path.take_error();
  if (auto loc = check_location(*path); !loc.ok()) return loc.take_error();
  if (path->is_namespace_path())
    return Error{WbemStatus::kInvalidObjectPath,
                 "'" + std::string(text) + "' names a namespace, not an instance"};
  auto cls = class_of(*path);
  if (!cls.ok()) return cls.take_error();
  if (path->is_class_path())
    return Error{WbemStatus::kInvalidObjectPath,
                 "'" + std::string(text) + "' names the class " + (*cls)->name +
                     ", not an instance: add its key, e.g. " + (*cls)->name + ".Handle=\"1\""};
  using Role = ProviderRegistry::Role;
  const auto* answerer = registry_.find((*cls)->name);
  if (answerer && answerer->role == Role::kEventSources)
    return event_sources_.get(caller, *path, {});
  if (answerer && answerer->role == Role::kServed) {
    auto inst = answerer->provider->get(caller, *path, {});
    if (inst.ok()) inst->set_namespace(answerer->provider->class_decl()->namespace_path);
    return inst;
  }
  if (!answerer)
    return Error{WbemStatus::kNotFound,
                 "no instance of " + (*cls)->name + " matches '" + std::string(text) + "'"};
  auto req = request_for(**cls, properties);
  if (!req.ok()) return req.take_error();
  return processes_.get(caller, *path, *req);
}

namespace {

/// The schema query's FROM: every class of the namespace, as a class object.
constexpr std::string_view kMetaClass = "meta_class";

/// What a schema query's WHERE may test: the system properties that describe a class
/// (__CLASS is every query's), and __THIS, the class object itself, for `__THIS ISA 'X'`.
std::shared_ptr<const ClassDecl> meta_class_decl() {
  static const std::shared_ptr<const ClassDecl> decl = [] {
    auto d = std::make_shared<ClassDecl>();
    d->name = std::string(kMetaClass);
    auto add = [&](const char* name, CimType type) {
      PropertyDecl p;
      p.name = name;
      p.type = type;
      p.origin = d->name;
      d->properties.push_back(std::move(p));
    };
    add("__DYNASTY", CimType::kString);
    add("__PROPERTY_COUNT", CimType::kSint32);
    add("__SUPERCLASS", CimType::kString);
    add("__THIS", CimType::kObject);
    return d;
  }();
  return decl;
}

class EmptyStream : public InstanceStream {
 public:
  bool next(Instance*) override { return false; }
};
}  // namespace

Result<std::unique_ptr<InstanceStream>> CimService::enumerate(
    const security::Caller& caller, std::string_view class_name,
    const std::vector<std::string>& properties, std::string_view ns) {
  auto cls = get_class(class_name, ns);
  if (!cls.ok()) return cls.take_error();
  using Role = ProviderRegistry::Role;
  const auto* answerer = registry_.find((*cls)->name);
  if (answerer && answerer->role == Role::kEventSources)
    return event_sources_.enumerate(caller, {});
  if (answerer && answerer->role == Role::kServed)
    return in_namespace(answerer->provider->enumerate(caller, {}),
                        *answerer->provider->class_decl());
  auto req = request_for(**cls, properties);
  if (!req.ok()) return req.take_error();
  // Win32_Process is the one concrete class with instances; a query on an ancestor returns
  // its instances, and any other class has none.
  if (!answerer) return std::unique_ptr<InstanceStream>(std::make_unique<EmptyStream>());
  return processes_.enumerate(caller, *req);
}

std::vector<std::shared_ptr<const ClassDecl>> CimService::classes_in(std::string_view ns) const {
  std::vector<std::shared_ptr<const ClassDecl>> out;
  for (const auto& c : cim::Schema::builtin().classes())
    if (c->in_namespace(ns)) out.push_back(c);
  for (const auto* s : served()) {
    auto c = s->provider->class_decl();
    bool listed = false;
    for (const auto& o : out) listed |= base::iequals(o->name, c->name);
    if (!listed && c->in_namespace(ns)) out.push_back(c);
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return base::icompare(a->name, b->name) < 0;
  });
  return out;
}

Result<std::unique_ptr<InstanceStream>> CimService::meta_class_query(const wql::Query& query,
                                                                     std::string_view ns) const {
  // A schema query lists one namespace: the one asked for, root\cimv2 when none is.
  std::string where = ns.empty() ? std::string("root\\cimv2") : display_namespace(ns);
  if (!has_namespace(where))
    return Error{WbemStatus::kInvalidNamespace,
                 "namespace '" + where +
                     "' does not exist (lwmi serves root\\cimv2 and root\\subscription)"};
  auto decl = meta_class_decl();
  auto compiled = wql::compile(query, decl, decl);
  if (!compiled.ok()) return compiled.take_error();
  std::vector<Instance> out;
  for (const auto& cls : classes_in(where)) {
    Instance obj = Instance::class_object(cls);
    obj.set_server(system().host);
    bool keep = wql::matches(*compiled, [&](size_t i) -> Value {
      if (i == wql::kClassProperty) return Value::string(cls->name);
      if (i >= decl->properties.size()) return Value::null(CimType::kString);
      if (decl->properties[i].type == CimType::kObject)
        return Value::object(std::make_shared<const Instance>(obj));
      if (auto v = obj.get(decl->properties[i].name)) return *v;
      return Value::null(decl->properties[i].type);
    });
    if (keep) out.push_back(std::move(obj));
  }
  return std::unique_ptr<InstanceStream>(std::make_unique<provider::VectorStream>(std::move(out)));
}

Result<std::unique_ptr<InstanceStream>> CimService::exec_query(const security::Caller& caller,
                                                               std::string_view wql,
                                                               std::string_view language,
                                                               std::string_view ns) {
  if (auto l = wql::check_language(language); !l.ok()) return l.take_error();
  auto parsed = wql::parse(wql);
  if (!parsed.ok()) return parsed.take_error();
  if (parsed->kind != wql::Query::Kind::kSelect)
    return Error{WbemStatus::kNotSupported,
                 std::string(parsed->kind == wql::Query::Kind::kAssociators ? "ASSOCIATORS OF"
                                                                            : "REFERENCES OF") +
                     " is not supported: lwmi has no association classes yet",
                 0};
  const auto& sel = parsed->select;
  if (base::iequals(sel.class_name, kMetaClass)) return meta_class_query(*parsed, ns);
  auto queried = get_class(sel.class_name, ns);
  if (!queried.ok()) {
    Error e = queried.take_error();
    e.position = sel.class_loc.offset;
    return e;
  }
  using Role = ProviderRegistry::Role;
  const auto* served_class = registry_.find((*queried)->name, Role::kServed);
  if (served_class || registry_.find((*queried)->name, Role::kEventSources)) {
    auto cls = served_class ? served_class->provider->class_decl() : event_sources_.class_decl();
    auto compiled = wql::compile(*parsed, cls, cls);
    if (!compiled.ok()) return compiled.take_error();
    auto q = std::make_shared<wql::CompiledQuery>(std::move(*compiled));
    provider::Request req;
    req.filter = [q, cls](const std::function<Value(size_t)>& read) {
      return wql::matches(*q, [&](size_t i) {
        return i == wql::kClassProperty ? Value::string(cls->name) : read(i);
      });
    };
    if (served_class) return in_namespace(served_class->provider->enumerate(caller, req), *cls);
    return event_sources_.enumerate(caller, req);
  }
  auto concrete = processes_.class_decl();
  const bool served = registry_.find((*queried)->name, Role::kProcesses) != nullptr;
  auto compiled = wql::compile(*parsed, *queried, served ? concrete : *queried);
  if (!compiled.ok()) return compiled.take_error();
  if (!served) return std::unique_ptr<InstanceStream>(std::make_unique<EmptyStream>());

  // The compiled query is shared by the filter, which lives as long as the stream.
  auto q = std::make_shared<wql::CompiledQuery>(std::move(*compiled));
  provider::Request req;
  if (!q->select_all) {
    std::vector<std::string> names = q->select;
    if (names.empty()) names.push_back("Handle");  // only system properties were asked for
    auto set = provider::PropertySet::of(*concrete, names);
    if (!set.ok()) return set.take_error();
    req.properties = std::move(*set);
  }
  req.only_pid = q->only_pid;
  if (q->where) {
    std::string cls = concrete->name;
    req.filter = [q, cls](const std::function<Value(size_t)>& read) {
      return wql::matches(
          *q, [&](size_t i) { return i == wql::kClassProperty ? Value::string(cls) : read(i); });
    };
  }
  return processes_.enumerate(caller, req);
}

namespace {

bool changes_state(std::string_view method) {
  return !(base::iequals(method, "GetOwner") || base::iequals(method, "GetOwnerSid") ||
           base::iequals(method, "GetAvailableVirtualSize"));
}

/// A name or value the caller made up, as an error message quotes it: at most kMaxShown bytes
/// (not cut inside a UTF-8 sequence), "…" marking the cut. Messages reach the audit log whole.
constexpr size_t kMaxShown = 256;
std::string shown(std::string_view s) {
  if (s.size() <= kMaxShown) return std::string(s);
  size_t n = kMaxShown;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return std::string(s.substr(0, n)) + "\u2026";
}

/// Converts `v` (text from a command line or an envelope, or a typed value) to `type` into
/// *slot; for an array, appends to what *slot holds. Returns "" or why it does not convert
/// (naming `what`).
std::string convert_value(const std::string& what, CimType type, bool is_array, const Value& v,
                          std::optional<Value>* slot) {
  Value elem = v;
  if (v.type() == CimType::kString && !v.is_null() && type != CimType::kString) {
    auto c = Value::from_text(type, v.as_string());
    if (!c)
      return what + ": '" + shown(v.as_string()) + "' is not a " + std::string(cim_type_name(type));
    elem = *c;
  } else if (!v.is_null() && v.type() != type && !(is_integer(type) && is_integer(v.type()))) {
    return what + ": expected " + std::string(cim_type_name(type));
  } else if (!v.is_null() && is_integer(type) && v.type() != type) {
    auto c = is_signed_integer(v.type()) ? Value::integer(type, v.as_i64())
                                         : Value::integer_unsigned(type, v.as_u64());
    if (!c)
      return what + ": " + v.to_text() + " is out of range for " + std::string(cim_type_name(type));
    elem = *c;
  }
  if (is_array) {
    std::vector<Value> els;
    if (*slot && !(*slot)->is_null()) els = (*slot)->elements();
    if (elem.is_array()) {
      for (const auto& e : elem.elements()) els.push_back(e);
    } else {
      els.push_back(elem);
    }
    *slot = Value::array(type, std::move(els));
  } else {
    *slot = elem;
  }
  return {};
}

/// The parameters (or a CreateInstance's properties) as an audit line shows them: all of them
/// up to kMaxAuditedParams bytes, then how much more there was. A request body may hold half a
/// megabyte of values; the audit line stays readable, and says it was cut.
constexpr size_t kMaxAuditedParams = 8192;

std::string params_text(const Parameters& in) {
  std::string s;
  size_t cut = 0;
  for (const auto& [n, v] : in) {
    std::string one =
        n + "=" + (v.type() == CimType::kObject && !v.is_null() ? "{object}" : v.to_text());
    if (cut || s.size() + one.size() + 1 > kMaxAuditedParams) {
      cut += one.size() + 1;
      continue;
    }
    if (!s.empty()) s += ' ';
    s += one;
  }
  if (cut) s += " \u2026(" + std::to_string(cut) + " more bytes)";
  return s;
}

}  // namespace

void CimService::audit_refused_call(const security::Caller& caller, std::string_view path,
                                    std::string_view method, const Parameters& in,
                                    const Error& error) {
  if (!changes_state(method)) return;
  security::AuditRecord rec;
  rec.action = std::string(method.substr(0, kMaxShown));
  rec.result = std::string(wbem_status_name(error.code));
  rec.params = params_text(in);
  rec.detail = error.message + " path=" + std::string(path.substr(0, kMaxShown));
  (void)audit_.record(caller, rec);
}

Result<MethodResult> CimService::exec_method(const security::Caller& caller, std::string_view text,
                                             std::string_view method_name, const Parameters& in,
                                             bool what_if) {
  // A call refused before it runs (path, method or parameters invalid, or not allowed) is
  // audited like one that ran, with its parameters, unless the method only reads.
  const MethodDecl* method = nullptr;
  auto refused = [&](Error e) -> Error {
    if (!what_if)
      audit_refused_call(caller, text, method ? std::string_view(method->name) : method_name, in,
                         e);
    return e;
  };
  auto path = ObjectPath::parse(text);
  if (!path.ok()) return refused(path.take_error());
  if (auto loc = check_location(*path); !loc.ok()) return refused(loc.take_error());
  if (path->is_namespace_path())
    return refused(
        Error{WbemStatus::kInvalidObjectPath,
              "'" + std::string(text) + "' names a namespace, not a class or an instance"});
  auto cls = class_of(*path);
  if (!cls.ok()) return refused(cls.take_error());
  method = (*cls)->method(method_name);
  if (!method)
    return refused(Error{WbemStatus::kInvalidMethod,
                         (*cls)->name + " has no method '" + std::string(method_name) + "'"});
  if (!registry_.find((*cls)->name, ProviderRegistry::Role::kProcesses) &&
      !processes_.class_decl()->method(method->name))
    return refused(Error{WbemStatus::kNotSupported, "no provider serves " + (*cls)->name});
  // Create needs the "execute" right: off for remote callers unless the config allows it.
  if (base::iequals(method->name, "Create") && caller.remote && !config_.security.remote_create)
    return refused(
        Error{WbemStatus::kAccessDenied,
              "Create is not allowed for remote callers ([security] remote_create = false)"});
  if (method->is_static && path->is_instance_path())
    return refused(Error{WbemStatus::kInvalidMethodParameters,
                         method->name + " is a static method: call it on the class, e.g. " +
                             (*cls)->name + "." + method->name});
  if (!method->is_static && !path->is_instance_path())
    return refused(
        Error{WbemStatus::kInvalidObjectPath,
              method->name + " needs an instance path, e.g. " + (*cls)->name + ".Handle=\"1234\""});

  // In-parameters: check names, convert values to the declared types.
  Parameters typed;
  std::optional<MethodResult> invalid;  // ReturnValue 21, still audited
  auto fail = [&](std::string note) {
    if (!invalid) {
      invalid = MethodResult{};
      invalid->return_value = 21;
      invalid->notes.push_back(std::move(note));
    }
  };
  auto convert = [&](const std::string& what, CimType type, bool is_array, const Value& v,
                     std::optional<Value>* slot) {
    if (std::string why = convert_value(what, type, is_array, v, slot); !why.empty())
      fail(std::move(why));
  };
  std::vector<std::pair<const ParameterDecl*, std::optional<Value>>> slots;
  for (const auto& p : method->parameters)
    if (p.in) slots.push_back({&p, std::nullopt});
  std::vector<std::shared_ptr<Instance>> embedded(slots.size());
  for (const auto& [name, value] : in) {
    std::string head = name, tail;
    if (auto dot = name.find('.'); dot != std::string::npos) {
      head = name.substr(0, dot);
      tail = name.substr(dot + 1);
    }
    size_t i = 0;
    while (i < slots.size() && !base::iequals(slots[i].first->name, head)) ++i;
    if (i == slots.size())
      return refused(Error{WbemStatus::kInvalidMethodParameters,
                           method->name + " has no in-parameter '" + head + "'"});
    const ParameterDecl& decl = *slots[i].first;
    if (tail.empty()) {
      convert(decl.name, decl.type, decl.is_array, value, &slots[i].second);
      continue;
    }
    // Param.Prop: a property of an embedded-object parameter.
    auto ecls =
        decl.type == CimType::kObject ? cim::Schema::builtin().find(decl.embedded_class) : nullptr;
    if (!ecls)
      return refused(
          Error{WbemStatus::kInvalidMethodParameters,
                "in-parameter '" + decl.name + "' is not an object: '" + name + "' is invalid"});
    const PropertyDecl* prop = ecls->property(tail);
    if (!prop)
      return refused(Error{WbemStatus::kInvalidMethodParameters,
                           ecls->name + " has no property '" + tail + "'"});
    if (!embedded[i]) embedded[i] = std::make_shared<Instance>(ecls);
    std::optional<Value> cur;
    if (auto existing = embedded[i]->get(prop->name)) cur = *existing;
    convert(name, prop->type, prop->is_array, value, &cur);
    if (cur) embedded[i]->set(prop->name, *cur);
  }
  for (size_t i = 0; i < slots.size(); ++i) {
    if (embedded[i]) slots[i].second = Value::object(embedded[i]);
    if (slots[i].second) typed.push_back({slots[i].first->name, *slots[i].second});
  }

  // Create refuses accounts that may not log in (nologin shell, locked, expired…), as a login
  // would. Embedded mode runs in the caller's own process, which already runs as the account.
  if (!invalid && base::iequals(method->name, "Create") && !caller.embedded) {
    security::SystemPam pam;
    std::string why = security::login_refusal(os::SystemAccounts(), pam, caller.user,
                                              config_.security.pam_service);
    if (!why.empty()) {
      invalid = MethodResult{};
      invalid->return_value = 2;  // access denied
      invalid->notes.push_back(std::move(why));
    }
  }

  security::AuditTarget target;
  Result<MethodResult> result =
      invalid ? Result<MethodResult>(*invalid)
              : processes_.invoke(caller, *method, method->is_static ? nullptr : &*path, typed,
                                  &target, what_if);
  if (changes_state(method->name) && !what_if) {
    security::AuditRecord rec;
    rec.action = method->name;
    rec.params = params_text(in);
    if (target.pid != 0) rec.target = target;
    if (result.ok()) {
      rec.result = std::to_string(result->return_value);
      for (const auto& n : result->notes) rec.detail += (rec.detail.empty() ? "" : "; ") + n;
    } else {
      rec.result = std::string(wbem_status_name(result.error().code));
      rec.detail = result.error().message;
    }
    if (!rec.target && path->is_instance_path()) rec.detail += " path=" + path->relative();
    std::string problem = audit_.record(caller, rec);
    if (!problem.empty() && result.ok()) result->notes.push_back(problem);
  }
  return result;
}

Result<MethodResult> CimService::delete_instance(const security::Caller& caller,
                                                 std::string_view path) {
  // Refused before Terminate runs: audited as a Terminate (DeleteInstance is one).
  auto refused = [&](Error e) -> Error {
    audit_refused_call(caller, path, "Terminate", {}, e);
    return e;
  };
  auto parsed = ObjectPath::parse(path);
  if (!parsed.ok()) return refused(parsed.take_error());
  if (auto loc = check_location(*parsed); !loc.ok()) return refused(loc.take_error());
  auto cls = class_of(*parsed);
  if (!cls.ok()) return refused(cls.take_error());
  using Role = ProviderRegistry::Role;
  if (auto* s = registry_.find((*cls)->name, Role::kServed); s && parsed->is_instance_path()) {
    if (!s->ops.remove)
      return refused(Error{WbemStatus::kProviderNotCapable,
                           (*cls)->name + " is read-only: its instances cannot be deleted"});
    auto r = s->ops.remove(caller, *parsed);
    if (!r.ok()) return r.take_error();
    return MethodResult{};
  }
  if (registry_.find((*cls)->name, Role::kEventSources))
    return refused(Error{WbemStatus::kProviderNotCapable,
                         (*cls)->name + " is read-only: its instances cannot be deleted"});
  if (!(*cls)->is_a("CIM_Process") || !parsed->is_instance_path())
    return refused(
        Error{WbemStatus::kNotSupported, "DeleteInstance is supported for processes only"});
  auto r = exec_method(caller, path, "Terminate", {});
  if (r.ok() && (r->return_value == 2 || r->return_value == 3))
    return Error{WbemStatus::kAccessDenied,
                 r->notes.empty() ? std::string("access denied") : r->notes.front()};
  return r;
}

Result<ObjectPath> CimService::create_instance(const security::Caller& caller,
                                               std::string_view class_path,
                                               const Parameters& properties) {
  constexpr std::string_view kAction = "CreateInstance";
  // Refused or not, a creation is audited with what was asked for.
  auto refused = [&](Error e) -> Error {
    audit_refused_call(caller, class_path, kAction, properties, e);
    return e;
  };
  auto path = ObjectPath::parse(class_path);
  if (!path.ok()) return refused(path.take_error());
  if (auto loc = check_location(*path); !loc.ok()) return refused(loc.take_error());
  if (!path->is_class_path())
    return refused(Error{WbemStatus::kInvalidObjectPath,
                         "'" + std::string(class_path) +
                             "' is not a class: CreateInstance takes the class and the "
                             "properties, keys included"});
  auto cls = class_of(*path);
  if (!cls.ok()) return refused(cls.take_error());
  const auto* served = registry_.find((*cls)->name, ProviderRegistry::Role::kServed);
  if (!served || !served->ops.create ||
      !base::iequals(served->provider->class_decl()->name, (*cls)->name)) {
    if ((*cls)->is_a("CIM_Process") && (*cls)->method("Create"))
      return refused(
          Error{WbemStatus::kProviderNotCapable,
                "class " + (*cls)->name + " is created by its Create method, not CreateInstance"});
    return refused(Error{WbemStatus::kProviderNotCapable,
                         "instances of " + (*cls)->name + " cannot be created"});
  }
  // The served class's own declaration: its properties, typed; nothing else.
  auto decl = served->provider->class_decl();
  Instance inst(decl);
  inst.set_namespace(decl->namespace_path);
  std::vector<std::optional<Value>> slots(decl->properties.size());
  for (const auto& [name, value] : properties) {
    auto i = decl->property_index(name);
    if (!i)
      return refused(Error{WbemStatus::kInvalidProperty,
                           "class " + decl->name + " has no property '" + shown(name) + "'"});
    const PropertyDecl& prop = decl->properties[*i];
    if (value.is_null()) {
      slots[*i] = Value::null(prop.type, prop.is_array);
      continue;
    }
    if (std::string why = convert_value(prop.name, prop.type, prop.is_array, value, &slots[*i]);
        !why.empty())
      return refused(Error{WbemStatus::kTypeMismatch, why});
  }
  for (size_t i = 0; i < slots.size(); ++i)
    if (slots[i]) inst.set(i, std::move(*slots[i]));

  auto created = served->ops.create(caller, inst);
  security::AuditRecord rec;
  rec.action = std::string(kAction);
  rec.params = params_text(properties);
  if (created.ok()) {
    created->namespace_path = decl->namespace_path;
    rec.result = "0";
    rec.detail = "path=" + created->relative();
  } else {
    rec.result = std::string(wbem_status_name(created.error().code));
    rec.detail = created.error().message + " path=" + decl->name;
  }
  (void)audit_.record(caller, rec);
  return created;
}

void CimService::serve(std::shared_ptr<provider::InstanceProvider> p, ServedOps ops) {
  registry_.add(ProviderRegistry::Role::kServed, std::move(p), std::move(ops));
}

}  // namespace lwmi::service
