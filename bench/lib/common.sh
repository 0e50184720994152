# Shared by the process-listing benchmarks (sourced, not run): the lwmic to measure, EXTRA
# extra `sleep` processes killed on exit, and side-by-side timing and syscall counts of commands
# given as bash arrays.
#
#   bench_setup "$@"          # [BUILD_DIR|LWMIC] [EXTRA] [RUNS]: sets lwmic, extra, runs, tmp, pids
#   bench_time KEY…           # KEY names an array (the command) and label[KEY]; sets mean/sd[KEY]
#   bench_syscalls KEY…       # prints total syscalls and syscalls per /proc process
# Means come from hyperfine when installed, else a `date +%s%N` loop of RUNS runs;
# LWMI_BENCH_NO_HYPERFINE=1 forces the loop.

bench_setup() {
  local arg=${1:-build/bench}
  if [[ -f $arg && -x $arg ]]; then lwmic=$arg; else lwmic=$arg/src/cli/lwmic; fi
  [[ -x $lwmic ]] || { echo "no lwmic at $lwmic; build it: cmake --preset bench &&" \
                            "cmake --build --preset bench --target lwmic" >&2; exit 2; }
  extra=${2:-2000}
  runs=${3:-20}
  lwmic=$(realpath "$lwmic")
  tmp=$(mktemp -d)
  pids=()
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
  echo "lwmic: $lwmic"
  echo "starting $extra extra sleep processes..."
  local i p
  for ((i = 0; i < extra; i++)); do
    sleep 100000 >/dev/null 2>&1 &
    pids+=($!)
  done
  # Wait until every one has exec'd sleep (so /proc holds $extra more `sleep`s, none mid-exec).
  for p in "${pids[@]}"; do
    until [[ $(readlink "/proc/$p/exe" 2>/dev/null) == */sleep ]]; do sleep 0.01; done
  done
  echo "processes on the host: $(nprocs)"
  echo
}

# shellcheck disable=SC2317  # called by the trap
bench_cleanup() {
  if ((${#pids[@]})); then
    kill "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}

nprocs() { local -a d=(/proc/[0-9]*); echo "${#d[@]}"; }

# "${!key}" cannot expand an array: copy the named array into cmd.
cmd_of() { local -n ref=$1; cmd=("${ref[@]}"); }
# One string for hyperfine -N, which splits on blanks but honours shell-style quotes.
quoted() { local -n ref=$1; printf '%q ' "${ref[@]}"; }

declare -A mean sd

bench_time() {
  local keys=("$@") key i m s w r t0 t1
  if [[ -z ${LWMI_BENCH_NO_HYPERFINE:-} ]] && command -v hyperfine >/dev/null; then
    echo "timing with $(hyperfine --version)"
    local hargs=()
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
      local samples=()
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
}

bench_syscalls() {
  local key n calls
  n=$(nprocs)
  printf '%-60s %10s %12s\n' "command" "syscalls" "per process"
  for key in "$@"; do
    cmd_of "$key"
    strace -f -c -U calls,name -o "$tmp/$key.strace" "${cmd[@]}" >/dev/null 2>&1 || true
    calls=$(awk '$NF == "total" {print $1}' "$tmp/$key.strace")
    awk -v l="${label[$key]}" -v c="$calls" -v n="$n" \
      'BEGIN {printf "%-60s %10d %12.2f\n", l, c, c/n}'
  done
  echo "(processes on the host: $n)"
}
