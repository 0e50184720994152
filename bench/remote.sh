#!/usr/bin/env bash
# lwmid over HTTPS keep-alive, as a remote WS-Management client sees it. Not run by `make test`.
#
#   bench/remote.sh [BUILD_DIR]
#
# BUILD_DIR: where lwmid was built (default build/bench, falling back to build/release).
# Runs as root: makes a temporary group, a user in it with a password, a PAM service file
# /etc/pam.d/lwmi-bench-<rand> (a copy of etc/pam.d/lwmi) and a config naming them, then starts
# lwmid (temporary state dir and socket, --https 127.0.0.1:0, no plain HTTP) and measures
#   (a) lwmid's idle RSS (VmRSS) after start and after the load       goal: under 10 MB
#   (b) Get latency over one keep-alive connection, 2,000 requests    goal: p50 under 1 ms
#       (the first request pays PAM; it is reported apart)
#   (c) Get requests/s with 1, 4 and 16 client threads, 10 s each
#   (d) remote Terminate vs kill -9 + waiting for /proc/PID, 200 rounds each, on fresh sleeps
#       owned by the bench user
# (b)-(d) are bench/remote_bench.py (/usr/bin/python3, stdlib http.client). Everything made here
# is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD

dir=${1:-build/bench}
lwmid=$dir/src/daemon/lwmid
[[ -x $lwmid ]] || lwmid=build/release/src/daemon/lwmid
[[ -x $lwmid ]] || { echo "no lwmid under $dir or build/release; build it first" >&2; exit 2; }
lwmid=$(realpath "$lwmid")
((EUID == 0)) || { echo "remote.sh runs as root (it makes a user, a group and a PAM service)" >&2; exit 2; }
for t in useradd chpasswd groupadd setpriv /usr/bin/python3; do
  command -v "$t" >/dev/null || { echo "remote.sh needs $t" >&2; exit 2; }
done
echo "lwmid: $lwmid"

tag=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
group=lwmib-r-$tag
user=lwmib-$tag
pam_service=lwmi-bench-$tag
pam_file=/etc/pam.d/$pam_service
password=pw-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
work=$(mktemp -d /tmp/lwmid-bench.XXXXXX)
lwmid_pid='' get_pid='' made_user='' made_group='' made_pam=''

cleanup() {
  set +e
  [[ -n $get_pid ]] && kill -9 "$get_pid" 2>/dev/null
  if [[ -n $lwmid_pid ]]; then
    kill -TERM "$lwmid_pid" 2>/dev/null
    for ((i = 0; i < 100; i++)); do kill -0 "$lwmid_pid" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$lwmid_pid" 2>/dev/null
    wait "$lwmid_pid" 2>/dev/null
  fi
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

cat >"$work/lwmid.conf" <<EOF
[security]
remote_group = "$group"
pam_service = "$pam_service"

[audit]
journal = false
EOF

"$lwmid" --config "$work/lwmid.conf" --state-dir "$work/state" --socket "$work/lwmid.sock" \
  --http "" --https 127.0.0.1:0 --ready-file "$work/ready" --foreground \
  >"$work/lwmid.log" 2>&1 &
lwmid_pid=$!
for ((i = 0; i < 400; i++)); do
  [[ -s $work/ready ]] && break
  kill -0 "$lwmid_pid" 2>/dev/null || { echo "lwmid exited:" >&2; cat "$work/lwmid.log" >&2; exit 1; }
  sleep 0.05
done
[[ -s $work/ready ]] || { echo "lwmid wrote no ready file in 20 s:" >&2; cat "$work/lwmid.log" >&2; exit 1; }
url=$(grep -m1 '^https://' "$work/ready") || { echo "no https endpoint in the ready file" >&2; exit 1; }
echo "endpoint: $url  (user $user, PAM service $pam_service)"

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$lwmid_pid/status"; }
rss_split() {  # anonymous vs file-backed (mapped binary and libraries) resident memory
  awk '/^RssAnon:/ {a=$2} /^RssFile:/ {f=$2} /^RssShmem:/ {s=$2}
    END {printf "anon %.2f MB, file %.2f MB, shmem %.2f MB", a/1024, f/1024, s/1024}' "/proc/$lwmid_pid/status"
}
goal_rss() { awk -v k="$1" 'BEGIN {printf "%.2f MB  (goal < 10 MB: %s)", k/1024, k < 10240 ? "MET" : "NOT MET"}'; }

# A live process of the bench user for the Gets.
setpriv --reuid="$uid" --regid="$gid" --clear-groups -- sleep 100000 </dev/null >/dev/null 2>&1 &
get_pid=$!
disown "$get_pid"
until { read -r c <"/proc/$get_pid/comm"; } 2>/dev/null && [[ $c == sleep ]]; do :; done

sleep 1  # idle: let lwmid settle after start
rss_start=$(rss_kb)
echo "(a) idle RSS after start        : $(goal_rss "$rss_start")"
echo "    $(rss_split); threads $(awk '/^Threads:/ {print $2}' "/proc/$lwmid_pid/status")"

/usr/bin/python3 "$src/bench/remote_bench.py" --url "$url" --cert "$work/state/lwmid.crt" \
  --user "$user" --password "$password" --lwmid-pid "$lwmid_pid" --get-pid "$get_pid" \
  --uid "$uid" --gid "$gid"

sleep 2  # idle again: connections closed, workers parked
rss_after=$(rss_kb)
echo "(a) idle RSS after the load     : $(goal_rss "$rss_after")"
echo "    $(rss_split); threads $(awk '/^Threads:/ {print $2}' "/proc/$lwmid_pid/status")"
awk -v a="$rss_start" -v b="$rss_after" 'BEGIN {printf "    growth over the run         : %+.2f MB (x%.2f)\n", (b-a)/1024, b/a}'
kill -0 "$lwmid_pid" 2>/dev/null || { echo "lwmid died:" >&2; cat "$work/lwmid.log" >&2; exit 1; }
