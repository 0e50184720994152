// The request decoder: the interop captures, every action, and hostile or malformed input.
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

std::vector<std::string> option_values(const Request& r, const std::string& name) {
  std::vector<std::string> out;
  for (const auto& [n, v] : r.options)
    if (n == name) out.push_back(v);
  return out;
}

std::string param(const Request& r, const std::string& name) {
  for (const auto& [n, v] : r.parameters)
    if (n == name) return v;
  return "<absent>";
}

// ---------------------------------------------------------------------------------------------
// Every capture decodes

TEST(Decode, EveryCaptureDecodes) {
  CAPTURES_DIR(dir);
  int n = 0;
  for (const fs::path& d : {dir, dir / "microsoft"}) {
    for (const auto& entry : fs::directory_iterator(d)) {
      if (entry.path().extension() != ".xml") continue;
      auto r = decode(read_file(entry.path()));
      ASSERT_TRUE(std::holds_alternative<Request>(r))
          << entry.path() << ": " << std::get<Fault>(r).reason;
      const Request& req = std::get<Request>(r);
      EXPECT_NE(req.operation, Operation::kUnknown) << entry.path();
      EXPECT_TRUE(req.not_understood.empty()) << entry.path() << ": " << req.not_understood[0];
      ++n;
    }
  }
  EXPECT_GE(n, 22);
}

TEST(Decode, Openwsman01EnumerateWqlOptimized) {
  CAPTURES_DIR(dir);
  Request r = decode_capture(dir, "01-enumerate-wql-optimized.xml");
  EXPECT_EQ(r.operation, Operation::kEnumerate);
  EXPECT_EQ(r.action, "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate");
  EXPECT_EQ(r.resource_uri, "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/*");
  EXPECT_EQ(r.message_id, "uuid:02de0fc5-613b-113b-8002-01000000fc02");
  EXPECT_EQ(r.to, "http://localhost:5985/wsman");
  EXPECT_EQ(r.reply_to, ns::kAnonymous);
  EXPECT_EQ(r.filter, "SELECT * FROM Win32_Process WHERE Name='systemd'");
  EXPECT_EQ(r.filter_dialect, ns::kWqlDialect);
  EXPECT_TRUE(r.optimize);
  EXPECT_EQ(r.max_elements, 50u);
  EXPECT_FALSE(r.object_and_epr);
  EXPECT_TRUE(r.selectors.empty());
}

TEST(Decode, Openwsman02PlainEnumerate) {
  CAPTURES_DIR(dir);
  Request r = decode_capture(dir, "02-enumerate-class.xml");
  EXPECT_EQ(r.operation, Operation::kEnumerate);
  EXPECT_EQ(r.resource_uri,
            "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_Process");
  EXPECT_TRUE(r.filter.empty());
  EXPECT_FALSE(r.optimize);
  EXPECT_FALSE(r.max_elements.has_value());
}

TEST(Decode, Openwsman03And08Pull) {
  CAPTURES_DIR(dir);
  Request r = decode_capture(dir, "03-pull.xml");
  EXPECT_EQ(r.operation, Operation::kPull);
  EXPECT_EQ(r.context, "uuid:ctx-1");
  Request e = decode_capture(dir, "08-pull-events.xml");
  EXPECT_EQ(e.operation, Operation::kPull);
  EXPECT_EQ(e.context, "uuid:sub-ctx-1");
  EXPECT_EQ(e.resource_uri, "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/*");
  EXPECT_FALSE(e.max_time_s);
}

TEST(Decode, PullMaxTime) {
  auto pull = [](const std::string& max_time) {
    return std::string(
               "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" "
               "xmlns:a=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\" "
               "xmlns:n=\"http://schemas.xmlsoap.org/ws/2004/09/enumeration\"><s:Header>"
               "<a:Action>http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull</a:Action>"
               "</s:Header><s:Body><n:Pull><n:EnumerationContext>uuid:c</n:EnumerationContext>"
               "<n:MaxTime>") +
           max_time + "</n:MaxTime></n:Pull></s:Body></s:Envelope>";
  };
  Request r = decode_ok(pull("PT2.5S"));
  EXPECT_DOUBLE_EQ(r.max_time_s.value_or(-1), 2.5);
  Fault f = decode_fault(pull("soon"));
  EXPECT_NE(f.reason.find("wsen:MaxTime is not an xs:duration: 'soon'"), std::string::npos)
      << f.reason;
}

TEST(Decode, Openwsman04And05Get) {
  CAPTURES_DIR(dir);
  Request r = decode_capture(dir, "04-get.xml");
  EXPECT_EQ(r.operation, Operation::kGet);
  ASSERT_EQ(r.selectors.size(), 1u);
  EXPECT_EQ(selector(r, "Handle"), "1234");
  Request m = decode_capture(dir, "05-get-missing.xml");
  EXPECT_EQ(m.operation, Operation::kGet);
  EXPECT_EQ(selector(m, "Bogus"), "1");
}

TEST(Decode, Openwsman06InvokeTerminateWmiUri) {
  CAPTURES_DIR(dir);
  Request r = decode_capture(dir, "06-invoke-terminate-wmi-uri.xml");
  EXPECT_EQ(r.operation, Operation::kInvoke);
  EXPECT_EQ(r.method, "Terminate");
  EXPECT_EQ(selector(r, "Handle"), "1234");
  ASSERT_EQ(r.parameters.size(), 1u);
  EXPECT_EQ(param(r, "Reason"), "15");
}

TEST(Decode, Openwsman13InvokeTerminateDmtfUri) {
  CAPTURES_DIR(dir);
  Request r = decode_capture(dir, "13-invoke-terminate-dmtf-uri.xml");
  EXPECT_EQ(r.operation, Operation::kInvoke);
  EXPECT_EQ(r.method, "Terminate");
  EXPECT_EQ(r.resource_uri, "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/Win32_Process");
  EXPECT_EQ(selector(r, "Handle"), "4242");
  EXPECT_EQ(selector(r, "__cimnamespace"), "root/cimv2");
  EXPECT_EQ(param(r, "Reason"), "1");
}

TEST(Decode, Openwsman07SubscribePull) {
  CAPTURES_DIR(dir);
  Request r = decode_capture(dir, "07-subscribe-pull.xml");
  EXPECT_EQ(r.operation, Operation::kSubscribe);
  EXPECT_EQ(r.delivery_mode, "http://schemas.dmtf.org/wbem/wsman/1/wsman/Pull");
  EXPECT_DOUBLE_EQ(r.heartbeats_s.value_or(-1), 60.0);
  EXPECT_DOUBLE_EQ(r.expires_s.value_or(-1), 600.0);
  EXPECT_EQ(r.filter,
            "SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA "
            "'Win32_Process'");
  EXPECT_EQ(r.filter_dialect, ns::kWqlDialect);
}

TEST(Decode, Openwsman09Unsubscribe) {
  CAPTURES_DIR(dir);
  Request r = decode_capture(dir, "09-unsubscribe.xml");
  EXPECT_EQ(r.operation, Operation::kUnsubscribe);
  EXPECT_EQ(r.identifier, "uuid:sub-1");
}

TEST(Decode, Microsoft01EnumerateWql) {
  CAPTURES_DIR(dir);
  Request r = decode_capture(dir / "microsoft", "01-enumerate-wql.xml");
  EXPECT_EQ(r.operation, Operation::kEnumerate);
  EXPECT_EQ(r.resource_uri, "http://schemas.dmtf.org/wbem/wscim/1/*");
  EXPECT_EQ(r.to, "https://157.59.84.237:7779/wsman");
  EXPECT_EQ(r.max_envelope_size, 512000u);
  EXPECT_EQ(r.locale, "en-US");
  EXPECT_EQ(selector(r, "__cimnamespace"), "root/OMI");
  EXPECT_EQ(option_values(r, "msftwinrm:UsePreciseArrays"), std::vector<std::string>{"true"});
  EXPECT_TRUE(r.optimize);
  EXPECT_EQ(r.max_elements, 32000u);
  EXPECT_TRUE(r.object_and_epr);
  EXPECT_EQ(r.filter, "select * from OMI_Identify");
  EXPECT_EQ(r.filter_dialect, ns::kWqlDialect);
  EXPECT_EQ(r.reply_to, ns::kAnonymous);
}

TEST(Decode, Microsoft02GetCimInstance) {
  CAPTURES_DIR(dir);
  Request r = decode_capture(dir / "microsoft", "02-enumerate-class-get-ciminstance.xml");
  EXPECT_EQ(r.operation, Operation::kEnumerate);
  EXPECT_EQ(r.resource_uri, "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/Win32_LogicalDisk");
  EXPECT_EQ(r.locale, "en-GB");
  EXPECT_DOUBLE_EQ(r.operation_timeout_s.value_or(-1), 1.0);
  EXPECT_EQ(option_values(r, "wmiarray:__MI_OPERATIONOPTIONS_CHANNELVALUE"),
            (std::vector<std::string>{"0", "1", "2"}));
  EXPECT_EQ(option_values(r, "__MI_CallbackRegistration"), std::vector<std::string>{"11"});
  EXPECT_TRUE(r.object_and_epr);
  EXPECT_TRUE(r.filter.empty());
}

TEST(Decode, Microsoft03PlainEnumerate) {
  CAPTURES_DIR(dir);
  Request r = decode_capture(dir / "microsoft", "03-enumerate-plain.xml");
  EXPECT_EQ(r.operation, Operation::kEnumerate);
  EXPECT_EQ(r.resource_uri, "http://schemas.microsoft.com/wbem/wscim/1/cim-schema/2/OMI_Datetime");
  EXPECT_EQ(r.max_envelope_size, 32768u);
  EXPECT_DOUBLE_EQ(r.operation_timeout_s.value_or(-1), 60.0);
  EXPECT_EQ(r.max_elements, 5000u);
}

TEST(Decode, Microsoft04PullPrettyPrinted) {
  CAPTURES_DIR(dir);
  Request r = decode_capture(dir / "microsoft", "04-pull.xml");
  EXPECT_EQ(r.operation, Operation::kPull);
  EXPECT_EQ(r.resource_uri,
            "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/mynamespace/myclass");
  EXPECT_EQ(r.message_id, "uuid:54E3FD6C-A83E-454C-A2F6-0BDABF5F14D7");
  EXPECT_EQ(r.context, "uuid:22EB9809-5543-4020-A75C-FD95FF06217B");
  EXPECT_EQ(r.max_elements, 1u);
  EXPECT_EQ(r.max_envelope_size, 51200u);
}

TEST(Decode, Microsoft05And06Get) {
  CAPTURES_DIR(dir);
  Request r = decode_capture(dir / "microsoft", "05-get-instance-mi-client.xml");
  EXPECT_EQ(r.operation, Operation::kGet);
  EXPECT_EQ(selector(r, "uint32key"), "10");
  EXPECT_EQ(option_values(r, "__MI_CallbackRegistration"), std::vector<std::string>{"16"});
  Request s = decode_capture(dir / "microsoft", "06-get-instance-spec.xml");
  EXPECT_EQ(s.operation, Operation::kGet);
  EXPECT_EQ(selector(s, "id"), "1");
  EXPECT_EQ(s.action, "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get");
}

TEST(Decode, Microsoft07GetClass) {
  CAPTURES_DIR(dir);
  Request r = decode_capture(dir / "microsoft", "07-get-class.xml");
  EXPECT_EQ(r.operation, Operation::kGet);
  EXPECT_EQ(r.resource_uri, "http://schemas.dmtf.org/wbem/cim-xml/2/cim-schema/2/*");
  EXPECT_EQ(selector(r, "ClassName"), "CIM_Error");
  EXPECT_EQ(selector(r, "__cimnamespace"), "root/test");
  EXPECT_EQ(r.options.size(), 9u);
}

TEST(Decode, Microsoft08InvokeInstanceMethodCrlf) {
  CAPTURES_DIR(dir);
  Request r = decode_capture(dir / "microsoft", "08-invoke-instance-method.xml");
  EXPECT_EQ(r.operation, Operation::kInvoke);
  EXPECT_EQ(r.method, "GetBoolValue");
  EXPECT_EQ(r.to, "https://157.59.84.237:7779/wsman");
  EXPECT_EQ(selector(r, "__cimnamespace"), "root/omi");
  EXPECT_EQ(selector(r, "v_Key"), "0");
  EXPECT_TRUE(r.parameters.empty());
  EXPECT_EQ(option_values(r, "msftwinrm:UsePreciseArrays"), std::vector<std::string>{"true"});
}

TEST(Decode, Microsoft09InvokeCreate) {
  CAPTURES_DIR(dir);
  Request r = decode_capture(dir / "microsoft", "09-invoke-static-method-win32_process-create.xml");
  EXPECT_EQ(r.operation, Operation::kInvoke);
  EXPECT_EQ(r.method, "Create");
  EXPECT_EQ(param(r, "CommandLine"), "notepad.exe");
  EXPECT_EQ(param(r, "CurrentDirectory"), "C:\\");
}

TEST(Decode, Microsoft10InvokeStatic) {
  CAPTURES_DIR(dir);
  Request r = decode_capture(dir / "microsoft", "10-invoke-static-method-mi-client-streaming.xml");
  EXPECT_EQ(r.operation, Operation::kInvoke);
  EXPECT_EQ(r.method, "TestStreaming");
  EXPECT_EQ(selector(r, "__cimnamespace"), "root/cimv2/mytest4");
  EXPECT_EQ(option_values(r, "__MI_CallbackRegistration"), std::vector<std::string>{"4"});
}

TEST(Decode, Microsoft11Identify) {
  CAPTURES_DIR(dir);
  Request r = decode_capture(dir / "microsoft", "11-identify.xml");
  EXPECT_EQ(r.operation, Operation::kIdentify);
  EXPECT_TRUE(r.action.empty());
}

TEST(Decode, Microsoft12PutInstanceBody) {
  CAPTURES_DIR(dir);
  Request r = decode_capture(dir / "microsoft", "12-put-set-ciminstance.xml");
  EXPECT_EQ(r.operation, Operation::kPut);
  EXPECT_EQ(selector(r, "InstanceID"), "2FDB5542-5896-45D5-9BE9-DC04430AAABE");
  EXPECT_EQ(param(r, "ProductVendor"), "Microsoft");
  EXPECT_EQ(std::count_if(r.parameters.begin(), r.parameters.end(),
                          [](const auto& p) { return p.first == "ConfigNameSpaces"; }),
            4);
}

// ---------------------------------------------------------------------------------------------
// Encodings and framing

std::string to_utf16le_bom(const std::string& ascii) {
  std::string out = "\xFF\xFE";
  for (char c : ascii) {
    out += c;
    out += '\0';
  }
  return out;
}

TEST(Decode, Utf16WithBomDecodesTheSame) {
  CAPTURES_DIR(dir);
  std::string xml = read_file(dir / "microsoft" / "01-enumerate-wql.xml");
  Request a = decode_ok(xml);
  Request b = decode_ok(to_utf16le_bom(xml));
  EXPECT_EQ(b.operation, Operation::kEnumerate);
  EXPECT_EQ(b.filter, a.filter);
  EXPECT_EQ(b.resource_uri, a.resource_uri);
  EXPECT_EQ(b.options, a.options);
  EXPECT_EQ(selector(b, "__cimnamespace"), "root/OMI");
  // Without a BOM too.
  Request c = decode_ok(to_utf16le_bom(xml).substr(2));
  EXPECT_EQ(c.filter, a.filter);
}

TEST(Decode, Utf16OpenwsmanWithDeclarationNamingUtf8) {
  // An <?xml … encoding="UTF-8"?> declaration in a UTF-16 body: the BOM wins.
  CAPTURES_DIR(dir);
  std::string xml = read_file(dir / "06-invoke-terminate-wmi-uri.xml");
  std::string decl_free = xml.substr(xml.find("?>") + 2);
  Request r = decode_ok(to_utf16le_bom(decl_free));
  EXPECT_EQ(r.method, "Terminate");
  EXPECT_EQ(param(r, "Reason"), "15");
}

TEST(Decode, CrlfLineEnds) {
  CAPTURES_DIR(dir);
  std::string xml = read_file(dir / "microsoft" / "04-pull.xml");
  std::string crlf;
  for (char c : xml) {
    if (c == '\n') crlf += '\r';
    crlf += c;
  }
  Request r = decode_ok(crlf);
  EXPECT_EQ(r.context, "uuid:22EB9809-5543-4020-A75C-FD95FF06217B");
  EXPECT_EQ(r.action, "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull");
}

const char kEnvHead[] =
    "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" "
    "xmlns:a=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\" "
    "xmlns:w=\"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd\" "
    "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">";

std::string envelope(const std::string& headers, const std::string& body) {
  return std::string(kEnvHead) + "<s:Header>" + headers + "</s:Header><s:Body>" + body +
         "</s:Body></s:Envelope>";
}

const char kProcUri[] = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_Process";

std::string action(const std::string& a) {
  return "<a:Action s:mustUnderstand=\"true\">" + a + "</a:Action><w:ResourceURI>" + kProcUri +
         "</w:ResourceURI>";
}

TEST(Decode, MustUnderstandUnknownHeaderIsReported) {
  std::string xml =
      envelope(action("http://schemas.xmlsoap.org/ws/2004/09/transfer/Get") +
                   "<x:Frob xmlns:x=\"urn:x\" s:mustUnderstand=\"true\">1</x:Frob>"
                   "<x:Ignored xmlns:x=\"urn:x\" s:mustUnderstand=\"false\"/>"
                   "<x:Also xmlns:x=\"urn:x\">2</x:Also>"
                   "<w:RequestTotalItemsCountEstimate s:mustUnderstand=\"1\"/>"
                   "<p:OperationID xmlns:p=\"http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd\" "
                   "s:mustUnderstand=\"true \">uuid:1</p:OperationID>"
                   "<w:OptionSet s:mustUnderstand=\"true\"/>",
               "");
  Request r = decode_ok(xml);
  EXPECT_EQ(r.operation, Operation::kGet);
  EXPECT_EQ(r.not_understood,
            (std::vector<std::string>{"{urn:x}Frob",
                                      "{http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd}"
                                      "RequestTotalItemsCountEstimate"}));
}

TEST(Decode, InvokeWithNilRepeatedAndEmbeddedParameters) {
  std::string xml =
      envelope(action(std::string(kProcUri) + "/Create"),
               "<p:Create_INPUT xmlns:p=\"" + std::string(kProcUri) +
                   "\"><p:CommandLine>  /bin/echo a&amp;b  </p:CommandLine>"
                   "<p:CurrentDirectory xsi:nil=\"true\"/>"
                   "<p:ProcessStartupInformation><q:Win32_ProcessStartup xmlns:q=\"urn:q\"/>"
                   "</p:ProcessStartupInformation>"
                   "<p:Startup><p:ShowWindow>1</p:ShowWindow><p:Title xsi:nil=\"1\"/></p:Startup>"
                   "<p:Arr>1</p:Arr><p:Arr>2</p:Arr></p:Create_INPUT>");
  Request r = decode_ok(xml);
  EXPECT_EQ(r.operation, Operation::kInvoke);
  EXPECT_EQ(r.method, "Create");
  EXPECT_EQ(param(r, "CommandLine"), "/bin/echo a&b");
  EXPECT_EQ(param(r, "Startup.ShowWindow"), "1");
  EXPECT_EQ(r.nil_parameters, (std::vector<std::string>{"CurrentDirectory", "Startup.Title"}));
  EXPECT_EQ(std::count_if(r.parameters.begin(), r.parameters.end(),
                          [](const auto& p) { return p.first == "Arr"; }),
            2);
}

TEST(Decode, InvokeBodyNotNamedAfterTheMethod) {
  Fault f = decode_fault(envelope(action(std::string(kProcUri) + "/Terminate"),
                                  "<p:Create_INPUT xmlns:p=\"urn:p\"/>"));
  EXPECT_EQ(f.subcode, "w:SchemaValidationError");
  EXPECT_NE(f.reason.find("Terminate_INPUT"), std::string::npos);
}

TEST(Decode, ActionsClassify) {
  auto op = [](const std::string& a) { return decode_ok(envelope(action(a), "")).operation; };
  EXPECT_EQ(op("http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete"), Operation::kDelete);
  EXPECT_EQ(decode_ok(envelope(action("http://schemas.xmlsoap.org/ws/2004/09/transfer/Create"),
                               "<p:Win32_Process xmlns:p=\"urn:p\"/>"))
                .operation,
            Operation::kCreate);
  EXPECT_EQ(op("http://schemas.xmlsoap.org/ws/2004/08/eventing/Renew"), Operation::kRenew);
  EXPECT_EQ(op("http://schemas.xmlsoap.org/ws/2004/09/transfer/GetStatus"), Operation::kUnknown);
  EXPECT_EQ(op("http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command"),
            Operation::kUnknown);
  EXPECT_EQ(op("urn:nothing"), Operation::kUnknown);
  EXPECT_EQ(op(std::string(kProcUri) + "/GetOwner"), Operation::kInvoke);
  Request rel =
      decode_ok(envelope(action("http://schemas.xmlsoap.org/ws/2004/09/enumeration/Release"),
                         "<n:Release xmlns:n=\"http://schemas.xmlsoap.org/ws/2004/09/enumeration\">"
                         "<n:EnumerationContext> uuid:c </n:EnumerationContext></n:Release>"));
  EXPECT_EQ(rel.operation, Operation::kRelease);
  EXPECT_EQ(rel.context, "uuid:c");
  EXPECT_EQ(
      decode_fault(envelope(action("http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull"), ""))
          .subcode,
      "w:SchemaValidationError");
}

// Create: the instance as WinRM sends it. A REF property may be an endpoint reference (turned
// into object path text) or plain path text; arrays repeat; xsi:nil is NULL.
const char kSubUri[] = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/subscription/";

std::string create_envelope(const std::string& cls, const std::string& body) {
  return envelope(
      "<a:Action s:mustUnderstand=\"true\">"
      "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create</a:Action>"
      "<w:ResourceURI>" +
          std::string(kSubUri) + cls + "</w:ResourceURI>",
      body);
}

TEST(Decode, CreateBodyProperties) {
  std::string ref =
      "<p:Filter><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
      "</a:Address><a:ReferenceParameters><w:ResourceURI>" +
      std::string(kSubUri) +
      "__EventFilter</w:ResourceURI><w:SelectorSet>"
      "<w:Selector Name=\"__cimnamespace\">root/subscription</w:Selector>"
      "<w:Selector Name=\"Name\">f \"1\"</w:Selector></w:SelectorSet></a:ReferenceParameters>"
      "</p:Filter>";
  Request r = decode_ok(create_envelope(
      "__FilterToConsumerBinding",
      "<p:__FilterToConsumerBinding xmlns:p=\"" + std::string(kSubUri) +
          "__FilterToConsumerBinding\" "
          "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">" +
          ref +
          "<p:Consumer>LogFileEventConsumer.Name=\"c\"</p:Consumer>"
          "<p:Tags>a</p:Tags><p:Tags>b</p:Tags><p:Reason xsi:nil=\"true\"/>"
          "<p:When><cim:Datetime xmlns:cim=\"http://schemas.dmtf.org/wbem/wscim/1/common\">"
          "2026-12-07T10:00:00.000000+00:00</cim:Datetime></p:When>"
          "</p:__FilterToConsumerBinding>"));
  EXPECT_EQ(r.operation, Operation::kCreate);
  EXPECT_EQ(r.instance_element, "__FilterToConsumerBinding");
  EXPECT_EQ(r.instance_namespace, std::string(kSubUri) + "__FilterToConsumerBinding");
  ASSERT_EQ(r.instance_properties.size(), 6u);
  EXPECT_EQ(r.instance_properties[0].name, "Filter");
  EXPECT_EQ(r.instance_properties[0].text, "__EventFilter.Name=\"f \\\"1\\\"\"");
  EXPECT_EQ(r.instance_properties[1].text, "LogFileEventConsumer.Name=\"c\"");
  EXPECT_EQ(r.instance_properties[2].text, "a");
  EXPECT_EQ(r.instance_properties[3].name, "Tags");
  EXPECT_EQ(r.instance_properties[3].text, "b");
  EXPECT_TRUE(r.instance_properties[4].nil);
  EXPECT_EQ(r.instance_properties[5].text, "20261207100000.000000+000");
  // Unqualified property elements are the instance's.
  Request plain = decode_ok(create_envelope("__EventFilter", "<p:__EventFilter xmlns:p=\"" +
                                                                 std::string(kSubUri) +
                                                                 "__EventFilter\"><Name>n</Name>"
                                                                 "</p:__EventFilter>"));
  ASSERT_EQ(plain.instance_properties.size(), 1u);
  EXPECT_EQ(plain.instance_properties[0].text, "n");
}

// The envelope fuzzer's Create seeds decode as Creates: its runs start inside Create decoding.
TEST(Decode, FuzzSeedsReachCreateDecoding) {
  fs::path dir = std::string(LWMI_SOURCE_DIR) + "/fuzz/corpus/envelope";
  Request binding = decode_ok(read_file(dir / "14-create-binding-epr.xml"));
  EXPECT_EQ(binding.operation, Operation::kCreate);
  ASSERT_EQ(binding.instance_properties.size(), 3u);
  EXPECT_EQ(binding.instance_properties[0].text, "__EventFilter.Name=\"f\"");
  EXPECT_TRUE(binding.instance_properties[2].nil);
  Request filter = decode_ok(read_file(dir / "15-create-event-filter.xml"));
  EXPECT_EQ(filter.operation, Operation::kCreate);
  EXPECT_EQ(filter.instance_element, "__EventFilter");
  EXPECT_EQ(filter.instance_properties.size(), 4u);
}

TEST(Decode, CreateBodyRefusals) {
  std::string ns = " xmlns:p=\"" + std::string(kSubUri) + "__EventFilter\"";
  struct Case {
    std::string body;
    std::string reason;
  } cases[] = {
      {"", "the Create body holds no instance element"},
      {"<p:__EventFilter" + ns + "/><p:__EventFilter" + ns + "/>",
       "the Create body holds more than one element (<__EventFilter> and <__EventFilter>)"},
      {"<p:__EventFilter" + ns + "><q:Name xmlns:q=\"urn:q\">x</q:Name></p:__EventFilter>",
       "property Name is in namespace 'urn:q', not its instance's '" + std::string(kSubUri) +
           "__EventFilter'"},
      {"<p:__EventFilter" + ns + "><p:Name><x>y</x></p:Name></p:__EventFilter>",
       "property Name holds <x>: a property is a value, xsi:nil or an endpoint reference"},
      {"<p:__EventFilter" + ns + "><p:F><a:ReferenceParameters/></p:F></p:__EventFilter>",
       "property F holds an endpoint reference without wsa:ReferenceParameters/"
       "wsman:ResourceURI"},
      {"<p:__EventFilter" + ns +
           "><p:F><a:ReferenceParameters><w:ResourceURI>urn:x/</w:ResourceURI>"
           "</a:ReferenceParameters></p:F></p:__EventFilter>",
       "property F refers to resource URI 'urn:x/', which names no class"},
      {"<p:__EventFilter" + ns +
           "><p:F><a:ReferenceParameters><w:ResourceURI>urn:x/C</w:ResourceURI>"
           "</a:ReferenceParameters></p:F></p:__EventFilter>",
       "property F refers to C without selectors: a reference names one instance"},
      {"<p:__EventFilter" + ns +
           "><p:F><a:ReferenceParameters><w:ResourceURI>urn:x/C</w:ResourceURI><w:SelectorSet>"
           "<w:Selector Name=\"K\"><a:EndpointReference/></w:Selector></w:SelectorSet>"
           "</a:ReferenceParameters></p:F></p:__EventFilter>",
       "property F: selector 'K' holds elements; only text selectors are accepted"},
      {"<p:__EventFilter" + ns +
           "><p:F><a:ReferenceParameters><w:ResourceURI>urn:x/C</w:ResourceURI><w:SelectorSet>"
           "<w:Selector Name=\"K=1,x\">v</w:Selector></w:SelectorSet>"
           "</a:ReferenceParameters></p:F></p:__EventFilter>",
       "property F: selector name 'K=1,x' is not a property name"},
  };
  for (const auto& c : cases) {
    Fault f = decode_fault(create_envelope("__EventFilter", c.body));
    EXPECT_EQ(f.subcode, "w:SchemaValidationError") << c.body;
    EXPECT_EQ(f.reason, c.reason) << c.body;
    EXPECT_EQ(f.wbem, WbemStatus::kInvalidParameter) << c.body;
  }
  // Deep nesting inside a property is stopped by the parser's depth limit.
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "<x>";
  for (int i = 0; i < 100; ++i) deep += "</x>";
  Fault f = decode_fault(create_envelope(
      "__EventFilter", "<p:__EventFilter" + ns + "><p:N>" + deep + "</p:N></p:__EventFilter>"));
  EXPECT_EQ(f.subcode, "w:EncodingLimit");
}

TEST(Decode, Durations) {
  auto timeout = [](const std::string& d) {
    auto r = decode(envelope(action("http://schemas.xmlsoap.org/ws/2004/09/transfer/Get") +
                                 "<w:OperationTimeout>" + d + "</w:OperationTimeout>",
                             ""));
    if (auto* q = std::get_if<Request>(&r)) return q->operation_timeout_s.value_or(-1);
    return -2.0;
  };
  EXPECT_DOUBLE_EQ(timeout("PT60.000S"), 60);
  EXPECT_DOUBLE_EQ(timeout("PT1S"), 1);
  EXPECT_DOUBLE_EQ(timeout("P0DT0H1M"), 60);
  EXPECT_DOUBLE_EQ(timeout("PT1M30S"), 90);
  EXPECT_DOUBLE_EQ(timeout("P1D"), 86400);
  EXPECT_DOUBLE_EQ(timeout(" PT0.5S "), 0.5);
  EXPECT_DOUBLE_EQ(timeout("60"), -2);
  EXPECT_DOUBLE_EQ(timeout("PT"), -2);
  EXPECT_DOUBLE_EQ(timeout("P1H"), -2);
  EXPECT_DOUBLE_EQ(timeout("PTS"), -2);
}

TEST(Decode, SelectorHoldingAnEndpointReference) {
  Request r = decode_ok(
      envelope(action("http://schemas.xmlsoap.org/ws/2004/09/transfer/Get") +
                   "<w:SelectorSet><w:Selector Name=\"Ref\"><a:EndpointReference><a:Address>urn:x"
                   "</a:Address></a:EndpointReference></w:Selector></w:SelectorSet>",
               ""));
  EXPECT_EQ(selector(r, "Ref"), "urn:x");
}

// ---------------------------------------------------------------------------------------------
// Hostile and malformed input

TEST(DecodeFault, MalformedXml) {
  Fault f = decode_fault(std::string(kEnvHead) + "<s:Header>\n<a:Action>x</a:Actio></s:Header>");
  EXPECT_EQ(f.code, "s:Sender");
  EXPECT_EQ(f.subcode, "w:InvalidMessageInformationHeader");
  EXPECT_EQ(f.wbem, WbemStatus::kInvalidParameter);
  EXPECT_EQ(f.http_status, 400);
  EXPECT_NE(f.reason.find("line 2"), std::string::npos) << f.reason;
  EXPECT_EQ(decode_fault("").subcode, "w:InvalidMessageInformationHeader");
  EXPECT_EQ(decode_fault("not xml at all").subcode, "w:InvalidMessageInformationHeader");
}

TEST(DecodeFault, BillionLaughsIsRefusedUnexpanded) {
  std::string xml =
      "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
      "<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
      "<!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">"
      "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">"
      "<!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">"
      "<!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">"
      "<!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">"
      "<!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">"
      "<!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">"
      "<!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">]>" +
      envelope(action("http://schemas.xmlsoap.org/ws/2004/09/transfer/Get") +
                   "<a:MessageID>&lol9;</a:MessageID>",
               "");
  Fault f = decode_fault(xml);
  EXPECT_EQ(f.subcode, "w:InvalidMessageInformationHeader");
  EXPECT_NE(f.reason.find("document type"), std::string::npos) << f.reason;
}

TEST(DecodeFault, ExternalEntityIsRefused) {
  std::string xml = "<!DOCTYPE s:Envelope SYSTEM \"file:///etc/passwd\">" +
                    envelope(action("http://schemas.xmlsoap.org/ws/2004/09/transfer/Get"), "");
  EXPECT_NE(decode_fault(xml).reason.find("document type"), std::string::npos);
  EXPECT_EQ(decode_fault(envelope("<a:Action>&xxe;</a:Action>", "")).subcode,
            "w:InvalidMessageInformationHeader");
}

TEST(DecodeFault, TooDeep) {
  std::string deep;
  for (int i = 0; i < kMaxXmlDepth + 5; ++i) deep += "<x>";
  for (int i = 0; i < kMaxXmlDepth + 5; ++i) deep += "</x>";
  Fault f =
      decode_fault(envelope(action("http://schemas.xmlsoap.org/ws/2004/09/transfer/Get"), deep));
  EXPECT_EQ(f.subcode, "w:EncodingLimit");
  // Just inside the limit: Envelope, Body and 60 more levels.
  std::string ok;
  for (int i = 0; i < kMaxXmlDepth - 2; ++i) ok += "<x>";
  for (int i = 0; i < kMaxXmlDepth - 2; ++i) ok += "</x>";
  auto r = decode(std::string(kEnvHead) + "<s:Header>" +
                  action("http://schemas.xmlsoap.org/ws/2004/09/transfer/Put") +
                  "</s:Header><s:Body>" + ok + "</s:Body></s:Envelope>");
  EXPECT_TRUE(std::holds_alternative<Request>(r));
}

TEST(DecodeFault, TooLarge) {
  std::string xml = envelope(action("http://schemas.xmlsoap.org/ws/2004/09/transfer/Get"),
                             "<!--" + std::string(kMaxEnvelopeBytes, 'x') + "-->");
  Fault f = decode_fault(xml);
  EXPECT_EQ(f.subcode, "w:EncodingLimit");
  EXPECT_EQ(f.code, "s:Sender");
}

TEST(DecodeFault, NotASoap12Envelope) {
  Fault v = decode_fault(
      "<e:Envelope xmlns:e=\"http://schemas.xmlsoap.org/soap/envelope/\"><e:Body/></e:Envelope>");
  EXPECT_EQ(v.code, "s:VersionMismatch");
  Fault o = decode_fault("<Envelope><Body/></Envelope>");
  EXPECT_EQ(o.subcode, "w:SchemaValidationError");
  Fault nobody = decode_fault(std::string(kEnvHead) + "<s:Header/></s:Envelope>");
  EXPECT_EQ(nobody.subcode, "w:SchemaValidationError");
  Fault noaction = decode_fault(envelope("", ""));
  EXPECT_EQ(noaction.subcode, "a:MessageInformationHeaderRequired");
}

TEST(DecodeFault, BadNumbers) {
  EXPECT_EQ(decode_fault(envelope(action("http://schemas.xmlsoap.org/ws/2004/09/transfer/Get") +
                                      "<w:MaxEnvelopeSize>lots</w:MaxEnvelopeSize>",
                                  ""))
                .subcode,
            "w:InvalidMessageInformationHeader");
  EXPECT_EQ(
      decode_fault(envelope(action("http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate"),
                            "<n:Enumerate xmlns:n=\"http://schemas.xmlsoap.org/ws/2004/09/"
                            "enumeration\"><w:MaxElements>-1</w:MaxElements></n:Enumerate>"))
          .subcode,
      "w:SchemaValidationError");
}

// Whatever decode() refuses is the client's mistake: HTTP 400, never an operation's 500, on every
// path (the XML, the limits, the headers, the body, the SOAP version).
TEST(DecodeFault, EveryRefusalIsHttp400) {
  const std::string get = action("http://schemas.xmlsoap.org/ws/2004/09/transfer/Get");
  const std::string pull = action("http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull");
  std::string deep;
  for (int i = 0; i <= kMaxXmlDepth; ++i) deep += "<x>";
  for (int i = 0; i <= kMaxXmlDepth; ++i) deep += "</x>";
  const std::vector<std::string> refused = {
      "",
      "<oops",
      std::string(kMaxEnvelopeBytes + 1, ' '),
      envelope(get, deep),
      "<!DOCTYPE x [<!ENTITY a \"b\">]><x/>",
      "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body/></s:Envelope>",
      envelope("", "<x/>"),
      envelope(get + "<w:OperationTimeout>soon</w:OperationTimeout>", ""),
      envelope(pull,
               "<n:Pull xmlns:n=\"http://schemas.xmlsoap.org/ws/2004/09/enumeration\">"
               "<n:MaxTime>soon</n:MaxTime></n:Pull>"),
  };
  for (const auto& body : refused) {
    Fault f = decode_fault(body);
    EXPECT_EQ(f.http_status, 400) << f.subcode << ": " << f.reason;
  }
  // Operations' faults stay 500.
  EXPECT_EQ(make_fault("w:InvalidSelectors", "x", WbemStatus::kInvalidParameter).http_status, 500);
}

}  // namespace
}  // namespace lwmi::wsman
