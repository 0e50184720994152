#!/usr/bin/env bash
# Runs every benchmark script bench/*.sh (except this one) with the build directory as $1.
# `make bench` calls `bench/run-all.sh build/bench`. Benchmarks are not part of `make test`.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build/bench}
status=0
for script in "$here"/*.sh; do
  [[ $(basename "$script") == run-all.sh ]] && continue
  echo "=== $(basename "$script") ==="
  bash "$script" "$build" || { echo "!!! $(basename "$script") failed" >&2; status=1; }
  echo
done
exit $status
