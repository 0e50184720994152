// bench/lib/fork_storm.h — a helper process that forks children which exit at once, at a fixed
// rate or as fast as it can, for the event benchmarks (event_bench, guard_bench).
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>

namespace lwmi::bench {

inline int64_t monotonic_ns() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

/// A forked helper, waiting: write one byte to `go` to start it; when done it writes
/// "<forks> <seconds>\n" to `done` and exits.
struct ForkStorm {
  pid_t pid = -1;
  int go = -1;
  int done = -1;
};

/// Forks the helper: `seconds` of forks, `per_second` of them (0: as fast as it can). Call it
/// before any thread exists in the caller. pid -1 when a pipe or the fork failed.
inline ForkStorm start_fork_storm(double seconds, double per_second) {
  ForkStorm out;
  int go[2], done[2];
  if (pipe2(go, O_CLOEXEC) != 0) return out;
  if (pipe2(done, O_CLOEXEC) != 0) {
    close(go[0]);
    close(go[1]);
    return out;
  }
  pid_t helper = fork();
  if (helper == 0) {
    close(go[1]);
    close(done[0]);
    char c;
    if (read(go[0], &c, 1) != 1) _exit(2);
    int64_t t0 = monotonic_ns(), end = t0 + static_cast<int64_t>(seconds * 1e9);
    uint64_t n = 0;
    for (;;) {
      int64_t t = monotonic_ns();
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
    double took = static_cast<double>(monotonic_ns() - t0) / 1e9;
    char line[128];
    int len = snprintf(line, sizeof line, "%llu %.3f\n", static_cast<unsigned long long>(n), took);
    if (write(done[1], line, static_cast<size_t>(len)) != len) _exit(3);
    _exit(0);
  }
  close(go[0]);
  close(done[1]);
  if (helper < 0) {
    close(go[1]);
    close(done[0]);
    return out;
  }
  out.pid = helper;
  out.go = go[1];
  out.done = done[0];
  return out;
}

}  // namespace lwmi::bench
