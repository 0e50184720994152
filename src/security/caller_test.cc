#include "security/caller.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace lwmi::security {

TEST(Privilege, NamesParseBothForms) {
  EXPECT_EQ(parse_privilege("sedebugprivilege"), Privilege::kDebug);
  EXPECT_EQ(parse_privilege("Debug"), Privilege::kDebug);
  EXPECT_EQ(parse_privilege("SeIncreaseBasePriorityPrivilege"), Privilege::kIncreaseBasePriority);
  EXPECT_EQ(parse_privilege("SeBackupPrivilege"), std::nullopt);
  EXPECT_EQ(privilege_name(Privilege::kDebug), "SeDebugPrivilege");
}

TEST(Caller, EnablingNeedsHolding) {
  Caller c;
  EXPECT_FALSE(c.enable(Privilege::kDebug));
  EXPECT_FALSE(c.can(Privilege::kDebug));
  c.held.add(Privilege::kDebug);
  EXPECT_FALSE(c.can(Privilege::kDebug)) << "held but not enabled";
  EXPECT_TRUE(c.enable(Privilege::kDebug));
  EXPECT_TRUE(c.can(Privilege::kDebug));
}

TEST(Caller, CurrentProcessIdentity) {
  Caller c = Caller::current_process();
  EXPECT_EQ(c.uid, ::getuid());
  EXPECT_EQ(c.pid, ::getpid());
  EXPECT_TRUE(c.embedded);
  EXPECT_TRUE(c.enabled.empty()) << "nothing is enabled by default";
  if (::geteuid() == 0) EXPECT_TRUE(c.held.has(Privilege::kDebug));
}

}  // namespace lwmi::security
