#include "provider/process/process_row.h"
#include "base/mutex.h"

#include <algorithm>
#include <cerrno>

#include "base/strings.h"
#include "lwmi/datetime.h"

namespace lwmi::provider::process {
namespace {

constexpr uint32_t kNoSession = 4294967295u;

uint32_t saturate32(uint64_t v) {
  return v > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(v);
}

}  // namespace

uint32_t PeakTracker::update(int32_t pid, uint64_t start, uint32_t kb) {
  base::MutexLock lock(mu_);
  if (peaks_.size() > 1u << 16) peaks_.clear();  // bounded: pids are reused, entries go stale
  auto& e = peaks_[static_cast<uint64_t>(pid)];
  if (e.first != start) e = {start, kb};
  if (kb > e.second) e.second = kb;
  return e.second;
}

void ProcessRow::use_record(std::shared_ptr<const os::ProcessRecord> record) {
  record_ = std::move(record);
  gone_ = false;  // what /proc said no longer matters
  saw_missing_ = false;
  ProcStat st;
  st.pid = pid_;
  st.comm = record_->comm;
  st.state = 'R';
  st.ppid = record_->ppid;
  st.num_threads = 1;
  // /proc's starttime is the same kernel value, in clock ticks (nsec_to_clock_t).
  st.starttime = record_->start_ns / (1000000000ull / static_cast<uint64_t>(ctx_.sys->clk_tck));
  stat_ = std::move(st);
  stat_read_ = true;
  ProcStatus status;
  status.tgid = pid_;
  const uint32_t uids[4] = {record_->uid, record_->euid, record_->suid, record_->euid};
  const uint32_t gids[4] = {record_->gid, record_->egid, record_->egid, record_->egid};
  std::copy(uids, uids + 4, status.uid);
  std::copy(gids, gids + 4, status.gid);
  status.has_uid = true;
  status_ = std::move(status);
  status_read_ = true;
  exe_read_ = true;
  exe_.reset();
  if (!record_->exe.empty() && !record_->exe_truncated) exe_ = record_->exe;  // never a tail
  argv_read_ = true;
  argv_ = record_->argv;
  io_read_ = true;
  io_.reset();
  name_.reset();  // a name derived from /proc before the record came
}

bool ProcessRow::note(int err) {
  if (err == ENOENT || err == ESRCH) saw_missing_ = true;
  return err == 0;
}

const ProcStat* ProcessRow::stat() {
  if (!stat_read_) {
    stat_read_ = true;
    int err = ctx_.fs->read(pid_, "stat", &buf_);
    if (err == 0) stat_ = parse_stat(buf_);
    if (err == ENOENT || err == ESRCH || (err == 0 && !stat_)) gone_ = true;
  }
  return stat_ ? &*stat_ : nullptr;
}

bool ProcessRow::exists() {
  const ProcStat* s = stat();
  return s && !s->is_zombie();
}

const ProcStatus* ProcessRow::status() {
  if (!status_read_) {
    status_read_ = true;
    if (note(ctx_.fs->read(pid_, "status", &buf_))) status_ = parse_status(buf_);
  }
  return status_ ? &*status_ : nullptr;
}

bool ProcessRow::is_thread_group_leader() {
  const ProcStatus* st = status();
  return st && st->tgid == pid_;
}

std::optional<uint64_t> ProcessRow::start_ticks() {
  const ProcStat* s = stat();
  if (!s) return std::nullopt;
  return s->starttime;
}

std::optional<std::string> ProcessRow::creation_date() {
  auto ticks = start_ticks();
  if (!ticks) return std::nullopt;
  int64_t us = ctx_.sys->boot_epoch_us +
               static_cast<int64_t>(*ticks * 1000000ull / static_cast<uint64_t>(ctx_.sys->clk_tck));
  return DateTime::from_unix_micros_local(us).to_string();
}

const std::string* ProcessRow::exe() {
  if (!exe_read_) {
    exe_read_ = true;
    std::string link;
    int err = ctx_.fs->readlink(pid_, "exe", &link);
    if (err == 0) {
      constexpr std::string_view kDeleted = " (deleted)";
      if (link.size() > kDeleted.size() &&
          link.compare(link.size() - kDeleted.size(), kDeleted.size(), kDeleted) == 0)
        link.resize(link.size() - kDeleted.size());
      exe_ = std::move(link);
    } else {
      note(err);  // ENOENT: a kernel thread, or gone (checked before the row is returned)
    }
  }
  return exe_ ? &*exe_ : nullptr;
}

const std::vector<std::string>* ProcessRow::argv() {
  if (!argv_read_) {
    argv_read_ = true;
    if (note(ctx_.fs->read(pid_, "cmdline", &buf_))) argv_ = split_cmdline(buf_);
  }
  return argv_ ? &*argv_ : nullptr;
}

const ProcIo* ProcessRow::io() {
  if (!io_read_) {
    io_read_ = true;
    if (note(ctx_.fs->read(pid_, "io", &buf_))) io_ = parse_io(buf_);
  }
  return io_ ? &*io_ : nullptr;
}

std::string ProcessRow::name() {
  if (name_) return *name_;
  // DESIGN decision 5: exe, else argv[0], else comm. An argv[0] rewritten into a title with
  // spaces ("sshd: root@pts/0") is not a program name: comm is used then.
  // Decision 10: for a caller who may not read the exe link itself (masked: not the owner, no
  // SeDebugPrivilege enabled) the name comes only from what it could read, argv[0] or comm,
  // whoever reads /proc: a program started through a symlink in a private directory does not
  // reveal its target's name, and the name is the same embedded and through lwmid.
  if (const std::string* e = masked() ? nullptr : exe(); e && !e->empty()) {
    name_ = base::base_name(*e);
  } else if (const auto* a = argv();
             a && !a->empty() && !(*a)[0].empty() && (*a)[0].find(' ') == std::string::npos) {
    name_ = base::base_name((*a)[0]);
  } else if (const ProcStat* s = stat()) {
    name_ = s->comm;
  } else {
    name_ = std::string();
  }
  return *name_;
}

std::optional<uint32_t> ProcessRow::owner_uid() {
  const ProcStatus* st = status();
  if (!st || !st->has_uid) return std::nullopt;
  return st->uid[0];
}

bool ProcessRow::owned_by_caller() {
  const ProcStatus* st = status();
  if (!st || !st->has_uid) return false;
  uid_t u = ctx_.caller->uid;
  return st->uid[0] == u && st->uid[1] == u && st->uid[2] == u;
}

bool ProcessRow::masked() {
  return !ctx_.caller->can(security::Privilege::kDebug) && !owned_by_caller();
}

Value ProcessRow::property(size_t index) {
  const PropertyDecl& decl = ctx_.cls->properties[index];
  const Value null = Value::null(decl.type, decl.is_array);
  if (record_) {
    // What the kernel recorded, and the constants; nothing else is known of an ended process.
    switch (ctx_.ids->at(index)) {
      case Prop::kCaption:
      case Prop::kDescription:
      case Prop::kName:
      case Prop::kCommandLine:
      case Prop::kCreationClassName:
      case Prop::kCreationDate:
      case Prop::kCSCreationClassName:
      case Prop::kCSName:
      case Prop::kExecutablePath:
      case Prop::kHandle:
      case Prop::kOSCreationClassName:
      case Prop::kOSName:
      case Prop::kParentProcessId:
      case Prop::kProcessId:
      case Prop::kWindowsVersion:
        break;
      default:
        return null;
    }
  }
  const uint64_t tick_100ns = 10000000ull;
  const uint64_t clk = static_cast<uint64_t>(ctx_.sys->clk_tck);
  switch (ctx_.ids->at(index)) {
    case Prop::kCaption:
    case Prop::kDescription:
    case Prop::kName:
      return Value::string(name());
    case Prop::kCommandLine: {
      const auto* a = argv();
      if (!a || a->empty()) return null;
      return Value::string(join_windows_command_line(*a));
    }
    case Prop::kCreationClassName:
      return Value::string("Win32_Process");
    case Prop::kCreationDate: {
      auto d = creation_date();
      return d ? Value::datetime(*d) : null;
    }
    case Prop::kCSCreationClassName:
      return Value::string("Win32_ComputerSystem");
    case Prop::kCSName:
      return Value::string(ctx_.sys->host);
    case Prop::kExecutablePath: {
      if (masked()) return null;
      const std::string* e = exe();
      return e ? Value::string(*e) : null;
    }
    case Prop::kHandle:
      return Value::string(std::to_string(view_pid_));
    case Prop::kHandleCount: {
      if (masked()) return null;
      uint32_t n = 0;
      if (!note(ctx_.fs->count_entries(pid_, "fd", &n))) return null;
      return Value::uint32(n);
    }
    case Prop::kKernelModeTime: {
      const ProcStat* s = stat();
      return s ? Value::uint64(s->stime * tick_100ns / clk) : null;
    }
    case Prop::kUserModeTime: {
      const ProcStat* s = stat();
      return s ? Value::uint64(s->utime * tick_100ns / clk) : null;
    }
    case Prop::kOSCreationClassName:
      return Value::string("Win32_OperatingSystem");
    case Prop::kOSName:
      return Value::string(ctx_.sys->os_name);
    case Prop::kPageFaults: {
      const ProcStat* s = stat();
      return s ? Value::uint32(saturate32(s->minflt + s->majflt)) : null;
    }
    case Prop::kPageFileUsage:
    case Prop::kPrivatePageCount:
    case Prop::kPeakPageFileUsage: {
      const ProcStatus* st = status();
      if (!st || !st->vm_data || !st->vm_stk) return null;  // kernel threads have no memory map
      uint64_t kb = *st->vm_data + *st->vm_stk;
      Prop p = ctx_.ids->at(index);
      if (p == Prop::kPrivatePageCount) return Value::uint64(kb * 1024);
      if (p == Prop::kPageFileUsage) return Value::uint32(saturate32(kb));
      auto start = start_ticks();
      if (!start || !ctx_.peaks) return null;
      return Value::uint32(ctx_.peaks->update(pid_, *start, saturate32(kb)));
    }
    case Prop::kParentProcessId: {
      const ProcStat* s = stat();
      if (!s) return null;
      // In the caller's pid namespace, a parent outside it is 0 (as getppid() says there).
      if (ctx_.view)
        return Value::uint32(
            static_cast<uint32_t>(s->ppid > 0 ? ctx_.view->to_view(s->ppid).value_or(0) : 0));
      return Value::uint32(static_cast<uint32_t>(s->ppid));
    }
    case Prop::kPeakVirtualSize: {
      const ProcStatus* st = status();
      return st && st->vm_peak ? Value::uint64(*st->vm_peak * 1024) : null;
    }
    case Prop::kPeakWorkingSetSize: {
      const ProcStatus* st = status();
      return st && st->vm_hwm ? Value::uint32(saturate32(*st->vm_hwm)) : null;
    }
    case Prop::kPriority: {
      const ProcStat* s = stat();
      return s ? Value::uint32(base_priority(s->nice, s->policy)) : null;
    }
    case Prop::kProcessId:
      return Value::uint32(static_cast<uint32_t>(view_pid_));
    case Prop::kReadOperationCount:
    case Prop::kReadTransferCount:
    case Prop::kWriteOperationCount:
    case Prop::kWriteTransferCount: {
      if (masked()) return null;
      const ProcIo* o = io();
      if (!o) return null;
      std::optional<uint64_t> v;
      switch (ctx_.ids->at(index)) {
        case Prop::kReadOperationCount:
          v = o->syscr;
          break;
        case Prop::kReadTransferCount:
          v = o->rchar;
          break;
        case Prop::kWriteOperationCount:
          v = o->syscw;
          break;
        default:
          v = o->wchar;
          break;
      }
      return v ? Value::uint64(*v) : null;
    }
    case Prop::kSessionId: {
      if (!note(ctx_.fs->read(pid_, "sessionid", &buf_))) return Value::uint32(0);
      auto v = base::parse_u64(base::trim(buf_));
      if (!v || *v == kNoSession || *v > UINT32_MAX) return Value::uint32(0);
      return Value::uint32(static_cast<uint32_t>(*v));
    }
    case Prop::kThreadCount: {
      const ProcStat* s = stat();
      return s ? Value::uint32(static_cast<uint32_t>(s->num_threads)) : null;
    }
    case Prop::kVirtualSize: {
      const ProcStat* s = stat();
      return s ? Value::uint64(s->vsize) : null;
    }
    case Prop::kWindowsVersion:
      return Value::string(ctx_.sys->kernel_release);
    case Prop::kWorkingSetSize: {
      // statm's resident count is exact; stat's rss (field 24) is an approximate per-CPU
      // counter on Linux 6.2 and later, off by hundreds of KiB.
      if (!note(ctx_.fs->read(pid_, "statm", &buf_))) return null;
      auto f = base::split(base::trim(buf_), ' ');
      if (f.size() < 2) return null;
      auto pages = base::parse_u64(f[1]);
      if (!pages) return null;
      return Value::uint64(*pages * static_cast<uint64_t>(ctx_.sys->page_size));
    }
    // No Linux source (spec 1.3): NULL, as Windows itself often reports.
    case Prop::kExecutionState:
    case Prop::kInstallDate:
    case Prop::kMaximumWorkingSetSize:
    case Prop::kMinimumWorkingSetSize:
    case Prop::kOtherOperationCount:
    case Prop::kOtherTransferCount:
    case Prop::kQuotaNonPagedPoolUsage:
    case Prop::kQuotaPagedPoolUsage:
    case Prop::kQuotaPeakNonPagedPoolUsage:
    case Prop::kQuotaPeakPagedPoolUsage:
    case Prop::kStatus:
    case Prop::kTerminationDate:
    case Prop::kUnknown:
      return null;
  }
  return null;
}

ObjectPath ProcessRow::identity() {
  ObjectPath p;
  p.class_name = ctx_.cls->name;
  p.keys.push_back({"Handle", Value::string(std::to_string(view_pid_))});
  if (auto d = creation_date()) p.keys.push_back({"CreationDate", Value::string(*d)});
  return p;
}

std::optional<Instance> ProcessRow::materialize(const PropertySet& props) {
  if (!exists()) return std::nullopt;
  Instance inst(ctx_.cls);
  for (size_t i = 0; i < ctx_.cls->properties.size(); ++i)
    if (props.contains(i)) inst.set(i, property(i));
  // A file that went missing mid-read, or a command line read empty: the process may have
  // been ending meanwhile (do_exit releases its memory, hence its exe link and command line,
  // before it becomes a zombie). Unless this is a kernel thread (which has no exe or cmdline)
  // or the kernel's record, check whether the process is still the same live one, else skip
  // it: an instance with those read as NULL would describe it wrongly.
  const bool suspect = saw_missing_ || (argv_read_ && argv_ && argv_->empty());
  if (suspect && !record_ && !stat_->is_kernel_thread()) {
    std::string again;
    if (ctx_.fs->read(pid_, "stat", &again) != 0) return std::nullopt;
    auto s = parse_stat(again);
    if (!s || s->is_zombie() || s->is_exiting() || s->starttime != stat_->starttime)
      return std::nullopt;
  }
  inst.set_server(ctx_.sys->host);
  inst.set_identity(identity());
  return inst;
}

}  // namespace lwmi::provider::process
