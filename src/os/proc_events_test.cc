#include "os/proc_events.h"

#include <gtest/gtest.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <thread>
#include <vector>

namespace lwmi::os {
namespace {

using Kind = ProcEvent::Kind;

// ---- Crafted buffers -------------------------------------------------------------------------

proc_event make_event(uint32_t what) {
  proc_event ev;
  std::memset(&ev, 0, sizeof ev);
  ev.what = static_cast<decltype(ev.what)>(what);
  ev.cpu = 1;
  ev.timestamp_ns = 123456789;
  return ev;
}

std::optional<ProcEvent> parse(const proc_event& ev, size_t len = sizeof(proc_event)) {
  return parse_proc_event(&ev, len);
}

// A datagram as the kernel sends it: nlmsghdr + cn_msg + proc_event.
std::vector<unsigned char> datagram(const proc_event& ev, uint32_t seq,
                                    uint32_t idx = CN_IDX_PROC) {
  std::vector<unsigned char> buf(NLMSG_SPACE(sizeof(cn_msg) + sizeof ev));
  nlmsghdr nlh{};
  nlh.nlmsg_len = NLMSG_LENGTH(sizeof(cn_msg) + sizeof ev);
  nlh.nlmsg_type = NLMSG_DONE;
  nlh.nlmsg_seq = seq;
  cn_msg cn{};
  cn.id.idx = idx;
  cn.id.val = CN_VAL_PROC;
  cn.seq = seq;
  cn.len = sizeof ev;
  std::memcpy(buf.data(), &nlh, sizeof nlh);
  std::memcpy(buf.data() + NLMSG_HDRLEN, &cn, sizeof cn);
  std::memcpy(buf.data() + NLMSG_HDRLEN + sizeof cn, &ev, sizeof ev);
  return buf;
}

void set_nlmsg_len(std::vector<unsigned char>* buf, uint32_t len) {
  std::memcpy(buf->data() + offsetof(nlmsghdr, nlmsg_len), &len, sizeof len);
}
void set_cn_len(std::vector<unsigned char>* buf, uint16_t len) {
  std::memcpy(buf->data() + NLMSG_HDRLEN + offsetof(cn_msg, len), &len, sizeof len);
}

TEST(NetlinkProcEvents, ParsesFork) {
  proc_event ev = make_event(proc_event::PROC_EVENT_FORK);
  ev.event_data.fork = {100, 100, 101, 101};
  auto got = parse(ev);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->kind, Kind::kFork);
  EXPECT_EQ(got->cpu, 1u);
  EXPECT_EQ(got->timestamp_ns, 123456789u);
  EXPECT_EQ(got->parent_pid, 100);
  EXPECT_EQ(got->parent_tgid, 100);
  EXPECT_EQ(got->pid, 101);
  EXPECT_EQ(got->tgid, 101);
  EXPECT_FALSE(got->is_thread());
  ev.event_data.fork = {100, 100, 102, 100};  // a thread of 100
  got = parse(ev);
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->is_thread());
}

TEST(NetlinkProcEvents, ParsesExecSidAndAck) {
  proc_event ev = make_event(proc_event::PROC_EVENT_EXEC);
  ev.event_data.exec = {55, 55};
  auto got = parse(ev);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->kind, Kind::kExec);
  EXPECT_EQ(got->pid, 55);
  EXPECT_EQ(got->tgid, 55);

  ev = make_event(proc_event::PROC_EVENT_SID);
  ev.event_data.sid = {56, 56};
  got = parse(ev);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->kind, Kind::kSid);
  EXPECT_EQ(got->pid, 56);

  ev = make_event(proc_event::PROC_EVENT_NONE);
  ev.event_data.ack.err = EPERM;
  got = parse(ev);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->kind, Kind::kNone);
  EXPECT_EQ(got->err, static_cast<uint32_t>(EPERM));
}

TEST(NetlinkProcEvents, ParsesUidGid) {
  proc_event ev = make_event(proc_event::PROC_EVENT_UID);
  ev.event_data.id.process_pid = 7;
  ev.event_data.id.process_tgid = 7;
  ev.event_data.id.r.ruid = 1000;
  ev.event_data.id.e.euid = 0;
  auto got = parse(ev);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->kind, Kind::kUid);
  EXPECT_EQ(got->pid, 7);
  EXPECT_EQ(got->ruid, 1000u);
  EXPECT_EQ(got->euid, 0u);
  ev.what = proc_event::PROC_EVENT_GID;
  ev.event_data.id.r.rgid = 50;
  ev.event_data.id.e.egid = 60;
  got = parse(ev);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->kind, Kind::kGid);
  EXPECT_EQ(got->ruid, 50u);
  EXPECT_EQ(got->euid, 60u);
}

TEST(NetlinkProcEvents, ParsesPtraceCommCoredump) {
  proc_event ev = make_event(proc_event::PROC_EVENT_PTRACE);
  ev.event_data.ptrace = {10, 10, 20, 20};
  auto got = parse(ev);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->kind, Kind::kPtrace);
  EXPECT_EQ(got->pid, 10);
  EXPECT_EQ(got->parent_pid, 20);
  EXPECT_EQ(got->parent_tgid, 20);

  ev = make_event(proc_event::PROC_EVENT_COMM);
  ev.event_data.comm.process_pid = 11;
  ev.event_data.comm.process_tgid = 11;
  std::strcpy(ev.event_data.comm.comm, "worker");
  got = parse(ev);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->kind, Kind::kComm);
  EXPECT_EQ(got->comm, "worker");
  std::memset(ev.event_data.comm.comm, 'x', sizeof ev.event_data.comm.comm);  // no NUL
  got = parse(ev);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->comm, std::string(16, 'x'));

  ev = make_event(proc_event::PROC_EVENT_COREDUMP);
  ev.event_data.coredump = {12, 12, 1, 1};
  got = parse(ev);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->kind, Kind::kCoredump);
  EXPECT_EQ(got->pid, 12);
  EXPECT_EQ(got->parent_pid, 1);
  got = parse(ev, 16 + 8);  // an old kernel: no parent
  ASSERT_TRUE(got);
  EXPECT_EQ(got->parent_pid, 0);
}

TEST(NetlinkProcEvents, ParsesExit) {
  proc_event ev = make_event(proc_event::PROC_EVENT_EXIT);
  ev.event_data.exit.process_pid = 30;
  ev.event_data.exit.process_tgid = 29;
  ev.event_data.exit.exit_code = 3 << 8;
  ev.event_data.exit.exit_signal = SIGCHLD;
  ev.event_data.exit.parent_pid = 1;
  ev.event_data.exit.parent_tgid = 1;
  auto got = parse(ev);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->kind, Kind::kExit);
  EXPECT_EQ(got->pid, 30);
  EXPECT_EQ(got->tgid, 29);
  EXPECT_TRUE(got->is_thread());
  EXPECT_EQ(got->exit_code, 3u << 8);
  EXPECT_EQ(got->exit_signal, static_cast<uint32_t>(SIGCHLD));
  EXPECT_EQ(got->parent_pid, 1);
  got = parse(ev, 16 + 16);  // an old kernel: no parent
  ASSERT_TRUE(got);
  EXPECT_EQ(got->exit_code, 3u << 8);
  EXPECT_EQ(got->parent_pid, 0);
}

TEST(NetlinkProcEvents, TruncatedOrUnknownEventsAreRejected) {
  const uint32_t kinds[] = {proc_event::PROC_EVENT_FORK, proc_event::PROC_EVENT_EXEC,
                            proc_event::PROC_EVENT_UID,  proc_event::PROC_EVENT_GID,
                            proc_event::PROC_EVENT_SID,  proc_event::PROC_EVENT_PTRACE,
                            proc_event::PROC_EVENT_COMM, proc_event::PROC_EVENT_COREDUMP,
                            proc_event::PROC_EVENT_EXIT, proc_event::PROC_EVENT_NONE};
  const size_t minimum[] = {16 + 16, 16 + 8,  16 + 16, 16 + 16, 16 + 8,
                            16 + 16, 16 + 24, 16 + 8,  16 + 16, 16 + 4};
  for (size_t i = 0; i < std::size(kinds); ++i) {
    proc_event ev = make_event(kinds[i]);
    EXPECT_TRUE(parse(ev, minimum[i])) << "kind " << std::hex << kinds[i];
    for (size_t len = 0; len < minimum[i]; ++len)
      EXPECT_FALSE(parse(ev, len)) << "kind " << std::hex << kinds[i] << std::dec << " len " << len;
  }
  EXPECT_FALSE(parse(make_event(0x400)));  // "next" is not defined yet
  EXPECT_FALSE(parse_proc_event(nullptr, 0));
}

TEST(NetlinkProcEvents, ParsesDatagrams) {
  proc_event ev = make_event(proc_event::PROC_EVENT_EXEC);
  ev.event_data.exec = {77, 77};
  auto buf = datagram(ev, 42);
  std::vector<ProcMessage> got;
  ASSERT_TRUE(parse_proc_datagram(buf.data(), buf.size(), &got));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].seq, 42u);
  EXPECT_EQ(got[0].event.kind, Kind::kExec);
  EXPECT_EQ(got[0].event.pid, 77);

  // Two messages in one datagram.
  auto two = buf;
  two.insert(two.end(), buf.begin(), buf.end());
  got.clear();
  ASSERT_TRUE(parse_proc_datagram(two.data(), two.size(), &got));
  EXPECT_EQ(got.size(), 2u);

  // Another connector's message is skipped, not an error.
  auto foreign = datagram(ev, 1, CN_IDX_PROC + 1);
  got.clear();
  ASSERT_TRUE(parse_proc_datagram(foreign.data(), foreign.size(), &got));
  EXPECT_TRUE(got.empty());
}

TEST(NetlinkProcEvents, MalformedDatagramsAreRejected) {
  proc_event ev = make_event(proc_event::PROC_EVENT_FORK);
  const auto good = datagram(ev, 1);
  std::vector<ProcMessage> got;
  // Every truncation.
  for (size_t len = 0; len < NLMSG_LENGTH(sizeof(cn_msg) + sizeof ev); ++len) {
    EXPECT_FALSE(parse_proc_datagram(good.data(), len, &got)) << "len " << len;
  }
  // nlmsg_len beyond the datagram, or shorter than its header.
  auto bad = good;
  set_nlmsg_len(&bad, good.size() + 4);
  EXPECT_FALSE(parse_proc_datagram(bad.data(), bad.size(), &got));
  set_nlmsg_len(&bad, NLMSG_HDRLEN - 1);
  EXPECT_FALSE(parse_proc_datagram(bad.data(), bad.size(), &got));
  // nlmsg_len too short for the cn_msg header.
  set_nlmsg_len(&bad, NLMSG_HDRLEN + sizeof(cn_msg) - 1);
  EXPECT_FALSE(parse_proc_datagram(bad.data(), bad.size(), &got));
  // cn_msg.len beyond the netlink message, or too short for a fork event.
  bad = good;
  set_cn_len(&bad, sizeof ev + 1);
  EXPECT_FALSE(parse_proc_datagram(bad.data(), bad.size(), &got));
  set_cn_len(&bad, 16 + 15);
  EXPECT_FALSE(parse_proc_datagram(bad.data(), bad.size(), &got));
  set_cn_len(&bad, 0xffff);
  EXPECT_FALSE(parse_proc_datagram(bad.data(), bad.size(), &got));
  // A good message followed by a bad one: nothing is appended.
  auto mixed = good;
  auto tail = good;
  set_cn_len(&tail, 3);
  mixed.insert(mixed.end(), tail.begin(), tail.end());
  EXPECT_FALSE(parse_proc_datagram(mixed.data(), mixed.size(), &got));
  EXPECT_TRUE(got.empty());
}

TEST(NetlinkProcEvents, SequenceGapsCountLoss) {
  SequenceGaps gaps;
  EXPECT_EQ(gaps.observe(0, 10), 0u);  // first from CPU 0
  EXPECT_EQ(gaps.observe(0, 11), 0u);
  EXPECT_EQ(gaps.observe(1, 500), 0u);  // CPUs count separately
  EXPECT_EQ(gaps.observe(0, 15), 3u);   // 12, 13, 14 lost
  EXPECT_EQ(gaps.observe(0, 15), 0u);   // a repeat
  EXPECT_EQ(gaps.observe(0, 14), 0u);   // backwards
  EXPECT_EQ(gaps.observe(1, 502), 1u);
  EXPECT_EQ(gaps.observe(2, UINT32_MAX), 0u);
  EXPECT_EQ(gaps.observe(2, 1), 1u);  // wraps: 0 lost
}

// ---- The live connector ----------------------------------------------------------------------

int64_t now_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// Starts `source`, or says why the test cannot run here.
#define START_OR_SKIP(source)                                                          \
  do {                                                                                 \
    auto started = (source).start();                                                   \
    if (!started) GTEST_SKIP() << "no process connector: " << started.error().message; \
  } while (0)

// Reads until on_event returns true for some event or timeout_ms passes; false on timeout.
bool pump(ProcEventSource& source, int timeout_ms,
          const std::function<bool(const ProcEvent&)>& on_event) {
  const int64_t deadline = now_ms() + timeout_ms;
  std::vector<ProcEvent> events;
  for (;;) {
    const int64_t left = deadline - now_ms();
    if (left <= 0) return false;
    events.clear();
    auto n = source.read(&events, static_cast<int>(std::min<int64_t>(left, 200)));
    if (!n.ok()) {
      ADD_FAILURE() << n.error().message;
      return false;
    }
    bool done = false;
    for (const ProcEvent& ev : events) done = on_event(ev) || done;
    if (done) return true;
  }
}

// Loss the source owned up to: an overrun (ENOBUFS) or a gap in the kernel's sequence numbers
// (the kernel drops a message for every listener when it cannot allocate it; no ENOBUFS then).
bool reported_loss(const ProcEventSource& source) {
  return source.overruns() > 0 || source.lost() > 0;
}

pid_t wait_child(pid_t pid, int* status) {
  pid_t r;
  do r = waitpid(pid, status, 0);
  while (r < 0 && errno == EINTR);
  return r;
}

// Generous: the machine is shared with builds.
constexpr int kTimeoutMs = 20000;

TEST(NetlinkProcEvents, SeesForkExecExitOfAChild) {
  NetlinkProcEvents source;
  START_OR_SKIP(source);
  std::printf("receive buffer %zu bytes (forced: %s)\n", source.receive_buffer(),
              source.buffer_forced() ? "yes" : "no");
  EXPECT_GE(source.fd(), 0);

  const pid_t parent = getpid();
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    execl("/bin/true", "true", static_cast<char*>(nullptr));
    _exit(127);
  }
  bool fork_seen = false, exec_seen = false, exit_seen = false;
  ProcEvent exit_event;
  bool done = pump(source, kTimeoutMs, [&](const ProcEvent& ev) {
    if (ev.kind == Kind::kFork && ev.pid == child) {
      fork_seen = true;
      EXPECT_EQ(ev.tgid, child);
      EXPECT_EQ(ev.parent_tgid, parent);
      EXPECT_EQ(ev.parent_pid, static_cast<pid_t>(syscall(SYS_gettid)));
      EXPECT_FALSE(ev.is_thread());
    } else if (ev.kind == Kind::kExec && ev.tgid == child) {
      exec_seen = true;
      EXPECT_EQ(ev.pid, child);
    } else if (ev.kind == Kind::kExit && ev.pid == child) {
      exit_seen = true;
      exit_event = ev;
    }
    return fork_seen && exec_seen && exit_seen;
  });
  int status = 0;
  ASSERT_EQ(wait_child(child, &status), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  if (!done && reported_loss(source)) GTEST_SKIP() << "events lost, and reported as lost";
  EXPECT_TRUE(fork_seen);
  EXPECT_TRUE(exec_seen);
  ASSERT_TRUE(exit_seen);
  EXPECT_EQ(exit_event.tgid, child);
  EXPECT_EQ(exit_event.exit_code, 0u);
  EXPECT_EQ(exit_event.exit_signal, static_cast<uint32_t>(SIGCHLD));
  EXPECT_FALSE(exit_event.is_thread());
  EXPECT_GT(exit_event.timestamp_ns, 0u);
}

TEST(NetlinkProcEvents, ExitCodeIsTheWaitStatus) {
  NetlinkProcEvents source;
  START_OR_SKIP(source);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) _exit(3);
  std::optional<ProcEvent> exit_event;
  pump(source, kTimeoutMs, [&](const ProcEvent& ev) {
    if (ev.kind == Kind::kExit && ev.pid == child) exit_event = ev;
    return exit_event.has_value();
  });
  int status = 0;
  ASSERT_EQ(wait_child(child, &status), child);
  if (!exit_event && reported_loss(source)) GTEST_SKIP() << "events lost, and reported as lost";
  ASSERT_TRUE(exit_event);
  EXPECT_EQ(exit_event->exit_code, 3u << 8);
  EXPECT_EQ(static_cast<int>(exit_event->exit_code), status);
  EXPECT_EQ(exit_event->parent_tgid, getpid());  // this kernel reports the parent at exit
}

TEST(NetlinkProcEvents, ThreadsAreMarked) {
  NetlinkProcEvents source;
  START_OR_SKIP(source);
  std::atomic<pid_t> tid{0};
  std::thread worker([&] { tid = static_cast<pid_t>(syscall(SYS_gettid)); });
  worker.join();
  const pid_t self = getpid();
  bool fork_seen = false, exit_seen = false;
  pump(source, kTimeoutMs, [&](const ProcEvent& ev) {
    if (ev.pid != tid.load()) return false;
    if (ev.kind == Kind::kFork) {
      fork_seen = true;
      EXPECT_EQ(ev.tgid, self);
      // A thread shares its process's real parent, and that is what the kernel reports.
      EXPECT_EQ(ev.parent_tgid, getppid());
      EXPECT_TRUE(ev.is_thread());
    } else if (ev.kind == Kind::kExit) {
      exit_seen = true;
      EXPECT_EQ(ev.tgid, self);
      EXPECT_TRUE(ev.is_thread());
    }
    return fork_seen && exit_seen;
  });
  if (!(fork_seen && exit_seen) && reported_loss(source))
    GTEST_SKIP() << "events lost, and reported as lost";
  EXPECT_TRUE(fork_seen);
  EXPECT_TRUE(exit_seen);
}

// Forks n children that _exit(0) at once, reaps them, and returns their pids.
std::set<pid_t> fork_burst(int n) {
  std::vector<pid_t> pids;
  pids.reserve(n);
  for (int i = 0; i < n; ++i) {
    pid_t pid = fork();
    if (pid == 0) _exit(0);
    if (pid < 0) {
      ADD_FAILURE() << "fork: " << strerror(errno);
      break;
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    wait_child(pid, &status);
  }
  return std::set<pid_t>(pids.begin(), pids.end());
}

// Reads until quiet for quiet_ms (or the deadline), calling on_event for each event.
void drain(ProcEventSource& source, int quiet_ms, int timeout_ms,
           const std::function<void(const ProcEvent&)>& on_event) {
  const int64_t deadline = now_ms() + timeout_ms;
  std::vector<ProcEvent> events;
  int64_t last = now_ms();
  while (now_ms() < deadline && now_ms() - last < quiet_ms) {
    events.clear();
    auto n = source.read(&events, 100);
    ASSERT_TRUE(n.ok()) << n.error().message;
    if (*n > 0) last = now_ms();
    for (const ProcEvent& ev : events) on_event(ev);
  }
}

TEST(NetlinkProcEvents, BurstWithALargeBufferLosesNothingOrSaysSo) {
  if (geteuid() != 0) GTEST_SKIP() << "SO_RCVBUFFORCE needs root";
  NetlinkProcEvents source;  // 64 MiB, forced
  START_OR_SKIP(source);
  constexpr int kChildren = 2000;
  const std::set<pid_t> pids = fork_burst(kChildren);  // nothing read until all have exited
  size_t forks = 0, exits = 0;
  std::set<pid_t> exited;
  drain(source, 1000, 60000, [&](const ProcEvent& ev) {
    if (!pids.count(ev.pid)) return;
    if (ev.kind == Kind::kFork) ++forks;
    if (ev.kind == Kind::kExit) exited.insert(ev.pid), ++exits;
  });
  std::printf(
      "burst of %zu: %zu forks and %zu exits seen, overruns %llu, lost %llu, buffer %zu "
      "(forced: %s)\n",
      pids.size(), forks, exits, static_cast<unsigned long long>(source.overruns()),
      static_cast<unsigned long long>(source.lost()), source.receive_buffer(),
      source.buffer_forced() ? "yes" : "no");
  RecordProperty("exits_seen", static_cast<int>(exits));
  RecordProperty("overruns", static_cast<int>(source.overruns()));
  const bool all_seen = exited.size() == pids.size();
  // Loss is never silent: either every exit arrived or the counters say some did not.
  EXPECT_TRUE(all_seen || reported_loss(source));
  if (source.buffer_forced() && source.receive_buffer() >= NetlinkProcEvents::kDefaultBufferBytes) {
    EXPECT_EQ(source.overruns(), 0u);  // 4,000 events need a few MiB of a 64 MiB buffer
  }
}

TEST(NetlinkProcEvents, BurstWithATinyBufferReportsLoss) {
  NetlinkProcEvents source(4096, /*force_buffer=*/false);
  START_OR_SKIP(source);
  constexpr int kChildren = 5000;
  const std::set<pid_t> pids = fork_burst(kChildren);  // nothing read until all have exited
  size_t exits = 0;
  drain(source, 500, 30000, [&](const ProcEvent& ev) {
    if (ev.kind == Kind::kExit && pids.count(ev.pid)) ++exits;
  });
  // A later event from the same CPUs shows the gap in the sequence numbers too.
  const std::set<pid_t> more = fork_burst(20);
  drain(source, 500, 10000, [](const ProcEvent&) {});
  std::printf("tiny buffer %zu: %zu of %zu exits seen, overruns %llu, lost %llu\n",
              source.receive_buffer(), exits, pids.size(),
              static_cast<unsigned long long>(source.overruns()),
              static_cast<unsigned long long>(source.lost()));
  EXPECT_FALSE(source.buffer_forced());
  EXPECT_LT(source.receive_buffer(), size_t{64} << 10);
  EXPECT_GT(source.overruns(), 0u);
  EXPECT_LT(exits, pids.size());
}

TEST(NetlinkProcEvents, ReadBeforeStartAndStopAreSafe) {
  NetlinkProcEvents source;
  std::vector<ProcEvent> events;
  auto r = source.read(&events, 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, WbemStatus::kProviderFailure);
  EXPECT_NE(r.error().message.find("netlink process connector"), std::string::npos);
  EXPECT_EQ(source.fd(), -1);
  source.stop();
  START_OR_SKIP(source);
  EXPECT_GE(source.fd(), 0);
  source.stop();
  EXPECT_EQ(source.fd(), -1);
  START_OR_SKIP(source);  // again
  EXPECT_GE(source.fd(), 0);
}

}  // namespace
}  // namespace lwmi::os

namespace lwmi::os {

// /proc polling on a directory tree made for the test: differences between scans are events.
TEST(ProcPollEvents, DifferencesBetweenScans) {
  namespace fs = std::filesystem;
  fs::path root = fs::temp_directory_path() / ("lwmi-poll-" + std::to_string(::getpid()));
  fs::remove_all(root);
  auto put = [&](int pid, uint64_t start, char state = 'S') {
    fs::create_directories(root / std::to_string(pid));
    std::ofstream(root / std::to_string(pid) / "stat")
        << pid << " (a b) c) " << state << " 1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 " << start
        << " 0 0\n";
  };
  put(10, 500);
  put(11, 600);
  ProcPollEvents poll(ProcFs(root.string()), 1);
  ASSERT_TRUE(poll.start().ok());
  EXPECT_STREQ(poll.name(), "proc-poll");
  EXPECT_FALSE(poll.has_exit_status());
  std::vector<ProcEvent> out;
  ASSERT_EQ(*poll.read(&out, 100), 0u) << "nothing changed";
  fs::remove_all(root / "10");
  put(11, 700);       // pid 11 reused: an exit and a new process
  put(12, 800);       // new
  put(13, 900, 'Z');  // a zombie has exited: not a process
  out.clear();
  ASSERT_EQ(*poll.read(&out, 100), 4u);
  std::vector<std::pair<ProcEvent::Kind, int32_t>> got;
  for (const auto& e : out) got.emplace_back(e.kind, e.tgid);
  std::sort(got.begin(), got.end());
  using K = ProcEvent::Kind;
  EXPECT_EQ(got, (std::vector<std::pair<K, int32_t>>{
                     {K::kExec, 11}, {K::kExec, 12}, {K::kExit, 10}, {K::kExit, 11}}));
  EXPECT_EQ(poll.lost(), 0u);
  EXPECT_EQ(poll.scans(), 3u);
  fs::remove_all(root);
}

}  // namespace lwmi::os
