// Tests only: PAM as pam_unix answers for a FakeAccounts database, without libpam.
//
// Known services are those add_service() named (others fail at pam_start, as a missing
// /etc/pam.d file does). pam_authenticate refuses an unknown user, a wrong or empty password and
// a locked account (bad credentials, as pam_unix says for each); pam_acct_mgmt refuses an
// expired account. The real modules are tested end to end (tests/e2e).
#pragma once

#include <mutex>
#include <set>
#include <string>

#include "base/mutex.h"
#include "os/testing/fake_accounts.h"
#include "security/pam.h"

namespace lwmi::security::testing {

class FakePam final : public Pam {
 public:
  explicit FakePam(const os::testing::FakeAccounts& accounts) : accounts_(accounts) {}

  void add_service(const std::string& name) {
    base::MutexLock lock(mu_);
    services_.insert(name);
  }

  PamResult authenticate(const std::string& service, const std::string& user,
                         const std::string& password, const std::string& /*rhost*/) override {
    PamResult r;
    if (!started(service, &r)) return r;
    r.stage = PamResult::Stage::kAuthenticate;
    auto u = accounts_.user(user);
    if (!u) return bad(r, "User not known to the underlying authentication module");
    if (password.empty() || u->locked || password != u->password)
      return bad(r, "Authentication failure");
    return account_stage(*u, r);
  }

  PamResult check_account(const std::string& service, const std::string& user) override {
    PamResult r;
    if (!started(service, &r)) return r;
    auto u = accounts_.user(user);
    if (!u) {
      r.stage = PamResult::Stage::kAccount;
      r.error = "User not known to the underlying authentication module";
      return r;
    }
    return account_stage(*u, r);
  }

 private:
  bool started(const std::string& service, PamResult* r) {
    base::MutexLock lock(mu_);
    if (services_.contains(service)) return true;
    r->error = "pam_start failed";
    return false;
  }
  static PamResult bad(PamResult r, const char* error) {
    r.bad_credentials = true;
    r.error = error;
    return r;
  }
  static PamResult account_stage(const os::testing::FakeAccounts::User& u, PamResult r) {
    r.stage = PamResult::Stage::kAccount;
    if (u.expired) {
      r.error = "User account has expired";
      return r;
    }
    r.stage = PamResult::Stage::kDone;
    return r;
  }

  const os::testing::FakeAccounts& accounts_;
  base::Mutex mu_;
  std::set<std::string> services_ GUARDED_BY(mu_);
};

}  // namespace lwmi::security::testing
