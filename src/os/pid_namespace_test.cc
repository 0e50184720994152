#include "os/pid_namespace.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace lwmi::os {
namespace fs = std::filesystem;

TEST(PidNamespace, ParsesNspid) {
  EXPECT_EQ(parse_nspid("Name:\tsleep\nNSpid:\t4242\t7\t1\nUid:\t0\n"),
            (std::vector<int32_t>{4242, 7, 1}));
  EXPECT_EQ(parse_nspid("NSpid:\t12\n"), (std::vector<int32_t>{12}));
  EXPECT_TRUE(parse_nspid("Name:\tx\n").empty()) << "no NSpid line";
  EXPECT_TRUE(parse_nspid("NSpid:\t12\tx\n").empty()) << "malformed: refused, not half-read";
  EXPECT_TRUE(parse_nspid("NSpid:\t0\n").empty());
  EXPECT_TRUE(parse_nspid("NSpid:\t99999999999\n").empty());
}

TEST(PidNamespace, ParsesNsLink) {
  EXPECT_EQ(parse_ns_link("pid:[4026531836]"), 4026531836u);
  EXPECT_EQ(parse_ns_link("net:[4026531836]"), std::nullopt);
  EXPECT_EQ(parse_ns_link("pid:[]"), std::nullopt);
  EXPECT_EQ(parse_ns_link("pid:[12"), std::nullopt);
  EXPECT_EQ(parse_ns_link("pid:[1x]"), std::nullopt);
}

// A captured tree: host processes 1 and 100, a container (namespace 9001, level 1) whose init is
// host 200 (pid 1 inside) with a child host 201 (pid 5 inside), and a sibling container 9002
// whose init is host 300 (also pid 1 inside).
class PidViewTree : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("lwmi-pidns-" + std::to_string(::getpid()));
    fs::remove_all(root_);
    add(1, "1", 4026531836);
    add(100, "100", 4026531836);
    add(200, "200\t1", 9001);
    add(201, "201\t5", 9001);
    add(300, "300\t1", 9002);
  }
  void TearDown() override { fs::remove_all(root_); }
  void add(int pid, const std::string& nspid, uint64_t ns) {
    fs::create_directories(root_ / std::to_string(pid) / "ns");
    std::ofstream(root_ / std::to_string(pid) / "status")
        << "Name:\tx\nTgid:\t" << pid << "\nNSpid:\t" << nspid << "\n";
    fs::create_symlink("pid:[" + std::to_string(ns) + "]",
                       root_ / std::to_string(pid) / "ns" / "pid");
  }
  fs::path root_;
};

TEST_F(PidViewTree, NamespaceOfAProcess) {
  ProcFs p(root_.string());
  EXPECT_EQ(pid_namespace_of(p, 201), (PidNamespaceId{9001, 1}));
  EXPECT_EQ(pid_namespace_of(p, 100), (PidNamespaceId{4026531836, 0}));
  EXPECT_EQ(pid_namespace_of(p, 999), std::nullopt) << "gone";
}

TEST_F(PidViewTree, TranslatesBothWaysAndHidesTheRest) {
  ProcFs p(root_.string());
  PidView v(&p, {9001, 1});
  EXPECT_EQ(v.to_view(200), 1);
  EXPECT_EQ(v.to_view(201), 5);
  EXPECT_EQ(v.to_view(1), std::nullopt) << "the host's init is outside";
  EXPECT_EQ(v.to_view(100), std::nullopt);
  EXPECT_EQ(v.to_view(300), std::nullopt) << "a sibling container at the same level";
  EXPECT_EQ(v.to_host(1), 200);
  EXPECT_EQ(v.to_host(5), 201);
  EXPECT_EQ(v.to_host(100), std::nullopt) << "a host pid named from inside is not found";
  EXPECT_EQ(v.to_host(300), std::nullopt);
  EXPECT_EQ(v.to_host(0), std::nullopt);
  PidView other(&p, {9002, 1});
  EXPECT_EQ(other.to_host(1), 300) << "each container's pid 1 is its own";
}

TEST_F(PidViewTree, NspidThatDisagreesWithTheDirectoryIsRefused) {
  fs::remove_all(root_ / "201");
  add(201, "555\t5", 9001);  // status claims another host pid
  ProcFs p(root_.string());
  PidView v(&p, {9001, 1});
  EXPECT_EQ(v.to_view(201), std::nullopt);
  EXPECT_EQ(v.to_host(5), std::nullopt);
}

// The live kernel: a child in a new pid namespace (pid 1 there) and its own child (pid 2).
TEST(PidViewLive, ChildNamespace) {
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t outer = ::fork();
  ASSERT_GE(outer, 0);
  if (outer == 0) {
    ::close(ready[0]);
    if (::unshare(CLONE_NEWPID) != 0) {
      char no = 'n';
      (void)!::write(ready[1], &no, 1);
      _exit(0);
    }
    pid_t init = ::fork();  // pid 1 of the new namespace
    if (init == 0) {
      pid_t child = ::fork();  // pid 2
      if (child == 0) {
        ::pause();
        _exit(0);
      }
      char yes = 'y';
      (void)!::write(ready[1], &yes, 1);
      ::pause();
      _exit(0);
    }
    int st;
    ::waitpid(init, &st, 0);
    _exit(0);
  }
  ::close(ready[1]);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  if (c != 'y') {
    ::kill(outer, SIGKILL);
    ::waitpid(outer, nullptr, 0);
    GTEST_SKIP() << "unshare(CLONE_NEWPID) is not allowed here";
  }
  // Find the namespace's init: the child of `outer`.
  ProcFs p;
  std::optional<int32_t> init_host, child_host;
  for (int tries = 0; tries < 200 && !child_host; ++tries) {
    auto scan = p.scan();
    int32_t pid;
    while (scan.next(&pid)) {
      std::string stat;
      if (p.read(pid, "stat", &stat) != 0) continue;
      auto close = stat.rfind(')');
      if (close == std::string::npos) continue;
      int ppid = 0;
      char state;
      if (std::sscanf(stat.c_str() + close + 1, " %c %d", &state, &ppid) != 2) continue;
      if (ppid == outer) init_host = pid;
      if (init_host && ppid == *init_host) child_host = pid;
    }
    if (!child_host) ::usleep(10000);
  }
  ASSERT_TRUE(init_host && child_host);
  auto ns = pid_namespace_of(p, *child_host);
  ASSERT_TRUE(ns);
  auto self_ns = pid_namespace_of(p, ::getpid());
  ASSERT_TRUE(self_ns);
  EXPECT_EQ(ns->level, self_ns->level + 1);
  EXPECT_NE(ns->inode, self_ns->inode);
  PidView v(&p, *ns);
  EXPECT_EQ(v.to_view(*init_host), 1);
  EXPECT_EQ(v.to_view(*child_host), 2);
  EXPECT_EQ(v.to_view(::getpid()), std::nullopt) << "the test itself is outside";
  EXPECT_EQ(v.to_host(1), *init_host);
  EXPECT_EQ(v.to_host(2), *child_host);
  // A process of ours whose host pid is some small number is never reached through the view.
  EXPECT_EQ(v.to_host(::getpid()), std::nullopt);
  // The view of the test's own namespace at level 0 sees the namespace's processes too (nested).
  PidView mine(&p, *self_ns);
  EXPECT_EQ(mine.to_view(*child_host), *child_host);
  ::kill(*init_host, SIGKILL);  // ends the namespace: its other process goes with it
  ::kill(outer, SIGKILL);
  ::waitpid(outer, nullptr, 0);
}

}  // namespace lwmi::os
