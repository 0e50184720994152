// Round trips of the client codec through the server codec: requests the client builds must
// decode into the right Request; responses the server encodes must parse into the right values.
#include "wsman/client_codec.h"

#include <gtest/gtest.h>

#include <limits>
#include <variant>

#include "cim/schema.h"
#include "wsman/envelope.h"

namespace lwmi::wsman::client {
namespace {

const char kProcUri[] = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_Process";
const char kCreation[] = "20261127072421.123456+060";

Request decoded(const std::string& envelope) {
  auto v = decode(envelope);
  if (auto* f = std::get_if<Fault>(&v)) {
    ADD_FAILURE() << "decode faulted: " << f->subcode << ": " << f->reason << "\n" << envelope;
    return {};
  }
  return std::get<Request>(v);
}

Common common() {
  Common c;
  c.to = "https://host.example:5986/wsman";
  return c;
}

Instance process(uint32_t pid, bool with_nulls = false) {
  auto cls = cim::Schema::builtin().find("Win32_Process");
  Instance inst(cls);
  inst.set("Handle", Value::string(std::to_string(pid)));
  inst.set("ProcessId", Value::uint32(pid));
  inst.set("Name", Value::string("bash <&> \"x\""));
  inst.set("CreationDate", Value::datetime(kCreation));
  inst.set("WorkingSetSize", Value::uint64(123456789012ULL));
  if (with_nulls) inst.set("ExecutablePath", Value::null(CimType::kString));
  ObjectPath id;
  id.class_name = "Win32_Process";
  id.keys.push_back({"Handle", Value::string(std::to_string(pid))});
  id.keys.push_back({"CreationDate", Value::string(kCreation)});
  inst.set_identity(id);
  return inst;
}

TEST(ClientCodecRequest, GetDecodesWithSelectorsAndHeaders) {
  Common c = common();
  c.privileges = {"SeDebugPrivilege"};
  c.timeout_s = 30;
  std::string env = get_request(c, kProcUri, {{"Handle", "1234"}, {"CreationDate", kCreation}});
  Request r = decoded(env);
  EXPECT_EQ(r.operation, Operation::kGet);
  EXPECT_EQ(r.resource_uri, kProcUri);
  EXPECT_EQ(r.to, "https://host.example:5986/wsman");
  EXPECT_EQ(r.reply_to, ns::kAnonymous);
  EXPECT_EQ(r.message_id.rfind("uuid:", 0), 0u);
  EXPECT_EQ(r.message_id.size(), 41u);
  ASSERT_EQ(r.selectors.size(), 2u);
  EXPECT_EQ(r.selectors[0].name, "Handle");
  EXPECT_EQ(r.selectors[0].value, "1234");
  EXPECT_EQ(r.selectors[1].value, kCreation);
  ASSERT_EQ(r.options.size(), 1u);
  EXPECT_EQ(r.options[0].first, "EnablePrivilege");
  EXPECT_EQ(r.options[0].second, "SeDebugPrivilege");
  ASSERT_TRUE(r.operation_timeout_s);
  EXPECT_DOUBLE_EQ(*r.operation_timeout_s, 30);
  ASSERT_TRUE(r.max_envelope_size);
  EXPECT_EQ(*r.max_envelope_size, 512000u);
  EXPECT_TRUE(r.not_understood.empty());
}

// The exec guard's request (two options beside EnablePrivilege, in one OptionSet) and its answer
// (<l:Guard> in the SubscribeResponse), through the server's own decoder and encoder.
TEST(ClientCodecRequest, SubscribeAsksForTheGuardAndReadsItsAnswer) {
  Common c = common();
  c.privileges = {"SeDebugPrivilege"};
  SubscribeOptions o;
  o.filter = "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance.Name = 'x'";
  o.guard = true;
  o.guard_own_session = true;
  Request r = decoded(subscribe_request(c, class_uri("*"), o));
  ASSERT_EQ(r.options.size(), 3u);
  EXPECT_EQ(r.options[0].first, "EnablePrivilege");
  EXPECT_EQ(r.options[1], (std::pair<std::string, std::string>{"lwmi_Guard", "true"}));
  EXPECT_EQ(r.options[2], (std::pair<std::string, std::string>{"lwmi_GuardOwnSession", "true"}));
  o.guard = o.guard_own_session = false;
  c.privileges.clear();
  EXPECT_TRUE(decoded(subscribe_request(c, class_uri("*"), o)).options.empty());

  Response resp;
  resp.action = "http://schemas.xmlsoap.org/ws/2004/08/eventing/SubscribeResponse";
  resp.subscription_id = "uuid:sub-1";
  resp.context = "uuid:sub-1";
  GuardStatus on;
  on.requested = on.active = true;
  on.summary = "file name 'x' <&> or comm 'x'";
  resp.guard = on;
  auto got = parse_subscribe_response(encode(resp));
  ASSERT_TRUE(got.ok()) << got.error().message;
  ASSERT_TRUE(got->guard);
  EXPECT_TRUE(got->guard->active);
  EXPECT_EQ(got->guard->summary, on.summary);
  GuardStatus off;
  off.requested = true;
  off.refusal = "only the admin group may install kernel rules";
  resp.guard = off;
  got = parse_subscribe_response(encode(resp));
  ASSERT_TRUE(got.ok() && got->guard);
  EXPECT_FALSE(got->guard->active);
  EXPECT_EQ(got->guard->refusal, off.refusal);
  resp.guard.reset();  // not asked: no element, and the client knows the server said nothing
  got = parse_subscribe_response(encode(resp));
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->guard);
}

TEST(ClientCodecRequest, MessageIdsDiffer) {
  EXPECT_NE(new_message_id(), new_message_id());
}

TEST(ClientCodecRequest, EnumerateWithWqlFilter) {
  EnumerateOptions o;
  o.filter = "SELECT * FROM Win32_Process WHERE Name='a<b'";
  o.max_elements = 100;
  Request r = decoded(enumerate_request(common(), class_uri("*"), o));
  EXPECT_EQ(r.operation, Operation::kEnumerate);
  EXPECT_EQ(r.resource_uri, "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/*");
  EXPECT_EQ(r.filter, o.filter);
  EXPECT_EQ(r.filter_dialect, ns::kWqlDialect);
  EXPECT_TRUE(r.optimize);
  ASSERT_TRUE(r.max_elements);
  EXPECT_EQ(*r.max_elements, 100u);
  EXPECT_TRUE(r.object_and_epr);
}

TEST(ClientCodecRequest, EnumerateClassPlain) {
  EnumerateOptions o;
  o.optimize = false;
  o.max_elements = 0;
  o.object_and_epr = false;
  Request r = decoded(enumerate_request(common(), class_uri("Win32_Process"), o));
  EXPECT_EQ(r.operation, Operation::kEnumerate);
  EXPECT_EQ(r.resource_uri, kProcUri);
  EXPECT_TRUE(r.filter.empty());
  EXPECT_FALSE(r.optimize);
  EXPECT_FALSE(r.max_elements);
  EXPECT_FALSE(r.object_and_epr);
}

TEST(ClientCodecRequest, PullAndRelease) {
  Request p = decoded(pull_request(common(), kProcUri, "uuid:ctx-1", 100));
  EXPECT_EQ(p.operation, Operation::kPull);
  EXPECT_EQ(p.context, "uuid:ctx-1");
  ASSERT_TRUE(p.max_elements);
  EXPECT_EQ(*p.max_elements, 100u);
  Request r = decoded(release_request(common(), kProcUri, "uuid:ctx-1"));
  EXPECT_EQ(r.operation, Operation::kRelease);
  EXPECT_EQ(r.context, "uuid:ctx-1");
}

TEST(ClientCodecRequest, InvokeWithNestedAndArrayParameters) {
  Parameters in = {{"CommandLine", Value::string("sleep 10")},
                   {"ProcessStartupInformation.PriorityClass", Value::uint32(64)},
                   {"ProcessStartupInformation.Title", Value::string("t")},
                   {"CurrentDirectory", Value::null(CimType::kString)}};
  Request r = decoded(invoke_request(common(), kProcUri, "Create", {}, in));
  EXPECT_EQ(r.operation, Operation::kInvoke);
  EXPECT_EQ(r.method, "Create");
  EXPECT_EQ(r.action, std::string(kProcUri) + "/Create");
  EXPECT_TRUE(r.selectors.empty());
  std::vector<std::pair<std::string, std::string>> want = {
      {"CommandLine", "sleep 10"},
      {"ProcessStartupInformation.PriorityClass", "64"},
      {"ProcessStartupInformation.Title", "t"}};
  EXPECT_EQ(r.parameters, want);
  EXPECT_EQ(r.nil_parameters, std::vector<std::string>{"CurrentDirectory"});
}

TEST(ClientCodecRequest, InvokeOnInstance) {
  Request r = decoded(invoke_request(common(), kProcUri, "Terminate", {{"Handle", "42"}},
                                     {{"Reason", Value::uint32(15)}}));
  EXPECT_EQ(r.operation, Operation::kInvoke);
  EXPECT_EQ(r.method, "Terminate");
  ASSERT_EQ(r.selectors.size(), 1u);
  EXPECT_EQ(r.selectors[0].value, "42");
  ASSERT_EQ(r.parameters.size(), 1u);
  EXPECT_EQ(r.parameters[0], (std::pair<std::string, std::string>{"Reason", "15"}));
}

// --dry-run's Invoke: an option the server must comply with, so a server that does not know
// it faults rather than running the call.
TEST(ClientCodecRequest, WhatIfMustBeCompliedWith) {
  Common c = common();
  c.what_if = true;
  const std::string body =
      invoke_request(c, kProcUri, "Terminate", {{"Handle", "42"}}, {{"Reason", Value::uint32(1)}});
  EXPECT_NE(body.find("<wsman:OptionSet s:mustUnderstand=\"true\">"), std::string::npos) << body;
  EXPECT_NE(body.find("<wsman:Option Name=\"lwmi_WhatIf\" MustComply=\"true\">true</"),
            std::string::npos)
      << body;
  Request r = decoded(body);
  ASSERT_EQ(r.options.size(), 1u);
  EXPECT_EQ(r.options[0], (std::pair<std::string, std::string>{"lwmi_WhatIf", "true"}));
}

TEST(ClientCodecRequest, DeleteAndIdentify) {
  Request d = decoded(delete_request(common(), kProcUri, {{"Handle", "42"}}));
  EXPECT_EQ(d.operation, Operation::kDelete);
  ASSERT_EQ(d.selectors.size(), 1u);
  Request i = decoded(identify_request(common()));
  EXPECT_EQ(i.operation, Operation::kIdentify);
}

// Create round trip: what the client writes is what the server decodes (arrays repeat, NULL is
// xsi:nil, a reference is its path text), and the server's ResourceCreated parses into the path.
TEST(ClientCodecRequest, CreateRoundTrip) {
  std::string uri = class_uri("__EventFilter", "root\\subscription");
  EXPECT_EQ(uri, "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/subscription/__EventFilter");
  Request r = decoded(create_request(
      common(), uri,
      {{"Name", Value::string("a<&>\"b")},
       {"Tags", Value::array(CimType::kString, {Value::string("x"), Value::string("y")})},
       {"Reason", Value::null(CimType::kUint32)},
       {"Filter", Value::reference("__EventFilter.Name=\"f\"")}}));
  EXPECT_EQ(r.operation, Operation::kCreate);
  EXPECT_EQ(r.resource_uri, uri);
  EXPECT_EQ(r.instance_element, "__EventFilter");
  EXPECT_EQ(r.instance_namespace, uri);
  ASSERT_EQ(r.instance_properties.size(), 5u);
  EXPECT_EQ(r.instance_properties[0].text, "a<&>\"b");
  EXPECT_EQ(r.instance_properties[1].name, "Tags");
  EXPECT_EQ(r.instance_properties[2].text, "y");
  EXPECT_TRUE(r.instance_properties[3].nil);
  EXPECT_EQ(r.instance_properties[4].text, "__EventFilter.Name=\"f\"");

  Response resp;
  resp.action = "http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse";
  resp.resource_uri = uri;
  ObjectPath p;
  p.namespace_path = "root\\subscription";
  p.class_name = "__EventFilter";
  p.keys.push_back({"Name", Value::string("a<&>\"b")});
  resp.created = p;
  auto parsed = parse_create_response(encode(resp));
  ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
  EXPECT_EQ(parsed->to_string(), p.to_string());
  // The DMTF family says the namespace with __cimnamespace.
  resp.resource_uri = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/__EventFilter";
  parsed = parse_create_response(encode(resp));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->to_string(), p.to_string());
  // Anything else is not a creation.
  Response empty;
  empty.action = resp.action;
  EXPECT_FALSE(parse_create_response(encode(empty)).ok());
  Response fault;
  Fault taken;
  taken.subcode = "w:AlreadyExists";
  taken.reason = "taken";
  taken.wbem = WbemStatus::kAlreadyExists;
  fault.fault = taken;
  auto refused = parse_create_response(encode(fault));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, WbemStatus::kAlreadyExists);
  EXPECT_EQ(refused.error().message, "taken");
}

TEST(ClientCodecResponse, GetInstanceValuesTypesNullsDatetime) {
  Response resp;
  resp.action = "http://schemas.xmlsoap.org/ws/2004/09/transfer/GetResponse";
  resp.relates_to = "uuid:1";
  resp.resource_uri = kProcUri;
  resp.instance = process(4242, true);
  auto inst = parse_get_response(encode(resp));
  ASSERT_TRUE(inst.ok()) << inst.error().to_string();
  EXPECT_EQ(inst->class_name(), "Win32_Process");
  auto pid = inst->get("ProcessId");
  ASSERT_TRUE(pid);
  EXPECT_EQ(pid->type(), CimType::kUint32);
  EXPECT_EQ(pid->as_u64(), 4242u);
  auto ws = inst->get("WorkingSetSize");
  ASSERT_TRUE(ws);
  EXPECT_EQ(ws->type(), CimType::kUint64);
  EXPECT_EQ(ws->as_u64(), 123456789012ULL);
  EXPECT_EQ(inst->get("Name")->as_string(), "bash <&> \"x\"");
  auto cd = inst->get("CreationDate");
  ASSERT_TRUE(cd);
  EXPECT_EQ(cd->type(), CimType::kDatetime);
  EXPECT_EQ(cd->as_string(), kCreation);
  auto exe = inst->get("ExecutablePath");
  ASSERT_TRUE(exe);
  EXPECT_TRUE(exe->is_null());
  EXPECT_EQ(exe->type(), CimType::kString);
  EXPECT_FALSE(inst->get("CommandLine"));  // not sent: not present
  // Identity from the key and CreationDate.
  EXPECT_EQ(inst->identity().class_name, "Win32_Process");
  ASSERT_TRUE(inst->identity().key("Handle"));
  EXPECT_EQ(inst->identity().key("Handle")->value.to_text(), "4242");
  ASSERT_TRUE(inst->identity().key("CreationDate"));
  EXPECT_EQ(inst->identity().key("CreationDate")->value.to_text(), kCreation);
}

TEST(ClientCodecResponse, EnumerationItemsWithEprIdentityAndContext) {
  Response resp;
  resp.action = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/EnumerateResponse";
  resp.resource_uri = class_uri("*");
  resp.is_enumeration = true;
  resp.context = "uuid:ctx-7";
  // A projection without Handle: the identity must come from the EPR.
  auto cls = cim::Schema::builtin().find("Win32_Process");
  Instance proj(cls);
  proj.set("Name", Value::string("sshd"));
  ObjectPath id;
  id.class_name = "Win32_Process";
  id.keys.push_back({"Handle", Value::string("77")});
  id.keys.push_back({"CreationDate", Value::string(kCreation)});
  proj.set_identity(id);
  resp.items.push_back(Item{proj, true, true});
  resp.items.push_back(Item{process(78), true, true});
  auto page = parse_enumeration_response(encode(resp));
  ASSERT_TRUE(page.ok()) << page.error().to_string();
  EXPECT_EQ(page->context, "uuid:ctx-7");
  EXPECT_FALSE(page->end_of_sequence);
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[0].get("Name")->as_string(), "sshd");
  EXPECT_FALSE(page->items[0].get("Handle"));
  EXPECT_TRUE(same_path(page->items[0].identity(), id));
  EXPECT_EQ(page->items[1].get("ProcessId")->as_u64(), 78u);
  EXPECT_EQ(page->items[1].identity().key("Handle")->value.to_text(), "78");
}

// A schema query's class objects (__GENUS 1) come back as class objects: with the class this
// build knows, and for one it does not, with the ancestors and property names the server sent.
TEST(ClientCodecResponse, ClassObjectsRoundTrip) {
  Response resp;
  resp.action = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/EnumerateResponse";
  resp.resource_uri = class_uri("*", "root/subscription");
  resp.is_enumeration = true;
  resp.end_of_sequence = true;
  auto unknown = cim::Schema::load({R"({"namespace": "root\\subscription", "classes": [
      {"name": "X_Base", "properties": [{"name": "A", "type": "uint32"}]},
      {"name": "X_New", "superclass": "X_Base",
       "properties": [{"name": "B", "type": "string"}, {"name": "C", "type": "datetime"}]}]})"});
  ASSERT_TRUE(unknown.ok()) << unknown.error().to_string();
  Instance known = Instance::class_object(cim::Schema::builtin().find("__EventFilter"));
  Instance made_up = Instance::class_object(unknown->find("X_New"));
  known.set_server("h1");
  made_up.set_server("h1");
  resp.items.push_back(Item{known, true, true});
  resp.items.push_back(Item{made_up, true, false});
  auto page = parse_enumeration_response(encode(resp));
  ASSERT_TRUE(page.ok()) << page.error().to_string();
  ASSERT_EQ(page->items.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const Instance& sent = resp.items[i].instance;
    const Instance& got = page->items[i];
    EXPECT_TRUE(got.is_class()) << i;
    EXPECT_TRUE(got.properties().empty()) << i;
    EXPECT_TRUE(got.identity().is_class_path()) << i;
    EXPECT_EQ(got.identity().namespace_path, "root\\subscription") << i;
    for (const char* name : {"__GENUS", "__CLASS", "__SUPERCLASS", "__DYNASTY", "__RELPATH",
                             "__PROPERTY_COUNT", "__DERIVATION", "__NAMESPACE"})
      EXPECT_EQ(got.get(name)->to_text(), sent.get(name)->to_text()) << i << " " << name;
  }
  EXPECT_EQ(page->items[1].get("__SUPERCLASS")->as_string(), "X_Base");
  EXPECT_EQ(page->items[1].get("__PROPERTY_COUNT")->as_i64(), 3);
}

// GetClass: every class of the schema survives CIM-XML and comes back the same: qualifiers
// (units, descriptions, Key, Read, ValueMap/Values of the return codes), types, methods.
std::string qualifiers_text(const std::vector<Qualifier>& qs) {
  std::string s;
  for (const auto& q : qs)
    s += q.name + "=" + q.value.to_text() + "/" + std::string(cim_type_name(q.value.type())) + ";";
  return s;
}

TEST(ClientCodecResponse, GetClassRoundTripsEveryBuiltInClass) {
  for (const auto& want : cim::Schema::builtin().classes()) {
    Response resp;
    resp.action = "http://schemas.xmlsoap.org/ws/2004/09/transfer/GetResponse";
    resp.resource_uri = std::string(ns::kCimXmlPrefix) + "*";
    resp.class_decl = want;
    auto got = parse_get_class_response(encode(resp));
    ASSERT_TRUE(got.ok()) << want->name << ": " << got.error().to_string();
    const ClassDecl& g = **got;
    SCOPED_TRACE(want->name);
    EXPECT_EQ(g.name, want->name);
    EXPECT_EQ(g.superclass, want->superclass);
    EXPECT_EQ(g.abstract, want->abstract);
    EXPECT_EQ(g.description, want->description);
    std::vector<Qualifier> class_qs = want->qualifiers;
    if (want->abstract && !want->qualifier("Abstract"))
      class_qs.insert(class_qs.begin(), Qualifier{"Abstract", Value::boolean(true)});
    EXPECT_EQ(qualifiers_text(g.qualifiers), qualifiers_text(class_qs));
    ASSERT_EQ(g.properties.size(), want->properties.size());
    for (size_t i = 0; i < g.properties.size(); ++i) {
      const PropertyDecl &a = g.properties[i], &b = want->properties[i];
      SCOPED_TRACE(b.name);
      EXPECT_EQ(a.name, b.name);
      EXPECT_EQ(a.type, b.type);
      EXPECT_EQ(a.is_array, b.is_array);
      EXPECT_EQ(a.key, b.key);
      EXPECT_EQ(a.embedded_class, b.embedded_class);
      EXPECT_EQ(a.units, b.units);
      EXPECT_EQ(a.max_len, b.max_len);
      EXPECT_EQ(a.privileges, b.privileges);
      EXPECT_EQ(a.description, b.description);
      EXPECT_EQ(a.origin, b.origin);
      EXPECT_EQ(qualifiers_text(a.qualifiers), qualifiers_text(b.qualifiers));
    }
    ASSERT_EQ(g.methods.size(), want->methods.size());
    for (size_t i = 0; i < g.methods.size(); ++i) {
      const MethodDecl &a = g.methods[i], &b = want->methods[i];
      SCOPED_TRACE(b.name);
      EXPECT_EQ(a.name, b.name);
      EXPECT_EQ(a.return_type, b.return_type);
      EXPECT_EQ(a.is_static, b.is_static);
      EXPECT_EQ(a.privileges, b.privileges);
      EXPECT_EQ(a.description, b.description);
      EXPECT_EQ(qualifiers_text(a.qualifiers), qualifiers_text(b.qualifiers));
      ASSERT_EQ(a.parameters.size(), b.parameters.size());
      for (size_t j = 0; j < a.parameters.size(); ++j) {
        const ParameterDecl &x = a.parameters[j], &y = b.parameters[j];
        EXPECT_EQ(x.name, y.name);
        EXPECT_EQ(x.type, y.type);
        EXPECT_EQ(x.is_array, y.is_array);
        EXPECT_EQ(x.in, y.in);
        EXPECT_EQ(x.out, y.out);
        EXPECT_EQ(x.embedded_class, y.embedded_class);
        EXPECT_EQ(x.description, y.description);
        EXPECT_EQ(qualifiers_text(x.qualifiers), qualifiers_text(y.qualifiers));
      }
    }
  }
  // What the round trip must carry, stated once more by name.
  Response resp;
  resp.action = "http://schemas.xmlsoap.org/ws/2004/09/transfer/GetResponse";
  resp.class_decl = cim::Schema::builtin().find("Win32_Process");
  auto p = parse_get_class_response(encode(resp));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)->property("KernelModeTime")->units, "100 nanoseconds");
  EXPECT_TRUE((*p)->property("Handle")->key);
  auto* values = (*p)->method("Terminate")->qualifier("Values");
  ASSERT_NE(values, nullptr);
  EXPECT_EQ(values->value.elements().size(), 7u);
  EXPECT_EQ((*p)->method("Create")->parameter("ProcessStartupInformation")->embedded_class,
            "Win32_ProcessStartup");
}

TEST(ClientCodecResponse, GetClassGarbageIsAnError) {
  for (std::string body :
       {std::string("<x/>"),
        std::string("<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body>"
                    "<CLASS/></s:Body></s:Envelope>"),
        std::string("<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body>"
                    "<CLASS NAME=\"X\"><PROPERTY NAME=\"P\" TYPE=\"nonsense\"/></CLASS>"
                    "</s:Body></s:Envelope>"),
        std::string("<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body>"
                    "<CLASS NAME=\"X\"><QUALIFIER NAME=\"MaxLen\" TYPE=\"uint32\"><VALUE>x"
                    "</VALUE></QUALIFIER></CLASS></s:Body></s:Envelope>")})
    EXPECT_FALSE(parse_get_class_response(body).ok()) << body;
}

TEST(ClientCodecResponse, PullEndOfSequenceWithoutContext) {
  Response resp;
  resp.action = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/PullResponse";
  resp.resource_uri = kProcUri;
  resp.is_pull = true;
  resp.end_of_sequence = true;
  resp.items.push_back(Item{process(9), true, false});
  auto page = parse_enumeration_response(encode(resp));
  ASSERT_TRUE(page.ok()) << page.error().to_string();
  EXPECT_TRUE(page->end_of_sequence);
  EXPECT_TRUE(page->context.empty());
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].identity().key("Handle")->value.to_text(), "9");
}

TEST(ClientCodecResponse, OptimizedEnumerateAtEndHasNoContext) {
  Response resp;
  resp.action = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/EnumerateResponse";
  resp.resource_uri = kProcUri;
  resp.is_enumeration = true;
  resp.end_of_sequence = true;
  auto page = parse_enumeration_response(encode(resp));
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->end_of_sequence);
  EXPECT_TRUE(page->items.empty());
}

Response invoke_response(const std::string& method, uint32_t rv, Parameters out) {
  auto cls = std::make_shared<ClassDecl>();
  cls->name = "__PARAMETERS";
  PropertyDecl p;
  p.name = "ReturnValue";
  p.type = CimType::kUint32;
  cls->properties.push_back(p);
  for (const auto& [n, v] : out) {
    PropertyDecl d;
    d.name = n;
    d.type = v.type();
    cls->properties.push_back(d);
  }
  Instance inst(cls);
  inst.set(0, Value::uint32(rv));
  for (size_t i = 0; i < out.size(); ++i) inst.set(i + 1, out[i].second);
  Response r;
  r.action = std::string(kProcUri) + "/" + method + "Response";
  r.resource_uri = kProcUri;
  r.output_element = method + "_OUTPUT";
  r.instance = inst;
  return r;
}

TEST(ClientCodecResponse, InvokeReturnValueAndTypedOutParameters) {
  auto res = parse_invoke_response(
      encode(invoke_response("Create", 0, {{"ProcessId", Value::uint32(5150)}})), "Win32_Process",
      "Create");
  ASSERT_TRUE(res.ok()) << res.error().to_string();
  EXPECT_EQ(res->return_value, 0u);
  ASSERT_EQ(res->out.size(), 1u);
  EXPECT_EQ(res->out[0].first, "ProcessId");
  EXPECT_EQ(res->out[0].second.type(), CimType::kUint32);
  EXPECT_EQ(res->out[0].second.as_u64(), 5150u);

  auto owner = parse_invoke_response(
      encode(invoke_response("GetOwner", 0,
                             {{"Domain", Value::string("host")}, {"User", Value::string("root")}})),
      "Win32_Process", "GetOwner");
  ASSERT_TRUE(owner.ok());
  ASSERT_EQ(owner->out.size(), 2u);
  EXPECT_EQ(owner->out[0].first, "User");  // declaration order
  EXPECT_EQ(owner->out[0].second.as_string(), "root");
  EXPECT_EQ(owner->out[1].first, "Domain");

  auto term = parse_invoke_response(encode(invoke_response("Terminate", 2, {})), "Win32_Process",
                                    "Terminate");
  ASSERT_TRUE(term.ok());
  EXPECT_EQ(term->return_value, 2u);
  EXPECT_TRUE(term->out.empty());
}

// Why a call was refused travels with its answer (lwmid's <l:Note> headers), so a remote
// caller reads what an embedded one does; markup and newlines in it survive the trip.
TEST(ClientCodecResponse, InvokeNotesComeBack) {
  Response r = invoke_response("Terminate", 2, {});
  r.notes = {"process 4095 belongs to root: SeDebugPrivilege must be held and enabled",
             "a <b>&amp; \"c\"\nd"};
  const std::string body = encode(r);
  EXPECT_NE(body.find("<l:Note"), std::string::npos);
  auto term = parse_invoke_response(body, "Win32_Process", "Terminate");
  ASSERT_TRUE(term.ok()) << term.error().to_string();
  EXPECT_EQ(term->return_value, 2u);
  EXPECT_EQ(term->notes, r.notes);
  auto none = parse_invoke_response(encode(invoke_response("Terminate", 0, {})), "Win32_Process",
                                    "Terminate");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->notes.empty());
}

TEST(ClientCodecResponse, UnknownOutputClassIsAdHoc) {
  auto res = parse_invoke_response(
      encode(invoke_response("Frobnicate", 8,
                             {{"Count", Value::uint32(3)}, {"Text", Value::string("abc")}})),
      "Win32_Nothing", "Frobnicate");
  ASSERT_TRUE(res.ok()) << res.error().to_string();
  EXPECT_EQ(res->return_value, 8u);
  ASSERT_EQ(res->out.size(), 2u);
  EXPECT_EQ(res->out[0].second.type(), CimType::kUint32);
  EXPECT_EQ(res->out[1].second.type(), CimType::kString);
}

TEST(ClientCodecResponse, FaultBecomesErrorWithWbemCode) {
  Fault f;
  f.subcode = "w:InvalidSelectors";
  f.reason = "no process with Handle 99";
  f.wbem = WbemStatus::kNotFound;
  std::string env = encode_fault(f, "uuid:1");
  auto inst = parse_get_response(env);
  ASSERT_FALSE(inst.ok());
  EXPECT_EQ(inst.error().code, WbemStatus::kNotFound);
  EXPECT_EQ(inst.error().message, "no process with Handle 99");
  auto e = fault_of(env);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, WbemStatus::kNotFound);
  EXPECT_FALSE(parse_empty_response(env).ok());
  EXPECT_FALSE(parse_invoke_response(env, "Win32_Process", "Terminate").ok());
  auto page = parse_enumeration_response(env);
  ASSERT_FALSE(page.ok());
  EXPECT_EQ(page.error().code, WbemStatus::kNotFound);
}

TEST(ClientCodecResponse, FaultWithoutWsmanFaultIsFailed) {
  std::string env =
      "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body><s:Fault>"
      "<s:Code><s:Value>s:Receiver</s:Value></s:Code><s:Reason><s:Text xml:lang=\"en\">boom"
      "</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>";
  auto r = parse_empty_response(env);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, WbemStatus::kFailed);
  EXPECT_EQ(r.error().message, "boom");
}

TEST(ClientCodecResponse, GarbageIsAnErrorNotACrash) {
  for (std::string_view body : {"", "<", "not xml", "<a/>", "<s:Envelope xmlns:s=\"x\"/>"}) {
    EXPECT_FALSE(parse_get_response(body).ok()) << body;
    EXPECT_FALSE(parse_enumeration_response(body).ok()) << body;
  }
  EXPECT_FALSE(fault_of("<a/>"));
}

TEST(ClientCodecResponse, EmptyAndIdentify) {
  Response del;
  del.action = "http://schemas.xmlsoap.org/ws/2004/09/transfer/DeleteResponse";
  EXPECT_TRUE(parse_empty_response(encode(del)).ok());
  Response id;
  id.is_identify = true;
  auto who = parse_identify_response(encode(id));
  ASSERT_TRUE(who.ok());
  EXPECT_EQ(who->rfind("lwmi", 0), 0u);
}

TEST(ClientCodecResponse, IntervalRoundTrip) {
  auto cls = cim::Schema::builtin().find("Win32_Process");
  // No interval property in Win32_Process: an ad-hoc element carries one.
  std::string env =
      "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" "
      "xmlns:cim=\"http://schemas.dmtf.org/wbem/wscim/1/common\"><s:Body><p:Thing "
      "xmlns:p=\"urn:x\"><p:Up><cim:Interval>P2DT0H0M1.000000S</cim:Interval></p:Up><p:N>5</p:N>"
      "<p:N>6</p:N></p:Thing></s:Body></s:Envelope>";
  auto inst = parse_get_response(env);
  ASSERT_TRUE(inst.ok()) << inst.error().to_string();
  EXPECT_EQ(inst->get("Up")->as_string(), "00000002000001.000000:000");
  auto n = inst->get("N");
  ASSERT_TRUE(n);
  ASSERT_TRUE(n->is_array());
  EXPECT_EQ(n->elements().size(), 2u);
  (void)cls;
}

TEST(ClientCodecFault, FaultCarriesLwmiData) {
  // The position and the dropped count travel as lwmi elements of the Detail: the client reads
  // them, never the message (here worded without either).
  Fault f;
  f.subcode = "w:CannotProcessFilter";
  f.reason = "no class of that name";
  f.wbem = WbemStatus::kInvalidClass;
  f.position = 14;
  f.dropped_events = 7;
  std::string body = encode_fault(f, "uuid:1");
  EXPECT_NE(body.find("<l:Position xmlns:l=\"urn:lwmi:wsman:1\">14</l:Position>"),
            std::string::npos)
      << body;
  auto e = fault_of(body);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, WbemStatus::kInvalidClass);
  EXPECT_EQ(e->message, "no class of that name");
  EXPECT_EQ(e->position, size_t{14});
  EXPECT_EQ(e->dropped_events, 7u);
  EXPECT_TRUE(e->is_wbem());

  // None sent, none read (WinRM's faults; an older lwmid), whatever the text says.
  Fault plain;
  plain.reason = "invalid query at column 15: overflowed: 3 event(s) dropped";
  plain.wbem = WbemStatus::kQueueOverflow;
  e = fault_of(encode_fault(plain, "uuid:2"));
  ASSERT_TRUE(e);
  EXPECT_FALSE(e->position);
  EXPECT_EQ(e->dropped_events, 0u);

  // A server's count beyond 64 bits saturates; one that is no number is ignored.
  std::string huge = body;
  huge.replace(huge.find(">7<"), 3, ">99999999999999999999999<");
  EXPECT_EQ(fault_of(huge)->dropped_events, std::numeric_limits<uint64_t>::max());
  std::string junk = body;
  junk.replace(junk.find(">7<"), 3, ">-7<");
  EXPECT_EQ(fault_of(junk)->dropped_events, 0u);

  // A body that is no fault (or no envelope) holds no fault.
  EXPECT_FALSE(fault_of("<not-soap/>"));
  EXPECT_FALSE(fault_of(""));
}

}  // namespace
}  // namespace lwmi::wsman::client
