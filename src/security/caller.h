// security/caller.h — who is asking: identity, peer, and WMI-style privileges (held / enabled).
//
// Every provider call receives the Caller. In embedded mode it is the current process's own
// credentials; in lwmid it comes from the transport (SO_PEERCRED, or the PAM-checked user).
// A privilege must be held AND enabled to count, as in WMI: enabling one not held changes nothing.
// Thread safety: plain value.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "os/accounts.h"
#include "os/pid_namespace.h"

namespace lwmi::security {

/// The Windows privileges lwmi maps to Linux rights.
enum class Privilege : uint8_t {
  kDebug,                 ///< SeDebugPrivilege: act on / read other users' processes
  kIncreaseBasePriority,  ///< SeIncreaseBasePriorityPrivilege: raise priority (CAP_SYS_NICE)
};
/// Every privilege, for what goes through them all.
inline constexpr Privilege kPrivileges[] = {Privilege::kDebug, Privilege::kIncreaseBasePriority};

/// "SeDebugPrivilege"…
std::string_view privilege_name(Privilege p);
/// Accepts "SeDebugPrivilege", "Debug", case-insensitive; nullopt when unknown.
std::optional<Privilege> parse_privilege(std::string_view name);

/// A small set of privileges.
class PrivilegeSet {
 public:
  void add(Privilege p) { bits_ |= bit(p); }
  void remove(Privilege p) { bits_ &= ~bit(p); }
  bool has(Privilege p) const { return (bits_ & bit(p)) != 0; }
  bool empty() const { return bits_ == 0; }

 private:
  static uint32_t bit(Privilege p) { return 1u << static_cast<unsigned>(p); }
  uint32_t bits_ = 0;
};

/// Who holds SeDebugPrivilege and SeIncreaseBasePriorityPrivilege in lwmid (DESIGN decision 3):
/// uid 0, or a member of `admin_group` (its gid read afresh: a removal takes effect at once);
/// anyone else none. `groups`: every group of the caller, its primary one included. The one
/// place this is decided (local peers, remote logins, rights re-checked on later requests);
/// the embedded engine's rule (the caller's own capabilities) is Caller::current_process's.
/// Blocking (NSS): not on an I/O thread.
PrivilegeSet held_privileges(const os::Accounts& accounts, uid_t uid,
                             const std::vector<gid_t>& groups, const std::string& admin_group);
/// The same for `uid`, its groups read from the account database (none when it has no entry).
PrivilegeSet held_privileges(const os::Accounts& accounts, uid_t uid,
                             const std::string& admin_group);

struct Caller {
  uid_t uid = 0;   ///< real uid (the identity kill(2)'s rule compares)
  uid_t euid = 0;  ///< effective uid
  gid_t gid = 0;
  std::vector<gid_t> groups;   ///< supplementary groups
  pid_t pid = 0;               ///< the client process, when local
  std::string user;            ///< account name ("" when the uid has none)
  std::string peer = "local";  ///< "local", "unix:pid=123", "https:[::1]:5000"…
  bool embedded = true;        ///< running the engine in the client's own process
  bool remote = false;
  PrivilegeSet held;
  PrivilegeSet enabled;  ///< requested; counts only where also held
  /// Set when the caller lives in another pid namespace than lwmid's (a container on a mounted
  /// socket): it sees and acts only on processes of that namespace (and namespaces nested in
  /// it), by the pids it knows there. Such a caller holds no privilege. kNowhere: a peer whose
  /// process is gone (or unreadable) — no process is in it, so it sees nothing.
  std::optional<os::PidNamespaceId> pid_ns;
  /// A local peer outside lwmid's user, mount or network namespace (or nowhere): a process
  /// lwmid created for it would escape its sandbox, so Create is refused.
  bool sandboxed = false;
  /// A local peer's own supplementary groups (/proc/PID/status), when read: a process lwmid
  /// creates for it gets no group the caller's process does not have (it may have dropped some).
  std::optional<std::vector<gid_t>> process_groups;

  /// The pid namespace of a caller that is nowhere: no pid can reach its level.
  static constexpr os::PidNamespaceId kNowhere{0, UINT32_MAX};
  bool nowhere() const { return pid_ns && *pid_ns == kNowhere; }

  /// True when `p` is held and enabled.
  bool can(Privilege p) const { return held.has(p) && enabled.has(p); }

  /// Whose an enumeration context or an event subscription is (DESIGN decision 10): the uid and
  /// where the caller lives — lwmid's pid namespace, a child one, or nowhere (which equals no
  /// real place; two nowhere callers of one uid are one owner, and both see nothing). Checked,
  /// the same way for both, on every request that uses one.
  struct Owner {
    uid_t uid = 0;
    std::optional<os::PidNamespaceId> pid_ns;
    bool operator==(const Owner&) const = default;
  };
  Owner owner() const { return Owner{uid, pid_ns}; }

  /// A privilege `opener` had enabled that this caller (the same owner, on a later request) no
  /// longer holds — e.g. an admin since removed from admin_group: what was opened with it must
  /// not go on delivering (DESIGN decision 10). nullopt when every one is still held; enabling
  /// is per request, so only holding is required.
  std::optional<Privilege> privilege_lost_since(const Caller& opener) const;

  /// Everything about the caller that shapes what it is shown (uid, euid, each privilege held
  /// and enabled, pid namespace or nowhere): callers with equal keys see the same rows and
  /// values, so they may share what was read for one (the event snapshots). A nowhere caller's
  /// key equals no key of a caller somewhere.
  std::string view_key() const;

  /// Requests `p`; returns false (and changes nothing) when it is not held.
  bool enable(Privilege p);

  /// The current process: real/effective ids, groups, and privileges held by its capabilities
  /// (CAP_KILL → SeDebugPrivilege, CAP_SYS_NICE → SeIncreaseBasePriorityPrivilege), none enabled.
  /// The account name comes from `accounts`; current_process() reads the system's.
  static Caller current_process(const os::Accounts& accounts);
  static Caller current_process();

  /// Where a local peer (its pid from SO_PEERCRED, as lwmid's /proc numbers it) lives, compared
  /// with this process: same user namespace, and its pid namespace when it is not ours. A peer
  /// whose namespaces cannot be read counts as outside both, seeing nothing (fails closed).
  struct PeerNamespaces {
    bool same_user_ns = false;
    bool same_mount_ns = false;  ///< with same_net_ns: where a created process would live
    bool same_net_ns = false;
    std::optional<os::PidNamespaceId> pid_ns;  ///< nullopt: lwmid's own pid namespace
  };
  /// What names the peer's process beyond its pid (which is reused once the process exits): a
  /// pidfd (SO_PEERPIDFD), or its start time when it connected. With an identity, a peer whose
  /// pid no longer names that process (it exited; its pid may name another now), or with neither
  /// set, is nowhere: no namespace it could be in, no privilege.
  struct PeerIdentity {
    int pidfd = -1;
    uint64_t start_ticks = 0;
  };
  static PeerNamespaces peer_namespaces(const os::ProcFs& proc, pid_t peer_pid,
                                        const PeerIdentity* identity = nullptr);
  /// The supplementary groups of process `pid` (the "Groups:" line of its status); nullopt when
  /// unreadable.
  static std::optional<std::vector<gid_t>> process_groups_of(const os::ProcFs& proc, pid_t pid);
  /// True when `peer_pid` still names the process `identity` names.
  static bool is_same_process(const os::ProcFs& proc, pid_t peer_pid, const PeerIdentity& identity);
};

}  // namespace lwmi::security
