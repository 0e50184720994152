"""lwmic typed as a Windows admin types wmic and PowerShell's CIM cmdlets (issue: wmic and CIM
habits): verbs and aliases in any case, Get-CimInstance's -Filter, a class name alone for
events. Each command is written with the quoting a bash user needs, and its output compared.
Real processes, started under a unique name.
"""
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
import unittest

import lwmi_e2e as e2e
from lwmi_e2e import EXIT_OK, run_lwmic


def setUpModule():
    if not os.access(e2e.LWMIC, os.X_OK):
        raise unittest.SkipTest("lwmic not built at %s (set LWMIC)" % e2e.LWMIC)


class HabitsTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="lwmi-habits-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.name = "habit-%s" % secrets.token_hex(3)
        self.exe = os.path.join(self.dir, self.name)
        shutil.copy2("/bin/sleep", self.exe)

    def start(self):
        p = subprocess.Popen([self.exe, "60"], stdin=subprocess.DEVNULL)
        self.addCleanup(lambda: (p.kill(), p.wait()))
        e2e.wait_for(lambda: e2e.proc_state(p.pid) == "S", 10, "the program to start")
        return p

    def test_verbs_and_aliases_in_any_case(self):
        p = self.start()
        outs = []
        for argv in (["PROCESS", "WHERE", "name='%s'" % self.name, "GET", "Name,ProcessId"],
                     ["Process", "where", "name='%s'" % self.name, "get", "Name,ProcessId"],
                     ["process", "where", "name='%s'" % self.name, "get", "Name,ProcessId"]):
            with self.subTest(argv=argv[:2]):
                rc, out, err = run_lwmic("/format:csv", *argv)
                self.assertEqual(rc, EXIT_OK, err)
                outs.append(out.split("\r\n", 1)[1] if out.startswith("Node") else out)
        self.assertEqual(len(set(outs)), 1, outs)
        self.assertIn(",%s,%d\r\n" % (self.name, p.pid), outs[0])
        rc, out, err = run_lwmic("--format", "csv", "LIST", "Win32_Process", "--filter",
                                 "Name='%s'" % self.name, "--properties", "Name,ProcessId")
        self.assertEqual(rc, EXIT_OK, err)
        self.assertIn("%s,%d" % (self.name, p.pid), out)

    def test_value_output_append_and_switches_without_meaning(self):
        # wmic process where "name='x'" get Name,ProcessId /value /output:FILE, then /append:FILE
        p = self.start()
        f = os.path.join(self.dir, "out.txt")
        rc, out, err = run_lwmic("process", "where", "name='%s'" % self.name, "get",
                                 "Name,ProcessId", "/value", "/output:" + f, "/trace:on")
        self.assertEqual(rc, EXIT_OK, err)
        self.assertEqual(out, "")
        self.assertIn("lwmic: note: /trace:on is accepted and has no effect here", err)
        with open(f, newline="") as fh:
            first = fh.read()
        self.assertEqual([l for l in first.splitlines() if l],
                         ["Name=%s" % self.name, "ProcessId=%d" % p.pid])
        rc, out, err = run_lwmic("/append:" + f, "/format:csv", "process", "where",
                                 "name='%s'" % self.name, "get", "ProcessId")
        self.assertEqual(rc, EXIT_OK, err)
        with open(f, newline="") as fh:
            both = fh.read()
        self.assertTrue(both.startswith(first))
        self.assertTrue(both.endswith(",%d\r\n" % p.pid), both)
        rc, out, err = run_lwmic("/output:CLIPBOARD", "process", "get", "Name")
        self.assertEqual(rc, 2)
        self.assertIn("no clipboard", err)

    def test_path_class_where(self):
        # wmic path Win32_Process where "name='x'" get ProcessId  (and call on it)
        p = self.start()
        rc, out, err = run_lwmic("/format:csv", "path", "win32_process", "where",
                                 "name='%s'" % self.name, "get", "ProcessId,Name")
        self.assertEqual(rc, EXIT_OK, err)
        self.assertTrue(out.endswith(",%d,%s\r\n" % (p.pid, self.name)), out)
        rc, out, err = run_lwmic("PATH", "LWMI_EventSource", "get", "Source")
        self.assertEqual(rc, EXIT_OK, err)
        self.assertIn("Source", out)
        rc, out, err = run_lwmic("path", "LWMI_EventSource", "delete")
        self.assertEqual(rc, 2)
        self.assertIn("calls the methods of Win32_Process", err)
        rc, out, err = run_lwmic("path", "Win32_Process", "where", "name='%s'" % self.name,
                                 "call", "terminate")
        self.assertEqual(rc, EXIT_OK, err)
        self.assertEqual(p.wait(timeout=10), -9)

    def test_a_method_on_every_result_of_a_query(self):
        # Invoke-CimMethod -Query "SELECT * FROM Win32_Process WHERE Name='x'" -MethodName Terminate
        a, b = self.start(), self.start()
        q = "SELECT * FROM Win32_Process WHERE Name = '%s'" % self.name
        rc, out, err = run_lwmic("--dry-run", "--format", "csv", "call", q, "Terminate",
                                 "Reason=1")
        self.assertEqual(rc, EXIT_OK, err)
        self.assertEqual(out.count("would end"), 2, out)
        self.assertIsNone(a.poll())
        rc, out, err = run_lwmic("--format", "csv", "call", q, "Terminate", "Reason=1")
        self.assertEqual(rc, EXIT_OK, err)
        self.assertIn("Terminate: 2 matched, 2 returned 0", err)
        self.assertEqual((a.wait(timeout=10), b.wait(timeout=10)), (-9, -9))
        c = self.start()
        rc, out, err = run_lwmic("delete", q)
        self.assertEqual(rc, EXIT_OK, err)
        self.assertEqual(c.wait(timeout=10), -9)
        rc, out, err = run_lwmic("call", "SELECT * FROM Win32_Process WHERE", "Terminate")
        self.assertEqual(rc, 3, err)
        self.assertIn("WBEM_E_INVALID_QUERY", err)

    def test_https_to_the_http_port_says_to_use_http(self):
        # wmic /node:host:5985 habit: lwmic tries HTTPS; lwmid's port 5985 is plain HTTP.
        if os.geteuid() != 0:
            self.skipTest("lwmid runs as root")
        import test_daemon as td
        if not os.access(td.LWMID, os.X_OK):
            self.skipTest("no lwmid")
        os.chmod(self.dir, 0o755)
        d = td.Daemon(self.dir, "[audit]\njournal = false\n", http="127.0.0.1:0")
        self.addCleanup(d.close)
        d.wait_ready(20)
        hostport = d.endpoint("http").split("//", 1)[1].split("/", 1)[0]
        rc, out, err = run_lwmic("--node", hostport, "--user", "nobody", "--password", "x",
                                 "list", "Win32_Process")
        self.assertEqual(rc, 4, err)
        self.assertIn("name it http://%s" % hostport, err)

    def test_list_filter_is_get_ciminstance_filter(self):
        # Get-CimInstance Win32_Process -Filter "Name='x'"  ->  lwmic list Win32_Process --filter
        p = self.start()
        rc, out, err = run_lwmic("--format", "json", "list", "Win32_Process", "--filter",
                                 "Name = '%s'" % self.name, "--properties", "ProcessId,Name")
        self.assertEqual(rc, EXIT_OK, err)
        rows = e2e.json_lines(out)
        self.assertEqual([(r["ProcessId"], r["Name"]) for r in rows], [(p.pid, self.name)])
        # A bad filter: the WBEM code, and a caret where the query goes wrong.
        rc, out, err = run_lwmic("list", "Win32_Process", "--filter", "Name =")
        self.assertEqual(rc, 3, err)
        self.assertIn("WBEM_E_INVALID_QUERY", err)
        self.assertIn("^", err)

    def test_watch_a_class_name_alone(self):
        # Register-CimIndicationEvent -ClassName Win32_ProcessStartTrace
        #   ->  lwmic watch Win32_ProcessStartTrace
        out = open(os.path.join(self.dir, "out"), "w+")
        err = open(os.path.join(self.dir, "err"), "w+")
        self.addCleanup(out.close)
        self.addCleanup(err.close)
        w = subprocess.Popen([e2e.LWMIC, "--embedded", "--format", "json", "watch",
                              "Win32_ProcessStartTrace", "--timeout", "20"],
                             stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        self.addCleanup(lambda: (w.kill(), w.wait()))

        def subscribed():
            err.seek(0)
            return "watching" in err.read()
        e2e.wait_for(subscribed, 20, "lwmic to subscribe")
        p = self.start()

        def seen():
            out.seek(0)
            return any(json.loads(l).get("ProcessID") == p.pid
                       for l in out.read().splitlines() if l.strip())
        e2e.wait_for(seen, 20, "the start trace of the program")
        out.seek(0)
        ev = [json.loads(l) for l in out.read().splitlines()
              if l.strip() and json.loads(l).get("ProcessID") == p.pid][0]
        self.assertEqual(ev["__CLASS"], "Win32_ProcessStartTrace")
        self.assertEqual(ev["ProcessName"], self.name)


if __name__ == "__main__":
    unittest.main()
