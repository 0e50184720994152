"""Shared helpers for lwmi's end-to-end tests: run lwmic, parse its output, start and stop the
processes a test looks at, wait for them, read /proc independently of lwmi, and make a throw-away
local user. The package's modules add a real lwmid and what a test class sets up around it
(lwmi_e2e.lwmid), WS-Management on the wire (lwmi_e2e.wsman) and the security tests' daemon,
users and audit file (lwmi_e2e.security_env). Test modules import helpers only from here.

Python standard library only. The tests run as root (CI); helpers that need root say so.
Everything a helper starts or creates is registered with the TestCase's cleanups, so it is
removed even when the test fails.
"""

import datetime
import functools
import json
import os
import pwd
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # tests/e2e
SOURCE_DIR = os.path.dirname(os.path.dirname(HERE))


def _lwmic_path():
    if os.environ.get("LWMIC"):
        return os.environ["LWMIC"]
    build = os.environ.get("LWMI_BUILD_DIR", os.path.join(SOURCE_DIR, "build", "release"))
    return os.path.join(build, "src", "cli", "lwmic")


LWMIC = _lwmic_path()
PYTHON = sys.executable or "/usr/bin/python3"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
UINT32_MAX = 2**32 - 1
AUDIT_SID_UNSET = 4294967295

# Win32_Process's 45 non-system properties (spec 1.3).
ALL_PROPERTIES = (
    "Caption", "CommandLine", "CreationClassName", "CreationDate", "CSCreationClassName",
    "CSName", "Description", "ExecutablePath", "ExecutionState", "Handle", "HandleCount",
    "InstallDate", "KernelModeTime", "MaximumWorkingSetSize", "MinimumWorkingSetSize", "Name",
    "OSCreationClassName", "OSName", "OtherOperationCount", "OtherTransferCount", "PageFaults",
    "PageFileUsage", "ParentProcessId", "PeakPageFileUsage", "PeakVirtualSize",
    "PeakWorkingSetSize", "Priority", "PrivatePageCount", "ProcessId", "QuotaNonPagedPoolUsage",
    "QuotaPagedPoolUsage", "QuotaPeakNonPagedPoolUsage", "QuotaPeakPagedPoolUsage",
    "ReadOperationCount", "ReadTransferCount", "SessionId", "Status", "TerminationDate",
    "ThreadCount", "UserModeTime", "VirtualSize", "WindowsVersion", "WorkingSetSize",
    "WriteOperationCount", "WriteTransferCount",
)

# No Linux source: NULL by design (spec 1.3).
NULL_BY_DESIGN = (
    "ExecutionState", "InstallDate", "MaximumWorkingSetSize", "MinimumWorkingSetSize",
    "OtherOperationCount", "OtherTransferCount", "QuotaNonPagedPoolUsage", "QuotaPagedPoolUsage",
    "QuotaPeakNonPagedPoolUsage", "QuotaPeakPagedPoolUsage", "Status", "TerminationDate",
)

# Properties that need ptrace-read access to another user's process ([PT] in spec 1.3).
PTRACE_PROPERTIES = (
    "ExecutablePath", "HandleCount", "ReadOperationCount", "ReadTransferCount",
    "WriteOperationCount", "WriteTransferCount",
)

WBEM_E_NOT_FOUND = "WBEM_E_NOT_FOUND (0x80041002)"
WBEM_E_INVALID_CLASS = "WBEM_E_INVALID_CLASS (0x80041010)"
WBEM_E_INVALID_PROPERTY = "WBEM_E_INVALID_PROPERTY (0x80041031)"
WBEM_E_INVALID_OBJECT_PATH = "WBEM_E_INVALID_OBJECT_PATH (0x8004103A)"

EXIT_OK, EXIT_USAGE, EXIT_WBEM = 0, 2, 3


# ---------------------------------------------------------------------------------------------
# Known lwmi bugs


def unless_reproduced(test):
    """For a test of a known, host-dependent lwmi bug, used UNDER @unittest.expectedFailure:
    where the bug shows, the test fails and counts as an expected failure; where the test passes
    (the bug does not show on this host or kernel) it is reported as skipped rather than as an
    "unexpected success". Remove both markers once the bug is fixed. Do not use subTest inside."""
    @functools.wraps(test)
    def wrapper(self, *args, **kwargs):
        test(self, *args, **kwargs)
        raise unittest.SkipTest("known lwmi bug did not show on this host (or is fixed: then "
                                "remove the markers)")
    return wrapper


# ---------------------------------------------------------------------------------------------
# Running lwmic


def run(argv, *, env=None, timeout=120):
    """Runs argv; returns (returncode, stdout, stderr) as text."""
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env, timeout=timeout)
    return (p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"))


def run_lwmic(*args, user=None, env=None, lwmic=None, timeout=120):
    """Runs lwmic with args (optionally as `user`, a TempUser); returns (rc, stdout, stderr)."""
    argv = [lwmic or LWMIC, *args]
    if user is not None:
        argv = user.prefix() + argv
    e = dict(os.environ)
    e.pop("LWMI_PASSWORD", None)
    if env:
        e.update(env)
    return run(argv, env=e, timeout=timeout)


def path_of(pid, creation_date=None):
    """The object path of a Win32_Process, e.g. Win32_Process.Handle="1234"."""
    p = 'Win32_Process.Handle="%d"' % pid
    if creation_date is not None:
        p += ',CreationDate="%s"' % creation_date
    return p


def json_lines(text):
    """Parses JSON Lines: one object per non-empty line (fails on anything else)."""
    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        obj = json.loads(line)
        if not isinstance(obj, dict):
            raise ValueError("JSON line is not an object: %r" % line)
        out.append(obj)
    return out


def get_json(pid, properties=None, *, extra=(), user=None, env=None, lwmic=None):
    """`lwmic --format json get PATH`; returns (rc, instance-or-None, stderr)."""
    args = ["--format", "json", *extra, "get", path_of(pid)]
    if properties:
        args += ["--properties", ",".join(properties)]
    rc, out, err = run_lwmic(*args, user=user, env=env, lwmic=lwmic)
    objs = json_lines(out) if rc == 0 else []
    if rc == 0 and len(objs) != 1:
        raise AssertionError("get printed %d objects: %r" % (len(objs), out))
    return rc, (objs[0] if objs else None), err


def list_json(cls="Win32_Process", properties=None, *, extra=(), user=None):
    """`lwmic --format json list CLASS`; returns (rc, [instances], stderr)."""
    args = ["--format", "json", *extra, "list", cls]
    if properties:
        args += ["--properties", ",".join(properties)]
    rc, out, err = run_lwmic(*args, user=user)
    return rc, (json_lines(out) if rc == 0 else []), err


def copy_lwmic_for_others(test):
    """A copy of lwmic in a world-readable temporary directory, for running it as another user
    whatever the permissions of the build tree. Removed at cleanup."""
    d = work_dir(test, "lwmi-e2e-bin-")
    dst = os.path.join(d, "lwmic")
    shutil.copy2(LWMIC, dst)
    os.chmod(dst, 0o755)
    return dst


# ---------------------------------------------------------------------------------------------
# Processes the tests start


def _add_cleanup(test, fn, *args):
    """Registers a cleanup on a TestCase instance, or on the class inside setUpClass."""
    if isinstance(test, unittest.TestCase):
        test.addCleanup(fn, *args)
    else:
        test.addClassCleanup(fn, *args)


def wait_for(predicate, timeout=10.0, what="condition"):
    """Polls predicate() until it returns a truthy value (returned) or fails after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = predicate()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0fs waiting for %s" % (timeout, what))
        time.sleep(0.01)


def work_dir(test, prefix, parent=None, mode=0o755):
    """A temporary directory (by default one others may enter), removed at cleanup."""
    d = tempfile.mkdtemp(prefix=prefix, dir=parent)
    _add_cleanup(test, shutil.rmtree, d, True)
    os.chmod(d, mode)
    return d


def output_files(test, directory, mode="w+"):
    """(out, err): two new files in directory for a child's stdout and stderr, which the test
    reads while the child runs (a pipe could fill and stall it); closed at cleanup."""
    files = []
    for what in ("out", "err"):
        f = open(os.path.join(directory, "%s-%s" % (what, secrets.token_hex(3))), mode)
        _add_cleanup(test, f.close)
        files.append(f)
    return files


def alive(pid):
    """True while pid exists and is not a zombie."""
    return proc_state(pid) not in (None, "Z", "X")


def wait_gone(pid, timeout=10.0):
    """Waits until pid is gone or a zombie (a process we need not be the parent of); returns
    whether it went within timeout."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not alive(pid):
            return True
        time.sleep(0.01)
    return False


def sleep_copy(directory, name):
    """A copy of /bin/sleep called `name` in `directory` (0755; kept when already there), so a
    test's processes have a name of their own; returns its path."""
    exe = os.path.join(directory, name)
    if not os.path.exists(exe):
        shutil.copy2("/bin/sleep", exe)
        os.chmod(exe, 0o755)
    return exe


def _reset_nice():
    try:
        os.setpriority(os.PRIO_PROCESS, 0, 0)
    except OSError:
        pass


def stop_process(p):
    """Kills and reaps a Popen (no-op when it has already been reaped)."""
    if p.returncode is None:
        try:
            p.send_signal(signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
    for f in (p.stdout, p.stdin, p.stderr):
        if f:
            f.close()


def start_process(test, argv, *, user=None, exe=None, ready_line=False, preexec=None,
                  timeout=10.0):
    """Starts argv (as `user` when given, a TempUser) with stdin/stderr on /dev/null and nice 0
    (plus whatever argv does itself, e.g. `nice -n 19 ...`). Registers kill + reap.

    exe: wait until /proc/PID/exe is this path (for wrappers that exec: nice, chrt, setpriv).
    ready_line: the program prints one line when ready; wait for it and return it as p.ready.
    """
    full = (user.prefix() if user is not None else []) + list(argv)

    def pre():
        _reset_nice()
        if preexec:
            preexec()

    p = subprocess.Popen(full, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE if ready_line else subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, preexec_fn=pre)
    _add_cleanup(test, stop_process, p)
    p.ready = None
    if ready_line:
        r, _, _ = select.select([p.stdout], [], [], timeout)
        if not r:
            raise AssertionError("%r did not report ready in %.0fs" % (argv, timeout))
        p.ready = p.stdout.readline().decode().strip()
        if not p.ready:
            raise AssertionError("%r exited before it was ready" % (argv,))
    if exe:
        def execd():
            try:
                return os.readlink("/proc/%d/exe" % p.pid) == exe
            except PermissionError:  # another user's process, and no CAP_SYS_PTRACE: use comm
                try:
                    with open("/proc/%d/comm" % p.pid) as f:
                        return f.read().rstrip("\n") == os.path.basename(exe)[:15]
                except OSError:
                    return False
            except OSError:
                return False
        wait_for(execd, timeout, "pid %d to exec %s" % (p.pid, exe))
    wait_for(lambda: proc_state(p.pid) == "S", timeout,
             "pid %d to go to sleep" % p.pid)
    return p


def kill_and_reap(p):
    p.kill()
    p.wait(timeout=10)


def become_subreaper():
    """Makes this process the child subreaper, so orphans (e.g. a zombie whose parent we kill)
    are reparented to us and can be reaped with reap(). Returns False if not possible."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_CHILD_SUBREAPER = 36
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def reap(pid, timeout=10.0):
    """Reaps `pid` once it has been reparented to us (a subreaper); quiet if it is not our child."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            if not os.path.exists("/proc/%d" % pid):
                return
            time.sleep(0.01)
            continue
        if done == pid:
            return
        time.sleep(0.01)


def write_loginuid(value):
    """A preexec function that sets the child's audit loginuid, which (for a valid uid) gives it
    a new audit session id, and for 4294967295 clears it. Needs CAP_AUDIT_CONTROL."""
    def pre():
        with open("/proc/self/loginuid", "w") as f:
            f.write(str(value))
    return pre


# ---------------------------------------------------------------------------------------------
# A throw-away local user


class TempUser:
    """A real local user `lwmi-e2e-<random>` (no home, nologin shell). Needs root."""

    def __init__(self):
        self.name = "lwmi-e2e-" + secrets.token_hex(4)
        subprocess.run(["useradd", "-M", "-s", "/usr/sbin/nologin", self.name], check=True,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        pw = pwd.getpwnam(self.name)
        self.uid, self.gid = pw.pw_uid, pw.pw_gid

    def prefix(self):
        """argv prefix that runs a command as this user, with no supplementary groups."""
        if shutil.which("setpriv"):
            return ["setpriv", "--reuid=%d" % self.uid, "--regid=%d" % self.gid,
                    "--clear-groups", "--"]
        return ["runuser", "-u", self.name, "--"]

    def remove(self):
        for _ in range(50):  # userdel refuses while a process of the user is still exiting
            r = subprocess.run(["userdel", self.name], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if r.returncode in (0, 6):  # 6: no such user
                return
            time.sleep(0.1)
        subprocess.run(["userdel", "-f", self.name], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def create_user(test):
    """Creates a TempUser removed at cleanup (register it before starting its processes, so the
    processes are stopped first: cleanups run last-in first-out)."""
    u = TempUser()
    _add_cleanup(test, u.remove)
    return u


# ---------------------------------------------------------------------------------------------
# Independent readings of /proc and ps


def proc_stat(pid):
    """/proc/PID/stat as {"comm": str, 3: str, 4: str, ...}: field N (1-based, man proc)
    parsed after the LAST ')' since comm may hold spaces and parentheses."""
    with open("/proc/%d/stat" % pid) as f:
        text = f.read()
    open_, close = text.index("("), text.rindex(")")
    fields = {"comm": text[open_ + 1:close]}
    for n, v in enumerate(text[close + 1:].split(), start=3):
        fields[n] = v
    return fields


def proc_state(pid):
    try:
        return proc_stat(pid)[3]
    except (OSError, ValueError):
        return None


def proc_status(pid):
    """/proc/PID/status as {key: raw value}."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def status_kb(status, key):
    v = status[key]
    assert v.endswith(" kB"), v
    return int(v[:-3])


def proc_io(pid):
    out = {}
    with open("/proc/%d/io" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = int(v)
    return out


def proc_cmdline(pid):
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        raw = f.read()
    if raw.endswith(b"\0"):
        raw = raw[:-1]
    return [a.decode() for a in raw.split(b"\0")] if raw else []


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def audit_session(pid):
    with open("/proc/%d/sessionid" % pid) as f:
        return int(f.read())


def pids_in_proc():
    return {int(d) for d in os.listdir("/proc") if d.isdigit()}


def ps_fields(pid):
    """`ps -o pid=,ppid=,nlwp=,rss=,vsz=,ni=,comm=,args=`: {pid, ppid, nlwp, rss(KiB), vsz(KiB),
    ni, comm, args}; comm must hold no space (true of the programs the tests start)."""
    rc, out, err = run(["ps", "-ww", "-o", "pid=,ppid=,nlwp=,rss=,vsz=,ni=,comm=,args=",
                        "-p", str(pid)])
    if rc != 0:
        raise AssertionError("ps failed for pid %d: %s" % (pid, err))
    parts = out.strip("\n").split(None, 7)
    keys = ("pid", "ppid", "nlwp", "rss", "vsz", "ni", "comm", "args")
    d = dict(zip(keys, parts))
    for k in ("pid", "ppid", "nlwp", "rss", "vsz"):
        d[k] = int(d[k])
    d["ni"] = int(d["ni"]) if d["ni"].lstrip("-").isdigit() else d["ni"]  # "-" for RT
    return d


def boot_epoch_us():
    """Boot time as Unix microseconds: CLOCK_REALTIME - CLOCK_BOOTTIME (spec 0.4)."""
    r = time.clock_gettime_ns(time.CLOCK_REALTIME)
    b = time.clock_gettime_ns(time.CLOCK_BOOTTIME)
    return (r - b) // 1000


def btime():
    """Boot time from /proc/stat (whole seconds)."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("btime "):
                return int(line.split()[1])
    raise AssertionError("no btime in /proc/stat")


CAP_KILL, CAP_SYS_PTRACE, CAP_SYS_NICE, CAP_AUDIT_CONTROL = 5, 19, 23, 30


def has_cap(cap):
    """True when this process has capability number `cap` in its effective set."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> cap & 1)
    return False


def host_name():
    return os.uname().nodename.split(".")[0]


def os_name():
    """PRETTY_NAME|/|root device, read independently (os-release and mountinfo)."""
    pretty = "Linux"
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        try:
            with open(path) as f:
                for line in f:
                    if line.startswith("PRETTY_NAME="):
                        pretty = line[len("PRETTY_NAME="):].strip().strip("\"'")
                        break
            break
        except OSError:
            continue
    dev = "none"
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            if left.split()[4] == "/":
                dev = right.split()[1]
    return "%s|/|%s" % (pretty, dev)


# ---------------------------------------------------------------------------------------------
# CIM DATETIME


def parse_cim_datetime(text):
    """yyyymmddHHMMSS.mmmmmm(+|-)UUU → (unix microseconds, UTC offset in minutes)."""
    if len(text) != 25 or text[14] != "." or text[21] not in "+-":
        raise ValueError("not a CIM DATETIME: %r" % text)
    local = datetime.datetime(int(text[0:4]), int(text[4:6]), int(text[6:8]), int(text[8:10]),
                              int(text[10:12]), int(text[12:14]), int(text[15:21]))
    offset = int(text[22:25]) * (1 if text[21] == "+" else -1)
    utc = local - datetime.timedelta(minutes=offset)
    delta = utc - datetime.datetime(1970, 1, 1)
    micros = (delta.days * 86400 + delta.seconds) * 1000000 + delta.microseconds
    return micros, offset


def start_epoch_us(pid, boot_us=None):
    """When pid started, from stat[22] starttime (ticks since boot) and the boot time."""
    ticks = int(proc_stat(pid)[22])
    return (boot_us if boot_us is not None else boot_epoch_us()) + ticks * 1000000 // CLK_TCK
