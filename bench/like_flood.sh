#!/usr/bin/env bash
# LIKE against a 2 MB command line, and one user flooding lwmid with it, while another client
# queries. Not run by `make test`. Runs as root (makes a user, starts lwmid on a temporary
# socket). Details: bench/like_flood.py.
#
#   bench/like_flood.sh [BUILD_DIR] [--seconds N] [--flooders N]
#
# BUILD_DIR: where lwmid was built (default build/bench, falling back to build/release).
set -euo pipefail
cd "$(dirname "$0")/.."
((EUID == 0)) || { echo "like_flood.sh runs as root (it makes a user and starts lwmid)" >&2; exit 2; }
for t in useradd userdel setpriv grep /usr/bin/perl /usr/bin/python3; do
  command -v "$t" >/dev/null || { echo "like_flood.sh needs $t" >&2; exit 2; }
done
exec /usr/bin/python3 bench/like_flood.py "$@"
