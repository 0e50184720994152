#!/usr/bin/python3
"""Remote side of bench/remote.sh: lwmid's WS-Management over HTTPS keep-alive, as a remote client
sees it. Run by bench/remote.sh (which makes the user, PAM service and daemon); stdlib only.

  remote_bench.py --url https://127.0.0.1:PORT/wsman --cert STATE/lwmid.crt --user U --password P
                  --lwmid-pid PID --get-pid PID --uid UID --gid GID
                  [--gets 2000] [--seconds 10] [--clients 1,4,16] [--rounds 200]

(b) --gets sequential Gets of --get-pid over one keep-alive connection: the first request pays PAM
    (the TLS handshake is done beforehand and timed apart); p50/p90/p99/max exclude it.
(c) requests per second with 1, 4, 16 client threads, each with its own keep-alive connection, for
    --seconds each. The clients are Python threads sharing one GIL on the same machine: at high
    concurrency the client, not lwmid, may be what saturates; lwmid's CPU time per request is
    printed to tell.
(d) --rounds Terminates (envelope 06, ReturnValue must be 0; lwmid answers once it saw the process
    exit) vs SIGKILL + polling /proc/PID/stat until it is gone or a zombie, each on a fresh `sleep`
    run as UID:GID (setpriv), i.e. owned by the remote user.
"""
import argparse
import base64
import http.client
import os
import re
import signal
import ssl
import statistics
import subprocess
import sys
import threading
import time
import uuid
import xml.etree.ElementTree as ET

CAPTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures",
                        "wsman-captures")
SOAP_TYPE = "application/soap+xml;charset=UTF-8"
NS_S = "http://www.w3.org/2003/05/soap-envelope"
GOAL_GET_P50_MS = 1.0


def load_capture(name):
    here = os.path.dirname(os.path.abspath(__file__))
    for d in (os.path.join(os.path.dirname(here), "fuzz", "corpus", "envelope"), CAPTURES):
        path = os.path.join(d, name)
        if os.path.exists(path):
            with open(path, "rb") as f:
                return f.read().decode("utf-8")
    sys.exit("no capture %s under fuzz/corpus/envelope or %s" % (name, CAPTURES))


def with_handle(xml, pid):
    out, n = re.subn(r'(<wsman:Selector Name="Handle">)[^<]*(</wsman:Selector>)',
                     lambda m: m.group(1) + str(pid) + m.group(2), xml)
    assert n == 1, "no Handle selector"
    return out


class Envelope:
    """An envelope with a fresh wsa:MessageID per request (the UUID has a fixed length)."""

    def __init__(self, xml):
        m = re.search(r"uuid:[0-9A-Fa-f-]{36}", xml)
        assert m, "no MessageID"
        self.head = xml[:m.start() + 5].encode()
        self.tail = xml[m.end():].encode()

    def body(self):
        return self.head + str(uuid.uuid4()).encode() + self.tail


class Client:
    def __init__(self, args, ctx):
        self.hostport = args.url.split("//", 1)[1].split("/", 1)[0]
        self.path = "/" + args.url.split("//", 1)[1].split("/", 1)[1]
        self.ctx = ctx
        self.headers = {
            "Content-Type": SOAP_TYPE,
            "Authorization": "Basic " + base64.b64encode(
                ("%s:%s" % (args.user, args.password)).encode()).decode(),
        }
        self.conn = http.client.HTTPSConnection(self.hostport, timeout=30, context=ctx)
        self.connects = 0

    def connect(self):
        self.conn.connect()
        self.connects += 1

    def post(self, body):
        if self.conn.sock is None:  # the server closed the connection: count the reconnect
            self.connect()
        self.conn.request("POST", self.path, body=body, headers=self.headers)
        r = self.conn.getresponse()
        data = r.read()
        if r.status != 200:
            raise RuntimeError("HTTP %d: %r" % (r.status, data[:500]))
        return data

    def close(self):
        self.conn.close()


def check_ok(data):
    root = ET.fromstring(data)
    if root.find("{%s}Body/{%s}Fault" % (NS_S, NS_S)) is not None:
        raise RuntimeError("fault: %r" % data[:800])
    return root


def return_value(data):
    root = check_ok(data)
    for el in root.iter():
        if el.tag.rsplit("}", 1)[-1] == "ReturnValue":
            return int(el.text)
    raise RuntimeError("no ReturnValue: %r" % data[:800])


def pct(sorted_vals, p):
    """Nearest-rank percentile."""
    k = max(0, min(len(sorted_vals) - 1, int(-(-p * len(sorted_vals) // 100)) - 1))
    return sorted_vals[k]


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


HZ = os.sysconf("SC_CLK_TCK")


# ---- (b) ------------------------------------------------------------------------------------
def bench_get(args, ctx):
    env = Envelope(with_handle(load_capture("04-get.xml"), args.get_pid))
    c = Client(args, ctx)
    t0 = time.perf_counter()
    c.connect()
    tls_ms = (time.perf_counter() - t0) * 1e3
    lat = []
    for i in range(args.gets):
        body = env.body()
        t0 = time.perf_counter()
        data = c.post(body)
        lat.append((time.perf_counter() - t0) * 1e3)
        if i == 0:
            root = check_ok(data)
            handle = [el.text for el in root.iter() if el.tag.endswith("}Handle")]
            if str(args.get_pid) not in handle:
                raise RuntimeError("Get returned no Handle %d: %r" % (args.get_pid, data[:800]))
        elif b"Fault>" in data:
            raise RuntimeError("fault: %r" % data[:800])
    c.close()
    first, rest = lat[0], sorted(lat[1:])
    p50 = pct(rest, 50)
    print("(b) Get of pid %d over one HTTPS keep-alive connection, %d sequential requests"
          % (args.get_pid, args.gets))
    print("    TLS handshake (timed apart)  : %.3f ms" % tls_ms)
    print("    first request (pays PAM)     : %.3f ms" % first)
    print("    next %d: mean %.3f  p50 %.3f  p90 %.3f  p99 %.3f  max %.3f ms"
          % (len(rest), statistics.fmean(rest), p50, pct(rest, 90), pct(rest, 99), rest[-1]))
    print("    PAM cost ~ first - p50       : %.3f ms" % (first - p50))
    print("    connections opened           : %d (1 = keep-alive held)" % c.connects)
    print("    goal: p50 < %.0f ms on loopback -> %s"
          % (GOAL_GET_P50_MS, "MET" if p50 < GOAL_GET_P50_MS else "NOT MET"))
    sys.stdout.flush()


# ---- (c) ------------------------------------------------------------------------------------
def bench_throughput(args, ctx):
    env = Envelope(with_handle(load_capture("04-get.xml"), args.get_pid))
    print("(c) Get throughput, N client threads each with its own keep-alive connection, %g s each"
          % args.seconds)
    base = None
    for n in args.clients:
        clients = [Client(args, ctx) for _ in range(n)]
        for c in clients:
            c.connect()
            check_ok(c.post(env.body()))  # warm: PAM cache hit or miss happens here, untimed
        counts = [0] * n
        errors = []
        start = threading.Barrier(n + 1)
        stop = threading.Event()

        def worker(i):
            c = clients[i]
            start.wait()
            try:
                while not stop.is_set():
                    data = c.post(env.body())
                    if b"Fault>" in data:
                        raise RuntimeError("fault: %r" % data[:500])
                    counts[i] += 1
            except Exception as e:  # noqa: BLE001 (reported below)
                errors.append(e)
                stop.set()

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        start.wait()
        cpu0, t0 = cpu_ticks(args.lwmid_pid), time.perf_counter()
        time.sleep(args.seconds)
        stop.set()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
        cpu = (cpu_ticks(args.lwmid_pid) - cpu0) / HZ
        for c in clients:
            c.close()
        if errors:
            raise errors[0]
        total = sum(counts)
        rps = total / elapsed
        base = base or rps
        reconnects = sum(c.connects for c in clients) - n
        print("    %2d client%s: %8.0f req/s  (%d requests, x%.2f vs 1 client; lwmid CPU %.0f%% of "
              "one core, %.1f us/request; reconnects %d)"
              % (n, " " if n == 1 else "s", rps, total, rps / base, 100 * cpu / elapsed,
                 1e6 * cpu / max(total, 1), reconnects))
        sys.stdout.flush()


# ---- (d) ------------------------------------------------------------------------------------
def gone(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return True
    return s.rsplit(")", 1)[1].split()[0] == "Z"


def spawn_sleep(args):
    p = subprocess.Popen(["setpriv", "--reuid=%d" % args.uid, "--regid=%d" % args.gid,
                          "--clear-groups", "--", "sleep", "1000"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    # Wait until setpriv has exec'd sleep, so neither side times a half-started process.
    while True:
        try:
            with open("/proc/%d/comm" % p.pid) as f:
                if f.read().strip() == "sleep":
                    return p
        except OSError:
            pass
        if p.poll() is not None:
            raise RuntimeError("setpriv sleep exited with %s" % p.returncode)


def bench_terminate(args, ctx):
    tmpl = load_capture("06-invoke-terminate-wmi-uri.xml")
    c = Client(args, ctx)
    c.connect()
    check_ok(c.post(Envelope(with_handle(load_capture("04-get.xml"), args.get_pid)).body()))
    t_remote, t_kill = [], []
    live = []
    try:
        for _ in range(args.rounds):
            p = spawn_sleep(args)
            live.append(p)
            body = Envelope(with_handle(tmpl, p.pid)).body()
            t0 = time.perf_counter()
            data = c.post(body)
            t1 = time.perf_counter()
            rv = return_value(data)
            if rv != 0 or not gone(p.pid):
                raise RuntimeError("Terminate of %d: ReturnValue %d, gone %s"
                                   % (p.pid, rv, gone(p.pid)))
            t_remote.append((t1 - t0) * 1e3)
            p.wait()
            live.remove(p)

            p = spawn_sleep(args)
            live.append(p)
            t0 = time.perf_counter()
            os.kill(p.pid, signal.SIGKILL)
            while not gone(p.pid):
                pass
            t1 = time.perf_counter()
            t_kill.append((t1 - t0) * 1e3)
            p.wait()
            live.remove(p)
    finally:
        for p in live:
            p.kill()
            p.wait()
        c.close()
    mr, mk = statistics.fmean(t_remote), statistics.fmean(t_kill)
    print("(d) end one fresh sleep (owned by the remote user), %d rounds each" % args.rounds)
    print("    remote Terminate (HTTPS)  : mean %.3f ms  p50 %.3f ms  p99 %.3f ms"
          % (mr, statistics.median(t_remote), pct(sorted(t_remote), 99)))
    print("    kill -9 + poll /proc      : mean %.3f ms  p50 %.3f ms  p99 %.3f ms"
          % (mk, statistics.median(t_kill), pct(sorted(t_kill), 99)))
    print("    ratio                     : %.1fx (mean)  %.1fx (p50)"
          % (mr / mk, statistics.median(t_remote) / statistics.median(t_kill)))
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--lwmid-pid", type=int, required=True)
    ap.add_argument("--get-pid", type=int, required=True)
    ap.add_argument("--uid", type=int, required=True)
    ap.add_argument("--gid", type=int, required=True)
    ap.add_argument("--gets", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--clients", default="1,4,16")
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--only", default="bcd", help="which parts to run (letters of bcd)")
    args = ap.parse_args()
    args.clients = [int(x) for x in args.clients.split(",")]
    for v in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        os.environ.pop(v, None)
    ctx = ssl.create_default_context(cafile=args.cert)
    if "b" in args.only:
        bench_get(args, ctx)
    if "c" in args.only:
        bench_throughput(args, ctx)
    if "d" in args.only:
        bench_terminate(args, ctx)


if __name__ == "__main__":
    main()
