#include "security/caller.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "os/proc_fs.h"

namespace lwmi::security {

TEST(Privilege, NamesParseBothForms) {
  EXPECT_EQ(parse_privilege("sedebugprivilege"), Privilege::kDebug);
  EXPECT_EQ(parse_privilege("Debug"), Privilege::kDebug);
  EXPECT_EQ(parse_privilege("SeIncreaseBasePriorityPrivilege"), Privilege::kIncreaseBasePriority);
  EXPECT_EQ(parse_privilege("SeBackupPrivilege"), std::nullopt);
  EXPECT_EQ(privilege_name(Privilege::kDebug), "SeDebugPrivilege");
}

TEST(Caller, EnablingNeedsHolding) {
  Caller c;
  EXPECT_FALSE(c.enable(Privilege::kDebug));
  EXPECT_FALSE(c.can(Privilege::kDebug));
  c.held.add(Privilege::kDebug);
  EXPECT_FALSE(c.can(Privilege::kDebug)) << "held but not enabled";
  EXPECT_TRUE(c.enable(Privilege::kDebug));
  EXPECT_TRUE(c.can(Privilege::kDebug));
}

TEST(Caller, CurrentProcessIdentity) {
  Caller c = Caller::current_process();
  EXPECT_EQ(c.uid, ::getuid());
  EXPECT_EQ(c.pid, ::getpid());
  EXPECT_TRUE(c.embedded);
  EXPECT_TRUE(c.enabled.empty()) << "nothing is enabled by default";
  if (::geteuid() == 0) EXPECT_TRUE(c.held.has(Privilege::kDebug));
}

// A peer is named by its pid AND a pidfd (or its start time) taken when it connected: once it
// exits (its pid free for another process), the pid no longer names it, and it is nowhere.
TEST(Caller, PeerIdentityEndsWithTheProcess) {
  const os::ProcFs proc("/proc");
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  Caller::PeerIdentity by_fd, by_start;
  by_fd.pidfd = static_cast<int>(::syscall(SYS_pidfd_open, child, 0));
  ASSERT_GE(by_fd.pidfd, 0);
  ASSERT_EQ(proc.start_ticks(child, &by_start.start_ticks), 0);
  EXPECT_TRUE(Caller::is_same_process(proc, child, by_fd));
  EXPECT_TRUE(Caller::is_same_process(proc, child, by_start));
  EXPECT_FALSE(Caller::is_same_process(proc, child + 1, by_fd)) << "another pid";
  EXPECT_FALSE(Caller::is_same_process(proc, child, Caller::PeerIdentity{}))
      << "nothing to check against: not the same";
  // Alive, in our namespaces: the pidfd changes nothing.
  auto ns = Caller::peer_namespaces(proc, child, &by_fd);
  EXPECT_TRUE(ns.same_user_ns);
  EXPECT_FALSE(ns.pid_ns);
  ::kill(child, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_FALSE(Caller::is_same_process(proc, child, by_fd)) << "reaped: the pidfd says so";
  EXPECT_FALSE(Caller::is_same_process(proc, child, by_start));
  ns = Caller::peer_namespaces(proc, child, &by_fd);
  EXPECT_FALSE(ns.same_user_ns);
  ASSERT_TRUE(ns.pid_ns) << "nowhere";
  EXPECT_EQ(ns.pid_ns->level, UINT32_MAX);
  ::close(by_fd.pidfd);
}

}  // namespace lwmi::security
