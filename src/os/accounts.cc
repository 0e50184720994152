// os/accounts.cc — see accounts.h.
#include "os/accounts.h"

#include <grp.h>
#include <pwd.h>
#include <shadow.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "os/descriptors.h"

namespace lwmi::os {
namespace {

// Entries larger than this are not real (a group with tens of thousands of members is 1 MB).
constexpr size_t kMaxBuffer = size_t{4} << 20;

// Runs `call(buf, size)` (a *_r lookup returning 0 or an errno value) with the buffer size
// sysconf suggests for `hint`, doubling it while the entry does not fit.
template <typename Call>
int with_buffer(int hint, std::vector<char>* buf, Call call) {
  long suggested = ::sysconf(hint);
  buf->resize(suggested > 0 ? static_cast<size_t>(suggested) : 16384);
  for (;;) {
    int rc = call(buf->data(), buf->size());
    if (rc != ERANGE || buf->size() >= kMaxBuffer) return rc;
    buf->resize(buf->size() * 2);
  }
}

Account to_account(const struct passwd& pw) {
  Account a;
  a.name = pw.pw_name ? pw.pw_name : "";
  a.uid = pw.pw_uid;
  a.gid = pw.pw_gid;
  a.home = pw.pw_dir ? pw.pw_dir : "";
  a.shell = pw.pw_shell ? pw.pw_shell : "";
  return a;
}

}  // namespace

std::optional<Account> SystemAccounts::user_named(const std::string& name, int* error) const {
  struct passwd pw {};
  struct passwd* res = nullptr;
  std::vector<char> buf;
  int rc = with_buffer(_SC_GETPW_R_SIZE_MAX, &buf, [&](char* b, size_t n) {
    return ::getpwnam_r(name.c_str(), &pw, b, n, &res);
  });
  if (error) *error = rc;
  if (rc != 0 || res == nullptr) return std::nullopt;
  return to_account(pw);
}

std::optional<Account> SystemAccounts::user_with_uid(uid_t uid) const {
  struct passwd pw {};
  struct passwd* res = nullptr;
  std::vector<char> buf;
  int rc = with_buffer(_SC_GETPW_R_SIZE_MAX, &buf,
                       [&](char* b, size_t n) { return ::getpwuid_r(uid, &pw, b, n, &res); });
  if (rc != 0 || res == nullptr) return std::nullopt;
  return to_account(pw);
}

std::optional<gid_t> SystemAccounts::group_id(const std::string& name) const {
  if (name.empty()) return std::nullopt;
  struct group gr {};
  struct group* res = nullptr;
  std::vector<char> buf;
  int rc = with_buffer(_SC_GETGR_R_SIZE_MAX, &buf, [&](char* b, size_t n) {
    return ::getgrnam_r(name.c_str(), &gr, b, n, &res);
  });
  if (rc != 0 || res == nullptr) return std::nullopt;
  return gr.gr_gid;
}

std::vector<gid_t> SystemAccounts::groups_of(const Account& account) const {
  int n = 32;
  std::vector<gid_t> g;
  for (int tries = 0; tries < 8; ++tries) {
    g.resize(static_cast<size_t>(n));
    int count = n;
    if (::getgrouplist(account.name.c_str(), account.gid, g.data(), &count) >= 0) {
      g.resize(static_cast<size_t>(count));
      return g;
    }
    n = std::max(count, n * 2);  // count is how many there are (glibc), or unchanged
  }
  return {account.gid};
}

bool SystemAccounts::password_locked(const std::string& name) const {
  struct spwd sp {};
  struct spwd* res = nullptr;
  std::vector<char> buf;
  int rc = with_buffer(_SC_GETPW_R_SIZE_MAX, &buf, [&](char* b, size_t n) {
    return ::getspnam_r(name.c_str(), &sp, b, n, &res);
  });
  return rc == 0 && res != nullptr && sp.sp_pwdp != nullptr && sp.sp_pwdp[0] == '!';
}

std::string SystemAccounts::login_shells() const {
  std::string text;
  (void)read_file("/etc/shells", &text);  // missing: "", which login rules read as "no list"
  return text;
}

AccountsStamp SystemAccounts::stamp() const {
  static constexpr const char* kFiles[] = {"/etc/passwd", "/etc/shadow", "/etc/group"};
  AccountsStamp s{};
  for (size_t i = 0; i < s.size(); ++i) {
    struct stat st {};
    if (::stat(kFiles[i], &st) != 0) continue;
    s[i].exists = true;
    s[i].ino = static_cast<uint64_t>(st.st_ino);
    s[i].size = static_cast<uint64_t>(st.st_size);
    s[i].mtime_sec = st.st_mtim.tv_sec;
    s[i].mtime_nsec = st.st_mtim.tv_nsec;
  }
  return s;
}

}  // namespace lwmi::os
