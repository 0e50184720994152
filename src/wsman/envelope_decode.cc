// wsman/envelope_decode.cc — decoding a request envelope (libxml2, namespace-aware) into a
// Request; whatever is malformed becomes the Fault to answer, never a crash.
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>

#include <cctype>
#include <cstring>
#include <memory>

#include "base/strings.h"
#include "wsman/envelope.h"
#include "wsman/xml.h"
#include "wsman/xsd.h"

namespace lwmi::wsman {

namespace {

using base::iequals;

std::string trimmed(std::string_view s) {
  return std::string(base::trim(s));
}

/// A fault about the request itself; decode() answers every one with HTTP 400.
Fault request_fault(std::string subcode, std::string reason, std::string code = "s:Sender",
                    WbemStatus wbem = WbemStatus::kInvalidParameter) {
  return make_fault(std::move(subcode), std::move(reason), wbem, std::move(code));
}

// ---------------------------------------------------------------------------------------------
// libxml2 access

using xml::attr;
using xml::child;
using xml::DocFree;
using xml::elements;
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
    if (base::istarts_with(prefix, root) && prefix.size() > std::strlen(root)) rooted = true;
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
        auto d = seconds_from_xs_duration(text(h));
        if (!d)
          return request_fault("w:InvalidMessageInformationHeader",
                               "wsman:OperationTimeout is not an xs:duration: '" + text(h) + "'");
        r.operation_timeout_s = *d;
      } else if (is(h, ns::kWsman, "MaxEnvelopeSize")) {
        auto v = base::parse_u64(text(h));
        if (!v)
          return request_fault(
              "w:InvalidMessageInformationHeader",
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
  return request_fault("w:SchemaValidationError", std::move(reason));
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
      auto cim =
          is(nested[0], ns::kCim, "Datetime") ? cim_datetime_from_xs(t) : cim_interval_from_xs(t);
      prop.text = cim ? *cim : t;
    } else {
      return body_fault("property " + prop.name + " holds <" + local(nested[0]) +
                        ">: a property is a value, xsi:nil or an endpoint reference");
    }
    r.instance_properties.push_back(std::move(prop));
  }
  return std::nullopt;
}

// The body of each operation that has one.

std::optional<Fault> decode_enumerate(const xmlNode* first, Request& r) {
  if (!first) return std::nullopt;
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
      if (!v) return body_fault("wsman:MaxElements is not an unsigned integer: '" + text(e) + "'");
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
  return std::nullopt;
}

std::optional<Fault> decode_pull_or_release(const xmlNode* first, Request& r) {
  const char* want = r.operation == Operation::kPull ? "Pull" : "Release";
  if (!first || !is(first, ns::kEnumeration, want))
    return body_fault(std::string("the body has no wsen:") + want + " element");
  for (xmlNode* e : elements(first)) {
    if (is(e, ns::kEnumeration, "EnumerationContext")) {
      r.context = text(e);
    } else if (is(e, ns::kEnumeration, "MaxElements") || is(e, ns::kWsman, "MaxElements")) {
      auto v = parse_u32(text(e));
      if (!v) return body_fault("wsen:MaxElements is not an unsigned integer: '" + text(e) + "'");
      r.max_elements = *v;
    } else if (is(e, ns::kEnumeration, "MaxTime")) {
      auto d = seconds_from_xs_duration(text(e));
      if (!d) return body_fault("wsen:MaxTime is not an xs:duration: '" + text(e) + "'");
      r.max_time_s = *d;
    }
  }
  return std::nullopt;
}

std::optional<Fault> decode_invoke(const std::vector<xmlNode*>& kids, Request& r) {
  if (kids.empty()) return std::nullopt;
  xmlNode* first = kids.front();
  if (kids.size() > 1) return body_fault("the Invoke body has more than one element");
  std::string want = r.method + "_INPUT";
  if (!iequals(local(first), want))
    return body_fault(std::string("the Invoke body is <") + local(first) + ">, expected <" + want +
                      ">");
  collect_parameters(first, r);
  return std::nullopt;
}

/// wse:Expires as seconds; its own fault subcode when it is no xs:duration.
std::optional<Fault> decode_expires(const xmlNode* e, Request& r) {
  auto d = seconds_from_xs_duration(text(e));
  if (!d) {
    Fault f = body_fault("wse:Expires is not an xs:duration: '" + text(e) + "'");
    f.subcode = "e:InvalidExpirationTime";
    return f;
  }
  r.expires_s = *d;
  return std::nullopt;
}

std::optional<Fault> decode_heartbeats(const xmlNode* hb, Request& r) {
  auto d = seconds_from_xs_duration(text(hb));
  if (!d) return body_fault("wsman:Heartbeats is not an xs:duration: '" + text(hb) + "'");
  r.heartbeats_s = *d;
  return std::nullopt;
}

std::optional<Fault> decode_subscribe(const xmlNode* first, Request& r) {
  if (!first || !is(first, ns::kEventing, "Subscribe"))
    return body_fault("the body has no wse:Subscribe element");
  for (xmlNode* e : elements(first)) {
    if (is(e, ns::kEventing, "Delivery")) {
      r.delivery_mode = trimmed(attr(e, "Mode").value_or(""));
      if (xmlNode* hb = child(e, ns::kWsman, "Heartbeats"))
        if (auto f = decode_heartbeats(hb, r)) return f;
    } else if (is(e, ns::kEventing, "Expires")) {
      if (auto f = decode_expires(e, r)) return f;
    } else if (is(e, ns::kWsman, "Filter") || is(e, ns::kEventing, "Filter")) {
      r.filter = text(e);
      r.filter_dialect = trimmed(attr(e, "Dialect").value_or(""));
    } else if (is(e, ns::kWsman, "Heartbeats")) {
      if (auto f = decode_heartbeats(e, r)) return f;
    }
  }
  return std::nullopt;
}

std::optional<Fault> decode_renew(const xmlNode* first, Request& r) {
  if (first && is(first, ns::kEventing, "Renew"))
    if (xmlNode* e = child(first, ns::kEventing, "Expires")) return decode_expires(e, r);
  return std::nullopt;
}

std::optional<Fault> decode_body(const xmlNode* body, Request& r) {
  auto kids = elements(body);
  xmlNode* first = kids.empty() ? nullptr : kids.front();
  switch (r.operation) {
    case Operation::kEnumerate:
      return decode_enumerate(first, r);
    case Operation::kPull:
    case Operation::kRelease:
      return decode_pull_or_release(first, r);
    case Operation::kInvoke:
      return decode_invoke(kids, r);
    case Operation::kPut:
      if (first) collect_parameters(first, r);
      return std::nullopt;
    case Operation::kCreate:
      return decode_instance(kids, r);
    case Operation::kSubscribe:
      return decode_subscribe(first, r);
    case Operation::kRenew:
      return decode_renew(first, r);
    default:
      return std::nullopt;
  }
}

/// decode() but for the HTTP status of its faults.
std::variant<Request, Fault> decode_envelope(std::string_view body) {
  if (body.size() > kMaxEnvelopeBytes)
    return request_fault("w:EncodingLimit",
                         "the envelope has " + std::to_string(body.size()) +
                             " bytes, more than the limit of " + std::to_string(kMaxEnvelopeBytes),
                         "s:Sender", WbemStatus::kQuotaViolation);
  if (body.empty()) return request_fault("w:InvalidMessageInformationHeader", "the body is empty");
  xml::init();

  std::unique_ptr<xmlParserCtxt, CtxtFree> ctxt(xmlNewParserCtxt());
  if (!ctxt)
    return request_fault("w:InternalError", "out of memory", "s:Receiver",
                         WbemStatus::kOutOfMemory);
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
    return request_fault("w:InvalidMessageInformationHeader",
                         "the envelope has a document type declaration; DTDs and entity "
                         "declarations are not accepted");
  if (guard.too_deep)
    return request_fault(
        "w:EncodingLimit",
        "the envelope nests elements deeper than " + std::to_string(kMaxXmlDepth) + " levels",
        "s:Sender", WbemStatus::kQuotaViolation);
  if (!doc || !ctxt->wellFormed) {
    const xmlError* err = &ctxt->lastError;
    std::string msg = err && err->message ? trimmed(err->message) : "not well-formed";
    std::string reason = "the envelope is not well-formed XML";
    if (err && err->line > 0) reason += " (line " + std::to_string(err->line) + ")";
    reason += ": " + msg;
    return request_fault("w:InvalidMessageInformationHeader", reason);
  }

  xmlNode* root = xmlDocGetRootElement(doc.get());
  if (!root) return request_fault("w:InvalidMessageInformationHeader", "the document is empty");
  if (std::strcmp(local(root), "Envelope") == 0 &&
      std::strcmp(href(root), "http://schemas.xmlsoap.org/soap/envelope/") == 0) {
    Fault f = request_fault(
        "", "SOAP 1.1 envelopes are not supported; use SOAP 1.2 (" + std::string(ns::kSoap) + ")",
        "s:VersionMismatch");
    return f;
  }
  if (!is(root, ns::kSoap, "Envelope"))
    return request_fault("w:SchemaValidationError", std::string("the root element is {") +
                                                        href(root) + "}" + local(root) +
                                                        ", not a SOAP 1.2 Envelope");
  xmlNode* header = nullptr;
  xmlNode* body_el = nullptr;
  for (xmlNode* c : elements(root)) {
    if (is(c, ns::kSoap, "Header") && !header && !body_el)
      header = c;
    else if (is(c, ns::kSoap, "Body") && !body_el)
      body_el = c;
    else
      return request_fault("w:SchemaValidationError",
                           "unexpected element " + qname(c) + " in the SOAP Envelope");
  }
  if (!body_el) return request_fault("w:SchemaValidationError", "the SOAP Envelope has no Body");

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
    Fault f = request_fault("a:MessageInformationHeaderRequired",
                            "the envelope has no wsa:Action header");
    return f;
  }
  if (auto f = decode_body(body_el, r)) return *f;
  return r;
}

}  // namespace

std::variant<Request, Fault> decode(std::string_view body) {
  auto decoded = decode_envelope(body);
  // WinRM answers a request it cannot take with 400, not the 500 of an operation's fault.
  if (auto* f = std::get_if<Fault>(&decoded)) f->http_status = 400;
  return decoded;
}

}  // namespace lwmi::wsman
