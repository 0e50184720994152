// wsman/envelope_encode.cc — writing response and fault envelopes (a small escaping writer;
// the prefixes s, a, w, n, e, cim and xsi are bound once on the Envelope).
#include <string>
#include <string_view>

#include "base/strings.h"
#include "base/uuid.h"
#include "wsman/cim_xml.h"
#include "wsman/envelope.h"
#include "wsman/xml.h"
#include "wsman/xsd.h"

namespace lwmi::wsman {

namespace {

using base::iequals;
using xml::escape;
using xml::escaped;

/// CIM DATETIME text as <cim:Datetime> (xs:dateTime) or <cim:Interval> (xs:duration); text that
/// cannot be converted (wildcards) is sent as it is inside cim:Datetime.
std::string datetime_element(const std::string& cim) {
  if (auto xs = xs_from_cim_datetime(cim)) {
    if (xs->interval) return "<cim:Interval>" + xs->text + "</cim:Interval>";
    return "<cim:Datetime>" + xs->text + "</cim:Datetime>";
  }
  return "<cim:Datetime>" + escaped(cim) + "</cim:Datetime>";
}

/// The namespace URI naming class `cls` in the resource-URI family of `resource_uri`.
std::string class_namespace(const std::string& resource_uri, const Instance& inst) {
  if (base::istarts_with(resource_uri, ns::kWmiPrefix)) {
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
    out += "<" + p + ":" + element + " xmlns:" + p + "=\"" + escaped(nsuri) + "\"";
    if (!return_value_first) out += " xsi:type=\"" + p + ":" + escaped(element) + "_Type\"";
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
    if (!derivation.empty()) out += " l:Derivation=\"" + escaped(derivation) + "\"";
    out += ">";
    for (const auto& prop : cls.properties)
      out += "<" + p + ":" + escaped(prop.name) + " xsi:nil=\"true\"/>";
    out += "</" + p + ":" + escaped(cls.name) + ">";
  }

  void property(const std::string& p, const std::string& name, const Value& v, int depth) {
    std::string tag = p + ":" + escaped(name);
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
      escape(out, xs_text(v));
    out += "</" + tag + ">";
  }

  void epr(const Instance& inst) {
    out += "<a:EndpointReference><a:Address>";
    out += ns::kAnonymous;
    out += "</a:Address><a:ReferenceParameters><w:ResourceURI>";
    escape(out, class_namespace(resource_uri_, inst));
    out += "</w:ResourceURI><w:SelectorSet>";
    auto selector = [&](const std::string& name, const std::string& value) {
      out += "<w:Selector Name=\"" + escaped(name) + "\">" + escaped(value) + "</w:Selector>";
    };
    const ObjectPath& id = inst.identity();
    if (!id.keys.empty()) {
      for (const auto& k : id.keys) selector(k.name, k.value.to_text());
    } else {
      const auto& props = inst.cls().properties;
      for (size_t i : inst.cls().key_indices())
        if (inst.has(i)) selector(props[i].name, inst.at(i).to_text());
    }
    if (!base::istarts_with(resource_uri_, ns::kWmiPrefix)) {
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
  h += "</a:Action><a:MessageID>" + base::new_uuid() + "</a:MessageID>";
  if (!relates_to.empty()) h += "<a:RelatesTo>" + escaped(relates_to) + "</a:RelatesTo>";
  h += "</s:Header>";
  return h;
}

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
    out += "<s:Subcode><s:Value>" + escaped(fault.subcode) + "</s:Value></s:Subcode>";
  out += "</s:Code><s:Reason><s:Text xml:lang=\"en-US\">";
  escape(out, fault.reason);
  out +=
      "</s:Text></s:Reason><s:Detail>"
      "<f:WSManFault xmlns:f=\"http://schemas.microsoft.com/wbem/wsman/1/wsmanfault\" Code=\"";
  out += std::to_string(static_cast<uint32_t>(fault.wbem));
  out += "\" Machine=\"\"><f:Message>";
  escape(out, fault.reason);
  out += "</f:Message></f:WSManFault>";
  if (!fault.detail.empty()) out += "<w:FaultDetail>" + escaped(fault.detail) + "</w:FaultDetail>";
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
               "<l:Note xmlns:l=\"" + std::string(ns::kLwmi) + "\">" + escaped(note) + "</l:Note>");
  Writer w(response.resource_uri);
  w.out = std::move(out);
  w.out += "<s:Body>";
  if (response.is_enumeration) {
    w.out += "<n:EnumerateResponse>";
    if (!response.context.empty())
      w.out += "<n:EnumerationContext>" + escaped(response.context) + "</n:EnumerationContext>";
    w.out += "<w:Items>";
    w.items(response.items);
    w.out += "</w:Items>";
    if (response.end_of_sequence) w.out += "<w:EndOfSequence/>";
    w.out += "</n:EnumerateResponse>";
  } else if (response.is_pull) {
    w.out += "<n:PullResponse>";
    if (!response.context.empty())
      w.out += "<n:EnumerationContext>" + escaped(response.context) + "</n:EnumerationContext>";
    w.out += "<n:Items>";
    w.items(response.items);
    w.out += "</n:Items>";
    if (response.end_of_sequence) w.out += "<n:EndOfSequence/>";
    w.out += "</n:PullResponse>";
  } else if (!response.subscription_id.empty()) {
    w.out += "<e:SubscribeResponse><e:SubscriptionManager><a:Address>";
    w.out += ns::kAnonymous;
    w.out += "</a:Address><a:ReferenceParameters><e:Identifier>" +
             escaped(response.subscription_id) +
             "</e:Identifier></a:ReferenceParameters></e:SubscriptionManager>";
    if (response.expires_s)
      w.out += "<e:Expires>" + xs_duration(*response.expires_s) + "</e:Expires>";
    if (!response.context.empty())
      w.out += "<n:EnumerationContext>" + escaped(response.context) + "</n:EnumerationContext>";
    if (response.guard)
      w.out += "<l:Guard xmlns:l=\"" + std::string(ns::kLwmi) + "\" Active=\"" +
               (response.guard->active ? "true" : "false") + "\">" +
               escaped(response.guard->active ? response.guard->summary : response.guard->refusal) +
               "</l:Guard>";
    w.out += "</e:SubscribeResponse>";
  } else if (response.is_renew) {
    w.out += "<e:RenewResponse>";
    if (response.expires_s)
      w.out += "<e:Expires>" + xs_duration(*response.expires_s) + "</e:Expires>";
    w.out += "</e:RenewResponse>";
  } else if (response.created) {
    // WS-Transfer: the EPR of the new resource; WS-Management's selectors name its keys.
    const ObjectPath& p = *response.created;
    std::string nsp = p.namespace_path.empty() ? "root/cimv2" : p.namespace_path;
    for (char& c : nsp)
      if (c == '\\') c = '/';
    bool wmi =
        base::istarts_with(response.resource_uri, ns::kWmiPrefix) || response.resource_uri.empty();
    std::string uri = wmi ? std::string(ns::kWmiPrefix) + nsp + "/" + p.class_name
                          : std::string(ns::kDmtfPrefix) + p.class_name;
    w.out += "<x:ResourceCreated xmlns:x=\"" + std::string(ns::kTransfer) + "\"><a:Address>";
    w.out += ns::kAnonymous;
    w.out += "</a:Address><a:ReferenceParameters><w:ResourceURI>" + escaped(uri) +
             "</w:ResourceURI><w:SelectorSet>";
    for (const auto& k : p.keys)
      w.out += "<w:Selector Name=\"" + escaped(k.name) + "\">" + escaped(k.value.to_text()) +
               "</w:Selector>";
    if (!wmi) w.out += "<w:Selector Name=\"__cimnamespace\">" + escaped(nsp) + "</w:Selector>";
    w.out += "</w:SelectorSet></a:ReferenceParameters></x:ResourceCreated>";
  } else if (response.class_decl) {
    w.out += class_cimxml(*response.class_decl);
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
