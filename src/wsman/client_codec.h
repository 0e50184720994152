// wsman/client_codec.h — the CLIENT side of the WS-Management codec: request envelopes for
// Identify, Get, Enumerate, Pull, Release, Invoke, Delete and Create, written the way openwsman's
// client writes them (SOAP 1.2, WS-Addressing, mustUnderstand on the headers that matter), and
// parsers for the responses (libxml2, namespace-aware) into lwmi's own types.
//
// Instances are typed by lwmi's built-in schema (cim::Schema::builtin()): an element is matched
// to a class by its local name and each property's text converted to the declared type
// (booleans true/false, <cim:Datetime> xs:dateTime back to CIM DATETIME, xsi:nil = typed NULL).
// An element of a class the schema does not know gets an ad-hoc class whose properties are
// uint32 when every value is a decimal number that fits, else string. A fault becomes an Error:
// the WSManFault Code attribute as the WBEM status (WBEM_E_FAILED when absent), the s:Reason
// text as the message.
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lwmi/instance.h"
#include "lwmi/method.h"
#include "lwmi/result.h"
#include "wsman/message.h"

namespace lwmi::wsman::client {

/// Headers every request carries.
struct Common {
  std::string to = "http://localhost/wsman";  ///< wsa:To: the endpoint URL
  std::string message_id;                     ///< "" = a fresh uuid:…
  std::vector<std::string> privileges;        ///< sent as the EnablePrivilege option
  /// Further wsman:Option elements (Name, text), in the same OptionSet.
  std::vector<std::pair<std::string, std::string>> options;
  /// Invoke: lwmid's lwmi_WhatIf option, sent with MustComply="true" in an OptionSet the server
  /// must understand, so a server without it faults rather than running the call.
  bool what_if = false;
  double timeout_s = 60;                ///< wsman:OperationTimeout
  uint64_t max_envelope_size = 512000;  ///< wsman:MaxEnvelopeSize
};

/// "uuid:xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" (random, version 4).
std::string new_message_id();
/// http://schemas.microsoft.com/wbem/wsman/1/wmi/<ns>/<cls> ("*" for the WQL wildcard); `ns`
/// with '\\' or '/' separators, "" = root/cimv2.
std::string class_uri(std::string_view cls, std::string_view ns = "root/cimv2");
/// The class a resource URI names (its last segment).
std::string class_of_uri(std::string_view resource_uri);

struct EnumerateOptions {
  std::string filter;  ///< a WQL query; "" = every instance of the resource URI's class
  bool optimize = true;
  uint32_t max_elements = 100;
  bool object_and_epr = true;
};

std::string identify_request(const Common& common);
std::string get_request(const Common& common, std::string_view resource_uri,
                        const std::vector<Selector>& selectors);
std::string enumerate_request(const Common& common, std::string_view resource_uri,
                              const EnumerateOptions& options);
std::string pull_request(const Common& common, std::string_view resource_uri,
                         std::string_view context, uint32_t max_elements);
std::string release_request(const Common& common, std::string_view resource_uri,
                            std::string_view context);
/// Action <resource_uri>/<method>; body <p:<method>_INPUT xmlns:p=resource_uri>. A repeated
/// name is an array; "Param.Prop" names become one <p:Param> holding <p:Prop> elements; an
/// embedded-object Value is written as such a nested element too; a NULL as xsi:nil.
std::string invoke_request(const Common& common, std::string_view resource_uri,
                           std::string_view method, const std::vector<Selector>& selectors,
                           const Parameters& in);
std::string delete_request(const Common& common, std::string_view resource_uri,
                           const std::vector<Selector>& selectors);
/// WS-Transfer Create: the body is <p:<Class> xmlns:p=resource_uri> (the class is the resource
/// URI's last segment) holding one element per property, as invoke_request writes parameters
/// (repeats for arrays, xsi:nil for NULL; a reference as its object path text).
std::string create_request(const Common& common, std::string_view resource_uri,
                           const Parameters& properties);

/// WS-Eventing Subscribe with Pull delivery, the filter a WQL event query (as WinRM and openwsman
/// send it). expires_s / heartbeat_s: 0 = not asked for.
struct SubscribeOptions {
  std::string filter;
  double expires_s = 0;
  double heartbeat_s = 0;
  bool guard = false;              ///< option lwmi_Guard=true (NotificationOptions::guard)
  bool guard_own_session = false;  ///< option lwmi_GuardOwnSession=true
};
std::string subscribe_request(const Common& common, std::string_view resource_uri,
                              const SubscribeOptions& options);
/// Unsubscribe / Renew: the subscription's wse:Identifier in the header.
std::string unsubscribe_request(const Common& common, std::string_view resource_uri,
                                std::string_view identifier);
std::string renew_request(const Common& common, std::string_view resource_uri,
                          std::string_view identifier, double expires_s);

/// A SubscribeResponse: the subscription's identifier, its enumeration context (what Pull
/// takes) and the lease granted.
struct SubscribeResult {
  std::string identifier;
  std::string context;
  std::string expires;               ///< xs:duration as sent, "" when absent
  std::optional<GuardStatus> guard;  ///< <l:Guard>, when the server answered a guard request
};
Result<SubscribeResult> parse_subscribe_response(std::string_view body);
/// True when a response's wsa:Action is the WS-Management heartbeat.
bool is_heartbeat(std::string_view body);

/// One page of an enumeration (EnumerateResponse or PullResponse).
struct EnumerationPage {
  std::vector<Instance> items;
  std::string context;  ///< "" when the server sent none (end of sequence)
  bool end_of_sequence = false;
  /// Pull on an event subscription: lwmid's count of kernel events its stream lost (rescanned).
  std::optional<uint64_t> lost_events;
};

/// The Error a fault envelope carries; nullopt when `body` is not a fault.
std::optional<Error> fault_of(std::string_view body);
/// A GetResponse: the instance (with its identity from its keys).
Result<Instance> parse_get_response(std::string_view body);
/// An EnumerateResponse or PullResponse; items keep the identity their EPR names.
Result<EnumerationPage> parse_enumeration_response(std::string_view body);
/// An Invoke response: ReturnValue and the out-parameters, typed by `cls`.`method` in the schema.
Result<MethodResult> parse_invoke_response(std::string_view body, std::string_view cls,
                                           std::string_view method);
/// A CreateResponse: the new instance's path from its <x:ResourceCreated> EPR (class from the
/// ResourceURI, keys from the selectors, namespace from a WMI ResourceURI or __cimnamespace).
Result<ObjectPath> parse_create_response(std::string_view body);
/// GetClass (as the Windows MI client asks for it): a Get on the cim-xml resource URI with the
/// selectors __cimnamespace (`ns`, '\\' or '/' separated) and ClassName.
std::string get_class_request(const Common& common, std::string_view cls, std::string_view ns);
/// A GetClass response: the class definition in CIM-XML (DSP0201) as a ClassDecl: its
/// superclass, qualifiers (Abstract, Description into their fields), properties (type, array,
/// reference class, origin; Key, MaxLen, Units, Privileges, EmbeddedInstance and Description
/// into their fields, every qualifier but Description and EmbeddedInstance kept in the list, as
/// the schema loader keeps them), methods (Static, Privileges, Description into fields; ValueMap
/// and the others kept) and their parameters (In, Out, EmbeddedInstance, Description into
/// fields). CIM-XML does not carry the derivation beyond the superclass: the caller fills it.
Result<std::shared_ptr<ClassDecl>> parse_get_class_response(std::string_view body);
/// Any other response (Delete, Release): success unless it is a fault.
Result<void> parse_empty_response(std::string_view body);
/// An IdentifyResponse: "ProductVendor ProductVersion".
Result<std::string> parse_identify_response(std::string_view body);

}  // namespace lwmi::wsman::client
