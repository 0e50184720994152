#include "os/process_control.h"
#include "os/testing/descriptors.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace lwmi::os {
namespace {
namespace fs = std::filesystem;

// The fields of /proc/PID/stat from field 3 (state) on; field N is at index N - 3.
std::vector<std::string> stat_fields(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> fields;
  size_t close = text.rfind(')');
  if (close == std::string::npos) return fields;
  std::istringstream rest(text.substr(close + 1));
  for (std::string f; rest >> f;) fields.push_back(f);
  return fields;
}
std::string stat_field(pid_t pid, int n) {
  auto fields = stat_fields(pid);
  return fields.size() > static_cast<size_t>(n - 3) ? fields[n - 3] : std::string();
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Kills (SIGKILL through a pidfd) and waits for every process it was handed, even when a test
// fails half-way.
class Reaper {
 public:
  explicit Reaper(LiveProcessControl& control) : control_(control) {}
  ~Reaper() {
    for (int fd : pidfds_) {
      control_.kill(fd);
      bool exited = false;
      control_.wait_exit(fd, 5000, &exited);
      control_.close(fd);
    }
  }
  // Takes a pidfd for pid at once, so a later kill cannot reach a reused pid.
  void adopt(pid_t pid) {
    int fd = -1;
    if (control_.pidfd_open(pid, &fd) == 0) pidfds_.push_back(fd);
  }

 private:
  LiveProcessControl& control_;
  std::vector<int> pidfds_;
};

// Waits for a short-lived process to be gone (already reaped counts).
void wait_gone(LiveProcessControl& control, pid_t pid) {
  int fd = -1;
  if (control.pidfd_open(pid, &fd) != 0) return;  // ESRCH: gone and reaped
  bool exited = false;
  control.wait_exit(fd, 10000, &exited);
  control.close(fd);
  EXPECT_TRUE(exited);
}

fs::path temp_path(const std::string& name) {
  return fs::temp_directory_path() / ("lwmi-spawn-" + std::to_string(::getpid()) + "-" + name);
}

TEST(LiveProcessControl, SpawnDetachesIntoItsOwnSessionAndKillsThroughPidfd) {
  LiveProcessControl control;
  Reaper reaper(control);
  SpawnRequest request;
  request.argv = {"/bin/sleep", "30"};
  pid_t pid = -1;
  ASSERT_EQ(control.spawn(request, &pid), 0);
  ASSERT_GT(pid, 0);
  reaper.adopt(pid);

  auto fields = stat_fields(pid);
  ASSERT_GE(fields.size(), 17u);
  EXPECT_NE(fields[0], "Z");
  EXPECT_NE(std::stoi(fields[4 - 3]), ::getpid());  // re-parented: init or a subreaper
  EXPECT_EQ(std::stoi(fields[6 - 3]), pid);         // session leader
  EXPECT_EQ(std::stoi(fields[5 - 3]), pid);         // and process-group leader
  EXPECT_EQ(read_file("/proc/" + std::to_string(pid) + "/comm"), "sleep\n");

  int fd = -1;
  ASSERT_EQ(control.pidfd_open(pid, &fd), 0);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(control.kill(fd), 0);
  bool exited = false;
  EXPECT_EQ(control.wait_exit(fd, 2000, &exited), 0);
  EXPECT_TRUE(exited);
  control.close(fd);
}

using testing::settled_descriptors;

// A new process gets exactly 0–2, even when this process holds descriptors that are not
// close-on-exec (a library's, or one another thread has not flagged yet): a created process
// once received lwmid's listening sockets and other clients' connections.
TEST(LiveProcessControl, ANewProcessGetsOnlyZeroToTwo) {
  int leaky_pipe[2];
  ASSERT_EQ(::pipe(leaky_pipe), 0);  // deliberately without O_CLOEXEC
  int leaky_socket = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(leaky_socket, 0);
  for (bool suspended : {false, true}) {
    SCOPED_TRACE(suspended ? "suspended" : "running");
    LiveProcessControl control;
    Reaper reaper(control);
    SpawnRequest request;
    request.argv = {"/bin/sleep", "30"};
    request.suspended = suspended;
    pid_t pid = -1;
    ASSERT_EQ(control.spawn(request, &pid), 0);
    reaper.adopt(pid);
    EXPECT_EQ(settled_descriptors(pid), (std::vector<int>{0, 1, 2}));
  }
  ::close(leaky_pipe[0]);
  ::close(leaky_pipe[1]);
  ::close(leaky_socket);
}

// Not detached: the caller's own child (it waits for the exit status), stdin the caller's
// descriptor, still exactly 0-2; a failed exec is reaped and reported.
TEST(LiveProcessControl, AnAttachedChildReadsTheGivenStdinAndIsReapedByTheCaller) {
  LiveProcessControl control;
  int leaky = ::open("/dev/null", O_RDONLY);  // deliberately without O_CLOEXEC
  ASSERT_GE(leaky, 0);
  int in[2];
  ASSERT_EQ(::pipe2(in, O_CLOEXEC), 0);
  SpawnRequest request;
  // Exits 7 only when stdin says "ping" and only 0-2 (and ls's own directory) are open.
  request.argv = {
      "/bin/sh", "-c",
      "read x; n=$(ls /proc/self/fd | wc -l); [ \"$x\" = ping ] && [ $n -le 4 ] && exit 7; exit 1"};
  request.detach = false;
  request.stdin_fd = in[0];
  pid_t pid = -1;
  ASSERT_EQ(control.spawn(request, &pid), 0);
  ::close(in[0]);
  ASSERT_EQ(::write(in[1], "ping\n", 5), 5);
  ::close(in[1]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid) << "a child of ours";
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 7);
  ::close(leaky);

  request.argv = {"/nonexistent/lwmi-prog"};
  request.stdin_fd = -1;
  EXPECT_EQ(control.spawn(request, &pid), ENOENT);
  EXPECT_EQ(::waitpid(-1, &status, WNOHANG), -1) << "the failed child was reaped";
  EXPECT_EQ(errno, ECHILD);
}

TEST(LiveProcessControl, PathLookupUsesTheCurrentPath) {
  LiveProcessControl control;
  Reaper reaper(control);
  SpawnRequest request;
  request.argv = {"sleep", "30"};
  pid_t pid = -1;
  ASSERT_EQ(control.spawn(request, &pid), 0);
  reaper.adopt(pid);
  EXPECT_EQ(read_file("/proc/" + std::to_string(pid) + "/comm"), "sleep\n");
}

TEST(LiveProcessControl, MissingProgramIsEnoent) {
  LiveProcessControl control;
  pid_t pid = -1;
  SpawnRequest request;
  request.argv = {"lwmi-no-such-program-4f1c"};
  EXPECT_EQ(control.spawn(request, &pid), ENOENT);
  request.replace_environment = true;
  request.environment = {"FOO=bar"};
  EXPECT_EQ(control.spawn(request, &pid), ENOENT);
  request.suspended = true;
  EXPECT_EQ(control.spawn(request, &pid), ENOENT);
  request = SpawnRequest();
  request.argv = {"/nonexistent/lwmi-prog"};
  EXPECT_EQ(control.spawn(request, &pid), ENOENT);
  request.argv = {""};
  EXPECT_EQ(control.spawn(request, &pid), ENOENT);
}

TEST(LiveProcessControl, BadRequestsAreEinval) {
  LiveProcessControl control;
  pid_t pid = -1;
  SpawnRequest request;
  EXPECT_EQ(control.spawn(request, &pid), EINVAL);  // no argv
  request.argv = {"/bin/sleep", std::string("3\0"
                                            "0",
                                            3)};
  EXPECT_EQ(control.spawn(request, &pid), EINVAL);  // embedded NUL
}

TEST(LiveProcessControl, NonExecutableFileIsEacces) {
  LiveProcessControl control;
  fs::path file = temp_path("noexec");
  std::ofstream(file) << "#!/bin/sh\nexit 0\n";
  fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write);
  pid_t pid = -1;
  SpawnRequest request;
  request.argv = {file.string()};
  EXPECT_EQ(control.spawn(request, &pid), EACCES);
  request.suspended = true;
  EXPECT_EQ(control.spawn(request, &pid), EACCES);
  fs::remove(file);
}

TEST(LiveProcessControl, MissingDirectoryIsEnoent) {
  LiveProcessControl control;
  SpawnRequest request;
  request.argv = {"/bin/sleep", "30"};
  request.directory = "/nonexistent";
  pid_t pid = -1;
  EXPECT_EQ(control.spawn(request, &pid), ENOENT);
  EXPECT_EQ(pid, -1);
}

TEST(LiveProcessControl, RunsInTheRequestedDirectory) {
  LiveProcessControl control;
  Reaper reaper(control);
  fs::path out = temp_path("pwd");
  fs::remove(out);
  SpawnRequest request;
  request.argv = {"sh", "-c", "pwd > '" + out.string() + "'"};
  request.directory = "/tmp";
  pid_t pid = -1;
  ASSERT_EQ(control.spawn(request, &pid), 0);
  wait_gone(control, pid);
  EXPECT_EQ(read_file(out), fs::canonical("/tmp").string() + "\n");
  fs::remove(out);
}

TEST(LiveProcessControl, ReplacedEnvironmentIsTheWholeEnvironment) {
  LiveProcessControl control;
  fs::path out = temp_path("env");
  fs::remove(out);
  ASSERT_EQ(::setenv("LWMI_SPAWN_TEST_PARENT", "1", 1), 0);
  SpawnRequest request;
  request.argv = {"sh", "-c", "env > '" + out.string() + "'"};  // sh: on the current PATH
  request.replace_environment = true;
  request.environment = {"FOO=bar"};
  pid_t pid = -1;
  ASSERT_EQ(control.spawn(request, &pid), 0);
  wait_gone(control, pid);
  std::string env = read_file(out);
  EXPECT_NE(env.find("FOO=bar\n"), std::string::npos) << env;
  EXPECT_EQ(env.find("LWMI_SPAWN_TEST_PARENT"), std::string::npos) << env;

  // Without replacement, the current environment is inherited.
  request.replace_environment = false;
  ASSERT_EQ(control.spawn(request, &pid), 0);
  wait_gone(control, pid);
  env = read_file(out);
  EXPECT_NE(env.find("LWMI_SPAWN_TEST_PARENT=1\n"), std::string::npos) << env;
  EXPECT_EQ(env.find("FOO=bar\n"), std::string::npos) << env;
  ::unsetenv("LWMI_SPAWN_TEST_PARENT");
  fs::remove(out);
}

TEST(LiveProcessControl, SpawnWithNice) {
  LiveProcessControl control;
  Reaper reaper(control);
  SpawnRequest request;
  request.argv = {"/bin/sleep", "30"};
  request.set_nice = true;
  request.nice = 10;
  pid_t pid = -1;
  ASSERT_EQ(control.spawn(request, &pid), 0);
  reaper.adopt(pid);
  EXPECT_EQ(stat_field(pid, 19), "10");
}

TEST(LiveProcessControl, SetNiceOfARunningProcess) {
  LiveProcessControl control;
  Reaper reaper(control);
  SpawnRequest request;
  request.argv = {"/bin/sleep", "30"};
  pid_t pid = -1;
  ASSERT_EQ(control.spawn(request, &pid), 0);
  reaper.adopt(pid);
  int before = std::stoi(stat_field(pid, 19));
  int target = before < 15 ? before + 5 : 19;  // raising nice needs no privilege
  EXPECT_EQ(control.set_nice(pid, target), 0);
  EXPECT_EQ(stat_field(pid, 19), std::to_string(target));
  EXPECT_EQ(control.set_nice(0x3fffffff, 5), ESRCH);
}

// Returns the value of a "Name:\t…" line of /proc/PID/status.
std::string status_line(pid_t pid, const std::string& name) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(name + ":", 0) == 0) return line.substr(name.size() + 1);
  return std::string();
}

TEST(LiveProcessControl, ChangesIdentityGroupsThenGidThenUid) {
  LiveProcessControl control;
  Reaper reaper(control);
  SpawnRequest request;
  request.argv = {"/bin/sleep", "30"};
  request.change_identity = true;
  request.uid = 65534;
  request.gid = 65533;
  request.groups = {65531, 65532};  // the kernel lists them sorted
  pid_t pid = -1;
  if (::geteuid() != 0) {
    EXPECT_EQ(control.spawn(request, &pid), EPERM);  // setgroups needs CAP_SETGID
    return;
  }
  ASSERT_EQ(control.spawn(request, &pid), 0);
  reaper.adopt(pid);
  EXPECT_EQ(status_line(pid, "Uid"), "\t65534\t65534\t65534\t65534");
  EXPECT_EQ(status_line(pid, "Gid"), "\t65533\t65533\t65533\t65533");
  EXPECT_EQ(status_line(pid, "Groups"), "\t65531 65532 ");
}

TEST(LiveProcessControl, SuspendedProcessIsStoppedUntilContinued) {
  LiveProcessControl control;
  Reaper reaper(control);
  SpawnRequest request;
  request.argv = {"/bin/sleep", "30"};
  request.suspended = true;
  pid_t pid = -1;
  ASSERT_EQ(control.spawn(request, &pid), 0);
  reaper.adopt(pid);
  EXPECT_EQ(stat_field(pid, 3), "T");
  EXPECT_NE(std::stoi(stat_field(pid, 4)), ::getpid());
  EXPECT_EQ(std::stoi(stat_field(pid, 6)), pid);

  // Continued, it runs the program.
  ASSERT_EQ(::kill(pid, SIGCONT), 0);
  std::string comm;
  for (int i = 0; i < 200; ++i) {
    comm = read_file("/proc/" + std::to_string(pid) + "/comm");
    if (comm == "sleep\n") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(comm, "sleep\n");
  EXPECT_NE(stat_field(pid, 3), "T");
}

TEST(LiveProcessControl, WaitExitTimesOutOnALiveProcess) {
  LiveProcessControl control;
  Reaper reaper(control);
  SpawnRequest request;
  request.argv = {"/bin/sleep", "30"};
  pid_t pid = -1;
  ASSERT_EQ(control.spawn(request, &pid), 0);
  reaper.adopt(pid);
  int fd = -1;
  ASSERT_EQ(control.pidfd_open(pid, &fd), 0);
  auto start = std::chrono::steady_clock::now();
  bool exited = true;
  EXPECT_EQ(control.wait_exit(fd, 100, &exited), 0);
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(exited);
  EXPECT_GE(elapsed, std::chrono::milliseconds(90));
  control.close(fd);
}

TEST(LiveProcessControl, PidfdOpenOfNoSuchProcessIsEsrch) {
  LiveProcessControl control;
  int fd = -1;
  EXPECT_EQ(control.pidfd_open(0x3fffffff, &fd), ESRCH);
  EXPECT_EQ(fd, -1);
}

// Counts closes: a ControlledPidfd closes through its control, once, on every path.
class CountingControl : public ProcessControl {
 public:
  std::vector<int> closed;
  int pidfd_open(pid_t pid, int* fd) override {
    if (pid == 0x3fffffff) return ESRCH;
    *fd = 90 + static_cast<int>(pid);
    return 0;
  }
  int kill(int) override { return 0; }
  int wait_exit(int, int, bool* exited) override {
    *exited = true;
    return 0;
  }
  void close(int fd) override { closed.push_back(fd); }
  int set_nice(pid_t, int) override { return 0; }
  int spawn(const SpawnRequest&, pid_t*) override { return ENOSYS; }
};

TEST(ControlledPidfd, ClosesThroughItsControlOnceOnEveryPath) {
  CountingControl control;
  {
    ControlledPidfd a;
    ASSERT_EQ(open_pidfd(control, 1, &a), 0);
    EXPECT_EQ(a.get(), 91);
    ControlledPidfd b(std::move(a));
    EXPECT_EQ(a.get(), -1) << "a moved-from handle owns nothing";
    ASSERT_EQ(open_pidfd(control, 2, &a), 0);
    a = std::move(b);  // closes 92, takes 91
    EXPECT_EQ(control.closed, std::vector<int>{92});
  }
  EXPECT_EQ(control.closed, (std::vector<int>{92, 91})) << "each closed once, none twice";
  ControlledPidfd none;
  EXPECT_EQ(open_pidfd(control, 0x3fffffff, &none), ESRCH);
  none.reset();
  EXPECT_EQ(control.closed.size(), 2u) << "nothing opened: nothing closed";
}

}  // namespace
}  // namespace lwmi::os
