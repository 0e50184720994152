// os/pid_namespace.h — pids as a process in a child pid namespace knows them.
//
// A caller in a container that reaches lwmid through a mounted socket lives in a child pid
// namespace: it may see and act only on the processes of its own namespace (and of namespaces
// nested in it), by the pids it knows. The kernel gives every process one pid per namespace level
// (the NSpid line of /proc/PID/status, outermost first, as read through the reader's /proc); a
// namespace is named by the inode of /proc/PID/ns/pid ("pid:[4026532301]").
//
// PidView translates both ways: host pid → pid in the view (nullopt when the process is outside
// the namespace), and a pid the caller names → host pid (a scan of /proc; nullopt when the caller's
// namespace has no such pid — a host pid named from inside is "not found", never the host's).
// Membership of a process in a namespace nested deeper than the caller's is checked with
// NS_GET_PARENT on the live /proc; where that cannot be asked (a captured tree), it is refused.
// Thread safety: a PidView is read-only after construction and safe to share.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "os/proc_fs.h"

namespace lwmi::os {

/// A pid namespace seen from the reader's /proc: its inode, and its depth below the namespace of
/// the reader's /proc (the index of the pid it gives a process in NSpid).
struct PidNamespaceId {
  uint64_t inode = 0;
  uint32_t level = 0;
  bool operator==(const PidNamespaceId&) const = default;
};

/// The NSpid line of a /proc/PID/status text ("NSpid:\t4242\t7\t1"): pids outermost first;
/// empty when there is no such line or it is malformed.
std::vector<int32_t> parse_nspid(std::string_view status_text);
/// The inode in a namespace link's text "pid:[4026531836]"; nullopt when malformed.
std::optional<uint64_t> parse_ns_link(std::string_view link);

/// The pid namespace of process `pid` as read through `fs`: its inode and level (NSpid length - 1).
/// nullopt when the process is gone or the files are unreadable.
std::optional<PidNamespaceId> pid_namespace_of(const ProcFs& fs, int32_t pid);

/// True when this process runs in the initial pid namespace (host pids: what the kernel's BPF
/// records, rules and the netlink connector speak of), and likewise the initial user
/// namespace. Both true when it cannot tell (then the kernel decides). The initial namespaces
/// have fixed nsfs inode numbers (PROC_PID_INIT_INO, PROC_USER_INIT_INO).
bool in_initial_pid_namespace();
bool in_initial_user_namespace();

class PidView {
 public:
  /// The view of namespace `ns`, read through `fs` (which must outlive the view).
  PidView(const ProcFs* fs, PidNamespaceId ns) : fs_(fs), ns_(ns) {}

  const PidNamespaceId& ns() const { return ns_; }
  /// The pid of `host_pid` in the view, given its NSpid list; nullopt when it is outside.
  std::optional<int32_t> to_view(int32_t host_pid, const std::vector<int32_t>& nspid) const;
  /// Same, reading the process's status.
  std::optional<int32_t> to_view(int32_t host_pid) const;
  /// The host pid of the process the view calls `view_pid`; nullopt when there is none.
  std::optional<int32_t> to_host(int32_t view_pid) const;

 private:
  // True when the namespace `up` levels above host_pid's own is ns_ (up = 0: its own).
  bool ancestor_is_view(int32_t host_pid, uint32_t up) const;

  const ProcFs* fs_;
  PidNamespaceId ns_;
};

}  // namespace lwmi::os
