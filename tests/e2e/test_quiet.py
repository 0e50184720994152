"""lwmic quiet by default (issue: wmic and CIM habits, item "quiet by default"): in embedded mode
the audit lines go where [audit] says and the caller hears at most one short note per run about
where they went; event rows show the TargetInstance's properties and the host they came from.
Each command is typed as a Windows admin types it, with the quoting a bash user needs. Real
processes, started under a unique name (so no other program named like them is touched).
"""
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import unittest

import lwmi_e2e as e2e
from lwmi_e2e import EXIT_OK, run_lwmic

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
        self.dir = tempfile.mkdtemp(prefix="lwmi-quiet-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        os.chmod(self.dir, 0o755)
        self.name = "quiet-%s" % secrets.token_hex(3)
        self.exe = os.path.join(self.dir, self.name)
        shutil.copy2("/bin/sleep", self.exe)
        os.chmod(self.exe, 0o755)

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


if __name__ == "__main__":
    unittest.main()
