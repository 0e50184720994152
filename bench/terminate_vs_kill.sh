#!/usr/bin/env bash
# Terminate vs kill -9: what lwmic's race-free, confirmed Terminate costs over a bare signal.
# Not run by `make test`.
#
#   bench/terminate_vs_kill.sh [BUILD_DIR] [ROUNDS] [MASS]
#
# BUILD_DIR: where lwmic was built (default build/bench, falling back to build/release).
# (a) ROUNDS (default 200) rounds each, on a fresh `sleep` per round:
#     `lwmic call Win32_Process=PID Terminate` vs `kill -9 PID` + polling until /proc/PID is gone.
# (b) MASS (default 1000) `sleep`s ended: 1,000 sequential lwmic Terminate calls vs one `kill -9`
#     of all of them + waiting for every one. Ending them all from one enumeration awaits
#     `lwmic process where ... call terminate` (the WQL issue); until then (b) measures what
#     exists, one lwmic process per target.
# Run as the owner of the sleeps (any user); root is fine.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=${1:-build/bench}
lwmic=$dir/src/cli/lwmic
[[ -x $lwmic ]] || lwmic=build/release/src/cli/lwmic
[[ -x $lwmic ]] || { echo "no lwmic under $dir or build/release; build it first" >&2; exit 2; }
rounds=${2:-200}
mass=${3:-1000}
echo "lwmic: $lwmic"

# Timestamps come from $EPOCHREALTIME (bash 5, no fork), in ns.

gone() {  # true once pid $1 has no /proc entry or is a zombie
  local s
  { read -r s < "/proc/$1/stat"; } 2>/dev/null || return 0  # builtins only: no fork per poll
  s=${s##*) }
  [[ ${s%% *} == Z ]]
}

# Prints mean and p50 (ms) of the nanosecond values in the named array.
stats() {
  local -n a=$1
  printf '%s\n' "${a[@]}" | sort -n | awk '{v[NR]=$1; s+=$1}
    END {printf "mean %.3f ms  p50 %.3f ms  (n=%d)", s/NR/1e6, v[int((NR+1)/2)]/1e6, NR}'
}
mean_ns() {
  local -n a=$1
  printf '%s\n' "${a[@]}" | awk '{s+=$1} END {printf "%d", s/NR}'
}

# The sleeps are started by this shell and disowned: bash still reaps them (SIGCHLD), silently.
# A dead child is "gone" once it is a zombie or reaped. Leftovers are killed on exit.
all=()
spawn() { sleep 1000 & pid=$!; disown "$pid"; all+=("$pid"); }
# Waits until the fork has exec'd sleep, so neither side times a half-started process.
settled() { local c; until { read -r c < "/proc/$pid/comm"; } 2>/dev/null && [[ $c == sleep ]]; do :; done; }
trap '((${#all[@]})) && kill -9 "${all[@]}" 2>/dev/null; true' EXIT

# ---- (a) one process at a time ---------------------------------------------------------
t_lwmic=() t_kill=()
for ((i = 0; i < rounds; i++)); do
  spawn; settled
  t0=${EPOCHREALTIME/./}000
  "$lwmic" call "Win32_Process=$pid" Terminate >/dev/null 2>&1 || { echo "lwmic failed on $pid" >&2; exit 1; }
  t1=${EPOCHREALTIME/./}000
  t_lwmic+=($((t1 - t0)))
  all=()

  spawn; settled
  t0=${EPOCHREALTIME/./}000
  kill -9 "$pid"
  until gone "$pid"; do :; done
  t1=${EPOCHREALTIME/./}000
  t_kill+=($((t1 - t0)))
  all=()
done
echo "(a) one process, $rounds rounds each"
echo "    lwmic Terminate : $(stats t_lwmic)"
echo "    kill -9 + poll  : $(stats t_kill)"
awk -v a="$(mean_ns t_lwmic)" -v b="$(mean_ns t_kill)" \
  'BEGIN {printf "    ratio (mean)    : %.1fx\n", a / b}'

# ---- (b) many processes ----------------------------------------------------------------
start_many() {
  pids=()
  for ((i = 0; i < mass; i++)); do
    spawn; pids+=("$pid")
  done
}

start_many
t0=${EPOCHREALTIME/./}000
for pid in "${pids[@]}"; do
  "$lwmic" call "Win32_Process=$pid" Terminate >/dev/null 2>&1 || { echo "lwmic failed on $pid" >&2; exit 1; }
done
t1=${EPOCHREALTIME/./}000
lw_total=$((t1 - t0))
all=()

start_many
t0=${EPOCHREALTIME/./}000
kill -9 "${pids[@]}"
for pid in "${pids[@]}"; do until gone "$pid"; do :; done; done
t1=${EPOCHREALTIME/./}000
kill_total=$((t1 - t0))
all=()

echo "(b) $mass processes"
awk -v a="$lw_total" -v b="$kill_total" -v n="$mass" 'BEGIN {
  printf "    %d sequential lwmic Terminate : %.3f s  (%.3f ms each)\n", n, a/1e9, a/n/1e6
  printf "    kill -9 of all + wait         : %.3f s\n", b/1e9
  printf "    ratio                         : %.1fx\n", a/b }'
echo "    (one enumeration + terminate awaits 'lwmic process where ... call terminate': WQL)"
