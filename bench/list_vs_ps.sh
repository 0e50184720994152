#!/usr/bin/env bash
# `lwmic list Win32_Process` vs `ps` on a host with 2,000 extra processes. Not run by `make test`.
#
#   bench/list_vs_ps.sh [BUILD_DIR|LWMIC] [EXTRA] [RUNS]
#
# BUILD_DIR: where lwmic was built (default build/bench: `cmake --preset bench &&
#   cmake --build --preset bench --target lwmic`); or the path of an lwmic binary.
# EXTRA (default 2000) `sleep` processes are started first and killed on exit.
# (a) full listing:  lwmic list Win32_Process --format csv     vs  ps -eo pid,ppid,comm,rss,vsz,nlwp,args
# (b) projection:    lwmic list ... --properties ProcessId,Name,WorkingSetSize --format csv
#                                                              vs  ps -eo pid,comm,rss
#     Means (hyperfine when installed, else a `date +%s%N` loop of RUNS runs, default 20) and
#     the ratio lwmic/ps. LWMI_BENCH_NO_HYPERFINE=1 forces the date loop.
# (c) syscalls per listed process: `strace -f -c` of each of the four commands, total calls
#     divided by the number of processes.
# Every command's output goes to /dev/null.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib/common.sh
source bench/lib/common.sh
bench_setup "$@"

a_lwmic=("$lwmic" list Win32_Process --format csv)
# shellcheck disable=SC2054  # the column lists are one argument each
a_ps=(ps -eo pid,ppid,comm,rss,vsz,nlwp,args)
b_lwmic=("$lwmic" list Win32_Process --properties ProcessId,Name,WorkingSetSize --format csv)
# shellcheck disable=SC2054
b_ps=(ps -eo pid,comm,rss)
keys=(a_lwmic a_ps b_lwmic b_ps)
declare -A label=(
  [a_lwmic]="(a) lwmic list Win32_Process --format csv"
  [a_ps]="(a) ps -eo pid,ppid,comm,rss,vsz,nlwp,args"
  [b_lwmic]="(b) lwmic list --properties ProcessId,Name,WorkingSetSize"
  [b_ps]="(b) ps -eo pid,comm,rss"
)

# Sanity: both list the same number of processes (give or take the lister itself).
echo "rows: lwmic $("${a_lwmic[@]}" | tail -n +2 | wc -l), ps $("${a_ps[@]}" --no-headers | wc -l)"

bench_time "${keys[@]}"
awk -v a="${mean[a_lwmic]}" -v b="${mean[a_ps]}" -v c="${mean[b_lwmic]}" -v d="${mean[b_ps]}" \
  'BEGIN {printf "ratio lwmic/ps: (a) %.2fx   (b) %.2fx\n", a/b, c/d}'

echo
if command -v strace >/dev/null; then
  echo "== (c) syscalls per process (strace -f -c) =="
  bench_syscalls "${keys[@]}"
else
  echo "strace not installed: (c) skipped"
fi
