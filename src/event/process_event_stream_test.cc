// Creation and deletion events from the real netlink connector, with real processes; loss
// answered by a rescan, with a fake source.
#include "event/process_event_stream.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <optional>
#include <random>

extern char** environ;

namespace lwmi::event {
namespace fs = std::filesystem;

class Events : public ::testing::Test {
 protected:
  void SetUp() override {
    // At most 12 characters, so that name_ + "t" (13) is never cut to name_ by comm's 15: a
    // process gone before its exe can be read is named by comm.
    name_ = "lwev" + std::to_string(::getpid() % 10000) + "x" +
            std::to_string(std::random_device{}() % 1000);
    dir_ = fs::temp_directory_path() / name_;
    fs::create_directories(dir_);
    fs::copy_file("/bin/sleep", dir_ / name_);
    fs::copy_file("/bin/true", dir_ / (name_ + "t"));  // 13 characters: never cut
  }
  void TearDown() override {
    for (pid_t p : children_) {
      ::kill(p, SIGKILL);
      ::waitpid(p, nullptr, 0);
    }
    fs::remove_all(dir_);
  }
  pid_t spawn(const std::string& prog, std::vector<std::string> args) {
    std::string path = (dir_ / prog).string();
    std::vector<char*> argv{path.data()};
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    EXPECT_EQ(posix_spawn(&pid, path.c_str(), nullptr, nullptr, argv.data(), environ), 0);
    children_.push_back(pid);
    return pid;
  }
  std::unique_ptr<ProcessEventStream> open(const std::string& wql,
                                           std::unique_ptr<os::ProcEventSource> source = nullptr,
                                           std::optional<security::Caller> caller = std::nullopt) {
    auto q = compile_event_query(wql);
    EXPECT_TRUE(q.ok()) << q.error().to_string();
    if (!source) source = std::make_unique<os::NetlinkProcEvents>();
    auto s = std::make_unique<ProcessEventStream>(
        provider_, caller ? *caller : security::Caller::current_process(), std::move(*q),
        std::move(source));
    auto r = s->start();
    if (!r.ok()) {
      ADD_FAILURE() << r.error().to_string();
      return nullptr;
    }
    return s;
  }
  // Collects events for up to `ms`, stopping early after `want` of them.
  std::vector<Instance> collect(EventStream& s, size_t want, int ms) {
    std::vector<Instance> out;
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (out.size() < want && std::chrono::steady_clock::now() < end) {
      Instance ev;
      auto r = s.next(&ev, 200);
      EXPECT_TRUE(r.ok());
      if (r.ok() && *r) out.push_back(std::move(ev));
    }
    return out;
  }
  static uint64_t pid_of(const Instance& ev) {
    return ev.get("TargetInstance")->as_object()->get("ProcessId")->as_u64();
  }

  provider::process::ProcessProvider provider_{os::ProcFs("/proc"), os::SystemInfo::live()};
  std::string name_;
  fs::path dir_;
  std::vector<pid_t> children_;
};

TEST_F(Events, CreationOfANamedProgramAndNothingElse) {
  auto s = open(
      "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Win32_Process' "
      "AND TargetInstance.Name = '" +
      name_ + "'");
  ASSERT_TRUE(s);
  pid_t other = spawn(name_ + "t", {});  // another name: filtered out
  pid_t pid = spawn(name_, {"30"});
  auto evs = collect(*s, 1, 5000);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].class_name(), "__InstanceCreationEvent");
  EXPECT_EQ(pid_of(evs[0]), static_cast<uint64_t>(pid));
  auto target = evs[0].get("TargetInstance")->as_object();
  EXPECT_EQ(target->get("Name")->as_string(), name_);
  EXPECT_EQ(target->get("CommandLine")->as_string(), (dir_ / name_).string() + " 30");
  EXPECT_GT(evs[0].get("TIME_CREATED")->as_u64(), 116444736000000000ull);
  EXPECT_TRUE(target->identity().key("CreationDate")) << "the target can be terminated safely";
  (void)other;
  EXPECT_TRUE(collect(*s, 1, 300).empty()) << "one creation per process";
}

// A caller in a child pid namespace hears only of its namespace's processes, by its pids.
TEST_F(Events, ACallerInAChildPidNamespaceHearsOnlyOfItsOwn) {
  if (::geteuid() != 0 || ::access("/usr/bin/unshare", X_OK) != 0 ||
      ::access("/usr/bin/nsenter", X_OK) != 0)
    GTEST_SKIP() << "needs root, unshare(1) and nsenter(1)";
  std::string prog = (dir_ / name_).string();
  // The namespace: `unshare --pid --fork` whose child (pid 1 inside) is a sleep.
  pid_t unshare = 0;
  {
    std::vector<std::string> a{"/usr/bin/unshare", "--pid", "--fork", "--kill-child", prog, "60"};
    std::vector<char*> argv;
    for (auto& x : a) argv.push_back(x.data());
    argv.push_back(nullptr);
    ASSERT_EQ(posix_spawn(&unshare, argv[0], nullptr, nullptr, argv.data(), environ), 0);
    children_.push_back(unshare);
  }
  os::ProcFs proc("/proc");
  std::optional<os::PidNamespaceId> ns;
  std::optional<int32_t> init;
  for (int i = 0; i < 500 && !ns; ++i) {
    auto scan = proc.scan();
    int32_t pid;
    while (scan.next(&pid)) {
      std::string stat;
      if (proc.read(pid, "stat", &stat) != 0) continue;
      auto close = stat.rfind(')');
      int ppid = 0;
      char st;
      if (close == std::string::npos ||
          std::sscanf(stat.c_str() + close + 1, " %c %d", &st, &ppid) != 2 || ppid != unshare)
        continue;
      std::string exe;
      if (proc.readlink(pid, "exe", &exe) != 0 || exe != prog) continue;
      init = pid;
      ns = os::pid_namespace_of(proc, pid);
    }
    if (!ns) ::usleep(10000);
  }
  ASSERT_TRUE(ns && init) << "the namespace's init did not start";
  security::Caller caller = security::Caller::current_process();
  caller.pid_ns = ns;
  auto s = open(
      "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Win32_Process' "
      "AND TargetInstance.Name = '" +
          name_ + "'",
      nullptr, caller);
  ASSERT_TRUE(s);
  spawn(name_, {"30"});  // on the host: not the caller's
  pid_t nsenter = 0;
  {
    std::string t = std::to_string(*init);
    std::vector<std::string> a{"/usr/bin/nsenter", "-t", t, "-p", "--", prog, "31"};
    std::vector<char*> argv;
    for (auto& x : a) argv.push_back(x.data());
    argv.push_back(nullptr);
    ASSERT_EQ(posix_spawn(&nsenter, argv[0], nullptr, nullptr, argv.data(), environ), 0);
    children_.push_back(nsenter);
  }
  auto evs = collect(*s, 2, 3000);
  ASSERT_EQ(evs.size(), 1u) << "only the process inside the namespace";
  auto target = evs[0].get("TargetInstance")->as_object();
  EXPECT_EQ(target->get("CommandLine")->as_string(), prog + " 31");
  EXPECT_EQ(target->get("ProcessId")->as_u64(), 2u) << "its pid inside (1 is the init)";
  EXPECT_EQ(target->get("Handle")->as_string(), "2");
  EXPECT_EQ(target->get("ParentProcessId")->as_u64(), 0u) << "nsenter is outside";
  ::kill(*init, SIGKILL);
}

TEST_F(Events, AShortLivedProcessGivesOneCreationAndOneDeletion) {
  // Filtered on the parent: a process that is gone before it can be read still has the
  // ProcessId and ParentProcessId the kernel events carry.
  auto s = open(
      "SELECT * FROM __InstanceOperationEvent WHERE TargetInstance ISA 'Win32_Process' "
      "AND TargetInstance.ParentProcessId = " +
      std::to_string(::getpid()));
  ASSERT_TRUE(s);
  pid_t pid = spawn(name_ + "t", {});  // /bin/true: lives well under a millisecond
  ::waitpid(pid, nullptr, 0);
  children_.clear();
  auto evs = collect(*s, 2, 5000);
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[0].class_name(), "__InstanceCreationEvent");
  EXPECT_EQ(evs[1].class_name(), "__InstanceDeletionEvent");
  EXPECT_EQ(pid_of(evs[0]), static_cast<uint64_t>(pid));
  EXPECT_EQ(pid_of(evs[1]), static_cast<uint64_t>(pid));
}

TEST_F(Events, DeletionOfAKilledProcess) {
  pid_t pid = spawn(name_, {"30"});
  // Started before the subscription: its deletion still comes, from the start-up snapshot.
  for (int i = 0; i < 100; ++i) {
    std::error_code ec;
    if (fs::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec).filename() == name_) break;
    ::usleep(10000);
  }
  auto s = open(
      "SELECT * FROM __InstanceDeletionEvent WHERE TargetInstance ISA 'Win32_Process' "
      "AND TargetInstance.ProcessId = " +
      std::to_string(pid));
  ASSERT_TRUE(s);
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  children_.clear();
  auto evs = collect(*s, 1, 5000);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].class_name(), "__InstanceDeletionEvent");
  EXPECT_EQ(evs[0].get("TargetInstance")->as_object()->get("Name")->as_string(), name_);
}

// A source that delivers nothing but reports loss: the stream must rescan /proc.
class LossySource : public os::ProcEventSource {
 public:
  Result<void> start() override { return {}; }
  Result<size_t> read(std::vector<os::ProcEvent>*, int timeout_ms) override {
    ::usleep(static_cast<useconds_t>(std::min(timeout_ms < 0 ? 50 : timeout_ms, 50)) * 1000);
    return size_t{0};
  }
  uint64_t lost() const override { return lost_; }
  uint64_t overruns() const override { return 0; }
  int fd() const override { return -1; }
  uint64_t lost_ = 0;
};

TEST_F(Events, LostEventsAreAnsweredByARescan) {
  auto src = std::make_unique<LossySource>();
  LossySource* raw = src.get();
  auto s = open(
      "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Win32_Process' "
      "AND TargetInstance.Name = '" +
          name_ + "'",
      std::move(src));
  ASSERT_TRUE(s);
  pid_t pid = spawn(name_, {"30"});
  for (int i = 0; i < 100; ++i) {
    std::error_code ec;
    if (fs::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec).filename() == name_) break;
    ::usleep(10000);
  }
  EXPECT_TRUE(collect(*s, 1, 200).empty()) << "no kernel event, no loss: nothing yet";
  raw->lost_ = 3;
  auto evs = collect(*s, 1, 2000);
  ASSERT_EQ(evs.size(), 1u) << "the rescan found the process the lost events were about";
  EXPECT_EQ(pid_of(evs[0]), static_cast<uint64_t>(pid));
  EXPECT_EQ(s->lost(), 3u);
}

}  // namespace lwmi::event
