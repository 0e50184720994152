#include "security/caller.h"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "base/strings.h"

namespace lwmi::security {
namespace {

bool has_effective_cap(int cap) {
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {};
  if (::syscall(SYS_capget, &hdr, data) != 0) return false;
  return (data[cap / 32].effective & (1u << (cap % 32))) != 0;
}

}  // namespace

std::string_view privilege_name(Privilege p) {
  switch (p) {
    case Privilege::kDebug:
      return "SeDebugPrivilege";
    case Privilege::kIncreaseBasePriority:
      return "SeIncreaseBasePriorityPrivilege";
  }
  return "";
}

std::optional<Privilege> parse_privilege(std::string_view name) {
  if (base::iequals(name, "SeDebugPrivilege") || base::iequals(name, "Debug"))
    return Privilege::kDebug;
  if (base::iequals(name, "SeIncreaseBasePriorityPrivilege") ||
      base::iequals(name, "IncreaseBasePriority"))
    return Privilege::kIncreaseBasePriority;
  return std::nullopt;
}

std::optional<Privilege> Caller::privilege_lost_since(const Caller& opener) const {
  for (Privilege p : kPrivileges)
    if (opener.can(p) && !held.has(p)) return p;
  return std::nullopt;
}

std::string Caller::view_key() const {
  std::string key = std::to_string(uid) + "/" + std::to_string(euid) + "/";
  for (Privilege p : kPrivileges) key += can(p) ? '1' : '0';
  if (nowhere())
    key += "/nowhere";
  else if (pid_ns)
    key += "/pidns:" + std::to_string(pid_ns->inode) + ":" + std::to_string(pid_ns->level);
  else
    key += "/host";
  return key;
}

bool Caller::enable(Privilege p) {
  if (!held.has(p)) return false;
  enabled.add(p);
  return true;
}

PrivilegeSet held_privileges(const os::Accounts& accounts, uid_t uid,
                             const std::vector<gid_t>& groups, const std::string& admin_group) {
  PrivilegeSet held;
  bool admin = uid == 0;
  if (!admin) {
    auto admins = accounts.group_id(admin_group);
    admin = admins && std::find(groups.begin(), groups.end(), *admins) != groups.end();
  }
  if (admin) {
    held.add(Privilege::kDebug);
    held.add(Privilege::kIncreaseBasePriority);
  }
  return held;
}

PrivilegeSet held_privileges(const os::Accounts& accounts, uid_t uid,
                             const std::string& admin_group) {
  if (uid == 0) return held_privileges(accounts, uid, {}, admin_group);
  auto account = accounts.user_with_uid(uid);
  if (!account) return {};
  return held_privileges(accounts, uid, accounts.groups_of(*account), admin_group);
}

Caller Caller::current_process() {
  return current_process(os::SystemAccounts());
}

Caller Caller::current_process(const os::Accounts& accounts) {
  Caller c;
  uid_t r, e, s;
  ::getresuid(&r, &e, &s);
  c.uid = r;
  c.euid = e;
  c.gid = ::getgid();
  int n = ::getgroups(0, nullptr);
  if (n > 0) {
    c.groups.resize(static_cast<size_t>(n));
    n = ::getgroups(n, c.groups.data());
    c.groups.resize(n > 0 ? static_cast<size_t>(n) : 0);
  }
  c.pid = ::getpid();
  if (auto account = accounts.user_with_uid(r)) c.user = account->name;
  c.peer = "local";
  c.embedded = true;
  if (has_effective_cap(CAP_KILL)) c.held.add(Privilege::kDebug);
  if (has_effective_cap(CAP_SYS_NICE)) c.held.add(Privilege::kIncreaseBasePriority);
  return c;
}

namespace {

Caller::PeerNamespaces read_peer_namespaces(const os::ProcFs& proc, pid_t peer_pid) {
  Caller::PeerNamespaces out;
  // Nothing readable: a namespace no process is in.
  out.pid_ns = Caller::kNowhere;
  if (peer_pid <= 0) return out;
  auto same = [&](const char* ns) {
    std::string a, b;
    return proc.readlink(peer_pid, ns, &a) == 0 && proc.readlink(::getpid(), ns, &b) == 0 &&
           !a.empty() && a == b;
  };
  out.same_user_ns = same("ns/user");
  out.same_mount_ns = same("ns/mnt");
  out.same_net_ns = same("ns/net");
  auto theirs = os::pid_namespace_of(proc, peer_pid);
  auto ours = os::pid_namespace_of(proc, ::getpid());
  if (!theirs || !ours) return out;
  if (*theirs == *ours) {
    out.pid_ns.reset();
  } else if (theirs->level > ours->level) {
    out.pid_ns = theirs;  // a child (SO_PEERCRED gave a pid we can see, so a descendant)
  }
  return out;
}

}  // namespace

bool Caller::is_same_process(const os::ProcFs& proc, pid_t peer_pid, const PeerIdentity& identity) {
  if (peer_pid <= 0) return false;
  if (identity.pidfd >= 0) {
    // The pidfd's fdinfo "Pid:" is the pid in our /proc's namespace while the process lives
    // (unreaped), -1 after: equal to peer_pid only if that pid still names the same process.
    std::string info;
    if (proc.read(::getpid(), ("fdinfo/" + std::to_string(identity.pidfd)).c_str(), &info) != 0)
      return false;
    size_t at = info.find("\nPid:");
    if (at == std::string::npos) return false;
    const char* p = info.c_str() + at + 5;
    char* end = nullptr;
    long v = std::strtol(p, &end, 10);
    return end != p && (*end == '\n' || *end == '\0') && v == peer_pid;
  }
  if (identity.start_ticks != 0) {
    uint64_t ticks = 0;
    return proc.start_ticks(peer_pid, &ticks) == 0 && ticks == identity.start_ticks;
  }
  return false;
}

std::optional<std::vector<gid_t>> Caller::process_groups_of(const os::ProcFs& proc, pid_t pid) {
  std::string status;
  if (pid <= 0 || proc.read(pid, "status", &status) != 0) return std::nullopt;
  size_t at = status.rfind("\nGroups:");
  if (at == std::string::npos) return std::nullopt;
  size_t end = status.find('\n', at + 1);
  std::istringstream line(status.substr(at + 8, end == std::string::npos ? end : end - at - 8));
  std::vector<gid_t> groups;
  for (std::string g; line >> g;) {
    auto v = base::parse_u64(g);
    if (!v || *v > UINT32_MAX) return std::nullopt;
    groups.push_back(static_cast<gid_t>(*v));
  }
  return groups;
}

Caller::PeerNamespaces Caller::peer_namespaces(const os::ProcFs& proc, pid_t peer_pid,
                                               const PeerIdentity* identity) {
  PeerNamespaces out = read_peer_namespaces(proc, peer_pid);
  // Checked after reading: if the pid still names the process that connected now, it did when
  // its namespaces were read (a pid is not freed and handed back to the same process).
  if (identity && !is_same_process(proc, peer_pid, *identity)) {
    out = PeerNamespaces{};
    out.pid_ns = kNowhere;
  }
  return out;
}

}  // namespace lwmi::security
