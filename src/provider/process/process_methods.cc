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

}  // namespace

Result<MethodResult> ProcessProvider::invoke(const security::Caller& caller,
                                             const MethodDecl& method, const ObjectPath* target,
                                             const Parameters& in, security::AuditTarget* audit,
                                             bool what_if) {
  using security::Privilege;
  const std::string& m = method.name;
  if (what_if && m != "Terminate")
    return Error{WbemStatus::kNotSupported,
                 "only Terminate has an expected outcome; " + m + " would have to run"};

  if (m == "Create") {
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
    const bool runs_as_caller = ::geteuid() == caller.euid && ::getuid() == caller.uid;
    if (const Value* dir = param(in, "CurrentDirectory"); dir && !dir->as_string().empty()) {
      struct stat st;
      if (runs_as_caller && (::stat(dir->as_string().c_str(), &st) != 0 || !S_ISDIR(st.st_mode)))
        return rv(kPathNotFound, "CurrentDirectory " + dir->as_string() + " is not a directory");
      req.directory = dir->as_string();
    }
    if (const Value* su = param(in, "ProcessStartupInformation");
        su && su->type() == CimType::kObject) {
      const Instance& startup = *su->as_object();
      if (auto pc = startup.get("PriorityClass"); pc && !pc->is_null()) {
        auto n = nice_for_class(static_cast<int64_t>(pc->as_u64()));
        if (!n) return rv(kInvalidParameter, "PriorityClass " + pc->to_text() + " is not a class");
        if (pc->as_u64() == 256 && !caller.can(Privilege::kIncreaseBasePriority))
          return rv(kInsufficientPrivilege,
                    "Realtime needs SeIncreaseBasePriorityPrivilege, held and enabled");
        req.set_nice = true;
        req.nice = *n;
      }
      if (auto env = startup.get("EnvironmentVariables"); env && !env->is_null()) {
        req.replace_environment = true;
        for (const auto& e : env->elements()) {
          if (e.as_string().find('=') == std::string::npos)
            return rv(kInvalidParameter,
                      "EnvironmentVariables entry '" + e.as_string() + "' is not NAME=value");
          req.environment.push_back(e.as_string());
        }
      }
      if (auto flags = startup.get("CreateFlags"); flags && !flags->is_null())
        req.suspended = (flags->as_u64() & 4u) != 0;  // Create_Suspended
    }
    // Runs as the caller: in embedded mode that is this process already; a daemon drops to the
    // caller's identity (uid, primary and supplementary groups) in the child, which runs in its
    // own session with a clean environment unless EnvironmentVariables names one.
    if (!runs_as_caller) {
      req.change_identity = true;
      req.uid = caller.uid;
      req.gid = caller.gid;
      req.groups = caller.groups;
      // Never a group the caller's own process has dropped (or no longer has).
      if (caller.process_groups) {
        std::vector<gid_t> kept;
        for (gid_t g : req.groups)
          if (std::find(caller.process_groups->begin(), caller.process_groups->end(), g) !=
              caller.process_groups->end())
            kept.push_back(g);
        req.groups = std::move(kept);
      }
    }
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

  // Instance methods: find the process and check that the path still names it.
  auto pid = pid_of(*target);
  if (!pid.ok()) return pid.take_error();
  const int32_t named = *pid;  // as the caller knows it (its pid namespace)
  std::optional<os::PidView> view;
  auto host_result = host_pid(caller, named, &view);
  if (!host_result.ok()) return host_result.take_error();
  const int32_t host = *host_result;  // as lwmi's /proc knows it
  RowContext ctx = row_context(caller, view ? &*view : nullptr);
  ProcessRow row(ctx, host);
  row.set_view_pid(named);
  Error not_found{WbemStatus::kNotFound,
                  "no process with Handle \"" + std::to_string(named) + "\""};
  if (!row.exists() || !row.is_thread_group_leader()) return not_found;
  const uint64_t start = *row.start_ticks();
  if (!creation_date_matches(*target, start))
    return Error{WbemStatus::kNotFound,
                 "process " + std::to_string(named) +
                     " has another CreationDate: the pid was reused or the path is stale"};
  const ProcStatus* st = row.status();
  if (!st || !st->has_uid) return not_found;
  const std::string name = row.property(ids_.index(Prop::kName)).as_string();
  if (audit) {
    audit->pid = host;
    audit->start = row.creation_date().value_or("");
    audit->name = name;
    audit->uid = st->uid[0];
  }
  // kill(2)'s rule: the caller's real or effective uid is the target's real or saved uid.
  const bool own = caller.uid == st->uid[0] || caller.uid == st->uid[2] ||
                   caller.euid == st->uid[0] || caller.euid == st->uid[2];
  const bool debug = caller.can(Privilege::kDebug);

  if (m == "GetOwner") {
    MethodResult r;
    r.out.push_back({"User", Value::string(user_name(st->uid[1]))});
    r.out.push_back({"Domain", Value::string(sys_.host)});
    return r;
  }
  if (m == "GetOwnerSid") {
    MethodResult r;
    r.out.push_back({"Sid", Value::string("S-1-22-1-" + std::to_string(st->uid[1]))});
    return r;
  }
  if (m == "GetAvailableVirtualSize") {
    if (!st->vm_size) return rv(kUnknownFailure, "a kernel thread has no user address space");
    std::string limits;
    uint64_t limit = 1ull << 47;  // x86-64 user address space with 4-level paging
    if (fs_.read(host, "limits", &limits) == 0) {
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

  // The state-changing methods. lwmi checks kill(2)'s rule itself; then, for a caller without
  // the enabled privilege, the kernel checks it again: the signal or priority change is made
  // with the caller's credentials on a dedicated thread (DESIGN decision 3).
  const bool impersonate = !debug && (::geteuid() != caller.euid || ::getuid() != caller.uid);
  const os::Identity as{caller.uid, caller.gid, caller.groups};
  const bool skip_check =
      policy_.testing_skip_own_check && (m == "Terminate" || m == "SetPriority");
  // Processes the system must not lose: 3 for every caller, privileged or not, owner or not.
  if (m == "Terminate") {
    if (host == 1 || named == 1 || row.stat()->is_kernel_thread() || host == sys_.self_pid)
      return rv(kInsufficientPrivilege, "process " + std::to_string(named) + " (" + name +
                                            ") is protected: the system must not lose it");
    // Protection is decided on what the process is, not on the name this caller sees: the
    // executable's name (read by lwmi, never shown), its comm and the shown name all count.
    // lwmid is protected in every mode: by itself, by embedded lwmic, by another lwmid.
    std::vector<std::string> identities = {name, row.stat()->comm};
    if (const std::string* e = row.exe()) identities.push_back(base::base_name(*e));
    for (const auto& id : identities)
      if (id == kDaemonName)
        return rv(kInsufficientPrivilege, "process " + std::to_string(named) +
                                              " is lwmid: the management service is protected");
    for (const auto& p : policy_.protected_names)
      for (const auto& id : identities)
        if (base::iequals(p, id))
          return rv(kInsufficientPrivilege, id + " is listed in [security] protected_processes");
  }
  if (!own && !debug && !skip_check)
    return rv(kAccessDenied, "process " + std::to_string(named) + " belongs to " +
                                 user_name(st->uid[0]) +
                                 ": SeDebugPrivilege must be held and enabled");
  if (what_if) return rv(kOk);  // (Terminate: lwmi's checks pass)

  if (m == "AttachDebugger") {
    if (policy_.debugger_command.empty())
      return Error{WbemStatus::kNotSupported,
                   "AttachDebugger: no debugger is configured ([methods] debugger_command)"};
    std::string cmd = policy_.debugger_command;
    for (size_t p; (p = cmd.find("%pid%")) != std::string::npos;)
      cmd.replace(p, 5, std::to_string(host));
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

  if (m == "SetPriority") {
    const Value* p = param(in, "Priority");
    if (!p) return rv(kInvalidParameter, "Priority is required");
    auto nice = nice_for_class(p->as_i64());
    if (!nice)
      return rv(kInvalidParameter, "Priority " + p->to_text() + " is not a priority class");
    if (p->as_i64() == 256 && !caller.can(Privilege::kIncreaseBasePriority))
      return rv(kInsufficientPrivilege,
                "Realtime needs SeIncreaseBasePriorityPrivilege, held and enabled");
    std::vector<int32_t> tids;
    if (fs_.list_tasks(host, &tids) != 0) return not_found;
    size_t done = 0;
    for (int32_t tid : tids) {
      int err =
          impersonate ? control_->set_nice_as(tid, *nice, as) : control_->set_nice(tid, *nice);
      if (err == ESRCH) continue;  // that thread ended meanwhile
      if (err == EACCES)
        return rv(kInsufficientPrivilege, "raising the priority needs CAP_SYS_NICE");
      if (err == EPERM)
        return rv(kAccessDenied, "the kernel refused: " + std::string(std::strerror(err)));
      if (err) return rv(kUnknownFailure, std::strerror(err));
      ++done;
    }
    if (done == 0) return not_found;
    return rv(kOk);
  }

  if (m == "Terminate") {
    // Linux cannot set another process's exit code: the Reason is audited, and reported as
    // the ExitStatus of the Win32_ProcessStopTrace event (a missing Reason is 0).
    const Value* reason = param(in, "Reason");
    const uint32_t reason_code = reason ? static_cast<uint32_t>(reason->as_u64()) : 0;
    int fd = -1;
    int err = control_->pidfd_open(host, &fd);
    if (err == ESRCH) return not_found;
    if (err) return rv(kUnknownFailure, std::string("pidfd_open: ") + std::strerror(err));
    // The pidfd now pins this pid: re-check it still names the same process before signalling.
    std::string text;
    std::optional<ProcStat> now;
    if (fs_.read(host, "stat", &text) == 0) now = parse_stat(text);
    if (!now || now->starttime != start) {
      control_->close(fd);
      return Error{WbemStatus::kNotFound, "process " + std::to_string(named) +
                                              " ended and its pid was reused before the signal; "
                                              "nothing was sent"};
    }
    if (now->is_zombie()) {
      control_->close(fd);
      return rv(kOk, "the process had already exited");
    }
    // Recorded before the signal: the exit event may reach an event stream before we return.
    TerminateReasons::global().record(host, start, reason_code);
    err = impersonate ? control_->kill_as(fd, as) : control_->kill(fd);
    if (err != 0 && err != ESRCH) TerminateReasons::global().forget(host, start);
    if (err == ESRCH) {
      control_->close(fd);
      return rv(kOk, "the process exited before the signal");
    }
    if (err) {
      control_->close(fd);
      return rv(err == EPERM ? kAccessDenied : kUnknownFailure,
                std::string("the kernel refused the signal: ") + std::strerror(err));
    }
    bool exited = false;
    control_->wait_exit(fd, static_cast<int>(policy_.terminate_wait_ms), &exited);
    control_->close(fd);
    if (!exited)
      return rv(kOk, "SIGKILL delivered but the exit was not seen within " +
                         std::to_string(policy_.terminate_wait_ms) +
                         " ms (uninterruptible sleep or a frozen cgroup?): unconfirmed");
    return rv(kOk);
  }
  return Error{WbemStatus::kInvalidMethod, "Win32_Process has no method '" + m + "'"};
}

}  // namespace lwmi::provider::process
