#!/usr/bin/env bash
# Events: how fast lwmi stops a forbidden program, beside what a /proc poll at 1 s (what
# `WITHIN 1` polling costs) does, and the event rate the engine sustains without loss.
# Not run by `make test`. Run as root (the netlink connector's 64 MiB buffer needs it).
#
#   bench/events.sh [BUILD_DIR] [LAUNCHES] [RATE_SECONDS]
#
# BUILD_DIR: a bench build (cmake --preset bench && cmake --build --preset bench), default
# build/bench: lwmic, bench/event_bench, bench/forbidden_writer.
# (a) LAUNCHES (default 200) launches of a program whose first act is to create a file, under a
#     name the watcher forbids; launch -> death (launch = just before posix_spawn) p50/p99/max,
#     how many got to write their file:
#       1. `lwmic watch "… __InstanceCreationEvent … Name = 'X'" --terminate` (embedded engine,
#          netlink connector), another process;
#       2. liblwmi in the launching process: exec_notification_query + exec_method Terminate;
#       3. the comparison: a loop that scans /proc every second and SIGKILLs what runs X.
#     Goals: p99 under 10 ms; no launch missed (every one killed).
# (b) events per second: a helper forks children that exit at once (no exec), at fixed rates
#     and as fast as it can, for RATE_SECONDS (default 3) each; a liblwmi subscription counts
#     their creation events; lost = kernel events known lost (each answered by a rescan).
set -euo pipefail
cd "$(dirname "$0")/.."

dir=${1:-build/bench}
launches=${2:-200}
rate_seconds=${3:-3}
lwmic=$dir/src/cli/lwmic
bench=$dir/bench/event_bench
writer=$dir/bench/forbidden_writer
for f in "$lwmic" "$bench" "$writer"; do
  [[ -x $f ]] || { echo "no $f; build it: cmake --preset bench && cmake --build --preset bench" >&2; exit 2; }
done
[[ $(id -u) == 0 ]] || echo "note: not root: the netlink buffer cannot be forced past rmem_max" >&2

tmp=$(mktemp -d)
watcher=
cleanup() {
  [[ -n $watcher ]] && kill "$watcher" 2>/dev/null && wait "$watcher" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A unique name of at most 15 characters (comm), so nothing else on the host is touched.
name=lwfb$$x$RANDOM
name=${name:0:15}
prog=$tmp/$name
cp "$writer" "$prog"
echo "lwmic: $lwmic"
echo "forbidden program: $name (creates a file as its first act), $launches launches per method"
echo

# Prints "label: figures" and keeps the figures in the named variable.
field() { awk -v k="$2" '{for (i = 1; i < NF; i++) if ($i == k) print $(i + 1)}' <<<"$1"; }
run_launches() {
  local label=$1 killer=$2 files out
  files=$tmp/files-$killer
  mkdir -p "$files"
  out=$("$bench" launch "$prog" "$files" "$launches" "$killer")
  printf '%-34s %s\n' "$label" "$out"
  REPLY=$out
}

# ---- (a) exec -> death ---------------------------------------------------------------------
wql="SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Win32_Process' AND TargetInstance.Name = '$name'"
"$lwmic" --embedded --format json watch "$wql" --terminate >/dev/null 2>"$tmp/watch.err" &
watcher=$!
for ((i = 0; i < 500; i++)); do grep -q watching "$tmp/watch.err" && break; sleep 0.01; done
grep -q watching "$tmp/watch.err" || { cat "$tmp/watch.err" >&2; exit 1; }
run_launches "lwmic watch --terminate:" none
a=$REPLY
kill "$watcher"; wait "$watcher" 2>/dev/null || true
watcher=
run_launches "liblwmi (same process):" liblwmi
b=$REPLY
run_launches "/proc poll every 1 s + SIGKILL:" poll
c=$REPLY
echo
for v in a b; do
  label=$([[ $v == a ]] && echo "lwmic watch --terminate" || echo "liblwmi")
  awk -v l="$label" -v x="$(field "${!v}" p50_ms)" -v y="$(field "$c" p50_ms)" \
    -v x99="$(field "${!v}" p99_ms)" -v y99="$(field "$c" p99_ms)" 'BEGIN {
    printf "%-24s p50 %.3f ms vs poll %.3f ms: %.0fx faster; p99 %.3f ms vs %.3f ms: %.0fx\n",
           l, x, y, y / x, x99, y99, y99 / x99 }'
done
for v in a b; do
  p99=$(field "${!v}" p99_ms)
  missed=$(($(field "${!v}" launches) - $(field "${!v}" killed)))
  awk -v p="$p99" -v m="$missed" -v l="$v" 'BEGIN {
    printf "goal check (%s): p99 %s 10 ms (%.3f); missed launches %d (goal 0)\n",
           l == "a" ? "lwmic" : "liblwmi", (p < 10 ? "<" : ">="), p, m }'
done

# ---- (b) events per second -------------------------------------------------------------------
echo
echo "(b) creation events per second (fork without exec, children exit at once; ${rate_seconds} s each)"
for r in 1000 2000 5000 0; do
  out=$("$bench" rate "$rate_seconds" "$r")
  printf '    rate %-6s %s\n' "$([[ $r == 0 ]] && echo max || echo "$r/s")" "$out"
done
