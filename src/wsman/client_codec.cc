// wsman/client_codec.cc — request envelopes (a small escaping writer) and response parsing
// (libxml2 tree, namespace-aware) for lwmi's WS-Management client.
#include "wsman/client_codec.h"
#include "wsman/cim_xml.h"
#include "wsman/xml.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>

#include "base/strings.h"
#include "base/uuid.h"
#include "cim/schema.h"
#include "wsman/xsd.h"

namespace lwmi::wsman::client {

namespace {

constexpr const char* kWsmanFault = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault";
constexpr const char* kIdentifyNs =
    "http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd";

// ---------------------------------------------------------------------------------------------
// Writing

using xml::escape;
using xml::escaped;

const char kOpen[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
    "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\""
    " xmlns:wsa=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\""
    " xmlns:wsman=\"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd\""
    " xmlns:wsen=\"http://schemas.xmlsoap.org/ws/2004/09/enumeration\""
    " xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">";

std::string header(const Common& c, std::string_view action, std::string_view resource_uri,
                   const std::vector<Selector>& selectors) {
  std::string h = "<s:Header>";
  h += "<wsa:Action s:mustUnderstand=\"true\">" + escaped(action) + "</wsa:Action>";
  h += "<wsa:To s:mustUnderstand=\"true\">" + escaped(c.to) + "</wsa:To>";
  if (!resource_uri.empty())
    h += "<wsman:ResourceURI s:mustUnderstand=\"true\">" + escaped(resource_uri) +
         "</wsman:ResourceURI>";
  h += "<wsa:MessageID s:mustUnderstand=\"true\">" +
       escaped(c.message_id.empty() ? new_message_id() : c.message_id) + "</wsa:MessageID>";
  h += "<wsa:ReplyTo><wsa:Address>";
  h += ns::kAnonymous;
  h += "</wsa:Address></wsa:ReplyTo>";
  h += "<wsman:MaxEnvelopeSize s:mustUnderstand=\"true\">" + std::to_string(c.max_envelope_size) +
       "</wsman:MaxEnvelopeSize>";
  h += "<wsman:OperationTimeout>" + xs_duration(c.timeout_s) + "</wsman:OperationTimeout>";
  if (!selectors.empty()) {
    h += "<wsman:SelectorSet>";
    for (const auto& s : selectors)
      h += "<wsman:Selector Name=\"" + escaped(s.name) + "\">" + escaped(s.value) +
           "</wsman:Selector>";
    h += "</wsman:SelectorSet>";
  }
  if (!c.privileges.empty() || !c.options.empty() || c.what_if) {
    h += c.what_if ? "<wsman:OptionSet s:mustUnderstand=\"true\">" : "<wsman:OptionSet>";
    if (c.what_if)
      h += "<wsman:Option Name=\"lwmi_WhatIf\" MustComply=\"true\">true</wsman:Option>";
    if (!c.privileges.empty()) {
      std::string list;
      for (const auto& p : c.privileges) list += (list.empty() ? "" : ",") + p;
      h += "<wsman:Option Name=\"EnablePrivilege\">" + escaped(list) + "</wsman:Option>";
    }
    for (const auto& [name, value] : c.options)
      h += "<wsman:Option Name=\"" + escaped(name) + "\">" + escaped(value) + "</wsman:Option>";
    h += "</wsman:OptionSet>";
  }
  h += "</s:Header>";
  return h;
}

std::string envelope(const Common& c, std::string_view action, std::string_view resource_uri,
                     const std::vector<Selector>& selectors, std::string_view body) {
  std::string out = kOpen;
  out += header(c, action, resource_uri, selectors);
  if (body.empty()) {
    out += "<s:Body/>";
  } else {
    out += "<s:Body>";
    out += body;
    out += "</s:Body>";
  }
  out += "</s:Envelope>";
  return out;
}

std::string scalar_text(const Value& v) {
  if (v.type() == CimType::kBoolean) return v.as_bool() ? "true" : "false";
  return v.to_text();
}

// One parameter element (p:name) for a value; arrays repeat the element.
void write_value(std::string& out, const std::string& tag, const Value& v, int depth) {
  if (v.is_null()) {
    out += "<" + tag + " xsi:nil=\"true\"/>";
    return;
  }
  if (v.is_array()) {
    for (const Value& e : v.elements()) write_value(out, tag, e, depth);
    return;
  }
  if (v.type() == CimType::kObject) {
    const auto& obj = v.as_object();
    out += "<" + tag + ">";
    if (obj && obj->valid() && depth < 8)
      for (const auto& [name, value] : obj->properties())
        write_value(out, "p:" + escaped(name), value, depth + 1);
    out += "</" + tag + ">";
    return;
  }
  out += "<" + tag + ">";
  escape(out, scalar_text(v));
  out += "</" + tag + ">";
}

// ---------------------------------------------------------------------------------------------
// Reading

using xml::attr;
using xml::child;
using xml::DocFree;
using xml::elements;
using xml::href;
using xml::is;
using xml::local;
using xml::raw_text;
using Doc = xml::Doc;

std::string text(const xmlNode* n) {
  return std::string(base::trim(raw_text(n)));
}

bool is_nil(const xmlNode* n) {
  auto v = attr(n, "nil", ns::kXsi);
  if (!v) return false;
  auto t = base::trim(*v);
  return t == "true" || t == "1";
}

Error bad_response(std::string what) {
  return Error{WbemStatus::kFailed, "the server's response is not understood: " + what};
}

/// lwmi's data in a fault's Detail (envelope_encode.cc's lwmi_fault_detail) into `e`.
void read_lwmi_fault_detail(const xmlNode* detail, Error* e) {
  if (const xmlNode* p = child(detail, ns::kLwmi, "Position"))
    if (auto n = base::parse_u64(base::trim(text(p)))) e->position = static_cast<size_t>(*n);
  if (const xmlNode* d = child(detail, ns::kLwmi, "DroppedEvents")) {
    std::string t = text(d);  // trimmed
    bool digits = !t.empty() && t.find_first_not_of("0123456789") == std::string::npos;
    // A count beyond 64 bits saturates rather than being lost.
    if (digits) e->dropped_events = base::parse_u64(t).value_or(UINT64_MAX);
  }
}

/// A SOAP fault in `b` (a Body) as its Error; nullopt when `b` holds none.
std::optional<Error> fault_in(xmlNode* b) {
  xmlNode* f = child(b, ns::kSoap, "Fault");
  if (!f) return std::nullopt;
  Error e;
  e.code = WbemStatus::kFailed;
  if (xmlNode* reason = child(f, ns::kSoap, "Reason")) {
    xmlNode* t = child(reason, ns::kSoap, "Text");
    e.message = text(t ? t : reason);
  }
  xmlNode* detail = child(f, ns::kSoap, "Detail");
  if (xmlNode* wf = child(detail, kWsmanFault, "WSManFault")) {
    if (auto code = attr(wf, "Code")) {
      std::string_view c = base::trim(*code);
      std::optional<uint64_t> v;
      if (c.size() > 2 && (c.substr(0, 2) == "0x" || c.substr(0, 2) == "0X")) {
        v = std::strtoull(std::string(c.substr(2)).c_str(), nullptr, 16);
      } else {
        v = base::parse_u64(c);
      }
      if (v && *v <= UINT32_MAX && *v != 0) e.code = static_cast<WbemStatus>(*v);
    }
    if (e.message.empty())
      if (xmlNode* m = child(wf, kWsmanFault, "Message")) e.message = text(m);
  }
  if (e.message.empty()) {
    std::string sub;
    if (xmlNode* code = child(f, ns::kSoap, "Code"))
      if (xmlNode* s = child(code, ns::kSoap, "Subcode"))
        if (xmlNode* v = child(s, ns::kSoap, "Value")) sub = text(v);
    e.message = "the server answered with a fault" + (sub.empty() ? "" : " (" + sub + ")");
  }
  read_lwmi_fault_detail(detail, &e);
  return e;
}

/// Parses an envelope: the document and its Body element, or an Error when it is none.
Result<std::pair<std::shared_ptr<xmlDoc>, xmlNode*>> open_envelope(std::string_view body) {
  xml::init();
  if (body.empty()) return bad_response("the body is empty");
  int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA;
  std::shared_ptr<xmlDoc> doc(
      xmlReadMemory(body.data(), static_cast<int>(body.size()), nullptr, nullptr, options),
      DocFree{});
  if (!doc) return bad_response("not well-formed XML");
  if (doc->intSubset || doc->extSubset) return bad_response("it has a document type declaration");
  xmlNode* root = xmlDocGetRootElement(doc.get());
  if (!is(root, ns::kSoap, "Envelope")) return bad_response("not a SOAP 1.2 envelope");
  xmlNode* b = child(root, ns::kSoap, "Body");
  if (!b) return bad_response("the envelope has no Body");
  return std::make_pair(std::move(doc), b);
}

/// Parses an envelope; returns the document and its Body element, or an Error (a fault is
/// turned into its Error here).
Result<std::pair<std::shared_ptr<xmlDoc>, xmlNode*>> open_body(std::string_view body) {
  auto b = open_envelope(body);
  if (b.ok())
    if (auto fault = fault_in(b->second)) return *std::move(fault);
  return b;
}

bool all_digits_u32(std::string_view s) {
  if (s.empty() || s.size() > 10) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return std::strtoull(std::string(s).c_str(), nullptr, 10) <= UINT32_MAX;
}

bool is_datetime_element(const xmlNode* n) {
  return is(n, ns::kCim, "Datetime") || is(n, ns::kCim, "Interval") || is(n, ns::kCim, "Date") ||
         is(n, ns::kCim, "Time");
}

Result<Instance> parse_instance(const xmlNode* el, int depth, const ClassDecl* hint = nullptr);

/// One value of a property element, as `type`.
Result<Value> element_value(const xmlNode* p, CimType type, int depth) {
  if (is_nil(p)) return Value::null(type);
  auto kids = elements(p);
  if (!kids.empty()) {
    const xmlNode* k = kids.front();
    if (is(k, ns::kCim, "Datetime") || is(k, ns::kCim, "Date") || is(k, ns::kCim, "Time")) {
      std::string t = text(k);
      if (auto cim = cim_datetime_from_xs(t)) return Value::datetime(*cim);
      return Value::datetime(t);  // already CIM text (wildcards)
    }
    if (is(k, ns::kCim, "Interval")) {
      std::string t = text(k);
      if (auto cim = cim_interval_from_xs(t)) return Value::datetime(*cim);
      return Value::datetime(t);
    }
    if (type == CimType::kObject || type == CimType::kString) {
      if (depth >= 8) return bad_response("embedded objects nest too deeply");
      auto inst = parse_instance(k, depth + 1);
      if (!inst.ok()) return inst.take_error();
      return Value::object(std::make_shared<const Instance>(std::move(*inst)));
    }
  }
  std::string t = raw_text(p);
  if (type != CimType::kString && type != CimType::kChar16) t = std::string(base::trim(t));
  if (type == CimType::kReal32 || type == CimType::kReal64) {
    if (t == "NaN") return type == CimType::kReal32 ? Value::real32(NAN) : Value::real64(NAN);
    if (t == "INF" || t == "-INF") {
      double d = t[0] == '-' ? -INFINITY : INFINITY;
      return type == CimType::kReal32 ? Value::real32(static_cast<float>(d)) : Value::real64(d);
    }
  }
  auto v = Value::from_text(type, t);
  if (!v)
    return Error{WbemStatus::kTypeMismatch, std::string("property ") + local(p) + ": '" + t +
                                                "' is not a " + std::string(cim_type_name(type))};
  return *v;
}

/// An ad-hoc class for an element the schema does not know.
std::shared_ptr<ClassDecl> adhoc_class(const xmlNode* el) {
  auto cls = std::make_shared<ClassDecl>();
  cls->name = local(el);
  std::map<std::string, size_t> seen;
  for (xmlNode* p : elements(el)) {
    std::string name = local(p);
    auto kids = elements(p);
    CimType t = CimType::kUint32;
    if (!kids.empty())
      t = is_datetime_element(kids.front()) ? CimType::kDatetime : CimType::kObject;
    else if (!is_nil(p) && !all_digits_u32(base::trim(raw_text(p))))
      t = CimType::kString;
    auto it = seen.find(name);
    if (it == seen.end()) {
      PropertyDecl d;
      d.name = name;
      d.type = t;
      seen[name] = cls->properties.size();
      cls->properties.push_back(d);
      continue;
    }
    PropertyDecl& d = cls->properties[it->second];
    d.is_array = true;
    if (d.type != t && !is_nil(p)) {
      // Mixed content: strings carry anything.
      if (d.type == CimType::kUint32 || t == CimType::kString) d.type = t;
    }
  }
  for (auto& d : cls->properties)
    if (d.name == "ReturnValue") d.type = CimType::kUint32;
  return cls;
}

/// Fills `inst` (of `cls`) from the property elements of `el`.
Result<void> fill(Instance& inst, const ClassDecl& cls, const xmlNode* el, int depth) {
  std::vector<std::pair<std::string, std::vector<xmlNode*>>> groups;
  for (xmlNode* p : elements(el)) {
    std::string name = local(p);
    auto it =
        std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == name; });
    if (it == groups.end())
      groups.push_back({name, {p}});
    else
      it->second.push_back(p);
  }
  for (const auto& [name, nodes] : groups) {
    auto idx = cls.property_index(name);
    if (!idx) continue;  // a property this build does not know: skipped
    const PropertyDecl& d = cls.properties[*idx];
    if (d.is_array) {
      if (nodes.size() == 1 && is_nil(nodes[0])) {
        inst.set(*idx, Value::null(d.type, true));
        continue;
      }
      std::vector<Value> elems;
      for (xmlNode* n : nodes) {
        auto v = element_value(n, d.type, depth);
        if (!v.ok()) return v.take_error();
        elems.push_back(std::move(*v));
      }
      inst.set(*idx, Value::array(d.type, std::move(elems)));
    } else {
      auto v = element_value(nodes.back(), d.type, depth);
      if (!v.ok()) return v.take_error();
      inst.set(*idx, std::move(*v));
    }
  }
  return {};
}

/// The identity of an instance without an EPR: its keys, plus CreationDate where the class has
/// one (Win32_Process: the pid and its start time).
ObjectPath identity_from_values(const Instance& inst) {
  ObjectPath p;
  p.class_name = inst.class_name();
  const auto& props = inst.cls().properties;
  for (size_t i : inst.cls().key_indices())
    if (inst.has(i) && !inst.at(i).is_null())
      p.keys.push_back({props[i].name, Value::string(inst.at(i).to_text())});
  if (!p.keys.empty())
    if (auto cd = inst.cls().property_index("CreationDate"))
      if (inst.has(*cd) && !inst.at(*cd).is_null() && !inst.cls().properties[*cd].key)
        p.keys.push_back({"CreationDate", Value::string(inst.at(*cd).to_text())});
  return p;
}

/// A class object lwmid sent (l:Genus="1"): the class as this build's schema declares it, or,
/// for a class it does not know, one made of the element's property names and l:Derivation.
Instance parse_class_object(const xmlNode* el, std::shared_ptr<const ClassDecl> known) {
  if (known) return Instance::class_object(std::move(known));
  auto cls = adhoc_class(el);
  for (auto& p : cls->properties) {
    p.type = CimType::kString;  // nothing to tell the type by: a class object has no values
    p.origin = cls->name;
  }
  std::string derivation = attr(el, "Derivation", ns::kLwmi).value_or("");
  size_t i = 0;
  while (i < derivation.size()) {
    size_t j = derivation.find(' ', i);
    if (j == std::string::npos) j = derivation.size();
    if (j > i) cls->derivation.push_back(derivation.substr(i, j - i));
    i = j + 1;
  }
  if (!cls->derivation.empty()) cls->superclass = cls->derivation.front();
  return Instance::class_object(std::move(cls));
}

Result<Instance> parse_instance(const xmlNode* el, int depth, const ClassDecl* hint) {
  std::shared_ptr<const ClassDecl> cls = cim::Schema::builtin().find(local(el));
  Instance inst;
  if (depth == 0 && attr(el, "Genus", ns::kLwmi).value_or("") == "1") {
    inst = parse_class_object(el, cls);
  } else {
    if (!cls) cls = adhoc_class(el);
    inst = Instance(cls);
    auto r = fill(inst, *cls, el, depth);
    if (!r.ok()) return r.take_error();
    inst.set_identity(identity_from_values(inst));
  }
  // The element's namespace is its class's WMI resource URI: .../wmi/<namespace>/<Class>.
  std::string_view uri = href(el);
  if (uri.rfind(ns::kWmiPrefix, 0) == 0) {
    uri.remove_prefix(std::string_view(ns::kWmiPrefix).size());
    if (auto slash = uri.rfind('/'); slash != std::string_view::npos && slash > 0) {
      std::string nsp(uri.substr(0, slash));
      for (char& c : nsp)
        if (c == '/') c = '\\';
      if (inst.is_class()) {
        ObjectPath id = inst.identity();
        id.namespace_path = nsp;
        inst.set_identity(std::move(id));
      }
      inst.set_namespace(std::move(nsp));
    }
  }
  return inst;
}

ObjectPath identity_from_epr(const xmlNode* epr, const std::string& cls) {
  ObjectPath p;
  p.class_name = cls;
  xmlNode* params = child(epr, ns::kAddressing, "ReferenceParameters");
  if (xmlNode* uri = child(params, ns::kWsman, "ResourceURI"))
    if (p.class_name.empty()) p.class_name = class_of_uri(text(uri));
  xmlNode* set = child(params, ns::kWsman, "SelectorSet");
  for (xmlNode* s : elements(set)) {
    if (!is(s, ns::kWsman, "Selector")) continue;
    std::string name(base::trim(attr(s, "Name").value_or("")));
    if (base::iequals(name, "__cimnamespace")) continue;
    p.keys.push_back({name, Value::string(text(s))});
  }
  return p;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

std::string new_message_id() {
  return base::new_uuid();
}

std::string class_uri(std::string_view cls, std::string_view ns) {
  std::string n(ns.empty() ? std::string_view("root/cimv2") : ns);
  for (char& c : n)
    if (c == '\\') c = '/';
  while (!n.empty() && n.front() == '/') n.erase(n.begin());
  return std::string(ns::kWmiPrefix) + n + "/" + std::string(cls);
}

std::string class_of_uri(std::string_view uri) {
  auto q = uri.find('?');
  if (q != std::string_view::npos) uri = uri.substr(0, q);
  auto slash = uri.rfind('/');
  return std::string(slash == std::string_view::npos ? uri : uri.substr(slash + 1));
}

std::string identify_request(const Common& common) {
  (void)common;
  return std::string(kOpen) + "<s:Header/><s:Body><wsmid:Identify xmlns:wsmid=\"" + kIdentifyNs +
         "\"/></s:Body></s:Envelope>";
}

std::string get_request(const Common& common, std::string_view resource_uri,
                        const std::vector<Selector>& selectors) {
  return envelope(common, std::string(ns::kTransfer) + "/Get", resource_uri, selectors, "");
}

std::string enumerate_request(const Common& common, std::string_view resource_uri,
                              const EnumerateOptions& o) {
  std::string body = "<wsen:Enumerate>";
  if (o.optimize) body += "<wsman:OptimizeEnumeration/>";
  if (o.max_elements)
    body += "<wsman:MaxElements>" + std::to_string(o.max_elements) + "</wsman:MaxElements>";
  if (o.object_and_epr)
    body += "<wsman:EnumerationMode>EnumerateObjectAndEPR</wsman:EnumerationMode>";
  if (!o.filter.empty())
    body += std::string("<wsman:Filter Dialect=\"") + ns::kWqlDialect + "\">" + escaped(o.filter) +
            "</wsman:Filter>";
  body += "</wsen:Enumerate>";
  return envelope(common, std::string(ns::kEnumeration) + "/Enumerate", resource_uri, {}, body);
}

std::string pull_request(const Common& common, std::string_view resource_uri,
                         std::string_view context, uint32_t max_elements) {
  std::string body =
      "<wsen:Pull><wsen:EnumerationContext>" + escaped(context) + "</wsen:EnumerationContext>";
  if (max_elements)
    body += "<wsen:MaxElements>" + std::to_string(max_elements) + "</wsen:MaxElements>";
  body += "</wsen:Pull>";
  return envelope(common, std::string(ns::kEnumeration) + "/Pull", resource_uri, {}, body);
}

std::string release_request(const Common& common, std::string_view resource_uri,
                            std::string_view context) {
  std::string body = "<wsen:Release><wsen:EnumerationContext>" + escaped(context) +
                     "</wsen:EnumerationContext></wsen:Release>";
  return envelope(common, std::string(ns::kEnumeration) + "/Release", resource_uri, {}, body);
}

std::string invoke_request(const Common& common, std::string_view resource_uri,
                           std::string_view method, const std::vector<Selector>& selectors,
                           const Parameters& in) {
  // Group: plain names in order of first appearance; "Param.Prop" under Param.
  struct Group {
    std::string name;
    std::vector<Value> values;                           // plain values (repeats = array)
    std::vector<std::pair<std::string, Value>> members;  // Param.Prop members
  };
  std::vector<Group> groups;
  auto group = [&](const std::string& name) -> Group& {
    for (auto& g : groups)
      if (base::iequals(g.name, name)) return g;
    groups.push_back(Group{name, {}, {}});
    return groups.back();
  };
  for (const auto& [name, value] : in) {
    auto dot = name.find('.');
    if (dot != std::string::npos && dot > 0 && dot + 1 < name.size())
      group(name.substr(0, dot)).members.emplace_back(name.substr(dot + 1), value);
    else
      group(name).values.push_back(value);
  }
  std::string m(method);
  std::string body = "<p:" + escaped(m) + "_INPUT xmlns:p=\"" + escaped(resource_uri) + "\">";
  for (const auto& g : groups) {
    std::string tag = "p:" + escaped(g.name);
    for (const Value& v : g.values) write_value(body, tag, v, 0);
    if (!g.members.empty()) {
      body += "<" + tag + ">";
      for (const auto& [prop, v] : g.members) write_value(body, "p:" + escaped(prop), v, 1);
      body += "</" + tag + ">";
    }
  }
  body += "</p:" + escaped(m) + "_INPUT>";
  return envelope(common, std::string(resource_uri) + "/" + m, resource_uri, selectors, body);
}

std::string delete_request(const Common& common, std::string_view resource_uri,
                           const std::vector<Selector>& selectors) {
  return envelope(common, std::string(ns::kTransfer) + "/Delete", resource_uri, selectors, "");
}

std::string create_request(const Common& common, std::string_view resource_uri,
                           const Parameters& properties) {
  std::string cls = escaped(class_of_uri(resource_uri));
  std::string body = "<p:" + cls + " xmlns:p=\"" + escaped(resource_uri) + "\">";
  for (const auto& [name, value] : properties) write_value(body, "p:" + escaped(name), value, 0);
  body += "</p:" + cls + ">";
  return envelope(common, std::string(ns::kTransfer) + "/Create", resource_uri, {}, body);
}

namespace {
constexpr const char* kWse = "http://schemas.xmlsoap.org/ws/2004/08/eventing";

std::string with_identifier(std::string env, std::string_view identifier) {
  std::string h = "<wse:Identifier xmlns:wse=\"" + std::string(kWse) + "\">" + escaped(identifier) +
                  "</wse:Identifier></s:Header>";
  auto at = env.find("</s:Header>");
  env.replace(at, std::string_view("</s:Header>").size(), h);
  return env;
}
}  // namespace

std::string subscribe_request(const Common& common, std::string_view resource_uri,
                              const SubscribeOptions& o) {
  std::string body = "<wse:Subscribe xmlns:wse=\"" + std::string(kWse) + "\">";
  body += "<wse:Delivery Mode=\"http://schemas.dmtf.org/wbem/wsman/1/wsman/Pull\">";
  if (o.heartbeat_s > 0)
    body += "<wsman:Heartbeats>" + xs_duration(o.heartbeat_s) + "</wsman:Heartbeats>";
  body += "</wse:Delivery>";
  if (o.expires_s > 0) body += "<wse:Expires>" + xs_duration(o.expires_s) + "</wse:Expires>";
  body += "<wsman:Filter Dialect=\"" + std::string(ns::kWqlDialect) + "\">" + escaped(o.filter) +
          "</wsman:Filter></wse:Subscribe>";
  Common c = common;
  if (o.guard) c.options.emplace_back("lwmi_Guard", "true");
  if (o.guard_own_session) c.options.emplace_back("lwmi_GuardOwnSession", "true");
  return envelope(c, std::string(kWse) + "/Subscribe", resource_uri, {}, body);
}

std::string unsubscribe_request(const Common& common, std::string_view resource_uri,
                                std::string_view identifier) {
  std::string body = "<wse:Unsubscribe xmlns:wse=\"" + std::string(kWse) + "\"/>";
  return with_identifier(
      envelope(common, std::string(kWse) + "/Unsubscribe", resource_uri, {}, body), identifier);
}

std::string renew_request(const Common& common, std::string_view resource_uri,
                          std::string_view identifier, double expires_s) {
  std::string body = "<wse:Renew xmlns:wse=\"" + std::string(kWse) + "\">";
  if (expires_s > 0) body += "<wse:Expires>" + xs_duration(expires_s) + "</wse:Expires>";
  body += "</wse:Renew>";
  return with_identifier(envelope(common, std::string(kWse) + "/Renew", resource_uri, {}, body),
                         identifier);
}

Result<SubscribeResult> parse_subscribe_response(std::string_view body) {
  auto b = open_body(body);
  if (!b.ok()) return b.take_error();
  auto kids = elements(b->second);
  xmlNode* resp = kids.empty() ? nullptr : kids.front();
  if (!is(resp, kWse, "SubscribeResponse"))
    return bad_response(std::string("expected a SubscribeResponse, got <") +
                        (resp ? local(resp) : "nothing") + ">");
  SubscribeResult out;
  for (xmlNode* e : elements(resp)) {
    if (is(e, kWse, "SubscriptionManager")) {
      if (xmlNode* rp = child(e, ns::kAddressing, "ReferenceParameters"))
        if (xmlNode* id = child(rp, kWse, "Identifier"))
          out.identifier = std::string(base::trim(text(id)));
    } else if (is(e, kWse, "Expires")) {
      out.expires = std::string(base::trim(text(e)));
    } else if (is(e, ns::kEnumeration, "EnumerationContext")) {
      out.context = std::string(base::trim(text(e)));
    } else if (is(e, ns::kLwmi, "Guard")) {
      GuardStatus g;
      g.requested = true;
      xmlChar* active = xmlGetProp(e, reinterpret_cast<const xmlChar*>("Active"));
      g.active = active && xmlStrcmp(active, reinterpret_cast<const xmlChar*>("true")) == 0;
      if (active) xmlFree(active);
      (g.active ? g.summary : g.refusal) = std::string(base::trim(text(e)));
      out.guard = std::move(g);
    }
  }
  if (out.context.empty())
    return bad_response("the SubscribeResponse has no wsen:EnumerationContext (lwmi pulls events)");
  return out;
}

bool is_heartbeat(std::string_view body) {
  auto b = open_body(body);
  if (!b.ok()) return false;
  xmlNode* env = xmlDocGetRootElement(b->first.get());
  for (xmlNode* part : elements(env))
    if (is(part, ns::kSoap, "Header"))
      for (xmlNode* h : elements(part))
        if (is(h, ns::kAddressing, "Action"))
          return base::trim(text(h)) == "http://schemas.dmtf.org/wbem/wsman/1/wsman/Heartbeat";
  return false;
}

std::optional<Error> fault_of(std::string_view body) {
  auto b = open_envelope(body);
  if (!b.ok()) return std::nullopt;
  return fault_in(b->second);
}

std::string get_class_request(const Common& common, std::string_view cls, std::string_view ns) {
  std::string n(ns.empty() ? std::string_view("root/cimv2") : ns);
  for (char& c : n)
    if (c == '\\') c = '/';
  return get_request(common, std::string(ns::kCimXmlPrefix) + "*",
                     {{"__cimnamespace", n}, {"ClassName", std::string(cls)}});
}

Result<std::shared_ptr<ClassDecl>> parse_get_class_response(std::string_view body) {
  auto b = open_body(body);
  if (!b.ok()) return b.take_error();
  auto kids = elements(b->second);
  xmlNode* c = kids.empty() ? nullptr : kids.front();
  if (!c || std::strcmp(local(c), "CLASS") != 0)
    return bad_response(std::string("expected a CLASS, got <") + (c ? local(c) : "nothing") + ">");
  auto cls = class_from_cimxml(c);
  if (!cls.ok()) return bad_response(cls.error().message);
  return cls;
}

Result<Instance> parse_get_response(std::string_view body) {
  auto b = open_body(body);
  if (!b.ok()) return b.take_error();
  auto kids = elements(b->second);
  if (kids.empty()) return bad_response("the Get response has an empty body");
  return parse_instance(kids.front(), 0);
}

Result<EnumerationPage> parse_enumeration_response(std::string_view body) {
  auto b = open_body(body);
  if (!b.ok()) return b.take_error();
  auto kids = elements(b->second);
  xmlNode* resp = kids.empty() ? nullptr : kids.front();
  if (!is(resp, ns::kEnumeration, "EnumerateResponse") &&
      !is(resp, ns::kEnumeration, "PullResponse"))
    return bad_response(std::string("expected an EnumerateResponse or PullResponse, got <") +
                        (resp ? local(resp) : "nothing") + ">");
  EnumerationPage page;
  for (xmlNode* e : elements(resp)) {
    if (is(e, ns::kEnumeration, "EnumerationContext")) {
      page.context = text(e);
    } else if (is(e, ns::kEnumeration, "EndOfSequence") || is(e, ns::kWsman, "EndOfSequence")) {
      page.end_of_sequence = true;
    } else if (is(e, ns::kEnumeration, "Items") || is(e, ns::kWsman, "Items")) {
      auto items = elements(e);
      for (size_t i = 0; i < items.size(); ++i) {
        xmlNode* it = items[i];
        xmlNode* object = it;
        xmlNode* epr = nullptr;
        if (is(it, ns::kWsman, "Item")) {
          object = nullptr;
          for (xmlNode* k : elements(it)) {
            if (is(k, ns::kAddressing, "EndpointReference"))
              epr = k;
            else if (!object)
              object = k;
          }
        } else if (is(it, ns::kAddressing, "EndpointReference")) {
          object = nullptr;
          epr = it;
        }
        if (!object) {
          // EPR only: an instance of the class with just its keys.
          if (!epr) continue;
          ObjectPath id = identity_from_epr(epr, "");
          auto cls = cim::Schema::builtin().find(id.class_name);
          if (!cls) continue;
          Instance inst(cls);
          for (const auto& k : id.keys)
            if (auto idx = cls->property_index(k.name); idx && cls->properties[*idx].key)
              if (auto v = Value::from_text(cls->properties[*idx].type, k.value.to_text()))
                inst.set(*idx, *v);
          inst.set_identity(std::move(id));
          page.items.push_back(std::move(inst));
          continue;
        }
        auto inst = parse_instance(object, 0);
        if (!inst.ok()) return inst.take_error();
        // A class object keeps its class path (the EPR of a class has no selectors).
        if (epr && !inst->is_class())
          inst->set_identity(identity_from_epr(epr, inst->class_name()));
        page.items.push_back(std::move(*inst));
      }
    }
  }
  if (page.context.empty()) page.end_of_sequence = true;
  if (xmlNode* env = xmlDocGetRootElement(b->first.get()))
    if (xmlNode* h = child(env, ns::kSoap, "Header"))
      if (xmlNode* lost = child(h, ns::kLwmi, "LostEvents"))
        if (auto n = base::parse_u64(base::trim(text(lost)))) page.lost_events = *n;
  return page;
}

Result<ObjectPath> parse_create_response(std::string_view body) {
  auto b = open_body(body);
  if (!b.ok()) return b.take_error();
  auto kids = elements(b->second);
  xmlNode* created = kids.empty() ? nullptr : kids.front();
  if (!is(created, ns::kTransfer, "ResourceCreated"))
    return bad_response(std::string("expected a ResourceCreated, got <") +
                        (created ? local(created) : "nothing") + ">");
  ObjectPath p = identity_from_epr(created, "");
  if (p.class_name.empty() || p.keys.empty())
    return bad_response("the ResourceCreated names no instance");
  // The namespace: the WMI resource URI's path, or the __cimnamespace selector.
  xmlNode* params = child(created, ns::kAddressing, "ReferenceParameters");
  std::string uri = text(child(params, ns::kWsman, "ResourceURI"));
  if (uri.rfind(ns::kWmiPrefix, 0) == 0) {
    std::string rest = uri.substr(std::string_view(ns::kWmiPrefix).size());
    if (auto slash = rest.rfind('/'); slash != std::string::npos)
      p.namespace_path = rest.substr(0, slash);
  }
  for (xmlNode* s : elements(child(params, ns::kWsman, "SelectorSet")))
    if (is(s, ns::kWsman, "Selector") &&
        base::iequals(base::trim(attr(s, "Name").value_or("")), "__cimnamespace"))
      p.namespace_path = text(s);
  for (char& c : p.namespace_path)
    if (c == '/') c = '\\';
  return p;
}

Result<MethodResult> parse_invoke_response(std::string_view body, std::string_view cls,
                                           std::string_view method) {
  auto b = open_body(body);
  if (!b.ok()) return b.take_error();
  auto kids = elements(b->second);
  if (kids.empty()) return bad_response("the Invoke response has an empty body");
  xmlNode* out_el = kids.front();
  const MethodDecl* decl = nullptr;
  if (auto c = cim::Schema::builtin().find(cls)) decl = c->method(method);
  MethodResult result;
  bool have_rv = false;
  std::vector<std::pair<std::string, std::vector<xmlNode*>>> groups;
  for (xmlNode* p : elements(out_el)) {
    std::string name = local(p);
    if (name == "ReturnValue") {
      std::string t = text(p);
      auto v = base::parse_u64(t);
      if (!v) {
        auto s = base::parse_i64(t);
        if (!s) return bad_response("ReturnValue '" + t + "' is not an integer");
        v = static_cast<uint64_t>(static_cast<uint32_t>(*s));
      }
      result.return_value = static_cast<uint32_t>(*v);
      have_rv = true;
      continue;
    }
    auto it =
        std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == name; });
    if (it == groups.end())
      groups.push_back({name, {p}});
    else
      it->second.push_back(p);
  }
  if (!have_rv && decl && decl->return_type != CimType::kUint32) have_rv = true;
  if (!have_rv) return bad_response(std::string("<") + local(out_el) + "> has no ReturnValue");
  // lwmid's header notes: what the method said about its outcome.
  if (xmlNode* env = xmlDocGetRootElement(b->first.get()))
    if (xmlNode* h = child(env, ns::kSoap, "Header"))
      for (xmlNode* n : elements(h))
        if (is(n, ns::kLwmi, "Note")) result.notes.push_back(std::string(raw_text(n)));
  for (const auto& [name, nodes] : groups) {
    const ParameterDecl* pd = decl ? decl->parameter(name) : nullptr;
    CimType type = CimType::kString;
    bool array = nodes.size() > 1;
    if (pd) {
      type = pd->type;
      array = pd->is_array;
    } else if (std::all_of(nodes.begin(), nodes.end(), [](xmlNode* n) {
                 return !is_nil(n) && elements(n).empty() && all_digits_u32(text(n));
               })) {
      type = CimType::kUint32;
    }
    if (array) {
      std::vector<Value> elems;
      for (xmlNode* n : nodes) {
        auto v = element_value(n, type, 0);
        if (!v.ok()) return v.take_error();
        elems.push_back(std::move(*v));
      }
      result.out.emplace_back(pd ? pd->name : name, Value::array(type, std::move(elems)));
    } else {
      auto v = element_value(nodes.back(), type, 0);
      if (!v.ok()) return v.take_error();
      result.out.emplace_back(pd ? pd->name : name, std::move(*v));
    }
  }
  // Declaration order when the method is known.
  if (decl) {
    Parameters ordered;
    for (const auto& pd : decl->parameters)
      for (auto& [n, v] : result.out)
        if (base::iequals(n, pd.name)) ordered.emplace_back(n, v);
    for (auto& [n, v] : result.out)
      if (!decl->parameter(n)) ordered.emplace_back(n, v);
    result.out = std::move(ordered);
  }
  return result;
}

Result<void> parse_empty_response(std::string_view body) {
  if (base::trim(body).empty()) return {};
  auto b = open_body(body);
  if (!b.ok()) return b.take_error();
  return {};
}

Result<std::string> parse_identify_response(std::string_view body) {
  auto b = open_body(body);
  if (!b.ok()) return b.take_error();
  xmlNode* r = child(b->second, kIdentifyNs, "IdentifyResponse");
  if (!r) return bad_response("no IdentifyResponse");
  std::string out = text(child(r, kIdentifyNs, "ProductVendor"));
  std::string ver = text(child(r, kIdentifyNs, "ProductVersion"));
  if (!ver.empty()) out += " " + ver;
  return out;
}

}  // namespace lwmi::wsman::client
