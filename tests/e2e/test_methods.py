"""End-to-end tests of Win32_Process's methods through lwmic, on real processes.

Runs as root (ctest). Every process started here is killed and reaped in a cleanup, and the
user created for the cross-user cases is deleted again, even when a test fails.
"""
import json
import os
import pwd
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import lwmi_e2e as e2e
from lwmi_e2e import alive, wait_gone

LWMIC = os.environ.get("LWMIC") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "release", "src", "cli", "lwmic")
PY = "/usr/bin/python3"
SLEEP = ["sleep", "1000"]
THREADS = ("import threading,time\n"
           "ts=[threading.Thread(target=time.sleep,args=(1000,),daemon=True) for _ in range({n})]\n"
           "[t.start() for t in ts]\n"
           "time.sleep(1000)\n")
DUMP_ARGV = ("import json,os,sys\n"
             "open(os.environ.get('ARGV_OUT') or sys.argv[1],'w').write("
             "json.dumps({'argv':sys.argv[1:],'cwd':os.getcwd()}))\n")


def lwmic(*args, pre=()):
    """Runs lwmic (optionally behind `pre`, e.g. setpriv); returns (exit status, stdout, stderr)."""
    # Files, not pipes: a process that Create starts inherits lwmic's stdout and stderr (see
    # test_create_does_not_hold_callers_output), and would keep a pipe open for 1000 s.
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        rc = subprocess.run([*pre, LWMIC, *args], stdin=subprocess.DEVNULL, stdout=out,
                            stderr=err, timeout=60).returncode
        out.seek(0)
        err.seek(0)
        return rc, out.read(), err.read()


def call(path, method, *params, opts=(), pre=()):
    """`lwmic --format json [opts] call PATH METHOD params`; returns (status, out-params, stderr)."""
    rc, out, err = lwmic(*opts, "--format", "json", "call", path, method, *params, pre=pre)
    obj = None
    for line in out.splitlines():
        if line.strip().startswith("{"):
            obj = json.loads(line)
    return rc, obj, err


def proc_stat_fields(pid, tid=None):
    """Fields of /proc/PID[/task/TID]/stat after the comm; index 0 is field 3 (state)."""
    path = f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat"
    try:
        with open(path) as f:
            text = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return text[text.rindex(")") + 2:].split()


def proc_state(pid):
    f = proc_stat_fields(pid)
    return f[0] if f else None


def nice_of(pid, tid=None):
    return int(proc_stat_fields(pid, tid)[19 - 3])


def wait_for(pred, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.02)
    return False


def uid_of(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Uid:"):
                return [int(x) for x in line.split()[1:]]
    return None


class MethodsTest(unittest.TestCase):
    user = None  # (name, uid, gid) of a throwaway account, made once

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("these tests run as root")
        if not os.access(LWMIC, os.X_OK):
            raise unittest.SkipTest(f"no lwmic at {LWMIC}")

    @classmethod
    def make_user(cls):
        if cls.user is None:
            name = "lwmi-m-" + secrets.token_hex(3)
            subprocess.run(["useradd", "-M", "-s", "/usr/sbin/nologin", name], check=True,
                           capture_output=True)
            pw = pwd.getpwnam(name)
            cls.user = (name, pw.pw_uid, pw.pw_gid)
        return cls.user

    @classmethod
    def tearDownClass(cls):
        if cls.user is not None:
            subprocess.run(["pkill", "-KILL", "-U", str(cls.user[1])], capture_output=True)
            subprocess.run(["userdel", cls.user[0]], capture_output=True)
            cls.user = None

    def as_user(self):
        name, uid, gid = self.make_user()
        return ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups"]

    # --- process helpers -------------------------------------------------------------------
    def start(self, argv, **kw):
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, **kw)
        self.addCleanup(e2e.stop_process, p)
        return p

    def adopt(self, pid):
        """A process we did not start (Create's child): SIGKILL it at cleanup."""
        def kill():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            wait_gone(pid)
        self.addCleanup(kill)

    def start_threads(self, n):
        p = self.start([PY, "-c", THREADS.format(n=n)])
        self.assertTrue(wait_for(lambda: len(os.listdir(f"/proc/{p.pid}/task")) == n + 1),
                        "threads did not start")
        return p

    def assertKilled(self, p):
        self.assertEqual(p.wait(timeout=10), -signal.SIGKILL)
        self.assertFalse(os.path.exists(f"/proc/{p.pid}"))

    def assertAlive(self, p):
        time.sleep(0.05)
        self.assertIsNone(p.poll(), f"pid {p.pid} ended")

    def creation_date(self, pid):
        rc, out, err = lwmic("--format", "json", "get", f"Win32_Process={pid}",
                             "--properties", "CreationDate")
        self.assertEqual(rc, 0, err)
        return json.loads(out.strip().splitlines()[-1])["CreationDate"]

    def tmpdir(self):
        d = tempfile.TemporaryDirectory()
        self.addCleanup(d.cleanup)
        os.chmod(d.name, 0o777)
        return d.name

    # --- Terminate -------------------------------------------------------------------------
    def test_terminate_own(self):
        p = self.start(SLEEP)
        rc, out, err = call(f"Win32_Process={p.pid}", "Terminate")
        self.assertEqual((rc, out["ReturnValue"]), (0, 0), err)
        self.assertEqual(out["__CLASS"], "__PARAMETERS")
        self.assertKilled(p)

    def test_terminate_with_reason(self):
        p = self.start(SLEEP)
        rc, out, err = call(f'Win32_Process.Handle="{p.pid}"', "Terminate", "Reason=7")
        self.assertEqual((rc, out["ReturnValue"]), (0, 0), err)
        self.assertKilled(p)

    def test_delete_instance(self):
        p = self.start(SLEEP)
        rc, out, err = lwmic("delete", f"Win32_Process={p.pid}")
        self.assertEqual(rc, 0, err)
        self.assertIn("Instance deletion successful.", err)
        self.assertKilled(p)

    def test_terminate_multithreaded(self):
        p = self.start_threads(4)
        rc, out, err = call(f"Win32_Process={p.pid}", "Terminate")
        self.assertEqual((rc, out["ReturnValue"]), (0, 0), err)
        self.assertKilled(p)
        self.assertFalse(os.path.exists(f"/proc/{p.pid}/task"))

    def test_terminate_ignores_sigterm(self):
        p = self.start([PY, "-c", "import signal,time\n"
                        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                        "print('ready', flush=True)\ntime.sleep(1000)"],
                       stdout=subprocess.PIPE)
        self.assertEqual(p.stdout.readline().strip(), b"ready")
        p.stdout.close()
        rc, out, err = call(f"Win32_Process={p.pid}", "Terminate")
        self.assertEqual((rc, out["ReturnValue"]), (0, 0), err)
        self.assertKilled(p)

    def test_terminate_stopped(self):
        p = self.start(SLEEP)
        os.kill(p.pid, signal.SIGSTOP)
        self.assertTrue(wait_for(lambda: proc_state(p.pid) == "T"))
        rc, out, err = call(f"Win32_Process={p.pid}", "Terminate")
        self.assertEqual((rc, out["ReturnValue"]), (0, 0), err)
        self.assertKilled(p)

    def test_reason_not_uint32(self):
        p = self.start(SLEEP)
        rc, out, err = call(f"Win32_Process={p.pid}", "Terminate", "Reason=abc")
        self.assertEqual((rc, out["ReturnValue"]), (1, 21), err)
        self.assertAlive(p)

    def test_unknown_parameter(self):
        p = self.start(SLEEP)
        rc, out, err = call(f"Win32_Process={p.pid}", "Terminate", "Bogus=1")
        self.assertEqual(rc, 3, err)
        self.assertIn("WBEM_E_INVALID_METHOD_PARAMETERS", err)
        self.assertAlive(p)

    def test_unknown_method(self):
        p = self.start(SLEEP)
        rc, out, err = call(f"Win32_Process={p.pid}", "Obliterate")
        self.assertEqual(rc, 3, err)
        self.assertIn("WBEM_E_INVALID_METHOD", err)
        self.assertNotIn("WBEM_E_INVALID_METHOD_PARAMETERS", err)
        self.assertAlive(p)

    def test_dry_run(self):
        p = self.start(SLEEP)
        rc, out, err = lwmic("--dry-run", "call", f"Win32_Process={p.pid}", "Terminate")
        self.assertEqual(rc, 0, err)
        self.assertIn("nothing was done", out)
        self.assertAlive(p)

    def test_stale_creation_date(self):
        p = self.start(SLEEP)
        path = f'Win32_Process.Handle="{p.pid}",CreationDate="20200101000000.000000+000"'
        rc, out, err = call(path, "Terminate")
        self.assertEqual(rc, 3, err)
        self.assertIn("WBEM_E_NOT_FOUND", err)
        self.assertAlive(p)

    def test_right_creation_date(self):
        p = self.start(SLEEP)
        cd = self.creation_date(p.pid)
        rc, out, err = call(f'Win32_Process.Handle="{p.pid}",CreationDate="{cd}"', "Terminate")
        self.assertEqual((rc, out["ReturnValue"]), (0, 0), err)
        self.assertKilled(p)

    def test_reused_pid(self):
        a = self.start(SLEEP)
        cd = self.creation_date(a.pid)
        path = f'Win32_Process.Handle="{a.pid}",CreationDate="{cd}"'
        a.kill()
        a.wait()
        b = None
        for _ in range(20):
            time.sleep(0.02)  # a different start time, whatever the clock's granularity
            with open("/proc/sys/kernel/ns_last_pid", "w") as f:
                f.write(str(a.pid - 1))
            c = self.start(SLEEP)
            if c.pid == a.pid:
                b = c
                break
            e2e.stop_process(c)
        if b is None:
            self.skipTest(f"could not get pid {a.pid} again in 20 tries (other forks raced)")
        self.assertNotEqual(self.creation_date(b.pid), cd)
        rc, out, err = call(path, "Terminate")
        self.assertEqual(rc, 3, err)
        self.assertIn("WBEM_E_NOT_FOUND", err)
        self.assertAlive(b)

    def test_other_user_needs_debug_privilege(self):
        p = self.start(self.as_user() + SLEEP)
        self.assertTrue(wait_for(lambda: uid_of(p.pid)[0] == self.user[1]))
        rc, out, err = call(f"Win32_Process={p.pid}", "Terminate")
        self.assertEqual((rc, out["ReturnValue"]), (1, 2), err)
        self.assertAlive(p)
        rc, out, err = call(f"Win32_Process={p.pid}", "Terminate",
                            opts=("--enable-privilege", "SeDebugPrivilege"))
        self.assertEqual((rc, out["ReturnValue"]), (0, 0), err)
        self.assertKilled(p)

    def test_unprivileged_user_cannot_end_root_process(self):
        p = self.start(SLEEP)
        rc, out, err = call(f"Win32_Process={p.pid}", "Terminate", pre=self.as_user())
        self.assertEqual((rc, out["ReturnValue"]), (1, 2), err)
        self.assertAlive(p)
        rc, out, err = call(f"Win32_Process={p.pid}", "Terminate", pre=self.as_user(),
                            opts=("--enable-privilege", "SeDebugPrivilege"))
        self.assertIn("warning", err)
        self.assertIn("not held", err)
        self.assertEqual((rc, out["ReturnValue"]), (1, 2), err)
        self.assertAlive(p)

    def test_user_ends_own_process(self):
        p = self.start(self.as_user() + SLEEP)
        self.assertTrue(wait_for(lambda: uid_of(p.pid)[0] == self.user[1]))
        rc, out, err = call(f"Win32_Process={p.pid}", "Terminate", pre=self.as_user())
        self.assertEqual((rc, out["ReturnValue"]), (0, 0), err)
        self.assertKilled(p)

    def test_protected_init_and_kthread(self):
        for pid in (1, 2):
            rc, out, err = call(f"Win32_Process={pid}", "Terminate")
            self.assertEqual((rc, out["ReturnValue"]), (1, 3), err)
            self.assertTrue(alive(pid))

    # --- GetOwner, GetOwnerSid, GetAvailableVirtualSize ------------------------------------
    def test_get_owner_and_sid(self):
        p = self.start(self.as_user() + SLEEP)
        name, uid, _ = self.user
        self.assertTrue(wait_for(lambda: uid_of(p.pid)[0] == uid))
        rc, out, err = call(f"Win32_Process={p.pid}", "GetOwner")
        self.assertEqual((rc, out["ReturnValue"]), (0, 0), err)
        self.assertEqual(out["User"], name)
        self.assertEqual(out["Domain"], socket.gethostname().split(".")[0])
        rc, out, err = call(f"Win32_Process={p.pid}", "GetOwnerSid")
        self.assertEqual((rc, out["ReturnValue"]), (0, 0), err)
        self.assertEqual(out["Sid"], f"S-1-22-1-{uid}")
        self.assertAlive(p)

    def test_get_available_virtual_size(self):
        p = self.start(SLEEP)
        rc, out, err = call(f"Win32_Process={p.pid}", "GetAvailableVirtualSize")
        self.assertEqual((rc, out["ReturnValue"]), (0, 0), err)
        self.assertGreater(int(out["AvailableVirtualSize"]), 0)
        self.assertLessEqual(int(out["AvailableVirtualSize"]), 2 ** 47)

    # --- SetPriority -----------------------------------------------------------------------
    def assertAllNice(self, pid, nice):
        tids = os.listdir(f"/proc/{pid}/task")
        self.assertEqual(len(tids), 4)
        self.assertEqual({t: nice_of(pid, t) for t in tids}, {t: nice for t in tids})

    def test_set_priority(self):
        p = self.start_threads(3)
        path = f"Win32_Process={p.pid}"
        for prio, nice in ((64, 19), (16384, 10), (32, 0)):
            with self.subTest(priority=prio):
                rc, out, err = call(path, "SetPriority", f"Priority={prio}")
                self.assertEqual((rc, out["ReturnValue"]), (0, 0), err)
                self.assertAllNice(p.pid, nice)
        rc, out, err = call(path, "SetPriority", "Priority=7")
        self.assertEqual((rc, out["ReturnValue"]), (1, 21), err)
        self.assertAllNice(p.pid, 0)
        rc, out, err = call(path, "SetPriority", "Priority=256")
        self.assertEqual((rc, out["ReturnValue"]), (1, 3), err)
        self.assertAllNice(p.pid, 0)
        rc, out, err = call(path, "SetPriority", "Priority=256",
                            opts=("--enable-privilege", "SeIncreaseBasePriorityPrivilege"))
        self.assertEqual((rc, out["ReturnValue"]), (0, 0), err)
        self.assertAllNice(p.pid, -19)
        self.assertAlive(p)

    # --- Create ----------------------------------------------------------------------------
    def create(self, *params, pre=()):
        rc, out, err = call("Win32_Process", "Create", *params, pre=pre)
        if out and out.get("ProcessId"):
            self.adopt(int(out["ProcessId"]))
        return rc, out, err

    def test_create_sleep(self):
        rc, out, err = self.create("CommandLine=sleep 1000")
        self.assertEqual((rc, out["ReturnValue"]), (0, 0), err)
        pid = int(out["ProcessId"])
        self.assertTrue(alive(pid))
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            self.assertEqual(f.read().split(b"\0")[:-1], [b"sleep", b"1000"])
        fields = proc_stat_fields(pid)
        self.assertNotEqual(fields[0], "Z")
        self.assertEqual(int(fields[6 - 3]), pid, "the child leads its own session")
        ppid = int(fields[4 - 3])
        try:
            with open(f"/proc/{ppid}/comm") as f:
                self.assertNotEqual(f.read().strip(), "lwmic")
        except FileNotFoundError:
            pass

    # Regression: Create's child once inherited the caller's stdout, so
    # `x=$(lwmic call Win32_Process Create "CommandLine=sleep 1000")` hung until it ended.
    def test_create_does_not_hold_callers_output(self):
        p = subprocess.Popen([LWMIC, "--format", "json", "call", "Win32_Process", "Create",
                              "CommandLine=sleep 1000"], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.addCleanup(p.stdout.close)
        self.assertEqual(p.wait(timeout=30), 0)
        pid = int(json.loads(p.stdout.readline())["ProcessId"])
        self.adopt(pid)
        ours = os.readlink(f"/proc/self/fd/{p.stdout.fileno()}")
        held = [fd for fd in ("0", "1", "2") if os.readlink(f"/proc/{pid}/fd/{fd}") == ours]
        self.assertEqual(held, [], f"pid {pid} holds lwmic's stdout pipe {ours}")

    def argv_script(self):
        d = self.tmpdir()
        script = os.path.join(d, "dump.py")
        with open(script, "w") as f:
            f.write(DUMP_ARGV)
        os.chmod(script, 0o755)
        return d, script, os.path.join(d, "out.json")

    def read_dump(self, out_path):
        self.assertTrue(wait_for(lambda: os.path.exists(out_path) and os.path.getsize(out_path)),
                        "the child wrote nothing")
        with open(out_path) as f:
            return json.load(f)

    def test_create_windows_quoting(self):
        d, script, out_path = self.argv_script()
        # Windows rules: "a b" is one argument, \" a literal quote, a lone \ stays.
        cl = f'{PY} {script} {out_path} "a b" "c\\"d" e\\f'
        rc, out, err = self.create("CommandLine=" + cl)
        self.assertEqual((rc, out["ReturnValue"]), (0, 0), err)
        self.assertEqual(self.read_dump(out_path)["argv"], [out_path, "a b", 'c"d', "e\\f"])

    def test_create_current_directory(self):
        d, script, out_path = self.argv_script()
        rc, out, err = self.create(f"CommandLine={PY} {script} {out_path}", "CurrentDirectory=/tmp")
        self.assertEqual((rc, out["ReturnValue"]), (0, 0), err)
        self.assertEqual(self.read_dump(out_path)["cwd"], "/tmp")

    def test_create_with_wmics_comma_separated_arguments(self):
        # wmic: process call create "COMMAND","DIR" — through bash one word, COMMAND,DIR. Its
        # parts are CommandLine and CurrentDirectory, in declaration order (once, DIR was glued
        # to the command's arguments and the call reported 0).
        d, script, out_path = self.argv_script()
        rc, out, err = lwmic("--format", "json", "process", "call", "create",
                             f"{PY} {script} {out_path},/tmp")
        self.assertEqual(rc, 0, err)
        obj = json.loads([l for l in out.splitlines() if l.startswith("{")][-1])
        self.assertEqual(obj["ReturnValue"], 0)
        self.adopt(int(obj["ProcessId"]))
        dump = self.read_dump(out_path)
        self.assertEqual(dump["argv"], [out_path])
        self.assertEqual(dump["cwd"], "/tmp")
        # A comma inside double quotes stays in its argument.
        d2, script2, out2 = self.argv_script()
        rc, out, err = lwmic("--format", "json", "process", "call", "create",
                             f'"{PY} {script2} {out2} a,b","/tmp"')
        self.assertEqual(rc, 0, err)
        obj = json.loads([l for l in out.splitlines() if l.startswith("{")][-1])
        self.adopt(int(obj["ProcessId"]))
        self.assertEqual(self.read_dump(out2)["argv"], [out2, "a,b"])
        # More than Create takes is refused, not ignored.
        rc, out, err = lwmic("process", "call", "create", "sleep 1,/tmp,extra")
        self.assertEqual(rc, 2, err)
        self.assertIn("'extra' is one too many", err)

    def test_create_bad_directory_and_program(self):
        rc, out, err = self.create("CommandLine=sleep 1000", "CurrentDirectory=/nonexistent")
        self.assertEqual((rc, out["ReturnValue"]), (1, 9), err)
        rc, out, err = self.create("CommandLine=/nonexistent/lwmi-no-such-program 1")
        self.assertEqual((rc, out["ReturnValue"]), (1, 9), err)
        rc, out, err = self.create("CommandLine=lwmi-no-such-program-" + secrets.token_hex(3))
        self.assertEqual((rc, out["ReturnValue"]), (1, 9), err)

    def test_create_priority_class(self):
        rc, out, err = self.create("CommandLine=sleep 1000",
                                   "ProcessStartupInformation.PriorityClass=64")
        self.assertEqual((rc, out["ReturnValue"]), (0, 0), err)
        self.assertEqual(nice_of(int(out["ProcessId"])), 19)

    def test_create_as_unprivileged_user(self):
        _, uid, _ = self.make_user()
        rc, out, err = self.create("CommandLine=sleep 1000", pre=self.as_user())
        self.assertEqual((rc, out["ReturnValue"]), (0, 0), err)
        ids = uid_of(int(out["ProcessId"]))
        self.assertEqual(ids, [uid] * 4)


if __name__ == "__main__":
    unittest.main()
