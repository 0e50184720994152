// os/process_control.cc — LiveProcessControl: pidfds, SIGKILL, waits, nice, detached spawn.
#include "os/process_control.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "os/descriptors.h"

extern char** environ;

namespace lwmi::os {
namespace {

// Reads exactly `size` bytes unless EOF comes first; returns the bytes read, -1 on error.
ssize_t read_full(int fd, void* buf, size_t size) {
  size_t done = 0;
  while (done < size) {
    ssize_t r = ::read(fd, static_cast<char*>(buf) + done, size - done);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  return static_cast<ssize_t>(done);
}

// The helpers below run between fork and exec: async-signal-safe calls only.

void write_all(int fd, const void* buf, size_t size) {
  const char* p = static_cast<const char*>(buf);
  while (size > 0) {
    ssize_t w = ::write(fd, p, size);
    if (w < 0) {
      if (errno == EINTR) continue;
      return;
    }
    p += w;
    size -= static_cast<size_t>(w);
  }
}

[[noreturn]] void fail_child(int error_fd, int error) {
  write_all(error_fd, &error, sizeof error);
  _exit(127);
}

// Identity is changed with raw system calls: they affect this (the only) thread and skip
// glibc's all-threads broadcast, which has no business in a freshly forked child.
int raw_setgroups(size_t count, const gid_t* list) {
#ifdef SYS_setgroups32
  return static_cast<int>(syscall(SYS_setgroups32, count, list));
#else
  return static_cast<int>(syscall(SYS_setgroups, count, list));
#endif
}
int raw_setresgid(gid_t gid) {
#ifdef SYS_setresgid32
  return static_cast<int>(syscall(SYS_setresgid32, gid, gid, gid));
#else
  return static_cast<int>(syscall(SYS_setresgid, gid, gid, gid));
#endif
}
int raw_setresuid(uid_t uid) {
#ifdef SYS_setresuid32
  return static_cast<int>(syscall(SYS_setresuid32, uid, uid, uid));
#else
  return static_cast<int>(syscall(SYS_setresuid, uid, uid, uid));
#endif
}

bool is_executable_file(const char* path, int* error) {
  struct stat st;
  if (::stat(path, &st) != 0) {
    *error = errno;
    return false;
  }
  if (!S_ISREG(st.st_mode) || ::access(path, X_OK) != 0) {
    *error = EACCES;
    return false;
  }
  return true;
}

// Whether a failed candidate lets the PATH search go on (as execvp does).
bool search_goes_on(int error) {
  return error == ENOENT || error == ENOTDIR || error == ESTALE || error == ENODEV ||
         error == ETIMEDOUT || error == EACCES;
}

// Everything the grandchild needs, built before forking (no allocation after fork).
struct Prepared {
  std::vector<std::string> argv_storage;
  std::vector<char*> argv;
  std::vector<char*> envp;  // empty unless the environment is replaced
  std::vector<std::string> candidate_storage;
  std::vector<const char*> candidates;  // argv[0] itself, or its PATH candidates
  bool search_path = false;
};

int prepare(const SpawnRequest& request, Prepared* p) {
  if (request.argv.empty()) return EINVAL;
  for (const std::string& a : request.argv)
    if (a.find('\0') != std::string::npos) return EINVAL;
  for (const std::string& e : request.environment)
    if (e.find('\0') != std::string::npos) return EINVAL;
  if (request.directory.find('\0') != std::string::npos) return EINVAL;
  const std::string& program = request.argv[0];
  if (program.empty()) return ENOENT;

  p->argv_storage = request.argv;
  for (std::string& a : p->argv_storage) p->argv.push_back(a.data());
  p->argv.push_back(nullptr);
  if (request.replace_environment) {
    for (const std::string& e : request.environment)
      p->envp.push_back(const_cast<char*>(e.c_str()));
    p->envp.push_back(nullptr);
  }

  if (program.find('/') != std::string::npos) {
    p->candidate_storage.push_back(program);
  } else {
    // The PATH of the current environment (as execvpe would use), glibc's default when unset.
    p->search_path = true;
    const char* path = request.search_path.empty() ? ::getenv("PATH") : request.search_path.c_str();
    std::string dirs = path ? path : "/bin:/usr/bin";
    size_t start = 0;
    for (;;) {
      size_t colon = dirs.find(':', start);
      std::string dir =
          dirs.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
      if (dir.empty()) dir = ".";
      p->candidate_storage.push_back(dir + "/" + program);
      if (colon == std::string::npos) break;
      start = colon + 1;
    }
  }
  for (const std::string& c : p->candidate_storage) p->candidates.push_back(c.c_str());
  return 0;
}

// The new process, after the double fork. Never returns.
[[noreturn]] void run_grandchild(const SpawnRequest& request, const Prepared& p, int error_fd) {
  if (::setsid() < 0) fail_child(error_fd, errno);
  // Detached, as WMI's Create: no console of the caller's. Holding the caller's stdout would
  // keep `x=$(lwmic call … Create …)` waiting until the new process exits.
  int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd < 0) fail_child(error_fd, errno);
  // Sources above 2, so that no dup2 below overwrites one still to be copied (and a dup2 onto
  // itself, which would keep close-on-exec, cannot happen).
  int in = request.stdin_fd >= 0 ? request.stdin_fd : null_fd;
  if (in <= 2 && (in = ::fcntl(in, F_DUPFD_CLOEXEC, 3)) < 0) fail_child(error_fd, errno);
  if (null_fd <= 2 && (null_fd = ::fcntl(null_fd, F_DUPFD_CLOEXEC, 3)) < 0)
    fail_child(error_fd, errno);
  if (::dup2(in, 0) < 0) fail_child(error_fd, errno);
  for (int target = 1; target <= 2; ++target)
    if (::dup2(null_fd, target) < 0) fail_child(error_fd, errno);
  // Exactly 0–2 for the new program: lwmid's descriptors are close-on-exec, and this is the
  // second line for any another thread opened without the flag (or not yet flagged) at fork.
  // The error pipe stays until the exec closes it.
  close_inherited(error_fd);

  if (request.change_identity) {
    if (raw_setgroups(request.groups.size(), request.groups.data()) != 0)
      fail_child(error_fd, errno);
    if (raw_setresgid(request.gid) != 0) fail_child(error_fd, errno);
    if (raw_setresuid(request.uid) != 0) fail_child(error_fd, errno);
    // Never root for a non-root caller: every uid must now be the caller's.
    uid_t r = 0, e = 0, s = 0;
    if (::getresuid(&r, &e, &s) != 0 || (request.uid != 0 && (r == 0 || e == 0 || s == 0)))
      fail_child(error_fd, EPERM);
  }
  if (!request.directory.empty() && ::chdir(request.directory.c_str()) != 0)
    fail_child(error_fd, errno);
  if (request.set_nice && ::setpriority(PRIO_PROCESS, 0, request.nice) != 0)
    fail_child(error_fd, errno);

  // Default dispositions first (a pending signal must not reach one of the parent's handlers),
  // then an empty mask (the parent blocked everything around fork).
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    ::sigaction(sig, &dfl, nullptr);  // EINVAL for glibc's reserved signals: ignored
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);

  char* const* argv = p.argv.data();
  char* const* envp =
      request.replace_environment ? const_cast<char* const*>(p.envp.data()) : environ;

  if (request.suspended) {
    // A stopped process cannot report exec errors, so the program is resolved first and the
    // error pipe closed (EOF tells the parent that all went well) before stopping.
    const char* chosen = nullptr;
    int error = ENOENT;
    bool saw_eacces = false;
    for (const char* candidate : p.candidates) {
      int e = 0;
      if (is_executable_file(candidate, &e)) {
        chosen = candidate;
        break;
      }
      if (e == EACCES) saw_eacces = true;
      if (!p.search_path || !search_goes_on(e)) {
        error = e;
        break;
      }
    }
    if (!chosen) fail_child(error_fd, p.search_path && saw_eacces ? EACCES : error);
    ::close(error_fd);
    ::raise(SIGSTOP);
    ::execve(chosen, argv, envp);
    _exit(127);
  }

  if (!request.replace_environment) {
    ::execvpe(argv[0], argv, envp);
    fail_child(error_fd, errno);
  }

  // Replaced environment: search PATH of the current environment (prepared before fork).
  bool saw_eacces = false;
  int error = ENOENT;
  for (const char* candidate : p.candidates) {
    ::execve(candidate, argv, envp);
    error = errno;
    if (error == EACCES) saw_eacces = true;
    if (!p.search_path || !search_goes_on(error)) fail_child(error_fd, error);
  }
  fail_child(error_fd, saw_eacces ? EACCES : error);
}

}  // namespace

int LiveProcessControl::pidfd_open(pid_t pid, int* fd) {
  long r = ::syscall(SYS_pidfd_open, pid, 0);
  if (r < 0) return errno;
  *fd = static_cast<int>(r);
  return 0;
}

int LiveProcessControl::kill(int pidfd) {
  if (::syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0) != 0) return errno;
  return 0;
}

int LiveProcessControl::wait_exit(int pidfd, int timeout_ms, bool* exited) {
  *exited = false;
  const int64_t deadline = timeout_ms < 0 ? 0 : monotonic_ms() + timeout_ms;
  int remaining = timeout_ms;
  for (;;) {
    pollfd p = {pidfd, POLLIN, 0};
    int r = ::poll(&p, 1, remaining);
    if (r < 0) {
      if (errno != EINTR) return errno;
      if (timeout_ms >= 0) {
        int64_t left = deadline - monotonic_ms();
        remaining = left > 0 ? static_cast<int>(left) : 0;
      }
      continue;
    }
    if (r == 0) return 0;  // timed out
    if (p.revents & POLLNVAL) return EBADF;
    if (p.revents & (POLLIN | POLLHUP)) {
      *exited = true;
      return 0;
    }
    return EIO;
  }
}

int open_pidfd(ProcessControl& control, pid_t pid, ControlledPidfd* out) {
  int fd = -1;
  int err = control.pidfd_open(pid, &fd);
  if (err == 0) *out = ControlledPidfd(&control, fd);
  return err;
}

void LiveProcessControl::close(int fd) {
  if (fd >= 0) ::close(fd);
}

namespace {

// Runs `action` on a new thread whose credentials are `as`'s (raw system calls change only the
// calling thread; glibc's wrappers would change every thread). The thread ends afterwards, so
// its credentials never need restoring.
template <class Action>
int on_thread_as(const Identity& as, Action action) {
  int result = 0;
  std::thread worker([&] {
    if (raw_setgroups(as.groups.size(), as.groups.data()) != 0 || raw_setresgid(as.gid) != 0 ||
        raw_setresuid(as.uid) != 0) {
      result = errno;
      return;
    }
    result = action();
  });
  worker.join();
  return result;
}

}  // namespace

int LiveProcessControl::kill_as(int pidfd, const Identity& as) {
  return on_thread_as(as, [&] { return kill(pidfd); });
}

int LiveProcessControl::set_nice_as(pid_t tid, int nice, const Identity& as) {
  return on_thread_as(as, [&] { return set_nice(tid, nice); });
}

int LiveProcessControl::set_nice(pid_t tid, int nice) {
  if (::setpriority(PRIO_PROCESS, static_cast<id_t>(tid), nice) != 0) return errno;
  return 0;
}

int LiveProcessControl::spawn(const SpawnRequest& request, pid_t* pid) {
  Prepared prepared;
  if (int e = prepare(request, &prepared)) return e;

  // The parent's ends close on every path; a child closes what it does not use and ends in
  // exec or _exit, so no destructor runs there.
  Fd pid_read, pid_write, error_read, error_write;
  if (int e = make_pipe(&pid_read, &pid_write)) return e;
  if (int e = make_pipe(&error_read, &error_write)) return e;

  // No signal handler of ours may run in the children before they reset dispositions.
  sigset_t all, saved;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &saved);

  if (!request.detach) {
    pid_read.reset();
    pid_write.reset();
    pid_t child = ::fork();
    if (child == 0) run_grandchild(request, prepared, error_write.get());
    int fork_error = child < 0 ? errno : 0;
    ::pthread_sigmask(SIG_SETMASK, &saved, nullptr);
    error_write.reset();
    if (fork_error) return fork_error;
    // EOF with no data: the exec happened.
    int exec_error = 0;
    ssize_t got_error = read_full(error_read.get(), &exec_error, sizeof exec_error);
    int error_read_error = got_error < 0 ? errno : 0;
    error_read.reset();
    int error = 0;
    if (got_error == static_cast<ssize_t>(sizeof exec_error)) {
      error = exec_error ? exec_error : EIO;
    } else if (error_read_error) {
      error = error_read_error;
    } else if (got_error > 0) {
      error = EIO;
    }
    if (error) {
      int status;
      while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
      }
      return error;
    }
    *pid = child;
    return 0;
  }

  pid_t intermediate = ::fork();
  if (intermediate == 0) {
    pid_read.reset();
    error_read.reset();
    pid_t grandchild = ::fork();
    if (grandchild == 0) {
      pid_write.reset();
      run_grandchild(request, prepared, error_write.get());
    }
    if (grandchild < 0) fail_child(error_write.get(), errno);
    error_write.reset();
    if (request.suspended) {
      // Hand the process over only once it has stopped (or failed and exited).
      int status;
      while (::waitpid(grandchild, &status, WUNTRACED) < 0 && errno == EINTR) {
      }
    }
    write_all(pid_write.get(), &grandchild, sizeof grandchild);
    _exit(0);
  }
  int fork_error = intermediate < 0 ? errno : 0;
  ::pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  pid_write.reset();
  error_write.reset();
  if (fork_error) return fork_error;

  int status;
  while (::waitpid(intermediate, &status, 0) < 0 && errno == EINTR) {
  }

  pid_t child = -1;
  ssize_t got = read_full(pid_read.get(), &child, sizeof child);
  int read_error = got < 0 ? errno : 0;
  pid_read.reset();

  // EOF with no data: the exec happened (or, suspended, the process is stopped before it).
  int exec_error = 0;
  ssize_t got_error = read_full(error_read.get(), &exec_error, sizeof exec_error);
  int error_read_error = got_error < 0 ? errno : 0;
  error_read.reset();

  if (got_error == static_cast<ssize_t>(sizeof exec_error)) return exec_error ? exec_error : EIO;
  if (error_read_error) return error_read_error;
  if (got_error > 0) return EIO;
  if (read_error) return read_error;
  if (got != static_cast<ssize_t>(sizeof child) || child <= 0) return ECHILD;
  *pid = child;
  return 0;
}

int64_t monotonic_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace lwmi::os
