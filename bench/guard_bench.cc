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
//       own RUNS fork+exec without and with (c). Prints wall and CPU time, the nanoseconds the
//       kernel counted in the programs (BPF run-time statistics) per fork+exec+exit, the overhead
//       against (a) per round, and the median over rounds.
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
#include <sys/resource.h>
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
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <bpf/bpf.h>

#include "lib/fork_storm.h"
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

// CPU seconds (user + system) of this thread and of the process's reaped children so far (not
// of other threads: the holder's reader is counted apart).
double cpu_seconds() {
  auto secs = [](const struct rusage& r) {
    return static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
           static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
  };
  struct rusage self {
  }, children{};
  getrusage(RUSAGE_THREAD, &self);
  getrusage(RUSAGE_CHILDREN, &children);
  return secs(self) + secs(children);
}

// What `runs` fork + exec /bin/true + waitpid took: wall time, and the CPU time they used (the
// BPF programs run in the exec'ing task, so their cost is in it; on a shared host the CPU time
// is what other load disturbs least).
struct Cost {
  double wall = 0, cpu = 0;
};
Cost exec_true(int runs) {
  const int64_t t0 = now_ns();
  const double c0 = cpu_seconds();
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
  return {static_cast<double>(now_ns() - t0) / 1e9, cpu_seconds() - c0};
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

// The ids of the loaded BPF programs named lwmi_* (ours and any other lwmi's).
std::set<uint32_t> lwmi_prog_ids() {
  std::set<uint32_t> ids;
  uint32_t id = 0;
  while (bpf_prog_get_next_id(id, &id) == 0) {
    int fd = bpf_prog_get_fd_by_id(id);  // close-on-exec, as every BPF descriptor
    if (fd < 0) continue;
    bpf_prog_info info{};
    uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && std::strncmp(info.name, "lwmi_", 5) == 0)
      ids.insert(id);
    close(fd);
  }
  return ids;
}

// What the kernel counted (with run-time statistics on) for the programs `ids`: nanoseconds in
// all of them, in the exec program and in the fork program.
struct RunTime {
  uint64_t all = 0, exec = 0, fork = 0;
};
RunTime run_time_ns(const std::set<uint32_t>& ids) {
  RunTime t;
  for (uint32_t id : ids) {
    int fd = bpf_prog_get_fd_by_id(id);
    if (fd < 0) continue;
    bpf_prog_info info{};
    uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) {
      t.all += info.run_time_ns;
      if (std::strcmp(info.name, "lwmi_exec") == 0) t.exec += info.run_time_ns;
      if (std::strcmp(info.name, "lwmi_fork") == 0) t.fork += info.run_time_ns;
    }
    close(fd);
  }
  return t;
}

// The process that holds the programs, as lwmid does: forked before any thread exists, it
// obeys one-letter commands on a pipe and answers each with a line.
//   L  load the programs, events on, drained by a thread     R  add the 100 unmatched rules
//   U  unload (events off, programs detached)                F  run exec_true(runs) itself
//   S  the nanoseconds the kernel counted in its programs      Q  quit
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
    double cpu_at_load = 0;
    std::set<uint32_t> ours;  // our programs' ids
    int stats_fd = -1;        // run-time statistics are on while it is open
    FILE* reply = fdopen(out, "w");
    char c;
    while (read(in, &c, 1) == 1) {
      if (c == 'L') {
        const auto before = lwmi_prog_ids();
        auto loaded = BpfMonitor::load();
        ours.clear();
        for (uint32_t id : lwmi_prog_ids())
          if (!before.count(id)) ours.insert(id);
        if (stats_fd < 0) stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
        if (!loaded.ok()) {
          std::fprintf(reply, "error %s\n", loaded.error().message.c_str());
        } else {
          m = *loaded;
          src = std::make_unique<BpfProcEvents>(m);
          if (!src->start().ok()) std::fprintf(reply, "error start\n");
          drain = std::make_unique<Drainer>(src.get());
          cpu_at_load = cpu_seconds();
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
        const double cpu = cpu_seconds() - cpu_at_load;
        drain.reset();
        src.reset();
        m.reset();
        if (stats_fd >= 0) close(stats_fd);
        stats_fd = -1;
        std::fprintf(reply, "%llu events, %llu lost, reader %.3f s CPU\n",
                     static_cast<unsigned long long>(events), static_cast<unsigned long long>(lost),
                     cpu);
      } else if (c == 'S') {
        const RunTime t = run_time_ns(ours);
        std::fprintf(reply, "%llu %llu %llu %d\n", static_cast<unsigned long long>(t.all),
                     static_cast<unsigned long long>(t.exec),
                     static_cast<unsigned long long>(t.fork), stats_fd >= 0 ? 1 : 0);
      } else if (c == 'F') {
        const Cost c = exec_true(runs);
        std::fprintf(reply, "%.6f %.6f\n", c.wall, c.cpu);
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
  auto parse = [](const std::string& line) {
    Cost c;
    if (std::sscanf(line.c_str(), "%lf %lf", &c.wall, &c.cpu) != 2) std::exit(3);
    return c;
  };
  auto pct = [](double x, double base) { return (x / base - 1) * 100; };
  auto parse_ns = [](const std::string& line) {
    unsigned long long all = 0, exec = 0, fork = 0;
    int on = 0;
    if (std::sscanf(line.c_str(), "%llu %llu %llu %d", &all, &exec, &fork, &on) != 4 || !on) {
      std::fprintf(stderr, "guard_bench: no BPF run-time statistics (%s)\n", line.c_str());
      std::exit(3);
    }
    return RunTime{all, exec, fork};
  };
  std::vector<double> kernel_b, kernel_c;
  std::vector<double> wall_b, wall_c, cpu_b, cpu_c, own_wall, own_cpu;
  for (int r = 0; r < rounds; ++r) {
    const Cost a = exec_true(runs);
    const Cost own_a = parse(holder.ask('F'));
    holder.ask('L');
    const auto s0 = parse_ns(holder.ask('S'));
    const Cost b = exec_true(runs);
    const auto s1 = parse_ns(holder.ask('S'));
    holder.ask('R');
    const auto s2 = parse_ns(holder.ask('S'));
    const Cost c = exec_true(runs);
    const auto s3 = parse_ns(holder.ask('S'));
    // In the kernel programs per fork+exec+exit, against (a)'s wall time per exec.
    const double ns_b = static_cast<double>(s1.all - s0.all) / runs;
    const double ns_c = static_cast<double>(s3.all - s2.all) / runs;
    const double exec_ns_c = static_cast<double>(s3.exec - s2.exec) / runs;
    const double fork_ns_c = static_cast<double>(s3.fork - s2.fork) / runs;
    kernel_b.push_back(ns_b / (a.wall / runs * 1e9) * 100);
    kernel_c.push_back(ns_c / (a.wall / runs * 1e9) * 100);
    const Cost own_c = parse(holder.ask('F'));
    const std::string reader = holder.ask('U');
    wall_b.push_back(pct(b.wall, a.wall));
    wall_c.push_back(pct(c.wall, a.wall));
    cpu_b.push_back(pct(b.cpu, a.cpu));
    cpu_c.push_back(pct(c.cpu, a.cpu));
    own_wall.push_back(pct(own_c.wall, own_a.wall));
    own_cpu.push_back(pct(own_c.cpu, own_a.cpu));
    std::printf(
        "round %d: (a) nothing loaded %.3f s wall, %.3f s CPU (%.0f us/exec)  (b) BPF + events "
        "%.3f s (%+.1f%%), CPU %.3f s (%+.1f%%)  (c) + 100 rules %.3f s (%+.1f%%), CPU %.3f s "
        "(%+.1f%%)  [%s]\n"
        "         in the BPF programs per fork+exec+exit: (b) %.1f us (%.2f%% of (a)'s wall time "
        "per exec)  (c) %.1f us (%.2f%%): exec %.1f us, fork %.1f us, exit %.1f us\n"
        "         the loading process's own: %.3f s, CPU %.3f s without; %.3f s (%+.1f%%), CPU "
        "%.3f s (%+.1f%%) with (c)\n",
        r + 1, a.wall, a.cpu, a.wall / runs * 1e6, b.wall, wall_b.back(), b.cpu, cpu_b.back(),
        c.wall, wall_c.back(), c.cpu, cpu_c.back(), reader.c_str(), ns_b / 1e3, kernel_b.back(),
        ns_c / 1e3, kernel_c.back(), exec_ns_c / 1e3, fork_ns_c / 1e3,
        (ns_c - exec_ns_c - fork_ns_c) / 1e3, own_a.wall, own_a.cpu, own_c.wall, own_wall.back(),
        own_c.cpu, own_cpu.back());
  }
  std::printf(
      "median over %d rounds of %d execs, vs (a): wall (b) %+.1f%% (c) %+.1f%%; CPU (b) %+.1f%% "
      "(c) %+.1f%%; in the BPF programs (b) %.2f%% (c) %.2f%%; the loading process's own: wall "
      "%+.1f%% CPU %+.1f%%\n",
      rounds, runs, percentile(wall_b, 0.5), percentile(wall_c, 0.5), percentile(cpu_b, 0.5),
      percentile(cpu_c, 0.5), percentile(kernel_b, 0.5), percentile(kernel_c, 0.5),
      percentile(own_wall, 0.5), percentile(own_cpu, 0.5));
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
  // The helper is forked before any thread exists here.
  const lwmi::bench::ForkStorm storm = lwmi::bench::start_fork_storm(seconds, per_second);
  if (storm.pid < 0) return 3;
  const pid_t helper = storm.pid;

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
  if (write(storm.go, "x", 1) != 1) return 3;
  if (stalled) {
    char buf[128];
    fcntl(storm.done, F_SETFL, 0);
    ssize_t r = read(storm.done, buf, sizeof buf - 1);
    if (r <= 0) return 3;
    buf[r] = 0;
    report = buf;
  }
  uint64_t received = 0;
  std::vector<ProcEvent> batch;
  bool helper_done = stalled;
  int64_t quiet_since = 0;
  fcntl(storm.done, F_SETFL, O_NONBLOCK);
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
      ssize_t r = read(storm.done, buf, sizeof buf - 1);
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
