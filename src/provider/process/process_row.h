// provider/process/process_row.h — one process read lazily from /proc.
//
// A row reads a /proc file only when a property that needs it is asked for, and each file at
// most once. Values are masked for the caller: without SeDebugPrivilege enabled, the privileged
// and ptrace-guarded properties of processes the caller does not own are NULL.
// Thread safety: a row belongs to one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "base/mutex.h"
#include "lwmi/class_decl.h"
#include "lwmi/instance.h"
#include "os/pid_namespace.h"
#include "os/proc_events.h"
#include "os/proc_fs.h"
#include "os/system_info.h"
#include "provider/process/proc_parse.h"
#include "provider/process/property_ids.h"
#include "provider/provider.h"
#include "security/caller.h"

namespace lwmi::provider::process {

/// Remembers the largest PageFileUsage seen per process (pid, start time): PeakPageFileUsage.
class PeakTracker {
 public:
  uint32_t update(int32_t pid, uint64_t start, uint32_t kb);

 private:
  base::Mutex mu_;
  // pid -> (start, peak)
  std::unordered_map<uint64_t, std::pair<uint64_t, uint32_t>> peaks_ GUARDED_BY(mu_);
};

/// What every row of one request shares.
struct RowContext {
  const os::ProcFs* fs = nullptr;
  const os::SystemInfo* sys = nullptr;
  const security::Caller* caller = nullptr;
  std::shared_ptr<const ClassDecl> cls;
  const PropertyIds* ids = nullptr;
  PeakTracker* peaks = nullptr;
  /// The caller's pid namespace when it is not lwmid's: Handle, ProcessId and ParentProcessId
  /// are the pids it knows (nullptr: the host's pids).
  const os::PidView* view = nullptr;
};

class ProcessRow {
 public:
  /// `pid` as lwmi's /proc numbers it.
  ProcessRow(const RowContext& ctx, int32_t pid) : ctx_(ctx), pid_(pid), view_pid_(pid) {}

  int32_t pid() const { return pid_; }
  /// The pid as the caller knows it (its pid namespace); pid() unless set.
  int32_t view_pid() const { return view_pid_; }
  void set_view_pid(int32_t pid) { view_pid_ = pid; }
  /// True when the caller's view of this process is masked: without SeDebugPrivilege enabled,
  /// a process the caller does not own (real, effective and saved uid all its uid).
  bool masked();
  /// Reads stat: false when the process is gone or a zombie (then it is not an instance).
  bool exists();
  /// True once a read has shown the process is gone.
  bool gone() const { return gone_; }
  /// True when `pid` is a thread-group leader (reads status): a thread id is not a process.
  bool is_thread_group_leader();
  /// Start time in clock ticks since boot (stat field 22); nullopt when gone.
  std::optional<uint64_t> start_ticks();
  /// The CreationDate text for this process.
  std::optional<std::string> creation_date();
  /// Property `index` of Win32_Process, read and masked.
  Value property(size_t index);
  /// Handle plus CreationDate: the identity a later method call re-checks.
  ObjectPath identity();
  /// An instance with the properties in `props`; nullopt when the process vanished meanwhile.
  std::optional<Instance> materialize(const PropertySet& props);
  /// The parsed stat (after exists()).
  const ProcStat* stat();
  /// The parsed status, read on first use.
  const ProcStatus* status();
  /// The process's real uid (status), if readable.
  std::optional<uint32_t> owner_uid();
  /// Answers from what the kernel recorded at the process's fork or exec rather than /proc, for
  /// a process that has ended (or whose pid another now holds): its identity, names, command
  /// line, executable, parent and owner are the record's; what only /proc knows (memory, times,
  /// counts, session) is NULL. Masking is unchanged: decided from the recorded credentials as
  /// from status, so a property the caller may not see stays NULL whatever the kernel told.
  void use_record(std::shared_ptr<const os::ProcessRecord> record);
  bool has_record() const { return record_ != nullptr; }
  /// The exe link as lwmi reads it, unmasked: for lwmi's own decisions (is this lwmid?), never
  /// to be shown to a caller who may not read it (property() masks).
  const std::string* exe();

 private:
  bool note(int err);  // records ENOENT/ESRCH as gone; returns err == 0
  bool owned_by_caller();
  const std::vector<std::string>* argv();
  const ProcIo* io();
  std::string name();

  const RowContext& ctx_;
  std::shared_ptr<const os::ProcessRecord> record_;
  int32_t pid_;
  int32_t view_pid_;
  bool gone_ = false;
  bool saw_missing_ = false;

  bool stat_read_ = false;
  std::optional<ProcStat> stat_;
  bool status_read_ = false;
  std::optional<ProcStatus> status_;
  bool exe_read_ = false;
  std::optional<std::string> exe_;
  bool argv_read_ = false;
  std::optional<std::vector<std::string>> argv_;
  bool io_read_ = false;
  std::optional<ProcIo> io_;
  std::optional<std::string> name_;
  std::string buf_;
};

}  // namespace lwmi::provider::process
