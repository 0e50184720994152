// os/process_control.h — the seam for acting on processes: pidfds, signals, waits, nice, spawn.
//
// The live implementation makes the system calls; tests substitute a fake to make happen what
// cannot be made to happen on demand (a pid reused between the identity check and the signal).
// Every call returns 0 or an errno value.
// Thread safety: LiveProcessControl is stateless and safe to share.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace lwmi::os {

/// CLOCK_MONOTONIC in milliseconds: deadlines of waits on processes.
int64_t monotonic_ms();

/// What a new process needs (Win32_Process.Create on Linux).
struct SpawnRequest {
  std::vector<std::string> argv;         ///< argv[0] is looked up on PATH when it has no '/'
  std::string directory;                 ///< "" = inherit
  bool replace_environment = false;      ///< use `environment` instead of the current one
  std::vector<std::string> environment;  ///< NAME=value
  std::string search_path;               ///< PATH to look argv[0] up on; "" = this process's
  bool set_nice = false;
  int nice = 0;
  bool suspended = false;        ///< stopped with SIGSTOP before its first instruction
  bool change_identity = false;  ///< run as uid/gid/groups below (the caller); the child checks
                                 ///< it is no longer root before exec when uid is not 0
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  /// false: the process stays a child of the caller, which must reap it (waitpid) — for a
  /// caller that waits for its exit status; true: re-parented, never a zombie of ours.
  bool detach = true;
  /// The new process's stdin (the caller's descriptor, dup'ed; the caller keeps and closes
  /// it); -1: /dev/null. stdout and stderr are always /dev/null.
  int stdin_fd = -1;
};

/// Whose credentials an action is taken with (impersonation).
struct Identity {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
};

class ProcessControl {
 public:
  virtual ~ProcessControl() = default;
  /// kill() with `as`'s credentials, on a dedicated thread, so the kernel applies kill(2)'s rule
  /// to the caller rather than to lwmid (a bug in lwmi's own check then refuses nothing more).
  /// The default (used by fakes) ignores `as`.
  virtual int kill_as(int pidfd, const Identity& as) { return kill(pidfd); }
  /// set_nice() with `as`'s credentials, likewise.
  virtual int set_nice_as(pid_t tid, int nice, const Identity& as) { return set_nice(tid, nice); }
  /// pidfd_open(pid): ESRCH when there is no such process.
  virtual int pidfd_open(pid_t pid, int* fd) = 0;
  /// pidfd_send_signal(fd, SIGKILL) with the calling thread's credentials.
  virtual int kill(int pidfd) = 0;
  /// Waits up to timeout_ms for the process behind pidfd to exit; *exited says whether it did.
  virtual int wait_exit(int pidfd, int timeout_ms, bool* exited) = 0;
  virtual void close(int fd) = 0;
  /// setpriority(PRIO_PROCESS, tid, nice) for one thread.
  virtual int set_nice(pid_t tid, int nice) = 0;
  /// Starts a process in its own session, detached (re-parented, so it is never left a zombie
  /// of ours) unless request.detach is false; *pid is its pid. Errors from the exec itself
  /// (ENOENT, EACCES…) are returned (a child that failed is reaped).
  virtual int spawn(const SpawnRequest& request, pid_t* pid) = 0;
};

/// A pidfd opened through a ProcessControl, closed through the same control when the handle goes
/// (a fake's descriptors are not this process's): every path of a caller closes it once.
class ControlledPidfd {
 public:
  ControlledPidfd() = default;
  ControlledPidfd(ProcessControl* control, int fd) : control_(control), fd_(fd) {}
  ControlledPidfd(ControlledPidfd&& other) noexcept
      : control_(other.control_), fd_(std::exchange(other.fd_, -1)) {}
  ControlledPidfd& operator=(ControlledPidfd&& other) noexcept {
    if (this != &other) {
      reset();
      control_ = other.control_;
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ControlledPidfd(const ControlledPidfd&) = delete;
  ControlledPidfd& operator=(const ControlledPidfd&) = delete;
  ~ControlledPidfd() { reset(); }

  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) control_->close(std::exchange(fd_, -1));
  }

 private:
  ProcessControl* control_ = nullptr;
  int fd_ = -1;
};

/// control.pidfd_open(pid) into *out (ESRCH when there is no such process).
int open_pidfd(ProcessControl& control, pid_t pid, ControlledPidfd* out);

class LiveProcessControl : public ProcessControl {
 public:
  int kill_as(int pidfd, const Identity& as) override;
  int set_nice_as(pid_t tid, int nice, const Identity& as) override;
  int pidfd_open(pid_t pid, int* fd) override;
  int kill(int pidfd) override;
  int wait_exit(int pidfd, int timeout_ms, bool* exited) override;
  void close(int fd) override;
  int set_nice(pid_t tid, int nice) override;
  int spawn(const SpawnRequest& request, pid_t* pid) override;
};

}  // namespace lwmi::os
