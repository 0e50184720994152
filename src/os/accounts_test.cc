#include "os/accounts.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "os/testing/fake_accounts.h"

namespace lwmi::os {
namespace {

// The system database, read only: root is in every passwd and group file (no user is created).
TEST(SystemAccounts, FindsRootByNameAndUid) {
  SystemAccounts accounts;
  auto root = accounts.user_named("root");
  ASSERT_TRUE(root.has_value());
  EXPECT_EQ(root->uid, 0u);
  EXPECT_EQ(root->gid, 0u);
  auto by_uid = accounts.user_with_uid(0);
  ASSERT_TRUE(by_uid.has_value());
  EXPECT_EQ(by_uid->name, "root");
  EXPECT_EQ(accounts.group_id("root"), std::optional<gid_t>(0));
  auto groups = accounts.groups_of(*root);
  EXPECT_NE(std::find(groups.begin(), groups.end(), 0u), groups.end()) << "primary included";
}

TEST(SystemAccounts, UnknownNamesAreNone) {
  SystemAccounts accounts;
  int error = -1;
  EXPECT_FALSE(accounts.user_named("lwmi-no-such-user-zz", &error).has_value());
  EXPECT_EQ(error, 0) << "not found is not an error";
  EXPECT_FALSE(accounts.group_id("lwmi-no-such-group-zz").has_value());
  EXPECT_FALSE(accounts.group_id("").has_value()) << "an empty name names no group";
  EXPECT_FALSE(accounts.password_locked("lwmi-no-such-user-zz"));
}

// The stamp is what a credential cache keys on: it must not change while nothing does.
TEST(SystemAccounts, StampIsStableWhileNothingChanges) {
  SystemAccounts accounts;
  EXPECT_EQ(accounts.stamp(), accounts.stamp());
  EXPECT_TRUE(accounts.stamp()[0].exists) << "/etc/passwd";
}

TEST(FakeAccounts, GroupsAndStamp) {
  testing::FakeAccounts accounts;
  const gid_t admins = accounts.add_group("admins");
  accounts.add_user("alice", "pw");
  auto alice = accounts.user_named("alice");
  ASSERT_TRUE(alice.has_value());
  EXPECT_EQ(accounts.groups_of(*alice), std::vector<gid_t>{alice->gid});
  const AccountsStamp before = accounts.stamp();
  accounts.add_member("admins", "alice");
  EXPECT_NE(accounts.stamp(), before) << "every change moves the stamp";
  auto groups = accounts.groups_of(*alice);
  EXPECT_NE(std::find(groups.begin(), groups.end(), admins), groups.end());
  EXPECT_EQ(accounts.user_with_uid(alice->uid)->name, "alice");
}

}  // namespace
}  // namespace lwmi::os
