// security/account.cc — see account.h.
#include "security/account.h"

#include "base/strings.h"

namespace lwmi::security {

std::string shell_refusal(const std::string& shell_in, const std::string& shells) {
  const std::string shell = shell_in.empty() ? "/bin/sh" : shell_in;  // passwd(5): empty = sh
  auto slash = shell.rfind('/');
  std::string base = slash == std::string::npos ? shell : shell.substr(slash + 1);
  if (base == "nologin" || base == "false") return "the shell " + shell + " forbids login";
  if (!shells.empty()) {
    for (auto line : base::split(shells, '\n')) {
      auto t = base::trim(line);
      if (!t.empty() && t.front() != '#' && t == shell) return "";
    }
    return "the shell " + shell + " is not listed in /etc/shells";
  }
  return "";
}

std::string login_refusal(const os::Accounts& accounts, Pam& pam, const std::string& user,
                          const std::string& pam_service) {
  if (user.empty()) return "the caller's uid has no account";
  auto account = accounts.user_named(user);
  if (!account) return "account " + user + " does not exist";
  if (auto why = shell_refusal(account->shell, accounts.login_shells()); !why.empty())
    return "account " + user + ": " + why;
  if (accounts.password_locked(user))
    return "account " + user + " is locked (its shadow password starts with '!')";

  const PamResult r = pam.check_account(pam_service, user);
  if (r.stage == PamResult::Stage::kStart)
    return "PAM service " + pam_service + " cannot be started";
  // A password that must be changed still lets the account log in (to change it).
  if (r.stage != PamResult::Stage::kDone && !r.new_password_required)
    return "account " + user + " may not log in (pam_acct_mgmt, service " + pam_service + ": " +
           r.error + ")";
  return "";
}

}  // namespace lwmi::security
