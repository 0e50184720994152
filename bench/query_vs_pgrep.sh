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

arg=${1:-build/bench}
if [[ -f $arg && -x $arg ]]; then lwmic=$arg; else lwmic=$arg/src/cli/lwmic; fi
[[ -x $lwmic ]] || { echo "no lwmic at $lwmic; build it: cmake --preset bench &&" \
                          "cmake --build --preset bench --target lwmic" >&2; exit 2; }
extra=${2:-2000}
runs=${3:-20}
lwmic=$(realpath "$lwmic")

tmp=$(mktemp -d)
pids=()
# shellcheck disable=SC2317  # called by the trap
cleanup() {
  if ((${#pids[@]})); then
    kill "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "lwmic: $lwmic"
echo "starting $extra extra sleep processes..."
for ((i = 0; i < extra; i++)); do
  sleep 100000 >/dev/null 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do
  until [[ $(readlink "/proc/$p/exe" 2>/dev/null) == */sleep ]]; do sleep 0.01; done
done

nprocs() { local -a d=(/proc/[0-9]*); echo "${#d[@]}"; }
echo "processes on the host: $(nprocs)"
echo

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
# "${!key}" cannot expand an array: copy the named array into cmd.
cmd_of() { local -n ref=$1; cmd=("${ref[@]}"); }
# One string for hyperfine -N, which splits on blanks but honours shell-style quotes.
quoted() { local -n ref=$1; printf '%q ' "${ref[@]}"; }

# Sanity: both count the same sleeps (give or take processes starting and ending meanwhile).
rows_lwmic=$("${a_lwmic[@]}" | tail -n +2 | grep -c .)
echo "sleep processes: lwmic $rows_lwmic, pgrep $("${a_pgrep[@]}")"
echo "rows (b): lwmic $("${b_lwmic[@]}" | tail -n +2 | grep -c .), ps $("${b_ps[@]}" --no-headers | wc -l)"

declare -A mean sd
if [[ -z ${LWMI_BENCH_NO_HYPERFINE:-} ]] && command -v hyperfine >/dev/null; then
  echo "timing with $(hyperfine --version)"
  hargs=()
  for key in "${keys[@]}"; do hargs+=(-n "${label[$key]}" "$(quoted "$key")"); done
  hyperfine -N --warmup 3 --min-runs "$runs" --output=null --style=basic \
    --export-json "$tmp/h.json" "${hargs[@]}"
  i=0
  while read -r m s; do
    mean[${keys[$i]}]=$m
    sd[${keys[$i]}]=$s
    i=$((i + 1))
  done < <(python3 -c '
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print("%.3f %.3f" % (r["mean"] * 1e3, (r["stddev"] or 0) * 1e3))' "$tmp/h.json")
else
  echo "hyperfine not installed (apt-get install -y hyperfine): timing $runs runs with date +%s%N"
  for key in "${keys[@]}"; do
    cmd_of "$key"
    for ((w = 0; w < 3; w++)); do "${cmd[@]}" >/dev/null 2>&1 || true; done
    samples=()
    for ((r = 0; r < runs; r++)); do
      t0=$(date +%s%N)
      "${cmd[@]}" >/dev/null 2>&1 || true
      t1=$(date +%s%N)
      samples+=($((t1 - t0)))
    done
    read -r m s < <(printf '%s\n' "${samples[@]}" |
      awk '{x[NR]=$1; t+=$1} END {m=t/NR; for (i in x) v+=(x[i]-m)^2;
                                   printf "%.3f %.3f\n", m/1e6, (NR>1 ? sqrt(v/(NR-1)) : 0)/1e6}')
    mean[$key]=$m
    sd[$key]=$s
  done
fi

echo
echo "== means (ms) =="
printf '%-60s %10s %9s\n' "command" "mean" "stddev"
for key in "${keys[@]}"; do
  printf '%-60s %10s %9s\n' "${label[$key]}" "${mean[$key]}" "${sd[$key]}"
done
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
  n=$(nprocs)
  printf '%-60s %10s %12s\n' "command" "syscalls" "per process"
  for key in "${keys[@]}"; do
    cmd_of "$key"
    strace -f -c -U calls,name -o "$tmp/$key.strace" "${cmd[@]}" >/dev/null 2>&1 || true
    calls=$(awk '$NF == "total" {print $1}' "$tmp/$key.strace")
    awk -v l="${label[$key]}" -v c="$calls" -v n="$n" \
      'BEGIN {printf "%-60s %10d %12.2f\n", l, c, c/n}'
  done
  echo "(processes on the host: $n)"
else
  echo "strace not installed: (c) and (d) skipped"
fi
exit $status
