#!/usr/bin/python3
"""How long a forbidden program lives: `lwmic watch … --terminate` through lwmid's event
subscription (WS-Eventing Subscribe + Pull over lwmid's Unix socket, Terminate per event) vs the
polling loop an administrator would otherwise write (`while :; do pkill -x NAME; sleep 0.1; done`).
Run by bench/watch_vs_pkill.sh (as root); stdlib only.

  watch_vs_pkill.py --lwmic LWMIC --socket SOCK --workdir DIR [--rounds 50] [--period 0.1]

Each round starts a copy of /bin/sleep named NAME and measures from just before fork to its exit
(seen by waitpid), for each of the two watchers in turn.
"""
import argparse
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import time


def lifetimes(prog, rounds):
    out = []
    for _ in range(rounds):
        t0 = time.monotonic()
        p = subprocess.Popen([prog, "30"], stdin=subprocess.DEVNULL)
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            sys.exit("a round was not ended within 20 s: the watcher is not working")
        out.append((time.monotonic() - t0) * 1000)
        time.sleep(0.02)
    return out


def describe(label, ms):
    q = statistics.quantiles(ms, n=10)
    print("  %-44s mean %7.2f ms  p50 %7.2f  p90 %7.2f  max %7.2f  (n=%d)"
          % (label, statistics.mean(ms), statistics.median(ms), q[8], max(ms), len(ms)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lwmic", required=True)
    ap.add_argument("--socket", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--rounds", type=int, default=50)
    ap.add_argument("--period", type=float, default=0.1)
    a = ap.parse_args()
    name = "forbid-" + secrets.token_hex(3)  # within comm's 15 characters, for pkill -x
    prog = os.path.join(a.workdir, name)
    shutil.copy2("/bin/sleep", prog)
    wql = ("SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Win32_Process' "
           "AND TargetInstance.Name = '%s'" % name)

    err = open(os.path.join(a.workdir, "watch.err"), "w+")
    watch = subprocess.Popen([a.lwmic, "--socket", a.socket, "--format", "csv", "watch", wql,
                              "--terminate"], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.monotonic() + 20
        while True:
            err.seek(0)
            if "watching" in err.read():
                break
            if watch.poll() is not None or time.monotonic() > deadline:
                err.seek(0)
                sys.exit("lwmic watch did not subscribe: " + err.read())
            time.sleep(0.02)
        watched = lifetimes(prog, a.rounds)
    finally:
        watch.terminate()
        watch.wait()
    loop = subprocess.Popen(["bash", "-c", "while :; do pkill -x %s; sleep %s; done"
                             % (name, a.period)], stdin=subprocess.DEVNULL)
    try:
        polled = lifetimes(prog, a.rounds)
    finally:
        loop.kill()
        loop.wait()
    print("lifetime of a forbidden program, from fork to its exit:")
    describe("lwmic watch --terminate (via lwmid, events)", watched)
    describe("pkill -x every %.1f s (polling loop)" % a.period, polled)
    print("  ratio polling/events (mean): %.1fx" % (statistics.mean(polled) / statistics.mean(watched)))


if __name__ == "__main__":
    main()
