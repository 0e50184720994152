#include "lwmi/services.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace lwmi {

TEST(Locator, ConnectsLocallyEmbedded) {
  auto s = Locator::connect();
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  EXPECT_TRUE((*s)->embedded());
  auto me = (*s)->get_object("Win32_Process.Handle=\"" + std::to_string(::getpid()) + "\"",
                             {"Name", "ProcessId"});
  ASSERT_TRUE(me.ok()) << me.error().to_string();
  EXPECT_EQ(me->get("ProcessId")->as_u64(), static_cast<uint64_t>(::getpid()));
  EXPECT_EQ(me->property_count(), 2u);
}

TEST(Locator, RefusesWhatItCannotDo) {
  ConnectOptions o;
  o.user = "alice";
  auto r = Locator::connect(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, WbemStatus::kLocalCredentials);
  ConnectOptions ns;
  ns.namespace_path = "root\\default";
  EXPECT_EQ(Locator::connect(ns).error().code, WbemStatus::kInvalidNamespace);
  ConnectOptions cfg;
  cfg.config_path = "/nonexistent/lwmid.conf";
  auto c = Locator::connect(cfg);
  ASSERT_FALSE(c.ok()) << "an explicit config file must exist";
}

TEST(Privileges, EnableNeedsHolding) {
  auto s = Locator::connect();
  ASSERT_TRUE(s.ok());
  auto unknown = (*s)->privileges().enable("SeTcbPrivilege");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, WbemStatus::kInvalidParameter);
  auto debug = (*s)->privileges().enable("SeDebugPrivilege");
  if (::geteuid() == 0)
    EXPECT_TRUE(debug.ok());
  else
    EXPECT_EQ(debug.error().code, WbemStatus::kPrivilegeNotHeld);
}

}  // namespace lwmi
