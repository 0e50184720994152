// guard_bench — the exec guard's benchmark program (bench/guard.sh runs it). Root: it loads
// lwmi's BPF programs (os::BpfMonitor) into the kernel.
//
//   guard_bench exec RUNS ROUNDS
//       fork + exec + waitpid of /bin/true RUNS times in each of three configurations:
//         (a) nothing of lwmi's loaded,
//         (b) the BPF programs loaded, events on and drained by a thread,
//         (c) (b) plus 100 guard rules (25 of each kind), none matching /bin/true;
//       ROUNDS times in the order a, b, c (the programs are unloaded between rounds). The
//       programs are held by another process, as lwmid holds them; that process also times its
//       own RUNS fork+exec without and with (c) (its forks copy its mapping of the ring buffer).
//       Prints each time, the overhead against (a) per round, and the median over rounds.
//   guard_bench kill PROGRAM DIR RUNS
//       Installs what `Name = 'basename(PROGRAM)'` compiles to (a file-name and a comm rule),
//       with events on and drained, and launches PROGRAM RUNS times (posix_spawn, then waitpid),
//       each with its own file DIR/N to create as its first act. Prints how many were killed by
//       SIGKILL, how many wrote their file (goal 0), p50/p99/max spawn -> waitpid.
//   guard_bench rate SECONDS RATE bpf|netlink [stalled]
//       A helper forks RATE children per second (0 = as fast as it can) for SECONDS, each exiting
//       at once (no exec); this process counts their fork events from the BPF ring buffer or from
//       the netlink connector (64 MiB buffer, forced as root). `stalled`: it reads nothing until
//       the helper is done (a reader busy elsewhere: what the kernel's buffer holds). Prints
//       forks, received, the source's lost() and overruns().
// Times are CLOCK_MONOTONIC.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "os/bpf_monitor.h"
#include "os/proc_events.h"

extern char** environ;

namespace {

using lwmi::os::BpfMonitor;
using lwmi::os::BpfProcEvents;
using lwmi::os::GuardKey;
using lwmi::os::NetlinkProcEvents;
using lwmi::os::ProcEvent;
using lwmi::os::ProcEventSource;

int64_t now_ns() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

std::string base_name(const std::string& p) {
  auto s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

// Reads a source on a thread of its own until stopped, counting what it is given.
class Drainer {
 public:
  explicit Drainer(ProcEventSource* src) : src_(src) {
    thread_ = std::thread([this] {
      std::vector<ProcEvent> batch;
      while (!stop_) {
        batch.clear();
        auto n = src_->read(&batch, 100);
        if (!n.ok()) {
          std::fprintf(stderr, "guard_bench: read: %s\n", n.error().message.c_str());
          return;
        }
        for (const auto& e : batch) {
          ++events_;
          if (e.blocked) ++blocked_;
        }
      }
    });
  }
  ~Drainer() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  uint64_t events() const { return events_; }
  uint64_t blocked() const { return blocked_; }

 private:
  ProcEventSource* src_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> events_{0}, blocked_{0};
  std::thread thread_;
};

std::shared_ptr<BpfMonitor> load_or_die() {
  auto m = BpfMonitor::load();
  if (!m.ok()) {
    std::fprintf(stderr, "guard_bench: %s\n", m.error().message.c_str());
    std::exit(3);
  }
  return *m;
}

// fork + exec /bin/true + waitpid, `runs` times; seconds taken.
double exec_true(int runs) {
  const int64_t t0 = now_ns();
  for (int i = 0; i < runs; ++i) {
    pid_t pid = fork();
    if (pid == 0) {
      execl("/bin/true", "true", nullptr);
      _exit(127);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      std::fprintf(stderr, "guard_bench: /bin/true did not run (status %d)\n", st);
      std::exit(3);
    }
  }
  return static_cast<double>(now_ns() - t0) / 1e9;
}

// 100 keys, 25 of each kind, none of which /bin/true (or anything else on the host) matches.
std::vector<GuardKey> unmatched_rules() {
  std::vector<GuardKey> keys;
  struct stat sb {};
  const uint64_t dev =
      stat("/tmp", &sb) == 0 ? static_cast<uint64_t>(major(sb.st_dev)) << 20 | minor(sb.st_dev) : 1;
  const std::string tag = std::to_string(getpid());
  for (int i = 0; i < 25; ++i) {
    const std::string n = "lwgb" + tag + "-" + std::to_string(i);
    GuardKey k;
    k.kind = GuardKey::Kind::kIdentity;
    k.dev = dev;
    k.ino = (uint64_t{1} << 40) + static_cast<uint64_t>(i);  // no such inode
    keys.push_back(k);
    k = {};
    k.kind = GuardKey::Kind::kFileName;
    k.name = n;
    keys.push_back(k);
    k.kind = GuardKey::Kind::kComm;
    k.name = n.substr(0, 15);
    keys.push_back(k);
    k.kind = GuardKey::Kind::kPath;
    k.dev = dev;
    k.ino = sb.st_ino;  // /tmp
    k.name = n;
    keys.push_back(k);
  }
  return keys;
}

// The process that holds the programs, as lwmid does: forked before any thread exists, it
// obeys one-letter commands on a pipe and answers each with a line.
//   L  load the programs, events on, drained by a thread     R  add the 100 unmatched rules
//   U  unload (events off, programs detached)                F  run exec_true(runs) itself
//   Q  quit
class Holder {
 public:
  explicit Holder(int runs) {
    int cmd[2], reply[2];
    if (pipe2(cmd, O_CLOEXEC) != 0 || pipe2(reply, O_CLOEXEC) != 0) std::exit(3);
    pid_ = fork();
    if (pid_ == 0) {
      close(cmd[1]);
      close(reply[0]);
      serve(cmd[0], reply[1], runs);
      _exit(0);
    }
    close(cmd[0]);
    close(reply[1]);
    cmd_ = cmd[1];
    reply_ = fdopen(reply[0], "r");
  }
  ~Holder() {
    ask('Q');
    waitpid(pid_, nullptr, 0);
    fclose(reply_);
    close(cmd_);
  }
  std::string ask(char c) {
    if (write(cmd_, &c, 1) != 1) std::exit(3);
    char line[256] = "";
    if (!fgets(line, sizeof line, reply_) && c != 'Q') std::exit(3);
    std::string out(line);
    if (!out.empty() && out.back() == '\n') out.pop_back();
    if (out.rfind("error", 0) == 0) {
      std::fprintf(stderr, "guard_bench: holder: %s\n", out.c_str());
      std::exit(3);
    }
    return out;
  }

 private:
  static void serve(int in, int out, int runs) {
    std::shared_ptr<BpfMonitor> m;
    std::unique_ptr<BpfProcEvents> src;
    std::unique_ptr<Drainer> drain;
    FILE* reply = fdopen(out, "w");
    char c;
    while (read(in, &c, 1) == 1) {
      if (c == 'L') {
        auto loaded = BpfMonitor::load();
        if (!loaded.ok()) {
          std::fprintf(reply, "error %s\n", loaded.error().message.c_str());
        } else {
          m = *loaded;
          src = std::make_unique<BpfProcEvents>(m);
          if (!src->start().ok()) std::fprintf(reply, "error start\n");
          drain = std::make_unique<Drainer>(src.get());
          std::fprintf(reply, "ok\n");
        }
      } else if (c == 'R') {
        uint32_t id = 1;
        bool ok = m != nullptr;
        for (const auto& k : unmatched_rules()) ok = ok && m->add_rule(k, id++).ok();
        std::fprintf(reply, ok && m->rule_keys() == 100 ? "ok\n" : "error rules\n");
      } else if (c == 'U') {
        usleep(200000);  // the last records
        const uint64_t events = drain ? drain->events() : 0, lost = src ? src->lost() : 0;
        drain.reset();
        src.reset();
        m.reset();
        std::fprintf(reply, "%llu events, %llu lost\n", static_cast<unsigned long long>(events),
                     static_cast<unsigned long long>(lost));
      } else if (c == 'F') {
        std::fprintf(reply, "%.6f\n", exec_true(runs));
      } else if (c == 'Q') {
        std::fprintf(reply, "bye\n");
        fflush(reply);
        return;
      }
      fflush(reply);
    }
  }

  pid_t pid_ = -1;
  int cmd_ = -1;
  FILE* reply_ = nullptr;
};

int exec_bench(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: guard_bench exec RUNS ROUNDS\n");
    return 2;
  }
  const int runs = atoi(argv[2]), rounds = atoi(argv[3]);
  Holder holder(runs);
  std::vector<double> over_b, over_c, over_own;
  for (int r = 0; r < rounds; ++r) {
    const double a = exec_true(runs);
    const double own_a = std::stod(holder.ask('F'));
    holder.ask('L');
    const double b = exec_true(runs);
    holder.ask('R');
    const double c = exec_true(runs);
    const double own_c = std::stod(holder.ask('F'));
    const std::string events = holder.ask('U');
    over_b.push_back((b / a - 1) * 100);
    over_c.push_back((c / a - 1) * 100);
    over_own.push_back((own_c / own_a - 1) * 100);
    std::printf(
        "round %d: (a) nothing loaded %.3f s (%.0f us/exec)  (b) BPF + events %.3f s (%+.1f%%)  "
        "(c) + 100 rules %.3f s (%+.1f%%)  [%s]\n"
        "         the loading process's own fork+exec: %.3f s without, %.3f s with (c) (%+.1f%%)\n",
        r + 1, a, a / runs * 1e6, b, over_b.back(), c, over_c.back(), events.c_str(), own_a, own_c,
        over_own.back());
  }
  std::printf(
      "median overhead vs (a) over %d rounds of %d execs: (b) %+.1f%%  (c) %+.1f%%;  the "
      "loading process's own: %+.1f%%\n",
      rounds, runs, percentile(over_b, 0.5), percentile(over_c, 0.5), percentile(over_own, 0.5));
  return 0;
}

int kill_bench(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: guard_bench kill PROGRAM DIR RUNS\n");
    return 2;
  }
  const std::string prog = argv[2], dir = argv[3];
  const int runs = atoi(argv[4]);
  const std::string name = base_name(prog);
  auto m = load_or_die();
  BpfProcEvents src(m);
  if (!src.start().ok()) return 3;
  Drainer drain(&src);
  GuardKey k;
  k.kind = GuardKey::Kind::kFileName;
  k.name = name;
  if (!m->add_rule(k, 1).ok()) return 3;
  if (name.size() <= 15) {
    k.kind = GuardKey::Kind::kComm;
    if (!m->add_rule(k, 1).ok()) return 3;
  }
  std::vector<double> ms;
  int killed = 0, other = 0;
  for (int i = 0; i < runs; ++i) {
    std::string file = dir + "/" + std::to_string(i);
    std::vector<char*> args{const_cast<char*>(prog.c_str()), file.data(), nullptr};
    pid_t pid = 0;
    const int64_t t0 = now_ns();
    if (posix_spawn(&pid, prog.c_str(), nullptr, nullptr, args.data(), environ) != 0) {
      std::perror("posix_spawn");
      return 3;
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    ms.push_back(static_cast<double>(now_ns() - t0) / 1e6);
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
      ++killed;
    else
      ++other;
  }
  usleep(200000);  // the last records
  drain.stop();
  int written = 0;
  for (int i = 0; i < runs; ++i) {
    struct stat st;
    if (stat((dir + "/" + std::to_string(i)).c_str(), &st) == 0) ++written;
  }
  std::printf(
      "launches %d killed %d other %d wrote %d p50_ms %.3f p99_ms %.3f max_ms %.3f "
      "blocked_events %llu rule_blocked %llu\n",
      runs, killed, other, written, percentile(ms, 0.5), percentile(ms, 0.99), percentile(ms, 1.0),
      static_cast<unsigned long long>(drain.blocked()),
      static_cast<unsigned long long>(m->rule_state(1).blocked));
  return 0;
}

int rate_bench(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: guard_bench rate SECONDS RATE bpf|netlink [stalled]\n");
    return 2;
  }
  const double seconds = atof(argv[2]);
  const double per_second = atof(argv[3]);
  const std::string which = argv[4];
  const bool stalled = argc > 5 && std::strcmp(argv[5], "stalled") == 0;
  int go[2], done[2];
  if (pipe2(go, O_CLOEXEC) != 0 || pipe2(done, O_CLOEXEC) != 0) return 3;
  // The helper is forked before any thread exists here.
  pid_t helper = fork();
  if (helper == 0) {
    close(go[1]);
    close(done[0]);
    char c;
    if (read(go[0], &c, 1) != 1) _exit(2);
    int64_t t0 = now_ns(), end = t0 + static_cast<int64_t>(seconds * 1e9);
    uint64_t n = 0;
    for (;;) {
      int64_t t = now_ns();
      if (t >= end) break;
      if (per_second > 0) {
        int64_t due = t0 + static_cast<int64_t>(static_cast<double>(n) / per_second * 1e9);
        if (due > t) {
          if (due - t > 200000) usleep(static_cast<useconds_t>((due - t) / 1000 - 100));
          continue;
        }
      }
      pid_t p = fork();
      if (p == 0) _exit(0);
      if (p > 0) ++n;
      while (waitpid(-1, nullptr, WNOHANG) > 0) {
      }
    }
    while (waitpid(-1, nullptr, 0) > 0) {
    }
    double took = static_cast<double>(now_ns() - t0) / 1e9;
    char line[128];
    int len = snprintf(line, sizeof line, "%llu %.3f\n", static_cast<unsigned long long>(n), took);
    if (write(done[1], line, static_cast<size_t>(len)) != len) _exit(3);
    _exit(0);
  }
  close(go[0]);
  close(done[1]);

  std::shared_ptr<BpfMonitor> monitor;
  std::unique_ptr<ProcEventSource> src;
  if (which == "bpf") {
    monitor = load_or_die();
    src = std::make_unique<BpfProcEvents>(monitor);
  } else if (which == "netlink") {
    src = std::make_unique<NetlinkProcEvents>();
  } else {
    std::fprintf(stderr, "guard_bench: unknown source %s\n", which.c_str());
    return 2;
  }
  if (auto r = src->start(); !r.ok()) {
    std::fprintf(stderr, "guard_bench: %s\n", r.error().message.c_str());
    return 3;
  }
  std::string report;
  if (write(go[1], "x", 1) != 1) return 3;
  if (stalled) {
    char buf[128];
    fcntl(done[0], F_SETFL, 0);
    ssize_t r = read(done[0], buf, sizeof buf - 1);
    if (r <= 0) return 3;
    buf[r] = 0;
    report = buf;
  }
  uint64_t received = 0;
  std::vector<ProcEvent> batch;
  bool helper_done = stalled;
  int64_t quiet_since = 0;
  fcntl(done[0], F_SETFL, O_NONBLOCK);
  for (;;) {
    batch.clear();
    auto n = src->read(&batch, 200);
    if (!n.ok()) {
      std::fprintf(stderr, "guard_bench: %s\n", n.error().message.c_str());
      return 3;
    }
    bool any = false;
    for (const auto& e : batch)
      if (e.kind == ProcEvent::Kind::kFork && !e.is_thread() && e.parent_tgid == helper) {
        ++received;
        any = true;
      }
    if (any) {
      quiet_since = 0;
      continue;
    }
    if (!helper_done) {
      char buf[128];
      ssize_t r = read(done[0], buf, sizeof buf - 1);
      if (r > 0) {
        buf[r] = 0;
        report = buf;
        helper_done = true;
      }
    }
    if (helper_done) {
      if (quiet_since == 0) quiet_since = now_ns();
      if (now_ns() - quiet_since > 1000000000) break;  // a second with nothing more
    }
  }
  waitpid(helper, nullptr, 0);
  unsigned long long forks = 0;
  double took = 0;
  if (sscanf(report.c_str(), "%llu %lf", &forks, &took) != 2) return 3;
  std::printf(
      "source %s forks %llu in %.3f s (%.0f/s) received %llu missing %lld lost %llu "
      "overruns %llu\n",
      src->name(), forks, took, static_cast<double>(forks) / took,
      static_cast<unsigned long long>(received),
      static_cast<long long>(forks) - static_cast<long long>(received),
      static_cast<unsigned long long>(src->lost()),
      static_cast<unsigned long long>(src->overruns()));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "exec") == 0) return exec_bench(argc, argv);
  if (argc >= 2 && std::strcmp(argv[1], "kill") == 0) return kill_bench(argc, argv);
  if (argc >= 2 && std::strcmp(argv[1], "rate") == 0) return rate_bench(argc, argv);
  std::fprintf(stderr,
               "usage: guard_bench exec RUNS ROUNDS\n"
               "       guard_bench kill PROGRAM DIR RUNS\n"
               "       guard_bench rate SECONDS RATE bpf|netlink [stalled]\n");
  return 2;
}
