// The provider on captured /proc trees: every property from its source, lazy reads, masking,
// zombies, threads, vanished processes.
#include "provider/process/process_provider.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "base/budget.h"
#include "lwmi/datetime.h"

namespace lwmi::provider::process {
namespace fs = std::filesystem;

struct FakeProcess {
  int pid = 100;
  std::string comm = "sleep";
  char state = 'S';
  int ppid = 1;
  uint32_t flags = 0x400100;
  uint64_t utime = 250, stime = 120, minflt = 150, majflt = 7, starttime = 5000;
  int nice = 0;
  uint32_t policy = 0;
  int threads = 1;
  uint64_t vsize = 12345678;
  int64_t rss = 321;
  int tgid = -1;  // defaults to pid
  uint32_t uid = 1000;
  std::string exe = "/usr/bin/sleep";
  std::string cmdline = std::string(
      "sleep\0"
      "1000\0",
      11);
  bool with_status_memory = true;
  int fds = 4;
  std::string sessionid = "3";
  std::string nspid;            // NSpid line ("" = just the pid)
  uint64_t pidns = 4026531836;  // ns/pid link's inode
};

class CapturedTree : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("lwmi-tree-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
    sys_.clk_tck = 100;
    sys_.page_size = 4096;
    sys_.boot_epoch_us = 1795755365537000;  // as measured on this host kind
    sys_.host = "testhost";
    sys_.kernel_release = "6.18.0-test";
    sys_.os_name = "Debian GNU/Linux 12 (bookworm)|/|/dev/vda1";
    caller_.uid = 1000;
    caller_.euid = 1000;
  }
  void TearDown() override { fs::remove_all(root_); }

  void add(const FakeProcess& p) {
    fs::path d = root_ / std::to_string(p.pid);
    fs::create_directories(d / "fd");
    std::ofstream(d / "stat") << p.pid << " (" << p.comm << ") " << p.state << " " << p.ppid << " "
                              << p.pid << " " << p.pid << " 0 -1 " << p.flags << " " << p.minflt
                              << " 0 " << p.majflt << " 0 " << p.utime << " " << p.stime
                              << " 0 0 20 " << p.nice << " " << p.threads << " 0 " << p.starttime
                              << " " << p.vsize << " " << p.rss
                              << " 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 " << p.policy
                              << " 0 0 0 0 0 0 0 0 0 0 0\n";
    std::ofstream st(d / "status");
    st << "Name:\t" << p.comm << "\nTgid:\t" << (p.tgid < 0 ? p.pid : p.tgid) << "\nPid:\t" << p.pid
       << "\nUid:\t" << p.uid << "\t" << p.uid << "\t" << p.uid << "\t" << p.uid
       << "\nGid:\t100\t100\t100\t100\n"
       << "NSpid:\t" << (p.nspid.empty() ? std::to_string(p.pid) : p.nspid) << "\n";
    if (p.with_status_memory)
      st << "VmPeak:\t    9000 kB\nVmSize:\t    8000 kB\nVmHWM:\t    1500 kB\n"
            "VmRSS:\t    1284 kB\nVmData:\t     300 kB\nVmStk:\t     132 kB\n";
    st.close();
    std::ofstream(d / "cmdline") << p.cmdline;
    std::ofstream(d / "statm") << "2000 300 100 10 0 50 0\n";
    std::ofstream(d / "io") << "rchar: 1000\nwchar: 2000\nsyscr: 30\nsyscw: 40\n";
    std::ofstream(d / "sessionid") << p.sessionid;
    if (!p.exe.empty()) fs::create_symlink(p.exe, d / "exe");
    fs::create_directories(d / "ns");
    fs::create_symlink("pid:[" + std::to_string(p.pidns) + "]", d / "ns" / "pid");
    for (int i = 0; i < p.fds; ++i) std::ofstream(d / "fd" / std::to_string(i)) << "";
  }

  ProcessProvider provider() { return ProcessProvider(os::ProcFs(root_.string()), sys_); }

  std::map<std::string, Instance> list(ProcessProvider& prov) {
    std::map<std::string, Instance> out;
    auto s = prov.enumerate(caller_, Request{});
    Instance inst;
    while (s->next(&inst)) out[inst.get("Handle")->as_string()] = inst;
    EXPECT_FALSE(s->error().has_value());
    return out;
  }

  Result<Instance> get(ProcessProvider& prov, const std::string& path) {
    auto p = ObjectPath::parse(path);
    if (!p.ok()) return p.take_error();
    return prov.get(caller_, *p, Request{});
  }

  fs::path root_;
  os::SystemInfo sys_;
  security::Caller caller_;
};

TEST_F(CapturedTree, EveryPropertyFromItsSourceInSpecUnits) {
  FakeProcess p;
  add(p);
  auto prov = provider();
  auto inst = get(prov, "Win32_Process.Handle=\"100\"");
  ASSERT_TRUE(inst.ok()) << inst.error().to_string();
  auto v = [&](const char* n) { return *inst->get(n); };
  EXPECT_EQ(v("Handle").as_string(), "100");
  EXPECT_EQ(v("ProcessId").as_u64(), 100u);
  EXPECT_EQ(v("Name").as_string(), "sleep");
  EXPECT_EQ(v("Caption").as_string(), "sleep");
  EXPECT_EQ(v("Description").as_string(), "sleep");
  EXPECT_EQ(v("ExecutablePath").as_string(), "/usr/bin/sleep");
  EXPECT_EQ(v("CommandLine").as_string(), "sleep 1000");
  EXPECT_EQ(v("ParentProcessId").as_u64(), 1u);
  EXPECT_EQ(v("KernelModeTime").as_u64(), 120u * 100000u);  // ticks -> 100 ns
  EXPECT_EQ(v("UserModeTime").as_u64(), 250u * 100000u);
  EXPECT_EQ(v("PageFaults").as_u64(), 157u);
  EXPECT_EQ(v("WorkingSetSize").as_u64(), 300u * 4096u);  // bytes, from statm (exact)
  EXPECT_EQ(v("VirtualSize").as_u64(), 12345678u);
  EXPECT_EQ(v("PeakVirtualSize").as_u64(), 9000u * 1024u);
  EXPECT_EQ(v("PeakWorkingSetSize").as_u64(), 1500u);       // KB
  EXPECT_EQ(v("PageFileUsage").as_u64(), 432u);             // KB: VmData + VmStk
  EXPECT_EQ(v("PrivatePageCount").as_u64(), 432u * 1024u);  // bytes
  EXPECT_EQ(v("PeakPageFileUsage").as_u64(), 432u);
  EXPECT_EQ(v("ThreadCount").as_u64(), 1u);
  EXPECT_EQ(v("HandleCount").as_u64(), 4u);
  EXPECT_EQ(v("ReadOperationCount").as_u64(), 30u);
  EXPECT_EQ(v("ReadTransferCount").as_u64(), 1000u);
  EXPECT_EQ(v("WriteOperationCount").as_u64(), 40u);
  EXPECT_EQ(v("WriteTransferCount").as_u64(), 2000u);
  EXPECT_EQ(v("Priority").as_u64(), 8u);
  EXPECT_EQ(v("SessionId").as_u64(), 3u);
  EXPECT_EQ(v("CSName").as_string(), "testhost");
  EXPECT_EQ(v("WindowsVersion").as_string(), "6.18.0-test");
  EXPECT_EQ(v("OSName").as_string(), "Debian GNU/Linux 12 (bookworm)|/|/dev/vda1");
  EXPECT_EQ(v("CreationClassName").as_string(), "Win32_Process");
  EXPECT_EQ(v("CSCreationClassName").as_string(), "Win32_ComputerSystem");
  EXPECT_EQ(v("OSCreationClassName").as_string(), "Win32_OperatingSystem");
  for (const char* n :
       {"ExecutionState", "InstallDate", "Status", "TerminationDate", "OtherOperationCount",
        "OtherTransferCount", "QuotaPagedPoolUsage", "QuotaNonPagedPoolUsage",
        "QuotaPeakPagedPoolUsage", "QuotaPeakNonPagedPoolUsage", "MaximumWorkingSetSize",
        "MinimumWorkingSetSize"})
    EXPECT_TRUE(v(n).is_null()) << n;
  // CreationDate: boot epoch + 5000 ticks (50 s), as local DATETIME.
  auto cd = DateTime::parse(v("CreationDate").as_string());
  ASSERT_TRUE(cd.ok());
  EXPECT_EQ(*cd->unix_micros(), sys_.boot_epoch_us + 50 * 1000000);
  EXPECT_EQ(inst->get("__PROPERTY_COUNT")->as_i64(), 45);
  EXPECT_EQ(*inst->relpath(), "Win32_Process.Handle=\"100\"");
  EXPECT_EQ(inst->get("__SERVER")->as_string(), "testhost");
}

TEST_F(CapturedTree, EnumeratesLeadersAndKernelThreadsButNotZombies) {
  FakeProcess a;
  add(a);
  FakeProcess z;
  z.pid = 101;
  z.state = 'Z';
  z.exe = "";
  z.cmdline = "";
  add(z);
  FakeProcess k;
  k.pid = 2;
  k.comm = "kthreadd";
  k.flags = 0x00208040;
  k.exe = "";
  k.cmdline = "";
  k.with_status_memory = false;
  k.uid = 0;
  add(k);
  auto prov = provider();
  auto all = list(prov);
  EXPECT_EQ(all.size(), 2u);
  ASSERT_TRUE(all.count("2"));
  EXPECT_FALSE(all.count("101")) << "a zombie has exited: not an instance";
  const Instance& kt = all["2"];
  EXPECT_EQ(kt.get("Name")->as_string(), "kthreadd") << "kernel thread: Name from comm";
  EXPECT_TRUE(kt.get("ExecutablePath")->is_null());
  EXPECT_TRUE(kt.get("CommandLine")->is_null());
  EXPECT_TRUE(kt.get("PageFileUsage")->is_null());
  // Get: a zombie is not found either.
  auto gz = get(prov, "Win32_Process.Handle=\"101\"");
  ASSERT_FALSE(gz.ok());
  EXPECT_EQ(gz.error().code, WbemStatus::kNotFound);
}

TEST_F(CapturedTree, ThreadIdThatIsNotALeaderIsNotFound) {
  FakeProcess t;
  t.pid = 205;
  t.tgid = 200;
  add(t);
  auto prov = provider();
  auto r = get(prov, "Win32_Process.Handle=\"205\"");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, WbemStatus::kNotFound);
}

TEST_F(CapturedTree, OddCommValues) {
  FakeProcess p;
  p.comm = "x) (y z";
  p.exe = "";
  p.cmdline = "";
  add(p);
  auto prov = provider();
  auto r = get(prov, "Win32_Process=100");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->get("Name")->as_string(), "x) (y z");
  EXPECT_EQ(r->get("ParentProcessId")->as_u64(), 1u);
}

TEST_F(CapturedTree, NameFallsBackToArgv0ThenComm) {
  FakeProcess p;
  p.exe = "";  // unreadable or absent
  p.cmdline = std::string("/opt/tool/bin/worker\0--x\0", 25);
  add(p);
  FakeProcess q;
  q.pid = 300;
  q.exe = "";
  q.comm = "sshd";
  q.cmdline = "sshd: root@pts/0";
  add(q);
  auto prov = provider();
  EXPECT_EQ(get(prov, "Win32_Process=100")->get("Name")->as_string(), "worker");
  EXPECT_EQ(get(prov, "Win32_Process=300")->get("Name")->as_string(), "sshd");
}

TEST_F(CapturedTree, DeletedExecutableLosesTheSuffix) {
  FakeProcess p;
  p.exe = "/tmp/prog (deleted)";
  add(p);
  auto prov = provider();
  auto r = get(prov, "Win32_Process=100");
  EXPECT_EQ(r->get("ExecutablePath")->as_string(), "/tmp/prog");
  EXPECT_EQ(r->get("Name")->as_string(), "prog");
}

TEST_F(CapturedTree, OtherUsersPrivilegedPropertiesAreMaskedWithoutSeDebug) {
  FakeProcess p;
  p.uid = 0;
  add(p);
  auto prov = provider();
  auto r = get(prov, "Win32_Process=100");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->get("ExecutablePath")->is_null());
  EXPECT_TRUE(r->get("HandleCount")->is_null());
  EXPECT_TRUE(r->get("ReadTransferCount")->is_null());
  EXPECT_EQ(r->get("Name")->as_string(), "sleep") << "Name is never masked";
  caller_.held.add(security::Privilege::kDebug);
  r = get(prov, "Win32_Process=100");
  EXPECT_TRUE(r->get("ExecutablePath")->is_null()) << "held but not enabled";
  caller_.enable(security::Privilege::kDebug);
  r = get(prov, "Win32_Process=100");
  EXPECT_EQ(r->get("ExecutablePath")->as_string(), "/usr/bin/sleep");
  EXPECT_EQ(r->get("HandleCount")->as_u64(), 4u);
}

TEST_F(CapturedTree, CreationDateInThePathMustMatch) {
  FakeProcess p;
  add(p);
  auto prov = provider();
  auto inst = get(prov, "Win32_Process=100");
  ASSERT_TRUE(inst.ok());
  std::string cd = inst->get("CreationDate")->as_string();
  auto same = get(prov, "Win32_Process.Handle=\"100\",CreationDate=\"" + cd + "\"");
  EXPECT_TRUE(same.ok());
  // The identity the provider returns is itself a valid path to the same process.
  auto again = prov.get(caller_, inst->identity(), Request{});
  EXPECT_TRUE(again.ok());
  // One tick later is another process.
  auto later = DateTime::from_unix_micros_local(sys_.boot_epoch_us + 50 * 1000000 + 10000);
  auto stale = get(prov, "Win32_Process.Handle=\"100\",CreationDate=\"" + later.to_string() + "\"");
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code, WbemStatus::kNotFound);
}

TEST_F(CapturedTree, BadKeysAndHandles) {
  add(FakeProcess{});
  auto prov = provider();
  auto r = get(prov, "Win32_Process.Name=\"sleep\"");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, WbemStatus::kInvalidObjectPath);
  EXPECT_EQ(r.error().message, "'Name' is not a key of Win32_Process (its key is Handle)");
  for (const char* p : {"Win32_Process=\"abc\"", "Win32_Process=0", "Win32_Process=\"99999\"",
                        "Win32_Process=-1"}) {
    auto x = get(prov, p);
    ASSERT_FALSE(x.ok()) << p;
    EXPECT_EQ(x.error().code, WbemStatus::kNotFound) << p;
  }
}

TEST_F(CapturedTree, LazyReadsTouchOnlyNeededFiles) {
  FakeProcess p;
  add(p);
  // Remove the files a narrow request must not need; it still succeeds.
  fs::remove(root_ / "100" / "io");
  fs::remove(root_ / "100" / "status");
  fs::remove_all(root_ / "100" / "fd");
  auto prov = provider();
  auto props = PropertySet::of(*prov.class_decl(), {"ProcessId", "Name", "WorkingSetSize"});
  ASSERT_TRUE(props.ok());
  Request req;
  req.properties = *props;
  auto s = prov.enumerate(caller_, req);
  Instance inst;
  ASSERT_TRUE(s->next(&inst));
  EXPECT_EQ(inst.property_count(), 3u);
  EXPECT_EQ(inst.get("WorkingSetSize")->as_u64(), 300u * 4096u);
  EXPECT_FALSE(inst.get("CommandLine").has_value()) << "not selected";
  EXPECT_TRUE(inst.identity().key("CreationDate")) << "identity kept in a projection";
}

TEST_F(CapturedTree, VanishedProcessIsSkipped) {
  FakeProcess p;
  add(p);
  FakeProcess q;
  q.pid = 101;
  add(q);
  // 101 has a directory but its stat is gone: it exited between readdir and open.
  fs::remove(root_ / "101" / "stat");
  auto prov = provider();
  auto all = list(prov);
  EXPECT_EQ(all.size(), 1u);
  EXPECT_TRUE(all.count("100"));
}

TEST_F(CapturedTree, AProcessEndingWhileReadIsSkippedNotShownWithoutItsExeAndCommandLine) {
  // do_exit releases the memory (the exe link and command line go with it) before the process
  // is a zombie: read then, stat still says running. Shown, it matched a Name filter (from
  // comm) with ExecutablePath and CommandLine NULL: a short-lived program's creation event.
  FakeProcess p;
  add(p);
  FakeProcess ending;
  ending.pid = 101;
  ending.state = 'R';
  ending.flags |= 0x4;  // PF_EXITING
  ending.exe = "";
  ending.cmdline = "";
  add(ending);
  FakeProcess emptied;  // its command line is empty but it runs on: shown
  emptied.pid = 102;
  emptied.cmdline = "";
  add(emptied);
  FakeProcess half;  // the exe link was read, then the command line was gone
  half.pid = 103;
  half.flags |= 0x4;
  half.cmdline = "";
  add(half);
  auto prov = provider();
  auto all = list(prov);
  EXPECT_TRUE(all.count("100"));
  EXPECT_FALSE(all.count("101")) << "ending: not described by what is left of it";
  EXPECT_FALSE(all.count("103")) << "ending: not described by what is left of it";
  ASSERT_TRUE(all.count("102"));
  EXPECT_EQ(all["102"].get("ExecutablePath")->as_string(), "/usr/bin/sleep");
  EXPECT_TRUE(all["102"].get("CommandLine")->is_null());
  EXPECT_FALSE(get(prov, "Win32_Process.Handle=\"101\"").ok());
}

TEST_F(CapturedTree, PeakPageFileUsageKeepsTheMaximumPerProcess) {
  PeakTracker t;
  EXPECT_EQ(t.update(5, 100, 10), 10u);
  EXPECT_EQ(t.update(5, 100, 30), 30u);
  EXPECT_EQ(t.update(5, 100, 20), 30u);
  EXPECT_EQ(t.update(5, 200, 7), 7u) << "a new process on the same pid starts afresh";
}

TEST(LiveProc, SeesItself) {
  ProcessProvider prov(os::ProcFs("/proc"), os::SystemInfo::live());
  security::Caller me = security::Caller::current_process();
  auto p = ObjectPath::parse("Win32_Process.Handle=\"" + std::to_string(::getpid()) + "\"");
  ASSERT_TRUE(p.ok());
  auto r = prov.get(me, *p, Request{});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->get("Name")->as_string(), "process_test");
  EXPECT_EQ(r->get("ParentProcessId")->as_u64(), static_cast<uint64_t>(::getppid()));
}

}  // namespace lwmi::provider::process

namespace lwmi::provider::process {

// A caller in a container (pid namespace 9001, one level down): host 500 is its pid 1, host 501
// its pid 7 (child of 500); host 100 and 1 are outside it.
TEST_F(CapturedTree, CallerInAChildPidNamespaceSeesOnlyItsOwnByItsPids) {
  FakeProcess init, host_proc, c1, c2;
  init.pid = 1;
  init.ppid = 0;
  host_proc.pid = 100;
  c1.pid = 500;
  c1.ppid = 100;
  c1.nspid = "500\t1";
  c1.pidns = 9001;
  c2.pid = 501;
  c2.ppid = 500;
  c2.nspid = "501\t7";
  c2.pidns = 9001;
  for (auto* p : {&init, &host_proc, &c1, &c2}) add(*p);
  caller_.pid_ns = os::PidNamespaceId{9001, 1};
  auto prov = provider();
  auto all = list(prov);
  ASSERT_EQ(all.size(), 2u);
  ASSERT_TRUE(all.count("1") && all.count("7"));
  EXPECT_EQ(all["1"].get("ProcessId")->as_u64(), 1u);
  EXPECT_EQ(all["1"].get("ParentProcessId")->as_u64(), 0u) << "its parent is outside";
  EXPECT_EQ(all["7"].get("ParentProcessId")->as_u64(), 1u);
  EXPECT_EQ(all["7"].identity().relative().find("Handle=\"7\"") != std::string::npos, true)
      << all["7"].identity().relative();

  auto seven = get(prov, "Win32_Process.Handle=\"7\"");
  ASSERT_TRUE(seven.ok()) << seven.error().to_string();
  EXPECT_EQ(seven->get("Handle")->as_string(), "7");
  auto host = get(prov, "Win32_Process.Handle=\"100\"");
  ASSERT_FALSE(host.ok()) << "a host pid named from the container";
  EXPECT_EQ(host.error().code, WbemStatus::kNotFound);
  EXPECT_FALSE(get(prov, "Win32_Process.Handle=\"501\"").ok()) << "the host's number for 7";

  // A WHERE that pins the pid means the caller's pid too.
  Request pinned;
  pinned.only_pid = 7;
  auto s = prov.enumerate(caller_, pinned);
  Instance inst;
  ASSERT_TRUE(s->next(&inst));
  EXPECT_EQ(inst.get("ProcessId")->as_u64(), 7u);
  pinned.only_pid = 100;
  EXPECT_FALSE(prov.enumerate(caller_, pinned)->next(&inst));
}

}  // namespace lwmi::provider::process

namespace lwmi::provider::process {

// A query whose request budget is spent ends with the budget's error, and a row whose filter
// ran out of budget is not returned, whatever the filter said (a LIKE cut short says false, so
// NOT LIKE would say true).
TEST_F(CapturedTree, SpentRequestBudgetEndsTheQueryWithItsError) {
  for (int pid : {100, 101, 102}) {
    FakeProcess p;
    p.pid = pid;
    add(p);
  }
  auto prov = provider();
  base::Budget roomy(std::chrono::hours(1), "[requests] time_limit_ms");
  base::Budget none_left(std::chrono::milliseconds(0), "[requests] time_limit_ms");
  Instance inst;
  {
    base::Budget::Scope scope(&roomy);
    int filtered = 0;
    std::optional<base::Budget::Scope> spent_inside;
    Request req;
    req.filter = [&](const std::function<Value(size_t)>&) {
      ++filtered;
      spent_inside.emplace(&none_left);  // the budget runs out inside the first row's filter
      return true;
    };
    auto s = prov.enumerate(caller_, req);
    EXPECT_FALSE(s->next(&inst)) << "the row whose filter ran out of budget is not returned";
    ASSERT_TRUE(s->error().has_value());
    EXPECT_EQ(s->error()->code, WbemStatus::kQuotaViolation);
    EXPECT_NE(s->error()->message.find("[requests] time_limit_ms"), std::string::npos);
    EXPECT_EQ(filtered, 1) << "no row is read after the budget is spent";
    EXPECT_FALSE(s->next(&inst));
    spent_inside.reset();
  }
  // With a budget left, the same query returns every row.
  {
    base::Budget::Scope scope(&roomy);
    Request req;
    req.filter = [](const std::function<Value(size_t)>&) { return true; };
    auto s = prov.enumerate(caller_, req);
    int rows = 0;
    while (s->next(&inst)) ++rows;
    EXPECT_EQ(rows, 3);
    EXPECT_FALSE(s->error().has_value());
  }
  // Pinned to one pid: the same.
  base::Budget::Scope scope(&none_left);
  Request pinned;
  pinned.only_pid = 101;
  pinned.filter = [](const std::function<Value(size_t)>&) { return true; };
  auto s = prov.enumerate(caller_, pinned);
  EXPECT_FALSE(s->next(&inst));
  ASSERT_TRUE(s->error().has_value());
  EXPECT_EQ(s->error()->code, WbemStatus::kQuotaViolation);
}

}  // namespace lwmi::provider::process
