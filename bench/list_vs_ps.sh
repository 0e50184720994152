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
# The commands are strings split on spaces on purpose (no argument holds a space).
# shellcheck disable=SC2086
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
# Wait until every one has exec'd sleep (so /proc holds $extra more `sleep`s, none mid-exec).
for p in "${pids[@]}"; do
  until [[ $(readlink "/proc/$p/exe" 2>/dev/null) == */sleep ]]; do sleep 0.01; done
done

nprocs() { local -a d=(/proc/[0-9]*); echo "${#d[@]}"; }
echo "processes on the host: $(nprocs)"
echo

a_lwmic="$lwmic list Win32_Process --format csv"
a_ps="ps -eo pid,ppid,comm,rss,vsz,nlwp,args"
b_lwmic="$lwmic list Win32_Process --properties ProcessId,Name,WorkingSetSize --format csv"
b_ps="ps -eo pid,comm,rss"

# Sanity: both list the same number of processes (give or take the lister itself).
rows_lwmic=$($a_lwmic | tail -n +2 | wc -l)
rows_ps=$($a_ps --no-headers | wc -l)
echo "rows: lwmic $rows_lwmic, ps $rows_ps"

declare -A mean sd
if [[ -z ${LWMI_BENCH_NO_HYPERFINE:-} ]] && command -v hyperfine >/dev/null; then
  echo "timing with $(hyperfine --version)"
  hyperfine -N --warmup 3 --min-runs "$runs" --output=null --style=basic \
    --export-json "$tmp/h.json" \
    -n "a: lwmic list (all 45 properties)" "$a_lwmic" \
    -n "a: ps -eo pid,ppid,comm,rss,vsz,nlwp,args" "$a_ps" \
    -n "b: lwmic list --properties ProcessId,Name,WorkingSetSize" "$b_lwmic" \
    -n "b: ps -eo pid,comm,rss" "$b_ps"
  # mean and stddev in ms, in command order
  i=0
  while read -r m s; do
    key=(a_lwmic a_ps b_lwmic b_ps)
    mean[${key[$i]}]=$m
    sd[${key[$i]}]=$s
    i=$((i + 1))
  done < <(python3 -c '
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print("%.3f %.3f" % (r["mean"] * 1e3, (r["stddev"] or 0) * 1e3))' "$tmp/h.json")
else
  echo "hyperfine not installed (apt-get install -y hyperfine): timing $runs runs with date +%s%N"
  for key in a_lwmic a_ps b_lwmic b_ps; do
    cmd=${!key}
    for ((w = 0; w < 3; w++)); do $cmd >/dev/null 2>&1; done
    samples=()
    for ((r = 0; r < runs; r++)); do
      t0=$(date +%s%N)
      $cmd >/dev/null 2>&1
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
printf '%-60s %10s %9s\n' "(a) lwmic list Win32_Process --format csv" "${mean[a_lwmic]}" "${sd[a_lwmic]}"
printf '%-60s %10s %9s\n' "(a) $a_ps" "${mean[a_ps]}" "${sd[a_ps]}"
printf '%-60s %10s %9s\n' "(b) lwmic list --properties ProcessId,Name,WorkingSetSize" \
  "${mean[b_lwmic]}" "${sd[b_lwmic]}"
printf '%-60s %10s %9s\n' "(b) $b_ps" "${mean[b_ps]}" "${sd[b_ps]}"
awk -v a="${mean[a_lwmic]}" -v b="${mean[a_ps]}" -v c="${mean[b_lwmic]}" -v d="${mean[b_ps]}" \
  'BEGIN {printf "ratio lwmic/ps: (a) %.2fx   (b) %.2fx\n", a/b, c/d}'

echo
if command -v strace >/dev/null; then
  echo "== (c) syscalls per process (strace -f -c) =="
  n=$(nprocs)
  printf '%-60s %10s %12s\n' "command" "syscalls" "per process"
  for key in a_lwmic a_ps b_lwmic b_ps; do
    cmd=${!key}
    strace -f -c -U calls,name -o "$tmp/$key.strace" $cmd >/dev/null 2>&1
    calls=$(awk '$NF == "total" {print $1}' "$tmp/$key.strace")
    label=${cmd/#$lwmic/lwmic}
    awk -v l="${label:0:60}" -v c="$calls" -v n="$n" \
      'BEGIN {printf "%-60s %10d %12.1f\n", l, c, c/n}'
  done
  echo "(processes on the host: $n)"
else
  echo "strace not installed: (c) skipped"
fi
