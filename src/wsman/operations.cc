#include "wsman/operations.h"
#include "base/mutex.h"

#include <algorithm>
#include <variant>

#include "base/strings.h"
#include "base/uuid.h"
#include "cim/schema.h"
#include "wsman/envelope.h"

namespace lwmi::wsman {
namespace {

constexpr const char* kTransfer = "http://schemas.xmlsoap.org/ws/2004/09/transfer/";
constexpr const char* kEnum = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/";

/// Distinct names one request's EnablePrivilege option may carry (lwmi knows two).
constexpr size_t kMaxPrivilegeNames = 16;
/// Bytes of an unknown privilege name written to the audit log.
constexpr size_t kMaxAuditedName = 64;

/// `s` cut to at most `max` bytes (not inside a UTF-8 sequence), "…" marking the cut.
std::string clip(std::string_view s, size_t max) {
  if (s.size() <= max) return std::string(s);
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return std::string(s.substr(0, n)) + "\u2026";
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

/// The cim-xml family (class definitions, GetClass): ns::kCimXmlPrefix, and the spelling OMI and
/// the Windows MI client send (no "wscim/1").
bool is_cim_xml(const std::string& uri) {
  auto starts = [&](std::string_view p) { return uri.rfind(p, 0) == 0; };
  return starts(ns::kCimXmlPrefix) ||
         starts("http://schemas.dmtf.org/wbem/cim-xml/2/cim-schema/2/");
}

constexpr const char* kFaultDetail = "http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/";

/// A selector set that does not name an instance of its class: the error, and the wsman
/// FaultDetail that says which way it is wrong (InsufficientSelectors, UnexpectedSelectors, …).
struct SelectorError {
  Error error;
  std::string detail;
};

Response selector_fault(const Request& r, const SelectorError& e) {
  Fault f = fault_for(e.error);
  if (!e.detail.empty()) f.detail = std::string(kFaultDetail) + e.detail;
  return fault_response(r, std::move(f));
}

// Selectors -> an instance path "Class.Key="v",…", checked against the keys the schema declares
// for the class (the __cimnamespace selector excluded). Beside the keys, CreationDate is
// accepted where the class has that property: a process is its pid and its start time
// (DESIGN decision 4). Every key is required.
std::variant<std::string, SelectorError> path_from_selectors(const service::CimService& service,
                                                             const Resource& res,
                                                             const Request& r) {
  auto found = service.get_class(res.cls, res.ns);
  if (!found.ok()) return SelectorError{found.take_error(), ""};
  const auto& cls = *found;
  std::vector<const PropertyDecl*> keys;
  for (size_t i : cls->key_indices()) keys.push_back(&cls->properties[i]);
  const PropertyDecl* creation = keys.empty() ? nullptr : cls->property("CreationDate");
  std::string key_text;
  for (const auto* k : keys) key_text += (key_text.empty() ? "" : ", ") + k->name;
  auto invalid = [](std::string message, const char* detail) {
    return SelectorError{{WbemStatus::kInvalidObjectPath, std::move(message)}, detail};
  };
  if (keys.empty()) {
    bool any = false;
    for (const auto& s : r.selectors) any |= !base::iequals(s.name, "__cimnamespace");
    return invalid(cls->name + " has no key properties: no selector names one of its instances",
                   any ? "UnexpectedSelectors" : "InsufficientSelectors");
  }

  ObjectPath p;
  p.class_name = cls->name;
  for (const auto& s : r.selectors) {
    if (base::iequals(s.name, "__cimnamespace")) continue;
    const PropertyDecl* prop = cls->property(s.name);
    if (!prop || !(prop->key || prop == creation)) {
      std::string known = (keys.size() == 1 ? "its key is " : "its keys are ") + key_text;
      if (creation) known += "; CreationDate may be given beside it";
      return invalid("selector '" + s.name + "' is not a key of " + cls->name + " (" + known + ")",
                     "UnexpectedSelectors");
    }
    if (p.key(prop->name))
      return invalid("selector '" + prop->name + "' is given twice", "DuplicateSelector");
    p.keys.push_back({prop->name, Value::string(s.value)});
  }
  std::string missing;
  for (const auto* k : keys)
    if (!p.key(k->name)) missing += (missing.empty() ? "" : ", ") + k->name;
  if (!missing.empty())
    return invalid(
        "selector " + missing + " is required: " + cls->name + " is keyed by " + key_text,
        "InsufficientSelectors");
  return p.relative();
}

}  // namespace

Result<Resource> resolve(const Request& r, const service::CimService* service) {
  const std::string& uri = r.resource_uri;
  Resource res;
  auto starts = [&](const char* p) { return uri.rfind(p, 0) == 0; };
  if (starts(ns::kWmiPrefix)) {
    std::string rest = uri.substr(std::string(ns::kWmiPrefix).size());  // root/cimv2/Class
    auto slash = rest.rfind('/');
    if (slash == std::string::npos)
      return Error{WbemStatus::kInvalidNamespace, "resource URI " + uri + " names no class"};
    res.ns = rest.substr(0, slash);
    res.cls = rest.substr(slash + 1);
  } else if (starts(ns::kDmtfPrefix) ||
             starts("http://schemas.microsoft.com/wbem/wscim/1/cim-schema/2/") ||
             uri == "http://schemas.dmtf.org/wbem/wscim/1/*") {
    // The DMTF family (and Microsoft's spelling of it): the class is the last segment, the
    // namespace a __cimnamespace selector; ".../wscim/1/*" is the wildcard for WQL filters.
    res.cls = uri.substr(uri.rfind('/') + 1);
    res.ns = "root/cimv2";
    for (const auto& s : r.selectors)
      if (base::iequals(s.name, "__cimnamespace")) res.ns = s.value;
  } else if (is_cim_xml(uri)) {
    return Error{WbemStatus::kNotSupported,
                 "the cim-xml resource URI serves class definitions with Get (GetClass) only; "
                 "use " +
                     std::string(ns::kWmiPrefix) + "root/cimv2/<Class> for instances"};
  } else {
    return Error{WbemStatus::kInvalidNamespace,
                 "resource URI '" + uri + "' is not served here (use " + ns::kWmiPrefix +
                     "root/cimv2/<Class> or " + ns::kDmtfPrefix + "<Class>)"};
  }
  for (char& c : res.ns)
    if (c == '/') c = '\\';
  while (!res.ns.empty() && res.ns.front() == '\\') res.ns.erase(res.ns.begin());
  if (service ? !service->has_namespace(res.ns) : !base::iequals(res.ns, "root\\cimv2"))
    return Error{WbemStatus::kInvalidNamespace,
                 "namespace '" + res.ns + "' does not exist (lwmi serves root/cimv2" +
                     (service ? " and root/subscription)" : " here)")};
  if (res.cls.empty()) return Error{WbemStatus::kInvalidClass, "resource URI names no class"};
  return res;
}

namespace {

/// The fault for `e` by its WBEM status.
Fault fault_by_status(const Error& e) {
  switch (e.code) {
    case WbemStatus::kNotFound:
    case WbemStatus::kInvalidClass:
    case WbemStatus::kInvalidNamespace:
      return make_fault("w:DestinationUnreachable", e.message, e.code);
    case WbemStatus::kInvalidObjectPath:
      return make_fault("w:InvalidSelectors", e.message, e.code);
    case WbemStatus::kInvalidQuery:
    case WbemStatus::kInvalidQueryType:
    case WbemStatus::kInvalidOperator:
    case WbemStatus::kInvalidProperty:
    case WbemStatus::kPropertyNotAnObject:
    case WbemStatus::kClassNameTooWide:
    case WbemStatus::kPropertyNameTooWide:
    case WbemStatus::kUnparsableQuery:
    case WbemStatus::kNotEventClass:
    case WbemStatus::kMissingGroupWithin:
    case WbemStatus::kMissingAggregationList:
    case WbemStatus::kAggregatingByObject:
    case WbemStatus::kRegistrationTooBroad:
    case WbemStatus::kRegistrationTooPrecise:
      return make_fault("w:CannotProcessFilter", e.message, e.code);
    case WbemStatus::kTimedOut:
      return make_fault("w:TimedOut", e.message, e.code, "s:Receiver");
    case WbemStatus::kQueueOverflow:
      return make_fault("w:QuotaLimit", e.message, e.code, "s:Receiver");
    case WbemStatus::kQuotaViolation:
      return make_fault("w:QuotaLimit", e.message, e.code);
    case WbemStatus::kInvalidMethod:
      return make_fault("a:ActionNotSupported", e.message, e.code);
    case WbemStatus::kInvalidMethodParameters:
    case WbemStatus::kInvalidParameter:
      return make_fault("w:InvalidParameter", e.message, e.code);
    case WbemStatus::kAccessDenied:
    case WbemStatus::kPrivilegeNotHeld:
      return make_fault("w:AccessDenied", e.message, e.code);
    case WbemStatus::kNotSupported:
      return make_fault("w:UnsupportedFeature", e.message, e.code);
    case WbemStatus::kAlreadyExists:  // Create of a key that is taken
      return make_fault("w:AlreadyExists", e.message, e.code);
    case WbemStatus::kProviderNotCapable:  // e.g. Delete on a read-only class
    case WbemStatus::kReadOnly:
      return make_fault("a:ActionNotSupported", e.message, e.code);
    default:
      return make_fault("w:InternalError", e.message, e.code, "s:Receiver");
  }
}

}  // namespace

Fault fault_for(const Error& e) {
  Fault f = fault_by_status(e);
  f.position = e.position;
  f.dropped_events = e.dropped_events;
  return f;
}

Operations::Operations(service::CimService& service, OperationLimits limits, Eventing* eventing)
    : service_(service), limits_(limits), eventing_(eventing) {}

void Operations::handle_async(const Request& r, security::Caller caller,
                              std::function<void(Response)> done) {
  if (r.operation == Operation::kPull && r.not_understood.empty() && eventing_ &&
      eventing_->is_subscription(r.context))
    return eventing_->pull(r, caller, std::move(done));
  done(handle(r, std::move(caller)));
}

size_t Operations::open_enumerations() const {
  base::MutexLock lock(mu_);
  return enumerations_.size();
}

Response Operations::handle(const Request& r, security::Caller caller) {
  if (!r.not_understood.empty()) {
    Fault f = make_fault(
        "",
        "header " + r.not_understood.front() + " is marked mustUnderstand and is not understood",
        WbemStatus::kNotSupported, "s:MustUnderstand");
    f.action = "http://www.w3.org/2005/08/addressing/soap/fault";
    return fault_response(r, f);
  }
  // EnablePrivilege: a local caller enables held privileges per request. The names are
  // trimmed, empty ones dropped and repeats counted once; more than kMaxPrivilegeNames distinct
  // names is a fault, and the refused ones are audited in one line per request (a hostile
  // ",,,," list must not turn into one audit line per comma).
  std::vector<std::string_view> names;
  for (const auto& [name, value] : r.options) {
    if (!base::iequals(name, "EnablePrivilege")) continue;
    for (auto p : base::split(value, ',')) {
      p = base::trim(p);
      if (p.empty()) continue;
      if (p == kEveryHeldPrivilege) {
        for (auto held : security::kPrivileges)
          if (caller.held.has(held)) caller.enable(held);
        continue;
      }
      if (std::any_of(names.begin(), names.end(),
                      [&](std::string_view n) { return base::iequals(n, p); }))
        continue;
      if (names.size() == kMaxPrivilegeNames)
        return fault_response(
            r, make_fault("w:InvalidOptions",
                          "option EnablePrivilege names more than " +
                              std::to_string(kMaxPrivilegeNames) + " distinct privileges",
                          WbemStatus::kInvalidParameter));
      names.push_back(p);
    }
  }
  std::vector<std::string> refused_names, refused_why;
  for (auto p : names) {
    auto priv = security::parse_privilege(p);
    if (priv && caller.enable(*priv)) continue;
    // Asking for a privilege not held changes nothing, and is audited.
    refused_names.push_back(priv ? std::string(security::privilege_name(*priv))
                                 : clip(p, kMaxAuditedName));
    refused_why.push_back(priv ? refused_names.back() + " is not held"
                               : "unknown privilege '" + refused_names.back() + "'");
  }
  if (!refused_names.empty()) {
    security::AuditRecord rec;
    rec.action = "EnablePrivilege";
    rec.result = "refused";
    rec.params = join(refused_names, ",");
    // One name: "SeDebugPrivilege is not held" or "unknown privilege" (params names it).
    rec.detail = refused_why.size() == 1 && !refused_why[0].ends_with(" is not held")
                     ? std::string("unknown privilege")
                     : join(refused_why, "; ");
    (void)service_.audit().record(caller, rec);
  }
  switch (r.operation) {
    case Operation::kIdentify: {
      Response out;
      out.is_identify = true;
      out.relates_to = r.message_id;
      return out;
    }
    case Operation::kGet:
      return get(r, caller);
    case Operation::kEnumerate:
      return enumerate(r, caller);
    case Operation::kPull:
      if (eventing_ && eventing_->is_subscription(r.context))
        return eventing_->pull_sync(r, caller);
      return pull(r, caller);
    case Operation::kSubscribe:
      if (!eventing_) break;
      return eventing_->subscribe(r, caller);
    case Operation::kUnsubscribe:
      if (!eventing_) break;
      return eventing_->unsubscribe(r, caller);
    case Operation::kRenew:
      if (!eventing_) break;
      return eventing_->renew(r, caller);
    case Operation::kRelease:
      return release(r, caller);
    case Operation::kInvoke:
      return invoke(r, caller);
    case Operation::kDelete:
      return remove(r, caller);
    case Operation::kCreate:
      return create(r, caller);
    default:
      break;
  }
  Fault f = make_fault("a:ActionNotSupported",
                       "the action '" + r.action + "' is not supported by this service",
                       WbemStatus::kNotSupported);
  f.action = "http://schemas.xmlsoap.org/ws/2004/08/addressing/fault";
  return fault_response(r, f);
}

// GetClass: a Get on the cim-xml resource URI, selectors __cimnamespace and ClassName.
static Response get_class(const Request& r, const service::CimService& service) {
  std::string ns = "root/cimv2";
  std::optional<std::string> name;
  for (const auto& s : r.selectors) {
    if (base::iequals(s.name, "__cimnamespace"))
      ns = s.value;
    else if (base::iequals(s.name, "ClassName"))
      name = s.value;
    else
      return fault_response(r, make_fault("w:InvalidSelectors",
                                          "selector '" + s.name +
                                              "' is not known for GetClass (use "
                                              "__cimnamespace and ClassName)",
                                          WbemStatus::kInvalidObjectPath));
  }
  if (!name || name->empty())
    return fault_response(r,
                          make_fault("w:InvalidSelectors", "GetClass needs the ClassName selector",
                                     WbemStatus::kInvalidObjectPath));
  auto cls = service.get_class(*name, ns);
  if (!cls.ok()) return fault_response(r, fault_for(cls.error()));
  Response out;
  out.action = std::string(kTransfer) + "GetResponse";
  out.relates_to = r.message_id;
  out.resource_uri = r.resource_uri;
  out.class_decl = std::move(*cls);
  return out;
}

Response Operations::get(const Request& r, const security::Caller& c) {
  if (is_cim_xml(r.resource_uri)) return get_class(r, service_);
  auto res = resolve(r, &service_);
  if (!res.ok()) return fault_response(r, fault_for(res.error()));
  if (res->cls == "*")
    return fault_response(r, make_fault("w:InvalidSelectors", "Get needs a class, not '*'",
                                        WbemStatus::kInvalidObjectPath));
  auto path = path_from_selectors(service_, *res, r);
  if (auto* e = std::get_if<SelectorError>(&path)) return selector_fault(r, *e);
  auto inst = service_.get_object(c, std::get<std::string>(path), {});
  if (!inst.ok()) return fault_response(r, fault_for(inst.error()));
  Response out;
  out.action = std::string(kTransfer) + "GetResponse";
  out.relates_to = r.message_id;
  out.resource_uri = r.resource_uri;
  out.instance = std::move(*inst);
  return out;
}

Response Operations::enumerate(const Request& r, const security::Caller& c) {
  auto res = resolve(r, &service_);
  if (!res.ok()) return fault_response(r, fault_for(res.error()));
  Result<std::unique_ptr<InstanceStream>> stream(WbemStatus::kFailed, "");
  if (!r.filter.empty()) {
    if (!r.filter_dialect.empty() && r.filter_dialect != ns::kWqlDialect)
      return fault_response(r, make_fault("w:FilterDialectRequestedUnavailable",
                                          "filter dialect '" + r.filter_dialect +
                                              "' is not supported: use " + ns::kWqlDialect,
                                          WbemStatus::kInvalidQueryType));
    stream = service_.exec_query(c, r.filter, "WQL", res->ns);
  } else if (res->cls == "*") {
    return fault_response(r,
                          make_fault("w:CannotProcessFilter", "enumerating '*' needs a WQL filter",
                                     WbemStatus::kInvalidQuery));
  } else {
    stream = service_.enumerate(c, res->cls, {}, res->ns);
  }
  if (!stream.ok()) return fault_response(r, fault_for(stream.error()));
  auto e = std::make_shared<Enumeration>();
  e->stream = std::move(*stream);
  e->opener = c;
  e->last_used = std::chrono::steady_clock::now();
  e->with_epr = r.object_and_epr || r.epr_only;
  e->with_object = !r.epr_only;
  e->resource_uri = r.resource_uri;
  Response out;
  out.action = std::string(kEnum) + "EnumerateResponse";
  out.relates_to = r.message_id;
  out.resource_uri = r.resource_uri;
  out.is_enumeration = true;
  if (r.optimize) {
    fill(*e, std::min(r.max_elements.value_or(1), limits_.max_elements), &out, r.max_envelope_size);
    if (out.fault) return out;
    if (out.end_of_sequence) return out;  // no context at the end of the sequence
  }
  base::MutexLock lock(mu_);
  expire_locked();
  size_t mine = 0;
  for (const auto& [id, en] : enumerations_) mine += en->opener.uid == c.uid;
  if (mine >= limits_.max_enumerations_per_user)
    return fault_response(r, make_fault("w:QuotaLimit",
                                        "too many open enumerations for this user (" +
                                            std::to_string(mine) + "); Release some",
                                        WbemStatus::kQuotaViolation));
  out.context = base::new_uuid();
  enumerations_[out.context] = e;
  return out;
}

void Operations::fill(Enumeration& e, uint32_t max, Response* out,
                      std::optional<uint64_t> max_bytes) {
  if (max == 0) max = 1;
  // MaxEnvelopeSize: the response grows item by item; an item that would not fit waits for the
  // next Pull. Sizes are measured with the codec: the empty response, then each item alone.
  size_t used = 0, base = 0;
  if (max_bytes) {
    Response empty = *out;
    empty.items.clear();
    empty.context = std::string(48, 'x');  // room for the context the response may carry
    base = encode(empty).size();
    used = base;
  }
  while (out->items.size() < max) {
    Instance inst;
    if (e.lookahead) {
      inst = std::move(*e.lookahead);
      e.lookahead.reset();
    } else if (!e.stream->next(&inst)) {
      if (e.stream->error()) {
        out->fault = fault_for(*e.stream->error());
        return;
      }
      out->end_of_sequence = true;
      return;
    }
    Item item{std::move(inst), e.with_object, e.with_epr};
    if (max_bytes) {
      Response one = *out;
      one.items.clear();
      one.items.push_back(item);
      one.context.clear();
      size_t alone = encode(one).size() + 48;  // as `base`, with room for a context
      size_t add = alone > base ? alone - base : 0;
      if (used + add > *max_bytes) {
        e.lookahead = std::move(item.instance);
        if (out->items.empty()) {
          out->fault = make_fault("w:EncodingLimit",
                                  "one instance needs more than MaxEnvelopeSize " +
                                      std::to_string(*max_bytes) + " bytes",
                                  WbemStatus::kQuotaViolation);
        }
        return;  // the rest comes with the next Pull
      }
      used += add;
    }
    out->items.push_back(std::move(item));
  }
  // Look one ahead, so the last batch says EndOfSequence instead of costing an empty Pull.
  Instance next;
  if (e.stream->next(&next))
    e.lookahead = std::move(next);
  else if (!e.stream->error())
    out->end_of_sequence = true;
}

void Operations::expire_locked() {
  auto now = std::chrono::steady_clock::now();
  for (auto it = enumerations_.begin(); it != enumerations_.end();) {
    if (now - it->second->last_used > limits_.enumeration_idle)
      it = enumerations_.erase(it);
    else
      ++it;
  }
}

Response Operations::pull(const Request& r, const security::Caller& c) {
  std::shared_ptr<Enumeration> e;
  {
    base::MutexLock lock(mu_);
    expire_locked();
    auto it = enumerations_.find(r.context);
    if (it != enumerations_.end() && it->second->opener.owner() == c.owner()) {
      e = it->second;
      enumerations_.erase(it);  // one Pull at a time: taken out while in use
    }
  }
  if (e) {
    if (auto lost = c.privilege_lost_since(e->opener)) {
      // Its stream reads with the rights of Enumerate: with one of them gone, it is ended (taken
      // out above) rather than go on returning what the caller may no longer read.
      return fault_response(
          r, fault_for(
                 Error{WbemStatus::kAccessDenied,
                       "the enumeration is ended: " + std::string(security::privilege_name(*lost)) +
                           ", enabled when it was opened, is no longer held; enumerate "
                           "again"}));
    }
  }
  if (!e) {
    Fault f = make_fault("n:InvalidEnumerationContext",
                         "the enumeration context is not valid (expired, released, finished, or "
                         "another user's)",
                         WbemStatus::kInvalidParameter);
    f.action = std::string(kEnum) + "fault";
    return fault_response(r, f);
  }
  Response out;
  out.action = std::string(kEnum) + "PullResponse";
  out.relates_to = r.message_id;
  out.resource_uri = e->resource_uri;
  out.is_pull = true;
  fill(*e, std::min(r.max_elements.value_or(1), limits_.max_elements), &out, r.max_envelope_size);
  if (out.fault) {
    base::MutexLock lock(mu_);
    enumerations_[r.context] = e;  // still usable with a larger MaxEnvelopeSize
    return out;
  }
  if (!out.end_of_sequence) {
    base::MutexLock lock(mu_);
    e->last_used = std::chrono::steady_clock::now();
    out.context = r.context;
    enumerations_[r.context] = e;
  }
  return out;
}

Response Operations::release(const Request& r, const security::Caller& c) {
  base::MutexLock lock(mu_);
  auto it = enumerations_.find(r.context);
  if (it == enumerations_.end() || it->second->opener.owner() != c.owner()) {
    Fault f = make_fault("n:InvalidEnumerationContext", "the enumeration context is not valid",
                         WbemStatus::kInvalidParameter);
    f.action = std::string(kEnum) + "fault";
    return fault_response(r, f);
  }
  enumerations_.erase(it);
  Response out;
  out.action = std::string(kEnum) + "ReleaseResponse";
  out.relates_to = r.message_id;
  return out;
}

Response Operations::invoke(const Request& r, const security::Caller& c) {
  Parameters in;
  for (const auto& [n, v] : r.parameters) in.push_back({n, Value::string(v)});
  // A call whose resource URI or selectors name no instance is refused here, and audited as
  // the service audits its own refusals.
  auto res = resolve(r, &service_);
  if (!res.ok()) {
    service_.audit_refused_call(c, r.resource_uri, r.method, in, res.error());
    return fault_response(r, fault_for(res.error()));
  }
  bool has_keys = false;
  for (const auto& s : r.selectors)
    if (!base::iequals(s.name, "__cimnamespace")) has_keys = true;
  std::string path;
  if (has_keys) {
    auto p = path_from_selectors(service_, *res, r);
    if (auto* e = std::get_if<SelectorError>(&p)) {
      service_.audit_refused_call(c, r.resource_uri, r.method, in, e->error);
      return selector_fault(r, *e);
    }
    path = std::get<std::string>(p);
  } else if (auto cls = service_.get_class(res->cls, res->ns); !cls.ok()) {
    service_.audit_refused_call(c, r.resource_uri, r.method, in, cls.error());
    return fault_response(r, fault_for(cls.error()));
  } else {
    path = res->cls;
  }
  // lwmic --dry-run: what the call would return, nothing done or audited.
  bool what_if = false;
  for (const auto& [name, value] : r.options)
    if (base::iequals(name, "lwmi_WhatIf")) what_if = base::iequals(base::trim(value), "true");
  auto result = service_.exec_method(c, path, r.method, in, what_if);
  if (!result.ok()) return fault_response(r, fault_for(result.error()));
  Response out;
  out.action = r.resource_uri + "/" + r.method + "Response";
  out.relates_to = r.message_id;
  out.resource_uri = r.resource_uri;
  out.output_element = r.method + "_OUTPUT";
  out.instance = out_parameters(*result);
  // Why a call was refused (or what else happened) reaches every client, as it does in
  // embedded mode: process 4095 belongs to root: SeDebugPrivilege must be held and enabled.
  out.notes = result->notes;
  return out;
}

Response Operations::remove(const Request& r, const security::Caller& c) {
  // Refused here: audited as the Terminate it would have been.
  auto res = resolve(r, &service_);
  if (!res.ok()) {
    service_.audit_refused_call(c, r.resource_uri, "Terminate", {}, res.error());
    return fault_response(r, fault_for(res.error()));
  }
  auto path = path_from_selectors(service_, *res, r);
  if (auto* e = std::get_if<SelectorError>(&path)) {
    service_.audit_refused_call(c, r.resource_uri, "Terminate", {}, e->error);
    return selector_fault(r, *e);
  }
  auto result = service_.delete_instance(c, std::get<std::string>(path));
  if (!result.ok()) return fault_response(r, fault_for(result.error()));
  Response out;
  out.action = std::string(kTransfer) + "DeleteResponse";
  out.relates_to = r.message_id;
  return out;
}

Response Operations::create(const Request& r, const security::Caller& c) {
  Parameters props;
  for (const auto& p : r.instance_properties)
    props.push_back({p.name, p.nil ? Value::null(CimType::kString) : Value::string(p.text)});
  // Refused here: audited as the service audits the refusals it decides itself.
  auto refused = [&](Fault f, const Error& e) {
    service_.audit_refused_call(c, r.resource_uri, "CreateInstance", props, e);
    return fault_response(r, std::move(f));
  };
  auto res = resolve(r, &service_);
  if (!res.ok()) return refused(fault_for(res.error()), res.error());
  if (res->cls == "*") {
    Error e{WbemStatus::kInvalidClass, "Create needs a class in its resource URI, not '*'"};
    return refused(fault_for(e), e);
  }
  auto cls = service_.get_class(res->cls, res->ns);
  if (!cls.ok()) return refused(fault_for(cls.error()), cls.error());
  // The body is an instance of the resource URI's class, in the resource URI's namespace.
  auto schema_fault = [&](std::string reason) {
    Error e{WbemStatus::kInvalidParameter, std::move(reason)};
    return refused(make_fault("w:SchemaValidationError", e.message, e.code), e);
  };
  if (!base::iequals(r.instance_element, (*cls)->name))
    return schema_fault("the Create body is an instance of '" + clip(r.instance_element, 256) +
                        "', but the resource URI names class " + (*cls)->name);
  if (!base::iequals(r.instance_namespace, r.resource_uri))
    return schema_fault("the Create body's <" + (*cls)->name + "> is in namespace '" +
                        clip(r.instance_namespace, 256) + "', expected the resource URI " +
                        clip(r.resource_uri, 256));
  auto made = service_.create_instance(c, res->ns + ":" + (*cls)->name, props);
  if (!made.ok()) {
    // A property the class lacks or a value of the wrong type is a body that does not match
    // the class's schema.
    const Error& e = made.error();
    if (e.code == WbemStatus::kInvalidProperty || e.code == WbemStatus::kTypeMismatch)
      return fault_response(r, make_fault("w:SchemaValidationError", e.message, e.code));
    return fault_response(r, fault_for(e));
  }
  Response out;
  out.action = std::string(kTransfer) + "CreateResponse";
  out.relates_to = r.message_id;
  out.resource_uri = r.resource_uri;
  out.created = std::move(*made);
  return out;
}

}  // namespace lwmi::wsman
