#!/usr/bin/env bash
# make run: a short tour of lwmic, then lwmid in the foreground with the default configuration
# (/etc/lwmi/lwmid.conf when present): Unix socket /run/lwmi/lwmid.sock, HTTP on 127.0.0.1:5985,
# HTTPS on 5986 with a self-signed certificate in /var/lib/lwmi. Ctrl-C stops it.
set -euo pipefail
B=${1:-build/release}
scripts/tour.sh "$B"
if [ "$(id -u)" -eq 0 ] && [ ! -e /etc/pam.d/lwmi ]; then
  echo "run: installing the PAM service file /etc/pam.d/lwmi (remote logins)" >&2
  install -m 0644 etc/pam.d/lwmi /etc/pam.d/lwmi
fi
printf '\n\033[1m$ lwmid --foreground\033[0m   (Ctrl-C to stop; try: lwmic --node localhost …)\n'
exec "$B/src/daemon/lwmid" --foreground
