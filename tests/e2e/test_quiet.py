"""lwmic quiet by default (issue: wmic and CIM habits, item "quiet by default"): in embedded mode
the audit lines go where [audit] says and the caller hears at most one short note per run about
where they went; event rows show the TargetInstance's properties and the host they came from.
Each command is typed as a Windows admin types it, with the quoting a bash user needs. Real
processes, started under a unique name (so no other program named like them is touched).
"""
import json
import os
import re
import secrets
import select
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import lwmi_e2e as e2e  # noqa: E402
from lwmi_e2e import lwmid  # noqa: E402
from lwmi_e2e import EXIT_OK, run_lwmic  # noqa: E402

JOURNAL_SOCKET = "/run/systemd/journal/socket"


def setUpModule():
    if not os.access(e2e.LWMIC, os.X_OK):
        raise unittest.SkipTest("lwmic not built at %s (set LWMIC)" % e2e.LWMIC)
    if os.geteuid() != 0:
        raise unittest.SkipTest("these tests make a temporary user: run them as root")


class EmbeddedAuditNoticeTest(unittest.TestCase):
    """`lwmic --embedded call "SELECT … WHERE Name='x'" Terminate` on several processes: one
    short note at most, never the audit line itself on stderr, and the lines whole where the
    config sends them."""

    def setUp(self):
        self.dir = e2e.work_dir(self, "lwmi-quiet-")
        self.name = "quiet-%s" % secrets.token_hex(3)
        self.exe = e2e.sleep_copy(self.dir, self.name)

    def start(self, n, user=None):
        return [e2e.start_process(self, [self.exe, "60"], user=user, exe=self.exe).pid
                for _ in range(n)]

    def config(self, text):
        path = os.path.join(self.dir, "lwmi-%s.conf" % secrets.token_hex(3))
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o644)
        return path

    def terminate_all(self, conf, user=None, lwmic=None):
        # lwmic --embedded --config FILE call "SELECT * FROM Win32_Process WHERE Name='x'" Terminate
        return run_lwmic("--embedded", "--config", conf, "call",
                         "SELECT * FROM Win32_Process WHERE Name='%s'" % self.name, "Terminate",
                         user=user, lwmic=lwmic)

    def assert_all_ended(self, pids, out, err):
        for pid in pids:
            self.assertRegex(out, r"(?m)^%d\s+%s\s+0\s*$" % (pid, re.escape(self.name)), err)
        self.assertIn("lwmic: Terminate: %d matched, %d returned 0" % (len(pids), len(pids)), err)

    def audit_notes(self, err):
        return [l for l in err.splitlines() if "audit" in l]

    def test_a_file_the_caller_cannot_write_is_said_once(self):
        user = e2e.create_user(self)
        lwmic = e2e.copy_lwmic_for_others(self)
        closed = os.path.join(self.dir, "root-only")
        os.mkdir(closed, 0o700)
        audit = os.path.join(closed, "audit.log")
        conf = self.config('[audit]\njournal = false\nfile = "%s"\n' % audit)
        pids = self.start(3, user=user)
        rc, out, err = self.terminate_all(conf, user=user, lwmic=lwmic)
        self.assertEqual(rc, EXIT_OK, err)
        self.assert_all_ended(pids, out, err)
        notes = self.audit_notes(err)
        self.assertEqual(len(notes), 1, err)
        self.assertRegex(notes[0], r"^lwmic: note: (process \d+: )?audit records of this run are "
                                   r"not kept: %s: Permission denied$" % re.escape(audit))
        self.assertNotIn("time=", err)  # the audit line itself is not on stderr
        self.assertFalse(os.path.exists(audit))

    def test_a_file_the_caller_can_write_gets_every_line_whole_and_nothing_is_said(self):
        for who in ("root", "user"):
            with self.subTest(who=who):
                user = e2e.create_user(self) if who == "user" else None
                lwmic = e2e.copy_lwmic_for_others(self) if user else None
                audit = os.path.join(self.dir, "audit-%s.log" % who)
                if user:
                    with open(audit, "w"):
                        pass
                    os.chown(audit, user.uid, user.gid)
                conf = self.config('[audit]\njournal = false\nfile = "%s"\n' % audit)
                pids = self.start(3, user=user)
                rc, out, err = self.terminate_all(conf, user=user, lwmic=lwmic)
                self.assertEqual(rc, EXIT_OK, err)
                self.assert_all_ended(pids, out, err)
                self.assertEqual(self.audit_notes(err), [], err)
                with open(audit) as f:
                    lines = f.read().splitlines()
                self.assertEqual(len(lines), 3, lines)
                for pid, line in zip(sorted(pids), sorted(
                        lines, key=lambda l: int(re.search(r"target\.pid=(\d+)", l).group(1)))):
                    self.assertRegex(line, r"^time=\S+Z action=Terminate result=0 caller\.uid=%d "
                                           r".* mode=embedded .*target\.pid=%d .*target\.name=%s "
                                           % (user.uid if user else 0, pid, re.escape(self.name)))

    @unittest.skipIf(os.path.exists(JOURNAL_SOCKET), "a systemd journal runs here")
    def test_no_journal_and_no_file_is_said_once_as_root_and_as_a_user(self):
        for who in ("root", "user"):
            with self.subTest(who=who):
                user = e2e.create_user(self) if who == "user" else None
                lwmic = e2e.copy_lwmic_for_others(self) if user else None
                conf = self.config("[audit]\njournal = true\n")
                pids = self.start(3, user=user)
                rc, out, err = self.terminate_all(conf, user=user, lwmic=lwmic)
                self.assertEqual(rc, EXIT_OK, err)
                self.assert_all_ended(pids, out, err)
                notes = self.audit_notes(err)
                self.assertEqual(len(notes), 1, err)
                self.assertRegex(notes[0], r"^lwmic: note: (process \d+: )?audit records of this "
                                           r"run are not kept: no systemd journal is running and "
                                           r"no \[audit\] file is configured$")
                self.assertLess(len(notes[0]), 160)
                self.assertNotIn("time=", err)

    # Until src/cli/main.cc's open() leaves out its "no lwmid reachable" note when --embedded
    # was asked for (a hook): then this passes, and the marker goes.
    def test_embedded_asked_for_is_not_announced(self):
        # lwmic --embedded process where "name='x'" get Name,ProcessId   (as a user, not root)
        user = e2e.create_user(self)
        lwmic = e2e.copy_lwmic_for_others(self)
        pids = self.start(1, user=user)
        rc, out, err = run_lwmic("--embedded", "process", "where", "name='%s'" % self.name,
                                 "get", "Name,ProcessId", user=user, lwmic=lwmic)
        self.assertEqual(rc, EXIT_OK, err)
        self.assertRegex(out, r"(?m)^%s\s+%d\s*$" % (re.escape(self.name), pids[0]))
        self.assertEqual(err, "")


def watch_while_starting(test, argv, start, timeout=30, env=None):
    """Runs lwmic `argv` (a watch), calls start() once lwmic says it is watching (every host
    subscribed: no event of start() can be missed), and returns (rc, stdout, stderr)."""
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env)
    test.addCleanup(e2e.stop_process, p)
    err = b""
    deadline = time.monotonic() + timeout
    while b"lwmic: watching" not in err:
        left = deadline - time.monotonic()
        r, _, _ = select.select([p.stderr], [], [], max(left, 0))
        chunk = os.read(p.stderr.fileno(), 4096) if r else b""
        if not chunk:
            p.kill()
            out, rest = p.communicate()
            test.fail("lwmic did not start watching: %s" % (err + rest).decode())
        err += chunk
    start()
    out, rest = p.communicate(timeout=timeout)
    return p.returncode, out.decode(), (err + rest).decode()


class EventRowsTest(unittest.TestCase):
    """lwmic watch, typed as a Windows admin would: what an event's row shows."""

    def setUp(self):
        self.dir = e2e.work_dir(self, "lwmi-quiet-ev-")
        self.name = "qev-%s" % secrets.token_hex(3)
        self.exe = e2e.sleep_copy(self.dir, self.name)
        self.pids = []

    def start(self):
        self.pids.append(e2e.start_process(self, [self.exe, "60"], exe=self.exe).pid)

    def creation_query(self):
        return ("SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA "
                "'Win32_Process' AND TargetInstance.Name='%s'" % self.name)

    def test_one_host_events_name_their_host(self):
        # lwmic --embedded --format csv watch "SELECT * FROM Win32_ProcessStartTrace WHERE
        #   ProcessName='x'" --count 1   (csv and json: the event as it came, Node filled)
        q = "SELECT * FROM Win32_ProcessStartTrace WHERE ProcessName='%s'" % self.name
        rc, out, err = watch_while_starting(
            self, [e2e.LWMIC, "--embedded", "--format", "csv", "watch", q, "--count", "1"],
            self.start)
        self.assertEqual(rc, EXIT_OK, err)
        head, row = out.split("\r\n")[:2]
        self.assertEqual(head.split(",")[0], "Node")
        cells = dict(zip(head.split(","), row.split(",")))
        self.assertEqual(cells["Node"], e2e.host_name(), out)
        self.assertEqual(cells["ProcessID"], str(self.pids[0]), out)
        rc, out, err = watch_while_starting(
            self, [e2e.LWMIC, "--embedded", "--format", "json", "watch", self.creation_query(),
                   "--count", "1"], self.start)
        self.assertEqual(rc, EXIT_OK, err)
        ev = json.loads(out.splitlines()[0])
        self.assertEqual(ev["__SERVER"], e2e.host_name())
        self.assertEqual(ev["TargetInstance"]["ProcessId"], self.pids[1], "json stays nested")

    # Until lwmic's watch formats with cli::make_event_formatter (a hook in src/cli/main.cc):
    # then this passes, and the marker goes.
    def test_list_shows_the_target_instances_properties(self):
        # lwmic --embedded watch "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA
        #   'Win32_Process' AND TargetInstance.Name='x'" --count 1
        rc, out, err = watch_while_starting(
            self, [e2e.LWMIC, "--embedded", "watch", self.creation_query(), "--count", "1"],
            self.start)
        self.assertEqual(rc, EXIT_OK, err)
        lines = [l for l in out.splitlines() if l]
        self.assertEqual(lines[0], "__CLASS=__InstanceCreationEvent", out)
        self.assertRegex(lines[1], r"^TIME_CREATED=\d+$")
        self.assertEqual(lines[2:], ["TargetInstance.ProcessId=%d" % self.pids[0],
                                     "TargetInstance.Name=%s" % self.name,
                                     "TargetInstance.ParentProcessId=%d" % os.getpid(),
                                     "TargetInstance.CommandLine=%s 60" % self.exe], out)


class FanoutEventNodeTest(unittest.TestCase):
    """lwmic --node http://127.0.0.1:PORT,http://localhost:PORT watch …: one lwmid reached by
    two names, each event under the host it came from."""

    @classmethod
    def setUpClass(cls):
        lwmid.set_up_class(cls, "lwmi-quiet-fo-")
        tag = cls.tag
        group, = lwmid.make_groups(cls, "lwmiq-r-" + tag)
        cls.user = lwmid.make_users(cls, "lwmiq", tag, [("user", [group])])["user"]
        pam = "lwmi-q-" + tag
        lwmid.pam_service(cls, pam)
        cls.d = lwmid.start_daemon(cls, cls.work, lwmid.config_text(group, "lwmiq-a-" + tag, pam,
                                                                    allow_basic_over_http=True),
                                   http="127.0.0.1:0")
        cls.port = cls.d.endpoint("http").split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)[1]
        cls.pw_file = lwmid.password_file(cls, cls.work, cls.user.password)

    def test_each_event_has_its_node(self):
        d = tempfile.mkdtemp(prefix="lwmi-quiet-ev-")
        self.addCleanup(shutil.rmtree, d, True)
        os.chmod(d, 0o755)
        name = "qfo-%s" % secrets.token_hex(3)
        exe = os.path.join(d, name)
        shutil.copy2("/bin/sleep", exe)
        os.chmod(exe, 0o755)
        nodes = ["http://127.0.0.1:%s" % self.port, "http://localhost:%s" % self.port]
        pids = []
        # lwmic --node http://127.0.0.1:5985,http://localhost:5985 --user U --password-file F
        #   watch "SELECT * FROM Win32_ProcessStartTrace WHERE ProcessName='x'" --count 2
        # One process, seen by both "hosts": one event each.
        rc, out, err = watch_while_starting(
            self, [e2e.LWMIC, "--node", ",".join(nodes), "--user", self.user.name,
                   "--password-file", self.pw_file, "watch",
                   "SELECT * FROM Win32_ProcessStartTrace WHERE ProcessName='%s'" % name,
                   "--count", "2"],
            lambda: pids.append(e2e.start_process(self, [exe, "60"], exe=exe).pid))
        self.assertEqual(rc, EXIT_OK, err)
        blocks = [b.strip() for b in re.split(r"\n\s*\n", out) if b.strip()]
        self.assertEqual(len(blocks), 2, out)
        self.assertEqual(sorted(b.splitlines()[0] for b in blocks),
                         sorted("Node=" + n for n in nodes), out)
        for b in blocks:
            self.assertIn("ProcessID=%d" % pids[0], b.splitlines())


if __name__ == "__main__":
    unittest.main()
