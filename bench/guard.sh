#!/usr/bin/env bash
# The exec guard: what lwmi's BPF programs cost every exec on the host, how a kernel rule stops a
# forbidden program, and the event rate the BPF ring buffer sustains beside the netlink connector.
# Not run by `make test`. Run as root (the programs are loaded into the kernel).
#
#   bench/guard.sh [BUILD_DIR] [EXECS] [LAUNCHES] [RATE_SECONDS]
#
# BUILD_DIR: a bench build (cmake --preset bench && cmake --build --preset bench), default
# build/bench: bench/guard_bench, bench/forbidden_writer.
# (a) fork + exec + waitpid of /bin/true EXECS times (default 10000), with nothing loaded, with
#     the BPF programs loaded and events drained, and with 100 rules besides (none matching);
#     3 rounds. Goal: at most 5 % overhead. The programs are held by another process, as lwmid
#     holds them; that process's own fork+exec is timed too. Wall and CPU time are disturbed by
#     other load on a shared host; the time the kernel counts inside the programs (BPF run-time
#     statistics, on for every program of the host while the bench holds them) is not, and is
#     given per fork+exec+exit and against (a)'s time per exec.
# (b) LAUNCHES (default 1000) launches of a program whose first act is to create a file, under
#     a name rule: killed, files written (goal 0: it never returns to user space), p50/p99 of
#     spawn -> waitpid. (The user-space path, `watch … --terminate`, is bench/events.sh.)
# (c) events per second: a helper forks children that exit at once, at fixed rates and as fast
#     as it can, RATE_SECONDS (default 3) each; fork events received vs forks made, and what each
#     source knows it lost, for the BPF ring buffer and for the netlink connector.
# (d) the same as fast as it can, with the reader stalled until the helper is done: the burst
#     each source's kernel buffer holds (BPF: 16 MiB of records as long as their path and argv; netlink: 64 MiB).
# Other lwmi BPF programs loaded on the host (another lwmid, tests) add to every exec: their
# count is printed first.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=${1:-build/bench}
execs=${2:-10000}
launches=${3:-1000}
rate_seconds=${4:-3}
bench=$dir/bench/guard_bench
writer=$dir/bench/forbidden_writer
for f in "$bench" "$writer"; do
  [[ -x $f ]] || { echo "no $f; build it: cmake --preset bench && cmake --build --preset bench" >&2; exit 2; }
done
[[ $(id -u) == 0 ]] || { echo "guard.sh: the BPF programs need root" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

bpftool=$(command -v bpftool || echo /usr/sbin/bpftool)
others=$( ("$bpftool" prog show 2>/dev/null || true) | grep -c "name lwmi_exec" || true)
echo "lwmi exec programs already loaded on this host: $others"
echo

echo "(a) fork + exec + waitpid of /bin/true, $execs per configuration"
"$bench" exec "$execs" 3 | sed 's/^/    /'

# A unique name of at most 15 characters (comm), so nothing else on the host is touched.
name=lwgb$$x$RANDOM
name=${name:0:15}
cp "$writer" "$tmp/$name"
mkdir "$tmp/files"
echo
echo "(b) $launches launches of $name (creates a file as its first act) under a name rule"
"$bench" kill "$tmp/$name" "$tmp/files" "$launches" | sed 's/^/    /'

echo
echo "(c) fork events per second (children exit at once; ${rate_seconds} s each)"
for r in 1000 5000 10000 20000 0; do
  for s in bpf netlink; do
    printf '    rate %-8s ' "$([[ $r == 0 ]] && echo max || echo "$r/s")"
    "$bench" rate "$rate_seconds" "$r" "$s"
  done
done

echo
echo "(d) the same with the reader stalled until the storm ends (what each kernel buffer holds)"
for secs in 0.5 1 3; do
  for s in bpf netlink; do
    printf '    %-4s s  ' "$secs"
    "$bench" rate "$secs" 0 "$s" stalled
  done
done
