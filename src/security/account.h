// security/account.h — may an account log in? Win32_Process.Create refuses accounts that may not.
//
// DESIGN decision 3: Create (run through lwmid) refuses accounts whose password database entry
// forbids login, as a login would: the account must exist, have a login shell (not nologin or
// false, and listed in /etc/shells when that file exists, as pam_shells checks), a password that
// is not locked ("!" in shadow, as `passwd -l` / `usermod -L` leave it), and PAM account management
// (pam_acct_mgmt with lwmi's service: expiry, access rules) must accept it.
// The account database and PAM are the ones passed in (os::SystemAccounts and SystemPam in
// production; fakes in tests).
// Thread safety: login_refusal() may be called from any thread (PAM transactions are separate).
#pragma once

#include <string>

#include "os/accounts.h"
#include "security/pam.h"

namespace lwmi::security {

/// "" when `user` may log in; otherwise why not, e.g. "account alice has the shell
/// /usr/sbin/nologin, which forbids login". Blocking (PAM): call it from a worker.
std::string login_refusal(const os::Accounts& accounts, Pam& pam, const std::string& user,
                          const std::string& pam_service);

/// The shell part of the rule, for tests: "" when `shell` is a login shell. `shells` is the text
/// of /etc/shells ("" when the file does not exist: then only nologin/false are refused).
std::string shell_refusal(const std::string& shell, const std::string& shells);

}  // namespace lwmi::security
