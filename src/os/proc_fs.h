// os/proc_fs.h — the /proc seam: reads a process tree rooted at a path.
//
// The live system uses "/proc"; tests use captured trees (plain directories with stat, status,
// cmdline… files and an `exe` symlink). Every call returns 0 or an errno value: ENOENT and ESRCH
// mean the process (or the file) is gone, EACCES that the caller may not read it.
// Thread safety: const methods are safe to call concurrently; a PidScanner belongs to one thread.
#pragma once

#include <dirent.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace lwmi::os {

class ProcFs {
 public:
  explicit ProcFs(std::string root = "/proc");
  const std::string& root() const { return root_; }

  /// Streams the numeric entries of the root directory (thread-group leaders on a live /proc),
  /// one at a time, without collecting them first.
  class PidScanner {
   public:
    explicit PidScanner(const std::string& root);
    ~PidScanner();
    PidScanner(const PidScanner&) = delete;
    PidScanner& operator=(const PidScanner&) = delete;
    PidScanner(PidScanner&& other) noexcept;
    /// Next pid; false at the end (or when the root could not be opened: see error()).
    bool next(int32_t* pid);
    int error() const { return error_; }

   private:
    DIR* dir_ = nullptr;
    int error_ = 0;
  };
  PidScanner scan() const { return PidScanner(root_); }

  /// Reads ROOT/PID/NAME whole into *out. Returns 0 or errno.
  int read(int32_t pid, const char* name, std::string* out) const;
  /// readlink(ROOT/PID/NAME) into *out. Returns 0 or errno.
  int readlink(int32_t pid, const char* name, std::string* out) const;
  /// Counts the entries of ROOT/PID/NAME/ (e.g. "fd"), "." and ".." excluded.
  int count_entries(int32_t pid, const char* name, uint32_t* n) const;
  /// The thread ids of ROOT/PID/task/.
  int list_tasks(int32_t pid, std::vector<int32_t>* tids) const;
  /// The owner (uid) of the directory ROOT/PID.
  int owner(int32_t pid, uid_t* uid) const;
  /// The start time of PID (ROOT/PID/stat field 22, clock ticks since boot): with the pid, what
  /// names one process (a pid is reused, the pair is not). 0 or errno (EINVAL: malformed stat).
  int start_ticks(int32_t pid, uint64_t* ticks) const;

 private:
  std::string path(int32_t pid, const char* name) const;
  std::string root_;
};

}  // namespace lwmi::os
