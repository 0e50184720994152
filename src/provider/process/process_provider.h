// provider/process/process_provider.h — Win32_Process over /proc.
//
// Enumerates thread-group leaders (kernel threads included, zombies not), one at a time; gets a
// process by Handle (a thread id that is not a leader, a zombie or a gone pid is not found; a
// CreationDate in the path must match the process's start, compared in clock ticks).
// Thread safety: safe to call concurrently; each call has its own rows.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "lwmi/method.h"
#include "os/pid_namespace.h"
#include "os/proc_fs.h"
#include "os/process_control.h"
#include "os/system_info.h"
#include "provider/process/process_row.h"
#include "provider/process/property_ids.h"
#include "provider/process/terminate_reasons.h"
#include "provider/provider.h"
#include "security/audit.h"

namespace lwmi::provider::process {

/// What the configuration says about methods.
struct MethodPolicy {
  std::vector<std::string> protected_names;  ///< Terminate returns 3 for these (and PID 1…)
  uint32_t terminate_wait_ms = 2000;         ///< bound on waiting for a killed process to exit
  std::string debugger_command;              ///< AttachDebugger; "%pid%" replaced; "" = none
  /// TESTS ONLY: skip lwmi's own kill(2)-rule check, leaving the decision to the kernel (which
  /// still refuses, because unprivileged callers' signals are sent with their credentials).
  bool testing_skip_own_check = false;
};

class ProcessProvider : public InstanceProvider {
 public:
  /// `fs` and `sys` describe the system to read: the live one, or a captured tree in tests.
  ProcessProvider(os::ProcFs fs, os::SystemInfo sys);

  std::shared_ptr<const ClassDecl> class_decl() const override { return cls_; }
  std::unique_ptr<InstanceStream> enumerate(const security::Caller& caller,
                                            const Request& request) override;
  Result<Instance> get(const security::Caller& caller, const ObjectPath& path,
                       const Request& request) override;

  /// Runs a method. `target` is the instance path (nullptr for the static Create). `in` holds
  /// typed in-parameters by their declared names. `audit` receives the target's description.
  /// `what_if` (Terminate only; else WBEM_E_NOT_SUPPORTED): lwmi's checks run and their answer
  /// is returned (0, or 2/3 with why), nothing is done; the kernel, which has the last word for
  /// an unprivileged caller, is not asked.
  Result<MethodResult> invoke(const security::Caller& caller, const MethodDecl& method,
                              const ObjectPath* target, const Parameters& in,
                              security::AuditTarget* audit, bool what_if = false);
  void set_policy(MethodPolicy policy) { policy_ = std::move(policy); }
  const MethodPolicy& policy() const { return policy_; }
  void set_control(std::shared_ptr<os::ProcessControl> control) { control_ = std::move(control); }
  /// The Reasons Terminate records for the event engine that reads this provider's processes
  /// (Win32_ProcessStopTrace.ExitStatus). Each provider has its own unless one is shared in.
  TerminateReasons& terminate_reasons() { return *terminate_reasons_; }
  void set_terminate_reasons(std::shared_ptr<TerminateReasons> reasons) {
    terminate_reasons_ = std::move(reasons);
  }

  /// The pid named by a Win32_Process path (Handle key, string or number); errors as get().
  static Result<int32_t> pid_of(const ObjectPath& path);
  /// The pid lwmi's /proc gives the process a caller calls `named`: the same pid, or for a caller
  /// in a child pid namespace the translation (`*view` is then set); WBEM_E_NOT_FOUND when the
  /// caller's namespace has no such process (a host pid named from a container).
  Result<int32_t> host_pid(const security::Caller& caller, int32_t named,
                           std::optional<os::PidView>* view) const;
  /// Checks a path's optional CreationDate against a start time in clock ticks since boot.
  bool creation_date_matches(const ObjectPath& path, uint64_t start_ticks) const;

  /// The context a ProcessRow of this provider reads with, for `caller` (and its pid view, when
  /// it has one); both must outlive the rows.
  RowContext row_context(const security::Caller& caller, const os::PidView* view = nullptr);

  const os::ProcFs& fs() const { return fs_; }
  const os::SystemInfo& system() const { return sys_; }
  const PropertyIds& ids() const { return ids_; }
  PeakTracker& peaks() { return peaks_; }

 private:
  // invoke(), one function per method (process_methods.cc).
  struct MethodTarget;
  Result<void> find_target(const security::Caller& caller, const ObjectPath& path, MethodTarget* t);
  std::optional<MethodResult> check_may_change(const security::Caller& caller,
                                               const std::string& method, MethodTarget& t) const;
  Result<MethodResult> create(const security::Caller& caller, const Parameters& in,
                              security::AuditTarget* audit);
  Result<MethodResult> get_owner(const MethodTarget& t) const;
  Result<MethodResult> get_owner_sid(const MethodTarget& t) const;
  Result<MethodResult> get_available_virtual_size(const MethodTarget& t) const;
  Result<MethodResult> attach_debugger(const MethodTarget& t);
  Result<MethodResult> set_priority(const security::Caller& caller, const MethodTarget& t,
                                    const Parameters& in, bool impersonate);
  Result<MethodResult> terminate(const security::Caller& caller, const MethodTarget& t,
                                 const Parameters& in, bool impersonate);

  os::ProcFs fs_;
  os::SystemInfo sys_;
  std::shared_ptr<const ClassDecl> cls_;
  PropertyIds ids_;
  PeakTracker peaks_;
  MethodPolicy policy_;
  std::shared_ptr<os::ProcessControl> control_;
  std::shared_ptr<TerminateReasons> terminate_reasons_ = std::make_shared<TerminateReasons>();
};

}  // namespace lwmi::provider::process
