#include "os/bpf_monitor.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "os/bpf/abi.h"
#include "os/descriptors.h"
#include "os/pid_namespace.h"
#include "os/testing/own_session.h"

extern char** environ;

namespace lwmi::os {
namespace {

namespace fs = std::filesystem;

// In a child pid namespace (a container), BPF records would carry host pids as the caller's
// own (an embedded watch there reported host pid 14446 for its pid 8), and getpid() would name
// the wrong process to protect: the monitor refuses to load there, so the sources fall back.
TEST(BpfNamespaces, RefusedInAChildPidNamespace) {
  EXPECT_TRUE(in_initial_pid_namespace());
  pid_t outer = ::fork();
  ASSERT_GE(outer, 0);
  if (outer == 0) {
    if (::unshare(CLONE_NEWPID) != 0) ::_exit(77);  // not allowed here
    pid_t inner = ::fork();
    if (inner < 0) ::_exit(78);
    if (inner == 0) {
      if (in_initial_pid_namespace()) ::_exit(1);
      auto m = BpfMonitor::load();
      if (m.ok()) ::_exit(2);
      if (m.error().message.find("pid namespace") == std::string::npos) ::_exit(3);
      ::_exit(0);
    }
    int st = 0;
    if (::waitpid(inner, &st, 0) != inner || !WIFEXITED(st)) ::_exit(79);
    ::_exit(WEXITSTATUS(st));
  }
  int st = 0;
  ASSERT_EQ(::waitpid(outer, &st, 0), outer);
  ASSERT_TRUE(WIFEXITED(st));
  if (WEXITSTATUS(st) >= 77) GTEST_SKIP() << "no child pid namespace here: " << WEXITSTATUS(st);
  EXPECT_EQ(WEXITSTATUS(st), 0) << "1: seen as the initial namespace; 2: loaded; 3: wrong reason";
}

TEST(BpfPath, ComponentsComeLeafFirst) {
  const char data[] = "c\0b\0a";
  EXPECT_EQ(path_from_parts(data, sizeof(data), 3, false), "/a/b/c");
  EXPECT_EQ(path_from_parts(data, sizeof(data), 2, false), "/b/c");
  EXPECT_EQ(path_from_parts(data, sizeof(data), 3, true), "…/a/b/c");
  EXPECT_EQ(path_from_parts(data, 0, 0, false), "/");
}

TEST(BpfGuardKey, DevicesUseTheKernelsEncoding) {
  EXPECT_EQ(kernel_dev(makedev(8, 1)), (8u << 20) | 1u);
  EXPECT_EQ(kernel_dev(makedev(259, 300)), (259ull << 20) | 300u);
}

TEST(BpfGuardKey, NamesAreBounded) {
  lwmi_rule_key k;
  GuardKey g;
  g.kind = GuardKey::Kind::kFileName;
  g.name = "x";
  EXPECT_TRUE(encode_guard_key(g, &k));
  EXPECT_EQ(k.uid, LWMI_ANY_UID);
  EXPECT_EQ(k.name[0], 'x');
  EXPECT_EQ(k.name[1], '\0');
  g.name = std::string(255, 'n');
  EXPECT_TRUE(encode_guard_key(g, &k));
  g.name = std::string(256, 'n');
  EXPECT_FALSE(encode_guard_key(g, &k));
  g.name = "";
  EXPECT_FALSE(encode_guard_key(g, &k));
  g.kind = GuardKey::Kind::kComm;
  g.name = std::string(15, 'c');
  EXPECT_TRUE(encode_guard_key(g, &k));
  g.name = std::string(16, 'c');
  EXPECT_FALSE(encode_guard_key(g, &k));
  g.kind = GuardKey::Kind::kIdentity;
  g.name = "";
  g.uid = 1000;
  EXPECT_TRUE(encode_guard_key(g, &k));
  EXPECT_EQ(k.uid, 1000u);
}

// The real kernel: these load the programs (root here and in CI).
class BpfKernel : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = BpfMonitor::shared();
    if (!m.ok()) GTEST_SKIP() << "BPF cannot load here: " << m.error().message;
    monitor_ = *m;
    dir_ = fs::temp_directory_path() / ("lwmi-bpf-test-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  // A copy of /bin/sh named `name` in the test's directory.
  fs::path program(const std::string& name) {
    fs::path p = dir_ / name;
    fs::copy_file("/bin/sh", p, fs::copy_options::overwrite_existing);
    fs::permissions(p, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
    return p;
  }
  pid_t spawn(const fs::path& prog, std::vector<std::string> args) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    EXPECT_EQ(posix_spawn(&pid, prog.c_str(), nullptr, nullptr, argv.data(), environ), 0);
    return pid;
  }
  static int wait_status(pid_t pid) {
    int st = 0;
    EXPECT_EQ(waitpid(pid, &st, 0), pid);
    return st;
  }
  // The first event read (now or before) for which `pred` holds; waits up to 5 s.
  template <class Pred>
  std::optional<ProcEvent> await(BpfProcEvents& src, Pred pred) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    for (;;) {
      for (auto it = seen_.begin(); it != seen_.end(); ++it)
        if (pred(*it)) {
          ProcEvent e = *it;
          seen_.erase(it);
          return e;
        }
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      auto n = src.read(&seen_, 100);
      EXPECT_TRUE(n.ok());
    }
  }

  std::shared_ptr<BpfMonitor> monitor_;
  fs::path dir_;
  std::vector<ProcEvent> seen_;
};

TEST_F(BpfKernel, AShortLivedProcessIsFullyDescribed) {
  BpfProcEvents src(monitor_);
  ASSERT_TRUE(src.start().ok());
  fs::path prog = program("lwmi-short");
  pid_t pid = spawn(prog, {"lwmi-short", "-c", "exit 3", "second arg"});
  const int st = wait_status(pid);
  ASSERT_TRUE(WIFEXITED(st));
  auto exec = await(
      src, [&](const ProcEvent& e) { return e.kind == ProcEvent::Kind::kExec && e.tgid == pid; });
  ASSERT_TRUE(exec);
  ASSERT_TRUE(exec->record);
  const ProcessRecord& r = *exec->record;
  EXPECT_EQ(r.exe, fs::canonical(prog).string());
  EXPECT_EQ(r.argv, (std::vector<std::string>{"lwmi-short", "-c", "exit 3", "second arg"}));
  EXPECT_EQ(r.comm, "lwmi-short");
  EXPECT_EQ(r.uid, ::getuid());
  EXPECT_EQ(r.euid, ::geteuid());
  EXPECT_EQ(r.ppid, ::getpid());
  struct stat sb;
  ASSERT_EQ(::stat(prog.c_str(), &sb), 0);
  EXPECT_EQ(r.ino, sb.st_ino);
  EXPECT_EQ(r.dev, kernel_dev(sb.st_dev)) << "the kernel's device encoding";
  EXPECT_NE(r.start_ns, 0u);
  EXPECT_FALSE(exec->blocked);
  auto exit = await(
      src, [&](const ProcEvent& e) { return e.kind == ProcEvent::Kind::kExit && e.tgid == pid; });
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->exit_code, 3u << 8);
}

// A memfd has no directory: its path is its own name, as /proc/PID/exe shows it (less the
// " (deleted)"), so a program run from memory is visible as such.
TEST_F(BpfKernel, AProgramRunFromAMemfdIsNamedByIt) {
  BpfProcEvents src(monitor_);
  ASSERT_TRUE(src.start().ok());
  std::string bytes;
  ASSERT_EQ(read_file("/bin/true", &bytes), 0);
  pid_t pid = fork();
  if (pid == 0) {
    int fd = memfd_create("lwmi-memfd", MFD_CLOEXEC);
    if (fd < 0 || write(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size()))
      _exit(126);
    char* argv[] = {const_cast<char*>("x"), nullptr};
    fexecve(fd, argv, environ);
    _exit(127);
  }
  ASSERT_GT(pid, 0);
  EXPECT_EQ(wait_status(pid), 0);
  auto exec = await(
      src, [&](const ProcEvent& e) { return e.kind == ProcEvent::Kind::kExec && e.tgid == pid; });
  ASSERT_TRUE(exec);
  ASSERT_TRUE(exec->record);
  EXPECT_EQ(exec->record->exe, "/memfd:lwmi-memfd");
}

TEST_F(BpfKernel, TheStartTimeIsTheOneProcShows) {
  BpfProcEvents src(monitor_);
  ASSERT_TRUE(src.start().ok());
  pid_t pid = spawn("/bin/sleep", {"sleep", "5"});
  auto fork = await(
      src, [&](const ProcEvent& e) { return e.kind == ProcEvent::Kind::kFork && e.tgid == pid; });
  ASSERT_TRUE(fork);
  ASSERT_TRUE(fork->record);
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), {});
  auto fields = stat.substr(stat.rfind(')') + 2);
  std::istringstream ss(fields);
  std::string f;
  for (int i = 3; i <= 22; ++i) ss >> f;  // field 22: starttime
  const uint64_t tick_ns = 1000000000ull / static_cast<uint64_t>(sysconf(_SC_CLK_TCK));
  EXPECT_EQ(fork->record->start_ns / tick_ns, std::stoull(f));
  kill(pid, SIGKILL);
  wait_status(pid);
}

TEST_F(BpfKernel, ANameRuleKillsBeforeTheFirstInstruction) {
  BpfProcEvents src(monitor_);
  ASSERT_TRUE(src.start().ok());
  fs::path prog = program("lwmi-forbidden");
  fs::path allowed = program("lwmi-allowed");
  GuardKey key;
  key.kind = GuardKey::Kind::kFileName;
  key.name = "lwmi-forbidden";
  ASSERT_TRUE(monitor_->add_rule(key, 4242).ok());
  const std::string mark = (dir_ / "written").string();
  for (int i = 0; i < 20; ++i) {
    pid_t pid = spawn(prog, {"lwmi-forbidden", "-c", "echo x > " + mark});
    const int st = wait_status(pid);
    EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) << "status " << st;
  }
  EXPECT_FALSE(fs::exists(mark)) << "a blocked program ran";
  pid_t ok = spawn(allowed, {"lwmi-allowed", "-c", "echo x > " + mark});
  EXPECT_EQ(wait_status(ok), 0);
  EXPECT_TRUE(fs::exists(mark));
  auto blocked = await(src, [&](const ProcEvent& e) { return e.blocked; });
  ASSERT_TRUE(blocked);
  EXPECT_EQ(blocked->blocked_rule, 4242u);
  ASSERT_TRUE(blocked->record);
  EXPECT_EQ(blocked->record->exe, fs::canonical(prog).string());
  EXPECT_EQ(monitor_->rule_state(4242).blocked, 20u);
  monitor_->remove_rule(key);
  monitor_->forget_rule(4242);
  fs::remove(mark);
  pid_t after = spawn(prog, {"lwmi-forbidden", "-c", "echo x > " + mark});
  EXPECT_EQ(wait_status(after), 0);
  EXPECT_TRUE(fs::exists(mark)) << "a removed rule still blocks";
}

TEST_F(BpfKernel, AnIdentityRuleFollowsTheFileNotItsName) {
  fs::path prog = program("lwmi-ident");
  fs::path link = dir_ / "lwmi-hardlink";
  fs::create_hard_link(prog, link);
  struct stat sb;
  ASSERT_EQ(::stat(prog.c_str(), &sb), 0);
  GuardKey key;
  key.kind = GuardKey::Kind::kIdentity;
  key.dev = kernel_dev(sb.st_dev);
  key.ino = sb.st_ino;
  ASSERT_TRUE(monitor_->add_rule(key, 4243).ok());
  for (const auto& p : {prog, link}) {
    const int st = wait_status(spawn(p, {"x", "-c", "true"}));
    EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) << p << " status " << st;
  }
  monitor_->remove_rule(key);
  monitor_->forget_rule(4243);
  EXPECT_EQ(wait_status(spawn(prog, {"x", "-c", "true"})), 0);
}

TEST_F(BpfKernel, AUidRuleSparesOtherUsers) {
  fs::path prog = program("lwmi-uidrule");
  GuardKey key;
  key.kind = GuardKey::Kind::kFileName;
  key.name = "lwmi-uidrule";
  key.uid = ::getuid() + 1;  // not us
  ASSERT_TRUE(monitor_->add_rule(key, 4244).ok());
  EXPECT_EQ(wait_status(spawn(prog, {"x", "-c", "true"})), 0);
  monitor_->remove_rule(key);
  key.uid = ::getuid();
  ASSERT_TRUE(monitor_->add_rule(key, 4244).ok());
  const int st = wait_status(spawn(prog, {"x", "-c", "true"}));
  EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) << st;
  monitor_->remove_rule(key);
  monitor_->forget_rule(4244);
}

// The largest mapping of a BPF map in this process, in bytes (the ring buffer's data area).
size_t largest_bpf_map_mapping() {
  std::string maps;
  if (read_file("/proc/self/maps", &maps) != 0) return 0;
  std::istringstream in(maps);
  size_t largest = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.find("anon_inode:bpf-map") == std::string::npos) continue;
    unsigned long start = 0, end = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx", &start, &end) == 2)
      largest = std::max<size_t>(largest, end - start);
  }
  return largest;
}

// fork() copies the page tables of the ring buffer's mapping eagerly, which made every fork of
// the loading process (lwmid's Create) about 1.5 ms slower: a child does not inherit it.
TEST_F(BpfKernel, AForkedChildDoesNotInheritTheRingBuffer) {
  ASSERT_GE(largest_bpf_map_mapping(), size_t{16} << 20) << "the ring buffer is not mapped here";
  pid_t pid = fork();
  if (pid == 0) _exit(largest_bpf_map_mapping() == 0 ? 0 : 1);
  ASSERT_GT(pid, 0);
  EXPECT_EQ(wait_status(pid), 0) << "the child has a copy of the ring buffer's mapping";
}

TEST_F(BpfKernel, TheBreakerOpensAfterTooManyBlocks) {
  fs::path prog = program("lwmi-storm");
  GuardKey key;
  key.kind = GuardKey::Kind::kFileName;
  key.name = "lwmi-storm";
  monitor_->set_breaker(5);
  ASSERT_TRUE(monitor_->add_rule(key, 4245).ok());
  int killed = 0, ran = 0;
  for (int i = 0; i < 12; ++i) {
    const int st = wait_status(spawn(prog, {"x", "-c", "true"}));
    if (WIFSIGNALED(st)) ++killed;
    if (WIFEXITED(st)) ++ran;
  }
  monitor_->set_breaker(0);
  EXPECT_EQ(killed, 5);
  EXPECT_EQ(ran, 7);
  EXPECT_TRUE(monitor_->rule_state(4245).tripped);
  monitor_->remove_rule(key);
  monitor_->forget_rule(4245);
}

// Every key an exec matches is tried until a rule blocks: one rule's exempt session or open
// breaker never spares a process another rule blocks (here a file-name rule and a comm rule).
TEST_F(BpfKernel, AnExemptOrTrippedRuleDoesNotShadowAnother) {
  BpfProcEvents src(monitor_);
  ASSERT_TRUE(src.start().ok());
  fs::path prog = program("lwmi-shadow");
  GuardKey by_name;
  by_name.kind = GuardKey::Kind::kFileName;
  by_name.name = "lwmi-shadow";
  GuardKey by_comm = by_name;
  by_comm.kind = GuardKey::Kind::kComm;
  by_comm.name = "lwmi-shadow";
  const uint32_t mine = os::testing::own_session();
  ASSERT_NE(mine, 0u) << "no session of its own";
  ASSERT_TRUE(monitor_->add_rule(by_name, 4246, mine).ok());
  EXPECT_EQ(wait_status(spawn(prog, {"lwmi-shadow", "-c", "true"})), 0) << "its exempt session";
  ASSERT_TRUE(monitor_->add_rule(by_comm, 4247).ok());
  pid_t pid = spawn(prog, {"lwmi-shadow", "-c", "true"});
  int st = wait_status(pid);
  EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) << "the exempt rule spared it: " << st;
  auto blocked = await(src, [&](const ProcEvent& e) { return e.blocked && e.tgid == pid; });
  ASSERT_TRUE(blocked);
  EXPECT_EQ(blocked->blocked_rule, 4247u);
  monitor_->remove_rule(by_comm);
  monitor_->forget_rule(4247);

  // The file-name rule again, for every session, until its breaker opens.
  monitor_->set_breaker(1);
  ASSERT_TRUE(monitor_->add_rule(by_name, 4246).ok());
  for (int i = 0; i < 100 && !monitor_->rule_state(4246).tripped; ++i)
    wait_status(spawn(prog, {"lwmi-shadow", "-c", "true"}));
  ASSERT_TRUE(monitor_->rule_state(4246).tripped);
  EXPECT_EQ(wait_status(spawn(prog, {"lwmi-shadow", "-c", "true"})), 0);
  ASSERT_TRUE(monitor_->add_rule(by_comm, 4247).ok());
  st = wait_status(spawn(prog, {"lwmi-shadow", "-c", "true"}));
  monitor_->set_breaker(0);
  EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) << "the tripped rule spared it: " << st;
  monitor_->remove_rule(by_name);
  monitor_->remove_rule(by_comm);
  monitor_->forget_rule(4246);
  monitor_->forget_rule(4247);
}

}  // namespace
}  // namespace lwmi::os
