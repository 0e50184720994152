#!/usr/bin/env bash
# `lwmic query` (WQL) vs pgrep / ps on a host with 2,000 extra processes. Not run by `make test`.
#
#   bench/query_vs_pgrep.sh [BUILD_DIR|LWMIC] [EXTRA] [RUNS]
#
# BUILD_DIR: where lwmic was built (default build/bench: `cmake --preset bench &&
#   cmake --build --preset bench --target lwmic`); or the path of an lwmic binary.
# EXTRA (default 2000) `sleep` processes are started first and killed on exit.
# (a) name query:   lwmic query "SELECT Handle FROM Win32_Process WHERE Name='sleep'"
#                                                              vs  pgrep -cx sleep
# (b) projection:   lwmic query "SELECT ProcessId,Name,WorkingSetSize FROM Win32_Process"
#                                                              vs  ps -eo pid,comm,rss
#     Means (hyperfine when installed, else a `date +%s%N` loop of RUNS runs, default 20) and
#     the ratio lwmic/other. LWMI_BENCH_NO_HYPERFINE=1 forces the date loop.
# (c) pushdown: for `WHERE Handle='<pid>'`, the number of distinct /proc/<pid>/ directories
#     opened or readlinked (strace -f -e trace=openat,readlinkat,readlink,open); must be 1.
# (d) syscalls per process: `strace -f -c` of each command of (a) and (b), total calls divided
#     by the number of processes.
# Every command's output goes to /dev/null. Exit status 1 when (c) reads more than one process.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib/common.sh
source bench/lib/common.sh
bench_setup "$@"

# Commands as argv arrays (the WQL holds spaces).
a_lwmic=("$lwmic" --format csv query "SELECT Handle FROM Win32_Process WHERE Name='sleep'")
a_pgrep=(pgrep -cx sleep)
b_lwmic=("$lwmic" --format csv query "SELECT ProcessId,Name,WorkingSetSize FROM Win32_Process")
# shellcheck disable=SC2054  # pid,comm,rss is one argument
b_ps=(ps -eo pid,comm,rss)
keys=(a_lwmic a_pgrep b_lwmic b_ps)
declare -A label=(
  [a_lwmic]="(a) lwmic query ... WHERE Name='sleep'"
  [a_pgrep]="(a) pgrep -cx sleep"
  [b_lwmic]="(b) lwmic query SELECT ProcessId,Name,WorkingSetSize"
  [b_ps]="(b) ps -eo pid,comm,rss"
)

# Sanity: both count the same sleeps (give or take processes starting and ending meanwhile).
rows_lwmic=$("${a_lwmic[@]}" | tail -n +2 | grep -c .)
echo "sleep processes: lwmic $rows_lwmic, pgrep $("${a_pgrep[@]}")"
echo "rows (b): lwmic $("${b_lwmic[@]}" | tail -n +2 | grep -c .), ps $("${b_ps[@]}" --no-headers | wc -l)"

bench_time "${keys[@]}"
awk -v a="${mean[a_lwmic]}" -v b="${mean[a_pgrep]}" -v c="${mean[b_lwmic]}" -v d="${mean[b_ps]}" \
  'BEGIN {printf "ratio: (a) lwmic/pgrep %.2fx   (b) lwmic/ps %.2fx\n", a/b, c/d}'

status=0
echo
if command -v strace >/dev/null; then
  echo "== (c) processes read by a Handle equality query =="
  target=${pids[0]}
  strace -f -e trace=openat,readlinkat,readlink,open -o "$tmp/c.strace" \
    "$lwmic" --format csv query "SELECT Handle,Name,WorkingSetSize FROM Win32_Process WHERE Handle='$target'" \
    >"$tmp/c.out" 2>/dev/null
  # /proc/<pid>/… paths, also those reached through /proc/self (lwmic's own, excluded below).
  read_pids=$(grep -oE '"/proc/[0-9]+/' "$tmp/c.strace" | grep -oE '[0-9]+' | sort -un || true)
  read_count=$(printf '%s' "$read_pids" | grep -c . || true)
  echo "target pid $target; /proc/<pid>/ directories touched: $read_count (${read_pids//$'\n'/ })"
  echo "rows returned: $(tail -n +2 "$tmp/c.out" | grep -c . || true)"
  if [[ $read_count -eq 1 && $read_pids == "$target" ]]; then
    echo "OK: exactly 1 process read"
  else
    echo "FAIL: expected only /proc/$target/" >&2
    status=1
  fi

  echo
  echo "== (d) syscalls per process (strace -f -c) =="
  bench_syscalls "${keys[@]}"
else
  echo "strace not installed: (c) and (d) skipped"
fi
exit $status
