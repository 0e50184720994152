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
  int pidfd_open(pid_t, int* fd) override {
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
  void close(int) override {}
  int set_nice(pid_t tid, int nice) override {
    nices.push_back({tid, nice});
    return 0;
  }
  int spawn(const os::SpawnRequest&, pid_t* pid) override {
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
                            const Parameters& in = {}) {
    ProcessProvider prov(os::ProcFs(root_.string()), sys_);
    prov.set_control(control_);
    MethodPolicy pol;
    pol.protected_names = {"sshd"};
    prov.set_policy(pol);
    const MethodDecl* m = prov.class_decl()->method(method);
    auto p = ObjectPath::parse(path);
    EXPECT_TRUE(p.ok());
    security::AuditTarget t;
    return prov.invoke(caller_, *m, m->is_static ? nullptr : &*p, in, &t);
  }

  fs::path root_;
  os::SystemInfo sys_;
  security::Caller caller_;
  std::shared_ptr<FakeControl> control_;
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
  EXPECT_EQ(call("Win32_Process", "Create",
                 {{"CommandLine", Value::string("sleep 1")},
                  {"CurrentDirectory", Value::string("/nonexistent")}})
                ->return_value,
            9u);
  auto ok = call("Win32_Process", "Create", {{"CommandLine", Value::string("sleep 1")}});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->return_value, 0u);
  EXPECT_EQ(ok->out[0].second.as_u64(), 4242u);
}

}  // namespace lwmi::provider::process
