// Methods on captured /proc trees with a fake ProcessControl: the race-free Terminate (a pid
// reused between the identity check and the signal is never signalled), permissions,
// protected processes, parameters. Live behaviour is covered end to end in tests/e2e.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <functional>

#include "cim/schema.h"
#include "provider/process/process_provider.h"

namespace lwmi::provider::process {
namespace fs = std::filesystem;

class FakeControl : public os::ProcessControl {
 public:
  std::function<void()> on_open;  // runs inside pidfd_open: the moment a pid may be reused
  int open_result = 0;
  int kill_result = 0;
  bool exits = true;
  int kills = 0;
  std::vector<std::pair<pid_t, int>> nices;
  std::vector<pid_t> opened;
  int spawns = 0;
  os::SpawnRequest last_spawn;
  int pidfd_open(pid_t pid, int* fd) override {
    opened.push_back(pid);
    if (on_open) on_open();
    *fd = 99;
    return open_result;
  }
  int kill(int) override {
    ++kills;
    return kill_result;
  }
  int wait_exit(int, int, bool* exited) override {
    *exited = exits;
    return 0;
  }
  int closes = 0;  // pidfds closed: one per pidfd opened, on every path
  void close(int) override { ++closes; }
  int set_nice(pid_t tid, int nice) override {
    nices.push_back({tid, nice});
    return 0;
  }
  int spawn(const os::SpawnRequest& r, pid_t* pid) override {
    ++spawns;
    last_spawn = r;
    *pid = 4242;
    return 0;
  }
};

class Methods : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("lwmi-methods-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    sys_.clk_tck = 100;
    sys_.boot_epoch_us = 1795755365537000;
    sys_.host = "testhost";
    sys_.self_pid = 77;
    caller_.uid = caller_.euid = 1000;
    control_ = std::make_shared<FakeControl>();
  }
  void TearDown() override { fs::remove_all(root_); }

  void add(int pid, uint32_t uid, uint64_t start, uint32_t flags = 0x400100,
           const std::string& comm = "sleep") {
    fs::path d = root_ / std::to_string(pid);
    fs::create_directories(d / "task" / std::to_string(pid));
    fs::create_directories(d / "task" / std::to_string(pid + 1));
    write_stat(pid, start, flags, comm);
    std::ofstream(d / "status") << "Name:\t" << comm << "\nTgid:\t" << pid << "\nUid:\t" << uid
                                << "\t" << uid << "\t" << uid << "\t" << uid
                                << "\nVmSize:\t    1000 kB\nVmData:\t  10 kB\nVmStk:\t 4 kB\n";
    std::ofstream(d / "limits") << "Limit                     Soft Limit           Hard Limit  "
                                   "         Units     \n"
                                   "Max address space         unlimited            unlimited  "
                                   "          bytes     \n";
  }
  void write_stat(int pid, uint64_t start, uint32_t flags = 0x400100,
                  const std::string& comm = "sleep") {
    std::ofstream(root_ / std::to_string(pid) / "stat")
        << pid << " (" << comm << ") S 1 " << pid << " " << pid << " 0 -1 " << flags
        << " 0 0 0 0 1 1 0 0 20 0 2 0 " << start
        << " 1000 10 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
  }

  Result<MethodResult> call(const std::string& path, const std::string& method,
                            const Parameters& in = {}, bool what_if = false) {
    ProcessProvider prov(os::ProcFs(root_.string()), sys_);
    prov.set_control(control_);
    prov.set_terminate_reasons(reasons_);
    MethodPolicy pol;
    pol.protected_names = {"sshd"};
    prov.set_policy(pol);
    const MethodDecl* m = prov.class_decl()->method(method);
    auto p = ObjectPath::parse(path);
    EXPECT_TRUE(p.ok());
    security::AuditTarget t;
    return prov.invoke(caller_, *m, m->is_static ? nullptr : &*p, in, &t, what_if);
  }

  fs::path root_;
  os::SystemInfo sys_;
  security::Caller caller_;
  std::shared_ptr<FakeControl> control_;
  std::shared_ptr<TerminateReasons> reasons_ = std::make_shared<TerminateReasons>();
};

TEST_F(Methods, TerminateOwnProcess) {
  add(100, 1000, 5000);
  auto r = call("Win32_Process=100", "Terminate", {{"Reason", Value::uint32(5)}});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->return_value, 0u);
  EXPECT_TRUE(r->notes.empty());
  EXPECT_EQ(control_->kills, 1);
}

TEST_F(Methods, PidReusedBetweenCheckAndSignalIsNeverSignalled) {
  add(100, 1000, 5000);
  // The process exits and another takes its pid while Terminate opens the pidfd.
  control_->on_open = [&] { write_stat(100, 9000); };
  auto r = call("Win32_Process=100", "Terminate");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, WbemStatus::kNotFound);
  EXPECT_EQ(control_->kills, 0) << "the process now holding the pid is never touched";
}

TEST_F(Methods, StaleCreationDateIsNotFound) {
  add(100, 1000, 5000);
  auto old = "20200101000000.000000+000";
  auto r =
      call(std::string("Win32_Process.Handle=\"100\",CreationDate=\"") + old + "\"", "Terminate");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, WbemStatus::kNotFound);
  EXPECT_EQ(control_->kills, 0);
}

TEST_F(Methods, OtherUsersProcessNeedsEnabledSeDebug) {
  add(100, 0, 5000);
  auto r = call("Win32_Process=100", "Terminate");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->return_value, 2u);
  caller_.held.add(security::Privilege::kDebug);
  r = call("Win32_Process=100", "Terminate");
  EXPECT_EQ(r->return_value, 2u) << "held but not enabled";
  EXPECT_EQ(control_->kills, 0);
  caller_.enable(security::Privilege::kDebug);
  r = call("Win32_Process=100", "Terminate");
  EXPECT_EQ(r->return_value, 0u);
  EXPECT_EQ(control_->kills, 1);
}

// --dry-run's question: lwmi's checks answer (0, 2 with why, 3 for a protected process), and
// nothing is signalled; only Terminate can be asked.
TEST_F(Methods, WhatIfAnswersWithoutActing) {
  add(100, 1000, 5000);
  add(101, 0, 5000);
  add(102, 1000, 5000, 0x400100, "sshd");
  auto own = call("Win32_Process=100", "Terminate", {}, /*what_if=*/true);
  ASSERT_TRUE(own.ok()) << own.error().to_string();
  EXPECT_EQ(own->return_value, 0u);
  auto other = call("Win32_Process=101", "Terminate", {}, true);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->return_value, 2u);
  ASSERT_EQ(other->notes.size(), 1u);
  EXPECT_NE(other->notes[0].find("SeDebugPrivilege must be held and enabled"), std::string::npos);
  auto prot = call("Win32_Process=102", "Terminate", {}, true);
  ASSERT_TRUE(prot.ok());
  EXPECT_EQ(prot->return_value, 3u);
  EXPECT_EQ(control_->kills, 0) << "a what-if signalled";
  auto create = call("Win32_Process", "Create", {{"CommandLine", Value::string("true")}}, true);
  ASSERT_FALSE(create.ok());
  EXPECT_EQ(create.error().code, WbemStatus::kNotSupported);
  EXPECT_EQ(control_->spawns, 0);
}

TEST_F(Methods, ProtectedProcessesReturn3ForEveryone) {
  caller_.uid = caller_.euid = 0;
  caller_.held.add(security::Privilege::kDebug);
  caller_.enable(security::Privilege::kDebug);
  add(1, 0, 10);
  add(2, 0, 11, 0x00208040, "kthreadd");
  add(77, 0, 12);  // lwmi itself
  add(300, 0, 13, 0x400100, "sshd");
  for (const char* p :
       {"Win32_Process=1", "Win32_Process=2", "Win32_Process=77", "Win32_Process=300"}) {
    auto r = call(p, "Terminate");
    ASSERT_TRUE(r.ok()) << p;
    EXPECT_EQ(r->return_value, 3u) << p;
  }
  EXPECT_EQ(control_->kills, 0);
}

TEST_F(Methods, KernelRefusalAndUnconfirmedExit) {
  add(100, 1000, 5000);
  control_->kill_result = EPERM;
  EXPECT_EQ(call("Win32_Process=100", "Terminate")->return_value, 2u);
  control_->kill_result = ESRCH;
  auto gone = call("Win32_Process=100", "Terminate");
  EXPECT_EQ(gone->return_value, 0u) << "died between the check and the signal: terminated";
  control_->kill_result = 0;
  control_->exits = false;
  auto r = call("Win32_Process=100", "Terminate");
  EXPECT_EQ(r->return_value, 0u);
  ASSERT_EQ(r->notes.size(), 1u);
  EXPECT_NE(r->notes[0].find("unconfirmed"), std::string::npos);
  control_->open_result = ESRCH;
  auto nf = call("Win32_Process=100", "Terminate");
  ASSERT_FALSE(nf.ok());
  EXPECT_EQ(nf.error().code, WbemStatus::kNotFound);
}

// Terminate opens one pidfd and closes it on each of its ways out, whatever the outcome; a
// pidfd that could not be opened is not closed. The Reason goes to the provider's registry,
// and is forgotten when the signal could not be sent.
TEST_F(Methods, TerminateClosesItsPidfdOnEveryPath) {
  add(100, 1000, 5000);
  auto terminate = [&](bool expect_ok) {
    const int opened = static_cast<int>(control_->opened.size()), closed = control_->closes;
    auto r = call("Win32_Process=100", "Terminate", {{"Reason", Value::uint32(7)}});
    EXPECT_EQ(r.ok(), expect_ok);
    const int now_opened = static_cast<int>(control_->opened.size()) - opened;
    return std::make_pair(now_opened, control_->closes - closed);
  };
  control_->kill_result = EPERM;  // the kernel refused
  EXPECT_EQ(terminate(true), std::make_pair(1, 1));
  EXPECT_FALSE(reasons_->lookup(100, 5000)) << "not signalled: the Reason is forgotten";
  control_->kill_result = ESRCH;  // gone before the signal
  EXPECT_EQ(terminate(true), std::make_pair(1, 1));
  control_->kill_result = 0;
  control_->exits = false;  // unconfirmed
  EXPECT_EQ(terminate(true), std::make_pair(1, 1));
  control_->exits = true;  // confirmed
  EXPECT_EQ(terminate(true), std::make_pair(1, 1));
  EXPECT_EQ(reasons_->lookup(100, 5000), std::optional<uint32_t>(7u))
      << "signalled: the Reason waits for the exit event";
  // Already a zombie when the pidfd pinned it.
  control_->on_open = [&] {
    write_stat(100, 5000);
    std::string text;
    std::ifstream in(root_ / "100" / "stat");
    std::getline(in, text);
    text.replace(text.find(") S ") + 2, 1, "Z");
    std::ofstream(root_ / "100" / "stat") << text << "\n";
  };
  EXPECT_EQ(terminate(true), std::make_pair(1, 1));
  // Its pid reused meanwhile.
  write_stat(100, 5000);
  control_->on_open = [&] { write_stat(100, 9000); };
  EXPECT_EQ(terminate(false), std::make_pair(1, 1));
  // No pidfd at all.
  control_->on_open = nullptr;
  write_stat(100, 5000);
  control_->open_result = ESRCH;
  EXPECT_EQ(terminate(false), std::make_pair(1, 0));
}

TEST_F(Methods, GetOwnerAndSid) {
  add(100, 0, 5000);
  auto r = call("Win32_Process=100", "GetOwner");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out[0].first, "User");
  EXPECT_EQ(r->out[0].second.as_string(), "root");
  EXPECT_EQ(r->out[1].second.as_string(), "testhost");
  auto s = call("Win32_Process=100", "GetOwnerSid");
  EXPECT_EQ(s->out[0].second.as_string(), "S-1-22-1-0");
}

TEST_F(Methods, SetPriorityEveryThreadAndBadValues) {
  add(100, 1000, 5000);
  auto r = call("Win32_Process=100", "SetPriority", {{"Priority", Value::sint32(64)}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->return_value, 0u);
  ASSERT_EQ(control_->nices.size(), 2u) << "every thread of the process";
  EXPECT_EQ(control_->nices[0].second, 19);
  EXPECT_EQ(
      call("Win32_Process=100", "SetPriority", {{"Priority", Value::sint32(7)}})->return_value,
      21u);
  EXPECT_EQ(
      call("Win32_Process=100", "SetPriority", {{"Priority", Value::sint32(256)}})->return_value,
      3u)
      << "Realtime without SeIncreaseBasePriorityPrivilege";
}

TEST_F(Methods, AvailableVirtualSize) {
  add(100, 1000, 5000);
  auto r = call("Win32_Process=100", "GetAvailableVirtualSize");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out[0].second.as_u64(), (1ull << 47) - 1000 * 1024);
}

TEST_F(Methods, AttachDebuggerNeedsAConfiguredCommand) {
  add(100, 1000, 5000);
  auto r = call("Win32_Process=100", "AttachDebugger");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, WbemStatus::kNotSupported);
}

TEST_F(Methods, CreateValidatesItsParameters) {
  EXPECT_EQ(call("Win32_Process", "Create", {})->return_value, 21u);
  EXPECT_EQ(
      call("Win32_Process", "Create", {{"CommandLine", Value::string("x \"open")}})->return_value,
      21u);
  // Running as the caller already (embedded), a missing directory is found out here: 9.
  caller_.uid = ::getuid();
  caller_.euid = ::geteuid();
  EXPECT_EQ(call("Win32_Process", "Create",
                 {{"CommandLine", Value::string("sleep 1")},
                  {"CurrentDirectory", Value::string("/nonexistent")}})
                ->return_value,
            9u);
  EXPECT_EQ(control_->spawns, 0);
  // For another identity the child's chdir, made with the caller's credentials, decides: the
  // engine does not look on its behalf.
  caller_.uid = caller_.euid = ::getuid() + 1;
  EXPECT_EQ(call("Win32_Process", "Create",
                 {{"CommandLine", Value::string("sleep 1")},
                  {"CurrentDirectory", Value::string("/nonexistent")}})
                ->return_value,
            0u);
  EXPECT_EQ(control_->last_spawn.directory, "/nonexistent");
  EXPECT_TRUE(control_->last_spawn.change_identity);
  auto ok = call("Win32_Process", "Create", {{"CommandLine", Value::string("sleep 1")}});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->return_value, 0u);
  EXPECT_EQ(ok->out[0].second.as_u64(), 4242u);
}

}  // namespace lwmi::provider::process

namespace lwmi::provider::process {

TEST_F(Methods, ProtectedComesBeforeOwnershipFor3) {
  add(1, 0, 10);
  auto r = call("Win32_Process=1", "Terminate");  // an ordinary caller, not the owner
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->return_value, 3u) << "protected: 3 for everyone, not 2";
}

TEST_F(Methods, CallerInAChildPidNamespaceActsOnlyInside) {
  add(100, 1000, 5000);  // the host's, though owned by the same uid
  add(500, 1000, 6000);  // pid 3 in the container
  {
    std::ofstream st(root_ / "500" / "status", std::ios::app);
    st << "NSpid:\t500\t3\n";
  }
  fs::create_directories(root_ / "500" / "ns");
  fs::create_symlink("pid:[9001]", root_ / "500" / "ns" / "pid");
  caller_.pid_ns = os::PidNamespaceId{9001, 1};
  auto host = call("Win32_Process=100", "Terminate");
  ASSERT_FALSE(host.ok()) << "a host pid named from inside is not found";
  EXPECT_EQ(host.error().code, WbemStatus::kNotFound);
  EXPECT_EQ(control_->kills, 0);
  auto mine = call("Win32_Process=3", "Terminate");
  ASSERT_TRUE(mine.ok()) << mine.error().to_string();
  EXPECT_EQ(mine->return_value, 0u);
  ASSERT_EQ(control_->opened, std::vector<pid_t>{500}) << "signalled by its host pid";
  auto create = call("Win32_Process", "Create", {{"CommandLine", Value::string("sleep 1")}});
  ASSERT_TRUE(create.ok());
  EXPECT_EQ(create->return_value, 2u);
  EXPECT_EQ(control_->spawns, 0);
}

TEST_F(Methods, DaemonCreateHasACleanEnvironmentAndTheCallersIdentity) {
  caller_.embedded = false;
  caller_.uid = caller_.euid = 0;  // whose passwd entry exists everywhere
  caller_.gid = 0;
  caller_.groups = {0};
  auto r = call("Win32_Process", "Create", {{"CommandLine", Value::string("sleep 1")}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->return_value, 0u);
  const auto& req = control_->last_spawn;
  EXPECT_TRUE(req.replace_environment);
  std::vector<std::string> names;
  for (const auto& e : req.environment) names.push_back(e.substr(0, e.find('=')));
  EXPECT_EQ(names, (std::vector<std::string>{"PATH", "HOME", "SHELL", "USER", "LOGNAME"}));
  EXPECT_EQ(req.environment[3], "USER=root");
  EXPECT_EQ(req.search_path, "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  // A given environment is the environment, whole.
  Instance startup(cim::Schema::builtin().find("Win32_ProcessStartup"));
  startup.set("EnvironmentVariables", Value::array(CimType::kString, {Value::string("A=1")}));
  r = call("Win32_Process", "Create",
           {{"CommandLine", Value::string("sleep 1")},
            {"ProcessStartupInformation", Value::object(std::make_shared<Instance>(startup))}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(control_->last_spawn.environment, std::vector<std::string>{"A=1"});
}

}  // namespace lwmi::provider::process
