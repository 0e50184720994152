// event_bench — the event benchmark's program (bench/events.sh runs it).
//
//   event_bench launch PROGRAM DIR RUNS KILLER [POLL_MS]
//       Launches PROGRAM (forbidden_writer copied under a unique name) RUNS times, each with its
//       own file DIR/N to create, and times launch -> death. KILLER:
//         none     something else stops it (lwmic watch … --terminate, started by the script)
//         liblwmi  this process subscribes through liblwmi (embedded engine) and calls Terminate
//                  on each __InstanceCreationEvent, on a thread of its own
//         poll     this process scans /proc every POLL_MS (default 1000) and SIGKILLs every
//                  process running PROGRAM — what WITHIN 1 polling costs
//       Launches are sequential (the next after the previous death), except with `poll`, where
//       they are spaced by 50 ms so that the run does not take RUNS poll intervals.
//       Prints: launches, killed, survived, files written, p50/p99/max launch->death in ms.
//   event_bench rate SECONDS RATE
//       A helper forks RATE children per second (0 = as fast as it can) for SECONDS, each
//       exiting at once; a liblwmi subscription counts their creation events. Prints the forks,
//       the creations delivered, the kernel events known lost and the rate.
// Times are CLOCK_MONOTONIC; "launch" is taken just before posix_spawn, so launch -> death
// includes the spawn itself (an upper bound on exec -> death).
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <dirent.h>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "lib/fork_storm.h"
#include "lwmi/services.h"

extern char** environ;

namespace {

int64_t now_ns() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

std::string base_name(const std::string& p) {
  auto s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

// Subscribes through liblwmi and terminates every creation of `name` until stop is set.
struct LiblwmiKiller {
  std::atomic<bool> stop{false};
  std::atomic<bool> ready{false};
  std::atomic<uint64_t> terminated{0}, lost{0};
  std::thread thread;
  std::string error;

  void run(const std::string& name) {
    thread = std::thread([this, name] {
      lwmi::ConnectOptions o;
      o.embedded_only = true;
      auto s = lwmi::Locator::connect(o);
      if (!s.ok()) {
        error = s.error().to_string();
        ready = true;
        return;
      }
      auto events = (*s)->exec_notification_query(
          "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Win32_Process' AND "
          "TargetInstance.Name = '" +
          name + "'");
      if (!events.ok()) {
        error = events.error().to_string();
        ready = true;
        return;
      }
      ready = true;
      lwmi::Instance ev;
      while (!stop) {
        auto got = (*events)->next(&ev, 100);
        if (!got.ok()) {
          error = got.error().to_string();
          break;
        }
        if (!*got) continue;
        const lwmi::Instance& target = *ev.get("TargetInstance")->as_object();
        auto r = (*s)->exec_method(target, "Terminate", {});
        if (r.ok() && r->return_value == 0) ++terminated;
      }
      lost = (*events)->lost();
    });
    while (!ready) usleep(1000);
  }
};

// Scans /proc every interval and SIGKILLs each process whose exe is `path`.
struct PollKiller {
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> killed{0}, scans{0};
  std::thread thread;

  void run(const std::string& path, int interval_ms) {
    thread = std::thread([this, path, interval_ms] {
      int64_t next = now_ns();
      char buf[4096];
      while (!stop) {
        next += static_cast<int64_t>(interval_ms) * 1000000;
        DIR* d = opendir("/proc");
        if (d) {
          while (dirent* e = readdir(d)) {
            if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
            std::string link = std::string("/proc/") + e->d_name + "/exe";
            ssize_t n = readlink(link.c_str(), buf, sizeof buf - 1);
            if (n <= 0) continue;
            buf[n] = 0;
            if (path == buf && kill(atoi(e->d_name), SIGKILL) == 0) ++killed;
          }
          closedir(d);
        }
        ++scans;
        int64_t left = next - now_ns();
        while (left > 0 && !stop) {
          usleep(static_cast<useconds_t>(std::min<int64_t>(left / 1000, 50000)));
          left = next - now_ns();
        }
      }
    });
  }
};

int launch(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: event_bench launch PROGRAM DIR RUNS none|liblwmi|poll [MS]\n");
    return 2;
  }
  const std::string prog = argv[2], dir = argv[3];
  const int runs = atoi(argv[4]);
  const std::string killer = argv[5];
  const int ms = argc > 6 ? atoi(argv[6]) : (killer == "poll" ? 1000 : 0);
  const int spacing = killer == "poll" ? 50 : 0;

  LiblwmiKiller lib;
  PollKiller poll;
  if (killer == "liblwmi") {
    lib.run(base_name(prog));
    if (!lib.error.empty()) {
      std::fprintf(stderr, "event_bench: %s\n", lib.error.c_str());
      return 3;
    }
  } else if (killer == "poll") {
    poll.run(prog, ms);
  } else if (killer != "none") {
    std::fprintf(stderr, "event_bench: unknown killer %s\n", killer.c_str());
    return 2;
  }

  std::mutex mu;
  std::map<pid_t, int64_t> started;
  std::vector<double> latency_ms;
  int killed = 0, survived = 0;
  auto reap_one = [&](pid_t pid, int status) {
    int64_t t = now_ns();
    std::lock_guard<std::mutex> lock(mu);
    auto it = started.find(pid);
    if (it == started.end()) return;
    if (WIFSIGNALED(status)) {
      ++killed;
      latency_ms.push_back(static_cast<double>(t - it->second) / 1e6);
    } else {
      ++survived;
    }
    started.erase(it);
  };
  std::thread reaper;
  std::atomic<int> reaped{0};
  if (spacing > 0) {
    reaper = std::thread([&] {
      while (reaped < runs) {
        int status = 0;
        pid_t p = waitpid(-1, &status, 0);
        if (p < 0) {
          if (errno == ECHILD) {
            usleep(1000);
            continue;
          }
          break;
        }
        reap_one(p, status);
        ++reaped;
      }
    });
  }
  for (int i = 0; i < runs; ++i) {
    std::string file = dir + "/" + std::to_string(i);
    std::vector<char*> args{const_cast<char*>(prog.c_str()), file.data(), nullptr};
    pid_t pid = 0;
    int64_t t0;
    {
      std::lock_guard<std::mutex> lock(mu);
      t0 = now_ns();
      if (posix_spawn(&pid, prog.c_str(), nullptr, nullptr, args.data(), environ) != 0) {
        std::perror("posix_spawn");
        return 3;
      }
      started[pid] = t0;
    }
    if (spacing > 0) {
      usleep(static_cast<useconds_t>(spacing) * 1000);
    } else {
      int status = 0;
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      reap_one(pid, status);
    }
  }
  if (reaper.joinable()) reaper.join();
  lib.stop = true;
  poll.stop = true;
  if (lib.thread.joinable()) lib.thread.join();
  if (poll.thread.joinable()) poll.thread.join();

  int written = 0;
  for (int i = 0; i < runs; ++i) {
    struct stat st;
    if (stat((dir + "/" + std::to_string(i)).c_str(), &st) == 0) ++written;
  }
  std::printf("launches %d killed %d survived %d wrote %d p50_ms %.3f p99_ms %.3f max_ms %.3f",
              runs, killed, survived, written, percentile(latency_ms, 0.50),
              percentile(latency_ms, 0.99), percentile(latency_ms, 1.0));
  if (killer == "liblwmi") std::printf(" lost %llu", static_cast<unsigned long long>(lib.lost));
  if (killer == "poll") std::printf(" scans %llu", static_cast<unsigned long long>(poll.scans));
  std::printf("\n");
  return 0;
}

int rate(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: event_bench rate SECONDS RATE\n");
    return 2;
  }
  const double seconds = atof(argv[2]);
  const double per_second = atof(argv[3]);
  // The helper is forked before any thread exists here.
  const lwmi::bench::ForkStorm storm = lwmi::bench::start_fork_storm(seconds, per_second);
  if (storm.pid < 0) return 3;
  const pid_t helper = storm.pid;
  lwmi::ConnectOptions o;
  o.embedded_only = true;
  auto s = lwmi::Locator::connect(o);
  if (!s.ok()) {
    std::fprintf(stderr, "event_bench: %s\n", s.error().to_string().c_str());
    return 3;
  }
  auto events = (*s)->exec_notification_query(
      "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Win32_Process' AND "
      "TargetInstance.ParentProcessId = " +
      std::to_string(helper));
  if (!events.ok()) {
    std::fprintf(stderr, "event_bench: %s\n", events.error().to_string().c_str());
    return 3;
  }
  if (write(storm.go, "x", 1) != 1) return 3;
  uint64_t delivered = 0;
  lwmi::Instance ev;
  std::string report;
  bool helper_done = false;
  int64_t quiet_since = 0;
  fcntl(storm.done, F_SETFL, O_NONBLOCK);
  for (;;) {
    auto got = (*events)->next(&ev, 200);
    if (!got.ok()) {
      std::fprintf(stderr, "event_bench: %s\n", got.error().to_string().c_str());
      return 3;
    }
    if (*got) {
      ++delivered;
      quiet_since = 0;
      continue;
    }
    if (!helper_done) {
      char buf[128];
      ssize_t n = read(storm.done, buf, sizeof buf - 1);
      if (n > 0) {
        buf[n] = 0;
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
  std::printf("forks %llu in %.3f s (%.0f/s) creations %llu lost %llu", forks, took,
              static_cast<double>(forks) / took, static_cast<unsigned long long>(delivered),
              static_cast<unsigned long long>((*events)->lost()));
  if (auto st = (*events)->source_state())
    std::printf(" source %s rescans %s overruns %s gaps %s", st->get("Source")->to_text().c_str(),
                st->get("Rescans")->to_text().c_str(), st->get("Overruns")->to_text().c_str(),
                st->get("SequenceGaps")->to_text().c_str());
  std::printf("\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "launch") == 0) return launch(argc, argv);
  if (argc >= 2 && std::strcmp(argv[1], "rate") == 0) return rate(argc, argv);
  std::fprintf(stderr,
               "usage: event_bench launch PROGRAM DIR RUNS none|liblwmi|poll [POLL_MS]\n"
               "       event_bench rate SECONDS RATE\n");
  return 2;
}
