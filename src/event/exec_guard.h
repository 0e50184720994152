// event/exec_guard.h — the exec guard's user-space side: which event queries the kernel can
// decide, and the rules a subscription installs for its lifetime.
//
// A `watch … --terminate` whose filter names programs only by Name, ExecutablePath (or a start
// trace's ProcessName) compiles to kernel rule keys (os::GuardKey); the BPF program at exec
// kills a match with SIGKILL before it returns to user space (os/bpf_monitor.h). Any other
// filter is refused here with the reason, and the caller keeps the user-space kill.
//
// Exact spelling: WQL's '=' ignores case, a kernel key does not. The kernel blocks the spelling
// the query wrote ("Name = 'Evil'" blocks a file named Evil, not evil); the user-space filter,
// which the event stream still runs on every event, catches the other spellings after the fact
// (its kill, about a millisecond after the start).
//
// What a rule key means (os/bpf/abi.h):
//   Name = 'x' (ProcessName = 'x')  the file name x, in any directory; and comm x when x has at
//                                   most 15 bytes (comm is the name the program was started
//                                   by: a symlink x to another program, or a script x, which the
//                                   kernel runs as its interpreter).
//   ExecutablePath = '/d/x'         the name x in the directory /d resolves to now (its device
//                                   and inode: a directory replaced later is not followed).
//
// Who may install (the rules of Terminate, DESIGN decision 10): only the admin group — uid 0 and
// members of [security] admin_group in lwmid's namespaces, which is who holds SeDebugPrivilege
// (security/authenticator.h); a caller without it is refused. The keys apply to the caller's own
// processes (its real uid) unless it has SeDebugPrivilege held AND enabled.
//
// Never blocked, whatever the rule: PID 1, lwmid's own process, kernel threads, the programs of
// [guard] protected_programs and lwmid's own executable (by device and inode: a path re-resolved
// at each install, so an upgraded program stays protected). A rule does not block processes in
// the session its install exempts (the subscriber's own), and a rule that blocks more than
// breaker_per_second starts in one second trips and blocks nothing more; neither spares a
// process another rule blocks (the kernel tries every key an exec matches).
//
// Two subscriptions naming the same key share it: the kernel holds one entry, attributed to the
// newest holder's rule (its blocks and breaker), exempting a session only when every holder
// exempts that same one. The key stays until its last holder goes.
// Rules live as long as the os::BpfMonitor: they end with lwmid, even when it is killed.
// Thread safety: install() and the handles' destruction may run on any threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "event/event_query.h"
#include "lwmi/result.h"
#include "os/bpf_monitor.h"
#include "security/caller.h"

namespace lwmi::event {

/// [guard] in lwmid.conf (enabled, breaker_per_second, protected_programs).
using GuardConfig = config::GuardConfig;

/// The kernel rules an event query's filter compiles to.
struct GuardRules {
  std::vector<os::GuardKey> keys;  ///< uid not set here: install() restricts
  std::string summary;             ///< human text, e.g. "file name 'x' or comm 'x'"
};

/// Rules for `q` when the kernel can decide its filter (__InstanceCreationEvent or
/// Win32_ProcessStartTrace; a WHERE of Name / ExecutablePath / ProcessName = 'constant', ORed,
/// ANDed only with the ISA test or as Name = 'x' AND ExecutablePath = '/d/x'). Else an Error:
/// kNotSupported naming what the kernel cannot decide (the caller keeps the user-space kill),
/// or kInvalidParameter for a query without condition (a rule blocking every start would stop
/// the host).
Result<GuardRules> compile_guard_rules(const EventQuery& q);

class GuardHandle;

class ExecGuard {
 public:
  /// Applies the breaker and the protections (cfg.protected_programs and this process's own
  /// executable), and switches the kernel guard on or off (cfg.enabled). A protected program
  /// that cannot be protected (missing, full map) is listed in problems().
  ExecGuard(std::shared_ptr<os::BpfMonitor> monitor, GuardConfig cfg);
  ~ExecGuard();
  ExecGuard(const ExecGuard&) = delete;
  ExecGuard& operator=(const ExecGuard&) = delete;

  /// Installs `rules` for `caller` until the handle is destroyed. Refusals (nothing installed):
  /// the guard disabled in the configuration (kNotSupported); a caller outside the admin group
  /// (kAccessDenied); a key naming another uid from a caller without SeDebugPrivilege enabled
  /// (kAccessDenied); no keys (kInvalidParameter); a kernel map full (kQuotaViolation).
  /// exempt_session: processes in that session id are never blocked by these rules (0: none).
  Result<std::unique_ptr<GuardHandle>> install(const security::Caller& caller,
                                               const GuardRules& rules, uint32_t exempt_session);

  os::BpfMonitor& monitor();
  const GuardConfig& config() const;
  /// What the constructor could not apply, e.g. "protected program /usr/sbin/x: No such file or
  /// directory" (for lwmid's log).
  const std::vector<std::string>& problems() const;
  /// Kernel keys installed now (shared keys once).
  size_t installed_keys() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

/// One install: destroying it removes its keys (a key another handle also holds stays, for it)
/// and forgets its rule's counters.
class GuardHandle {
 public:
  ~GuardHandle();
  GuardHandle(const GuardHandle&) = delete;
  GuardHandle& operator=(const GuardHandle&) = delete;

  /// Unique per install in this process, never 0: the rule an exec event's blocked_rule names.
  uint32_t rule() const { return rule_; }
  const std::string& summary() const { return summary_; }
  /// The keys as installed (with the uid restriction), for the audit line.
  const std::vector<os::GuardKey>& keys() const { return keys_; }
  /// Starts blocked under this rule, and whether its breaker tripped — its own, or that of the
  /// newer rule a shared key is attributed to (that key no longer blocks either).
  os::GuardRuleState state() const;

 private:
  friend class ExecGuard;
  GuardHandle(std::shared_ptr<ExecGuard::State> state, uint32_t rule, std::string summary,
              std::vector<os::GuardKey> keys)
      : state_(std::move(state)),
        rule_(rule),
        summary_(std::move(summary)),
        keys_(std::move(keys)) {}

  std::shared_ptr<ExecGuard::State> state_;
  uint32_t rule_;
  std::string summary_;
  std::vector<os::GuardKey> keys_;
};

}  // namespace lwmi::event
