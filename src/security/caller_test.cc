#include "security/caller.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <string>

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
  EXPECT_EQ(*ns.pid_ns, Caller::kNowhere);
  ::close(by_fd.pidfd);
}

// One owner rule for enumeration contexts and subscriptions: the uid and where the caller is.
TEST(Caller, OwnerIsTheUidAndWhereTheCallerIs) {
  Caller host;
  host.uid = 1000;
  Caller child = host;
  child.pid_ns = os::PidNamespaceId{4026532301, 1};
  Caller nowhere = host;
  nowhere.pid_ns = Caller::kNowhere;
  Caller other = host;
  other.uid = 1001;
  EXPECT_TRUE(host.owner() == host.owner());
  EXPECT_FALSE(host.owner() == child.owner()) << "a context passed into a child pid namespace";
  EXPECT_FALSE(child.owner() == host.owner());
  EXPECT_FALSE(host.owner() == nowhere.owner()) << "a connection whose process is gone";
  EXPECT_FALSE(child.owner() == nowhere.owner());
  EXPECT_FALSE(host.owner() == other.owner());
  Caller sibling = child;
  sibling.pid_ns->inode += 1;
  EXPECT_FALSE(child.owner() == sibling.owner()) << "another container";
  EXPECT_TRUE(nowhere.nowhere());
  EXPECT_FALSE(child.nowhere());
  EXPECT_FALSE(host.nowhere());
}

// What a caller sees is keyed by everything that shapes it; nowhere matches no real view (its
// key once equalled a same-uid host caller's: both had pid namespace inode 0).
TEST(Caller, ViewKeySeparatesWhatShapesTheView) {
  Caller host;
  host.uid = host.euid = 1000;
  host.held.add(Privilege::kDebug);
  Caller nowhere = host;
  nowhere.held = {};
  nowhere.pid_ns = Caller::kNowhere;
  Caller child = nowhere;
  child.pid_ns = os::PidNamespaceId{4026532301, 1};
  Caller deeper = child;
  deeper.pid_ns->level = 2;
  Caller zero_inode = host;
  zero_inode.pid_ns = os::PidNamespaceId{0, 1};
  Caller privileged = host;
  ASSERT_TRUE(privileged.enable(Privilege::kDebug));
  Caller other_euid = host;
  other_euid.euid = 0;
  std::set<std::string> keys;
  for (const Caller* c : {&host, &nowhere, &child, &deeper, &zero_inode, &privileged, &other_euid})
    keys.insert(c->view_key());
  EXPECT_EQ(keys.size(), 7u);
  Caller host_enabled_nothing = host;
  host_enabled_nothing.held = {};
  EXPECT_EQ(host.view_key(), host_enabled_nothing.view_key())
      << "held but not enabled shapes nothing";
}

// Rights are those of each request: what was opened with a privilege enabled goes on only while
// the caller still holds it.
TEST(Caller, PrivilegeLostSinceOpening) {
  Caller opener;
  opener.uid = 1000;
  opener.held.add(Privilege::kDebug);
  Caller now = opener;
  EXPECT_EQ(now.privilege_lost_since(opener), std::nullopt) << "nothing was enabled";
  ASSERT_TRUE(opener.enable(Privilege::kDebug));
  EXPECT_EQ(now.privilege_lost_since(opener), std::nullopt) << "held; enabling is per request";
  now.held = {};  // removed from admin_group since
  EXPECT_EQ(now.privilege_lost_since(opener), Privilege::kDebug);
  Caller plain;
  EXPECT_EQ(now.privilege_lost_since(plain), std::nullopt);
}

}  // namespace lwmi::security
