"""The seed's examples, as liblwmi programs (examples/), run against real processes."""
import os
import secrets
import shutil
import subprocess
import time
import unittest

import lwmi_e2e as e2e

BUILD = os.environ.get("LWMI_BUILD_DIR", os.path.join(os.path.dirname(__file__), "..", "..",
                                                      "build", "release"))


def example(name):
    return os.path.join(BUILD, "examples", name)


class ExamplesTest(unittest.TestCase):
    def setUp(self):
        self.dir = e2e.work_dir(self, "lwmi-examples-", mode=0o700)
        self.name = "Diagnose-%s.exe" % secrets.token_hex(3)
        self.prog = e2e.sleep_copy(self.dir, self.name)

    def start(self, path):
        p = subprocess.Popen([path, "30"], stdin=subprocess.DEVNULL)
        self.addCleanup(lambda: (p.kill(), p.wait()))
        e2e.wait_for(lambda: os.path.basename(os.readlink("/proc/%d/exe" % p.pid)) ==
                     os.path.basename(path), 10, "exec")
        return p

    def test_terminate_by_name(self):
        victims = [self.start(self.prog) for _ in range(3)]
        other = os.path.join(self.dir, "other-" + secrets.token_hex(3))
        shutil.copy2("/bin/sleep", other)
        bystander = self.start(other)
        r = subprocess.run([example("terminate_by_name"), self.name], capture_output=True,
                           stdin=subprocess.DEVNULL, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertEqual(r.stdout.decode().count("Successful completion"), 3, r.stdout.decode())
        for v in victims:
            self.assertEqual(v.wait(timeout=10), -9)
        self.assertIsNone(bystander.poll())

    def test_terminate_by_path(self):
        p = self.start(self.prog)
        r = subprocess.run([example("terminate_by_path"), str(p.pid), "5"], capture_output=True,
                           stdin=subprocess.DEVNULL, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertIn("ReturnValue 0", r.stdout.decode())
        self.assertEqual(p.wait(timeout=10), -9)
        r = subprocess.run([example("terminate_by_path"), str(p.pid)], capture_output=True,
                           stdin=subprocess.DEVNULL, timeout=30)
        self.assertEqual(r.returncode, 3)
        self.assertIn("WBEM_E_NOT_FOUND", r.stderr.decode())

    def test_watch_and_terminate(self):
        w = subprocess.Popen([example("watch_and_terminate"), self.name, "1"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        self.addCleanup(lambda: (w.kill(), w.wait()))
        self.assertIn(b"watching", w.stderr.readline())
        p = subprocess.Popen([self.prog, "30"], stdin=subprocess.DEVNULL)
        self.addCleanup(lambda: (p.kill(), p.wait()))
        self.assertEqual(p.wait(timeout=10), -9, "ended as it started")
        out, _ = w.communicate(timeout=10)
        self.assertEqual(w.returncode, 0)
        self.assertIn("terminated %d" % p.pid, out.decode())


if __name__ == "__main__":
    unittest.main()
