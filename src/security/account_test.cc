#include "security/account.h"

#include <gtest/gtest.h>
#include <sys/random.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

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

std::string hex(int n) {
  unsigned char b[8];
  (void)!::getrandom(b, sizeof b, 0);
  std::string s;
  for (int i = 0; i < n; ++i) {
    char x[3];
    std::snprintf(x, sizeof x, "%02x", b[i]);
    s += x;
  }
  return s;
}

bool run(const std::string& cmd) {
  return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0;
}

class AccountEnv : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (creates users and a PAM service)";
    id_ = hex(3);
    service_ = "lwmi-acct-" + id_;
    std::ifstream in(std::string(LWMI_SOURCE_DIR) + "/etc/pam.d/lwmi");
    std::stringstream text;
    text << in.rdbuf();
    ASSERT_FALSE(text.str().empty());
    std::ofstream("/etc/pam.d/" + service_) << text.str();
  }
  void TearDown() override {
    for (const auto& u : users_) run("userdel " + u);
    if (!service_.empty()) std::filesystem::remove("/etc/pam.d/" + service_);
  }
  std::string add(const std::string& tag, const std::string& shell) {
    std::string name = "lwmi-" + tag + "-" + id_;
    EXPECT_TRUE(run("useradd -M -s " + shell + " " + name));
    users_.push_back(name);
    EXPECT_TRUE(run("echo '" + name + ":Pw-" + id_ + "' | chpasswd"));
    return name;
  }
  std::string id_, service_;
  std::vector<std::string> users_;
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
  ASSERT_TRUE(run("usermod -L " + u));
  EXPECT_EQ(login_refusal(u, service_),
            "account " + u + " is locked (its shadow password starts with '!')");
}

TEST_F(AccountEnv, ExpiredRefusedByPam) {
  std::string u = add("ex", "/bin/bash");
  ASSERT_TRUE(run("usermod -e 1 " + u));
  std::string why = login_refusal(u, service_);
  EXPECT_NE(why.find("may not log in (pam_acct_mgmt, service " + service_), std::string::npos)
      << why;
}

TEST_F(AccountEnv, UnknownRefused) {
  EXPECT_EQ(login_refusal("lwmi-nobody-" + id_, service_),
            "account lwmi-nobody-" + id_ + " does not exist");
  EXPECT_EQ(login_refusal("", service_), "the caller's uid has no account");
}

}  // namespace
}  // namespace lwmi::security
