"""lwmic watch: the seed's temporary event consumer, which ends a forbidden program as it starts."""
import json
import os
import re
import secrets
import shutil
import subprocess
import time
import unittest

import lwmi_e2e as e2e
from lwmi_e2e import lwmid, wsman


class WatchTest(unittest.TestCase):
    def setUp(self):
        self.dir = e2e.work_dir(self, "lwmi-watch-", mode=0o700)
        self.name = "Download-%s.exe" % secrets.token_hex(3)
        self.prog = e2e.sleep_copy(self.dir, self.name)
        self.other = e2e.sleep_copy(self.dir, "allowed-" + secrets.token_hex(3))

    def start_watch(self, *args, condition=None, wql=None, connect=()):
        out, err = e2e.output_files(self, self.dir)
        condition = condition or "TargetInstance.Name = '%s'" % self.name
        wql = wql or ("SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA "
                      "'Win32_Process' AND %s" % condition)
        p = subprocess.Popen([e2e.LWMIC, *connect, "--format", "json", "watch", wql, *args],
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

    # These tests are of the user-space kill (the event, then Terminate): --no-guard, or the
    # kernel guard blocks the program first where the test's session is not exempt (a runner
    # in session 0). The guard has its own tests (test_exec_guard.py).
    def test_terminate_forbidden_program_as_it_starts(self):
        watcher, out, err = self.start_watch("--terminate", "--no-guard", "--count", "1",
                                             "--timeout", "20")
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

    def test_a_process_it_could_not_end_is_not_reported_as_terminated(self):
        # An unprivileged watcher: root's program is not its to end. It says so, and why.
        if os.geteuid() != 0:
            self.skipTest("needs root to run the watcher as another user")
        user = e2e.create_user(self)
        lwmic = e2e.copy_lwmic_for_others(self)
        os.chmod(self.dir, 0o755)
        err_path = os.path.join(self.dir, "err")
        err = open(err_path, "w+")
        self.addCleanup(err.close)
        wql = ("SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA "
               "'Win32_Process' AND TargetInstance.Name = '%s'" % self.name)
        w = subprocess.Popen(user.prefix() + [lwmic, "--embedded", "watch", wql, "--terminate",
                                              "--no-guard", "--count", "1", "--timeout", "20"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        self.addCleanup(lambda: (w.kill(), w.wait()))
        def subscribed():
            err.seek(0)
            return "watching" in err.read()
        e2e.wait_for(subscribed, 20, "lwmic to subscribe")
        forbidden = self.run_prog(self.prog)
        self.assertEqual(w.wait(timeout=20), 1, "a non-zero ReturnValue is exit status 1")
        self.assertIsNone(forbidden.poll(), "root's program was ended")
        err.seek(0)
        text = err.read()
        self.assertNotIn("terminated process %d" % forbidden.pid, text)
        self.assertIn("did not end process %d (%s): ReturnValue 2 (Access denied): "
                      % (forbidden.pid, self.name), text)
        self.assertIn("SeDebugPrivilege", text)

    def start_lwmid(self):
        lwmid.require_lwmid()
        sock = os.path.join(self.dir, "lwmid.sock")
        os.chmod(self.dir, 0o755)
        lwmid.start_daemon(self, self.dir, "", socket_path=sock, http="127.0.0.1:0",
                           https="127.0.0.1:0")
        return sock

    def check_start_trace_terminate(self, connect):
        # Win32_ProcessStartTrace names the process by ProcessID and ProcessCreationDate (its
        # start time): --terminate ends it by both, so a reused pid is never hit.
        wql = "SELECT * FROM Win32_ProcessStartTrace WHERE ProcessName = '%s'" % self.name
        watcher, out, err = self.start_watch("--terminate", "--no-guard", "--count", "1",
                                             "--timeout", "30",
                                             wql=wql, connect=connect)
        allowed = self.run_prog(self.other)
        forbidden = self.run_prog(self.prog)
        self.assertEqual(forbidden.wait(timeout=20), -9, "ended by SIGKILL as it started")
        self.assertEqual(watcher.wait(timeout=20), 0)
        self.assertIsNone(allowed.poll(), "a program of another name runs on")
        out.seek(0)
        events = [json.loads(line) for line in out.read().splitlines() if line.strip()]
        self.assertEqual(len(events), 1, events)
        self.assertEqual(events[0]["__CLASS"], "Win32_ProcessStartTrace")
        self.assertEqual(events[0]["ProcessID"], forbidden.pid)
        self.assertEqual(events[0]["ProcessName"], self.name)
        self.assertRegex(events[0]["ProcessCreationDate"] or "", r"^\d{14}\.\d{6}[+-]\d{3}$")
        err.seek(0)
        self.assertIn("terminated process %d (%s): ReturnValue 0" % (forbidden.pid, self.name),
                      err.read())

    def test_terminate_on_start_trace_embedded(self):
        self.check_start_trace_terminate(("--embedded",))

    def test_terminate_on_start_trace_through_lwmid(self):
        self.check_start_trace_terminate(("--socket", self.start_lwmid()))

    def test_terminate_refused_for_events_about_ended_processes(self):
        # Usage errors, found before subscribing: nothing is left to end.
        cases = [
            ("SELECT * FROM __InstanceDeletionEvent WHERE TargetInstance ISA 'Win32_Process' "
             "AND TargetInstance.Name = '%s'" % self.name,
             "--terminate cannot act on __InstanceDeletionEvent: it reports processes that "
             "have already ended"),
            ("SELECT * FROM Win32_ProcessStopTrace",
             "--terminate cannot act on Win32_ProcessStopTrace: it reports processes"),
            ("SELECT * FROM Win32_ProcessTrace",
             "--terminate cannot act on Win32_ProcessTrace: it also delivers "
             "Win32_ProcessStopTrace"),
            ("SELECT * FROM Win32_ProcessStartTrace GROUP WITHIN 5",
             "--terminate cannot act on GROUP WITHIN"),
        ]
        for wql, message in cases:
            with self.subTest(wql=wql):
                p = subprocess.run([e2e.LWMIC, "watch", wql, "--terminate", "--timeout", "5"],
                                   stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
                self.assertEqual(p.returncode, 2, p.stderr.decode())
                self.assertIn("lwmic: error: " + message, p.stderr.decode())
                self.assertNotIn("watching", p.stderr.decode(), "refused before subscribing")
        # A class that is not an event class stays a WBEM error, as without --terminate.
        p = subprocess.run([e2e.LWMIC, "watch", "SELECT * FROM LWMI_EventSource", "--terminate"],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 3)
        self.assertIn("WBEM_E_NOT_EVENT_CLASS (0x80041059)", p.stderr.decode())

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

    def test_proc_poll_source_and_its_statistics(self):
        # The /proc polling source (used when the netlink connector cannot be), chosen here by
        # LWMI_EVENT_SOURCE; --stats shows which source served and what it received.
        out, err = e2e.output_files(self, self.dir)
        wql = ("SELECT * FROM __InstanceCreationEvent WITHIN 0.2 WHERE TargetInstance ISA "
               "'Win32_Process' AND TargetInstance.Name = '%s'" % self.name)
        env = dict(os.environ, LWMI_EVENT_SOURCE="proc-poll")
        w = subprocess.Popen([e2e.LWMIC, "--format", "json", "watch", wql, "--count", "1",
                              "--timeout", "20", "--stats"],
                             stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env)
        self.addCleanup(lambda: (w.kill(), w.wait()))
        e2e.wait_for(lambda: (err.seek(0), "watching" in err.read())[1], 20, "lwmic watch")
        p = self.run_prog(self.prog)
        self.assertEqual(w.wait(timeout=20), 0)
        out.seek(0)
        events = [json.loads(line) for line in out.read().splitlines() if line.strip()]
        self.assertEqual(len(events), 1)
        self.assertEqual(events[0]["TargetInstance"]["ProcessId"], p.pid)
        err.seek(0)
        text = err.read()
        self.assertIn("Source=proc-poll", text)
        self.assertRegex(text, r"EventsReceived=[1-9]")

    @unittest.skipUnless(os.geteuid() == 0 and shutil.which("unshare"), "needs root and unshare")
    def test_in_a_child_pid_namespace_the_watch_falls_back_to_proc_polling(self):
        # The kernel's process connector silently ignores listeners outside the initial pid
        # namespace (a container): there lwmic must poll /proc rather than hear nothing.
        out, err = os.path.join(self.dir, "out"), os.path.join(self.dir, "err")
        wql = ("SELECT * FROM __InstanceCreationEvent WITHIN 0.2 WHERE TargetInstance ISA "
               "'Win32_Process' AND TargetInstance.Name = '%s'" % self.name)
        script = (
            '"$1" --embedded --format json watch "$2" --count 1 --timeout 20 --stats'
            ' >"$3" 2>"$4" & w=$!\n'
            'i=0; until grep -q watching "$4"; do i=$((i+1)); [ $i -gt 400 ] && exit 9;'
            ' sleep 0.05; done\n'
            '"$5" 30 & p=$!\n'
            'wait $w; rc=$?; echo "pid=$p rc=$rc"; kill $p\n')
        r = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "sh", "-c", script,
                            "sh", e2e.LWMIC, wql, out, err, self.prog],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        with open(err) as f:
            text = f.read()
        m = re.search(r"pid=(\d+) rc=(\d+)", r.stdout)
        self.assertIsNotNone(m, (r.stdout, r.stderr, text))
        self.assertEqual(m.group(2), "0", text)
        with open(out) as f:
            events = [json.loads(line) for line in f.read().splitlines() if line.strip()]
        self.assertEqual(len(events), 1, text)
        # The pid as the namespace knows it (small), not the host's.
        self.assertEqual(events[0]["TargetInstance"]["ProcessId"], int(m.group(1)))
        self.assertIn("Source=proc-poll", text)
        self.assertIn("initial user and pid namespaces", text)  # why not netlink
        self.assertIn("bpf: BPF process events and rules speak of the initial pid", text)  # why not bpf

    def test_stop_trace_exit_status_of_a_signal(self):
        # Win32_ProcessTrace: the start trace, then (once the watcher has shown it, so that the
        # process was seen running) the stop trace with 128 + SIGTERM.
        out, err = e2e.output_files(self, self.dir)
        # On the name too: a child that takes longer than the settle time to exec (a loaded
        # host) is first announced under its parent's name, then again at its exec.
        wql = ("SELECT * FROM Win32_ProcessTrace WHERE ParentProcessID = %d AND "
               "ProcessName = '%s'" % (os.getpid(), self.name))
        w = subprocess.Popen([e2e.LWMIC, "--format", "json", "watch", wql, "--count", "2",
                              "--timeout", "30", "--stats"],
                             stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        self.addCleanup(lambda: (w.kill(), w.wait()))
        e2e.wait_for(lambda: (err.seek(0), "watching" in err.read())[1], 20, "lwmic watch")
        p = self.run_prog(self.prog)

        def events():
            out.seek(0)
            return [json.loads(line) for line in out.read().splitlines() if line.strip()]
        e2e.wait_for(lambda: any(e["ProcessID"] == p.pid for e in events()), 20, "the start trace")
        p.terminate()
        p.wait(timeout=10)
        self.assertEqual(w.wait(timeout=30), 0)
        err.seek(0)
        evs = events()
        self.assertEqual(len(evs), 2, err.read())
        start, stop = evs
        self.assertEqual(start["__CLASS"], "Win32_ProcessStartTrace")
        self.assertEqual(start["ProcessName"], self.name)
        self.assertEqual(stop["__CLASS"], "Win32_ProcessStopTrace")
        self.assertEqual(stop["ProcessID"], p.pid)
        self.assertEqual(stop["ProcessName"], self.name)
        self.assertEqual(stop["ExitStatus"], 143, "128 + SIGTERM")

    def test_modification_needs_within(self):
        p = subprocess.run([e2e.LWMIC, "watch", "SELECT * FROM __InstanceModificationEvent "
                            "WHERE TargetInstance ISA 'Win32_Process'"],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 3)
        self.assertIn("WBEMESS_E_REGISTRATION_TOO_PRECISE (0x80042002)", p.stderr.decode())

    def test_event_sources_served_by_lwmid(self):
        # LWMI_EventSource is served by lwmid (its own engine's counters) like any class.
        sock = self.start_lwmid()
        r = subprocess.run([e2e.LWMIC, "--socket", sock, "--format", "json", "list",
                            "LWMI_EventSource"],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        rows = [json.loads(line) for line in r.stdout.decode().splitlines() if line.strip()]
        self.assertEqual(sorted(row["Source"] for row in rows), ["bpf", "netlink", "proc-poll"])
        for row in rows:
            for k in ("EventsReceived", "Overruns", "SequenceGaps", "Rescans",
                      "UncapturedProperties"):
                self.assertIsInstance(row[k], int, k)
        r = subprocess.run([e2e.LWMIC, "--socket", sock, "--format", "json", "query",
                            "SELECT * FROM LWMI_EventSource WHERE Source = 'netlink'"],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertEqual(json.loads(r.stdout.decode().splitlines()[0])["Source"], "netlink")

        # WS-Man Get by the class's own key (Source), through lwmic and as a raw envelope.
        def lwmic(*args):
            return subprocess.run([e2e.LWMIC, "--socket", sock, "--format", "json", *args],
                                  stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
        r = lwmic("get", 'LWMI_EventSource.Source="netlink"')
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        row = json.loads(r.stdout.decode().splitlines()[0])
        self.assertEqual(row["__CLASS"], "LWMI_EventSource")
        self.assertEqual(row["Source"], "netlink")
        self.assertIsInstance(row["EventsReceived"], int)
        r = lwmic("get", 'LWMI_EventSource.Source="fanotify"')
        self.assertEqual(r.returncode, 3)
        self.assertIn("WBEM_E_NOT_FOUND (0x80041002)", r.stderr.decode())
        r = lwmic("get", 'LWMI_EventSource.Handle="1"')
        self.assertEqual(r.returncode, 3)
        self.assertIn("WBEM_E_INVALID_OBJECT_PATH (0x8004103A): selector 'Handle' is not a key "
                      "of LWMI_EventSource (its key is Source)", r.stderr.decode())
        r = lwmic("delete", 'LWMI_EventSource.Source="netlink"')
        self.assertEqual(r.returncode, 3)
        self.assertIn("WBEM_E_PROVIDER_NOT_CAPABLE (0x80041024): LWMI_EventSource is read-only",
                      r.stderr.decode())
        r = lwmic("call", 'LWMI_EventSource.Source="netlink"', "Terminate")
        self.assertEqual(r.returncode, 3)
        self.assertIn("WBEM_E_INVALID_METHOD (0x8004102E)", r.stderr.decode())

        uri = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/LWMI_EventSource"
        get = wsman.fresh_id(wsman.capture("04-get.xml"))
        get = get.replace("http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_Process",
                          uri)

        def raw(selectors):
            body = re.sub(r"<wsman:SelectorSet>.*</wsman:SelectorSet>",
                          "<wsman:SelectorSet>%s</wsman:SelectorSet>" % "".join(
                              '<wsman:Selector Name="%s">%s</wsman:Selector>' % kv
                              for kv in selectors), get)
            status, _, data = wsman.post(wsman.UnixHTTPConnection(sock), body)
            return status, wsman.parse_envelope(data)
        status, root = raw([("Source", "proc-poll")])
        self.assertEqual(status, 200)
        self.assertIsNone(wsman.fault_of(root))
        self.assertEqual(wsman.property_of(root, "Source"), "proc-poll")
        for selectors, reason in [
                ([("Handle", "1")], "selector 'Handle' is not a key of LWMI_EventSource"),
                ([], "selector Source is required"),
                ([("Source", "netlink"), ("Extra", "x")], "selector 'Extra' is not a key")]:
            status, root = raw(selectors)
            self.assertEqual(status, 500)
            f = wsman.fault_of(root)
            self.assertTrue(f["subcode"].endswith(":InvalidSelectors"), f)
            self.assertEqual(f["wbem"], 0x8004103A)
            self.assertIn(reason, f["reason"])


if __name__ == "__main__":
    unittest.main()
