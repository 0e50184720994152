// Tests only: an account database in memory, so tests of account and group rules need no root,
// create no real users and may run in parallel.
//
// Beside the passwd and group data it keeps what a shadow entry says (password, locked,
// expired), for security::testing::FakePam. Every change moves stamp(), as an edit of
// /etc/passwd, /etc/shadow or /etc/group would.
#pragma once

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "os/accounts.h"

namespace lwmi::os::testing {

class FakeAccounts final : public Accounts {
 public:
  struct User {
    Account account;
    std::string password;
    bool locked = false;
    bool expired = false;
  };

  /// Adds a group; returns its gid.
  gid_t add_group(const std::string& name) {
    base::MutexLock lock(mu_);
    const gid_t gid = next_id_++;
    groups_[name] = Group{gid, {}};
    ++generation_;
    return gid;
  }
  /// Adds a user with its own primary group (as useradd does); returns its uid.
  uid_t add_user(const std::string& name, const std::string& password,
                 const std::string& shell = "/bin/bash") {
    const gid_t primary = add_group(name);
    base::MutexLock lock(mu_);
    User u;
    u.account = Account{name, next_id_++, primary, "/home/" + name, shell};
    u.password = password;
    users_[name] = u;
    ++generation_;
    return u.account.uid;
  }
  void add_member(const std::string& group, const std::string& user) {
    base::MutexLock lock(mu_);
    groups_.at(group).members.insert(user);
    ++generation_;
  }
  void remove_member(const std::string& group, const std::string& user) {
    base::MutexLock lock(mu_);
    groups_.at(group).members.erase(user);
    ++generation_;
  }
  void set_password(const std::string& user, const std::string& password) {
    edit(user, [&](User& u) { u.password = password; });
  }
  void lock(const std::string& user) {
    edit(user, [](User& u) { u.locked = true; });
  }
  void expire(const std::string& user) {
    edit(user, [](User& u) { u.expired = true; });
  }
  void set_login_shells(std::string text) {
    base::MutexLock lock(mu_);
    shells_ = std::move(text);
  }
  std::optional<User> user(const std::string& name) const {
    base::MutexLock lock(mu_);
    auto it = users_.find(name);
    if (it == users_.end()) return std::nullopt;
    return it->second;
  }

  using Accounts::user_named;
  std::optional<Account> user_named(const std::string& name, int* error) const override {
    if (error) *error = 0;
    auto u = user(name);
    if (!u) return std::nullopt;
    return u->account;
  }
  std::optional<Account> user_with_uid(uid_t uid) const override {
    base::MutexLock lock(mu_);
    for (const auto& [name, u] : users_)
      if (u.account.uid == uid) return u.account;
    return std::nullopt;
  }
  std::optional<gid_t> group_id(const std::string& name) const override {
    base::MutexLock lock(mu_);
    auto it = groups_.find(name);
    if (it == groups_.end()) return std::nullopt;
    return it->second.gid;
  }
  std::vector<gid_t> groups_of(const Account& account) const override {
    base::MutexLock lock(mu_);
    std::vector<gid_t> out{account.gid};
    for (const auto& [name, g] : groups_)
      if (g.members.contains(account.name) && g.gid != account.gid) out.push_back(g.gid);
    return out;
  }
  bool password_locked(const std::string& name) const override {
    auto u = user(name);
    return u && u->locked;
  }
  std::string login_shells() const override {
    base::MutexLock lock(mu_);
    return shells_;
  }
  AccountsStamp stamp() const override {
    base::MutexLock lock(mu_);
    AccountsStamp s{};
    s[0].exists = true;
    s[0].mtime_nsec = generation_;
    return s;
  }

 private:
  struct Group {
    gid_t gid = 0;
    std::set<std::string> members;
  };
  template <typename F>
  void edit(const std::string& user, F f) {
    base::MutexLock lock(mu_);
    f(users_.at(user));
    ++generation_;
  }

  mutable base::Mutex mu_;
  std::map<std::string, User> users_ GUARDED_BY(mu_);
  std::map<std::string, Group> groups_ GUARDED_BY(mu_);
  std::string shells_ = "/bin/sh\n/bin/bash\n/usr/bin/bash\n";
  uint32_t next_id_ = 20000;
  int64_t generation_ GUARDED_BY(mu_) = 0;
};

}  // namespace lwmi::os::testing
