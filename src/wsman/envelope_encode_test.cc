// The response encoder, checked by re-parsing with libxml2 and XPath.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "cim/schema.h"
#include "wsman/envelope.h"
#include "wsman/testing/envelopes.h"

namespace lwmi::wsman {
namespace {

using testing::captures_dir;
using testing::decode_capture;
using testing::decode_fault;
using testing::decode_ok;
using testing::read_file;
using testing::selector;
using testing::Xml;
namespace fs = std::filesystem;

const char kProcUri[] = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_Process";
const char kSubUri[] = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/subscription/";

std::shared_ptr<const ClassDecl> process_class() {
  return cim::Schema::builtin().find("Win32_Process");
}

Instance sample_process() {
  Instance inst(process_class());
  inst.set("Handle", Value::string("123"));
  inst.set("Name", Value::string("a<b&c\"d"));
  inst.set("CreationDate", Value::datetime("20261127062200.123456+060"));
  inst.set("ExecutablePath", Value::null(CimType::kString));
  inst.set("ProcessId", Value::uint32(123));
  ObjectPath id;
  id.class_name = "Win32_Process";
  id.keys.push_back({"Handle", Value::string("123")});
  id.keys.push_back({"CreationDate", Value::string("20261127062200.123456+060")});
  inst.set_identity(id);
  return inst;
}

TEST(Encode, GetInstance) {
  Response resp;
  resp.action = "http://schemas.xmlsoap.org/ws/2004/09/transfer/GetResponse";
  resp.relates_to = "uuid:req-1";
  resp.resource_uri = kProcUri;
  resp.instance = sample_process();
  std::string out = encode(resp);
  Xml x(out);
  ASSERT_TRUE(x.ok()) << out;
  EXPECT_EQ(x.one("/s:Envelope/s:Header/a:Action"), resp.action);
  EXPECT_EQ(x.one("/s:Envelope/s:Header/a:RelatesTo"), "uuid:req-1");
  EXPECT_EQ(x.one("/s:Envelope/s:Header/a:To"), ns::kAnonymous);
  EXPECT_EQ(x.one("/s:Envelope/s:Header/a:MessageID").substr(0, 5), "uuid:");
  EXPECT_EQ(x.one("/s:Envelope/s:Body/p:Win32_Process/@xsi:type"), "p:Win32_Process_Type");
  EXPECT_EQ(x.one("/s:Envelope/s:Body/p:Win32_Process/p:Handle"), "123");
  EXPECT_EQ(x.one("/s:Envelope/s:Body/p:Win32_Process/p:Name"), "a<b&c\"d");
  EXPECT_EQ(x.one("/s:Envelope/s:Body/p:Win32_Process/p:ProcessId"), "123");
  EXPECT_EQ(x.one("/s:Envelope/s:Body/p:Win32_Process/p:ExecutablePath[@xsi:nil='true']"), "");
  EXPECT_EQ(x.one("/s:Envelope/s:Body/p:Win32_Process/p:CreationDate/cim:Datetime"),
            "2026-11-27T06:22:00.123456+01:00");
  EXPECT_EQ(x.count("/s:Envelope/s:Body/p:Win32_Process/*"), 5u);
}

TEST(Encode, GetInstanceDmtfFamily) {
  Response resp;
  resp.resource_uri = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/Win32_Process";
  resp.instance = sample_process();
  Xml x(encode(resp));
  EXPECT_EQ(x.one("/s:Envelope/s:Body/d:Win32_Process/d:Handle"), "123");
}

TEST(Encode, ValueKinds) {
  auto sub = std::make_shared<ClassDecl>();
  sub->name = "Test_Sub";
  sub->properties = {PropertyDecl{.name = "X", .type = CimType::kSint32}};
  auto cls = std::make_shared<ClassDecl>();
  cls->name = "Test_Thing";
  cls->properties = {
      PropertyDecl{.name = "Flag", .type = CimType::kBoolean},
      PropertyDecl{.name = "Ratio", .type = CimType::kReal64},
      PropertyDecl{.name = "Tags", .type = CimType::kString, .is_array = true},
      PropertyDecl{.name = "Span", .type = CimType::kDatetime},
      PropertyDecl{.name = "Neg", .type = CimType::kSint64},
      PropertyDecl{.name = "Obj", .type = CimType::kObject},
      PropertyDecl{.name = "Bad", .type = CimType::kString},
      PropertyDecl{.name = "Inf", .type = CimType::kReal32},
  };
  auto embedded = std::make_shared<Instance>(sub);
  embedded->set("X", Value::sint32(-7));
  Instance inst(cls);
  inst.set("Flag", Value::boolean(true));
  inst.set("Ratio", Value::real64(0.5));
  inst.set("Tags", Value::array(CimType::kString, {Value::string("x"), Value::string("y\r\nz")}));
  inst.set("Span", Value::datetime("00000001020304.000005:000"));
  inst.set("Neg", Value::sint64(-42));
  inst.set("Obj", Value::object(embedded));
  inst.set("Bad", Value::string(std::string("\x01ok\xff", 4)));
  inst.set("Inf", Value::real32(std::numeric_limits<float>::infinity()));
  Response resp;
  resp.resource_uri = std::string(ns::kWmiPrefix) + "root/cimv2/*";
  resp.instance = inst;
  std::string out = encode(resp);
  Xml x(out);
  ASSERT_TRUE(x.ok()) << out;
  EXPECT_EQ(x.one("//t:Test_Thing/t:Flag"), "true");
  EXPECT_EQ(x.one("//t:Test_Thing/t:Ratio"), "0.5");
  EXPECT_EQ(x.all("//t:Test_Thing/t:Tags"), (std::vector<std::string>{"x", "y\r\nz"}));
  EXPECT_EQ(x.one("//t:Test_Thing/t:Span/cim:Interval"), "P1DT02H03M04.000005S");
  EXPECT_EQ(x.one("//t:Test_Thing/t:Neg"), "-42");
  EXPECT_EQ(x.one("//t:Test_Thing/t:Obj/st:Test_Sub/st:X"), "-7");
  EXPECT_EQ(x.one("//t:Test_Thing/t:Bad"), "\xEF\xBF\xBDok\xEF\xBF\xBD");
  EXPECT_EQ(x.one("//t:Test_Thing/t:Inf"), "INF");
}

TEST(Encode, InvokeOutput) {
  auto out_cls = std::make_shared<ClassDecl>();
  out_cls->name = "__PARAMETERS";
  out_cls->properties = {PropertyDecl{.name = "ProcessId", .type = CimType::kUint32},
                         PropertyDecl{.name = "ReturnValue", .type = CimType::kUint32}};
  Instance outp(out_cls);
  outp.set("ProcessId", Value::uint32(77));
  outp.set("ReturnValue", Value::uint32(0));
  Response resp;
  resp.action = std::string(kProcUri) + "/CreateResponse";
  resp.resource_uri = kProcUri;
  resp.output_element = "Create_OUTPUT";
  resp.instance = outp;
  Xml x(encode(resp));
  EXPECT_EQ(x.all("/s:Envelope/s:Body/p:Create_OUTPUT/*"), (std::vector<std::string>{"0", "77"}));
  EXPECT_EQ(x.one("/s:Envelope/s:Body/p:Create_OUTPUT/p:ReturnValue"), "0");
}

TEST(Encode, EnumerateWithEprsAndContext) {
  Response resp;
  resp.action = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/EnumerateResponse";
  resp.resource_uri = kProcUri;
  resp.is_enumeration = true;
  resp.context = "uuid:ctx-9";
  resp.items.push_back({sample_process(), true, true});
  resp.items.push_back({sample_process(), true, false});
  std::string out = encode(resp);
  Xml x(out);
  ASSERT_TRUE(x.ok()) << out;
  EXPECT_EQ(x.one("//n:EnumerateResponse/n:EnumerationContext"), "uuid:ctx-9");
  EXPECT_EQ(x.count("//n:EnumerateResponse/w:Items/w:Item/p:Win32_Process"), 1u);
  EXPECT_EQ(x.count("//n:EnumerateResponse/w:Items/p:Win32_Process"), 1u);
  const std::string epr = "//w:Items/w:Item/a:EndpointReference";
  EXPECT_EQ(x.one(epr + "/a:Address"), ns::kAnonymous);
  EXPECT_EQ(x.one(epr + "/a:ReferenceParameters/w:ResourceURI"), kProcUri);
  EXPECT_EQ(x.one(epr + "//w:Selector[@Name='Handle']"), "123");
  EXPECT_EQ(x.one(epr + "//w:Selector[@Name='CreationDate']"), "20261127062200.123456+060");
  EXPECT_EQ(x.count("//w:EndOfSequence"), 0u);
}

TEST(Encode, EnumerateEprOnlyAtTheEnd) {
  Response resp;
  resp.resource_uri = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/Win32_Process";
  resp.is_enumeration = true;
  resp.end_of_sequence = true;
  resp.items.push_back({sample_process(), false, true});
  Xml x(encode(resp));
  EXPECT_EQ(x.count("//n:EnumerationContext"), 0u);
  EXPECT_EQ(x.count("//w:Items/a:EndpointReference"), 1u);
  EXPECT_EQ(x.count("//w:Items/w:Item"), 0u);
  EXPECT_EQ(x.one("//w:Selector[@Name='__cimnamespace']"), "root/cimv2");
  EXPECT_EQ(x.count("//n:EnumerateResponse/w:EndOfSequence"), 1u);
}

TEST(Encode, PullContextOmittedAtTheEnd) {
  Response resp;
  resp.resource_uri = kProcUri;
  resp.is_pull = true;
  resp.items.push_back({sample_process(), true, false});
  resp.end_of_sequence = true;
  Xml x(encode(resp));
  EXPECT_EQ(x.count("//n:PullResponse/n:EnumerationContext"), 0u);
  EXPECT_EQ(x.count("//n:PullResponse/n:Items/p:Win32_Process"), 1u);
  EXPECT_EQ(x.count("//n:PullResponse/n:EndOfSequence"), 1u);
  resp.context = "uuid:more";
  resp.end_of_sequence = false;
  Xml y(encode(resp));
  EXPECT_EQ(y.one("//n:PullResponse/n:EnumerationContext"), "uuid:more");
  EXPECT_EQ(y.count("//n:EndOfSequence"), 0u);
}

TEST(Encode, Identify) {
  Response resp;
  resp.is_identify = true;
  Xml x(encode(resp));
  EXPECT_EQ(x.count("/s:Envelope/s:Header/*"), 0u);
  EXPECT_EQ(x.one("//wsmid:IdentifyResponse/wsmid:ProtocolVersion"), ns::kWsman);
  EXPECT_EQ(x.one("//wsmid:IdentifyResponse/wsmid:ProductVendor"), "lwmi");
}

TEST(Encode, SubscribeAndEmptyBodies) {
  Response resp;
  resp.action = "http://schemas.xmlsoap.org/ws/2004/08/eventing/SubscribeResponse";
  resp.subscription_id = "uuid:sub-1";
  resp.expires_s = 600;
  resp.context = "uuid:ctx";
  Xml x(encode(resp));
  EXPECT_EQ(x.one("//e:SubscribeResponse/e:SubscriptionManager/a:ReferenceParameters/"
                  "e:Identifier"),
            "uuid:sub-1");
  EXPECT_EQ(x.one("//e:SubscribeResponse/e:Expires"), "PT600.000S");
  EXPECT_EQ(x.one("//e:SubscribeResponse/n:EnumerationContext"), "uuid:ctx");
  Response del;
  del.action = "http://schemas.xmlsoap.org/ws/2004/09/transfer/DeleteResponse";
  Xml y(encode(del));
  EXPECT_EQ(y.count("/s:Envelope/s:Body/*"), 0u);
  EXPECT_EQ(y.one("/s:Envelope/s:Header/a:Action"), del.action);
}

TEST(Encode, Fault) {
  Fault f;
  f.subcode = "w:InvalidSelectors";
  f.reason = "no selector <Bogus>";
  f.detail = "http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/UnexpectedSelectors";
  f.wbem = WbemStatus::kNotFound;
  std::string out = encode_fault(f, "uuid:req-5");
  Xml x(out);
  ASSERT_TRUE(x.ok()) << out;
  EXPECT_EQ(x.one("/s:Envelope/s:Header/a:Action"),
            "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault");
  EXPECT_EQ(x.one("/s:Envelope/s:Header/a:RelatesTo"), "uuid:req-5");
  EXPECT_EQ(x.one("//s:Fault/s:Code/s:Value"), "s:Sender");
  EXPECT_EQ(x.one("//s:Fault/s:Code/s:Subcode/s:Value"), "w:InvalidSelectors");
  EXPECT_EQ(x.one("//s:Fault/s:Reason/s:Text"), "no selector <Bogus>");
  EXPECT_EQ(x.one("//s:Fault/s:Reason/s:Text/@xml:lang"), "en-US");
  EXPECT_EQ(x.one("//s:Fault/s:Detail/f:WSManFault/@Code"), "2147749890");
  EXPECT_EQ(x.one("//s:Fault/s:Detail/f:WSManFault/f:Message"), "no selector <Bogus>");
  EXPECT_EQ(x.one("//s:Fault/s:Detail/w:FaultDetail"), f.detail);

  Response resp;
  resp.relates_to = "uuid:req-6";
  f.action = "http://schemas.xmlsoap.org/ws/2004/08/addressing/fault";
  f.subcode = "";
  resp.fault = f;
  resp.is_enumeration = true;
  Xml y(encode(resp));
  EXPECT_EQ(y.one("/s:Envelope/s:Header/a:Action"), f.action);
  EXPECT_EQ(y.one("/s:Envelope/s:Header/a:RelatesTo"), "uuid:req-6");
  EXPECT_EQ(y.count("//s:Subcode"), 0u);
  EXPECT_EQ(y.count("//n:EnumerateResponse"), 0u);
}

TEST(Encode, DecodeFaultRoundTrip) {
  Fault f = decode_fault("<oops");
  Xml x(encode_fault(f, ""));
  ASSERT_TRUE(x.ok());
  EXPECT_EQ(x.one("//s:Subcode/s:Value"), "w:InvalidMessageInformationHeader");
  EXPECT_EQ(x.one("//f:WSManFault/@Code"), "2147749896");
  EXPECT_EQ(x.count("/s:Envelope/s:Header/a:RelatesTo"), 0u);
}

TEST(Encode, CreateResponseCarriesTheNewInstancesEpr) {
  Response resp;
  resp.action = "http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse";
  resp.relates_to = "uuid:c";
  resp.resource_uri = std::string(kSubUri) + "__EventFilter";
  ObjectPath p;
  p.namespace_path = "root\\subscription";
  p.class_name = "__EventFilter";
  p.keys.push_back({"Name", Value::string("a<b")});
  resp.created = p;
  std::string xml = encode(resp);
  EXPECT_NE(
      xml.find("<x:ResourceCreated xmlns:x=\"http://schemas.xmlsoap.org/ws/2004/09/transfer\">"
               "<a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
               "</a:Address><a:ReferenceParameters><w:ResourceURI>" +
               std::string(kSubUri) +
               "__EventFilter</w:ResourceURI><w:SelectorSet><w:Selector Name=\"Name\">"
               "a&lt;b</w:Selector></w:SelectorSet></a:ReferenceParameters>"
               "</x:ResourceCreated>"),
      std::string::npos)
      << xml;
  // The DMTF family names the namespace as a selector.
  resp.resource_uri = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/__EventFilter";
  xml = encode(resp);
  EXPECT_NE(xml.find("<w:ResourceURI>http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
                     "__EventFilter</w:ResourceURI>"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<w:Selector Name=\"__cimnamespace\">root/subscription</w:Selector>"),
            std::string::npos)
      << xml;
}

}  // namespace
}  // namespace lwmi::wsman
