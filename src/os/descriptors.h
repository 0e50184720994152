// os/descriptors.h — a root daemon keeps its descriptors to itself (DESIGN decision 10).
//
// Every descriptor lwmi opens is close-on-exec, and every process lwmid or liblwmi starts gets
// exactly 0–2. Most descriptors are opened close-on-exec at birth (O_CLOEXEC, SOCK_CLOEXEC…);
// set_cloexec() is for the few a library opens without it. close_inherited() is the second line,
// in a forked child before exec: whatever another thread opened without the flag, or opened in
// the instant before setting it, does not reach the new program.
// Thread safety: every function is safe to call from any thread; close_inherited() is
// async-signal-safe (it runs between fork and exec).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace lwmi::os {

/// Owns one descriptor and closes it when it goes (leveldb's and Android's unique_fd): the one
/// way lwmi holds a descriptor, so no path of a function forgets to close it. It opens nothing
/// itself: whoever opens the descriptor opens it close-on-exec.
/// Thread safety: one owner at a time, like any value.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) noexcept : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }
  /// Gives the descriptor up without closing it.
  int release() noexcept {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  /// Closes the descriptor held (if any) and holds `fd` instead.
  void reset(int fd = -1) noexcept;
  /// Closes now, for a caller that must know close's answer (a write's last error can surface
  /// there): 0 or an errno value; 0 when nothing was held.
  int close() noexcept;

 private:
  int fd_ = -1;
};

/// pipe2(O_CLOEXEC): *read and *write own the two ends. Returns 0 or an errno value.
int make_pipe(Fd* read, Fd* write);

/// Sets FD_CLOEXEC on `fd`; returns 0 or an errno value.
int set_cloexec(int fd);

/// In a forked child: closes every descriptor above 2 except `keep` (-1: none). Uses
/// close_range(2), falling back to closing one by one up to the descriptor limit.
void close_inherited(int keep) noexcept;

/// Reads a whole (small) file through a close-on-exec descriptor (std::ifstream's is not);
/// returns 0 or an errno value.
int read_file(const std::string& path, std::string* out);
/// Replaces `path` with `text`, atomically and durably: a new temporary file beside it
/// (O_CREAT|O_EXCL, close-on-exec, given `mode`), written in full, fsync'd, renamed over `path`,
/// then the directory fsync'd. Returns 0 or an errno value; on an error before the rename the
/// temporary is removed and `path` is untouched (an error fsyncing the directory comes after it:
/// the new text is in place but may not survive a crash).
int write_file_atomically(const std::string& path, std::string_view text, int mode);

/// The descriptors above 2 this process holds without FD_CLOEXEC (from /proc/self/fd): what an
/// exec would hand over. For tests and lwmid's start-up self-check.
std::vector<int> inheritable_descriptors();

}  // namespace lwmi::os
