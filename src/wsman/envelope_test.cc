#include "wsman/envelope.h"

#include <gtest/gtest.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "cim/schema.h"

namespace lwmi::wsman {
namespace {

namespace fs = std::filesystem;

// The real clients' requests, kept in the repository (tests/fixtures/wsman-captures).
std::optional<fs::path> captures_dir() {
  fs::path p = std::string(LWMI_SOURCE_DIR) + "/tests/fixtures/wsman-captures";
  if (fs::is_directory(p / "microsoft")) return p;
  return std::nullopt;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

#define CAPTURES_DIR(var)                                                               \
  auto var##_opt = captures_dir();                                                      \
  ASSERT_TRUE(var##_opt) << "tests/fixtures/wsman-captures is missing from the source"; \
  const fs::path& var = *var##_opt

Request decode_ok(const std::string& xml) {
  auto r = decode(xml);
  if (auto* f = std::get_if<Fault>(&r)) {
    ADD_FAILURE() << "fault " << f->subcode << ": " << f->reason;
    return {};
  }
  return std::get<Request>(std::move(r));
}

Request decode_capture(const fs::path& dir, const std::string& name) {
  return decode_ok(read_file(dir / name));
}

Fault decode_fault(const std::string& xml) {
  auto r = decode(xml);
  if (!std::holds_alternative<Fault>(r)) {
    ADD_FAILURE() << "expected a fault";
    return {};
  }
  return std::get<Fault>(r);
}

std::string selector(const Request& r, const std::string& name) {
  for (const auto& s : r.selectors)
    if (s.name == name) return s.value;
  return "<absent>";
}

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

// ---------------------------------------------------------------------------------------------
// Encoding, checked by re-parsing with libxml2 and XPath

class Xml {
 public:
  explicit Xml(const std::string& text) {
    doc_ = xmlReadMemory(text.data(), static_cast<int>(text.size()), nullptr, nullptr,
                         XML_PARSE_NONET);
    if (!doc_) return;
    ctx_ = xmlXPathNewContext(doc_);
    const std::pair<const char*, const char*> prefixes[] = {
        {"s", ns::kSoap},
        {"a", ns::kAddressing},
        {"w", ns::kWsman},
        {"n", ns::kEnumeration},
        {"e", ns::kEventing},
        {"xsi", ns::kXsi},
        {"cim", ns::kCim},
        {"wsmid", ns::kIdentity},
        {"f", "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"},
        {"p", "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_Process"},
        {"t", "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Test_Thing"},
        {"st", "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Test_Sub"},
        {"d", "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/Win32_Process"},
    };
    for (auto [p, u] : prefixes) xmlXPathRegisterNs(ctx_, BAD_CAST p, BAD_CAST u);
  }
  ~Xml() {
    if (ctx_) xmlXPathFreeContext(ctx_);
    if (doc_) xmlFreeDoc(doc_);
  }
  bool ok() const { return doc_ != nullptr; }

  std::vector<std::string> all(const std::string& expr) const {
    std::vector<std::string> out;
    xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST expr.c_str(), ctx_);
    if (!o) {
      ADD_FAILURE() << "bad xpath " << expr;
      return out;
    }
    if (o->nodesetval)
      for (int i = 0; i < o->nodesetval->nodeNr; ++i) {
        xmlChar* c = xmlNodeGetContent(o->nodesetval->nodeTab[i]);
        out.emplace_back(c ? reinterpret_cast<const char*>(c) : "");
        xmlFree(c);
      }
    xmlXPathFreeObject(o);
    return out;
  }
  std::string one(const std::string& expr) const {
    auto v = all(expr);
    if (v.size() != 1) {
      ADD_FAILURE() << expr << " matched " << v.size() << " nodes";
      return "<none>";
    }
    return v[0];
  }
  size_t count(const std::string& expr) const { return all(expr).size(); }

 private:
  xmlDocPtr doc_ = nullptr;
  xmlXPathContextPtr ctx_ = nullptr;
};

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

// ---------------------------------------------------------------------------------------------
// GetClass: a class definition in CIM-XML (DSP0201)

Response class_response(const std::string& name) {
  Response resp;
  resp.action = "http://schemas.xmlsoap.org/ws/2004/09/transfer/GetResponse";
  resp.relates_to = "uuid:req-gc";
  resp.resource_uri = std::string(ns::kCimXmlPrefix) + "*";
  resp.class_decl = cim::Schema::builtin().find(name);
  return resp;
}

TEST(Encode, GetClassWin32ProcessAsCimXml) {
  Response resp = class_response("Win32_Process");
  ASSERT_TRUE(resp.class_decl);
  std::string out = encode(resp);
  Xml x(out);
  ASSERT_TRUE(x.ok()) << out;
  EXPECT_EQ(x.one("/s:Envelope/s:Header/a:Action"), resp.action);
  EXPECT_EQ(x.one("/s:Envelope/s:Body/CLASS/@NAME"), "Win32_Process");
  EXPECT_EQ(x.one("/s:Envelope/s:Body/CLASS/@SUPERCLASS"), "CIM_Process");
  EXPECT_EQ(x.one("//CLASS/QUALIFIER[@NAME='Provider']/VALUE"), "CIMWin32");
  EXPECT_EQ(x.one("//CLASS/QUALIFIER[@NAME='Dynamic']/@TYPE"), "boolean");
  EXPECT_EQ(x.one("//CLASS/QUALIFIER[@NAME='Dynamic']/VALUE"), "true");
  EXPECT_EQ(x.count("//CLASS/PROPERTY"), resp.class_decl->properties.size());
  // An inherited property: its origin, propagated.
  EXPECT_EQ(x.one("//CLASS/PROPERTY[@NAME='Caption']/@TYPE"), "string");
  EXPECT_EQ(x.one("//CLASS/PROPERTY[@NAME='Caption']/@CLASSORIGIN"), "CIM_ManagedSystemElement");
  EXPECT_EQ(x.one("//CLASS/PROPERTY[@NAME='Caption']/@PROPAGATED"), "true");
  EXPECT_EQ(x.one("//CLASS/PROPERTY[@NAME='Caption']/QUALIFIER[@NAME='MaxLen']/VALUE"), "64");
  EXPECT_EQ(x.one("//CLASS/PROPERTY[@NAME='Caption']/QUALIFIER[@NAME='MaxLen']/@TYPE"), "uint32");
  // An own property: not propagated.
  EXPECT_EQ(x.one("//CLASS/PROPERTY[@NAME='ProcessId']/@CLASSORIGIN"), "Win32_Process");
  EXPECT_EQ(x.count("//CLASS/PROPERTY[@NAME='ProcessId']/@PROPAGATED"), 0u);
  EXPECT_EQ(x.one("//CLASS/PROPERTY[@NAME='ProcessId']/@TYPE"), "uint32");
  EXPECT_EQ(x.one("//CLASS/PROPERTY[@NAME='Handle']/QUALIFIER[@NAME='Key']/VALUE"), "true");
  EXPECT_EQ(x.one("//CLASS/PROPERTY[@NAME='Handle']/QUALIFIER[@NAME='Key']/@TYPE"), "boolean");
  EXPECT_EQ(x.one("//CLASS/PROPERTY[@NAME='VirtualSize']/QUALIFIER[@NAME='Units']/VALUE"), "bytes");
  EXPECT_EQ(x.one("//CLASS/PROPERTY[@NAME='ExecutablePath']/QUALIFIER[@NAME='Privileges']/"
                  "VALUE.ARRAY/VALUE"),
            "SeDebugPrivilege");
  EXPECT_EQ(x.count("//CLASS/PROPERTY[@NAME='Name']/QUALIFIER[@NAME='Description']/VALUE"), 1u);
  EXPECT_EQ(x.one("//CLASS/PROPERTY[@NAME='CreationDate']/@TYPE"), "datetime");
  EXPECT_EQ(x.count("//PROPERTY.ARRAY"), 0u);
  // Methods and parameters.
  EXPECT_EQ(x.count("//CLASS/METHOD"), resp.class_decl->methods.size());
  EXPECT_EQ(x.one("//CLASS/METHOD[@NAME='Terminate']/@TYPE"), "uint32");
  EXPECT_EQ(x.one("//CLASS/METHOD[@NAME='Terminate']/@CLASSORIGIN"), "Win32_Process");
  EXPECT_EQ(x.one("//METHOD[@NAME='Terminate']/PARAMETER[@NAME='Reason']/@TYPE"), "uint32");
  EXPECT_EQ(x.one("//METHOD[@NAME='Terminate']/PARAMETER[@NAME='Reason']/QUALIFIER[@NAME='In']/"
                  "VALUE"),
            "true");
  EXPECT_EQ(x.count("//METHOD[@NAME='Terminate']/QUALIFIER[@NAME='Static']"), 0u);
  EXPECT_EQ(x.one("//METHOD[@NAME='Create']/QUALIFIER[@NAME='Static']/VALUE"), "true");
  EXPECT_EQ(x.one("//METHOD[@NAME='Create']/PARAMETER[@NAME='ProcessId']/QUALIFIER[@NAME='Out']/"
                  "VALUE"),
            "true");
  EXPECT_EQ(x.count("//METHOD[@NAME='Create']/PARAMETER[@NAME='ProcessId']/"
                    "QUALIFIER[@NAME='In']"),
            0u);
  EXPECT_EQ(x.one("//METHOD[@NAME='Create']/PARAMETER[@NAME='ProcessStartupInformation']/@TYPE"),
            "string");
  EXPECT_EQ(x.one("//METHOD[@NAME='Create']/PARAMETER[@NAME='ProcessStartupInformation']/"
                  "QUALIFIER[@NAME='EmbeddedInstance']/VALUE"),
            "Win32_ProcessStartup");
  EXPECT_EQ(x.one("//METHOD[@NAME='GetOwner']/PARAMETER[@NAME='User']/QUALIFIER[@NAME='Out']/"
                  "VALUE"),
            "true");
}

TEST(Encode, GetClassArraysAndAbstract) {
  Response resp = class_response("Win32_ProcessStartup");
  ASSERT_TRUE(resp.class_decl);
  std::string out = encode(resp);
  Xml x(out);
  ASSERT_TRUE(x.ok()) << out;
  EXPECT_EQ(x.one("//CLASS/@NAME"), "Win32_ProcessStartup");
  EXPECT_EQ(x.count("//CLASS/@SUPERCLASS"), 0u);
  EXPECT_EQ(x.one("//CLASS/QUALIFIER[@NAME='Abstract']/VALUE"), "true");
  EXPECT_EQ(x.one("//CLASS/PROPERTY.ARRAY[@NAME='EnvironmentVariables']/@TYPE"), "string");
  EXPECT_EQ(x.count("//CLASS/PROPERTY[@NAME='EnvironmentVariables']"), 0u);
}

TEST(Encode, GetClassEscapesAndEmbeddedObjects) {
  auto cls = std::make_shared<ClassDecl>();
  cls->name = "Test_Thing";
  cls->description = "a <thing> & \"more\"";
  cls->properties = {
      PropertyDecl{.name = "Obj", .type = CimType::kObject, .embedded_class = "Test_Sub"},
      PropertyDecl{.name = "Any", .type = CimType::kObject},
  };
  MethodDecl m;
  m.name = "Do";
  m.parameters = {
      ParameterDecl{.name = "List", .type = CimType::kUint8, .is_array = true, .in = true}};
  cls->methods = {m};
  Response resp;
  resp.class_decl = cls;
  std::string out = encode(resp);
  Xml x(out);
  ASSERT_TRUE(x.ok()) << out;
  EXPECT_EQ(x.one("//CLASS/QUALIFIER[@NAME='Description']/VALUE"), "a <thing> & \"more\"");
  EXPECT_EQ(x.one("//PROPERTY[@NAME='Obj']/@TYPE"), "string");
  EXPECT_EQ(x.one("//PROPERTY[@NAME='Obj']/@EmbeddedObject"), "instance");
  EXPECT_EQ(x.one("//PROPERTY[@NAME='Obj']/QUALIFIER[@NAME='EmbeddedInstance']/VALUE"), "Test_Sub");
  EXPECT_EQ(x.one("//PROPERTY[@NAME='Any']/@EmbeddedObject"), "object");
  EXPECT_EQ(x.one("//PROPERTY[@NAME='Obj']/@CLASSORIGIN"), "Test_Thing");
  EXPECT_EQ(x.one("//METHOD[@NAME='Do']/PARAMETER.ARRAY[@NAME='List']/@TYPE"), "uint8");
}

TEST(Encode, Microsoft07GetClassCaptureAnswered) {
  CAPTURES_DIR(dir);
  Request r = decode_capture(dir / "microsoft", "07-get-class.xml");
  // The capture asks OMI for CIM_Error in root/test; ask lwmi's class instead.
  for (auto& s : r.selectors) {
    if (s.name == "ClassName") s.value = "Win32_Process";
    if (s.name == "__cimnamespace") s.value = "root/cimv2";
  }
  EXPECT_EQ(selector(r, "ClassName"), "Win32_Process");
  Response resp;
  resp.action = "http://schemas.xmlsoap.org/ws/2004/09/transfer/GetResponse";
  resp.relates_to = r.message_id;
  resp.resource_uri = r.resource_uri;
  resp.class_decl = cim::Schema::builtin().find(selector(r, "ClassName"));
  std::string out = encode(resp);
  Xml x(out);
  ASSERT_TRUE(x.ok()) << out;
  EXPECT_EQ(x.one("/s:Envelope/s:Header/a:RelatesTo"), "uuid:DFCFFC30-89CA-4C3F-8E8C-4DA843C58615");
  EXPECT_EQ(x.one("/s:Envelope/s:Body/CLASS/@NAME"), "Win32_Process");
}

}  // namespace
}  // namespace lwmi::wsman
