"""lwmic watch: the seed's temporary event consumer, which ends a forbidden program as it starts."""
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
import unittest

import lwmi_e2e as e2e


class WatchTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="lwmi-watch-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.name = "Download-%s.exe" % secrets.token_hex(3)
        self.prog = os.path.join(self.dir, self.name)
        shutil.copy2("/bin/sleep", self.prog)
        self.other = os.path.join(self.dir, "allowed-" + secrets.token_hex(3))
        shutil.copy2("/bin/sleep", self.other)

    def start_watch(self, *args, condition=None):
        out = open(os.path.join(self.dir, "out"), "w+")
        err = open(os.path.join(self.dir, "err"), "w+")
        self.addCleanup(out.close)
        self.addCleanup(err.close)
        condition = condition or "TargetInstance.Name = '%s'" % self.name
        wql = ("SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA "
               "'Win32_Process' AND %s" % condition)
        p = subprocess.Popen([e2e.LWMIC, "--format", "json", "watch", wql, *args],
                             stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        self.addCleanup(lambda: (p.kill(), p.wait()))
        # lwmic says when it is subscribed; no process started after that is missed.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            err.seek(0)
            if "watching" in err.read():
                break
            self.assertIsNone(p.poll(), "lwmic watch exited early")
            time.sleep(0.02)
        else:
            self.fail("lwmic watch did not subscribe within 20 s")
        return p, out, err

    def run_prog(self, path):
        p = subprocess.Popen([path, "30"], stdin=subprocess.DEVNULL)
        self.addCleanup(lambda: (p.kill(), p.wait()))
        return p

    def test_terminate_forbidden_program_as_it_starts(self):
        watcher, out, err = self.start_watch("--terminate", "--count", "1", "--timeout", "20")
        allowed = self.run_prog(self.other)
        forbidden = self.run_prog(self.prog)
        self.assertEqual(forbidden.wait(timeout=10), -9, "ended by SIGKILL as it started")
        self.assertEqual(watcher.wait(timeout=10), 0)
        self.assertIsNone(allowed.poll(), "a program of another name runs on")
        out.seek(0)
        events = [json.loads(line) for line in out.read().splitlines() if line.strip()]
        self.assertEqual(len(events), 1)
        self.assertEqual(events[0]["__CLASS"], "__InstanceCreationEvent")
        self.assertEqual(events[0]["TargetInstance"]["ProcessId"], forbidden.pid)
        self.assertEqual(events[0]["TargetInstance"]["Name"], self.name)
        err.seek(0)
        self.assertIn("terminated process %d" % forbidden.pid, err.read())

    def test_every_short_lived_start_is_seen(self):
        # WMI's WITHIN 1 polling misses processes that live less than a second; lwmi does not.
        # The filter is on the parent: a process gone before it could be read keeps the ids the
        # kernel events carry, while its Name may be NULL.
        watcher, out, err = self.start_watch(
            "--count", "5", "--timeout", "20",
            condition="TargetInstance.ParentProcessId = %d" % os.getpid())
        for _ in range(5):
            p = subprocess.Popen([self.prog, "0"], stdin=subprocess.DEVNULL)
            p.wait(timeout=10)
        self.assertEqual(watcher.wait(timeout=15), 0)
        out.seek(0)
        events = [json.loads(line) for line in out.read().splitlines() if line.strip()]
        self.assertEqual(len(events), 5, events)
        self.assertEqual(len({e["TargetInstance"]["ProcessId"] for e in events}), 5)

    def test_bad_event_query_is_a_located_error(self):
        p = subprocess.run([e2e.LWMIC, "watch", "SELECT * FROM Win32_Process"],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 3)
        self.assertIn("WBEM_E_NOT_EVENT_CLASS (0x80041059)", p.stderr.decode())
        self.assertIn("^", p.stderr.decode())


if __name__ == "__main__":
    unittest.main()
