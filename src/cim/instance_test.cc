#include "lwmi/instance.h"

#include <gtest/gtest.h>

#include "cim/schema.h"

namespace lwmi {

TEST(Instance, SystemPropertiesOfAFullInstance) {
  Instance inst(cim::Schema::builtin().find("Win32_Process"));
  inst.set("Handle", Value::string("3236"));
  inst.set("Name", Value::string("sleep"));
  inst.set_server("host1");
  EXPECT_EQ(*inst.relpath(), "Win32_Process.Handle=\"3236\"");
  EXPECT_EQ(*inst.path(), "\\\\host1\\root\\cimv2:Win32_Process.Handle=\"3236\"");
  EXPECT_EQ(inst.get("__CLASS")->as_string(), "Win32_Process");
  EXPECT_EQ(inst.get("__GENUS")->as_i64(), 2);
  EXPECT_EQ(inst.get("__SUPERCLASS")->as_string(), "CIM_Process");
  EXPECT_EQ(inst.get("__DYNASTY")->as_string(), "CIM_ManagedSystemElement");
  EXPECT_EQ(inst.get("__PROPERTY_COUNT")->as_i64(), 2);
  EXPECT_EQ(inst.get("__DERIVATION")->elements().size(), 3u);
  EXPECT_EQ(inst.get("__NAMESPACE")->as_string(), "root\\cimv2");
  EXPECT_EQ(inst.get("name")->as_string(), "sleep");
  EXPECT_EQ(inst.system_properties().size(), 10u);
}

TEST(Instance, ProjectionWithoutKeyHasNullPath) {
  Instance inst(cim::Schema::builtin().find("Win32_Process"));
  inst.set("Name", Value::string("sleep"));
  ObjectPath id;
  id.class_name = "Win32_Process";
  id.keys.push_back({"Handle", Value::string("42")});
  inst.set_identity(id);
  EXPECT_FALSE(inst.relpath().has_value());
  EXPECT_TRUE(inst.get("__PATH")->is_null());
  EXPECT_TRUE(inst.get("__RELPATH")->is_null());
  EXPECT_FALSE(inst.get("ProcessId").has_value()) << "not in the projection";
  EXPECT_FALSE(inst.get("NoSuchProperty").has_value());
  EXPECT_EQ(inst.identity().keys.size(), 1u) << "identity survives projection";
}

}  // namespace lwmi
