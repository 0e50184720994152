#include "security/account.h"

#include <gtest/gtest.h>

#include <string>

#include "os/testing/fake_accounts.h"
#include "security/testing/fake_pam.h"

namespace lwmi::security {
namespace {

constexpr const char* kShells = "# /etc/shells\n/bin/sh\n/bin/bash\n/usr/bin/bash\n";

TEST(ShellRefusal, LoginShellsPass) {
  EXPECT_EQ(shell_refusal("/bin/bash", kShells), "");
  EXPECT_EQ(shell_refusal("", kShells), "") << "empty means /bin/sh";
  EXPECT_EQ(shell_refusal("/bin/zsh", ""), "") << "no /etc/shells: only nologin/false refused";
}

TEST(ShellRefusal, NologinFalseAndUnlistedAreRefused) {
  EXPECT_EQ(shell_refusal("/usr/sbin/nologin", kShells),
            "the shell /usr/sbin/nologin forbids login");
  EXPECT_EQ(shell_refusal("/sbin/nologin", ""), "the shell /sbin/nologin forbids login");
  EXPECT_EQ(shell_refusal("/bin/false", kShells), "the shell /bin/false forbids login");
  EXPECT_EQ(shell_refusal("/usr/bin/false", ""), "the shell /usr/bin/false forbids login");
  EXPECT_EQ(shell_refusal("/opt/evil", kShells),
            "the shell /opt/evil is not listed in /etc/shells");
  EXPECT_EQ(shell_refusal("/bin/sh ", kShells), "the shell /bin/sh  is not listed in /etc/shells")
      << "no trimming of the passwd field: an exact match only";
}

// The account database and PAM are fakes: no real user is created, no root is needed.
class AccountEnv : public ::testing::Test {
 protected:
  void SetUp() override {
    service_ = "lwmi-acct-" + id_;
    pam_.add_service(service_);
    accounts_.set_login_shells(kShells);
  }
  std::string add(const std::string& tag, const std::string& shell) {
    std::string name = "lwmi-" + tag + "-" + id_;
    accounts_.add_user(name, "Pw-" + id_, shell);
    return name;
  }
  std::string login_refusal(const std::string& user, const std::string& service) {
    return security::login_refusal(accounts_, pam_, user, service);
  }
  std::string id_ = "a1b2c3", service_;
  os::testing::FakeAccounts accounts_;
  security::testing::FakePam pam_{accounts_};
};

TEST_F(AccountEnv, LoginShellMayLogIn) {
  EXPECT_EQ(login_refusal(add("ok", "/bin/bash"), service_), "");
}

TEST_F(AccountEnv, NologinRefused) {
  std::string u = add("nl", "/usr/sbin/nologin");
  EXPECT_EQ(login_refusal(u, service_),
            "account " + u + ": the shell /usr/sbin/nologin forbids login");
}

TEST_F(AccountEnv, LockedRefused) {
  std::string u = add("lk", "/bin/bash");
  accounts_.lock(u);
  EXPECT_EQ(login_refusal(u, service_),
            "account " + u + " is locked (its shadow password starts with '!')");
}

TEST_F(AccountEnv, ExpiredRefusedByPam) {
  std::string u = add("ex", "/bin/bash");
  accounts_.expire(u);
  std::string why = login_refusal(u, service_);
  EXPECT_NE(why.find("may not log in (pam_acct_mgmt, service " + service_), std::string::npos)
      << why;
}

TEST_F(AccountEnv, UnknownRefused) {
  EXPECT_EQ(login_refusal("lwmi-nobody-" + id_, service_),
            "account lwmi-nobody-" + id_ + " does not exist");
  EXPECT_EQ(login_refusal("", service_), "the caller's uid has no account");
}

// A PAM service that cannot start refuses everyone (fails closed).
TEST_F(AccountEnv, PamServiceThatCannotStartRefuses) {
  std::string u = add("ps", "/bin/bash");
  EXPECT_EQ(login_refusal(u, "lwmi-no-such-service"),
            "PAM service lwmi-no-such-service cannot be started");
}

TEST_F(AccountEnv, ShellsComeFromTheAccountDatabase) {
  std::string u = add("sh", "/bin/zsh");
  EXPECT_EQ(login_refusal(u, service_),
            "account " + u + ": the shell /bin/zsh is not listed in /etc/shells");
  accounts_.set_login_shells("");
  EXPECT_EQ(login_refusal(u, service_), "") << "no /etc/shells: only nologin/false refused";
}

}  // namespace
}  // namespace lwmi::security
