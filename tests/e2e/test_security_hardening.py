"""A root daemon keeps its house (DESIGN decision 10), tried as a hostile local user would:
descriptors a created process could inherit, a restart blocked by them, Create from a sandbox
(user, mount or network namespace) and with dropped groups, lwmid ended by embedded lwmic or by
another lwmid, and the Name of another user's process reached through a private symlink.

Real lwmid, real users (tests/e2e/lwmi_e2e/security_env.py), real processes. Runs as root with
/usr/bin/python3.
"""
import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import lwmi_e2e as e2e  # noqa: E402
from lwmi_e2e import lwmid, security_env  # noqa: E402


def json_rows(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def open_fds(pid):
    return sorted(int(n) for n in os.listdir("/proc/%d/fd" % pid))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Hardening(security_env.SecurityTest):
    def created(self, out):
        """The ProcessId of a successful Create (lwmic --format json), killed at cleanup."""
        row = json_rows(out)[-1]
        self.assertEqual(row["ReturnValue"], 0, out)
        pid = row["ProcessId"]
        self.addCleanup(lambda: e2e.alive(pid) and os.kill(pid, 9))
        return pid

    def wait_exec(self, pid, prog):
        e2e.wait_for(lambda: os.path.exists("/proc/%d/exe" % pid) and
                     os.readlink("/proc/%d/exe" % pid) == prog, 10, "the created process")

    # -- 1. descriptors ------------------------------------------------------------------------

    def test_a_created_process_holds_only_0_to_2(self):
        """While other clients hold connections to every listener (Unix, HTTP, HTTPS), a process
        Created through the socket and through HTTPS gets exactly descriptors 0-2: no listener
        to accept on, no other client's connection to read credentials from."""
        env = self.env
        held = []
        for url in (env.http, env.https):
            host, port = url.split("//")[1].split("/")[0].rsplit(":", 1)
            s = socket.create_connection((host, int(port)))
            if url.startswith("https"):
                ctx = ssl.create_default_context()
                ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
                s = ctx.wrap_socket(s)
            held.append(s)
        u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        u.connect(env.socket)
        held.append(u)
        self.addCleanup(lambda: [s.close() for s in held])
        for via in ("unix", "https"):
            with self.subTest(via=via):
                prog, _ = env.program()
                run = env.lwmic_unix if via == "unix" else env.lwmic_https
                rc, out, err = run("alice", "--format", "json", "call", "Win32_Process",
                                   "Create", "CommandLine=%s 1000" % prog)
                self.assertEqual(rc, 0, err)
                pid = self.created(out)
                self.wait_exec(pid, prog)
                # The dynamic loader opens libraries just after the exec: wait for sleep to
                # sleep (an inherited descriptor would stay, and fail the test after 5 s).
                try:
                    e2e.wait_for(lambda: e2e.proc_state(pid) == "S" and open_fds(pid) == [0, 1, 2],
                                 5, "the created process to sleep with descriptors 0-2")
                except AssertionError:
                    pass
                self.assertEqual(open_fds(pid), [0, 1, 2],
                                 "descriptors of the created process: %s" %
                                 {n: os.readlink("/proc/%d/fd/%d" % (pid, n))
                                  for n in open_fds(pid)})
        self.assertNotIn("was not close-on-exec", env.d.log_text())

    def test_lwmid_restarts_on_its_ports_while_a_created_process_lives(self):
        """lwmid stopped while a process it created lives, then started again on the same socket
        and ports: it binds them (the created process holds none of them)."""
        env = self.env
        http, https = "127.0.0.1:%d" % free_port(), "127.0.0.1:%d" % free_port()
        sock = os.path.join(env.work, "restart-%s.sock" % secrets.token_hex(3))
        conf = env.conf_text(os.path.join(env.work, "audit-restart.log"))
        d = lwmid.start_daemon(self, env.work, conf, socket_path=sock, http=http, https=https)
        prog, _ = env.program()
        p = subprocess.run(env.users["alice"].prefix() + [
            env.lwmic, "--socket", sock, "--format", "json", "call", "Win32_Process", "Create",
            "CommandLine=%s 1000" % prog], stdin=subprocess.DEVNULL, capture_output=True,
            timeout=60, env=env._env("alice"))
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        pid = self.created(p.stdout.decode())
        self.wait_exec(pid, prog)
        self.assertEqual(d.stop(), 0, d.log_text())
        self.assertTrue(e2e.alive(pid), "the created process outlives lwmid")
        again = lwmid.Daemon(env.work, conf, socket_path=sock, http=http, https=https)
        self.addCleanup(again.close)
        endpoints = again.wait_ready(20)
        self.assertIn("http://%s/wsman" % http, endpoints)
        self.assertIn("https://%s/wsman" % https, endpoints)
        self.assertIn("unix:" + sock, endpoints)

    # -- 8. Create from a sandbox --------------------------------------------------------------

    def test_create_from_a_sandbox_is_refused(self):
        """alice's lwmic in a network, mount or user namespace of its own, on lwmid's socket:
        Create returns 2 (audited) and starts nothing; the same call outside succeeds."""
        if not shutil.which("unshare"):
            self.skipTest("no unshare(1)")
        env = self.env
        alice = env.users["alice"]
        sandboxes = {
            # root makes the namespace, then becomes alice inside it
            "network": ["unshare", "--net", "--"] + alice.prefix(),
            "mount": ["unshare", "--mount", "--"] + alice.prefix(),
            # alice makes it herself, unprivileged
            "user": alice.prefix() + ["unshare", "--user", "--map-root-user", "--"],
        }
        for kind, wrapper in sandboxes.items():
            with self.subTest(sandbox=kind):
                prog, name = env.program()
                p = subprocess.run(wrapper + [
                    env.lwmic, "--socket", env.socket, "--format", "json", "call",
                    "Win32_Process", "Create", "CommandLine=%s 1000" % prog],
                    stdin=subprocess.DEVNULL, capture_output=True, timeout=60,
                    env=env._env("alice"))
                err = p.stderr.decode()
                if p.returncode != 0 and "unshare failed" in err:
                    self.skipTest("unshare is not allowed here: " + err)
                self.assertEqual(p.returncode, 1, err)
                self.assertEqual(json_rows(p.stdout.decode())[-1]["ReturnValue"], 2)
                self.assertEqual(subprocess.run(["pgrep", "-x", name[:15]],
                                                capture_output=True).stdout, b"",
                                 "nothing was started")
                # (a "repeated=N" summary of an earlier test's lines may come at any time)
                lines = [l for l in env.audit.new() if "repeated" not in l]
                self.assertEqual([(l["action"], l["result"]) for l in lines], [("Create", "2")],
                                 lines)
                self.assertIn("sandbox", lines[0]["detail"])
        rc, out, err = env.lwmic_unix("alice", "--format", "json", "call", "Win32_Process",
                                      "Create", "CommandLine=%s 1000" % env.program()[0])
        self.assertEqual(rc, 0, err)
        self.created(out)

    def test_create_gives_no_group_the_callers_process_dropped(self):
        """alice's account is in the remote group; her lwmic runs with its supplementary groups
        cleared: the process lwmid creates for her has none either."""
        env = self.env
        alice = env.users["alice"]
        prog, _ = env.program()
        p = subprocess.run(
            ["setpriv", "--reuid=%d" % alice.uid, "--regid=%d" % alice.gid, "--clear-groups",
             "--", env.lwmic, "--socket", env.socket, "--format", "json", "call",
             "Win32_Process", "Create", "CommandLine=%s 1000" % prog],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=60, env=env._env("alice"))
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        pid = self.created(p.stdout.decode())
        self.wait_exec(pid, prog)
        self.assertEqual(e2e.proc_status(pid)["Groups"].split(), [], "no supplementary group")
        # With her groups (--init-groups), the created process has them.
        rc, out, err = env.lwmic_unix("alice", "--format", "json", "call", "Win32_Process",
                                      "Create", "CommandLine=%s 1000" % prog)
        self.assertEqual(rc, 0, err)
        pid = self.created(out)
        self.wait_exec(pid, prog)
        groups = {int(g) for g in e2e.proc_status(pid)["Groups"].split()}
        self.assertEqual(groups, set(os.getgrouplist(alice.name, alice.gid)))

    # -- 9. lwmid is protected in every mode ---------------------------------------------------

    def test_no_mode_ends_lwmid(self):
        """Embedded lwmic as root, by path and by `process where name='lwmid'`, and lwmid itself
        asked to end another lwmid: 3 (protected), every daemon lives."""
        env = self.env
        sock, _, other = env.extra_daemon(self, [])
        daemons = [env.d.proc.pid, other.proc.pid]
        for pid in daemons:
            with self.subTest(embedded=pid):
                rc, out, err = e2e.run_lwmic("--embedded", "--enable-privilege",
                                             "SeDebugPrivilege", "--format", "json", "call",
                                             "Win32_Process=%d" % pid, "Terminate")
                self.assertEqual((rc, json_rows(out)[-1]["ReturnValue"]), (1, 3), err)
        rc, out, err = e2e.run_lwmic("--embedded", "--enable-privilege", "SeDebugPrivilege",
                                     "--format", "json", "process", "where", "name='lwmid'",
                                     "call", "terminate")
        rows = json_rows(out)
        self.assertGreaterEqual(len(rows), 2, (out, err))
        self.assertEqual({r["ReturnValue"] for r in rows}, {3}, rows)
        # Through the first daemon, the second one: protected too.
        rc, out, err = env.lwmic_unix("root", "--enable-privilege", "SeDebugPrivilege",
                                      "--format", "json", "call",
                                      "Win32_Process=%d" % other.proc.pid, "Terminate")
        self.assertEqual((rc, json_rows(out)[-1]["ReturnValue"]), (1, 3), err)
        for pid in daemons:
            self.assertTrue(e2e.alive(pid), "lwmid %d lives" % pid)

    # -- 4. Name for the unprivileged ----------------------------------------------------------

    def test_name_of_another_users_process_reveals_no_hidden_target(self):
        """root starts a program through a symlink in a directory only root may enter: alice sees
        the name she could read herself (argv[0]), never the target's, in results and in WHERE,
        embedded and through lwmid alike; root sees the executable's name."""
        env = self.env
        private = os.path.join(env.work, "private-" + secrets.token_hex(3))
        os.mkdir(private, 0o700)
        secret = "topsecret-" + secrets.token_hex(3)
        exe = os.path.join(private, secret)
        shutil.copy2("/bin/sleep", exe)
        link = os.path.join(private, "innocent")
        os.symlink(exe, link)
        p = subprocess.Popen([link, "1000"], stdin=subprocess.DEVNULL)
        self.addCleanup(e2e.stop_process, p)
        e2e.wait_for(lambda: e2e.proc_state(p.pid) == "S", 10, "the program to start")
        path = "Win32_Process=%d" % p.pid
        alice = env.users["alice"]

        def as_alice(*args, embedded):
            if embedded:
                argv = alice.prefix() + [env.lwmic, "--embedded", *args]
            else:
                argv = alice.prefix() + [env.lwmic, "--socket", env.socket, *args]
            r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=60,
                               env=env._env("alice"))
            return r.returncode, r.stdout.decode(), r.stderr.decode()

        for embedded in (True, False):
            with self.subTest(embedded=embedded):
                rc, out, err = as_alice("--format", "json", "get", path, "--properties",
                                        "Name,Caption,Description,ExecutablePath",
                                        embedded=embedded)
                self.assertEqual(rc, 0, err)
                row = json_rows(out)[0]
                self.assertEqual((row["Name"], row["Caption"], row["Description"]),
                                 ("innocent",) * 3, row)
                self.assertIsNone(row["ExecutablePath"])
                self.assertNotIn(secret, out)
                rc, out, err = as_alice("--format", "json", "query",
                                        "SELECT ProcessId FROM Win32_Process WHERE Name = '%s'"
                                        % secret, embedded=embedded)
                self.assertEqual(rc, 0, err)
                self.assertEqual(json_rows(out), [], "a filter cannot probe the hidden name")
        rc, out, err = env.lwmic_unix("root", "--format", "json", "get", path, "--properties",
                                      "Name")
        self.assertEqual(rc, 0, err)
        self.assertEqual(json_rows(out)[0]["Name"], secret, "root reads the executable")

        # Event filters and traces: alice's watch by the hidden name hears nothing; by the name
        # she could read, it hears the start, named so.
        for embedded in (True, False):
            with self.subTest(events_embedded=embedded):
                mode = ["--embedded"] if embedded else ["--socket", env.socket]
                watches = {}
                for shown in (secret, "innocent"):
                    argv = alice.prefix() + [
                        env.lwmic, *mode, "--format", "json", "watch",
                        "SELECT * FROM Win32_ProcessStartTrace WHERE ProcessName = '%s'" % shown,
                        "--count", "1", "--timeout", "8"]
                    out = open(os.path.join(env.work, "w-" + secrets.token_hex(3)), "w+")
                    err = open(os.path.join(env.work, "w-" + secrets.token_hex(3)), "w+")
                    self.addCleanup(out.close)
                    self.addCleanup(err.close)
                    w = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                         env=env._env("alice"))
                    self.addCleanup(lambda w=w: (w.poll() is None and w.kill(), w.wait()))

                    def watching(w=w, err=err):
                        err.seek(0)
                        text = err.read()
                        self.assertIsNone(w.poll(), text)
                        return "watching" in text
                    e2e.wait_for(watching, 20, "alice's watch to start")
                    watches[shown] = (w, out)
                q = subprocess.Popen([link, "1000"], stdin=subprocess.DEVNULL)
                self.addCleanup(e2e.stop_process, q)
                for shown, (w, out) in watches.items():
                    self.assertEqual(w.wait(timeout=30), 0)
                    out.seek(0)
                    events = e2e.json_lines(out.read())
                    if shown == secret:
                        self.assertEqual(events, [], "a filter cannot probe the hidden name")
                    else:
                        self.assertEqual([(e["ProcessID"], e["ProcessName"]) for e in events],
                                         [(q.pid, "innocent")])


if __name__ == "__main__":
    unittest.main()
