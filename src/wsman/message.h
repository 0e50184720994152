// wsman/message.h — WS-Management requests and responses as plain data.
//
// The codec (envelope.h) turns a SOAP 1.2 envelope into a Request and a Response into an
// envelope; operations.h maps a Request onto the CIM service. Nothing here touches the network.
// Thread safety: plain data.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lwmi/class_decl.h"
#include "lwmi/instance.h"
#include "lwmi/result.h"
#include "lwmi/services.h"

namespace lwmi::wsman {

namespace ns {
inline constexpr const char* kSoap = "http://www.w3.org/2003/05/soap-envelope";
inline constexpr const char* kAddressing = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
inline constexpr const char* kWsman = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd";
inline constexpr const char* kEnumeration = "http://schemas.xmlsoap.org/ws/2004/09/enumeration";
inline constexpr const char* kEventing = "http://schemas.xmlsoap.org/ws/2004/08/eventing";
inline constexpr const char* kTransfer = "http://schemas.xmlsoap.org/ws/2004/09/transfer";
inline constexpr const char* kIdentity =
    "http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd";
inline constexpr const char* kMsWsman = "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd";
inline constexpr const char* kXsi = "http://www.w3.org/2001/XMLSchema-instance";
inline constexpr const char* kCim = "http://schemas.dmtf.org/wbem/wscim/1/common";
inline constexpr const char* kWmiPrefix = "http://schemas.microsoft.com/wbem/wsman/1/wmi/";
inline constexpr const char* kDmtfPrefix = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/";
inline constexpr const char* kCimXmlPrefix =
    "http://schemas.dmtf.org/wbem/wscim/1/cim-xml/2/cim-schema/2/";
inline constexpr const char* kWqlDialect = "http://schemas.microsoft.com/wbem/wsman/1/WQL";
/// lwmi's own header elements (never mustUnderstand: other clients ignore them).
inline constexpr const char* kLwmi = "urn:lwmi:wsman:1";
inline constexpr const char* kAnonymous =
    "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous";
}  // namespace ns

/// In the EnablePrivilege option's list: every privilege the caller holds (wmic's default,
/// /privileges:enable). Those not held are not refusals: none was asked for by name.
inline constexpr const char* kEveryHeldPrivilege = "*";

enum class Operation {
  kIdentify,
  kGet,
  kPut,
  kDelete,
  kCreate,
  kEnumerate,
  kPull,
  kRelease,
  kInvoke,
  kSubscribe,
  kUnsubscribe,
  kRenew,
  kUnknown,
};

struct Selector {
  std::string name;
  std::string value;
};

/// One property of a Create body: its text, or NULL (xsi:nil). A reference given as an endpoint
/// reference is already object path text (Class.Key="v"); an array repeats the name.
struct PropertyText {
  std::string name;
  std::string text;
  bool nil = false;
};

/// A decoded request envelope.
struct Request {
  Operation operation = Operation::kUnknown;
  std::string action;               ///< wsa:Action as sent
  std::string method;               ///< kInvoke: the method name (last segment of the Action)
  std::string resource_uri;         ///< wsman:ResourceURI
  std::string message_id;           ///< wsa:MessageID
  std::string to;                   ///< wsa:To (never checked strictly)
  std::string reply_to;             ///< wsa:ReplyTo/Address
  std::vector<Selector> selectors;  ///< wsman:SelectorSet
  std::vector<std::pair<std::string, std::string>> options;  ///< wsman:OptionSet Name -> text
  std::optional<double> operation_timeout_s;  ///< wsman:OperationTimeout (xs:duration)
  std::optional<uint64_t> max_envelope_size;  ///< wsman:MaxEnvelopeSize
  std::string locale;                         ///< wsman:Locale xml:lang
  /// Header elements with mustUnderstand="true" that the decoder does not handle (their
  /// qualified names, "{ns}local"); the operation layer faults on them.
  std::vector<std::string> not_understood;

  // Enumerate / Pull / Release
  std::string filter;          ///< wsman:Filter text (a WQL query)
  std::string filter_dialect;  ///< its Dialect attribute ("" when absent)
  bool optimize = false;       ///< wsman:OptimizeEnumeration
  std::optional<uint32_t> max_elements;
  bool object_and_epr = false;       ///< EnumerationMode EnumerateObjectAndEPR
  bool epr_only = false;             ///< EnumerationMode EnumerateEPR
  std::string context;               ///< wsen:EnumerationContext (Pull, Release)
  std::optional<double> max_time_s;  ///< wsen:MaxTime (Pull): how long to assemble the answer

  // Invoke: the <Method>_INPUT parameters. A parameter may repeat (arrays); an embedded
  // object's properties appear as "Param.Prop".
  std::vector<std::pair<std::string, std::string>> parameters;
  std::vector<std::string> nil_parameters;  ///< parameters sent with xsi:nil="true"

  // Create: the body's instance element (its local name and namespace URI) and its properties.
  std::string instance_element;
  std::string instance_namespace;
  std::vector<PropertyText> instance_properties;

  // Subscribe
  std::string delivery_mode;
  std::optional<double> expires_s;
  std::optional<double> heartbeats_s;
  std::string identifier;  ///< Unsubscribe/Renew: the subscription (wse:Identifier)

  /// Set by the server, never decoded: the Unix socket connection the request came on. A
  /// subscription made on one ends when that connection closes.
  std::optional<uint64_t> local_connection;
};

/// A fault: SOAP 1.2 code and subcode, the WBEM status in a WSManFault detail, HTTP status.
struct Fault {
  std::string code = "s:Sender";  ///< "s:Sender" or "s:Receiver"
  /// With the prefixes encode() binds: s (SOAP), a (addressing), w (wsman), n (enumeration),
  /// e (eventing): "w:InvalidSelectors", "a:ActionNotSupported", "n:InvalidEnumerationContext".
  std::string subcode;
  std::string reason;  ///< human-readable text
  std::string detail;  ///< e.g. a wsman FaultDetail URI, may be empty
  WbemStatus wbem = WbemStatus::kFailed;
  int http_status = 500;  ///< WinRM answers faults with HTTP 500 (400 for bad XML)
  std::string action;     ///< the fault Action; "" = the wsman fault action
  // The Error's data, in lwmi elements of the Detail (<l:Position>, <l:DroppedEvents>), so that
  // lwmi's client needs no text of the message; other clients ignore them.
  std::optional<size_t> position;  ///< Error::position: where in the request's query
  uint64_t dropped_events = 0;     ///< Error::dropped_events
};

/// A fault with HTTP status 500, as WinRM answers an operation that fails (decode() answers a
/// request it cannot take with 400).
Fault make_fault(std::string subcode, std::string reason, WbemStatus wbem,
                 std::string code = "s:Sender");

/// One item of an enumeration response.
struct Item {
  Instance instance;  ///< may be a projection
  bool with_object = true;
  bool with_epr = false;  ///< add a wsa:EndpointReference (Handle and CreationDate selectors)
};

/// What the operation layer produces; the codec turns it into an envelope.
struct Response {
  std::string action;      ///< the response Action URI
  std::string relates_to;  ///< the request's MessageID
  std::optional<Fault> fault;
  // kGet: one instance. kInvoke: the out-parameters (an instance of <Method>_OUTPUT).
  std::optional<Instance> instance;
  std::string resource_uri;    ///< for naming the instance element's namespace
  std::string output_element;  ///< kInvoke: "Terminate_OUTPUT"
  // kGet on the cim-xml resource URI (GetClass): the class definition, sent as CIM-XML.
  std::shared_ptr<const ClassDecl> class_decl;
  // Enumerate / Pull
  bool is_enumeration = false;
  bool is_pull = false;
  std::vector<Item> items;
  std::string context;  ///< "" at the end of the sequence: no context is sent
  bool end_of_sequence = false;
  // Identify
  bool is_identify = false;
  // Subscribe
  std::string subscription_id;
  std::optional<double> expires_s;
  /// Subscribe asked for the exec guard (option lwmi_Guard): what became of it, sent as
  /// <l:Guard Active="true|false">summary or refusal</l:Guard> in the SubscribeResponse.
  std::optional<GuardStatus> guard;
  // kInvoke: what the method said about its outcome (MethodResult::notes, e.g. why Terminate was
  // refused), sent as header elements <l:Note>…</l:Note> that other clients ignore.
  std::vector<std::string> notes;
  // Pull on an event subscription: kernel events the server's stream lost so far (each answered
  // by a rescan of /proc, so none is missed), sent as the header <l:LostEvents>.
  std::optional<uint64_t> lost_events;
  // Renew: a RenewResponse with expires_s.
  bool is_renew = false;
  // Create: the new instance, answered as <x:ResourceCreated> (its EPR: ResourceURI of
  // `resource_uri`'s family, and its keys as selectors).
  std::optional<ObjectPath> created;
  // Delete/Release/Unsubscribe: an empty body with the right Action.
};

/// The response carrying `fault`, relating to request `r`.
Response fault_response(const Request& r, Fault fault);

}  // namespace lwmi::wsman
