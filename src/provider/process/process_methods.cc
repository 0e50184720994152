// Win32_Process methods: Terminate (race-free, confirmed), GetOwner, GetOwnerSid, SetPriority,
// GetAvailableVirtualSize, AttachDebugger, Create. ReturnValues are WMI's: 0, 2, 3, 8, 9, 21.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/strings.h"
#include "os/accounts.h"
#include "provider/process/command_line.h"
#include "provider/process/process_provider.h"
#include "provider/process/terminate_reasons.h"

namespace lwmi::provider::process {
namespace {

// The daemon's program name: every process by this name is protected from Terminate.
constexpr std::string_view kDaemonName = "lwmid";

constexpr uint32_t kOk = 0, kAccessDenied = 2, kInsufficientPrivilege = 3, kUnknownFailure = 8,
                   kPathNotFound = 9, kInvalidParameter = 21;

const Value* param(const Parameters& in, std::string_view name) {
  for (const auto& [n, v] : in)
    if (base::iequals(n, name) && !v.is_null()) return &v;
  return nullptr;
}

MethodResult rv(uint32_t code, std::string note = {}) {
  MethodResult r;
  r.return_value = code;
  if (!note.empty()) r.notes.push_back(std::move(note));
  return r;
}

// Priority class -> nice (spec 2.5); nullopt for a value that is not a class.
std::optional<int> nice_for_class(int64_t cls) {
  switch (cls) {
    case 64:
      return 19;  // Idle
    case 16384:
      return 10;  // Below Normal
    case 32:
      return 0;  // Normal
    case 32768:
      return -6;  // Above Normal
    case 128:
      return -11;  // High
    case 256:
      return -19;  // Realtime
    default:
      return std::nullopt;
  }
}

// The environment of a process lwmid creates for a caller when it names none: a clean one, as
// a login gives (lwmid's own environment is none of the caller's business): PATH, HOME, SHELL,
// USER and LOGNAME from the caller's account.
constexpr const char* kUserPath = "/usr/local/bin:/usr/bin:/bin";
constexpr const char* kRootPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

std::vector<std::string> clean_environment(const security::Caller& caller) {
  std::vector<std::string> env;
  env.push_back(std::string("PATH=") + (caller.uid == 0 ? kRootPath : kUserPath));
  if (auto a = os::SystemAccounts().user_with_uid(caller.uid)) {
    env.push_back("HOME=" + (a->home.empty() ? std::string("/") : a->home));
    env.push_back("SHELL=" + (a->shell.empty() ? std::string("/bin/sh") : a->shell));
    env.push_back("USER=" + a->name);
    env.push_back("LOGNAME=" + a->name);
  } else {
    env.push_back("HOME=/");
  }
  return env;
}

std::string user_name(uint32_t uid) {
  if (auto a = os::SystemAccounts().user_with_uid(uid)) return a->name;
  return std::to_string(uid);
}

// Whether this process already has the caller's real and effective uid (embedded mode, or a
// daemon called by root): then it acts as itself; otherwise it acts with the caller's identity.
bool runs_as(const security::Caller& caller) {
  return ::geteuid() == caller.euid && ::getuid() == caller.uid;
}

// Create's ProcessStartupInformation (priority, environment, flags) into *req; a refusal when a
// value is invalid or needs a privilege the caller has not enabled.
std::optional<MethodResult> apply_startup_information(const security::Caller& caller,
                                                      const Instance& startup,
                                                      os::SpawnRequest* req) {
  if (auto pc = startup.get("PriorityClass"); pc && !pc->is_null()) {
    auto n = nice_for_class(static_cast<int64_t>(pc->as_u64()));
    if (!n) return rv(kInvalidParameter, "PriorityClass " + pc->to_text() + " is not a class");
    if (pc->as_u64() == 256 && !caller.can(security::Privilege::kIncreaseBasePriority))
      return rv(kInsufficientPrivilege,
                "Realtime needs SeIncreaseBasePriorityPrivilege, held and enabled");
    req->set_nice = true;
    req->nice = *n;
  }
  if (auto env = startup.get("EnvironmentVariables"); env && !env->is_null()) {
    req->replace_environment = true;
    for (const auto& e : env->elements()) {
      if (e.as_string().find('=') == std::string::npos)
        return rv(kInvalidParameter,
                  "EnvironmentVariables entry '" + e.as_string() + "' is not NAME=value");
      req->environment.push_back(e.as_string());
    }
  }
  if (auto flags = startup.get("CreateFlags"); flags && !flags->is_null())
    req->suspended = (flags->as_u64() & 4u) != 0;  // Create_Suspended
  return std::nullopt;
}

// A daemon drops to the caller's identity (uid, primary and supplementary groups) in the child,
// never keeping a group the caller's own process has dropped (or no longer has).
void run_as(const security::Caller& caller, os::SpawnRequest* req) {
  req->change_identity = true;
  req->uid = caller.uid;
  req->gid = caller.gid;
  req->groups = caller.groups;
  if (caller.process_groups) {
    std::vector<gid_t> kept;
    for (gid_t g : req->groups)
      if (std::find(caller.process_groups->begin(), caller.process_groups->end(), g) !=
          caller.process_groups->end())
        kept.push_back(g);
    req->groups = std::move(kept);
  }
}

}  // namespace

// The process an instance method acts on: found by the path's Handle in the caller's pid
// namespace, its CreationDate checked. Built in place (the row reads through ctx and view).
struct ProcessProvider::MethodTarget {
  int32_t named = 0;  // as the caller knows it (its pid namespace)
  int32_t host = 0;   // as lwmi's /proc knows it
  uint64_t start = 0;
  std::optional<os::PidView> view;
  RowContext ctx;
  std::optional<ProcessRow> row;
  const ProcStatus* status = nullptr;
  std::string name;
  Error not_found() const {
    return Error{WbemStatus::kNotFound, "no process with Handle \"" + std::to_string(named) + "\""};
  }
};

Result<MethodResult> ProcessProvider::invoke(const security::Caller& caller,
                                             const MethodDecl& method, const ObjectPath* target,
                                             const Parameters& in, security::AuditTarget* audit,
                                             bool what_if) {
  const std::string& m = method.name;
  if (what_if && m != "Terminate")
    return Error{WbemStatus::kNotSupported,
                 "only Terminate has an expected outcome; " + m + " would have to run"};
  if (m == "Create") return create(caller, in, audit);

  MethodTarget t;
  if (auto found = find_target(caller, *target, &t); !found.ok()) return found.take_error();
  if (audit) {
    audit->pid = t.host;
    audit->start = t.row->creation_date().value_or("");
    audit->name = t.name;
    audit->uid = t.status->uid[0];
  }
  if (m == "GetOwner") return get_owner(t);
  if (m == "GetOwnerSid") return get_owner_sid(t);
  if (m == "GetAvailableVirtualSize") return get_available_virtual_size(t);

  // The state-changing methods. lwmi checks kill(2)'s rule itself; then, for a caller without
  // the enabled privilege, the kernel checks it again: the signal or priority change is made
  // with the caller's credentials on a dedicated thread (DESIGN decision 3).
  if (auto refusal = check_may_change(caller, m, t)) return *refusal;
  if (what_if) return rv(kOk);  // (Terminate: lwmi's checks pass)
  const bool impersonate = !caller.can(security::Privilege::kDebug) && !runs_as(caller);
  if (m == "AttachDebugger") return attach_debugger(t);
  if (m == "SetPriority") return set_priority(caller, t, in, impersonate);
  if (m == "Terminate") return terminate(caller, t, in, impersonate);
  return Error{WbemStatus::kInvalidMethod, "Win32_Process has no method '" + m + "'"};
}

Result<void> ProcessProvider::find_target(const security::Caller& caller, const ObjectPath& path,
                                          MethodTarget* t) {
  auto pid = pid_of(path);
  if (!pid.ok()) return pid.take_error();
  t->named = *pid;
  auto host = host_pid(caller, t->named, &t->view);
  if (!host.ok()) return host.take_error();
  t->host = *host;
  t->ctx = row_context(caller, t->view ? &*t->view : nullptr);
  ProcessRow& row = t->row.emplace(t->ctx, t->host);
  row.set_view_pid(t->named);
  if (!row.exists() || !row.is_thread_group_leader()) return t->not_found();
  t->start = *row.start_ticks();
  if (!creation_date_matches(path, t->start))
    return Error{WbemStatus::kNotFound,
                 "process " + std::to_string(t->named) +
                     " has another CreationDate: the pid was reused or the path is stale"};
  t->status = row.status();
  if (!t->status || !t->status->has_uid) return t->not_found();
  t->name = row.property(ids_.index(Prop::kName)).as_string();
  return {};
}

std::optional<MethodResult> ProcessProvider::check_may_change(const security::Caller& caller,
                                                              const std::string& m,
                                                              MethodTarget& t) const {
  const ProcStatus* st = t.status;
  // kill(2)'s rule: the caller's real or effective uid is the target's real or saved uid.
  const bool own = caller.uid == st->uid[0] || caller.uid == st->uid[2] ||
                   caller.euid == st->uid[0] || caller.euid == st->uid[2];
  const bool debug = caller.can(security::Privilege::kDebug);
  const bool skip_check =
      policy_.testing_skip_own_check && (m == "Terminate" || m == "SetPriority");
  // Processes the system must not lose: 3 for every caller, privileged or not, owner or not.
  if (m == "Terminate") {
    if (t.host == 1 || t.named == 1 || t.row->stat()->is_kernel_thread() || t.host == sys_.self_pid)
      return rv(kInsufficientPrivilege, "process " + std::to_string(t.named) + " (" + t.name +
                                            ") is protected: the system must not lose it");
    // Protection is decided on what the process is, not on the name this caller sees: the
    // executable's name (read by lwmi, never shown), its comm and the shown name all count.
    // lwmid is protected in every mode: by itself, by embedded lwmic, by another lwmid.
    std::vector<std::string> identities = {t.name, t.row->stat()->comm};
    if (const std::string* e = t.row->exe()) identities.push_back(base::base_name(*e));
    for (const auto& id : identities)
      if (id == kDaemonName)
        return rv(kInsufficientPrivilege, "process " + std::to_string(t.named) +
                                              " is lwmid: the management service is protected");
    for (const auto& p : policy_.protected_names)
      for (const auto& id : identities)
        if (base::iequals(p, id))
          return rv(kInsufficientPrivilege, id + " is listed in [security] protected_processes");
  }
  if (!own && !debug && !skip_check)
    return rv(kAccessDenied, "process " + std::to_string(t.named) + " belongs to " +
                                 user_name(st->uid[0]) +
                                 ": SeDebugPrivilege must be held and enabled");
  return std::nullopt;
}

Result<MethodResult> ProcessProvider::create(const security::Caller& caller, const Parameters& in,
                                             security::AuditTarget* audit) {
  // The new process would live in lwmid's namespaces, outside the caller's sandbox: refused.
  if (caller.pid_ns)
    return rv(kAccessDenied,
              "Create is not available to a caller in another pid namespace than lwmid's");
  if (caller.sandboxed)
    return rv(kAccessDenied,
              "Create is not available to a caller outside lwmid's user, mount and network "
              "namespaces: the new process would escape the caller's sandbox");
  const Value* cmd = param(in, "CommandLine");
  if (!cmd || cmd->as_string().empty()) return rv(kInvalidParameter, "CommandLine is required");
  auto argv = parse_windows_command_line(cmd->as_string());
  if (!argv) return rv(kInvalidParameter, "CommandLine has an unterminated quote");
  os::SpawnRequest req;
  req.argv = std::move(*argv);
  // Checked here only when this process already runs as the caller: a daemon checking as root
  // would tell a caller which directories exist where it may not look. Otherwise the child's
  // chdir, made with the caller's credentials, decides.
  const bool runs_as_caller = runs_as(caller);
  if (const Value* dir = param(in, "CurrentDirectory"); dir && !dir->as_string().empty()) {
    struct stat st;
    if (runs_as_caller && (::stat(dir->as_string().c_str(), &st) != 0 || !S_ISDIR(st.st_mode)))
      return rv(kPathNotFound, "CurrentDirectory " + dir->as_string() + " is not a directory");
    req.directory = dir->as_string();
  }
  if (const Value* su = param(in, "ProcessStartupInformation");
      su && su->type() == CimType::kObject)
    if (auto refusal = apply_startup_information(caller, *su->as_object(), &req)) return *refusal;
  // Runs as the caller: in embedded mode that is this process already; a daemon drops to the
  // caller's identity in the child, which runs in its own session with a clean environment
  // unless EnvironmentVariables names one.
  if (!runs_as_caller) run_as(caller, &req);
  if (!caller.embedded) {
    req.search_path = caller.uid == 0 ? kRootPath : kUserPath;
    if (!req.replace_environment) {
      req.replace_environment = true;
      req.environment = clean_environment(caller);
    }
  }
  if (caller.uid != 0 && !req.change_identity && ::geteuid() == 0)
    return rv(kAccessDenied, "refusing to create a process as root for a non-root caller");
  pid_t pid = 0;
  int err = control_->spawn(req, &pid);
  const std::string what =
      req.argv[0] + (req.change_identity && !req.directory.empty()
                         ? " (in " + req.directory + ", as " + caller.user + ")"
                         : std::string());
  if (err == ENOENT || err == ENOTDIR) return rv(kPathNotFound, what + ": " + std::strerror(err));
  if (err == EACCES || err == EPERM) return rv(kAccessDenied, what + ": " + std::strerror(err));
  if (err) return rv(kUnknownFailure, what + ": " + std::strerror(err));
  MethodResult r;
  r.out.push_back({"ProcessId", Value::uint32(static_cast<uint32_t>(pid))});
  if (audit) {
    audit->pid = pid;
    audit->name = req.argv[0];
    audit->uid = caller.uid;
    // Its CreationDate, so that the audit line names this process and no later one that
    // reuses the pid.
    audit->start = ProcessRow(row_context(caller), pid).creation_date().value_or("");
  }
  return r;
}

Result<MethodResult> ProcessProvider::get_owner(const MethodTarget& t) const {
  MethodResult r;
  r.out.push_back({"User", Value::string(user_name(t.status->uid[1]))});
  r.out.push_back({"Domain", Value::string(sys_.host)});
  return r;
}

Result<MethodResult> ProcessProvider::get_owner_sid(const MethodTarget& t) const {
  MethodResult r;
  r.out.push_back({"Sid", Value::string("S-1-22-1-" + std::to_string(t.status->uid[1]))});
  return r;
}

Result<MethodResult> ProcessProvider::get_available_virtual_size(const MethodTarget& t) const {
  const ProcStatus* st = t.status;
  if (!st->vm_size) return rv(kUnknownFailure, "a kernel thread has no user address space");
  std::string limits;
  uint64_t limit = 1ull << 47;  // x86-64 user address space with 4-level paging
  if (fs_.read(t.host, "limits", &limits) == 0) {
    for (auto line : base::split(limits, '\n')) {
      if (line.rfind("Max address space", 0) != 0) continue;
      auto rest = base::trim(line.substr(17));
      auto soft = rest.substr(0, rest.find(' '));
      if (auto v = base::parse_u64(soft); v && *v < limit) limit = *v;
    }
  }
  uint64_t used = *st->vm_size * 1024;
  MethodResult r;
  r.out.push_back({"AvailableVirtualSize", Value::uint64(used < limit ? limit - used : 0)});
  return r;
}

Result<MethodResult> ProcessProvider::attach_debugger(const MethodTarget& t) {
  if (policy_.debugger_command.empty())
    return Error{WbemStatus::kNotSupported,
                 "AttachDebugger: no debugger is configured ([methods] debugger_command)"};
  std::string cmd = policy_.debugger_command;
  for (size_t p; (p = cmd.find("%pid%")) != std::string::npos;)
    cmd.replace(p, 5, std::to_string(t.host));
  auto argv = parse_windows_command_line(cmd);
  if (!argv) return rv(kUnknownFailure, "debugger_command cannot be parsed");
  os::SpawnRequest req;
  req.argv = std::move(*argv);
  pid_t dpid = 0;
  int err = control_->spawn(req, &dpid);
  if (err == ENOENT) return rv(kPathNotFound, req.argv[0] + ": " + std::strerror(err));
  if (err) return rv(kUnknownFailure, req.argv[0] + ": " + std::strerror(err));
  return rv(kOk, "debugger started as pid " + std::to_string(dpid));
}

Result<MethodResult> ProcessProvider::set_priority(const security::Caller& caller,
                                                   const MethodTarget& t, const Parameters& in,
                                                   bool impersonate) {
  const Value* p = param(in, "Priority");
  if (!p) return rv(kInvalidParameter, "Priority is required");
  auto nice = nice_for_class(p->as_i64());
  if (!nice) return rv(kInvalidParameter, "Priority " + p->to_text() + " is not a priority class");
  if (p->as_i64() == 256 && !caller.can(security::Privilege::kIncreaseBasePriority))
    return rv(kInsufficientPrivilege,
              "Realtime needs SeIncreaseBasePriorityPrivilege, held and enabled");
  const os::Identity as{caller.uid, caller.gid, caller.groups};
  std::vector<int32_t> tids;
  if (fs_.list_tasks(t.host, &tids) != 0) return t.not_found();
  size_t done = 0;
  for (int32_t tid : tids) {
    int err = impersonate ? control_->set_nice_as(tid, *nice, as) : control_->set_nice(tid, *nice);
    if (err == ESRCH) continue;  // that thread ended meanwhile
    if (err == EACCES) return rv(kInsufficientPrivilege, "raising the priority needs CAP_SYS_NICE");
    if (err == EPERM)
      return rv(kAccessDenied, "the kernel refused: " + std::string(std::strerror(err)));
    if (err) return rv(kUnknownFailure, std::strerror(err));
    ++done;
  }
  if (done == 0) return t.not_found();
  return rv(kOk);
}

Result<MethodResult> ProcessProvider::terminate(const security::Caller& caller,
                                                const MethodTarget& t, const Parameters& in,
                                                bool impersonate) {
  // Linux cannot set another process's exit code: the Reason is audited, and reported as
  // the ExitStatus of the Win32_ProcessStopTrace event (a missing Reason is 0).
  const Value* reason = param(in, "Reason");
  const uint32_t reason_code = reason ? static_cast<uint32_t>(reason->as_u64()) : 0;
  os::ControlledPidfd pidfd;  // closed on every path below
  int err = os::open_pidfd(*control_, t.host, &pidfd);
  if (err == ESRCH) return t.not_found();
  if (err) return rv(kUnknownFailure, std::string("pidfd_open: ") + std::strerror(err));
  // The pidfd now pins this pid: re-check it still names the same process before signalling.
  std::string text;
  std::optional<ProcStat> now;
  if (fs_.read(t.host, "stat", &text) == 0) now = parse_stat(text);
  if (!now || now->starttime != t.start)
    return Error{WbemStatus::kNotFound, "process " + std::to_string(t.named) +
                                            " ended and its pid was reused before the signal; "
                                            "nothing was sent"};
  if (now->is_zombie()) return rv(kOk, "the process had already exited");
  // Recorded before the signal: the exit event may reach an event stream before we return.
  terminate_reasons_->record(t.host, t.start, reason_code);
  const os::Identity as{caller.uid, caller.gid, caller.groups};
  err = impersonate ? control_->kill_as(pidfd.get(), as) : control_->kill(pidfd.get());
  if (err != 0 && err != ESRCH) terminate_reasons_->forget(t.host, t.start);
  if (err == ESRCH) return rv(kOk, "the process exited before the signal");
  if (err)
    return rv(err == EPERM ? kAccessDenied : kUnknownFailure,
              std::string("the kernel refused the signal: ") + std::strerror(err));
  bool exited = false;
  control_->wait_exit(pidfd.get(), static_cast<int>(policy_.terminate_wait_ms), &exited);
  pidfd.reset();
  if (!exited)
    return rv(kOk, "SIGKILL delivered but the exit was not seen within " +
                       std::to_string(policy_.terminate_wait_ms) +
                       " ms (uninterruptible sleep or a frozen cgroup?): unconfirmed");
  return rv(kOk);
}

}  // namespace lwmi::provider::process
