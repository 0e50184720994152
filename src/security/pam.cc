// security/pam.cc — see pam.h.
#include "security/pam.h"

#include <security/pam_appl.h>

#include <cstdlib>
#include <cstring>

namespace lwmi::security {
namespace {

struct ConvData {
  const std::string* user;
  const std::string* password;  // nullptr: nothing to answer (account management)
};

extern "C" int lwmi_pam_conv(int num_msg, const struct pam_message** msg,
                             struct pam_response** resp, void* appdata) {
  if (num_msg <= 0 || num_msg > PAM_MAX_NUM_MSG || resp == nullptr) return PAM_CONV_ERR;
  auto* data = static_cast<ConvData*>(appdata);
  // Account management asks nothing; a module that asks gets no answer.
  if (data == nullptr || data->password == nullptr) return PAM_CONV_ERR;
  auto* r = static_cast<pam_response*>(std::calloc(static_cast<size_t>(num_msg), sizeof **resp));
  if (r == nullptr) return PAM_BUF_ERR;
  auto fail = [&](int code) {
    for (int j = 0; j < num_msg; ++j) {
      if (r[j].resp != nullptr) {
        std::memset(r[j].resp, 0, std::strlen(r[j].resp));
        std::free(r[j].resp);
      }
    }
    std::free(r);
    return code;
  };
  for (int i = 0; i < num_msg; ++i) {
    switch (msg[i]->msg_style) {
      case PAM_PROMPT_ECHO_OFF:
        r[i].resp = ::strdup(data->password->c_str());
        if (r[i].resp == nullptr) return fail(PAM_BUF_ERR);
        break;
      case PAM_PROMPT_ECHO_ON:  // a module asking for the user name again
        r[i].resp = ::strdup(data->user->c_str());
        if (r[i].resp == nullptr) return fail(PAM_BUF_ERR);
        break;
      case PAM_ERROR_MSG:
      case PAM_TEXT_INFO:
        break;
      default:
        return fail(PAM_CONV_ERR);
    }
  }
  *resp = r;
  return PAM_SUCCESS;
}

// Replaces pam_unix's ~2 s sleep after a failure: lwmi delays the 401 on its own timer.
extern "C" void lwmi_pam_no_delay(int, unsigned, void*) {}

// Runs pam_start, then (with a password) pam_authenticate, then pam_acct_mgmt.
PamResult converse(const std::string& service, const std::string& user, const std::string* password,
                   const std::string& rhost) {
  ConvData data{&user, password};
  const struct pam_conv conv { lwmi_pam_conv, &data };
  pam_handle_t* pamh = nullptr;
  PamResult out;
  int rc = ::pam_start(service.c_str(), user.c_str(), &conv, &pamh);
  if (rc != PAM_SUCCESS || pamh == nullptr) {
    out.error = "pam_start failed";
    if (pamh != nullptr) ::pam_end(pamh, rc);
    return out;
  }
  void (*delay_fn)(int, unsigned, void*) = lwmi_pam_no_delay;
  ::pam_set_item(pamh, PAM_FAIL_DELAY, reinterpret_cast<const void*>(delay_fn));
  if (!rhost.empty()) ::pam_set_item(pamh, PAM_RHOST, rhost.c_str());
  if (password != nullptr) {
    out.stage = PamResult::Stage::kAuthenticate;
    rc = ::pam_authenticate(pamh, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
    out.bad_credentials = rc == PAM_AUTH_ERR || rc == PAM_USER_UNKNOWN;
  }
  if (rc == PAM_SUCCESS) {
    out.stage = PamResult::Stage::kAccount;
    rc = ::pam_acct_mgmt(pamh, PAM_SILENT);
    out.new_password_required = rc == PAM_NEW_AUTHTOK_REQD;
    if (rc == PAM_SUCCESS) out.stage = PamResult::Stage::kDone;
  }
  if (rc != PAM_SUCCESS) out.error = ::pam_strerror(pamh, rc);
  ::pam_end(pamh, rc);
  return out;
}

}  // namespace

PamResult SystemPam::authenticate(const std::string& service, const std::string& user,
                                  const std::string& password, const std::string& rhost) {
  return converse(service, user, &password, rhost);
}

PamResult SystemPam::check_account(const std::string& service, const std::string& user) {
  return converse(service, user, nullptr, "");
}

}  // namespace lwmi::security
