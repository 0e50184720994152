// security/pam.h — PAM behind a seam: the two conversations lwmi has with it.
//
// SystemPam is the real one (libpam, a service from /etc/pam.d); tests use
// security/testing/fake_pam.h, and the real modules are exercised end to end (tests/e2e). Both
// conversations switch pam_unix's own failure delay off (a PAM_FAIL_DELAY callback): lwmi delays
// refusals on its own timer, without holding a worker (DESIGN decision 2).
// Thread safety: each call is its own PAM transaction; any number may run at once.
#pragma once

#include <string>

namespace lwmi::security {

/// How far a PAM conversation got, and why it stopped.
struct PamResult {
  enum class Stage {
    kStart,         ///< pam_start failed (no such service, libpam broken)
    kAuthenticate,  ///< pam_authenticate refused
    kAccount,       ///< pam_acct_mgmt refused (expired, access rules…)
    kDone,          ///< every step accepted
  };
  Stage stage = Stage::kStart;
  /// pam_authenticate said the user or the password is wrong (PAM_AUTH_ERR, PAM_USER_UNKNOWN),
  /// rather than some other failure.
  bool bad_credentials = false;
  /// pam_acct_mgmt asked for a new password (PAM_NEW_AUTHTOK_REQD): the account may log in, to
  /// change it.
  bool new_password_required = false;
  std::string error;  ///< pam_strerror of the failure ("pam_start failed" at kStart)
};

class Pam {
 public:
  virtual ~Pam() = default;
  /// pam_authenticate (PAM_DISALLOW_NULL_AUTHTOK) then pam_acct_mgmt for `user` with
  /// `password`, under `service`; PAM_RHOST is `rhost` when not empty. Blocking.
  virtual PamResult authenticate(const std::string& service, const std::string& user,
                                 const std::string& password, const std::string& rhost) = 0;
  /// pam_acct_mgmt alone: may `user` log in now (expiry, access rules)? Asks nothing. Blocking.
  virtual PamResult check_account(const std::string& service, const std::string& user) = 0;
};

/// libpam.
class SystemPam final : public Pam {
 public:
  PamResult authenticate(const std::string& service, const std::string& user,
                         const std::string& password, const std::string& rhost) override;
  PamResult check_account(const std::string& service, const std::string& user) override;
};

}  // namespace lwmi::security
