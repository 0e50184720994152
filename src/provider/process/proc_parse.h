// provider/process/proc_parse.h — parsers for /proc/PID files, and Windows command-line quoting.
//
// Pure functions over file contents, so they are tested on odd inputs (comm with spaces and
// parentheses, truncated files) without a live system.
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lwmi::provider::process {

/// The fields of /proc/PID/stat that lwmi uses (proc(5) numbering in comments).
struct ProcStat {
  int32_t pid = 0;          // 1
  std::string comm;         // 2, without the parentheses
  char state = '?';         // 3
  int32_t ppid = 0;         // 4
  int32_t session = 0;      // 6
  uint32_t flags = 0;       // 9 (PF_KTHREAD = 0x00200000)
  uint64_t minflt = 0;      // 10
  uint64_t majflt = 0;      // 12
  uint64_t utime = 0;       // 14, clock ticks
  uint64_t stime = 0;       // 15, clock ticks
  int64_t priority = 0;     // 18
  int64_t nice = 0;         // 19
  int64_t num_threads = 0;  // 20
  uint64_t starttime = 0;   // 22, clock ticks since boot
  uint64_t vsize = 0;       // 23, bytes
  int64_t rss = 0;          // 24, pages
  uint32_t policy = 0;      // 41

  bool is_kernel_thread() const { return (flags & 0x00200000u) != 0; }
  /// PF_EXITING: in do_exit, its memory (exe link, command line) possibly released already,
  /// not yet a zombie.
  bool is_exiting() const { return (flags & 0x00000004u) != 0; }
  bool is_zombie() const { return state == 'Z' || state == 'X' || state == 'x'; }
};

/// Parses /proc/PID/stat; comm is taken up to the LAST ')' since it may hold spaces and ')'.
std::optional<ProcStat> parse_stat(std::string_view text);

/// The lines of /proc/PID/status that lwmi uses; sizes in kB as the file gives them.
struct ProcStatus {
  int32_t tgid = -1;
  uint32_t uid[4] = {0, 0, 0, 0};  // real, effective, saved, filesystem
  uint32_t gid[4] = {0, 0, 0, 0};
  std::optional<uint64_t> vm_peak, vm_size, vm_hwm, vm_rss, vm_data, vm_stk;
  bool has_uid = false;
  std::vector<int32_t> nspid;  ///< NSpid: the pid in each nested pid namespace, outermost first
};
std::optional<ProcStatus> parse_status(std::string_view text);

/// /proc/PID/io counters.
struct ProcIo {
  std::optional<uint64_t> rchar, wchar, syscr, syscw;
};
ProcIo parse_io(std::string_view text);

/// Splits /proc/PID/cmdline (NUL-separated, NUL-terminated) into argv.
std::vector<std::string> split_cmdline(std::string_view raw);
/// Joins argv the way Windows' CommandLineToArgvW reads it back: arguments with spaces, tabs or
/// quotes are quoted, backslashes before a quote doubled.
std::string join_windows_command_line(const std::vector<std::string>& argv);

/// The Win32 base priority (4, 6, 8, 10, 13, 24) for a nice value and scheduling policy.
uint32_t base_priority(int64_t nice, uint32_t policy);

}  // namespace lwmi::provider::process
