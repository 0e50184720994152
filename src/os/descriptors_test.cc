#include "os/descriptors.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

namespace lwmi::os {
namespace {

bool listed(const std::vector<int>& fds, int fd) {
  return std::find(fds.begin(), fds.end(), fd) != fds.end();
}

TEST(Descriptors, SetCloexecRemovesADescriptorFromTheInheritableOnes) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);  // without O_CLOEXEC
  auto before = inheritable_descriptors();
  EXPECT_TRUE(listed(before, p[0]));
  EXPECT_TRUE(listed(before, p[1]));
  EXPECT_EQ(set_cloexec(p[0]), 0);
  EXPECT_EQ(set_cloexec(p[0]), 0);  // idempotent
  auto after = inheritable_descriptors();
  EXPECT_FALSE(listed(after, p[0]));
  EXPECT_TRUE(listed(after, p[1]));
  EXPECT_NE(::fcntl(p[0], F_GETFD) & FD_CLOEXEC, 0);
  ::close(p[0]);
  ::close(p[1]);
  EXPECT_EQ(set_cloexec(p[0]), EBADF);
}

TEST(Descriptors, CloseInheritedKeepsZeroToTwoAndTheOneAskedFor) {
  int a[2], b[2];
  ASSERT_EQ(::pipe(a), 0);
  ASSERT_EQ(::pipe2(b, O_CLOEXEC), 0);
  const int keep = b[1];
  int standard = 0;  // which of 0–2 this test process has (ctest may close stdin)
  for (int fd = 0; fd <= 2; ++fd)
    if (::fcntl(fd, F_GETFD) >= 0) standard |= 1 << fd;
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close_inherited(keep);
    int code = 0;
    if (::fcntl(keep, F_GETFD) < 0) code |= 1;                     // kept
    if (::fcntl(a[0], F_GETFD) >= 0 || errno != EBADF) code |= 2;  // closed
    if (::fcntl(a[1], F_GETFD) >= 0) code |= 4;
    if (::fcntl(b[0], F_GETFD) >= 0) code |= 8;
    for (int fd = 0; fd <= 2; ++fd)
      if ((standard & (1 << fd)) && ::fcntl(fd, F_GETFD) < 0) code |= 16;  // untouched
    _exit(code);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  for (int fd : {a[0], a[1], b[0], b[1]}) ::close(fd);
}

TEST(Descriptors, WriteThenReadAFile) {
  const std::string path = "/tmp/lwmi-descriptors-test-" + std::to_string(::getpid());
  EXPECT_EQ(write_file_atomically(path, "one\ntwo\n", 0600), 0);
  std::string text;
  EXPECT_EQ(read_file(path, &text), 0);
  EXPECT_EQ(text, "one\ntwo\n");
  EXPECT_EQ(write_file_atomically(path, "", 0600), 0);  // replaced
  EXPECT_EQ(read_file(path, &text), 0);
  EXPECT_EQ(text, "");
  ::unlink(path.c_str());
  EXPECT_EQ(read_file(path, &text), ENOENT);
  EXPECT_EQ(write_file_atomically("/nonexistent-dir/x", "", 0600), ENOENT);
}

// The names in `dir`, but "." and "..".
std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") out.push_back(name);
  }
  ::closedir(d);
  return out;
}

TEST(Descriptors, AtomicWriteLeavesOnlyTheFileWithItsModeAndAFailureLeavesTheOldOne) {
  char tmpl[] = "/tmp/lwmi-atomic-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl, path = dir + "/state";
  ASSERT_EQ(write_file_atomically(path, "old", 0640), 0);
  ASSERT_EQ(write_file_atomically(path, "new", 0600), 0);
  EXPECT_EQ(entries(dir), std::vector<std::string>{"state"});  // no temporary left
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);  // the mode asked for, whatever the umask
  // A link planted where the temporary could go is never followed: the name is new each time.
  ASSERT_EQ(::symlink("/etc/passwd-never-written", (path + ".tmp").c_str()), 0);
  ASSERT_EQ(write_file_atomically(path, "newer", 0600), 0);
  std::string text;
  ASSERT_EQ(read_file(path, &text), 0);
  EXPECT_EQ(text, "newer");
  EXPECT_NE(::access("/etc/passwd-never-written", F_OK), 0);
  ::unlink((path + ".tmp").c_str());
  // A path whose directory is a file: refused, nothing made, the old text kept.
  EXPECT_EQ(write_file_atomically(path + "/x", "y", 0600), ENOTDIR);
  ASSERT_EQ(read_file(path, &text), 0);
  EXPECT_EQ(text, "newer");
  EXPECT_EQ(entries(dir), std::vector<std::string>{"state"});
  ::unlink(path.c_str());
  ::rmdir(dir.c_str());
}

bool is_open(int fd) {
  return ::fcntl(fd, F_GETFD) >= 0 || errno != EBADF;
}

TEST(Fd, ClosesWhatItOwnsOnEveryPathOnce) {
  Fd r, w;
  ASSERT_EQ(make_pipe(&r, &w), 0);
  const int rfd = r.get(), wfd = w.get();
  EXPECT_NE(::fcntl(rfd, F_GETFD) & FD_CLOEXEC, 0) << "made close-on-exec";
  EXPECT_NE(::fcntl(wfd, F_GETFD) & FD_CLOEXEC, 0) << "made close-on-exec";
  {
    Fd moved(std::move(r));
    EXPECT_FALSE(r.valid()) << "a moved-from Fd owns nothing";
    EXPECT_EQ(moved.get(), rfd);
  }
  EXPECT_FALSE(is_open(rfd)) << "closed when its owner went";
  EXPECT_TRUE(is_open(wfd));
  Fd other;
  other = std::move(w);
  EXPECT_EQ(other.get(), wfd);
  other = Fd();  // assignment closes what was held
  EXPECT_FALSE(is_open(wfd));
  EXPECT_EQ(other.close(), 0) << "nothing held: nothing to close";
}

TEST(Fd, ReleaseGivesTheDescriptorUpAndCloseReportsErrors) {
  Fd r, w;
  ASSERT_EQ(make_pipe(&r, &w), 0);
  const int rfd = r.release();
  EXPECT_FALSE(r.valid());
  EXPECT_TRUE(is_open(rfd)) << "released, not closed";
  r.reset(rfd);
  EXPECT_EQ(r.close(), 0);
  EXPECT_FALSE(is_open(rfd));
  EXPECT_FALSE(r.valid());
  // A descriptor closed behind the Fd's back: close says so (EBADF) instead of hiding it.
  const int wfd = w.get();
  ASSERT_EQ(::close(wfd), 0);
  EXPECT_EQ(w.close(), EBADF);
}

}  // namespace
}  // namespace lwmi::os
