// GetClass: class definitions as CIM-XML (DSP0201), in a response envelope.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "cim/schema.h"
#include "wsman/cim_xml.h"
#include "wsman/envelope.h"
#include "wsman/testing/envelopes.h"
#include "wsman/xml.h"

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

// What lwmid writes, the client reads back as the same declaration (the derivation aside, which
// CIM-XML does not carry).
TEST(CimXml, WrittenClassReadsBack) {
  auto decl = cim::Schema::builtin().find("Win32_Process");
  ASSERT_TRUE(decl);
  std::string text = class_cimxml(*decl);
  xml::Doc doc(
      xmlReadMemory(text.data(), static_cast<int>(text.size()), nullptr, nullptr, XML_PARSE_NONET));
  ASSERT_TRUE(doc) << text;
  auto back = class_from_cimxml(xmlDocGetRootElement(doc.get()));
  ASSERT_TRUE(back.ok()) << back.error().message;
  const ClassDecl& got = **back;
  EXPECT_EQ(got.name, decl->name);
  EXPECT_EQ(got.superclass, decl->superclass);
  ASSERT_EQ(got.properties.size(), decl->properties.size());
  for (size_t i = 0; i < got.properties.size(); ++i) {
    EXPECT_EQ(got.properties[i].name, decl->properties[i].name);
    EXPECT_EQ(got.properties[i].type, decl->properties[i].type) << got.properties[i].name;
    EXPECT_EQ(got.properties[i].is_array, decl->properties[i].is_array);
    EXPECT_EQ(got.properties[i].key, decl->properties[i].key);
  }
  ASSERT_EQ(got.methods.size(), decl->methods.size());
  for (size_t i = 0; i < got.methods.size(); ++i) {
    EXPECT_EQ(got.methods[i].name, decl->methods[i].name);
    EXPECT_EQ(got.methods[i].is_static, decl->methods[i].is_static);
    EXPECT_EQ(got.methods[i].parameters.size(), decl->methods[i].parameters.size());
  }
}

TEST(CimXml, MalformedClassSaysWhat) {
  const std::string text = "<CLASS NAME=\"X\"><PROPERTY NAME=\"P\" TYPE=\"nonsense\"/></CLASS>";
  xml::Doc doc(xmlReadMemory(text.data(), static_cast<int>(text.size()), nullptr, nullptr, 0));
  ASSERT_TRUE(doc);
  auto back = class_from_cimxml(xmlDocGetRootElement(doc.get()));
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.error().message, "PROPERTY P has an unknown TYPE");
}

}  // namespace
}  // namespace lwmi::wsman
