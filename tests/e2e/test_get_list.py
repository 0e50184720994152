"""End-to-end tests of `lwmic get` and `lwmic list` against real processes these tests start.

Every value lwmic reports is compared with an independent reading taken by the test itself:
`ps`, and /proc parsed by hand (stat after the last ')', status, io, fd, exe, cmdline). The
processes are idle (sleeping) when read, and each reading is taken before and after lwmic and
must agree, so the expected values are exact.

Run as root (CI): some tests create a local user and run processes and lwmic as that user.
"""

import csv
import datetime
import io
import os
import re
import shutil
import subprocess
import time
import unittest

import lwmi_e2e as e2e
from lwmi_e2e import (ALL_PROPERTIES, CLK_TCK, EXIT_OK, EXIT_USAGE, EXIT_WBEM, NULL_BY_DESIGN,
                      PAGE_SIZE, PTRACE_PROPERTIES, PYTHON, UINT32_MAX, WBEM_E_INVALID_CLASS,
                      WBEM_E_INVALID_OBJECT_PATH, WBEM_E_INVALID_PROPERTY, WBEM_E_NOT_FOUND,
                      get_json, list_json, path_of, run_lwmic, start_process)

SLEEP = os.path.realpath(shutil.which("sleep") or "/usr/bin/sleep")
PYTHON_EXE = os.path.realpath(PYTHON)
MIB = 1024 * 1024
TICK_US = 1000000 // CLK_TCK
IS_ROOT = os.geteuid() == 0
CAN_NICE = e2e.has_cap(e2e.CAP_SYS_NICE)  # lower nice values, real-time policies
CAN_PTRACE = e2e.has_cap(e2e.CAP_SYS_PTRACE)  # read another user's exe, fd, io

# Allocates and touches N bytes, burns >= 0.3 s of CPU (nearly all in user mode: pure Python
# arithmetic between clock reads), then sleeps. One line, with no '"' or '\': Windows-style
# quoting then only wraps it in double quotes.
MEMHOG = ("import sys,time; n=int(sys.argv[1]); b=bytearray(n); b[::4096]=bytes([1])*(n//4096); "
          "t=time.process_time(); "
          "all(iter(lambda: sum(range(20000)) >= 0 and time.process_time()-t < 0.3, False)); "
          "print('ready',flush=True); time.sleep(1000)")
# Four extra threads blocked on an Event, then the main thread sleeps: 5 threads in all.
THREADS = ("import threading,time; e=threading.Event(); "
           "[threading.Thread(target=e.wait,daemon=True).start() for _ in range(4)]; "
           "print('ready',flush=True); time.sleep(1000)")
# Forks a child that exits at once and is never reaped (a zombie), prints its pid, sleeps.
ZOMBIE_PARENT = ("import os,time; p=os.fork(); p or os._exit(0); print(p,flush=True); "
                 "time.sleep(1000)")
IDLE = "import time; print('ready',flush=True); time.sleep(1000)"
IDLE_QUOTED = '"' + IDLE + '"'  # IDLE has a space and no '"' or '\\': just double-quoted


def setUpModule():
    if not os.access(e2e.LWMIC, os.X_OK):
        raise unittest.SkipTest("lwmic not built at %s (set LWMIC)" % e2e.LWMIC)


def reading(pid):
    """Everything the test expects of pid, read independently of lwmi (spec 1.3 rules).
    Properties the test can only know from how it started the process (CommandLine, Priority,
    ParentProcessId...) are checked by hand in the tests."""
    st = e2e.proc_stat(pid)
    status = e2e.proc_status(pid)
    pio = e2e.proc_io(pid)
    exe = os.readlink("/proc/%d/exe" % pid)
    if exe.endswith(" (deleted)"):
        exe = exe[:-len(" (deleted)")]
    name = os.path.basename(exe)
    commit_kb = e2e.status_kb(status, "VmData") + e2e.status_kb(status, "VmStk")
    session = e2e.audit_session(pid)
    per_tick = 10000000 // CLK_TCK  # 100-ns units per clock tick
    expected = {
        "Caption": name,
        "CreationClassName": "Win32_Process",
        "CSCreationClassName": "Win32_ComputerSystem",
        "CSName": e2e.host_name(),
        "Description": name,
        "ExecutablePath": exe,
        "Handle": str(pid),
        "HandleCount": e2e.fd_count(pid),
        "KernelModeTime": int(st[15]) * per_tick,
        "Name": name,
        "OSCreationClassName": "Win32_OperatingSystem",
        "OSName": e2e.os_name(),
        "PageFaults": min(int(st[10]) + int(st[12]), UINT32_MAX),
        "PageFileUsage": commit_kb,
        "ParentProcessId": int(st[4]),
        "PeakPageFileUsage": commit_kb,  # one lwmic run: the peak it has seen is the current value
        "PeakVirtualSize": e2e.status_kb(status, "VmPeak") * 1024,
        "PeakWorkingSetSize": e2e.status_kb(status, "VmHWM"),
        "PrivatePageCount": commit_kb * 1024,
        "ProcessId": pid,
        "ReadOperationCount": pio["syscr"],
        "ReadTransferCount": pio["rchar"],
        "SessionId": 0 if session == e2e.AUDIT_SID_UNSET else session,
        "ThreadCount": int(st[20]),
        "UserModeTime": int(st[14]) * per_tick,
        "VirtualSize": int(st[23]),
        "WindowsVersion": os.uname().release,
        "WriteOperationCount": pio["syscw"],
        "WriteTransferCount": pio["wchar"],
    }
    for p in NULL_BY_DESIGN:
        expected[p] = None
    return {
        "expected": expected,
        "ps": e2e.ps_fields(pid),
        "starttime": int(st[22]),
        "policy": int(st[41]),
        "tasks": sorted(os.listdir("/proc/%d/task" % pid)),
        "cmdline": e2e.proc_cmdline(pid),
        # WorkingSetSize: spec 1.3 names two sources; on kernels with per-CPU RSS counters
        # (6.2+) stat[24] is an approximation while status VmRSS (= statm, = ps) is summed.
        "stat_rss_bytes": int(st[24]) * PAGE_SIZE,
        "vmrss_bytes": e2e.status_kb(status, "VmRSS") * 1024,
    }


class LwmiTestCase(unittest.TestCase):
    maxDiff = None

    def stable_get(self, pid, properties=None, **kw):
        """`get` bracketed by two independent readings that must agree (the process is idle).
        Returns (instance, reading)."""
        for _ in range(5):
            before = reading(pid)
            rc, obj, err = get_json(pid, properties, **kw)
            after = reading(pid)
            if before == after:
                break
        else:
            self.fail("pid %d did not hold still between readings:\n%r\n%r" % (pid, before, after))
        self.assertEqual(rc, EXIT_OK, err)
        return obj, before

    def assert_wbem_error(self, rc, out, err, code):
        self.assertEqual(rc, EXIT_WBEM, "stdout=%r stderr=%r" % (out, err))
        self.assertTrue(err.startswith("lwmic: error: %s: " % code), err)
        self.assertEqual(out, "")

    def assert_same_instant(self, a, b):
        """Two CIM DATETIMEs for the same process's start: equal up to 1 us of boot-time jitter
        and with the same offset."""
        (ua, oa), (ub, ob) = e2e.parse_cim_datetime(a), e2e.parse_cim_datetime(b)
        self.assertLessEqual(abs(ua - ub), 1, (a, b))
        self.assertEqual(oa, ob, (a, b))

    def assert_creation_date(self, text, pid, started_after_us=None, started_before_us=None):
        """CreationDate = boot time + starttime/CLK_TCK (within one tick), as local time with
        the local offset in minutes."""
        micros, offset = e2e.parse_cim_datetime(text)
        ticks = int(e2e.proc_stat(pid)[22])
        expected = e2e.boot_epoch_us() + ticks * 1000000 // CLK_TCK
        self.assertLessEqual(abs(micros - expected), TICK_US,
                             "CreationDate %s is %d us from boot+starttime" %
                             (text, micros - expected))
        # The coarse /proc/stat btime agrees to the second.
        self.assertLessEqual(abs(micros - (e2e.btime() * 1000000 + ticks * 1000000 // CLK_TCK)),
                             1000000 + TICK_US)
        local = datetime.datetime.fromtimestamp(micros / 1e6).astimezone().utcoffset()
        self.assertEqual(offset, int(local.total_seconds()) // 60, text)
        if started_after_us is not None:
            self.assertGreaterEqual(micros, started_after_us - TICK_US)
        if started_before_us is not None:
            self.assertLessEqual(micros, started_before_us + TICK_US)


def now_us():
    return time.time_ns() // 1000


def token_starts(line):
    """Column offsets of the whitespace-separated tokens of a line."""
    return [m.start() for m in re.finditer(r"\S+", line)]


class GetPropertiesTest(LwmiTestCase):
    """Every property of one process against ps and /proc."""

    def check_all(self, obj, r):
        # Exactly the 45 properties of Win32_Process, plus __CLASS/__PATH/__SERVER.
        self.assertEqual(len(ALL_PROPERTIES), 45)
        self.assertEqual(sorted(k for k in obj if not k.startswith("__")), sorted(ALL_PROPERTIES))
        self.assertEqual(obj["__CLASS"], "Win32_Process")
        self.assertEqual(obj["__SERVER"], e2e.host_name())
        self.assertEqual(obj["__PATH"], '\\\\%s\\root\\cimv2:Win32_Process.Handle="%s"' %
                         (e2e.host_name(), obj["Handle"]))
        for prop, value in sorted(r["expected"].items()):
            with self.subTest(property=prop):
                self.assertEqual(obj[prop], value)
        # WorkingSetSize in bytes from either source the spec names (exactness: see
        # WorkingSetSizeTest).
        self.assertIn(obj["WorkingSetSize"], (r["stat_rss_bytes"], r["vmrss_bytes"]))
        self.assertEqual(obj["WorkingSetSize"] % PAGE_SIZE, 0)
        # Units, against ps (KiB) as a second independent source.
        ps = r["ps"]
        self.assertEqual(ps["pid"], obj["ProcessId"])
        self.assertEqual(ps["rss"] * 1024, r["vmrss_bytes"])
        self.assertEqual(obj["VirtualSize"], ps["vsz"] * 1024)
        self.assertEqual(obj["ThreadCount"], ps["nlwp"])
        self.assertEqual(obj["ThreadCount"], len(r["tasks"]))
        self.assertEqual(obj["ParentProcessId"], ps["ppid"])
        self.assertEqual(ps["args"], " ".join(r["cmdline"]))
        self.assertEqual(obj["PrivatePageCount"], obj["PageFileUsage"] * 1024)
        self.assertGreaterEqual(obj["PeakVirtualSize"], obj["VirtualSize"])
        self.assertGreaterEqual(obj["PeakWorkingSetSize"] * 1024, r["vmrss_bytes"])

    def test_sleep_process_every_property(self):
        t0 = now_us()
        p = start_process(self, ["sleep", "1000"], exe=SLEEP)
        t1 = now_us()
        obj, r = self.stable_get(p.pid)
        self.check_all(obj, r)
        # What the test knows from how it started the process.
        self.assertEqual(obj["ProcessId"], p.pid)
        self.assertEqual(obj["Handle"], str(p.pid))
        self.assertEqual(obj["Name"], "sleep")
        self.assertEqual(obj["Caption"], "sleep")
        self.assertEqual(obj["ExecutablePath"], SLEEP)
        self.assertEqual(obj["CommandLine"], "sleep 1000")
        self.assertEqual(obj["ParentProcessId"], os.getpid())
        self.assertEqual(obj["ThreadCount"], 1)
        self.assertEqual(obj["HandleCount"], 3)  # stdin, stdout, stderr on /dev/null
        self.assertEqual(r["ps"]["ni"], 0)
        self.assertEqual(obj["Priority"], 8)
        for prop in NULL_BY_DESIGN:
            self.assertIn(prop, obj)
            self.assertIsNone(obj[prop], prop)
        self.assert_creation_date(obj["CreationDate"], p.pid, t0, t1)

    def test_memory_process_every_property(self):
        size = 64 * MIB
        t0 = now_us()
        p = start_process(self, [PYTHON, "-c", MEMHOG, str(size)], ready_line=True)
        t1 = now_us()
        obj, r = self.stable_get(p.pid)
        self.check_all(obj, r)
        status = e2e.proc_status(p.pid)
        self.assertEqual(obj["Name"], os.path.basename(PYTHON_EXE))
        self.assertEqual(obj["ExecutablePath"], PYTHON_EXE)
        self.assertNotIn('"', MEMHOG)
        self.assertNotIn("\\", MEMHOG)
        self.assertEqual(obj["CommandLine"], '%s -c "%s" %d' % (PYTHON, MEMHOG, size))
        self.assertEqual(obj["ParentProcessId"], os.getpid())
        # Units: bytes for WorkingSetSize/VirtualSize/PeakVirtualSize/PrivatePageCount, KB for
        # PageFileUsage and PeakWorkingSetSize.
        self.assertGreaterEqual(obj["WorkingSetSize"], size)
        self.assertLess(obj["WorkingSetSize"], 4 * size)
        self.assertEqual(obj["VirtualSize"], e2e.status_kb(status, "VmSize") * 1024)
        self.assertGreaterEqual(obj["PageFileUsage"], size // 1024)
        self.assertLess(obj["PageFileUsage"], 4 * size // 1024)
        self.assertEqual(obj["PageFileUsage"],
                         e2e.status_kb(status, "VmData") + e2e.status_kb(status, "VmStk"))
        self.assertEqual(obj["PrivatePageCount"], obj["PageFileUsage"] * 1024)
        self.assertGreaterEqual(obj["PeakWorkingSetSize"], size // 1024)
        self.assertEqual(obj["PeakWorkingSetSize"], e2e.status_kb(status, "VmHWM"))
        self.assertEqual(obj["PeakVirtualSize"], e2e.status_kb(status, "VmPeak") * 1024)
        # >= 0.3 s of CPU, mostly user, in 100 ns units: ticks * 10^7 / CLK_TCK.
        self.assertGreaterEqual(obj["UserModeTime"] + obj["KernelModeTime"], 3000000 - 100000)
        self.assertGreaterEqual(obj["UserModeTime"], 2000000)
        self.assertLess(obj["UserModeTime"], 300000000)
        self.assertEqual(obj["UserModeTime"] % (10000000 // CLK_TCK), 0)
        self.assertEqual(obj["KernelModeTime"] % (10000000 // CLK_TCK), 0)
        self.assertEqual(obj["ThreadCount"], 1)
        self.assertEqual(obj["Priority"], 8)
        self.assert_creation_date(obj["CreationDate"], p.pid, t0, t1)

    def test_thread_count(self):
        p = start_process(self, [PYTHON, "-c", THREADS], ready_line=True)
        obj, r = self.stable_get(p.pid)
        self.check_all(obj, r)
        self.assertEqual(obj["ThreadCount"], 5)
        self.assertEqual(r["ps"]["nlwp"], 5)

    def test_command_line_windows_quoting(self):
        # argv element → expected Windows-style rendering (CommandLineToArgvW's inverse):
        #   'hello world' → "hello world"   'say "hi"' → "say \"hi\""   C:\dir\ → as is
        #   'a b\' → "a b\\"   '' → ""
        argv = [PYTHON, "-c", IDLE, "hello world", 'say "hi"', "C:\\dir\\", "a b\\", "", "plain"]
        expected = (PYTHON + " -c " + IDLE_QUOTED + ' "hello world" "say \\"hi\\""'
                    ' C:\\dir\\ "a b\\\\" "" plain')
        p = start_process(self, argv, ready_line=True)
        self.assertEqual(e2e.proc_cmdline(p.pid), argv)
        obj, r = self.stable_get(p.pid)
        self.check_all(obj, r)
        self.assertEqual(obj["CommandLine"], expected)
        self.assertEqual(obj["Name"], os.path.basename(PYTHON_EXE))

    def test_priority_from_nice(self):
        for nice, priority in ((0, 8), (10, 6), (19, 4), (-10, 10)):
            with self.subTest(nice=nice):
                if nice < 0 and not CAN_NICE:
                    self.skipTest("a negative nice needs CAP_SYS_NICE")
                p = start_process(self, ["nice", "-n", str(nice), "sleep", "1000"], exe=SLEEP)
                obj, r = self.stable_get(p.pid, ["ProcessId", "Name", "Priority"])
                self.assertEqual(r["ps"]["ni"], nice)
                self.assertEqual(obj["Name"], "sleep")
                self.assertEqual(obj["Priority"], priority)
                e2e.kill_and_reap(p)

    @unittest.skipUnless(shutil.which("chrt") and CAN_NICE, "needs chrt and CAP_SYS_NICE")
    def test_priority_from_scheduling_policy(self):
        # SCHED_IDLE (5) → Idle 4; SCHED_FIFO (1) and SCHED_RR (2) → Realtime 24.
        for args, policy, priority in ((["-i", "0"], 5, 4), (["-f", "1"], 1, 24),
                                       (["-r", "1"], 2, 24)):
            with self.subTest(chrt=args):
                p = start_process(self, ["chrt", *args, "sleep", "1000"], exe=SLEEP)
                obj, r = self.stable_get(p.pid, ["ProcessId", "Priority"])
                self.assertEqual(r["policy"], policy)
                self.assertEqual(obj["Priority"], priority)
                e2e.kill_and_reap(p)

    @unittest.skipUnless(IS_ROOT, "setting the audit loginuid needs CAP_AUDIT_CONTROL")
    def test_session_id_is_audit_session(self):
        try:
            with_session = start_process(self, ["sleep", "1000"], exe=SLEEP,
                                         preexec=e2e.write_loginuid(0))
            without = start_process(self, ["sleep", "1000"], exe=SLEEP,
                                    preexec=e2e.write_loginuid(e2e.AUDIT_SID_UNSET))
        except subprocess.SubprocessError as e:
            self.skipTest("cannot set the audit loginuid here: %s" % e)
        session = e2e.audit_session(with_session.pid)
        self.assertNotIn(session, (0, e2e.AUDIT_SID_UNSET))
        self.assertEqual(e2e.audit_session(without.pid), e2e.AUDIT_SID_UNSET)
        obj, _ = self.stable_get(with_session.pid, ["ProcessId", "SessionId"])
        self.assertEqual(obj["SessionId"], session)
        obj, _ = self.stable_get(without.pid, ["ProcessId", "SessionId"])
        self.assertEqual(obj["SessionId"], 0)

    def test_creation_date_follows_tz(self):
        try:
            import zoneinfo
        except ImportError:
            self.skipTest("no zoneinfo module")
        p = start_process(self, ["sleep", "1000"], exe=SLEEP)
        _, utc_obj, _ = get_json(p.pid, ["Handle", "CreationDate"], env={"TZ": "UTC"})
        utc_us, utc_offset = e2e.parse_cim_datetime(utc_obj["CreationDate"])
        self.assertEqual(utc_offset, 0)
        for tz in ("Asia/Kolkata", "America/St_Johns", "America/Los_Angeles"):
            with self.subTest(tz=tz):
                try:
                    zone = zoneinfo.ZoneInfo(tz)
                except zoneinfo.ZoneInfoNotFoundError:
                    self.skipTest("no tzdata for %s" % tz)
                rc, obj, err = get_json(p.pid, ["Handle", "CreationDate"], env={"TZ": tz})
                self.assertEqual(rc, EXIT_OK, err)
                micros, offset = e2e.parse_cim_datetime(obj["CreationDate"])
                when = datetime.datetime.fromtimestamp(micros / 1e6, tz=zone)
                self.assertEqual(offset, int(when.utcoffset().total_seconds()) // 60)
                self.assertLessEqual(abs(micros - utc_us), 2)  # same instant (boot-time jitter)
                self.assert_creation_date(utc_obj["CreationDate"], p.pid)

    def test_get_by_path_with_creation_date(self):
        p = start_process(self, ["sleep", "1000"], exe=SLEEP)
        _, obj, _ = get_json(p.pid, ["Handle", "CreationDate"], env={"TZ": "UTC"})
        micros, _ = e2e.parse_cim_datetime(obj["CreationDate"])

        def cim(us, offset):
            t = (datetime.datetime(1970, 1, 1) +
                 datetime.timedelta(microseconds=us + offset * 60000000))
            return "%s.%06d%s%03d" % (t.strftime("%Y%m%d%H%M%S"), t.microsecond,
                                      "+" if offset >= 0 else "-", abs(offset))

        # The same instant, written with another offset, names the same process.
        for cd in (obj["CreationDate"], cim(micros, 330), cim(micros, -420)):
            with self.subTest(creation_date=cd):
                rc, out, err = run_lwmic("--format", "json", "get", path_of(p.pid, cd),
                                         "--properties", "ProcessId")
                self.assertEqual(rc, EXIT_OK, err)
                self.assertEqual(e2e.json_lines(out)[0]["ProcessId"], p.pid)
        # One second off: a stale path (pid reused), not this process.
        rc, out, err = run_lwmic("get", path_of(p.pid, cim(micros + 1000000, 0)))
        self.assert_wbem_error(rc, out, err, WBEM_E_NOT_FOUND)

    def test_list_and_get_agree(self):
        p = start_process(self, ["sleep", "1000"], exe=SLEEP)
        got, _ = self.stable_get(p.pid)
        rc, objs, err = list_json()
        self.assertEqual(rc, EXIT_OK, err)
        mine = [o for o in objs if o["ProcessId"] == p.pid]
        self.assertEqual(len(mine), 1)
        listed = mine[0]
        # CreationDate may differ by 1 us between runs (see CreationDateStabilityTest).
        self.assert_same_instant(listed.pop("CreationDate"), got.pop("CreationDate"))
        self.assertEqual(listed, got)


class WorkingSetSizeTest(LwmiTestCase):
    """WorkingSetSize must be the process's resident set exactly: status VmRSS * 1024, which is
    also what ps and statm report."""

    # Regression: WorkingSetSize once came from stat field 24 (rss), an approximate per-CPU
    # counter on Linux 6.2+, ~100 KiB off; it now comes from statm, as VmRSS and ps do.
    def test_working_set_size_is_exact_resident_set(self):
        procs = [start_process(self, ["sleep", "1000"], exe=SLEEP),
                 start_process(self, [PYTHON, "-c", THREADS], ready_line=True),
                 start_process(self, [PYTHON, "-c", MEMHOG, str(64 * MIB)], ready_line=True)]
        for p in procs:
            obj, r = self.stable_get(p.pid, ["ProcessId", "WorkingSetSize", "PeakWorkingSetSize"])
            self.assertEqual(r["ps"]["rss"] * 1024, r["vmrss_bytes"])
            self.assertEqual(obj["WorkingSetSize"], r["vmrss_bytes"], "pid %d" % p.pid)
            self.assertLessEqual(obj["WorkingSetSize"], obj["PeakWorkingSetSize"] * 1024)


class CreationDateStabilityTest(LwmiTestCase):
    """CreationDate is qualified Fixed: one process must show the same value in every query
    (WQL compares DATETIME strings character by character; event polling compares instances)."""

    # Regression: the boot epoch was recomputed to the microsecond by every run, so
    # CreationDate could differ by 1 us between runs; it is now rounded to the clock tick.
    def test_creation_date_is_the_same_in_every_run(self):
        p = start_process(self, ["sleep", "1000"], exe=SLEEP)
        seen = set()
        for _ in range(100):
            rc, obj, err = get_json(p.pid, ["Handle", "CreationDate"])
            self.assertEqual(rc, EXIT_OK, err)
            seen.add(obj["CreationDate"])
        self.assertEqual(sorted(seen)[:1], sorted(seen), "one process, several CreationDates")


class OutputFormatsTest(LwmiTestCase):
    """The same process in every output format."""

    ARG = 'a,b "c"'  # a comma and quotes: CSV must quote the CommandLine field
    PROPS = ["Handle", "ProcessId", "Name", "ExecutablePath", "CommandLine"]

    def setUp(self):
        self.p = start_process(self, [PYTHON, "-c", IDLE, self.ARG], ready_line=True)
        self.pid = self.p.pid
        self.host = e2e.host_name()
        self.command_line = PYTHON + " -c " + IDLE_QUOTED + ' "a,b \\"c\\""'
        self.values = [str(self.pid), str(self.pid), os.path.basename(PYTHON_EXE), PYTHON_EXE,
                       self.command_line]

    def get(self, *fmt, props=None):
        props = self.PROPS if props is None else props
        args = [*fmt, "get", path_of(self.pid)]
        if props:
            args += ["--properties", ",".join(props)]
        rc, out, err = run_lwmic(*args)
        self.assertEqual(rc, EXIT_OK, err)
        self.assertEqual(err, "")
        return out

    def test_json(self):
        out = self.get("--format", "json")
        self.assertTrue(out.endswith("\n"))
        self.assertEqual(len(out.splitlines()), 1)
        obj = e2e.json_lines(out)[0]
        self.assertEqual(obj, {
            "__CLASS": "Win32_Process",
            "__SERVER": self.host,
            "__PATH": '\\\\%s\\root\\cimv2:Win32_Process.Handle="%d"' % (self.host, self.pid),
            "Handle": str(self.pid),
            "ProcessId": self.pid,
            "Name": os.path.basename(PYTHON_EXE),
            "ExecutablePath": PYTHON_EXE,
            "CommandLine": self.command_line,
        })

    def test_json_path_is_null_without_the_key(self):
        obj = e2e.json_lines(self.get("--format", "json", props=["ProcessId", "Name"]))[0]
        self.assertEqual(set(obj), {"__CLASS", "__SERVER", "__PATH", "ProcessId", "Name"})
        self.assertIsNone(obj["__PATH"])

    def expected_csv(self, header, rows):
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\r\n")
        w.writerow(header)
        for r in rows:
            w.writerow(r)
        return buf.getvalue()

    def test_csv(self):
        out = self.get("--format", "csv")
        self.assertTrue(out.startswith("Node,"), out)
        self.assertEqual(out, self.expected_csv(["Node"] + self.PROPS, [[self.host] + self.values]))
        rows = list(csv.reader(io.StringIO(out, newline="")))
        self.assertEqual(rows[1][self.PROPS.index("CommandLine") + 1], self.command_line)

    def test_wmic_format_alias(self):
        expected = self.get("--format", "csv")
        for switch in ("/format:csv", "/FORMAT:CSV"):
            with self.subTest(switch=switch):
                self.assertEqual(self.get(switch), expected)
        self.assertEqual(self.get("/format:list"), self.get("--format", "list"))

    def test_list(self):
        out = self.get("--format", "list")
        lines = [l for l in out.split("\n") if l]
        self.assertEqual(lines, ["%s=%s" % kv for kv in zip(self.PROPS, self.values)])

    def test_table(self):
        props = ["ProcessId", "Name", "ExecutablePath"]  # values without spaces
        out = self.get("--format", "table", props=props)
        lines = out.splitlines()
        self.assertEqual(len(lines), 2, out)
        header, row = lines
        self.assertEqual(header.split(), props)
        self.assertEqual(row.split(), [str(self.pid), os.path.basename(PYTHON_EXE), PYTHON_EXE])
        # Columns line up under their headers.
        self.assertEqual(token_starts(header), token_starts(row))
        self.assertEqual(self.get(props=props), out, "table is the default format")

    def test_every_format_without_projection(self):
        rc, obj, err = get_json(self.pid)
        self.assertEqual(rc, EXIT_OK, err)
        text = {k: ("" if v is None else str(v)) for k, v in obj.items()}
        # csv: Node then all 45 properties, each cell the JSON value's text.
        rows = list(csv.reader(io.StringIO(self.get("--format", "csv", props=[]), newline="")))
        self.assertEqual(len(rows), 2)
        self.assertEqual(rows[0][0], "Node")
        self.assertEqual(sorted(rows[0][1:]), sorted(ALL_PROPERTIES))
        self.assertEqual(rows[1][0], self.host)
        cells = dict(zip(rows[0][1:], rows[1][1:]))
        # CreationDate may differ by 1 us between runs (see CreationDateStabilityTest).
        self.assert_same_instant(cells.pop("CreationDate"), text["CreationDate"])
        self.assertEqual(cells, {p: text[p] for p in ALL_PROPERTIES if p != "CreationDate"})
        # list: Name=Value for the 45 properties.
        lines = [l for l in self.get("--format", "list", props=[]).split("\n") if l]
        cd = [l for l in lines if l.startswith("CreationDate=")]
        self.assertEqual(len(cd), 1)
        self.assert_same_instant(cd[0][len("CreationDate="):], text["CreationDate"])
        self.assertEqual(sorted(l for l in lines if not l.startswith("CreationDate=")),
                         sorted("%s=%s" % (p, text[p]) for p in ALL_PROPERTIES
                                if p != "CreationDate"))
        # table: 45 headers; ProcessId's cell sits under its header.
        header, row = self.get("--format", "table", props=[]).splitlines()
        self.assertEqual(sorted(header.split()), sorted(ALL_PROPERTIES))
        col = token_starts(header)[header.split().index("ProcessId")]
        self.assertEqual(row[col:].split()[0], str(self.pid))


    def test_star_means_every_property_as_in_wmic(self):
        # `get *` (and --properties '*') is every property, never a column named "*".
        every = self.get("--format", "csv", props=[])
        self.assertEqual(self.get("--format", "csv", props=["*"]).splitlines()[0],
                         every.splitlines()[0])
        rc, out, err = run_lwmic("/format:csv", "process", "where", "ProcessId=%d" % self.pid,
                                 "get", "*")
        self.assertEqual(rc, EXIT_OK, err)
        header = out.splitlines()[0].split(",")
        self.assertNotIn("*", header)
        self.assertEqual(sorted(header[1:]), sorted(ALL_PROPERTIES))

    def test_an_exported_password_needs_a_user_to_apply(self):
        # LWMI_PASSWORD is the password of the user --user names; a local command without --user
        # does not use it (it used to fail with WBEM_E_LOCAL_CREDENTIALS).
        rc, out, err = run_lwmic("--format", "csv", "get", path_of(self.pid), "--properties",
                                 "ProcessId", env={"LWMI_PASSWORD": "not-used"})
        self.assertEqual(rc, EXIT_OK, err)
        self.assertIn(str(self.pid), out)


class EnumerationTest(LwmiTestCase):
    """What `list` contains and what `get` finds: leaders only, no zombies, no dead processes."""

    def start_zombie(self):
        """A python parent with an unreaped child; returns (parent Popen, zombie pid)."""
        holder = []
        e2e.become_subreaper()  # orphaned zombies come to us, and the cleanup reaps them
        self.addCleanup(lambda: holder and e2e.reap(holder[0]))
        parent = start_process(self, [PYTHON, "-c", ZOMBIE_PARENT], ready_line=True)
        zpid = int(parent.ready)
        holder.append(zpid)
        e2e.wait_for(lambda: e2e.proc_state(zpid) == "Z", what="pid %d to be a zombie" % zpid)
        self.assertEqual(int(e2e.proc_stat(zpid)[4]), parent.pid)
        return parent, zpid

    def test_list_contains_started_processes_not_zombies(self):
        sleeper = start_process(self, ["sleep", "1000"], exe=SLEEP)
        threads = start_process(self, [PYTHON, "-c", THREADS], ready_line=True)
        parent, zpid = self.start_zombie()
        before = {p for p in e2e.pids_in_proc() if e2e.proc_state(p) not in (None, "Z")}
        rc, objs, err = list_json(properties=["ProcessId", "Name"])
        after = {p for p in e2e.pids_in_proc() if e2e.proc_state(p) not in (None, "Z")}
        self.assertEqual(rc, EXIT_OK, err)
        self.assertEqual(err, "")
        for o in objs:
            self.assertEqual(set(o), {"__CLASS", "__SERVER", "__PATH", "ProcessId", "Name"})
            self.assertEqual(o["__CLASS"], "Win32_Process")
        pids = [o["ProcessId"] for o in objs]
        self.assertEqual(len(pids), len(set(pids)), "a pid is listed twice")
        names = {o["ProcessId"]: o["Name"] for o in objs}
        self.assertEqual(names.get(sleeper.pid), "sleep")
        self.assertEqual(names.get(threads.pid), os.path.basename(PYTHON_EXE))
        self.assertEqual(names.get(parent.pid), os.path.basename(PYTHON_EXE))
        self.assertIn(1, names)
        self.assertEqual(e2e.proc_state(zpid), "Z")
        self.assertNotIn(zpid, names, "a zombie is listed")
        for tid in os.listdir("/proc/%d/task" % threads.pid):
            if int(tid) != threads.pid:
                self.assertNotIn(int(tid), names, "a non-leader thread is listed")
        # Every process alive (and not a zombie) before and after the run is listed.
        self.assertEqual(sorted((before & after) - set(names)), [])

    def test_get_zombie_is_not_found(self):
        _, zpid = self.start_zombie()
        rc, out, err = run_lwmic("get", path_of(zpid))
        self.assertEqual(e2e.proc_state(zpid), "Z")
        self.assert_wbem_error(rc, out, err, WBEM_E_NOT_FOUND)

    def test_get_non_leader_thread_is_not_found(self):
        p = start_process(self, [PYTHON, "-c", THREADS], ready_line=True)
        tids = [int(t) for t in os.listdir("/proc/%d/task" % p.pid) if int(t) != p.pid]
        self.assertEqual(len(tids), 4)
        for tid in tids:
            with self.subTest(tid=tid):
                self.assertEqual(e2e.proc_status(tid)["Tgid"], str(p.pid))  # /proc/TID exists
                rc, out, err = run_lwmic("get", path_of(tid))
                self.assert_wbem_error(rc, out, err, WBEM_E_NOT_FOUND)
        rc, obj, err = get_json(p.pid, ["ProcessId"])
        self.assertEqual((rc, obj["ProcessId"]), (EXIT_OK, p.pid))

    def test_get_vanished_process_is_not_found(self):
        p = start_process(self, ["sleep", "1000"], exe=SLEEP)
        rc, obj, err = get_json(p.pid, ["ProcessId"])
        self.assertEqual((rc, obj["ProcessId"]), (EXIT_OK, p.pid))
        e2e.kill_and_reap(p)
        self.assertFalse(os.path.exists("/proc/%d" % p.pid))
        rc, out, err = run_lwmic("get", path_of(p.pid))
        self.assert_wbem_error(rc, out, err, WBEM_E_NOT_FOUND)
        self.assertIn('"%d"' % p.pid, err)

    def test_list_superclass_cim_process(self):
        p = start_process(self, ["sleep", "1000"], exe=SLEEP)
        rc, objs, err = list_json("CIM_Process")
        self.assertEqual(rc, EXIT_OK, err)
        self.assertGreater(len(objs), 1)
        self.assertEqual({o["__CLASS"] for o in objs}, {"Win32_Process"})
        mine = [o for o in objs if o["Handle"] == str(p.pid)]
        self.assertEqual(len(mine), 1)
        self.assertEqual(mine[0]["ProcessId"], p.pid)
        self.assertEqual(mine[0]["Name"], "sleep")
        self.assertEqual(mine[0]["ExecutablePath"], SLEEP)
        # A projection on CIM_Process's own properties works too.
        rc, objs, err = list_json("CIM_Process", ["Handle", "Name"])
        self.assertEqual(rc, EXIT_OK, err)
        self.assertIn({"__CLASS": "Win32_Process", "__SERVER": e2e.host_name(),
                       "__PATH": '\\\\%s\\root\\cimv2:Win32_Process.Handle="%d"' %
                                 (e2e.host_name(), p.pid),
                       "Handle": str(p.pid), "Name": "sleep"}, objs)


@unittest.skipUnless(IS_ROOT, "creates a local user")
class OtherUserTest(LwmiTestCase):
    """SeDebugPrivilege: another user's process hides the [PT] properties unless the caller has
    the privilege AND enables it; lwmic run by an ordinary user sees less."""

    @classmethod
    def setUpClass(cls):
        cls.user = e2e.create_user(cls)
        cls.lwmic = e2e.copy_lwmic_for_others(cls)

    def start_user_sleep(self):
        p = start_process(self, ["sleep", "1000"], user=self.user, exe=SLEEP)
        uids = e2e.proc_status(p.pid)["Uid"].split()
        self.assertEqual(uids, [str(self.user.uid)] * 4)
        return p

    @unittest.skipUnless(CAN_PTRACE, "root reads other users' exe/fd/io with CAP_SYS_PTRACE")
    def test_root_without_privilege_masks_other_users_process(self):
        p = self.start_user_sleep()
        obj, r = self.stable_get(p.pid)
        self.assertEqual(obj["ProcessId"], p.pid)
        self.assertEqual(obj["Name"], "sleep")
        self.assertEqual(obj["CommandLine"], "sleep 1000")
        for prop in PTRACE_PROPERTIES:
            self.assertIsNone(obj[prop], prop)
        for prop in ("ThreadCount", "VirtualSize", "PageFileUsage",
                     "KernelModeTime", "UserModeTime", "ParentProcessId", "SessionId"):
            self.assertEqual(obj[prop], r["expected"][prop], prop)
        # The same in a list.
        root_sleep = start_process(self, ["sleep", "1000"], exe=SLEEP)
        rc, objs, err = list_json(properties=["ProcessId", "ExecutablePath"])
        self.assertEqual(rc, EXIT_OK, err)
        paths = {o["ProcessId"]: o["ExecutablePath"] for o in objs}
        self.assertIsNone(paths[p.pid])
        self.assertEqual(paths[root_sleep.pid], SLEEP)

    @unittest.skipUnless(CAN_PTRACE and e2e.has_cap(e2e.CAP_KILL),
                         "needs CAP_SYS_PTRACE, and CAP_KILL (which holds SeDebugPrivilege)")
    def test_root_with_privilege_sees_everything(self):
        p = self.start_user_sleep()
        obj, r = self.stable_get(p.pid, extra=["--enable-privilege", "SeDebugPrivilege"])
        self.assertEqual(obj["ExecutablePath"], SLEEP)
        self.assertEqual(obj["Name"], "sleep")
        self.assertEqual(obj["HandleCount"], 3)
        for prop in PTRACE_PROPERTIES:
            self.assertEqual(obj[prop], r["expected"][prop], prop)

    def test_user_running_lwmic_on_root_process(self):
        p = start_process(self, ["sleep", "1000"], exe=SLEEP)
        rc, obj, err = get_json(p.pid, user=self.user, lwmic=self.lwmic)
        self.assertEqual(rc, EXIT_OK, err)
        self.assertIn("running embedded", err)
        self.assertTrue(err.startswith("lwmic: note: "), err)
        self.assertEqual(obj["ProcessId"], p.pid)
        self.assertEqual(obj["Name"], "sleep")
        self.assertEqual(obj["CommandLine"], "sleep 1000")
        for prop in PTRACE_PROPERTIES:
            self.assertIsNone(obj[prop], prop)
        # Asking for the privilege does not grant it: a warning, still masked.
        rc, obj, err = get_json(p.pid, extra=["--enable-privilege", "SeDebugPrivilege"],
                                user=self.user, lwmic=self.lwmic)
        self.assertEqual(rc, EXIT_OK, err)
        self.assertIn("lwmic: warning: SeDebugPrivilege is not held", err)
        self.assertIsNone(obj["ExecutablePath"])
        self.assertEqual(obj["Name"], "sleep")

    def test_user_running_lwmic_on_own_process(self):
        p = self.start_user_sleep()
        rc, obj, err = get_json(p.pid, user=self.user, lwmic=self.lwmic)
        self.assertEqual(rc, EXIT_OK, err)
        self.assertIn("running embedded", err)
        self.assertEqual(obj["Name"], "sleep")
        self.assertEqual(obj["ExecutablePath"], SLEEP)
        self.assertEqual(obj["HandleCount"], 3)
        self.assertIsNotNone(obj["ReadOperationCount"])
        if CAN_PTRACE:
            self.assertEqual(obj["ReadOperationCount"], e2e.proc_io(p.pid)["syscr"])


class ErrorsTest(LwmiTestCase):
    """Exit statuses and messages: 2 for usage, 3 for a WBEM error named with its code."""

    def test_malformed_path(self):
        for path in ('Win32_Process.Handle="1', 'Win32_Process.Handle="1"junk',
                     "Win32_Process.Handle=", "Win32_Process.=1"):
            with self.subTest(path=path):
                rc, out, err = run_lwmic("get", path)
                self.assert_wbem_error(rc, out, err, WBEM_E_INVALID_OBJECT_PATH)
                lines = err.splitlines()
                self.assertEqual(len(lines), 3, err)
                self.assertEqual(lines[1], "  " + path)
                caret = lines[2]
                self.assertEqual(caret.strip(), "^")
                self.assertLessEqual(caret.index("^"), len(lines[1]))
                self.assertGreaterEqual(caret.index("^"), 2)

    def test_unknown_class(self):
        for args in (["list", "Win32_Bogus"], ["get", 'Win32_Bogus.Handle="1"']):
            with self.subTest(args=args):
                rc, out, err = run_lwmic(*args)
                self.assert_wbem_error(rc, out, err, WBEM_E_INVALID_CLASS)
                self.assertIn("Win32_Bogus", err)

    def test_unknown_property(self):
        for args in (["list", "Win32_Process", "--properties", "ProcessId,Bogus"],
                     ["get", path_of(os.getpid()), "--properties", "Name,Bogus"]):
            with self.subTest(args=args):
                rc, out, err = run_lwmic(*args)
                self.assert_wbem_error(rc, out, err, WBEM_E_INVALID_PROPERTY)
                self.assertIn("Bogus", err)

    def test_usage_errors_exit_2(self):
        cases = [
            [],  # no verb
            ["bogus"],
            ["bogus", "Win32_Process"],
            ["get"],
            ["list"],
            ["--format", "nonsense", "list", "Win32_Process"],
            ["/format:nonsense", "list", "Win32_Process"],
            ["--enable-privilege", "SeBogus", "list", "Win32_Process"],
            ["list", "Win32_Process", "--no-such-option"],
        ]
        for args in cases:
            with self.subTest(args=args):
                rc, out, err = run_lwmic(*args)
                self.assertEqual(rc, EXIT_USAGE, "stdout=%r stderr=%r" % (out[:200], err))
                self.assertEqual(out, "")
                self.assertTrue(err.startswith("lwmic: error: "), err)

    def test_help_and_version_exit_0(self):
        for args in (["--help"], ["--version"]):
            with self.subTest(args=args):
                rc, out, err = run_lwmic(*args)
                self.assertEqual(rc, EXIT_OK, err)
                self.assertIn("lwmic", out)


if __name__ == "__main__":
    unittest.main()
