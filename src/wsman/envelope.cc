// wsman/envelope.cc — SOAP 1.2 envelope codec for WS-Management (libxml2 for decoding, a small
// escaping writer for encoding).
#include "wsman/envelope.h"
#include "wsman/xml.h"

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>

#include "base/strings.h"
#include "cim/schema.h"
#include "lwmi/datetime.h"
#include "wsman/client_codec.h"

namespace lwmi::wsman {

namespace {

using base::iequals;

// ---------------------------------------------------------------------------------------------
// Small helpers

std::string trimmed(std::string_view s) {
  return std::string(base::trim(s));
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

Fault make_fault(std::string subcode, std::string reason, std::string code = "s:Sender",
                 WbemStatus wbem = WbemStatus::kInvalidParameter) {
  Fault f;
  f.code = std::move(code);
  f.subcode = std::move(subcode);
  f.reason = std::move(reason);
  f.wbem = wbem;
  f.http_status = 400;
  return f;
}

/// xs:duration ("PT60.000S", "P0DT0H1M", "-PT1S" is refused) as seconds; years count 365 days
/// and months 30 days.
std::optional<double> parse_duration(std::string_view text) {
  std::string_view s = base::trim(text);
  if (s.size() < 2 || s[0] != 'P') return std::nullopt;
  size_t i = 1;
  bool in_time = false;
  bool any = false;
  double total = 0;
  // Designators must appear in order: Y M D, then T H M S.
  int last_rank = -1;
  while (i < s.size()) {
    if (s[i] == 'T') {
      if (in_time) return std::nullopt;
      in_time = true;
      ++i;
      if (i >= s.size()) return std::nullopt;  // "P1DT" is invalid
      continue;
    }
    size_t start = i;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    if (i == start || i >= s.size()) return std::nullopt;
    std::string num(s.substr(start, i - start));
    if (num.find('.') != std::string::npos &&
        (num.find('.') != num.rfind('.') || num.front() == '.' || num.back() == '.'))
      return std::nullopt;
    char unit = s[i++];
    double v = std::strtod(num.c_str(), nullptr);
    int rank;
    double factor;
    if (!in_time) {
      if (unit == 'Y')
        rank = 0, factor = 365.0 * 86400;
      else if (unit == 'M')
        rank = 1, factor = 30.0 * 86400;
      else if (unit == 'D')
        rank = 2, factor = 86400;
      else
        return std::nullopt;
    } else {
      if (unit == 'H')
        rank = 3, factor = 3600;
      else if (unit == 'M')
        rank = 4, factor = 60;
      else if (unit == 'S')
        rank = 5, factor = 1;
      else
        return std::nullopt;
    }
    if (rank <= last_rank) return std::nullopt;
    if (num.find('.') != std::string::npos && unit != 'S') return std::nullopt;
    last_rank = rank;
    total += v * factor;
    any = true;
  }
  if (!any || !std::isfinite(total)) return std::nullopt;
  return total;
}

// ---------------------------------------------------------------------------------------------
// libxml2 access

void init_libxml() {
  static std::once_flag once;
  std::call_once(once, [] { xmlInitParser(); });
}

using xml::attr;
using xml::child;
using xml::DocFree;
using xml::elements;
using xml::escape;
using xml::href;
using xml::is;
using xml::local;
using xml::raw_text;
struct CtxtFree {
  void operator()(xmlParserCtxt* c) const { xmlFreeParserCtxt(c); }
};

struct ParseGuard {
  bool dtd = false;
  bool too_deep = false;
};

void on_subset(void* ctx, const xmlChar*, const xmlChar*, const xmlChar*) {
  auto* ctxt = static_cast<xmlParserCtxtPtr>(ctx);
  static_cast<ParseGuard*>(ctxt->_private)->dtd = true;
  xmlStopParser(ctxt);
}

void on_entity(void* ctx, const xmlChar*, int, const xmlChar*, const xmlChar*, xmlChar*) {
  auto* ctxt = static_cast<xmlParserCtxtPtr>(ctx);
  static_cast<ParseGuard*>(ctxt->_private)->dtd = true;
  xmlStopParser(ctxt);
}

void on_start_element(void* ctx, const xmlChar* localname, const xmlChar* prefix,
                      const xmlChar* uri, int nb_namespaces, const xmlChar** namespaces,
                      int nb_attributes, int nb_defaulted, const xmlChar** attributes) {
  auto* ctxt = static_cast<xmlParserCtxtPtr>(ctx);
  // nameNr counts the open ancestors of this element.
  if (ctxt->nameNr + 1 > kMaxXmlDepth) {
    static_cast<ParseGuard*>(ctxt->_private)->too_deep = true;
    xmlStopParser(ctxt);
    return;
  }
  xmlSAX2StartElementNs(ctx, localname, prefix, uri, nb_namespaces, namespaces, nb_attributes,
                        nb_defaulted, attributes);
}

void ignore_structured_error(void*, xmlErrorPtr) {}

std::string text(const xmlNode* n) {
  return trimmed(raw_text(n));
}

bool truthy(const std::optional<std::string>& v) {
  if (!v) return false;
  std::string_view t = base::trim(*v);
  return t == "true" || t == "1";
}

std::string qname(const xmlNode* n) {
  return std::string("{") + href(n) + "}" + local(n);
}

// ---------------------------------------------------------------------------------------------
// Decoding

struct ActionEntry {
  const char* ns;
  const char* name;
  Operation op;
};

const ActionEntry kActions[] = {
    {ns::kTransfer, "Get", Operation::kGet},
    {ns::kTransfer, "Put", Operation::kPut},
    {ns::kTransfer, "Delete", Operation::kDelete},
    {ns::kTransfer, "Create", Operation::kCreate},
    {ns::kEnumeration, "Enumerate", Operation::kEnumerate},
    {ns::kEnumeration, "Pull", Operation::kPull},
    {ns::kEnumeration, "Release", Operation::kRelease},
    {ns::kEventing, "Subscribe", Operation::kSubscribe},
    {ns::kEventing, "Unsubscribe", Operation::kUnsubscribe},
    {ns::kEventing, "Renew", Operation::kRenew},
    {"http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity", "Identify",
     Operation::kIdentify},
};

/// Resource-URI families an Invoke action may be rooted in (besides the ResourceURI itself).
const char* const kInvokeRoots[] = {
    ns::kWmiPrefix,
    "http://schemas.dmtf.org/wbem/wscim/1/",
    "http://schemas.microsoft.com/wbem/wscim/1/",
};

bool is_method_name(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return !std::isdigit(static_cast<unsigned char>(s[0]));
}

void classify_action(Request& r) {
  const std::string& a = r.action;
  for (const auto& e : kActions) {
    size_t n = std::strlen(e.ns);
    if (a.size() == n + 1 + std::strlen(e.name) && a.compare(0, n, e.ns) == 0 && a[n] == '/' &&
        a.compare(n + 1, std::string::npos, e.name) == 0) {
      r.operation = e.op;
      return;
    }
  }
  r.operation = Operation::kUnknown;
  size_t slash = a.rfind('/');
  if (slash == std::string::npos) return;
  std::string_view prefix(a.data(), slash);
  std::string_view method(a.data() + slash + 1, a.size() - slash - 1);
  if (!is_method_name(method)) return;
  bool rooted = !r.resource_uri.empty() && iequals(prefix, r.resource_uri);
  for (const char* root : kInvokeRoots)
    if (starts_with_ci(prefix, root) && prefix.size() > std::strlen(root)) rooted = true;
  if (!rooted) return;
  r.operation = Operation::kInvoke;
  r.method = std::string(method);
}

bool handled_header(const xmlNode* h) {
  const char* ns = href(h);
  const char* name = local(h);
  auto one_of = [&](std::initializer_list<const char*> names) {
    for (const char* n : names)
      if (std::strcmp(name, n) == 0) return true;
    return false;
  };
  if (std::strcmp(ns, ns::kMsWsman) == 0) return true;
  if (std::strcmp(ns, ns::kAddressing) == 0)
    return one_of({"Action", "To", "MessageID", "ReplyTo"});
  if (std::strcmp(ns, ns::kWsman) == 0)
    return one_of({"ResourceURI", "SelectorSet", "OptionSet", "OperationTimeout", "MaxEnvelopeSize",
                   "Locale", "DataLocale", "SessionId", "OperationID", "SequenceId"});
  if (std::strcmp(ns, ns::kEventing) == 0) return one_of({"Identifier"});
  return false;
}

std::optional<Fault> decode_header(const xmlNode* header, Request& r) {
  for (xmlNode* h : elements(header)) {
    const char* ns = href(h);
    if (std::strcmp(ns, ns::kAddressing) == 0) {
      if (is(h, ns::kAddressing, "Action"))
        r.action = text(h);
      else if (is(h, ns::kAddressing, "To"))
        r.to = text(h);
      else if (is(h, ns::kAddressing, "MessageID"))
        r.message_id = text(h);
      else if (is(h, ns::kAddressing, "ReplyTo")) {
        if (xmlNode* a = child(h, ns::kAddressing, "Address")) r.reply_to = text(a);
      }
    } else if (std::strcmp(ns, ns::kWsman) == 0) {
      if (is(h, ns::kWsman, "ResourceURI")) {
        r.resource_uri = text(h);
      } else if (is(h, ns::kWsman, "SelectorSet")) {
        for (xmlNode* s : elements(h)) {
          if (!is(s, ns::kWsman, "Selector")) continue;
          r.selectors.push_back({trimmed(attr(s, "Name").value_or("")), text(s)});
        }
      } else if (is(h, ns::kWsman, "OptionSet")) {
        for (xmlNode* o : elements(h)) {
          if (!is(o, ns::kWsman, "Option")) continue;
          r.options.emplace_back(trimmed(attr(o, "Name").value_or("")), text(o));
        }
      } else if (is(h, ns::kWsman, "OperationTimeout")) {
        auto d = parse_duration(text(h));
        if (!d)
          return make_fault("w:InvalidMessageInformationHeader",
                            "wsman:OperationTimeout is not an xs:duration: '" + text(h) + "'");
        r.operation_timeout_s = *d;
      } else if (is(h, ns::kWsman, "MaxEnvelopeSize")) {
        auto v = base::parse_u64(text(h));
        if (!v)
          return make_fault("w:InvalidMessageInformationHeader",
                            "wsman:MaxEnvelopeSize is not an unsigned integer: '" + text(h) + "'");
        r.max_envelope_size = *v;
      } else if (is(h, ns::kWsman, "Locale")) {
        r.locale =
            trimmed(attr(h, "lang", reinterpret_cast<const char*>(XML_XML_NAMESPACE)).value_or(""));
      }
    } else if (is(h, ns::kEventing, "Identifier")) {
      r.identifier = text(h);
    }
    if (!handled_header(h) && truthy(attr(h, "mustUnderstand", ns::kSoap)))
      r.not_understood.push_back(qname(h));
  }
  return std::nullopt;
}

std::optional<uint32_t> parse_u32(std::string_view s) {
  auto v = base::parse_u64(base::trim(s));
  if (!v || *v > UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(*v);
}

Fault body_fault(std::string reason) {
  return make_fault("w:SchemaValidationError", std::move(reason));
}

/// The property elements of an instance or <Method>_INPUT element, flattened into (name, text):
/// nil elements go to `nils`, an embedded object's properties become "Param.Prop".
void collect_parameters(const xmlNode* element, Request& r) {
  for (xmlNode* p : elements(element)) {
    std::string name = local(p);
    if (truthy(attr(p, "nil", ns::kXsi))) {
      r.nil_parameters.push_back(name);
      continue;
    }
    auto kids = elements(p);
    if (kids.empty()) {
      r.parameters.emplace_back(name, text(p));
      continue;
    }
    for (xmlNode* k : kids) {
      std::string sub = name + "." + local(k);
      if (truthy(attr(k, "nil", ns::kXsi)))
        r.nil_parameters.push_back(sub);
      else
        r.parameters.emplace_back(sub, text(k));
    }
  }
}

/// An endpoint reference (wsa:Address, wsa:ReferenceParameters with wsman:ResourceURI and
/// SelectorSet, maybe wrapped in wsa:EndpointReference) inside property `name` of a Create
/// body, as object path text: Class.Key="value",… (the class is the ResourceURI's last segment).
std::variant<std::string, Fault> reference_path(const std::string& name, const xmlNode* p) {
  if (xmlNode* wrapped = child(p, ns::kAddressing, "EndpointReference")) p = wrapped;
  xmlNode* params = child(p, ns::kAddressing, "ReferenceParameters");
  xmlNode* uri = params ? child(params, ns::kWsman, "ResourceURI") : nullptr;
  if (!uri)
    return body_fault("property " + name +
                      " holds an endpoint reference without wsa:ReferenceParameters/"
                      "wsman:ResourceURI");
  std::string resource = text(uri);
  std::string cls = resource.substr(resource.rfind('/') + 1);
  if (!is_method_name(cls))  // a class name has the syntax of a method name
    return body_fault("property " + name + " refers to resource URI '" + resource +
                      "', which names no class");
  ObjectPath path;
  path.class_name = cls;
  for (xmlNode* s : elements(child(params, ns::kWsman, "SelectorSet"))) {
    if (!is(s, ns::kWsman, "Selector")) continue;
    std::string key = trimmed(attr(s, "Name").value_or(""));
    if (iequals(key, "__cimnamespace")) continue;
    if (!elements(s).empty())
      return body_fault("property " + name + ": selector '" + key +
                        "' holds elements; only text selectors are accepted");
    if (!is_method_name(key))
      return body_fault("property " + name + ": selector name '" + key +
                        "' is not a property name");
    path.keys.push_back({key, Value::string(text(s))});
  }
  if (path.keys.empty())
    return body_fault("property " + name + " refers to " + cls +
                      " without selectors: a reference names one instance");
  return path.relative();
}

/// The body of a Create: one instance element, its children the properties. A property is text,
/// xsi:nil, an endpoint reference (a REF property) or a cim:Datetime / cim:Interval; anything
/// else nested is refused, as is a second top-level element.
std::optional<Fault> decode_instance(const std::vector<xmlNode*>& kids, Request& r) {
  if (kids.empty()) return body_fault("the Create body holds no instance element");
  if (kids.size() > 1)
    return body_fault(std::string("the Create body holds more than one element (<") +
                      local(kids[0]) + "> and <" + local(kids[1]) + ">)");
  const xmlNode* inst = kids.front();
  r.instance_element = local(inst);
  r.instance_namespace = href(inst);
  for (xmlNode* p : elements(inst)) {
    PropertyText prop;
    prop.name = local(p);
    // A property is in its instance's namespace (or, written unqualified, in none).
    if (*href(p) && std::strcmp(href(p), href(inst)) != 0)
      return body_fault("property " + prop.name + " is in namespace '" + href(p) +
                        "', not its instance's '" + href(inst) + "'");
    if (truthy(attr(p, "nil", ns::kXsi))) {
      prop.nil = true;
    } else if (auto nested = elements(p); nested.empty()) {
      prop.text = text(p);
    } else if (child(p, ns::kAddressing, "ReferenceParameters") ||
               child(p, ns::kAddressing, "EndpointReference")) {
      auto path = reference_path(prop.name, p);
      if (auto* f = std::get_if<Fault>(&path)) return *f;
      prop.text = std::get<std::string>(path);
    } else if (nested.size() == 1 &&
               (is(nested[0], ns::kCim, "Datetime") || is(nested[0], ns::kCim, "Interval"))) {
      std::string t = text(nested[0]);
      auto cim = is(nested[0], ns::kCim, "Datetime") ? client::cim_datetime_from_xs(t)
                                                     : client::cim_interval_from_xs(t);
      prop.text = cim ? *cim : t;
    } else {
      return body_fault("property " + prop.name + " holds <" + local(nested[0]) +
                        ">: a property is a value, xsi:nil or an endpoint reference");
    }
    r.instance_properties.push_back(std::move(prop));
  }
  return std::nullopt;
}

std::optional<Fault> decode_body(const xmlNode* body, Request& r) {
  auto kids = elements(body);
  xmlNode* first = kids.empty() ? nullptr : kids.front();
  switch (r.operation) {
    case Operation::kEnumerate: {
      if (!first) break;
      if (!is(first, ns::kEnumeration, "Enumerate"))
        return body_fault(std::string("the Enumerate body is <") + local(first) +
                          ">, expected wsen:Enumerate");
      for (xmlNode* e : elements(first)) {
        if (is(e, ns::kWsman, "Filter") || is(e, ns::kEnumeration, "Filter")) {
          r.filter = text(e);
          r.filter_dialect = trimmed(attr(e, "Dialect").value_or(""));
        } else if (is(e, ns::kWsman, "OptimizeEnumeration")) {
          r.optimize = true;
        } else if (is(e, ns::kWsman, "MaxElements")) {
          auto v = parse_u32(text(e));
          if (!v)
            return body_fault("wsman:MaxElements is not an unsigned integer: '" + text(e) + "'");
          r.max_elements = *v;
        } else if (is(e, ns::kWsman, "EnumerationMode")) {
          std::string mode = text(e);
          if (mode == "EnumerateObjectAndEPR")
            r.object_and_epr = true;
          else if (mode == "EnumerateEPR")
            r.epr_only = true;
          else
            return body_fault("unknown wsman:EnumerationMode '" + mode + "'");
        }
      }
      break;
    }
    case Operation::kPull:
    case Operation::kRelease: {
      const char* want = r.operation == Operation::kPull ? "Pull" : "Release";
      if (!first || !is(first, ns::kEnumeration, want))
        return body_fault(std::string("the body has no wsen:") + want + " element");
      for (xmlNode* e : elements(first)) {
        if (is(e, ns::kEnumeration, "EnumerationContext")) {
          r.context = text(e);
        } else if (is(e, ns::kEnumeration, "MaxElements") || is(e, ns::kWsman, "MaxElements")) {
          auto v = parse_u32(text(e));
          if (!v)
            return body_fault("wsen:MaxElements is not an unsigned integer: '" + text(e) + "'");
          r.max_elements = *v;
        } else if (is(e, ns::kEnumeration, "MaxTime")) {
          auto d = parse_duration(text(e));
          if (!d) return body_fault("wsen:MaxTime is not an xs:duration: '" + text(e) + "'");
          r.max_time_s = *d;
        }
      }
      break;
    }
    case Operation::kInvoke: {
      if (!first) break;
      if (kids.size() > 1) return body_fault("the Invoke body has more than one element");
      std::string want = r.method + "_INPUT";
      if (!iequals(local(first), want))
        return body_fault(std::string("the Invoke body is <") + local(first) + ">, expected <" +
                          want + ">");
      collect_parameters(first, r);
      break;
    }
    case Operation::kPut:
      if (first) collect_parameters(first, r);
      break;
    case Operation::kCreate:
      return decode_instance(kids, r);
    case Operation::kSubscribe: {
      if (!first || !is(first, ns::kEventing, "Subscribe"))
        return body_fault("the body has no wse:Subscribe element");
      for (xmlNode* e : elements(first)) {
        if (is(e, ns::kEventing, "Delivery")) {
          r.delivery_mode = trimmed(attr(e, "Mode").value_or(""));
          if (xmlNode* hb = child(e, ns::kWsman, "Heartbeats")) {
            auto d = parse_duration(text(hb));
            if (!d) return body_fault("wsman:Heartbeats is not an xs:duration: '" + text(hb) + "'");
            r.heartbeats_s = *d;
          }
        } else if (is(e, ns::kEventing, "Expires")) {
          auto d = parse_duration(text(e));
          if (!d) {
            Fault f = body_fault("wse:Expires is not an xs:duration: '" + text(e) + "'");
            f.subcode = "e:InvalidExpirationTime";
            return f;
          }
          r.expires_s = *d;
        } else if (is(e, ns::kWsman, "Filter") || is(e, ns::kEventing, "Filter")) {
          r.filter = text(e);
          r.filter_dialect = trimmed(attr(e, "Dialect").value_or(""));
        } else if (is(e, ns::kWsman, "Heartbeats")) {
          auto d = parse_duration(text(e));
          if (!d) return body_fault("wsman:Heartbeats is not an xs:duration: '" + text(e) + "'");
          r.heartbeats_s = *d;
        }
      }
      break;
    }
    case Operation::kRenew: {
      if (first && is(first, ns::kEventing, "Renew"))
        if (xmlNode* e = child(first, ns::kEventing, "Expires")) {
          auto d = parse_duration(text(e));
          if (!d) {
            Fault f = body_fault("wse:Expires is not an xs:duration: '" + text(e) + "'");
            f.subcode = "e:InvalidExpirationTime";
            return f;
          }
          r.expires_s = *d;
        }
      break;
    }
    default:
      break;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Encoding

std::string esc(std::string_view s) {
  std::string out;
  escape(out, s);
  return out;
}

std::string new_message_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t hi = rng(), lo = rng();
  hi = (hi & ~0xF000ULL) | 0x4000ULL;                         // version 4
  lo = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // variant 10
  char buf[64];
  std::snprintf(buf, sizeof buf, "uuid:%08x-%04x-%04x-%04x-%012llx",
                static_cast<unsigned>(hi >> 32), static_cast<unsigned>((hi >> 16) & 0xFFFF),
                static_cast<unsigned>(hi & 0xFFFF), static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFULL));
  return buf;
}

std::string duration_text(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) seconds = 0;
  char buf[64];
  std::snprintf(buf, sizeof buf, "PT%.3fS", seconds);
  return buf;
}

/// CIM DATETIME text as <cim:Datetime> (xs:dateTime) or <cim:Interval> (xs:duration); text that
/// cannot be converted (wildcards) is sent as it is inside cim:Datetime.
std::string datetime_element(const std::string& cim) {
  auto parsed = DateTime::parse(cim);
  if (parsed.ok() && !parsed->has_wildcards() && cim.size() == 25) {
    const std::string& t = cim;
    if (parsed->is_interval()) {
      unsigned long long days = std::strtoull(t.substr(0, 8).c_str(), nullptr, 10);
      std::string out = "<cim:Interval>P" + std::to_string(days) + "DT" + t.substr(8, 2) + "H" +
                        t.substr(10, 2) + "M" + t.substr(12, 2) + "." + t.substr(15, 6) +
                        "S</cim:Interval>";
      return out;
    }
    int off = parsed->offset_minutes();
    char sign = off < 0 ? '-' : '+';
    int a = off < 0 ? -off : off;
    char zone[16];
    std::snprintf(zone, sizeof zone, "%c%02d:%02d", sign, a / 60, a % 60);
    return "<cim:Datetime>" + t.substr(0, 4) + "-" + t.substr(4, 2) + "-" + t.substr(6, 2) + "T" +
           t.substr(8, 2) + ":" + t.substr(10, 2) + ":" + t.substr(12, 2) + "." + t.substr(15, 6) +
           zone + "</cim:Datetime>";
  }
  return "<cim:Datetime>" + esc(cim) + "</cim:Datetime>";
}

std::string scalar_text(const Value& v) {
  switch (v.type()) {
    case CimType::kBoolean:
      return v.as_bool() ? "true" : "false";
    case CimType::kReal32:
    case CimType::kReal64: {
      double d = v.as_real();
      if (std::isnan(d)) return "NaN";
      if (std::isinf(d)) return d > 0 ? "INF" : "-INF";
      return v.to_text();
    }
    default:
      return v.to_text();
  }
}

/// The namespace URI naming class `cls` in the resource-URI family of `resource_uri`.
std::string class_namespace(const std::string& resource_uri, const Instance& inst) {
  if (starts_with_ci(resource_uri, ns::kWmiPrefix)) {
    std::string nsp = inst.namespace_path();
    for (char& c : nsp)
      if (c == '\\') c = '/';
    if (nsp.empty()) nsp = "root/cimv2";
    return std::string(ns::kWmiPrefix) + nsp + "/" + inst.class_name();
  }
  return std::string(ns::kDmtfPrefix) + inst.class_name();
}

class Writer {
 public:
  explicit Writer(const std::string& resource_uri) : resource_uri_(resource_uri) {}
  std::string out;

  /// <prefix:Class xmlns:prefix=… xsi:type=…> with one child per present property.
  void instance(const Instance& inst, const std::string& element, const std::string& nsuri,
                bool return_value_first, int depth = 0) {
    std::string p = depth == 0 ? "p" : "p" + std::to_string(depth);
    out += "<" + p + ":" + element + " xmlns:" + p + "=\"" + esc(nsuri) + "\"";
    if (!return_value_first) out += " xsi:type=\"" + p + ":" + esc(element) + "_Type\"";
    if (inst.is_class()) {
      class_object(inst, p);
      return;
    }
    out += ">";
    auto props = inst.properties();
    if (return_value_first) {
      for (const auto& [name, value] : props)
        if (iequals(name, "ReturnValue")) property(p, name, value, depth);
      for (const auto& [name, value] : props)
        if (!iequals(name, "ReturnValue")) property(p, name, value, depth);
    } else {
      for (const auto& [name, value] : props) property(p, name, value, depth);
    }
    out += "</" + p + ":" + element + ">";
  }

  /// A class object (a schema query's result, __GENUS 1): lwmi's attributes say it is a class
  /// and name its ancestors, nearest first; each property it declares is an element without a
  /// value, as a WMI class object holds them. Other clients see an instance with NULLs.
  void class_object(const Instance& inst, const std::string& p) {
    const ClassDecl& cls = inst.cls();
    out += std::string(" xmlns:l=\"") + ns::kLwmi + "\" l:Genus=\"1\"";
    std::string derivation;
    for (const auto& d : cls.derivation) derivation += (derivation.empty() ? "" : " ") + d;
    if (!derivation.empty()) out += " l:Derivation=\"" + esc(derivation) + "\"";
    out += ">";
    for (const auto& prop : cls.properties)
      out += "<" + p + ":" + esc(prop.name) + " xsi:nil=\"true\"/>";
    out += "</" + p + ":" + esc(cls.name) + ">";
  }

  void property(const std::string& p, const std::string& name, const Value& v, int depth) {
    std::string tag = p + ":" + esc(name);
    if (v.is_null()) {
      out += "<" + tag + " xsi:nil=\"true\"/>";
      return;
    }
    if (v.is_array()) {
      for (const Value& e : v.elements()) property(p, name, e, depth);
      return;
    }
    if (v.type() == CimType::kObject) {
      const auto& obj = v.as_object();
      if (!obj || !obj->valid() || depth >= 8) {
        out += "<" + tag + " xsi:nil=\"true\"/>";
        return;
      }
      out += "<" + tag + ">";
      instance(*obj, obj->class_name(), class_namespace(resource_uri_, *obj), false, depth + 1);
      out += "</" + tag + ">";
      return;
    }
    out += "<" + tag + ">";
    if (v.type() == CimType::kDatetime)
      out += datetime_element(v.as_string());
    else
      escape(out, scalar_text(v));
    out += "</" + tag + ">";
  }

  void epr(const Instance& inst) {
    out += "<a:EndpointReference><a:Address>";
    out += ns::kAnonymous;
    out += "</a:Address><a:ReferenceParameters><w:ResourceURI>";
    escape(out, class_namespace(resource_uri_, inst));
    out += "</w:ResourceURI><w:SelectorSet>";
    auto selector = [&](const std::string& name, const std::string& value) {
      out += "<w:Selector Name=\"" + esc(name) + "\">" + esc(value) + "</w:Selector>";
    };
    const ObjectPath& id = inst.identity();
    if (!id.keys.empty()) {
      for (const auto& k : id.keys) selector(k.name, k.value.to_text());
    } else {
      const auto& props = inst.cls().properties;
      for (size_t i : inst.cls().key_indices())
        if (inst.has(i)) selector(props[i].name, inst.at(i).to_text());
    }
    if (!starts_with_ci(resource_uri_, ns::kWmiPrefix)) {
      std::string nsp = inst.namespace_path();
      for (char& c : nsp)
        if (c == '\\') c = '/';
      selector("__cimnamespace", nsp);
    }
    out += "</w:SelectorSet></a:ReferenceParameters></a:EndpointReference>";
  }

  void items(const std::vector<Item>& items) {
    for (const Item& item : items) {
      if (!item.instance.valid()) continue;
      bool wrap = item.with_epr && item.with_object;
      if (wrap) out += "<w:Item>";
      if (item.with_object)
        instance(item.instance, item.instance.class_name(),
                 class_namespace(resource_uri_, item.instance), false);
      if (item.with_epr || !item.with_object) epr(item.instance);
      if (wrap) out += "</w:Item>";
    }
  }

 private:
  const std::string& resource_uri_;
};

// ---------------------------------------------------------------------------------------------
// Class definitions as CIM-XML (DMTF DSP0201): the body of a GetClass response.

/// The CIM-XML TYPE of a type; references and embedded objects have none of their own (a
/// reference is a PROPERTY.REFERENCE, an embedded object a string with EmbeddedObject).
std::string cimxml_type(CimType t) {
  if (t == CimType::kObject || t == CimType::kReference) return "string";
  return std::string(cim_type_name(t));
}

class ClassXml {
 public:
  explicit ClassXml(const ClassDecl& cls) : cls_(cls) {}
  std::string out;

  void write() {
    out += "<CLASS NAME=\"" + esc(cls_.name) + "\"";
    if (!cls_.superclass.empty()) out += " SUPERCLASS=\"" + esc(cls_.superclass) + "\"";
    out += ">";
    std::vector<Qualifier> q = cls_.qualifiers;
    if (cls_.abstract && !find(q, "Abstract"))
      q.insert(q.begin(), Qualifier{"Abstract", Value::boolean(true)});
    if (!cls_.description.empty() && !find(q, "Description"))
      q.push_back({"Description", Value::string(cls_.description)});
    for (const auto& x : q) qualifier(x, false);
    for (const auto& p : cls_.properties) property(p);
    for (const auto& m : cls_.methods) method(m);
    out += "</CLASS>";
  }

 private:
  static const Qualifier* find(const std::vector<Qualifier>& q, std::string_view name) {
    for (const auto& x : q)
      if (iequals(x.name, name)) return &x;
    return nullptr;
  }

  void qualifier(const Qualifier& q, bool propagated) {
    out += "<QUALIFIER NAME=\"" + esc(q.name) + "\" TYPE=\"" + cimxml_type(q.value.type()) + "\"";
    if (propagated) out += " PROPAGATED=\"true\"";
    out += ">";
    if (q.value.is_null()) {
      // no value
    } else if (q.value.is_array()) {
      out += "<VALUE.ARRAY>";
      for (const Value& e : q.value.elements()) {
        out += "<VALUE>";
        escape(out, scalar_text(e));
        out += "</VALUE>";
      }
      out += "</VALUE.ARRAY>";
    } else {
      out += "<VALUE>";
      escape(out, scalar_text(q.value));
      out += "</VALUE>";
    }
    out += "</QUALIFIER>";
  }

  void property(const PropertyDecl& p) {
    std::string origin = p.origin.empty() ? cls_.name : p.origin;
    bool propagated = !iequals(origin, cls_.name);
    const char* element = p.type == CimType::kReference ? "PROPERTY.REFERENCE"
                          : p.is_array                  ? "PROPERTY.ARRAY"
                                                        : "PROPERTY";
    out += std::string("<") + element + " NAME=\"" + esc(p.name) + "\"";
    if (p.type == CimType::kReference) {
      if (!p.embedded_class.empty()) out += " REFERENCECLASS=\"" + esc(p.embedded_class) + "\"";
    } else {
      out += " TYPE=\"" + cimxml_type(p.type) + "\"";
    }
    out += " CLASSORIGIN=\"" + esc(origin) + "\"";
    if (propagated) out += " PROPAGATED=\"true\"";
    if (p.type == CimType::kObject)
      out += std::string(" EmbeddedObject=\"") +
             (p.embedded_class.empty() ? "object" : "instance") + "\"";
    out += ">";
    // The declared qualifiers (the schema loader already lists Key, MaxLen, Units and Privileges
    // there), then whatever the fields say and the list lacks.
    std::vector<Qualifier> q = p.qualifiers;
    if (p.key && !find(q, "Key")) q.push_back({"Key", Value::boolean(true)});
    if (p.max_len && !find(q, "MaxLen")) q.push_back({"MaxLen", Value::uint32(*p.max_len)});
    if (!p.units.empty() && !find(q, "Units")) q.push_back({"Units", Value::string(p.units)});
    if (!p.privileges.empty() && !find(q, "Privileges")) {
      std::vector<Value> privs;
      for (const auto& s : p.privileges) privs.push_back(Value::string(s));
      q.push_back({"Privileges", Value::array(CimType::kString, std::move(privs))});
    }
    if (p.type == CimType::kObject && !p.embedded_class.empty() && !find(q, "EmbeddedInstance"))
      q.push_back({"EmbeddedInstance", Value::string(p.embedded_class)});
    if (!p.description.empty() && !find(q, "Description"))
      q.push_back({"Description", Value::string(p.description)});
    for (const auto& x : q) qualifier(x, propagated);
    out += std::string("</") + element + ">";
  }

  /// The class that declares method `name`: the farthest ancestor that has it.
  std::string method_origin(const std::string& name) const {
    for (auto it = cls_.derivation.rbegin(); it != cls_.derivation.rend(); ++it) {
      auto anc = cim::Schema::builtin().find(*it);
      if (anc && anc->method(name)) return anc->name;
    }
    return cls_.name;
  }

  void method(const MethodDecl& m) {
    std::string origin = method_origin(m.name);
    bool propagated = !iequals(origin, cls_.name);
    out += "<METHOD NAME=\"" + esc(m.name) + "\" TYPE=\"" + cimxml_type(m.return_type) +
           "\" CLASSORIGIN=\"" + esc(origin) + "\"";
    if (propagated) out += " PROPAGATED=\"true\"";
    out += ">";
    if (m.is_static) qualifier({"Static", Value::boolean(true)}, propagated);
    if (!m.privileges.empty()) {
      std::vector<Value> privs;
      for (const auto& s : m.privileges) privs.push_back(Value::string(s));
      qualifier({"Privileges", Value::array(CimType::kString, std::move(privs))}, propagated);
    }
    if (!m.description.empty())
      qualifier({"Description", Value::string(m.description)}, propagated);
    // The declared ones (ValueMap / Values of the ReturnValue), unless written above.
    for (const auto& q : m.qualifiers)
      if (!iequals(q.name, "Static") && !iequals(q.name, "Privileges") &&
          !iequals(q.name, "Description"))
        qualifier(q, propagated);
    for (const auto& p : m.parameters) parameter(p);
    out += "</METHOD>";
  }

  void parameter(const ParameterDecl& p) {
    bool ref = p.type == CimType::kReference;
    const char* element = ref && p.is_array ? "PARAMETER.REFARRAY"
                          : ref             ? "PARAMETER.REFERENCE"
                          : p.is_array      ? "PARAMETER.ARRAY"
                                            : "PARAMETER";
    out += std::string("<") + element + " NAME=\"" + esc(p.name) + "\"";
    if (ref) {
      if (!p.embedded_class.empty()) out += " REFERENCECLASS=\"" + esc(p.embedded_class) + "\"";
    } else {
      out += " TYPE=\"" + cimxml_type(p.type) + "\"";
    }
    out += ">";
    if (p.in) qualifier({"In", Value::boolean(true)}, false);
    if (p.out) qualifier({"Out", Value::boolean(true)}, false);
    if (p.type == CimType::kObject) {
      if (p.embedded_class.empty())
        qualifier({"EmbeddedObject", Value::boolean(true)}, false);
      else
        qualifier({"EmbeddedInstance", Value::string(p.embedded_class)}, false);
    }
    if (!p.description.empty()) qualifier({"Description", Value::string(p.description)}, false);
    for (const auto& q : p.qualifiers)
      if (!iequals(q.name, "In") && !iequals(q.name, "Out") && !iequals(q.name, "Description") &&
          !iequals(q.name, "EmbeddedObject") && !iequals(q.name, "EmbeddedInstance"))
        qualifier(q, false);
    out += std::string("</") + element + ">";
  }

  const ClassDecl& cls_;
};

const char kEnvelopeOpen[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
    "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\""
    " xmlns:a=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\""
    " xmlns:w=\"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd\""
    " xmlns:n=\"http://schemas.xmlsoap.org/ws/2004/09/enumeration\""
    " xmlns:e=\"http://schemas.xmlsoap.org/ws/2004/08/eventing\""
    " xmlns:cim=\"http://schemas.dmtf.org/wbem/wscim/1/common\""
    " xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">";

std::string header(std::string_view action, std::string_view relates_to) {
  std::string h = "<s:Header><a:To>";
  h += ns::kAnonymous;
  h += "</a:To><a:Action>";
  escape(h, action);
  h += "</a:Action><a:MessageID>" + new_message_id() + "</a:MessageID>";
  if (!relates_to.empty()) h += "<a:RelatesTo>" + esc(relates_to) + "</a:RelatesTo>";
  h += "</s:Header>";
  return h;
}

}  // namespace

std::variant<Request, Fault> decode(std::string_view body) {
  if (body.size() > kMaxEnvelopeBytes)
    return make_fault("w:EncodingLimit",
                      "the envelope has " + std::to_string(body.size()) +
                          " bytes, more than the limit of " + std::to_string(kMaxEnvelopeBytes),
                      "s:Sender", WbemStatus::kQuotaViolation);
  if (body.empty()) return make_fault("w:InvalidMessageInformationHeader", "the body is empty");
  init_libxml();

  std::unique_ptr<xmlParserCtxt, CtxtFree> ctxt(xmlNewParserCtxt());
  if (!ctxt)
    return make_fault("w:InternalError", "out of memory", "s:Receiver", WbemStatus::kOutOfMemory);
  ParseGuard guard;
  ctxt->_private = &guard;
  ctxt->sax->internalSubset = on_subset;
  ctxt->sax->externalSubset = on_subset;
  ctxt->sax->entityDecl = on_entity;
  ctxt->sax->startElementNs = on_start_element;
  ctxt->sax->serror = ignore_structured_error;
  ctxt->sax->error = nullptr;
  ctxt->sax->warning = nullptr;

  // UTF-16 without a BOM: '<' followed by NUL (LE) or NUL followed by '<' (BE).
  const char* encoding = nullptr;
  if (body.size() >= 2) {
    auto b0 = static_cast<unsigned char>(body[0]), b1 = static_cast<unsigned char>(body[1]);
    if (b0 == '<' && b1 == 0)
      encoding = "UTF-16LE";
    else if (b0 == 0 && b1 == '<')
      encoding = "UTF-16BE";
  }
  int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA;
  std::unique_ptr<xmlDoc, DocFree> doc(xmlCtxtReadMemory(
      ctxt.get(), body.data(), static_cast<int>(body.size()), nullptr, encoding, options));
  if (guard.dtd || (doc && (doc->intSubset || doc->extSubset)))
    return make_fault("w:InvalidMessageInformationHeader",
                      "the envelope has a document type declaration; DTDs and entity "
                      "declarations are not accepted");
  if (guard.too_deep)
    return make_fault(
        "w:EncodingLimit",
        "the envelope nests elements deeper than " + std::to_string(kMaxXmlDepth) + " levels",
        "s:Sender", WbemStatus::kQuotaViolation);
  if (!doc || !ctxt->wellFormed) {
    const xmlError* err = &ctxt->lastError;
    std::string msg = err && err->message ? trimmed(err->message) : "not well-formed";
    std::string reason = "the envelope is not well-formed XML";
    if (err && err->line > 0) reason += " (line " + std::to_string(err->line) + ")";
    reason += ": " + msg;
    return make_fault("w:InvalidMessageInformationHeader", reason);
  }

  xmlNode* root = xmlDocGetRootElement(doc.get());
  if (!root) return make_fault("w:InvalidMessageInformationHeader", "the document is empty");
  if (std::strcmp(local(root), "Envelope") == 0 &&
      std::strcmp(href(root), "http://schemas.xmlsoap.org/soap/envelope/") == 0) {
    Fault f = make_fault(
        "", "SOAP 1.1 envelopes are not supported; use SOAP 1.2 (" + std::string(ns::kSoap) + ")",
        "s:VersionMismatch");
    return f;
  }
  if (!is(root, ns::kSoap, "Envelope"))
    return make_fault("w:SchemaValidationError", std::string("the root element is {") + href(root) +
                                                     "}" + local(root) +
                                                     ", not a SOAP 1.2 Envelope");
  xmlNode* header = nullptr;
  xmlNode* body_el = nullptr;
  for (xmlNode* c : elements(root)) {
    if (is(c, ns::kSoap, "Header") && !header && !body_el)
      header = c;
    else if (is(c, ns::kSoap, "Body") && !body_el)
      body_el = c;
    else
      return make_fault("w:SchemaValidationError",
                        "unexpected element " + qname(c) + " in the SOAP Envelope");
  }
  if (!body_el) return make_fault("w:SchemaValidationError", "the SOAP Envelope has no Body");

  Request r;
  if (header)
    if (auto f = decode_header(header, r)) return *f;

  auto body_kids = elements(body_el);
  bool identify_body = !body_kids.empty() && is(body_kids.front(), ns::kIdentity, "Identify");
  if (!r.action.empty()) classify_action(r);
  if (identify_body && (r.action.empty() || r.operation == Operation::kIdentify)) {
    r.operation = Operation::kIdentify;
    return r;
  }
  if (r.action.empty()) {
    Fault f =
        make_fault("a:MessageInformationHeaderRequired", "the envelope has no wsa:Action header");
    return f;
  }
  if (auto f = decode_body(body_el, r)) return *f;
  return r;
}

namespace {

/// The fault's data as lwmi elements of the Detail (client_codec.cc reads them back).
std::string lwmi_fault_detail(const Fault& fault) {
  std::string out;
  const std::string l = std::string(" xmlns:l=\"") + ns::kLwmi + "\">";
  if (fault.position) out += "<l:Position" + l + std::to_string(*fault.position) + "</l:Position>";
  if (fault.dropped_events)
    out += "<l:DroppedEvents" + l + std::to_string(fault.dropped_events) + "</l:DroppedEvents>";
  return out;
}

}  // namespace

std::string encode_fault(const Fault& fault, std::string_view message_id) {
  std::string out = kEnvelopeOpen;
  out += header(
      fault.action.empty() ? "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault" : fault.action,
      message_id);
  out += "<s:Body><s:Fault><s:Code><s:Value>";
  escape(out, fault.code.empty() ? "s:Sender" : fault.code);
  out += "</s:Value>";
  if (!fault.subcode.empty())
    out += "<s:Subcode><s:Value>" + esc(fault.subcode) + "</s:Value></s:Subcode>";
  out += "</s:Code><s:Reason><s:Text xml:lang=\"en-US\">";
  escape(out, fault.reason);
  out +=
      "</s:Text></s:Reason><s:Detail>"
      "<f:WSManFault xmlns:f=\"http://schemas.microsoft.com/wbem/wsman/1/wsmanfault\" Code=\"";
  out += std::to_string(static_cast<uint32_t>(fault.wbem));
  out += "\" Machine=\"\"><f:Message>";
  escape(out, fault.reason);
  out += "</f:Message></f:WSManFault>";
  if (!fault.detail.empty()) out += "<w:FaultDetail>" + esc(fault.detail) + "</w:FaultDetail>";
  out += lwmi_fault_detail(fault);
  out += "</s:Detail></s:Fault></s:Body></s:Envelope>";
  return out;
}

std::string encode(const Response& response) {
  if (response.fault) return encode_fault(*response.fault, response.relates_to);
  std::string out = kEnvelopeOpen;
  if (response.is_identify) {
    out +=
        "<s:Header/><s:Body>"
        "<wsmid:IdentifyResponse xmlns:wsmid=\"http://schemas.dmtf.org/wbem/wsman/identity/1/"
        "wsmanidentity.xsd\">"
        "<wsmid:ProtocolVersion>http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd</"
        "wsmid:ProtocolVersion>"
        "<wsmid:ProductVendor>lwmi</wsmid:ProductVendor>"
        "<wsmid:ProductVersion>0.1.0</wsmid:ProductVersion>"
        "</wsmid:IdentifyResponse></s:Body></s:Envelope>";
    return out;
  }
  out += header(response.action, response.relates_to);
  if (response.lost_events) {
    out.insert(out.size() - std::string_view("</s:Header>").size(),
               "<l:LostEvents xmlns:l=\"" + std::string(ns::kLwmi) + "\">" +
                   std::to_string(*response.lost_events) + "</l:LostEvents>");
  }
  for (const auto& note : response.notes)
    out.insert(out.size() - std::string_view("</s:Header>").size(),
               "<l:Note xmlns:l=\"" + std::string(ns::kLwmi) + "\">" + esc(note) + "</l:Note>");
  Writer w(response.resource_uri);
  w.out = std::move(out);
  w.out += "<s:Body>";
  if (response.is_enumeration) {
    w.out += "<n:EnumerateResponse>";
    if (!response.context.empty())
      w.out += "<n:EnumerationContext>" + esc(response.context) + "</n:EnumerationContext>";
    w.out += "<w:Items>";
    w.items(response.items);
    w.out += "</w:Items>";
    if (response.end_of_sequence) w.out += "<w:EndOfSequence/>";
    w.out += "</n:EnumerateResponse>";
  } else if (response.is_pull) {
    w.out += "<n:PullResponse>";
    if (!response.context.empty())
      w.out += "<n:EnumerationContext>" + esc(response.context) + "</n:EnumerationContext>";
    w.out += "<n:Items>";
    w.items(response.items);
    w.out += "</n:Items>";
    if (response.end_of_sequence) w.out += "<n:EndOfSequence/>";
    w.out += "</n:PullResponse>";
  } else if (!response.subscription_id.empty()) {
    w.out += "<e:SubscribeResponse><e:SubscriptionManager><a:Address>";
    w.out += ns::kAnonymous;
    w.out += "</a:Address><a:ReferenceParameters><e:Identifier>" + esc(response.subscription_id) +
             "</e:Identifier></a:ReferenceParameters></e:SubscriptionManager>";
    if (response.expires_s)
      w.out += "<e:Expires>" + duration_text(*response.expires_s) + "</e:Expires>";
    if (!response.context.empty())
      w.out += "<n:EnumerationContext>" + esc(response.context) + "</n:EnumerationContext>";
    if (response.guard)
      w.out += "<l:Guard xmlns:l=\"" + std::string(ns::kLwmi) + "\" Active=\"" +
               (response.guard->active ? "true" : "false") + "\">" +
               esc(response.guard->active ? response.guard->summary : response.guard->refusal) +
               "</l:Guard>";
    w.out += "</e:SubscribeResponse>";
  } else if (response.is_renew) {
    w.out += "<e:RenewResponse>";
    if (response.expires_s)
      w.out += "<e:Expires>" + duration_text(*response.expires_s) + "</e:Expires>";
    w.out += "</e:RenewResponse>";
  } else if (response.created) {
    // WS-Transfer: the EPR of the new resource; WS-Management's selectors name its keys.
    const ObjectPath& p = *response.created;
    std::string nsp = p.namespace_path.empty() ? "root/cimv2" : p.namespace_path;
    for (char& c : nsp)
      if (c == '\\') c = '/';
    bool wmi =
        starts_with_ci(response.resource_uri, ns::kWmiPrefix) || response.resource_uri.empty();
    std::string uri = wmi ? std::string(ns::kWmiPrefix) + nsp + "/" + p.class_name
                          : std::string(ns::kDmtfPrefix) + p.class_name;
    w.out += "<x:ResourceCreated xmlns:x=\"" + std::string(ns::kTransfer) + "\"><a:Address>";
    w.out += ns::kAnonymous;
    w.out += "</a:Address><a:ReferenceParameters><w:ResourceURI>" + esc(uri) +
             "</w:ResourceURI><w:SelectorSet>";
    for (const auto& k : p.keys)
      w.out +=
          "<w:Selector Name=\"" + esc(k.name) + "\">" + esc(k.value.to_text()) + "</w:Selector>";
    if (!wmi) w.out += "<w:Selector Name=\"__cimnamespace\">" + esc(nsp) + "</w:Selector>";
    w.out += "</w:SelectorSet></a:ReferenceParameters></x:ResourceCreated>";
  } else if (response.class_decl) {
    ClassXml c(*response.class_decl);
    c.write();
    w.out += c.out;
  } else if (response.instance && response.instance->valid()) {
    const Instance& inst = *response.instance;
    if (!response.output_element.empty())
      w.instance(inst, response.output_element, response.resource_uri, true);
    else
      w.instance(inst, inst.class_name(), class_namespace(response.resource_uri, inst), false);
  }
  w.out += "</s:Body></s:Envelope>";
  return std::move(w.out);
}

}  // namespace lwmi::wsman
