// security/account.cc — see account.h.
#include "security/account.h"

#include <pwd.h>
#include <security/pam_appl.h>
#include <shadow.h>

#include <cerrno>
#include <vector>

#include "base/strings.h"
#include "os/descriptors.h"

namespace lwmi::security {
namespace {

extern "C" int lwmi_account_conv(int, const struct pam_message**, struct pam_response**, void*) {
  return PAM_CONV_ERR;  // account management asks nothing; a module that asks gets no answer
}
extern "C" void lwmi_account_no_delay(int, unsigned, void*) {}

}  // namespace

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

std::string login_refusal(const std::string& user, const std::string& pam_service) {
  if (user.empty()) return "the caller's uid has no account";
  std::vector<char> buf(16384);
  struct passwd pw {};
  struct passwd* res = nullptr;
  if (::getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &res) != 0 || res == nullptr)
    return "account " + user + " does not exist";
  std::string shells;
  (void)os::read_file("/etc/shells", &shells);  // missing: empty, as before
  if (auto why = shell_refusal(pw.pw_shell ? pw.pw_shell : "", shells); !why.empty())
    return "account " + user + ": " + why;

  std::vector<char> sbuf(16384);
  struct spwd sp {};
  struct spwd* sres = nullptr;
  if (::getspnam_r(user.c_str(), &sp, sbuf.data(), sbuf.size(), &sres) == 0 && sres && sp.sp_pwdp &&
      sp.sp_pwdp[0] == '!')
    return "account " + user + " is locked (its shadow password starts with '!')";

  const struct pam_conv conv { lwmi_account_conv, nullptr };
  pam_handle_t* pamh = nullptr;
  int rc = ::pam_start(pam_service.c_str(), user.c_str(), &conv, &pamh);
  if (rc != PAM_SUCCESS || pamh == nullptr) {
    if (pamh) ::pam_end(pamh, rc);
    return "PAM service " + pam_service + " cannot be started";
  }
  void (*delay_fn)(int, unsigned, void*) = lwmi_account_no_delay;
  ::pam_set_item(pamh, PAM_FAIL_DELAY, reinterpret_cast<const void*>(delay_fn));
  rc = ::pam_acct_mgmt(pamh, PAM_SILENT);
  std::string why;
  // A password that must be changed still lets the account log in (to change it).
  if (rc != PAM_SUCCESS && rc != PAM_NEW_AUTHTOK_REQD)
    why = "account " + user + " may not log in (pam_acct_mgmt, service " + pam_service + ": " +
          ::pam_strerror(pamh, rc) + ")";
  ::pam_end(pamh, rc);
  return why;
}

}  // namespace lwmi::security
