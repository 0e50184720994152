#include "lwmi/method.h"

#include <gtest/gtest.h>

namespace lwmi {
namespace {

TEST(MethodResult, OutParametersAreAParametersInstanceReturnValueFirst) {
  MethodResult r;
  r.return_value = 2;
  r.out.emplace_back("ProcessId", Value::uint32(42));
  r.out.emplace_back("Names", Value::array(CimType::kString, {Value::string("a")}));
  Instance inst = out_parameters(r);
  EXPECT_EQ(inst.class_name(), "__PARAMETERS");
  const auto& props = inst.cls().properties;
  ASSERT_EQ(props.size(), 3u);
  EXPECT_EQ(props[0].name, "ReturnValue");
  EXPECT_EQ(props[0].type, CimType::kUint32);
  EXPECT_EQ(inst.get("ReturnValue")->as_u64(), 2u);
  EXPECT_EQ(props[1].name, "ProcessId");
  EXPECT_EQ(inst.get("ProcessId")->as_u64(), 42u);
  EXPECT_EQ(props[2].type, CimType::kString);
  EXPECT_TRUE(props[2].is_array);
  ASSERT_TRUE(inst.get("Names")->is_array());
}

TEST(MethodResult, NoOutParametersLeavesReturnValueAlone) {
  Instance inst = out_parameters(MethodResult{});
  ASSERT_EQ(inst.cls().properties.size(), 1u);
  EXPECT_EQ(inst.get("ReturnValue")->as_u64(), 0u);
}

}  // namespace
}  // namespace lwmi
