#!/usr/bin/env bash
# Ending a named process on many hosts at once: `lwmic --node @hosts process where name='x' call
# terminate` against HOSTS real lwmid instances, beside the same on one daemon and beside a
# sequential loop of lwmic (what a script without fan-out does). Not run by `make test`.
#
#   bench/fanout.sh [BUILD_DIR] [HOSTS] [RUNS]          (defaults: build/bench, 200, 5)
#
# Each "host" is an lwmid in its own pid namespace (unshare --pid --mount-proc), on its own
# loopback port and state directory, seeing only its own processes: itself and one target
# `fo-<tag>` owned by the bench user, restarted by a loop as soon as it is ended, so every run
# ends HOSTS real processes (one per host). Runs as root: makes a group, a user with a password,
# a PAM service file /etc/pam.d/lwmi-bench-<rand>; removes everything on exit.
# Reported (wall time of one lwmic invocation, mean ± sd over RUNS):
#   warm    every daemon has the password in its cache (lwmid keeps it 60 s from the check: a
#           run just before each series; a run during which the password database changed,
#           which empties the caches, is redone)                             goal: < 1 s
#   cold    every daemon checks the password with PAM (the password database is rewritten
#           before each run, which empties the daemons' caches), --throttle 16 (see below);
#           the PAM share: (cold - warm) / cold, of the wall time and of lwmid's CPU time
#   one     the same command against one daemon (warm)
#   loop    a sequential `for h in hosts; do lwmic --node $h …; done` (warm)
#   t32     fan-out with --throttle 32 (PowerShell's default throttle)
#   unreach the HOSTS plus 20 blackholed addresses, --connect-timeout 2   goal: < 2 s + 1 s
#           (a veth pair into a network namespace; a static neighbour entry with a MAC nobody
#           has, so SYNs to those addresses vanish without an error)
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD

dir=${1:-build/bench}
hosts=${2:-200}
runs=${3:-5}
bin() {
  local b=$dir/src/$1
  [[ -x $b ]] || b=build/release/src/$1
  [[ -x $b ]] || { echo "no $1 under $dir or build/release; build it first" >&2; exit 2; }
  realpath "$b"
}
lwmid=$(bin daemon/lwmid)
lwmic=$(bin cli/lwmic)
((EUID == 0)) || { echo "fanout.sh runs as root (users, PAM, namespaces)" >&2; exit 2; }
for t in useradd chpasswd groupadd setpriv unshare ip; do
  command -v "$t" >/dev/null || { echo "fanout.sh needs $t" >&2; exit 2; }
done
echo "lwmid: $lwmid"
echo "lwmic: $lwmic"
echo "hosts: $hosts, runs: $runs, cores: $(nproc)"

tag=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
group=lwmib-r-$tag
user=lwmib-$tag
pam_service=lwmi-bench-$tag
pam_file=/etc/pam.d/$pam_service
password=pw-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
target=fo-$tag
netns=lwmib-$tag
veth=lbh$tag
work=$(mktemp -d /tmp/lwmi-fanout-bench.XXXXXX)
made_user='' made_group='' made_pam='' made_netns='' pids=()

cleanup() {
  set +e
  ((${#pids[@]})) && kill -9 "${pids[@]}" 2>/dev/null
  ((${#pids[@]})) && wait "${pids[@]}" 2>/dev/null
  [[ -n $made_netns ]] && { ip link del "$veth" 2>/dev/null; ip netns del "$netns"; }
  [[ -n $made_pam ]] && rm -f "$pam_file"
  if [[ -n $made_user ]]; then
    for ((i = 0; i < 50; i++)); do userdel "$user" 2>/dev/null && break; sleep 0.1; done
  fi
  [[ -n $made_group ]] && groupdel "$group" 2>/dev/null
  rm -rf "$work"
  true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

groupadd "$group" && made_group=1
useradd -M -s /usr/sbin/nologin -G "$group" "$user" && made_user=1
echo "$user:$password" | chpasswd
uid=$(id -u "$user") gid=$(id -g "$user")
cp "$src/etc/pam.d/lwmi" "$pam_file" && made_pam=1
chmod 644 "$pam_file"
printf '%s\n' "$password" >"$work/pw"
chmod 600 "$work/pw"
cp /bin/sleep "$work/$target"
chmod 755 "$work" "$work/$target"
cat >"$work/lwmid.conf" <<EOF
[security]
remote_group = "$group"
pam_service = "$pam_service"

[audit]
journal = false
EOF
export HOME=$work/home # lwmic's known_hosts
mkdir -p "$HOME"

# --- the hosts --------------------------------------------------------------------------------
echo "starting $hosts lwmid, each in its own pid namespace..."
t0=$(date +%s%N)
for ((i = 0; i < hosts; i++)); do
  d=$work/h$i
  mkdir -p "$d"
  unshare --pid --fork --mount-proc --kill-child sh -c "
    (while :; do setpriv --reuid=$uid --regid=$gid --clear-groups -- $work/$target 100000; done) &
    exec $lwmid --config $work/lwmid.conf --state-dir $d/state --socket '' --http '' \
      --https 127.0.0.1:0 --ready-file $d/ready --foreground" \
    </dev/null >"$d/log" 2>&1 &
  pids+=($!)
done
for ((i = 0; i < hosts; i++)); do
  for ((w = 0; w < 600; w++)); do [[ -s $work/h$i/ready ]] && break; sleep 0.05; done
  [[ -s $work/h$i/ready ]] || { echo "lwmid $i not ready:"; cat "$work/h$i/log"; exit 1; }
  grep -o 'https://[^/]*' "$work/h$i/ready" | sed 's|https://||'
done >"$work/hosts"
echo "ready in $((($(date +%s%N) - t0) / 1000000)) ms"
head -1 "$work/hosts" >"$work/one"

wait_targets() { # until every host runs its target again
  local n
  for ((w = 0; w < 1000; w++)); do
    n=$(pgrep -c -x "$target" || true)
    ((n >= hosts)) && return 0
    sleep 0.02
  done
  echo "only $n of $hosts targets running" >&2
  exit 1
}
wait_targets
daemons() { # lwmid's pids: the children of the unshare processes
  local p
  for p in "${pids[@]}"; do cat /proc/"$p"/task/*/children 2>/dev/null; done
}
rss_kb=$(for p in $(daemons); do awk '/^VmRSS/ {print $2}' "/proc/$p/status"; done |
  awk '{s += $1; n++} END {printf "%d %d", s, n}')
read -r rss_sum rss_n <<<"$rss_kb"
echo "lwmid processes: $rss_n, total RSS $((rss_sum / 1024)) MB, mean $((rss_sum / rss_n)) kB"

lw=("$lwmic" --user "$user" --password-file "$work/pw" --format csv) # default timeouts
terminate=(process where "name='$target'" call terminate)

# Runs "$@" once; sets ms (wall time), rc and err (stderr).
time_once() {
  local t0 t1
  t0=$(date +%s%N)
  set +e
  "$@" >"$work/out" 2>"$work/err"
  rc=$?
  set -e
  t1=$(date +%s%N)
  ms=$(((t1 - t0) / 1000000))
  err=$(cat "$work/err")
}

# The password database's state: lwmid drops its credential cache when it changes (another
# program adding a user makes every run cold), so a warm run during which it changed is redone.
db_stamp() { stat -c '%i.%s.%y' /etc/passwd /etc/shadow /etc/group | tr '\n' ' '; }
# CPU time (clock ticks) of every lwmid of this benchmark.
daemon_ticks() {
  local p
  for p in $(daemons); do awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null; done |
    awk '{s += $1} END {print s + 0}'
}

declare -A mean sd median cpu_ms
warm_up() {
  "${lw[@]}" --connect-timeout 120 --node "@$work/hosts" "${terminate[@]}" >/dev/null 2>&1 || true
  last_stamp=$(db_stamp)
  wait_targets
}
# measure KEY EXPECT_RC PREPARE CMD…: RUNS timed runs (PREPARE before each, untimed). With
# PREPARE "none" (warm), a run during which the password database changed is not counted.
measure() {
  local key=$1 want=$2 prep=$3
  shift 3
  local samples=() ticks=0 redone=0 s0 c0
  # lwmid remembers a password for 60 s from its check: warm every host just before.
  [[ $prep == none ]] && warm_up
  for ((r = 0; r < runs; r++)); do
    wait_targets
    $prep
    s0=$(db_stamp)
    c0=$(daemon_ticks)
    time_once "$@"
    if ((rc != want)); then
      echo "$key: exit status $rc (want $want):" >&2
      grep -v ': note: ' "$work/err" | tail -5 >&2
      exit 1
    fi
    # Warm only if the database is as it was when the previous run (which warmed every cache)
    # ended, before and after this one.
    local s1
    s1=$(db_stamp)
    if [[ $prep == none && ($s0 != "$last_stamp" || $s1 != "$s0") ]] && ((redone < 10 * runs)); then
      last_stamp=$s1
      redone=$((redone + 1))
      r=$((r - 1))
      sleep 0.5
      continue
    fi
    last_stamp=$s1
    ticks=$((ticks + $(daemon_ticks) - c0))
    samples+=("$ms")
  done
  cpu_ms[$key]=$((ticks * 1000 / $(getconf CLK_TCK) / runs))
  read -r mean["$key"] sd["$key"] median["$key"] < <(printf '%s\n' "${samples[@]}" |
    sort -n | awk '{x[n++] = $1; s += $1; q += $1 * $1} END {m = s / n; v = q / n - m * m;
      if (v < 0) v = 0; printf "%.0f %.0f %.0f\n", m, sqrt(v), x[int((n - 1) / 2)]}')
  printf '  %-8s %6s ms ± %4s, median %s   (%s); lwmid CPU %s ms a run%s\n' "$key" \
    "${mean[$key]}" "${sd[$key]}" "${median[$key]}" "${samples[*]}" "${cpu_ms[$key]}" \
    "$( ((redone)) && echo "; $redone run(s) redone: the password database changed")"
}
none() { :; }
# Rewrites the password database (same password): every lwmid drops its credential cache.
flush_pam() { echo "$user:$password" | chpasswd; }

last_stamp=''
echo
echo "first run: pins $hosts certificates, checks the password on every host"
time_once "${lw[@]}" --connect-timeout 120 --node "@$work/hosts" "${terminate[@]}"
echo "  $ms ms, exit status $rc; $(tail -1 "$work/err")"
last_stamp=$(db_stamp)
((rc == 0)) || grep -v ': note: ' "$work/err" | head -5

echo
echo "wall time of one lwmic invocation ending '$target' (one process per host):"
measure warm 0 none "${lw[@]}" --node "@$work/hosts" "${terminate[@]}"
echo "    $(tail -1 "$work/err")"
grep -q "$hosts process(es) ended" "$work/err" || { echo "not every process ended" >&2; exit 1; }
# Cold: here every "host" checks the password on this machine's few cores, all at once: with
# every host at once, TLS handshakes wait behind the others' PAM past lwmid's own 10 s handshake
# limit (real hosts each have their own CPU). So cold runs at --throttle 16, with a long connect
# timeout, and fewer runs.
runs_saved=$runs
runs=$(((runs + 1) / 2))
measure cold 0 flush_pam "${lw[@]}" --throttle 16 --connect-timeout 120 --node "@$work/hosts" "${terminate[@]}"
echo "    $(tail -1 "$work/err")"
runs=$runs_saved
measure t32 0 none "${lw[@]}" --throttle 32 --node "@$work/hosts" "${terminate[@]}"
measure one 0 none "${lw[@]}" --node "$(cat "$work/one")" "${terminate[@]}"
loop() {
  local h
  while read -r h; do "${lw[@]}" --node "$h" "${terminate[@]}" || return 1; done <"$work/hosts"
}
runs_saved=$runs
runs=$(((runs + 2) / 3)) # the loop is slow: fewer runs
measure loop 0 none loop
runs=$runs_saved

# --- unreachable hosts: a blackholed /24's first 20 addresses ------------------------------
ip netns add "$netns" && made_netns=1
ip link add "$veth" type veth peer name "${veth}p"
ip link set "${veth}p" netns "$netns"
net=198.18.$((100 + RANDOM % 100))
ip addr add "$net.1/24" dev "$veth"
ip link set "$veth" up
ip -n "$netns" link set "${veth}p" up
cp "$work/hosts" "$work/hosts+dead"
for ((i = 10; i < 30; i++)); do
  ip neigh add "$net.$i" lladdr 02:00:00:00:00:99 dev "$veth" nud permanent
  echo "$net.$i:5986" >>"$work/hosts+dead"
done
measure unreach 4 none "${lw[@]}" --connect-timeout 2 --node "@$work/hosts+dead" "${terminate[@]}"
echo "    $(tail -1 "$work/err")"

echo
awk -v wm="${median[warm]}" -v wc="${cpu_ms[warm]}" -v cc="${cpu_ms[cold]}" -v w="${mean[warm]}" -v c="${mean[cold]}" -v o="${mean[one]}" -v l="${mean[loop]}" \
  -v t="${mean[t32]}" -v u="${mean[unreach]}" -v h="$hosts" 'BEGIN {
  printf "%d hosts, warm: mean %d ms, median %d ms (goal < 1000 ms: %s)\n", h, w, wm,
         wm < 1000 ? "met by the median" : "NOT met"
  printf "%d hosts, cold: %d ms; PAM share (cold - warm) / cold = %.0f%% of the wall time, " \
         "%.0f%% of lwmid CPU (%d vs %d ms)\n", h, c, 100 * (c - w) / c,
         100 * (cc - wc) / cc, cc, wc
  printf "one host: %d ms; %d hosts take %.1fx one host'"'"'s time\n", o, h, w / o
  printf "sequential loop over %d hosts: %d ms; fan-out is %.0fx faster\n", h, l, l / w
  printf "--throttle 32: %d ms (%.1fx the default throttle'"'"'s time)\n", t, t / w
  printf "with 20 unreachable hosts, --connect-timeout 2: %d ms (goal < 3000 ms: %s)\n", u,
         u < 3000 ? "met" : "NOT met"
}'
