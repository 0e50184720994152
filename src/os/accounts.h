// os/accounts.h — the account database (passwd, group, shadow, /etc/shells) behind one seam.
//
// Every lookup of a user or a group goes through Accounts, so that one buffer policy applies
// everywhere (the size sysconf suggests, doubled on ERANGE up to a bound) and so that tests run
// against a fake database (os/testing/fake_accounts.h) instead of creating real users: they need
// no root and may run in parallel. SystemAccounts is the real one; it holds no state, and the
// code that needs one is handed it (lwmid's main, the embedded engine), never a global.
// Thread safety: every method of SystemAccounts may be called from any thread (the _r functions);
// an Accounts implementation must be as safe. Lookups block on NSS: not on an I/O thread.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lwmi::os {

/// An account's passwd(5) entry, the fields lwmi uses.
struct Account {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;  ///< primary group
  std::string home;
  std::string shell;  ///< as written ("" means /bin/sh, passwd(5))
};

/// What changes when the database changes: (inode, size, mtime) of /etc/passwd, /etc/shadow and
/// /etc/group. Equal stamps: nothing the database answers has changed (what a cache keys on).
struct FileStamp {
  uint64_t ino = 0, size = 0;
  int64_t mtime_sec = 0, mtime_nsec = 0;
  bool exists = false;
  bool operator==(const FileStamp&) const = default;
};
using AccountsStamp = std::array<FileStamp, 3>;

class Accounts {
 public:
  virtual ~Accounts() = default;

  /// The account named `name`; nullopt when there is none or the lookup failed. `*error` (when
  /// given) gets the errno value of a failed lookup, 0 for "no such account".
  virtual std::optional<Account> user_named(const std::string& name, int* error) const = 0;
  std::optional<Account> user_named(const std::string& name) const {
    return user_named(name, nullptr);
  }
  virtual std::optional<Account> user_with_uid(uid_t uid) const = 0;
  /// The gid of group `name`; nullopt when there is none ("" names none).
  virtual std::optional<gid_t> group_id(const std::string& name) const = 0;
  /// Every group `account` belongs to, its primary group included (getgrouplist).
  virtual std::vector<gid_t> groups_of(const Account& account) const = 0;
  /// True when the shadow entry of `name` holds a locked password ('!' first, as `passwd -l`
  /// and `usermod -L` leave it); false when it does not or cannot be read.
  virtual bool password_locked(const std::string& name) const = 0;
  /// The text of /etc/shells; "" when the file does not exist.
  virtual std::string login_shells() const = 0;
  virtual AccountsStamp stamp() const = 0;
};

/// The system's database, through NSS (getpwnam_r, getgrnam_r, getgrouplist, getspnam_r).
class SystemAccounts final : public Accounts {
 public:
  using Accounts::user_named;
  std::optional<Account> user_named(const std::string& name, int* error) const override;
  std::optional<Account> user_with_uid(uid_t uid) const override;
  std::optional<gid_t> group_id(const std::string& name) const override;
  std::vector<gid_t> groups_of(const Account& account) const override;
  bool password_locked(const std::string& name) const override;
  std::string login_shells() const override;
  AccountsStamp stamp() const override;
};

}  // namespace lwmi::os
