"""End-to-end tests of fan-out: lwmic --node h1,h2,… and --node @FILE against several real lwmid
instances on distinct loopback ports with their own state directories.

Each lwmid runs in its own pid namespace (unshare --pid --mount-proc), started together with the
processes it is to see, so that one name matches different real processes on each "host" and
`process where name=… call terminate` across hosts ends each exactly once. The hosts:
three that work; one whose config names another remote group (it refuses the credentials); one
stopped with SIGSTOP (accepts TCP connections in the kernel, never answers); one whose
certificate changed after lwmic pinned it; a closed port; and a blackholed address (a veth pair
into a network namespace, the peer's MAC a static neighbour nobody has, so SYNs vanish).

Runs as root (ctest). Every user, group, PAM service, namespace, link and process made here is
removed again, even when a test fails.
"""
import json
import os
import pty
import re
import secrets
import shutil
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import lwmi_e2e as e2e  # noqa: E402
from lwmi_e2e import lwmid  # noqa: E402

CONNECT_TIMEOUT = "2"
OP_TIMEOUT = "3"


def children(pid):
    """Child pids of `pid` (every thread's), from /proc."""
    out = []
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return None


class NsDaemon(lwmid.Daemon):
    """lwmid as PID 1 of its own pid namespace, with `targets` (name, count) started beside it
    as `user`. The namespace shares the network, so lwmid's HTTPS port is on the host's
    loopback."""

    def __init__(self, work, config_text, user, targets, https="127.0.0.1:0", state=None):
        self._prepare(work, config_text, state, "fo-")
        starts = []
        for exe, count in targets:
            for _ in range(count):
                starts.append("%s %s 1000 &" % (" ".join(user.prefix()), exe))
        script = "%s exec %s --config %s --state-dir %s --socket '' --http '' --https %s " \
                 "--ready-file %s --foreground" % (" ".join(starts), lwmid.LWMID, self.config,
                                                    self.state, https, self.ready)
        self.proc = subprocess.Popen(
            ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", "sh", "-c", script],
            stdin=subprocess.DEVNULL, stdout=self.logf, stderr=subprocess.STDOUT)
        self.https = None
        self.pid = None  # lwmid's pid outside the namespace

    def wait_ready(self, targets, timeout=30.0):
        urls = super().wait_ready(timeout)
        self.https = next(u for u in urls if u.startswith("https:"))
        kids = children(self.proc.pid)
        assert len(kids) == 1, kids
        self.pid = kids[0]
        # The processes lwmid sees, by name, as pids outside the namespace.
        e2e.wait_for(lambda: len(self.targets()) == targets, 10, "targets started")
        return self.https

    def targets(self, name=None):
        return [p for p in children(self.pid)
                if e2e.alive(p) and (name is None or comm(p) == name)]

    @property
    def node(self):
        """host:port as lwmic's --node takes it."""
        return self.https.split("//", 1)[1].split("/", 1)[0]

    def close(self):
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        if self.proc.poll() is None:
            self.proc.kill()  # --kill-child: lwmid and its namespace go with it
            self.proc.wait()
        self.logf.close()


class FanoutTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        lwmid.set_up_class(cls, "lwmi-fanout-")
        cls.remote_group, cls.other_group, cls.admin_group = lwmid.make_groups(
            cls, "lwmifo-r-" + cls.tag, "lwmifo-o-" + cls.tag, "lwmifo-a-" + cls.tag)
        cls.alice = lwmid.make_users(cls, "fo", cls.tag, [("alice", [cls.remote_group])])["alice"]
        cls.pam_service = "lwmi-fo-" + cls.tag
        lwmid.pam_service(cls, cls.pam_service)
        cls.pw_file = lwmid.password_file(cls, cls.work, cls.alice.password)

        # The processes each host sees: KILL ones to end, QUERY ones that stay.
        cls.kill_name = "fk" + cls.tag
        cls.query_name = "fq" + cls.tag
        cls.kill_exe = e2e.sleep_copy(cls.bindir, cls.kill_name)
        cls.query_exe = e2e.sleep_copy(cls.bindir, cls.query_name)
        targets = [(cls.kill_exe, 2), (cls.query_exe, 1)]

        good = lwmid.config_text(cls.remote_group, cls.admin_group, cls.pam_service)
        other = lwmid.config_text(cls.other_group, cls.admin_group, cls.pam_service)
        cls.hosts = {}
        for name, conf in (("ok1", good), ("ok2", good), ("ok3", good), ("refusing", other),
                           ("stopped", good), ("changed", good)):
            d = NsDaemon(cls.work, conf, cls.alice, targets)
            cls.addClassCleanup(d.close)
            cls.hosts[name] = d
        for d in cls.hosts.values():
            d.wait_ready(3)

        # lwmic's known_hosts lives in this HOME: pin every certificate once (the refusing host
        # records nothing: a failed login leaves no trace), then give "changed" a new one.
        cls.home = os.path.join(cls.work, "home")
        os.makedirs(cls.home)
        all_nodes = ",".join(cls.hosts[n].node for n in ("ok1", "ok2", "ok3", "stopped",
                                                         "changed"))
        rc, out, err = cls.lwmic_cls(all_nodes, "query", "SELECT Handle FROM Win32_Process "
                                     "WHERE Handle='1'")
        if rc != 0 or err.count("recorded the certificate") != 5:
            raise AssertionError("pinning run: rc %d\n%s" % (rc, err))
        old = cls.hosts["changed"]
        port = old.node.rsplit(":", 1)[1]
        old_pid = old.pid
        old.close()
        if not e2e.wait_gone(old_pid):
            raise AssertionError("the first lwmid of 'changed' did not end")
        # A new state directory: a new key and certificate on the same port.
        new = NsDaemon(cls.work, good, cls.alice, targets, https="127.0.0.1:" + port)
        cls.addClassCleanup(new.close)
        new.wait_ready(3)
        cls.hosts["changed"] = new

        os.kill(cls.hosts["stopped"].pid, signal.SIGSTOP)
        e2e.wait_for(lambda: e2e.proc_state(cls.hosts["stopped"].pid) == "T", 10, "stopped")

        # A closed port: bound, never listening, so nobody else takes it meanwhile.
        cls.closed = socket.socket()
        cls.closed.bind(("127.0.0.1", 0))
        cls.addClassCleanup(cls.closed.close)
        cls.closed_node = "127.0.0.1:%d" % cls.closed.getsockname()[1]

        # A blackholed address: a veth pair into a namespace of its own; the address's
        # neighbour entry names a MAC nobody has, so packets to it vanish without an error.
        cls.netns = "lwmifo-" + cls.tag
        veth = "lfo" + cls.tag
        octet = 4 * secrets.randbelow(60)
        cls.blackhole = "198.18.%d.%d" % (100 + secrets.randbelow(100), octet + 2)
        local = "198.18.%s.%d" % (cls.blackhole.split(".")[2], octet + 1)
        for argv in (["ip", "netns", "add", cls.netns],
                     ["ip", "link", "add", veth, "type", "veth", "peer", "name", veth + "p"],
                     ["ip", "link", "set", veth + "p", "netns", cls.netns],
                     ["ip", "addr", "add", local + "/30", "dev", veth],
                     ["ip", "link", "set", veth, "up"],
                     ["ip", "-n", cls.netns, "link", "set", veth + "p", "up"],
                     ["ip", "neigh", "add", cls.blackhole, "lladdr", "02:00:00:00:00:99",
                      "dev", veth, "nud", "permanent"]):
            subprocess.run(argv, check=True, stdin=subprocess.DEVNULL)
            if argv[:3] == ["ip", "netns", "add"]:
                cls.addClassCleanup(subprocess.run, ["ip", "netns", "del", cls.netns])
            if argv[:3] == ["ip", "link", "add"]:
                cls.addClassCleanup(subprocess.run, ["ip", "link", "del", veth],
                                    stderr=subprocess.DEVNULL)
        cls.blackhole_node = cls.blackhole + ":5986"

        cls.hosts_file = os.path.join(cls.work, "hosts.txt")
        with open(cls.hosts_file, "w") as f:
            f.write("# the fleet\n")
            for n in ("ok1", "ok2", "ok3", "refusing", "stopped", "changed"):
                f.write("%s   # %s\n" % (cls.hosts[n].node, n))
            f.write("\n%s\n%s\n" % (cls.closed_node, cls.blackhole_node))

    @classmethod
    def lwmic_cls(cls, node, *args, extra=(), timeout=60):
        env = dict(os.environ, HOME=cls.home)
        env.pop("LWMI_PASSWORD", None)
        argv = [e2e.LWMIC, "--node", node, "--user", cls.alice.name, "--password-file",
                cls.pw_file, "--connect-timeout", CONNECT_TIMEOUT, "--timeout", OP_TIMEOUT,
                *extra, *args]
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, env=env,
                           timeout=timeout)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def lwmic(self, node, *args, **kw):
        return self.lwmic_cls(node, *args, **kw)

    def node(self, name):
        return self.hosts[name].node

    def ok_nodes(self):
        return [self.node(n) for n in ("ok1", "ok2", "ok3")]

    # -- the scenario of the issue --------------------------------------------------------------

    def test_terminate_across_hosts_with_every_kind_of_failure(self):
        before = {n: self.hosts[n].targets(self.kill_name) for n in self.hosts}
        for n, pids in before.items():
            self.assertEqual(len(pids), 2, n)
        rc, out, err = self.lwmic("@" + self.hosts_file, "--format", "csv", "process", "where",
                                  "name='%s'" % self.kill_name, "call", "terminate")
        self.assertEqual(rc, 4, err)  # the most severe outcome: connection failures

        # Each failed host by name, with what happened to it.
        lines = err.splitlines()

        def line_for(node):
            found = [l for l in lines if l.startswith("lwmic: %s: " % node)]
            self.assertEqual(len(found), 1, (node, err))
            return found[0]
        self.assertRegex(line_for(self.node("refusing")),
                         r": refused: WBEM_E_ACCESS_DENIED \(0x80041003\): authentication "
                         r"failed for user '%s'" % self.alice.name)
        self.assertRegex(line_for(self.node("stopped")),
                         r": timed out: .*no answer from %s within 2 s \(TLS handshake; "
                         r"connect timeout\)" % re.escape(self.node("stopped")))
        self.assertRegex(line_for(self.node("changed")),
                         r": refused: .*certificate of %s changed \(was SHA256:[0-9A-F:]+, "
                         r"now SHA256:[0-9A-F:]+\)" % re.escape(self.node("changed")))
        self.assertRegex(line_for(self.closed_node),
                         r": unreachable: .*cannot reach %s: Connection refused"
                         % re.escape(self.closed_node))
        self.assertRegex(line_for(self.blackhole_node),
                         r": unreachable: .*cannot reach %s: no connection within 2 s "
                         r"\(connect timeout\)" % re.escape(self.blackhole_node))
        for n in self.ok_nodes():
            self.assertFalse([l for l in lines if l.startswith("lwmic: %s: " % n)], err)
        self.assertIn("lwmic: 8 host(s): 3 ok, 0 failed, 2 unreachable, 2 refused, 1 timed out; "
                      "Terminate: 6 matched, 6 returned 0, 0 returned non-zero, 0 gone before "
                      "the call; 6 process(es) ended", err)

        # A CSV row per ended process, tagged with its host.
        rows = [l.split(",") for l in out.splitlines()]
        self.assertEqual(rows[0], ["Node", "Handle", "Name", "ReturnValue"])
        self.assertEqual(sorted(r[0] for r in rows[1:]), sorted(self.ok_nodes() * 2))
        for r in rows[1:]:
            self.assertEqual(r[2:], [self.kill_name, "0"], r)

        # The processes really ended on the hosts that worked, and only there.
        for n, pids in before.items():
            for pid in pids:
                if n.startswith("ok"):
                    self.assertTrue(e2e.wait_gone(pid), (n, pid))
                else:
                    self.assertTrue(e2e.alive(pid), (n, pid))
        # The changed certificate was not accepted in place of the pinned one.
        with open(os.path.join(self.home, ".config", "lwmi", "known_hosts")) as f:
            self.assertEqual(sum(1 for l in f if l.startswith(self.node("changed") + " ")), 1)

    # -- results tagged with their host ---------------------------------------------------------

    def test_query_table_has_a_node_column(self):
        nodes = self.ok_nodes()
        rc, out, err = self.lwmic(",".join(nodes), "query",
                                  "SELECT Handle,Name FROM Win32_Process WHERE Name='%s'"
                                  % self.query_name)
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["Node", "Handle", "Name"])
        got = sorted((l.split()[0], l.split()[2]) for l in lines[1:])
        self.assertEqual(got, sorted((n, self.query_name) for n in nodes))
        self.assertIn("lwmic: 3 host(s): 3 ok, 0 failed, 0 unreachable, 0 refused, 0 timed out",
                      err)

    def test_json_server_is_the_node_and_no_progress_in_a_pipe(self):
        nodes = self.ok_nodes()[:2]
        rc, out, err = self.lwmic(",".join(nodes), "--format", "json", "process", "where",
                                  "name='%s'" % self.query_name, "get", "Name,ProcessId")
        self.assertEqual(rc, 0, err)
        rows = [json.loads(l) for l in out.splitlines()]
        self.assertEqual(sorted(r["__SERVER"] for r in rows), sorted(nodes))
        for r in rows:
            self.assertEqual(r["Name"], self.query_name)
        self.assertNotIn("hosts done", err)
        self.assertNotIn("\r", err)

    def test_get_and_list_fan_out(self):
        nodes = self.ok_nodes()
        rc, out, err = self.lwmic(",".join(nodes), "--format", "csv", "get",
                                  'Win32_Process.Handle="1"', "--properties", "ProcessId,Name")
        self.assertEqual(rc, 0, err)
        rows = sorted(out.splitlines()[1:])
        self.assertEqual(rows, sorted("%s,1,lwmid" % n for n in nodes))
        rc, out, err = self.lwmic(",".join(nodes[:2]), "--format", "csv", "list",
                                  "Win32_Process", "--properties", "ProcessId,Name")
        self.assertEqual(rc, 0, err)
        rows = [l.split(",") for l in out.splitlines()[1:]]
        # Each host is a pid namespace: its own PID 1 (lwmid) and its own query process.
        for n in nodes[:2]:
            self.assertIn([n, "1", "lwmid"], rows)
            self.assertEqual(sum(1 for r in rows if r[0] == n and r[2] == self.query_name), 1)
        self.assertEqual({r[0] for r in rows}, set(nodes[:2]))

    def test_dry_run_ends_nothing(self):
        nodes = self.ok_nodes()[:2]
        before = {n: self.hosts[n].targets(self.query_name) for n in ("ok1", "ok2")}
        rc, out, err = self.lwmic(",".join(nodes), "--dry-run", "--format", "csv", "process",
                                  "where", "name='%s'" % self.query_name, "call", "terminate")
        self.assertEqual(rc, 0, err)
        rows = [l.split(",") for l in out.splitlines()]
        self.assertEqual(rows[0], ["Node", "Handle", "Name", "CommandLine", "Expected"])
        self.assertEqual(sorted(r[0] for r in rows[1:]), sorted(nodes))
        # Each host answered what Terminate would return (lwmi_WhatIf), doing nothing.
        self.assertEqual([r[-1] for r in rows[1:]], ["would end"] * len(nodes), out)
        self.assertIn("--dry-run: would call Terminate on 2 process(es); nothing was done", err)
        for pids in before.values():
            for pid in pids:
                self.assertTrue(e2e.alive(pid))

    def test_liblwmi_example_terminates_on_several_hosts(self):
        """examples/fanout_terminate.cpp: lwmi::run_fanout ending a program started in two
        hosts' namespaces, the refusing host reported by name."""
        prog = os.path.join(os.environ.get("LWMI_BUILD_DIR", ""), "examples", "fanout_terminate")
        if not os.path.exists(prog):
            self.skipTest("examples not built")
        name = "fx" + self.tag
        exe = e2e.sleep_copy(self.bindir, name)
        started = []
        for n in ("ok2", "ok3"):
            p = subprocess.Popen(["nsenter", "--target", str(self.hosts[n].pid), "--pid",
                                  "--mount", "--", *self.alice.prefix(), exe, "1000"],
                                 stdin=subprocess.DEVNULL)
            self.addCleanup(lambda p=p: (p.kill(), p.wait()))
            started.append(p)
        e2e.wait_for(lambda: subprocess.run(["pgrep", "-c", "-x", name], capture_output=True)
                     .stdout.strip() == b"2", 10, "the programs to start")
        nodes = [self.node("ok2"), self.node("ok3"), self.node("refusing")]
        env = dict(os.environ, HOME=self.home, LWMI_PASSWORD=self.alice.password)
        p = subprocess.run([prog, ",".join(nodes), self.alice.name, name], capture_output=True,
                           stdin=subprocess.DEVNULL, env=env, timeout=60)
        out = p.stdout.decode()
        self.assertEqual(p.returncode, 4, out + p.stderr.decode())
        self.assertIn("%s: 1 ended, 0 not" % self.node("ok2"), out)
        self.assertIn("%s: 1 ended, 0 not" % self.node("ok3"), out)
        self.assertRegex(out, r"%s: refused: WBEM_E_ACCESS_DENIED" % re.escape(self.node("refusing")))
        for sp in started:
            # nsenter passes on its child's end: killed by SIGKILL.
            self.assertEqual(sp.wait(timeout=10), -9)

    # -- the exit status is the most severe outcome ---------------------------------------------

    def test_exit_status_wbem_error_on_one_host(self):
        """Hosts that answer with WBEM_E_NOT_FOUND: exit 3, each named."""
        nodes = self.ok_nodes()[:2]
        rc, out, err = self.lwmic(",".join(nodes), "get", 'Win32_Process.Handle="999999"')
        self.assertEqual(rc, 3, err)
        for n in nodes:
            self.assertRegex(err, r"lwmic: %s: failed: WBEM_E_NOT_FOUND" % re.escape(n))
        self.assertIn("2 host(s): 0 ok, 2 failed", err)

    def test_exit_status_non_zero_return_value(self):
        """Terminate on each host's PID 1 (lwmid, protected): ReturnValue non-zero, exit 1."""
        nodes = self.ok_nodes()[:2]
        rc, out, err = self.lwmic(",".join(nodes), "--format", "csv", "call",
                                  'Win32_Process.Handle="1"', "Terminate")
        self.assertEqual(rc, 1, err)
        rows = [l.split(",") for l in out.splitlines()]
        self.assertEqual(rows[0], ["Node", "ReturnValue"])
        self.assertEqual(sorted(r[0] for r in rows[1:]), sorted(nodes))
        for r in rows[1:]:
            self.assertIn(r[1], ("2", "3"))
        self.assertIn("2 host(s): 2 ok, 0 failed, 0 unreachable, 0 refused, 0 timed out; "
                      "0 call(s) returned 0, 2 returned non-zero", err)
        for d in (self.hosts["ok1"], self.hosts["ok2"]):
            self.assertTrue(e2e.alive(d.pid))

    def test_watch_on_several_hosts(self):
        """watch on two hosts and a refusing one: a creation event from each host as the program
        starts, tagged with its host. (These two lwmid run in the initial pid namespace: the
        kernel's process connector serves listeners only there, so the namespaced hosts above
        cannot deliver events; both hosts here see the same process.)"""
        name = "fw" + self.tag
        exe = e2e.sleep_copy(self.bindir, name)
        good = lwmid.config_text(self.remote_group, self.admin_group, self.pam_service)
        daemons = []
        for _ in range(2):
            d = lwmid.start_daemon(self, self.work, good, https="127.0.0.1:0")
            daemons.append(d)
        nodes = [d.endpoint("https").split("//", 1)[1].split("/", 1)[0] for d in daemons]
        nodes.append(self.node("refusing"))
        errf = tempfile.TemporaryFile(dir=self.work)
        outf = tempfile.TemporaryFile(dir=self.work)
        self.addCleanup(errf.close)
        self.addCleanup(outf.close)
        env = dict(os.environ, HOME=self.home)
        watcher = subprocess.Popen(
            [e2e.LWMIC, "--node", ",".join(nodes), "--user", self.alice.name, "--password-file",
             self.pw_file, "--format", "json", "watch",
             "SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA "
             "'Win32_Process' AND TargetInstance.Name = '%s'" % name,
             "--count", "2", "--timeout", "30"],
            stdin=subprocess.DEVNULL, stdout=outf, stderr=errf, env=env)
        self.addCleanup(lambda: (watcher.kill(), watcher.wait()))

        def err_text():
            errf.seek(0)
            return errf.read().decode()
        e2e.wait_for(lambda: "watching 3 host(s)" in err_text() or watcher.poll() is not None,
                     30, "lwmic watch to subscribe")
        self.assertIsNone(watcher.poll(), err_text())
        # The user's ids set before the exec: the creation event is the program's own exec.
        prog = subprocess.Popen([exe, "1000"], stdin=subprocess.DEVNULL, user=self.alice.uid,
                                group=self.alice.gid, extra_groups=[])
        self.addCleanup(lambda: (prog.kill(), prog.wait()))
        self.assertEqual(watcher.wait(timeout=30), 4, err_text())  # the refusing host
        err = err_text()
        outf.seek(0)
        events = [json.loads(l) for l in outf.read().decode().splitlines()]
        self.assertEqual(sorted(e["__SERVER"] for e in events), sorted(nodes[:2]), err)
        for e in events:
            self.assertEqual(e["TargetInstance"]["Name"], name)
            self.assertEqual(e["TargetInstance"]["ProcessId"], prog.pid)
        self.assertRegex(err, r"lwmic: %s: refused: " % re.escape(self.node("refusing")))
        self.assertIn("lwmic: 3 host(s): 2 ok, 0 failed, 0 unreachable, 1 refused, 0 timed out; "
                      "2 event(s)", err)
        self.assertIsNone(prog.poll(), "no --terminate: the program runs on")

    # -- host lists -----------------------------------------------------------------------------

    def test_host_file_errors_name_file_and_line(self):
        bad = os.path.join(self.work, "bad-hosts.txt")
        with open(bad, "w") as f:
            f.write("# fleet\n%s\nweb1:99999\n" % self.node("ok1"))
        rc, out, err = self.lwmic("@" + bad, "query", "SELECT Handle FROM Win32_Process")
        self.assertEqual(rc, 2, err)
        self.assertIn("lwmic: error: %s:3: node 'web1:99999': port '99999' is not 1-65535" % bad,
                      err)
        rc, out, err = self.lwmic("%s,%s" % (self.node("ok1"), self.node("ok1")), "query",
                                  "SELECT Handle FROM Win32_Process")
        self.assertEqual(rc, 2, err)
        self.assertIn("is listed twice", err)

    def test_bad_query_is_reported_once_not_per_host(self):
        rc, out, err = self.lwmic(",".join(self.ok_nodes()), "query",
                                  "SELECT Handle FROM Win32_Process WHERE")
        self.assertEqual(rc, 3, err)
        self.assertEqual(err.count("WBEM_E_"), 1, err)
        self.assertNotIn("host(s)", err)

    # -- on a terminal --------------------------------------------------------------------------

    def test_terminal_password_asked_once_and_progress_line(self):
        """With stdin and stderr on a terminal: one password prompt for every host, and a
        progress line (stdout is a pipe, and still gets only the table)."""
        nodes = self.ok_nodes()
        master, slave = pty.openpty()
        env = dict(os.environ, HOME=self.home)
        env.pop("LWMI_PASSWORD", None)
        p = subprocess.Popen([e2e.LWMIC, "--node", ",".join(nodes), "--user", self.alice.name,
                              "query", "SELECT Name FROM Win32_Process WHERE Name='%s'"
                              % self.query_name],
                             stdin=slave, stdout=subprocess.PIPE, stderr=slave, env=env)
        os.close(slave)
        seen = b""
        sent = False
        end = time.monotonic() + 60
        while time.monotonic() < end:
            r, _, _ = select.select([master], [], [], 0.5)
            if r:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                seen += chunk
            if not sent and b"host(s): " in seen:  # the whole prompt
                os.write(master, (self.alice.password + "\n").encode())
                sent = True
            if p.poll() is not None and not r:
                break
        os.close(master)
        text = seen.decode("utf-8", "replace")
        try:
            out = p.communicate(timeout=30)[0].decode()
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            self.fail("lwmic did not end; its terminal showed: %r" % text)
        self.assertEqual(p.returncode, 0, text)
        self.assertEqual(text.count("Password for"), 1, text)
        self.assertIn("Password for %s@3 host(s):" % self.alice.name, text)
        self.assertIn("3/3 hosts done", text)
        self.assertNotIn("hosts done", out)
        self.assertEqual(len(out.splitlines()), 4, out)


class SingleHostExitStatusTest(unittest.TestCase):
    """lwmic's exit status for one host follows the kind of its failure, never a message's
    wording: a connection failure is 4 (needs no daemon)."""

    def setUp(self):
        self.home = tempfile.mkdtemp(prefix="lwmi-exit-")
        self.addCleanup(shutil.rmtree, self.home, True)

    def lwmic(self, *args):
        return e2e.run_lwmic(*args, env={"HOME": self.home}, timeout=60)

    def test_unreachable_host_exits_4(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]  # closed again when the block ends: refused
        rc, out, err = self.lwmic("--node", "127.0.0.1:%d" % port, "list", "Win32_Process")
        self.assertEqual(rc, 4, err)
        self.assertIn("cannot reach 127.0.0.1:%d: Connection refused" % port, err)
        self.assertEqual(out, "")

    def test_host_that_never_answers_exits_4(self):
        silent = socket.socket()
        self.addCleanup(silent.close)
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel accepts; nobody answers
        port = silent.getsockname()[1]
        rc, out, err = self.lwmic("--node", "http://127.0.0.1:%d/wsman" % port, "--timeout", "1",
                                  "list", "Win32_Process")
        self.assertEqual(rc, 4, err)
        self.assertIn("no answer from 127.0.0.1:%d within 1 s (operation timeout)" % port, err)


if __name__ == "__main__":
    unittest.main()
