#!/usr/bin/env python3
"""Permanent subscriptions under load: SUBS bindings active in lwmid (one matching filter with a
log consumer, the rest filters on names that never start, each with its own log consumer) while
a launcher starts RATE programs a second for SECONDS. Reports lwmid's CPU (per 1,000 events and
in all) and RSS, the lines the log consumer wrote against the programs started, and the delivery
latency (program started -> its line in the log file) p50/p99/max. Side by side, in the same run:
the same storm watched by `lwmic watch` (a temporary subscription through the same lwmid) writing
JSON lines to a file, the way an admin would otherwise log starts.

Not run by `make test`. Run as root:  bench/permanent.py [BUILD_DIR] [SUBS] [RATE] [SECONDS]
"""
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "build", "release")
subs = int(sys.argv[2]) if len(sys.argv) > 2 else 100
rate = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 20
LWMID = os.path.join(build, "src", "daemon", "lwmid")
LWMIC = os.path.join(build, "src", "cli", "lwmic")
if os.geteuid() != 0:
    sys.exit("permanent.py: lwmid runs as root")
for f in (LWMID, LWMIC):
    if not os.access(f, os.X_OK):
        sys.exit("no %s: build it first (cmake --build --preset release)" % f)

top = tempfile.mkdtemp(prefix="lwmi-bench-perm-")
os.chmod(top, 0o755)
subs_dir, log_dir, state = (os.path.join(top, d) for d in ("subs.d", "log", "state"))
for d in (subs_dir, log_dir):
    os.mkdir(d, 0o755)
tag = secrets.token_hex(3)
prog_name = "lwpb%s" % tag
prog = os.path.join(top, prog_name)
shutil.copy2("/bin/true", prog)
log = os.path.join(log_dir, "match.log")

lines = []
for i in range(subs):
    name = prog_name if i == 0 else "never-%s-%d" % (tag, i)
    lines += ["[[__EventFilter]]", 'Name = "f%d"' % i,
              'Query = "SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA '
              "'Win32_Process' AND TargetInstance.Name = '%s'\"" % name, "",
              "[[LogFileEventConsumer]]", 'Name = "l%d"' % i,
              'Filename = "%s"' % (log if i == 0 else os.path.join(log_dir, "n%d.log" % i)),
              'Text = "%TargetInstance.ProcessId%"', "MaximumFileSize = 0", "",
              "[[__FilterToConsumerBinding]]", 'Filter = "f%d"' % i,
              "Consumer = 'LogFileEventConsumer.Name=\"l%d\"'" % i, ""]
with open(os.path.join(subs_dir, "bench.toml"), "w") as f:
    f.write("\n".join(lines))
conf = os.path.join(top, "lwmid.conf")
with open(conf, "w") as f:
    f.write('[audit]\njournal = false\nfile = "%s/audit.log"\n[subscriptions]\ndirectory = "%s"\n'
            'log_directory = "%s"\n[events]\nqueue_size = 100000\n' % (top, subs_dir, log_dir))
sock = os.path.join(top, "lwmid.sock")
ready = os.path.join(top, "ready")
daemon = subprocess.Popen([LWMID, "--config", conf, "--state-dir", state, "--socket", sock,
                           "--http", "", "--https", "", "--ready-file", ready, "--foreground"],
                          stdout=open(os.path.join(top, "lwmid.log"), "wb"),
                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def cleanup():
    if daemon.poll() is None:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=20)
        except subprocess.TimeoutExpired:
            daemon.kill()
    shutil.rmtree(top, True)


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def storm(n_per_s, secs, started):
    """Starts prog n_per_s times a second; records pid -> start time (monotonic)."""
    interval = 1.0 / n_per_s
    running = []
    t0 = time.monotonic()
    i = 0
    end = t0 + secs
    while True:
        now = time.monotonic()
        if now >= end:
            break
        due = t0 + i * interval
        if now < due:
            time.sleep(due - now)
        pid = os.posix_spawn(prog, [prog], {})
        started[pid] = time.monotonic()
        running.append(pid)
        i += 1
        # Reap what ended (only the launched programs: lwmid and lwmic are children too).
        while running and os.waitpid(running[0], os.WNOHANG)[0] == running[0]:
            running.pop(0)
    took = time.monotonic() - t0
    for pid in running:
        os.waitpid(pid, 0)
    return took


def tail(path, seen, stop, pid_of):
    """Timestamps each line as it appears in `path`, by the pid pid_of(line) finds in it."""
    pos = 0
    buf = b""
    while not stop.is_set() or os.path.exists(path) and os.path.getsize(path) > pos:
        try:
            with open(path, "rb") as f:
                f.seek(pos)
                chunk = f.read()
        except FileNotFoundError:
            chunk = b""
        now = time.monotonic()
        if chunk:
            pos += len(chunk)
            buf += chunk
            *done, buf = buf.split(b"\n")
            for line in done:
                try:
                    seen.setdefault(pid_of(line), now)
                except (ValueError, KeyError, TypeError):
                    pass
        elif stop.is_set():
            break
        time.sleep(0.001)


def pct(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def run(label, path, pid_of):
    started, seen = {}, {}
    stop = threading.Event()
    t = threading.Thread(target=tail, args=(path, seen, stop, pid_of))
    t.start()
    rss0, cpu0 = rss_kb(daemon.pid), cpu_ticks(daemon.pid)
    samples = []
    sampler_stop = threading.Event()

    def sampler():
        while not sampler_stop.wait(1.0):
            samples.append(rss_kb(daemon.pid))
    s = threading.Thread(target=sampler)
    s.start()
    took = storm(rate, seconds, started)
    time.sleep(2.0)  # the last events
    stop.set()
    t.join()
    sampler_stop.set()
    s.join()
    cpu = (cpu_ticks(daemon.pid) - cpu0) / os.sysconf("SC_CLK_TCK")
    lat = [(seen[p] - started[p]) * 1000 for p in started if p in seen]
    n = len(started)
    print("%s: %d programs started in %.1f s (%.0f/s); %d lines (%.2f %%)" %
          (label, n, took, n / took, len(lat), 100.0 * len(lat) / max(n, 1)))
    print("    delivery latency ms: p50 %.1f  p99 %.1f  max %.1f" %
          (pct(lat, 50), pct(lat, 99), max(lat) if lat else float("nan")))
    print("    lwmid CPU %.2f s (%.1f %% of one core), %.0f ms per 1,000 events; RSS %d -> max %d kB" %
          (cpu, 100 * cpu / took, 1e6 * cpu / max(n, 1), rss0,
           max(samples + [rss_kb(daemon.pid)])))
    return cpu / max(n, 1), pct(lat, 99)


try:
    t_end = time.monotonic() + 20
    while not os.path.exists(ready):
        if daemon.poll() is not None or time.monotonic() > t_end:
            sys.exit("lwmid did not start:\n" + open(os.path.join(top, "lwmid.log")).read())
        time.sleep(0.05)
    time.sleep(1.0)  # every binding's stream open
    out = subprocess.run([LWMIC, "--socket", sock, "list", "LWMI_SubscriptionState",
                          "--properties", "State"], capture_output=True, text=True)
    active = out.stdout.count("active")
    print("lwmid: %d bindings active; storm of %s at %d/s for %.0f s" % (active, prog_name, rate,
                                                                         seconds))
    perm_cpu, perm_p99 = run("permanent log consumer", log, lambda line: int(line))

    watch_out = os.path.join(top, "watch.jsonl")
    w = subprocess.Popen([LWMIC, "--socket", sock, "--format", "json", "watch",
                          "SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA "
                          "'Win32_Process' AND TargetInstance.Name = '%s'" % prog_name],
                         stdout=open(watch_out, "wb"), stderr=subprocess.PIPE)
    time.sleep(2.0)
    watch_cpu, watch_p99 = run("lwmic watch > file (same lwmid, plus the bindings)", watch_out,
                               lambda line: json.loads(line)["TargetInstance"]["ProcessId"])
    w.send_signal(signal.SIGINT)
    w.wait(timeout=20)
    print("ratio, lwmid CPU per event: permanent %.3f ms vs watch %.3f ms (x%.2f); p99 latency "
          "x%.2f" % (perm_cpu * 1000, watch_cpu * 1000, perm_cpu / watch_cpu if watch_cpu else 0,
                     perm_p99 / watch_p99 if watch_p99 else 0))
finally:
    cleanup()
