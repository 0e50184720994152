#!/usr/bin/env bash
# A forbidden program's lifetime under `lwmic watch … --terminate` through lwmid's event
# subscriptions (Subscribe + Pull over the Unix socket, Terminate per event) vs a `pkill -x`
# polling loop every 0.1 s. Not run by `make test`.
#
#   bench/watch_vs_pkill.sh [BUILD_DIR] [ROUNDS]
#
# BUILD_DIR: where lwmid and lwmic were built (default build/bench, falling back to
# build/release). Runs as root: starts lwmid on a temporary socket (no TCP listener) with a
# temporary state dir and config; bench/watch_vs_pkill.py does the rounds. Everything made here
# is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build/bench}
rounds=${2:-50}
[[ -x $dir/src/daemon/lwmid && -x $dir/src/cli/lwmic ]] || dir=build/release
lwmid=$(realpath "$dir/src/daemon/lwmid")
lwmic=$(realpath "$dir/src/cli/lwmic")
((EUID == 0)) || { echo "watch_vs_pkill.sh runs as root (lwmid needs the process connector)" >&2; exit 2; }
echo "lwmid: $lwmid"
work=$(mktemp -d /tmp/lwmid-bench-watch.XXXXXX)
lwmid_pid=''
cleanup() {
  set +e
  if [[ -n $lwmid_pid ]]; then
    kill -TERM "$lwmid_pid" 2>/dev/null
    for ((i = 0; i < 100; i++)); do kill -0 "$lwmid_pid" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$lwmid_pid" 2>/dev/null
    wait "$lwmid_pid" 2>/dev/null
  fi
  rm -rf "$work"
  true
}
trap cleanup EXIT
trap 'exit 130' INT TERM
printf '[audit]\njournal = false\n' >"$work/lwmid.conf"
"$lwmid" --config "$work/lwmid.conf" --state-dir "$work/state" --socket "$work/lwmid.sock" \
  --http "" --https "" --ready-file "$work/ready" --foreground >"$work/lwmid.log" 2>&1 &
lwmid_pid=$!
for ((i = 0; i < 400; i++)); do
  [[ -s $work/ready ]] && break
  kill -0 "$lwmid_pid" 2>/dev/null || { echo "lwmid exited:" >&2; cat "$work/lwmid.log" >&2; exit 1; }
  sleep 0.05
done
[[ -s $work/ready ]] || { echo "lwmid wrote no ready file in 20 s" >&2; exit 1; }
/usr/bin/python3 bench/watch_vs_pkill.py --lwmic "$lwmic" --socket "$work/lwmid.sock" \
  --workdir "$work" --rounds "$rounds"
