#include "os/proc_fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "os/descriptors.h"

namespace lwmi::os {

ProcFs::ProcFs(std::string root) : root_(std::move(root)) {}

std::string ProcFs::path(int32_t pid, const char* name) const {
  std::string p;
  p.reserve(root_.size() + 24);
  p += root_;
  p += '/';
  p += std::to_string(pid);
  if (name && *name) {
    p += '/';
    p += name;
  }
  return p;
}

ProcFs::PidScanner::PidScanner(const std::string& root) {
  dir_ = ::opendir(root.c_str());
  if (!dir_) error_ = errno;
}

ProcFs::PidScanner::~PidScanner() {
  if (dir_) ::closedir(dir_);
}

ProcFs::PidScanner::PidScanner(PidScanner&& other) noexcept
    : dir_(other.dir_), error_(other.error_) {
  other.dir_ = nullptr;
}

bool ProcFs::PidScanner::next(int32_t* pid) {
  if (!dir_) return false;
  for (;;) {
    errno = 0;
    struct dirent* e = ::readdir(dir_);
    if (!e) {
      error_ = errno;
      return false;
    }
    const char* n = e->d_name;
    if (*n < '1' || *n > '9') continue;
    int64_t v = 0;
    bool numeric = true;
    for (const char* c = n; *c; ++c) {
      if (*c < '0' || *c > '9' || v > INT32_MAX / 10) {
        numeric = false;
        break;
      }
      v = v * 10 + (*c - '0');
    }
    if (!numeric || v > INT32_MAX) continue;
    *pid = static_cast<int32_t>(v);
    return true;
  }
}

int ProcFs::read(int32_t pid, const char* name, std::string* out) const {
  Fd fd(::open(path(pid, name).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return errno;
  out->clear();
  size_t cap = 4096;
  for (;;) {
    size_t used = out->size();
    out->resize(used + cap);
    ssize_t n = ::read(fd.get(), out->data() + used, cap);
    if (n < 0) {
      int e = errno;
      if (e == EINTR) {
        out->resize(used);
        continue;
      }
      out->clear();
      return e;
    }
    out->resize(used + static_cast<size_t>(n));
    // The /proc files lwmi reads (stat, status, statm, io, cmdline, limits…) return their whole
    // content in one read when the buffer is large enough, so a short read is the end: this
    // saves a system call per file. A full buffer means there may be more.
    if (n == 0 || static_cast<size_t>(n) < cap) break;
  }
  return 0;
}

int ProcFs::readlink(int32_t pid, const char* name, std::string* out) const {
  char buf[4096];
  ssize_t n = ::readlink(path(pid, name).c_str(), buf, sizeof buf);
  if (n < 0) return errno;
  out->assign(buf, static_cast<size_t>(n));
  return 0;
}

int ProcFs::count_entries(int32_t pid, const char* name, uint32_t* n) const {
  DIR* d = ::opendir(path(pid, name).c_str());
  if (!d) return errno;
  uint32_t count = 0;
  errno = 0;
  while (struct dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.' && (e->d_name[1] == 0 || (e->d_name[1] == '.' && e->d_name[2] == 0)))
      continue;
    ++count;
  }
  int err = errno;
  ::closedir(d);
  if (err) return err;
  *n = count;
  return 0;
}

int ProcFs::list_tasks(int32_t pid, std::vector<int32_t>* tids) const {
  DIR* d = ::opendir(path(pid, "task").c_str());
  if (!d) return errno;
  tids->clear();
  while (struct dirent* e = ::readdir(d)) {
    char* end = nullptr;
    long v = std::strtol(e->d_name, &end, 10);
    if (end != e->d_name && *end == 0 && v > 0) tids->push_back(static_cast<int32_t>(v));
  }
  ::closedir(d);
  return 0;
}

int ProcFs::owner(int32_t pid, uid_t* uid) const {
  struct stat st;
  if (::stat(path(pid, nullptr).c_str(), &st) != 0) return errno;
  *uid = st.st_uid;
  return 0;
}

int ProcFs::start_ticks(int32_t pid, uint64_t* ticks) const {
  std::string text;
  if (int e = read(pid, "stat", &text); e != 0) return e;
  // "pid (comm) state ppid …": comm may hold anything, so fields count from the last ')'.
  size_t at = text.rfind(')');
  if (at == std::string::npos) return EINVAL;
  const char* p = text.c_str() + at + 1;
  for (int field = 3; field <= 22; ++field) {
    while (*p == ' ') ++p;
    if (*p == '\0' || *p == '\n') return EINVAL;
    if (field == 22) {
      char* end = nullptr;
      errno = 0;
      unsigned long long v = std::strtoull(p, &end, 10);
      if (end == p || errno != 0 || (*end != ' ' && *end != '\n' && *end != '\0')) return EINVAL;
      *ticks = v;
      return 0;
    }
    while (*p != ' ' && *p != '\0' && *p != '\n') ++p;
  }
  return EINVAL;
}

}  // namespace lwmi::os
