#include "lwmi/result.h"

#include <gtest/gtest.h>

namespace lwmi {

TEST(Result, CarriesValueOrError) {
  Result<int> ok = 5;
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 5);
  Result<int> bad(WbemStatus::kNotFound, "no such process");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, WbemStatus::kNotFound);
}

TEST(Result, ErrorFormatsNameAndHex) {
  Error e{WbemStatus::kInvalidObjectPath, "bad"};
  EXPECT_EQ(e.to_string(), "WBEM_E_INVALID_OBJECT_PATH (0x8004103A): bad");
  EXPECT_EQ(wbem_status_name(WbemStatus::kRegistrationTooPrecise),
            "WBEMESS_E_REGISTRATION_TOO_PRECISE");
}

TEST(Result, VoidResult) {
  Result<void> ok;
  EXPECT_TRUE(ok.ok());
  Result<void> bad(WbemStatus::kAccessDenied, "x");
  EXPECT_FALSE(bad.ok());
}

}  // namespace lwmi
