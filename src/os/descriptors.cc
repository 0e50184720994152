// os/descriptors.cc — close-on-exec and the child's clean slate.
#include "os/descriptors.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace lwmi::os {
namespace {

// close_range(first, last, 0) as a raw system call (glibc 2.36 has a wrapper, Debian 12's has
// it too, but the raw call keeps this file free of that dependency). -1 with errno on failure.
int raw_close_range(unsigned first, unsigned last) {
#ifdef SYS_close_range
  return static_cast<int>(::syscall(SYS_close_range, first, last, 0u));
#else
  errno = ENOSYS;
  return -1;
#endif
}

// Closes [first, last]; last may be ~0U ("every descriptor").
void close_span(unsigned first, unsigned last) noexcept {
  if (first > last) return;
  if (raw_close_range(first, last) == 0) return;
  // A kernel without close_range: one by one, up to the descriptor limit (no allocation, no
  // /proc: async-signal-safe).
  unsigned limit = 65536;
  struct rlimit rl {};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
      rl.rlim_cur < 0x7fffffff)
    limit = static_cast<unsigned>(rl.rlim_cur);
  for (unsigned fd = first; fd <= last && fd < limit; ++fd) ::close(static_cast<int>(fd));
}

}  // namespace

void Fd::reset(int fd) noexcept {
  // close(2) frees the descriptor even when it reports an error (EINTR included): never retried.
  if (fd_ >= 0 && fd_ != fd) ::close(fd_);
  fd_ = fd;
}

int Fd::close() noexcept {
  if (fd_ < 0) return 0;
  const int closed = ::close(release());
  return closed == 0 ? 0 : errno;
}

int make_pipe(Fd* read, Fd* write) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return errno;
  read->reset(p[0]);
  write->reset(p[1]);
  return 0;
}

int set_cloexec(int fd) {
  int flags = ::fcntl(fd, F_GETFD);
  if (flags < 0) return errno;
  if (flags & FD_CLOEXEC) return 0;
  if (::fcntl(fd, F_SETFD, flags | FD_CLOEXEC) != 0) return errno;
  return 0;
}

void close_inherited(int keep) noexcept {
  if (keep > 2) {
    close_span(3, static_cast<unsigned>(keep) - 1);
    close_span(static_cast<unsigned>(keep) + 1, ~0u);
  } else {
    close_span(3, ~0u);
  }
}

int read_file(const std::string& path, std::string* out) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return errno;
  out->clear();
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) break;
    out->append(buf, static_cast<size_t>(n));
  }
  return 0;
}

int write_file_atomically(const std::string& path, std::string_view text, int mode) {
  // The temporary lies beside `path` (a rename stays in one file system) and is made by
  // mkostemp: O_CREAT|O_EXCL, so it is never a file or link someone else placed there, and
  // unique, so two writers never share one.
  std::string tmp = path + ".XXXXXX";
  Fd fd(::mkostemp(tmp.data(), O_CLOEXEC));
  if (!fd) return errno;
  auto fail = [&](int err) {
    fd.reset();
    ::unlink(tmp.c_str());
    return err;
  };
  if (::fchmod(fd.get(), static_cast<mode_t>(mode)) != 0) return fail(errno);
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(errno);
    done += static_cast<size_t>(n);
  }
  // Data before name: after a crash `path` holds the old text or the whole new one.
  if (::fsync(fd.get()) != 0) return fail(errno);
  if (int closed = fd.close(); closed != 0) return fail(closed);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail(errno);
  // The rename itself is durable once the directory is.
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? std::string(".")
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd) return errno;
  return ::fsync(dir_fd.get()) == 0 ? 0 : errno;
}

std::vector<int> inheritable_descriptors() {
  std::vector<int> out;
  DIR* dir = ::opendir("/proc/self/fd");  // glibc opens it O_CLOEXEC
  if (!dir) return out;
  const int own = ::dirfd(dir);
  while (dirent* e = ::readdir(dir)) {
    char* end = nullptr;
    long fd = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || fd <= 2 || fd == own) continue;
    int flags = ::fcntl(static_cast<int>(fd), F_GETFD);
    if (flags >= 0 && !(flags & FD_CLOEXEC)) out.push_back(static_cast<int>(fd));
  }
  ::closedir(dir);
  return out;
}

}  // namespace lwmi::os
