"""End-to-end tests of WQL through `lwmic query` and wmic's `lwmic process …` alias, on real
processes these tests start.

Each test runs programs under a unique name (a copy of /bin/sleep called `lwmiq-<random>`, whose
Name is that basename), so that no other process on the host can match the queries, and checks
that a query returns exactly the test's processes. Everything started is killed and reaped in a
cleanup; the test user is deleted again.

Run as root (ctest): one test creates a local user and runs lwmic as that user.
"""

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import lwmi_e2e as e2e
from lwmi_e2e import (EXIT_OK, EXIT_WBEM, PYTHON, WBEM_E_INVALID_CLASS, json_lines, run_lwmic,
                      start_process)

SLEEP = os.path.realpath(shutil.which("sleep") or "/usr/bin/sleep")
MIB = 1024 * 1024
WBEM_E_INVALID_QUERY = "WBEM_E_INVALID_QUERY (0x80041017)"
WBEM_E_INVALID_OPERATOR = "WBEM_E_INVALID_OPERATOR (0x80041063)"
WBEM_E_NOT_SUPPORTED = "WBEM_E_NOT_SUPPORTED (0x8004100C)"

# Allocates and touches N bytes (one write per page), says ready, sleeps.
MEMHOG = ("import sys,time; n=int(sys.argv[1]); b=bytearray(n); "
          "b[::4096]=bytes([1])*len(range(0,n,4096)); print('ready',flush=True); "
          "time.sleep(1000)")
IDLE = "import time; print('ready',flush=True); time.sleep(1000)"
BRIEF = ["HandleCount", "Name", "Priority", "ProcessId", "ThreadCount", "WorkingSetSize"]


def setUpModule():
    if os.geteuid() != 0:
        raise unittest.SkipTest("these tests run as root")
    if not os.access(e2e.LWMIC, os.X_OK):
        raise unittest.SkipTest("lwmic not built at %s (set LWMIC)" % e2e.LWMIC)


def query(wql, *, fmt="json", user=None, lwmic=None):
    """`lwmic --format FMT query WQL`; returns (rc, rows (JSON) or text, stderr)."""
    rc, out, err = run_lwmic("--format", fmt, "query", wql, user=user, lwmic=lwmic)
    if fmt == "json":
        return rc, (json_lines(out) if rc == 0 else []), err
    return rc, out, err


def alias(*words, opts=()):
    """`lwmic [opts] process WORDS…`; returns (rc, stdout, stderr)."""
    return run_lwmic(*opts, "process", *words)


def handles(rows):
    return sorted(int(r["Handle"]) for r in rows)


def table_rows(text):
    """A table's header and rows, split on runs of two or more blanks."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    split = [re.split(r"\s{2,}", ln.strip()) for ln in lines]
    return (split[0], split[1:]) if split else ([], [])


def children_of(ppid):
    out = set()
    for pid in e2e.pids_in_proc():
        try:
            if int(e2e.proc_stat(pid)[4]) == ppid:
                out.add(pid)
        except (OSError, ValueError, KeyError):
            pass
    return out


def nice_of(pid):
    return int(e2e.proc_stat(pid)[19])


class QueryTest(unittest.TestCase):

    # --- helpers ---------------------------------------------------------------------------
    def program(self, src=SLEEP):
        """A copy of `src` named lwmiq-<random> in a world-readable temporary directory."""
        d = tempfile.mkdtemp(prefix="lwmiq-bin-")
        self.addCleanup(shutil.rmtree, d, True)
        os.chmod(d, 0o755)
        path = os.path.join(d, "lwmiq-" + secrets.token_hex(4))
        shutil.copy2(src, path)
        os.chmod(path, 0o755)
        return path

    def start(self, argv, **kw):
        return start_process(self, argv, **kw)

    def start_n(self, prog, n, *extra):
        return [self.start([prog, "1000", *extra]) for _ in range(n)]

    def assertError(self, rc, err, code):
        self.assertEqual(rc, EXIT_WBEM, err)
        self.assertIn("lwmic: error: " + code, err)

    def assertKilled(self, p):
        self.assertEqual(p.wait(timeout=10), -signal.SIGKILL)

    def assertAlive(self, p):
        time.sleep(0.05)
        self.assertIsNone(p.poll(), "pid %d ended" % p.pid)

    # --- by name ---------------------------------------------------------------------------
    def test_by_name_exactly_ours(self):
        prog = self.program()
        name = os.path.basename(prog)
        ps = self.start_n(prog, 3)
        other = self.start([SLEEP, "1000"])
        for literal in (name, name.upper()):
            with self.subTest(literal=literal):
                rc, rows, err = query("SELECT * FROM Win32_Process WHERE Name = '%s'" % literal)
                self.assertEqual(rc, EXIT_OK, err)
                self.assertEqual(handles(rows), sorted(p.pid for p in ps))
                self.assertNotIn(other.pid, handles(rows))
                for r in rows:
                    self.assertEqual(r["Name"], name)
                    self.assertEqual(r["__CLASS"], "Win32_Process")
                    self.assertEqual(r["ExecutablePath"], prog)
                    self.assertIn('Win32_Process.Handle="%s"' % r["Handle"], r["__PATH"])

    def test_path_only_when_key_selected(self):
        prog = self.program()
        name = os.path.basename(prog)
        p = self.start([prog, "1000"])
        rc, rows, err = query("SELECT Name FROM Win32_Process WHERE Name = '%s'" % name)
        self.assertEqual(rc, EXIT_OK, err)
        self.assertEqual(len(rows), 1, rows)
        self.assertIsNone(rows[0]["__PATH"])
        self.assertEqual(rows[0]["Name"], name)
        self.assertNotIn("Handle", rows[0])
        for select in ("Handle", "Handle,Name", "*"):
            with self.subTest(select=select):
                rc, rows, err = query("SELECT %s FROM Win32_Process WHERE Name = '%s'"
                                      % (select, name))
                self.assertEqual(rc, EXIT_OK, err)
                self.assertEqual(len(rows), 1, rows)
                self.assertTrue(rows[0]["__PATH"].endswith('Win32_Process.Handle="%d"' % p.pid),
                                rows[0]["__PATH"])
        # The path a query returned is callable later.
        rc, out, err = run_lwmic("--format", "json", "call", rows[0]["__PATH"], "GetOwner")
        self.assertEqual(rc, EXIT_OK, err)
        self.assertEqual(json_lines(out)[-1]["User"], "root")
        rc, out, err = run_lwmic("--format", "json", "call", rows[0]["__PATH"], "Terminate")
        self.assertEqual(rc, EXIT_OK, err)
        self.assertEqual(json_lines(out)[-1]["ReturnValue"], 0)
        self.assertKilled(p)

    # --- LIKE ------------------------------------------------------------------------------
    def test_like(self):
        prog = self.program()
        name = os.path.basename(prog)
        token = name[len("lwmiq-"):]
        ps = self.start_n(prog, 2)
        ours = sorted(p.pid for p in ps)
        for pattern in ("lwmiq-%s" % token, "lwmiq-%%%s" % token[-3:], "_wmiq-%s" % token,
                        "[kl]wmiq-%s" % token, "LWMIQ-%s" % token.upper(),
                        "lwmiq-" + "_" * len(token)):
            with self.subTest(pattern=pattern):
                rc, rows, err = query("SELECT Handle FROM Win32_Process WHERE Name LIKE '%s'"
                                      % pattern)
                self.assertEqual(rc, EXIT_OK, err)
                if pattern == "lwmiq-" + "_" * len(token):
                    # Other tests' lwmiq-* copies may run at the same time: only a superset.
                    self.assertTrue(set(ours) <= set(handles(rows)), (ours, rows))
                else:
                    self.assertEqual(handles(rows), ours)
        for pattern in ("[mn]wmiq-%s" % token, "lwmiq-%s_" % token, "_lwmiq-%s" % token):
            with self.subTest(pattern=pattern):
                rc, rows, err = query("SELECT Handle FROM Win32_Process WHERE Name LIKE '%s'"
                                      % pattern)
                self.assertEqual(rc, EXIT_OK, err)
                self.assertEqual(rows, [])
        # NOT LIKE, restricted to our processes plus one ordinary sleep.
        other = self.start([SLEEP, "1000"])
        rc, rows, err = query(
            "SELECT Handle,Name FROM Win32_Process WHERE Name NOT LIKE 'lwmiq-%%' AND "
            "(ProcessId = %d OR ProcessId = %d OR ProcessId = %d)" % (ps[0].pid, ps[1].pid,
                                                                      other.pid))
        self.assertEqual(rc, EXIT_OK, err)
        self.assertEqual(handles(rows), [other.pid])
        rc, rows, err = query(
            "SELECT Handle FROM Win32_Process WHERE NOT Name LIKE '%%wmiq-%%' AND "
            "(ProcessId = %d OR ProcessId = %d)" % (ps[0].pid, other.pid))
        self.assertEqual(rc, EXIT_OK, err)
        self.assertEqual(handles(rows), [other.pid])

    # --- memory threshold ------------------------------------------------------------------
    def test_working_set_threshold(self):
        big = self.start([PYTHON, "-c", MEMHOG, str(200 * MIB)], ready_line=True)
        small = self.start([PYTHON, "-c", IDLE], ready_line=True)
        ours = "(ProcessId = %d OR ProcessId = %d)" % (big.pid, small.pid)
        rc, rows, err = query("SELECT ProcessId,WorkingSetSize FROM Win32_Process WHERE "
                              "WorkingSetSize > 104857600 AND " + ours)
        self.assertEqual(rc, EXIT_OK, err)
        self.assertEqual([r["ProcessId"] for r in rows], [big.pid], rows)
        self.assertGreaterEqual(int(rows[0]["WorkingSetSize"]), 200 * MIB)
        rc, rows, err = query("SELECT ProcessId FROM Win32_Process WHERE "
                              "WorkingSetSize <= '104857600' AND " + ours)
        self.assertEqual(rc, EXIT_OK, err)
        self.assertEqual([r["ProcessId"] for r in rows], [small.pid], rows)

    # --- by parent -------------------------------------------------------------------------
    def test_by_parent(self):
        prog = self.program()
        parent = self.start(["sh", "-c", "'%s' 1000 & '%s' 1000 & wait" % (prog, prog)])

        def kids():
            k = children_of(parent.pid)
            ok = len(k) == 2 and all(os.readlink("/proc/%d/exe" % c) == prog for c in k)
            return k if ok else None
        kids = e2e.wait_for(kids, 10, "two children of pid %d" % parent.pid)

        def kill_kids():
            for c in kids:
                try:
                    os.kill(c, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.addCleanup(kill_kids)
        rc, rows, err = query("SELECT Handle,ParentProcessId FROM Win32_Process WHERE "
                              "ParentProcessId = %d" % parent.pid)
        self.assertEqual(rc, EXIT_OK, err)
        self.assertEqual(handles(rows), sorted(kids))
        self.assertEqual({r["ParentProcessId"] for r in rows}, {parent.pid})

    # --- by command line -------------------------------------------------------------------
    def test_by_command_line(self):
        token = "tok" + secrets.token_hex(6)
        p = self.start([PYTHON, "-c", IDLE, "--marker=%s" % token], ready_line=True)
        q = self.start([PYTHON, "-c", IDLE, "--marker=other"], ready_line=True)
        # lwmic's own command line holds the pattern, so the plain '%token%' would match lwmic
        # too; '[t]' matches the 't' of the token but not the '[t]' of the pattern.
        rc, rows, err = query("SELECT Handle,CommandLine FROM Win32_Process WHERE "
                              "CommandLine LIKE '%%[t]%s%%'" % token[1:].upper())
        self.assertEqual(rc, EXIT_OK, err)
        self.assertEqual(handles(rows), [p.pid])
        self.assertNotIn(q.pid, handles(rows))
        self.assertIn(token, rows[0]["CommandLine"])

    # --- NULL handling ---------------------------------------------------------------------
    def test_is_null(self):
        try:
            with open("/proc/2/comm") as f:
                kthreadd = f.read().strip() == "kthreadd"
        except OSError:
            kthreadd = False
        if kthreadd:
            rc, rows, err = query("SELECT ProcessId,Name FROM Win32_Process WHERE "
                                  "ExecutablePath IS NULL")
            self.assertEqual(rc, EXIT_OK, err)
            self.assertIn(2, [r["ProcessId"] for r in rows])
        me = os.getpid()
        rc, rows, err = query("SELECT ProcessId,ExecutablePath FROM Win32_Process WHERE "
                              "ExecutablePath IS NOT NULL AND ProcessId = %d" % me)
        self.assertEqual(rc, EXIT_OK, err)
        self.assertEqual([r["ProcessId"] for r in rows], [me])
        self.assertEqual(rows[0]["ExecutablePath"], os.path.realpath("/proc/self/exe"))
        rc, rows, err = query("SELECT ProcessId FROM Win32_Process WHERE "
                              "ExecutablePath IS NULL AND ProcessId = %d" % me)
        self.assertEqual((rc, rows), (EXIT_OK, []), err)
        # A NULL property never equals nor differs: Status is NULL by design.
        rc, rows, err = query("SELECT ProcessId FROM Win32_Process WHERE ProcessId = %d AND "
                              "(Status = 'OK' OR Status <> 'OK' OR NOT Status = 'x')" % me)
        self.assertEqual((rc, rows), (EXIT_OK, []), err)
        rc, rows, err = query("SELECT ProcessId FROM Win32_Process WHERE Name = NULL")
        self.assertError(rc, err, WBEM_E_INVALID_QUERY)

    # --- typed constants -------------------------------------------------------------------
    def test_pid_constants(self):
        p = self.start([SLEEP, "1000"])
        for cond in ("ProcessId = '%d'" % p.pid, "ProcessId = %d" % p.pid,
                     "Handle = %d" % p.pid, "Handle = '%d'" % p.pid):
            with self.subTest(cond=cond):
                rc, rows, err = query("SELECT Handle,ProcessId FROM Win32_Process WHERE " + cond)
                self.assertEqual(rc, EXIT_OK, err)
                self.assertEqual(handles(rows), [p.pid])
                self.assertEqual(rows[0]["ProcessId"], p.pid)
        rc, rows, err = query("SELECT Handle FROM Win32_Process WHERE ProcessId = 'abc'")
        self.assertError(rc, err, WBEM_E_INVALID_QUERY)
        self.assertIn("'abc'", err)

    # --- the wmic alias: call terminate, dry run, delete, setpriority ------------------------
    def test_alias_terminate_by_name(self):
        prog = self.program()
        name = os.path.basename(prog)
        mine = self.start_n(prog, 3)
        other_prog = self.program()
        others = self.start_n(other_prog, 2)
        rc, out, err = alias("where", "name='%s'" % name, "call", "terminate",
                             opts=("--format", "json"))
        self.assertEqual(rc, EXIT_OK, err)
        rows = json_lines(out)
        self.assertEqual(handles(rows), sorted(p.pid for p in mine))
        self.assertEqual([r["ReturnValue"] for r in rows], [0, 0, 0])
        self.assertEqual({r["Name"] for r in rows}, {name})
        self.assertIn("lwmic: Terminate: 3 matched, 3 returned 0, 0 returned non-zero, "
                      "0 gone before the call", err)
        for p in mine:
            self.assertKilled(p)
        for p in others:
            self.assertAlive(p)

    def test_alias_terminate_table(self):
        prog = self.program()
        name = os.path.basename(prog)
        mine = self.start_n(prog, 2)
        rc, out, err = alias("where", "Name = '%s'" % name.upper(), "call", "Terminate",
                             "Reason=5")
        self.assertEqual(rc, EXIT_OK, err)
        header, rows = table_rows(out)
        self.assertEqual(header, ["Handle", "Name", "ReturnValue"])
        self.assertEqual(sorted(int(r[0]) for r in rows), sorted(p.pid for p in mine))
        for p in mine:
            self.assertKilled(p)

    def test_alias_dry_run(self):
        prog = self.program()
        name = os.path.basename(prog)
        mine = self.start_n(prog, 2)
        rc, out, err = alias("where", "name='%s'" % name, "call", "terminate",
                             opts=("--dry-run", "--format", "json"))
        self.assertEqual(rc, EXIT_OK, err)
        rows = json_lines(out)
        self.assertEqual(handles(rows), sorted(p.pid for p in mine))
        for r in rows:
            self.assertNotIn("ReturnValue", r)
            self.assertEqual(r["CommandLine"], "%s 1000" % prog)
        self.assertIn("--dry-run", err)
        self.assertIn("nothing was done", err)
        for p in mine:
            self.assertAlive(p)
        rc, out, err = alias("where", "name='%s'" % name, "delete", opts=("--dry-run",))
        self.assertEqual(rc, EXIT_OK, err)
        for p in mine:
            self.assertAlive(p)

    def test_alias_delete(self):
        prog = self.program()
        name = os.path.basename(prog)
        mine = self.start_n(prog, 2)
        rc, out, err = alias("where", "name='%s'" % name, "delete")
        self.assertEqual(rc, EXIT_OK, err)
        self.assertIn("2 matched, 2 returned 0", err)
        for p in mine:
            self.assertKilled(p)

    def test_alias_setpriority_positional(self):
        prog = self.program()
        name = os.path.basename(prog)
        mine = self.start_n(prog, 3)
        other = self.start([SLEEP, "1000"])
        rc, out, err = alias("where", "name='%s'" % name, "call", "setpriority", "64",
                             opts=("--format", "json"))
        self.assertEqual(rc, EXIT_OK, err)
        rows = json_lines(out)
        self.assertEqual(handles(rows), sorted(p.pid for p in mine))
        self.assertEqual({r["ReturnValue"] for r in rows}, {0})
        for p in mine:
            self.assertEqual(nice_of(p.pid), 19)
        self.assertEqual(nice_of(other.pid), 0)
        # One positional in-parameter too many is a usage error.
        rc, out, err = alias("where", "name='%s'" % name, "call", "setpriority", "64", "1")
        self.assertEqual(rc, e2e.EXIT_USAGE, err)

    def test_alias_list_and_get(self):
        prog = self.program()
        name = os.path.basename(prog)
        p = self.start([prog, "1000"])
        rc, out, err = alias("where", "name='%s'" % name, "list", "brief")
        self.assertEqual(rc, EXIT_OK, err)
        header, rows = table_rows(out)
        self.assertEqual(header, BRIEF)
        self.assertEqual(len(rows), 1, out)
        row = dict(zip(header, rows[0]))
        self.assertEqual((row["Name"], row["ProcessId"], row["ThreadCount"]),
                         (name, str(p.pid), "1"))
        rc, out, err = alias("where", "name='%s'" % name, "list", "brief",
                             opts=("--format", "json"))
        self.assertEqual(rc, EXIT_OK, err)
        rows = json_lines(out)
        self.assertEqual([k for k in rows[0] if not k.startswith("__")], BRIEF)
        rc, out, err = alias("where", "name='%s'" % name, "get", "name,processid")
        self.assertEqual(rc, EXIT_OK, err)
        header, rows = table_rows(out)
        self.assertEqual(header, ["Name", "ProcessId"])
        self.assertEqual(rows, [[name, str(p.pid)]])
        rc, out, err = alias("where", "name='%s'" % name, "get", "Name", "ProcessId",
                             opts=("--format", "csv"))
        self.assertEqual(rc, EXIT_OK, err)
        self.assertIn("%s,%d" % (name, p.pid), out)
        # list full: every property.
        rc, out, err = alias("where", "name='%s'" % name, "list", "full",
                             opts=("--format", "json"))
        self.assertEqual(rc, EXIT_OK, err)
        self.assertEqual(len(json_lines(out)), 1)
        for k in e2e.ALL_PROPERTIES:
            self.assertIn(k, json_lines(out)[0])
        # Zero matches.
        for verb in (("get", "name"), ("list", "brief"), ("call", "terminate"), ("delete",)):
            with self.subTest(verb=verb):
                rc, out, err = alias("where", "name='%s-none'" % name, *verb)
                self.assertEqual(rc, EXIT_OK, err)
                self.assertIn("No instance(s) available.", err)
                self.assertEqual(out.strip(), "")
        self.assertAlive(p)

    def test_alias_where_error_shows_generated_query(self):
        rc, out, err = alias("where", "name=", "get", "name")
        self.assertError(rc, err, WBEM_E_INVALID_QUERY)
        self.assertIn("SELECT name FROM Win32_Process WHERE name=", err)

    # --- errors ----------------------------------------------------------------------------
    def caret_column(self, err, wql):
        """The 0-based column of the caret under the query echoed in err."""
        lines = err.splitlines()
        i = next(k for k, ln in enumerate(lines) if ln == "  " + wql)
        caret = lines[i + 1]
        self.assertEqual(caret.strip(), "^", err)
        return caret.index("^") - 2

    def test_syntax_error_caret(self):
        cases = (
            ("SELECT Name FROM Win32_Process WHERE Name = = 'x'", "= 'x'"),
            ("SELECT Name FROM Win32_Process WHERE", None),
            ("SELECT Name Win32_Process", "Win32_Process"),
            ("SELECT Name FROM Win32_Process WHERE Name = 'x' AND", None),
        )
        for wql, at in cases:
            with self.subTest(wql=wql):
                rc, out, err = query(wql, fmt="table")
                self.assertError(rc, err, WBEM_E_INVALID_QUERY)
                col = self.caret_column(err, wql)
                expected = wql.rindex(at) if at else len(wql)
                self.assertEqual(col, expected, err)
                self.assertIn("column %d" % (expected + 1), err)

    def test_semantic_errors(self):
        wql = "SELECT Name FROM Win32_Proces WHERE ProcessId = 1"
        rc, out, err = query(wql, fmt="table")
        self.assertError(rc, err, WBEM_E_INVALID_CLASS)
        self.assertIn("Win32_Proces", err)
        self.assertEqual(self.caret_column(err, wql), wql.index("Win32_Proces"))

        for wql, bad in (("SELECT Nme FROM Win32_Process", "Nme"),
                         ("SELECT Name FROM Win32_Process WHERE Bogus = 1", "Bogus")):
            with self.subTest(wql=wql):
                rc, out, err = query(wql, fmt="table")
                self.assertError(rc, err, WBEM_E_INVALID_QUERY)
                self.assertIn("'%s'" % bad, err)
                self.assertEqual(self.caret_column(err, wql), wql.index(bad))

        wql = "SELECT Name FROM Win32_Process WHERE ProcessId LIKE '1%'"
        rc, out, err = query(wql, fmt="table")
        self.assertError(rc, err, WBEM_E_INVALID_OPERATOR)

        rc, out, err = query("ASSOCIATORS OF {Win32_Process='1'}", fmt="table")
        self.assertError(rc, err, WBEM_E_NOT_SUPPORTED)
        self.assertEqual(out, "")

    def test_superclass_query(self):
        prog = self.program()
        name = os.path.basename(prog)
        ps = self.start_n(prog, 2)
        rc, rows, err = query("SELECT * FROM CIM_Process WHERE Name='%s'" % name)
        self.assertEqual(rc, EXIT_OK, err)
        self.assertEqual(handles(rows), sorted(p.pid for p in ps))
        self.assertEqual({r["__CLASS"] for r in rows}, {"Win32_Process"})
        rc, rows, err = query("SELECT Handle FROM CIM_Process WHERE Name='%s' AND "
                              "__CLASS = 'Win32_Process'" % name)
        self.assertEqual(rc, EXIT_OK, err)
        self.assertEqual(handles(rows), sorted(p.pid for p in ps))

    # --- masked properties ------------------------------------------------------------------
    def test_masked_property_cannot_be_probed(self):
        user = e2e.create_user(self)
        lwmic = e2e.copy_lwmic_for_others(self)
        prog = self.program()
        name = os.path.basename(prog)
        p = self.start([prog, "1000"])
        # Root can match on ExecutablePath.
        rc, rows, err = query("SELECT Handle FROM Win32_Process WHERE ExecutablePath LIKE '%%%s'"
                              % name)
        self.assertEqual((rc, handles(rows)), (EXIT_OK, [p.pid]), err)
        # The user cannot read root's exe link: the property is masked (NULL), so LIKE is
        # UNKNOWN and the row does not match, nor does its negation.
        for cond in ("ExecutablePath LIKE '%%%s'" % name,
                     "ExecutablePath NOT LIKE '%%%s' AND Name = '%s'" % (name, name),
                     "ExecutablePath IS NOT NULL AND Name = '%s'" % name):
            with self.subTest(cond=cond):
                rc, rows, err = query("SELECT Handle FROM Win32_Process WHERE " + cond,
                                      user=user, lwmic=lwmic)
                self.assertEqual((rc, rows), (EXIT_OK, []), err)
        rc, rows, err = query("SELECT Handle,Name,ExecutablePath FROM Win32_Process WHERE "
                              "Name = '%s'" % name, user=user, lwmic=lwmic)
        self.assertEqual(rc, EXIT_OK, err)
        self.assertEqual(handles(rows), [p.pid])
        self.assertIsNone(rows[0]["ExecutablePath"])


if __name__ == "__main__":
    unittest.main()
