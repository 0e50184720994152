#include "lwmi/value.h"

#include <gtest/gtest.h>

namespace lwmi {

TEST(Value, DefaultIsUntypedNull) {
  Value v;
  EXPECT_TRUE(v.is_null());
  EXPECT_EQ(v.to_text(), "");
}

TEST(Value, NullKeepsItsType) {
  Value v = Value::null(CimType::kUint32);
  EXPECT_TRUE(v.is_null());
  EXPECT_EQ(v.type(), CimType::kUint32);
  EXPECT_NE(v, Value::uint32(0));
  EXPECT_NE(Value::null(CimType::kString), Value::string(""));
}

TEST(Value, IntegersKeepWidth) {
  EXPECT_EQ(Value::uint32(7).type(), CimType::kUint32);
  EXPECT_EQ(Value::uint64(UINT64_MAX).to_text(), "18446744073709551615");
  EXPECT_EQ(Value::sint32(-5).to_text(), "-5");
  EXPECT_FALSE(Value::integer(CimType::kUint8, 256).has_value());
  EXPECT_FALSE(Value::integer(CimType::kUint32, -1).has_value());
  EXPECT_TRUE(Value::integer(CimType::kSint8, -128).has_value());
  EXPECT_FALSE(Value::integer_unsigned(CimType::kSint64, UINT64_MAX).has_value());
}

TEST(Value, FromText) {
  EXPECT_EQ(*Value::from_text(CimType::kUint32, "4294967295"), Value::uint32(4294967295u));
  EXPECT_FALSE(Value::from_text(CimType::kUint32, "4294967296").has_value());
  EXPECT_FALSE(Value::from_text(CimType::kUint32, "12x").has_value());
  EXPECT_FALSE(Value::from_text(CimType::kUint32, "").has_value());
  EXPECT_EQ(*Value::from_text(CimType::kSint32, "-12"), Value::sint32(-12));
  EXPECT_EQ(*Value::from_text(CimType::kBoolean, "true"), Value::boolean(true));
  EXPECT_EQ(*Value::from_text(CimType::kBoolean, "FALSE"), Value::boolean(false));
  EXPECT_FALSE(Value::from_text(CimType::kBoolean, "yes").has_value());
  EXPECT_DOUBLE_EQ(Value::from_text(CimType::kReal64, "1.5")->as_real(), 1.5);
  EXPECT_FALSE(Value::from_text(CimType::kReal64, "1.5z").has_value());
  EXPECT_EQ(Value::from_text(CimType::kString, "x y")->as_string(), "x y");
}

TEST(Value, ArraysAndText) {
  Value a = Value::array(CimType::kString, {Value::string("a"), Value::string("b")});
  EXPECT_TRUE(a.is_array());
  EXPECT_EQ(a.to_text(), "{a,b}");
  EXPECT_EQ(Value::boolean(true).to_text(), "TRUE");
}

TEST(Value, TypeNames) {
  EXPECT_EQ(cim_type_name(CimType::kUint64), "uint64");
  EXPECT_EQ(parse_cim_type("DATETIME"), CimType::kDatetime);
  EXPECT_EQ(parse_cim_type("nonsense"), std::nullopt);
}

}  // namespace lwmi
