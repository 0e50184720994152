// exec_guard_test.cc — which event queries compile to kernel rules (each accepted form, each
// refusal class), and the guard on the real kernel: who may install, the uid restriction, shared
// keys, protected programs, the session exemption and the breaker. The kernel tests load their
// own BPF programs (root here and in CI) and skip, saying why, where BPF cannot load.
#include "event/exec_guard.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "os/testing/own_session.h"

extern char** environ;

namespace lwmi::event {
namespace {

namespace fs = std::filesystem;
using os::GuardKey;

Result<GuardRules> Rules(const std::string& wql) {
  auto q = compile_event_query(wql);
  EXPECT_TRUE(q.ok()) << wql << ": " << q.error().to_string();
  if (!q.ok()) return q.take_error();
  return compile_guard_rules(*q);
}

std::string Creation(const std::string& condition) {
  return "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Win32_Process' AND (" +
         condition + ")";
}

GuardKey Key(GuardKey::Kind kind, const std::string& name, uint64_t dev = 0, uint64_t ino = 0) {
  GuardKey k;
  k.kind = kind;
  k.name = name;
  k.dev = dev;
  k.ino = ino;
  return k;
}

// The refusal's code, and its message containing `part`.
void ExpectRefused(const Result<GuardRules>& r, WbemStatus code, const std::string& part) {
  ASSERT_FALSE(r.ok()) << "decided: " << r->summary;
  EXPECT_EQ(r.error().code, code) << r.error().to_string();
  EXPECT_NE(r.error().message.find(part), std::string::npos)
      << "'" << part << "' not in: " << r.error().message;
}

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("lwmi-guard-test-" + std::to_string(::getpid()));
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

uint64_t KernelDev(const fs::path& p) {
  struct stat st;
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return os::kernel_dev(st.st_dev);
}

uint64_t Ino(const fs::path& p) {
  struct stat st;
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_ino;
}

TEST(GuardRules, NameIsTheFileNameAndTheComm) {
  auto r = Rules(Creation("TargetInstance.Name = 'evil'"));
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->keys, (std::vector<GuardKey>{Key(GuardKey::Kind::kFileName, "evil"),
                                            Key(GuardKey::Kind::kComm, "evil")}));
  EXPECT_EQ(r->summary, "file name 'evil' or comm 'evil'");
  for (const auto& k : r->keys) EXPECT_FALSE(k.uid) << "install() restricts, not the compiler";

  // The ISA test may come anywhere in the AND chain, or be the last word.
  auto after = Rules(
      "SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE TargetInstance.Name = 'evil' AND "
      "TargetInstance ISA 'Win32_Process'");
  ASSERT_TRUE(after.ok()) << after.error().to_string();
  EXPECT_EQ(after->keys, r->keys);
}

TEST(GuardRules, ANameLongerThanACommIsTheFileNameOnly) {
  const std::string name(16, 'n');
  auto r = Rules(Creation("TargetInstance.Name = '" + name + "'"));
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->keys, (std::vector<GuardKey>{Key(GuardKey::Kind::kFileName, name)}));
  EXPECT_EQ(r->summary, "file name '" + name + "'");
  const std::string longest(255, 'm');
  r = Rules(Creation("TargetInstance.Name = '" + longest + "'"));
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->keys.size(), 1u);
}

TEST(GuardRules, OrIsTheUnionOfItsSides) {
  auto r = Rules(
      Creation("TargetInstance.Name = 'a' OR TargetInstance.Name = 'b' OR TargetInstance.Name = "
               "'a'"));
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->keys, (std::vector<GuardKey>{
                         Key(GuardKey::Kind::kFileName, "a"), Key(GuardKey::Kind::kComm, "a"),
                         Key(GuardKey::Kind::kFileName, "b"), Key(GuardKey::Kind::kComm, "b")}));
  EXPECT_EQ(r->summary, "file name 'a' or comm 'a' or file name 'b' or comm 'b'");
}

TEST(GuardRules, ExecutablePathIsTheDirectoryAndTheLeaf) {
  TempDir dir;
  fs::create_directories(dir.path() / "bin");
  fs::create_directory_symlink(dir.path() / "bin", dir.path() / "link");
  const std::string real = fs::canonical(dir.path() / "bin").string();
  const GuardKey want =
      Key(GuardKey::Kind::kPath, "prog", KernelDev(dir.path() / "bin"), Ino(dir.path() / "bin"));
  auto r = Rules(Creation("TargetInstance.ExecutablePath = '" + real + "/prog'"));
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->keys, (std::vector<GuardKey>{want}));
  EXPECT_EQ(r->summary, "path '" + real + "/prog'");
  // Through a symlinked directory: the directory it resolves to.
  r = Rules(
      Creation("TargetInstance.ExecutablePath = '" + (dir.path() / "link/prog").string() + "'"));
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->keys, (std::vector<GuardKey>{want}));
  EXPECT_EQ(r->summary, "path '" + real + "/prog'");
  // In the root directory.
  r = Rules(Creation("TargetInstance.ExecutablePath = '/prog'"));
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->keys,
            (std::vector<GuardKey>{Key(GuardKey::Kind::kPath, "prog", KernelDev("/"), Ino("/"))}));
  EXPECT_EQ(r->summary, "path '/prog'");
}

TEST(GuardRules, NameAndItsOwnPathIsThePathAlone) {
  TempDir dir;
  const std::string path = (dir.path() / "prog").string();
  const std::vector<GuardKey> want{
      Key(GuardKey::Kind::kPath, "prog", KernelDev(dir.path()), Ino(dir.path()))};
  for (const std::string& cond :
       {"TargetInstance.Name = 'prog' AND TargetInstance.ExecutablePath = '" + path + "'",
        "TargetInstance.ExecutablePath = '" + path + "' AND TargetInstance.Name = 'PROG'"}) {
    auto r = Rules(Creation(cond));
    ASSERT_TRUE(r.ok()) << cond << ": " << r.error().to_string();
    EXPECT_EQ(r->keys, want) << cond;
  }
  // The same with OR around it.
  auto r = Rules(Creation("(TargetInstance.Name = 'prog' AND TargetInstance.ExecutablePath = '" +
                          path + "') OR TargetInstance.Name = 'other'"));
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->keys.size(), 3u);
  // Another name: never true, not a rule.
  ExpectRefused(Rules(Creation("TargetInstance.Name = 'x' AND TargetInstance.ExecutablePath = '" +
                               path + "'")),
                WbemStatus::kNotSupported, "TargetInstance.Name = 'x' AND");
}

TEST(GuardRules, StartTracesByProcessName) {
  auto r = Rules("SELECT * FROM Win32_ProcessStartTrace WHERE ProcessName = 'evil'");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->keys, (std::vector<GuardKey>{Key(GuardKey::Kind::kFileName, "evil"),
                                            Key(GuardKey::Kind::kComm, "evil")}));
  r = Rules("SELECT * FROM Win32_ProcessStartTrace WHERE ProcessName = 'a' OR ProcessName = 'b'");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->keys.size(), 4u);
  ExpectRefused(Rules("SELECT * FROM Win32_ProcessStartTrace WHERE ProcessID = 5"),
                WbemStatus::kNotSupported, "ProcessID = 5");
}

TEST(GuardRules, OnlyStartsCanBeBlocked) {
  const std::string where =
      " WHERE TargetInstance ISA 'Win32_Process' AND TargetInstance.Name = 'x'";
  ExpectRefused(Rules("SELECT * FROM __InstanceDeletionEvent" + where), WbemStatus::kNotSupported,
                "__InstanceDeletionEvent delivers deletions");
  ExpectRefused(Rules("SELECT * FROM __InstanceModificationEvent WITHIN 1" + where),
                WbemStatus::kNotSupported, "delivers modifications");
  ExpectRefused(Rules("SELECT * FROM __InstanceOperationEvent WITHIN 1" + where),
                WbemStatus::kNotSupported, "__InstanceOperationEvent delivers deletions");
  ExpectRefused(Rules("SELECT * FROM Win32_ProcessStopTrace WHERE ProcessName = 'x'"),
                WbemStatus::kNotSupported, "stop traces");
  ExpectRefused(Rules("SELECT * FROM Win32_ProcessTrace WHERE ProcessName = 'x'"),
                WbemStatus::kNotSupported, "Win32_ProcessTrace delivers stop traces");
  ExpectRefused(Rules("SELECT * FROM __InstanceCreationEvent" + where + " GROUP WITHIN 5"),
                WbemStatus::kNotSupported, "GROUP WITHIN");
}

TEST(GuardRules, WhatTheKernelCannotDecideIsNamed) {
  struct Case {
    std::string condition, part;
  };
  const std::vector<Case> cases = {
      {"TargetInstance.Name LIKE 'ev%'", "TargetInstance.Name LIKE"},
      {"TargetInstance.Name <> 'x'", "TargetInstance.Name <> 'x'"},
      {"TargetInstance.ProcessId = 5", "TargetInstance.ProcessId = 5"},
      {"TargetInstance.CommandLine = 'x'", "TargetInstance.CommandLine = 'x'"},
      {"NOT TargetInstance.Name = 'x'", "NOT (TargetInstance.Name = 'x')"},
      {"TargetInstance.Name IS NULL", "TargetInstance.Name IS NULL"},
      {"TargetInstance.Name = 'x' AND TargetInstance.ParentProcessId = 1",
       "TargetInstance.ParentProcessId = 1"},
      {"TargetInstance.Name = 'x' AND TargetInstance.Name = 'y'",
       "TargetInstance.Name = 'x' AND TargetInstance.Name = 'y'"},
      {"TargetInstance.Name = 'x' OR TargetInstance.Priority > 8", "TargetInstance.Priority > 8"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.condition);
    ExpectRefused(Rules(Creation(c.condition)), WbemStatus::kNotSupported, c.part);
  }
}

TEST(GuardRules, NamesAndPathsTheKernelCannotHold) {
  TempDir dir;
  ExpectRefused(Rules(Creation("TargetInstance.Name = 'a/b'")), WbemStatus::kNotSupported,
                "TargetInstance.Name = 'a/b': a file name has no '/'");
  ExpectRefused(Rules("SELECT * FROM Win32_ProcessStartTrace WHERE ProcessName = '/bin/a'"),
                WbemStatus::kNotSupported, "ProcessName = '/bin/a': a file name has no '/'");
  ExpectRefused(Rules(Creation("TargetInstance.Name = '" + std::string(256, 'n') + "'")),
                WbemStatus::kNotSupported, "at most 255");
  ExpectRefused(Rules(Creation("TargetInstance.Name = ''")), WbemStatus::kNotSupported,
                "no file is named ''");
  const std::string missing = (dir.path() / "missing").string();
  ExpectRefused(Rules(Creation("TargetInstance.ExecutablePath = '" + missing + "/prog'")),
                WbemStatus::kNotSupported, "the directory " + missing + " does not exist");
  ExpectRefused(Rules(Creation("TargetInstance.ExecutablePath = 'bin/prog'")),
                WbemStatus::kNotSupported, "not an absolute path");
  ExpectRefused(Rules(Creation("TargetInstance.ExecutablePath = '/bin/'")),
                WbemStatus::kNotSupported, "names no file");
  ExpectRefused(
      Rules(Creation("TargetInstance.ExecutablePath = '/bin/" + std::string(256, 'p') + "'")),
      WbemStatus::kNotSupported, "longer than 255 bytes");
  fs::create_directories(dir.path());
  const std::string file = (dir.path() / "file").string();
  ::close(::open(file.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
  ExpectRefused(Rules(Creation("TargetInstance.ExecutablePath = '" + file + "/prog'")),
                WbemStatus::kNotSupported, file);
}

TEST(GuardRules, EveryProcessIsRefused) {
  auto every = Rules(
      "SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA 'Win32_Process'");
  ExpectRefused(every, WbemStatus::kInvalidParameter, "every process start");
  ExpectRefused(Rules("SELECT * FROM Win32_ProcessStartTrace"), WbemStatus::kInvalidParameter,
                "would stop the host");
}

// ---------------------------------------------------------------------------------------------
// The real kernel.

security::Caller Admin(bool debug_enabled) {
  security::Caller c;
  c.uid = ::getuid();
  c.held.add(security::Privilege::kDebug);
  if (debug_enabled) c.enabled.add(security::Privilege::kDebug);
  return c;
}

bool Killed(int status) {
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

class ExecGuardKernel : public ::testing::Test {
 protected:
  void SetUp() override {
    // A monitor of its own: protections and the breaker are per monitor.
    auto m = os::BpfMonitor::load();
    if (!m.ok()) GTEST_SKIP() << "BPF cannot load here: " << m.error().message;
    monitor_ = *m;
    dir_ = fs::temp_directory_path() / ("lwmi-guard-kernel-" + std::to_string(::getpid()));
    fs::create_directories(dir_ / "other");
    fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  // Unique in the machine: other tests' guards never see it.
  std::string Name(const std::string& what) const {
    return "lg" + std::to_string(::getpid()) + what;
  }
  // A copy of /bin/sh at dir_/sub/name.
  fs::path Program(const std::string& name, const std::string& sub = "") {
    fs::path p = dir_ / sub / name;
    fs::copy_file("/bin/sh", p, fs::copy_options::overwrite_existing);
    fs::permissions(p, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
    return p;
  }
  GuardRules NameRules(const std::string& name) {
    auto r = Rules(Creation("TargetInstance.Name = '" + name + "'"));
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : GuardRules{};
  }
  // Runs `prog -c true` (as `uid` when set, in a new session when asked); its wait status.
  static int Run(const fs::path& prog, std::optional<uid_t> uid = std::nullopt,
                 bool new_session = false) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      if (new_session) ::setsid();
      if (uid && (::setgid(*uid) != 0 || ::setuid(*uid) != 0)) ::_exit(126);
      const char* argv[] = {prog.c_str(), "-c", "true", nullptr};
      ::execve(prog.c_str(), const_cast<char**>(argv), environ);
      ::_exit(127);
    }
    int st = 0;
    EXPECT_EQ(::waitpid(pid, &st, 0), pid);
    return st;
  }
  Result<std::unique_ptr<GuardHandle>> Install(ExecGuard& g, const std::string& name,
                                               const security::Caller& c = Admin(true),
                                               uint32_t exempt = 0) {
    return g.install(c, NameRules(name), exempt);
  }

  std::shared_ptr<os::BpfMonitor> monitor_;
  fs::path dir_;
};

TEST_F(ExecGuardKernel, RefusalsInstallNothing) {
  const std::string name = Name("ref");
  const fs::path prog = Program(name);
  {
    GuardConfig off;
    off.enabled = false;
    ExecGuard g(monitor_, off);
    auto h = Install(g, name);
    ASSERT_FALSE(h.ok());
    EXPECT_EQ(h.error().code, WbemStatus::kNotSupported);
    EXPECT_NE(h.error().message.find("disabled"), std::string::npos) << h.error().message;
    EXPECT_EQ(monitor_->rule_keys(), 0u);
    EXPECT_EQ(Run(prog), 0);
  }
  ExecGuard g(monitor_, GuardConfig{});
  security::Caller user;
  user.uid = 4321;
  user.enabled.add(security::Privilege::kDebug);  // asked for, not held: counts for nothing
  auto h = Install(g, name, user);
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.error().code, WbemStatus::kAccessDenied);
  EXPECT_EQ(h.error().message, "only the admin group may install kernel rules");
  // An admin without SeDebugPrivilege enabled may not name another uid.
  GuardRules other = NameRules(name);
  for (auto& k : other.keys) k.uid = ::getuid() + 1;
  h = g.install(Admin(false), other, 0);
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.error().code, WbemStatus::kAccessDenied);
  EXPECT_EQ(g.install(Admin(true), GuardRules{}, 0).error().code, WbemStatus::kInvalidParameter);
  EXPECT_EQ(monitor_->rule_keys(), 0u);
  EXPECT_EQ(g.installed_keys(), 0u);
  EXPECT_EQ(Run(prog), 0) << "a refused rule blocks nothing";
}

TEST_F(ExecGuardKernel, WithoutDebugEnabledOnlyTheCallersProgramsAreBlocked) {
  const std::string name = Name("uid");
  const fs::path prog = Program(name);
  ExecGuard g(monitor_, GuardConfig{});
  const uid_t nobody = 65534;
  {
    auto h = Install(g, name, Admin(false));
    ASSERT_TRUE(h.ok()) << h.error().to_string();
    for (const auto& k : (*h)->keys()) EXPECT_EQ(k.uid, ::getuid());
    EXPECT_TRUE(Killed(Run(prog))) << "the caller's own";
    EXPECT_EQ(Run(prog, nobody), 0) << "another user's program ran";
  }
  auto h = Install(g, name, Admin(true));
  ASSERT_TRUE(h.ok()) << h.error().to_string();
  for (const auto& k : (*h)->keys()) EXPECT_FALSE(k.uid);
  EXPECT_TRUE(Killed(Run(prog, nobody))) << "SeDebugPrivilege enabled: every user's";
  EXPECT_TRUE(Killed(Run(prog)));
  EXPECT_EQ((*h)->state().blocked, 2u);
}

TEST_F(ExecGuardKernel, ASharedKeyStaysUntilItsLastHolderGoes) {
  const std::string name = Name("shr");
  const fs::path prog = Program(name);
  ExecGuard g(monitor_, GuardConfig{});
  auto a = Install(g, name);
  auto b = Install(g, name);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE((*a)->rule(), 0u);
  EXPECT_NE((*a)->rule(), (*b)->rule());
  EXPECT_EQ(g.installed_keys(), 2u) << "file name and comm, once each";
  EXPECT_TRUE(Killed(Run(prog)));
  EXPECT_EQ((*b)->state().blocked, 1u) << "the newest holder's rule counts";
  b->reset();
  EXPECT_TRUE(Killed(Run(prog))) << "the other handle's rule went with the first";
  EXPECT_EQ((*a)->state().blocked, 1u);
  EXPECT_EQ(monitor_->rule_keys(), 2u);
  a->reset();
  EXPECT_EQ(monitor_->rule_keys(), 0u);
  EXPECT_EQ(g.installed_keys(), 0u);
  EXPECT_EQ(Run(prog), 0);
}

TEST_F(ExecGuardKernel, AProtectedProgramIsNeverBlocked) {
  const std::string name = Name("prt");
  const fs::path kept = Program(name);
  const fs::path copy = Program(name, "other");
  GuardConfig cfg;
  cfg.protected_programs = {kept.string(), (dir_ / "absent").string()};
  ExecGuard g(monitor_, cfg);
  ASSERT_EQ(g.problems().size(), 1u);
  EXPECT_EQ(g.problems()[0],
            "protected program " + (dir_ / "absent").string() + ": No such file or directory");
  auto h = Install(g, name);
  ASSERT_TRUE(h.ok()) << h.error().to_string();
  EXPECT_EQ(Run(kept), 0) << "a rule naming a protected program blocked it";
  EXPECT_TRUE(Killed(Run(copy))) << "the rule itself holds";
  // Replaced after the guard started (an upgrade): protected as it is at the next install.
  fs::remove(kept);
  fs::copy_file(copy, dir_ / "tmp");
  fs::rename(dir_ / "tmp", kept);
  fs::permissions(kept, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
  auto again = Install(g, name);
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_EQ(Run(kept), 0);
  // lwmid's own executable: here, this test binary (named by its path: a name rule would reach
  // other builds of it on the machine).
  const fs::path self = fs::read_symlink("/proc/self/exe");
  auto self_rules = Rules(Creation("TargetInstance.ExecutablePath = '" + self.string() + "'"));
  ASSERT_TRUE(self_rules.ok()) << self_rules.error().to_string();
  auto own = g.install(Admin(true), *self_rules, 0);
  ASSERT_TRUE(own.ok()) << own.error().to_string();
  pid_t pid = -1;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  const char* argv[] = {self.c_str(), "--gtest_list_tests", nullptr};
  ASSERT_EQ(posix_spawn(&pid, self.c_str(), &fa, nullptr, const_cast<char**>(argv), environ), 0);
  posix_spawn_file_actions_destroy(&fa);
  int st = 0;
  ASSERT_EQ(waitpid(pid, &st, 0), pid);
  EXPECT_EQ(st, 0) << "the guard's own executable was blocked";
}

TEST_F(ExecGuardKernel, TheExemptSessionRuns) {
  const std::string name = Name("ses");
  const fs::path prog = Program(name);
  ExecGuard g(monitor_, GuardConfig{});
  const uint32_t mine = os::testing::own_session();
  ASSERT_NE(mine, 0u) << "no session of its own";
  auto h = Install(g, name, Admin(true), mine);
  ASSERT_TRUE(h.ok()) << h.error().to_string();
  EXPECT_EQ(Run(prog), 0) << "the installer's session was blocked";
  EXPECT_TRUE(Killed(Run(prog, std::nullopt, true))) << "another session ran";
  // Another holder of the same key that exempts no session: every session is blocked.
  auto forced = Install(g, name, Admin(true), 0);
  ASSERT_TRUE(forced.ok()) << forced.error().to_string();
  EXPECT_TRUE(Killed(Run(prog)));
  // Also when the newest holder exempts the session again.
  auto newest = Install(g, name, Admin(true), mine);
  ASSERT_TRUE(newest.ok()) << newest.error().to_string();
  EXPECT_TRUE(Killed(Run(prog))) << "one holder's exemption lifted another's rule";
  forced->reset();
  EXPECT_EQ(Run(prog), 0);
}

TEST_F(ExecGuardKernel, AnExecutablePathRuleBlocksThatFileOnly) {
  const std::string name = Name("pth");
  const fs::path prog = Program(name);
  const fs::path copy = Program(name, "other");
  auto rules = Rules(Creation("TargetInstance.ExecutablePath = '" + prog.string() + "'"));
  ASSERT_TRUE(rules.ok()) << rules.error().to_string();
  ExecGuard g(monitor_, GuardConfig{});
  auto h = g.install(Admin(true), *rules, 0);
  ASSERT_TRUE(h.ok()) << h.error().to_string();
  EXPECT_TRUE(Killed(Run(prog)));
  EXPECT_EQ(Run(copy), 0) << "the same name in another directory";
}

TEST_F(ExecGuardKernel, TheBreakerTripsAtTheConfiguredRate) {
  const std::string name = Name("brk");
  const fs::path prog = Program(name);
  GuardConfig cfg;
  cfg.breaker_per_second = 5;
  ExecGuard g(monitor_, cfg);
  auto h = Install(g, name);
  ASSERT_TRUE(h.ok()) << h.error().to_string();
  EXPECT_FALSE((*h)->state().tripped);
  // Starts until one runs: the breaker opens on the 6th block within one second (more only if
  // a second passed meanwhile, which restarts the count).
  int killed = 0;
  bool ran = false;
  for (int i = 0; i < 1000 && !ran; ++i) {
    const int st = Run(prog);
    if (Killed(st)) ++killed;
    ran = WIFEXITED(st) && WEXITSTATUS(st) == 0;
  }
  ASSERT_TRUE(ran) << "the breaker never opened";
  EXPECT_GE(killed, 5);
  const auto st = (*h)->state();
  EXPECT_TRUE(st.tripped);
  EXPECT_EQ(st.blocked, static_cast<uint64_t>(killed));
  EXPECT_EQ(Run(prog), 0) << "a tripped rule blocks nothing more";
}

// More keys than the kernel's map holds: the install fails whole, its keys all removed.
TEST_F(ExecGuardKernel, AnInstallThatDoesNotFitLeavesNothing) {
  const std::string name = Name("fit");
  const fs::path prog = Program(name);
  ExecGuard g(monitor_, GuardConfig{});
  auto kept = Install(g, name);
  ASSERT_TRUE(kept.ok()) << kept.error().to_string();
  GuardRules many = NameRules(name);  // shared with `kept`: must survive the rollback
  for (int i = 0; i < 5000; ++i)
    many.keys.push_back(Key(GuardKey::Kind::kFileName, name + "-" + std::to_string(i)));
  auto h = g.install(Admin(true), many, 0);
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.error().code, WbemStatus::kQuotaViolation) << h.error().to_string();
  EXPECT_EQ(g.installed_keys(), 2u);
  EXPECT_EQ(monitor_->rule_keys(), 2u);
  EXPECT_TRUE(Killed(Run(prog))) << "the rollback removed another install's key";
  EXPECT_EQ((*kept)->state().blocked, 1u) << "the key is its again";
}

// Rules of two callers on one program: the uid-restricted one (whose key the kernel finds first)
// neither exempts nor, once tripped, spares what the other blocks.
TEST_F(ExecGuardKernel, OneRuleNeverSparesWhatAnotherBlocks) {
  const std::string name = Name("two");
  const fs::path prog = Program(name);
  GuardConfig cfg;
  cfg.breaker_per_second = 2;
  ExecGuard g(monitor_, cfg);
  const uint32_t mine = os::testing::own_session();
  ASSERT_NE(mine, 0u) << "no session of its own";
  auto any = Install(g, name, Admin(true), 0);
  ASSERT_TRUE(any.ok()) << any.error().to_string();
  auto own = Install(g, name, Admin(false), mine);
  ASSERT_TRUE(own.ok()) << own.error().to_string();
  EXPECT_TRUE(Killed(Run(prog))) << "the exemption of one rule lifted the other";
  EXPECT_EQ((*any)->state().blocked, 1u);
  any->reset();
  EXPECT_EQ(Run(prog), 0) << "the exempt session, with the other rule gone";

  // A tripped uid-restricted rule, then a fresh rule for every uid.
  const fs::path prog2 = Program(Name("trp"));
  auto tripping = Install(g, Name("trp"), Admin(false), 0);
  ASSERT_TRUE(tripping.ok()) << tripping.error().to_string();
  for (int i = 0; i < 100 && !(*tripping)->state().tripped; ++i) Run(prog2);
  ASSERT_TRUE((*tripping)->state().tripped);
  EXPECT_EQ(Run(prog2), 0);
  auto fresh = Install(g, Name("trp"), Admin(true), 0);
  ASSERT_TRUE(fresh.ok()) << fresh.error().to_string();
  EXPECT_TRUE(Killed(Run(prog2))) << "a tripped rule spared what a fresh one blocks";
}

}  // namespace
}  // namespace lwmi::event
