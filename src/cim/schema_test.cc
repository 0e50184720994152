#include "cim/schema.h"

#include <gtest/gtest.h>

namespace lwmi::cim {

TEST(Schema, Win32ProcessHas45PropertiesKeyedByHandle) {
  auto cls = Schema::builtin().find("win32_process");
  ASSERT_NE(cls, nullptr);
  EXPECT_EQ(cls->name, "Win32_Process");
  EXPECT_EQ(cls->properties.size(), 45u);
  auto keys = cls->key_indices();
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(cls->properties[keys[0]].name, "Handle");
  EXPECT_EQ(cls->properties.front().name, "Caption");
  EXPECT_EQ(cls->properties.back().name, "WriteTransferCount");
}

TEST(Schema, AncestryForIsaAndSystemProperties) {
  auto cls = Schema::builtin().find("Win32_Process");
  ASSERT_NE(cls, nullptr);
  EXPECT_EQ(cls->superclass, "CIM_Process");
  EXPECT_EQ(cls->derivation, (std::vector<std::string>{"CIM_Process", "CIM_LogicalElement",
                                                       "CIM_ManagedSystemElement"}));
  EXPECT_EQ(cls->dynasty(), "CIM_ManagedSystemElement");
  EXPECT_TRUE(cls->is_a("cim_process"));
  EXPECT_TRUE(cls->is_a("CIM_ManagedSystemElement"));
  EXPECT_FALSE(cls->is_a("Win32_Service"));
  auto subs = Schema::builtin().subclasses_of("CIM_Process");
  ASSERT_EQ(subs.size(), 1u);
  EXPECT_EQ(subs[0]->name, "Win32_Process");
}

TEST(Schema, UnitsTypesAndPrivilegesFromTheSpec) {
  auto cls = Schema::builtin().find("Win32_Process");
  struct Row {
    const char* name;
    CimType type;
    const char* units;
  } rows[] = {
      {"KernelModeTime", CimType::kUint64, "100 nanoseconds"},
      {"WorkingSetSize", CimType::kUint64, "bytes"},
      {"PageFileUsage", CimType::kUint32, "kilobytes"},
      {"PeakWorkingSetSize", CimType::kUint32, "kilobytes"},
      {"PrivatePageCount", CimType::kUint64, "bytes"},
      {"CreationDate", CimType::kDatetime, ""},
      {"Handle", CimType::kString, ""},
      {"ProcessId", CimType::kUint32, ""},
  };
  for (const auto& r : rows) {
    const PropertyDecl* p = cls->property(r.name);
    ASSERT_NE(p, nullptr) << r.name;
    EXPECT_EQ(p->type, r.type) << r.name;
    EXPECT_EQ(p->units, r.units) << r.name;
  }
  EXPECT_EQ(cls->property("ExecutablePath")->privileges,
            std::vector<std::string>{"SeDebugPrivilege"});
  EXPECT_EQ(cls->property("Caption")->origin, "CIM_ManagedSystemElement");
  EXPECT_EQ(*cls->property("Handle")->max_len, 256u);
  ASSERT_NE(cls->qualifier("DeleteBy"), nullptr);
  EXPECT_EQ(cls->qualifier("DeleteBy")->value.as_string(), "DeleteInstance");
}

TEST(Schema, MethodSignatures) {
  auto cls = Schema::builtin().find("Win32_Process");
  const MethodDecl* create = cls->method("create");
  ASSERT_NE(create, nullptr);
  EXPECT_TRUE(create->is_static);
  ASSERT_EQ(create->parameters.size(), 4u);
  EXPECT_EQ(create->parameters[2].embedded_class, "Win32_ProcessStartup");
  EXPECT_TRUE(create->parameters[3].out);
  const MethodDecl* term = cls->method("Terminate");
  ASSERT_NE(term, nullptr);
  EXPECT_FALSE(term->is_static);
  ASSERT_NE(term->parameter("reason"), nullptr);
  EXPECT_EQ(term->parameter("Reason")->type, CimType::kUint32);
  for (const char* m :
       {"GetOwner", "GetOwnerSid", "SetPriority", "AttachDebugger", "GetAvailableVirtualSize"})
    EXPECT_NE(cls->method(m), nullptr) << m;
  EXPECT_EQ(cls->method("SetPriority")->parameters[0].type, CimType::kSint32);
  auto startup = Schema::builtin().find("Win32_ProcessStartup");
  ASSERT_NE(startup, nullptr);
  EXPECT_TRUE(startup->property("EnvironmentVariables")->is_array);
}

TEST(Schema, LoadRejectsBrokenDocuments) {
  auto r = Schema::load({R"({"classes":[{"name":"A","superclass":"Missing"}]})"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "schema class A: unknown superclass Missing");
  r = Schema::load({"{not json"});
  ASSERT_FALSE(r.ok());
  r = Schema::load({R"({"classes":[{"name":"A","properties":[{"name":"x","type":"int"}]}]})"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "schema class A: property x has an unknown type");
}

// Every Win32_Process method names its return codes (the spec's shared table), and enumerated
// values carry their meanings, as WMI's ValueMap / Values qualifiers do.
TEST(Schema, ReturnCodesAndValueMapsAreQualifiers) {
  auto cls = Schema::builtin().find("Win32_Process");
  ASSERT_NE(cls, nullptr);
  for (const auto& m : cls->methods) {
    const Qualifier* map = m.qualifier("valuemap");
    const Qualifier* values = m.qualifier("Values");
    ASSERT_TRUE(map && values) << m.name;
    ASSERT_EQ(map->value.elements().size(), values->value.elements().size()) << m.name;
    EXPECT_EQ(
        map->value.to_text(),
        Value::array(CimType::kString, {Value::string("0"), Value::string("2"), Value::string("3"),
                                        Value::string("8"), Value::string("9"), Value::string("21"),
                                        Value::string("..")})
            .to_text())
        << m.name;
    EXPECT_EQ(values->value.elements()[1].as_string(), "Access denied") << m.name;
  }
  const ParameterDecl* prio = cls->method("SetPriority")->parameter("Priority");
  ASSERT_NE(prio, nullptr);
  ASSERT_EQ(prio->qualifiers.size(), 2u);
  EXPECT_EQ(prio->qualifiers[0].value.elements()[0].as_string(), "64");
  const PropertyDecl* state = cls->property("ExecutionState");
  ASSERT_NE(state, nullptr);
  bool found = false;
  for (const auto& q : state->qualifiers)
    if (q.name == "Values") found = q.value.elements().at(3).as_string() == "Running";
  EXPECT_TRUE(found);
}

TEST(Schema, QualifierArraysMustBeOfOneType) {
  auto bad = Schema::load({R"({"classes": [{"name": "X", "methods": [{"name": "M",
      "qualifiers": {"ValueMap": ["0", 1]}}]}]})"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(
      bad.error().message,
      "schema class X: method M: qualifier ValueMap: qualifier array elements differ in type");
}

}  // namespace lwmi::cim
