"""The security matrix: who may end which process, over which transport, with which privilege.

Real users the test creates (an ordinary user, a second one, a member of the admin group, and
uid 0), each over the Unix socket (lwmic --socket, run as that user) and over HTTPS (lwmic --node
with the account's password), Terminate a process owned by themselves, by another user, by root,
and a protected one (listed in [security] protected_processes, owned by root), with SeDebugPrivilege
not requested or requested (--enable-privilege). Every cell asserts the ReturnValue AND whether the
target is alive afterwards, and its audit lines one by one.

Delete (DeleteInstance, which is Terminate) and SetPriority run through the same matrix.
The README's "Security" section shows the same tables: the test renders it from the cells it ran
and fails when the README differs (LWMI_UPDATE_README=1 rewrites it).
"""
import json
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import lwmi_e2e as e2e  # noqa: E402
from lwmi_e2e import security_env  # noqa: E402

README = os.path.join(e2e.SOURCE_DIR, "README.md")
BEGIN, END = "<!-- security-matrix:begin -->", "<!-- security-matrix:end -->"

USERS = ("alice", "bob", "admin", "root")
USER_TEXT = {"alice": "ordinary user", "bob": "second ordinary user",
             "admin": "admin-group member", "root": "root (uid 0)"}
TARGETS = ("own", "other", "root", "protected")
TARGET_TEXT = {"own": "own process", "other": "another user's", "root": "root's",
               "protected": "protected"}
# (transport, privilege requested?)
COLUMNS = (("unix", False), ("unix", True), ("https", None))


def held(user):
    return user in ("admin", "root")


def state(user, transport, requested):
    """The privilege state the cell exercises."""
    if not held(user):
        return "not held" + (" (requested: refused)" if requested else "")
    if transport == "https":
        return "held, enabled (automatically, remote)"
    return "held and enabled" if requested else "held, not enabled"


def expected(user, transport, requested, target, method="Terminate"):
    """ReturnValue the rule gives (DESIGN decision 3). Protected processes are protected from
    being ended (3); SetPriority follows the ownership rule for them too."""
    if target == "protected" and method != "SetPriority":
        return 3
    owner = {"own": user, "other": "bob" if user == "alice" else "alice", "root": "root",
             "protected": "root"}[target]
    if owner == user:
        return 0
    enabled = held(user) and (transport == "https" or requested)
    return 0 if enabled else 2


def render_table(results):
    """The README table: one row per (user, target), one column per (transport, privilege)."""
    head = ["caller", "SeDebugPrivilege", "target"] + [
        "Unix socket, no privilege asked" if (t, r) == ("unix", False) else
        "Unix socket, `--enable-privilege SeDebugPrivilege`" if t == "unix" else
        "HTTPS (held privileges enabled automatically)" for t, r in COLUMNS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for user in USERS:
        for target in TARGETS:
            cells = []
            for t, r in COLUMNS:
                rv, alive = results[(user, t, r, target)]
                cells.append("%d, %s" % (rv, "alive" if alive else "ended"))
            lines.append("| %s | %s | %s | %s |" % (
                USER_TEXT[user], "held" if held(user) else "not held", TARGET_TEXT[target],
                " | ".join(cells)))
    return "\n".join(lines)


def render_other_table(others):
    """Delete (DeleteInstance = Terminate) and SetPriority(64, Idle) in the same matrix."""
    head = ["caller", "target"] + [
        "Unix socket, no privilege asked" if (t, r) == ("unix", False) else
        "Unix socket, `--enable-privilege SeDebugPrivilege`" if t == "unix" else
        "HTTPS" for t, r in COLUMNS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for user in USERS:
        for target in TARGETS:
            cells = []
            for t, r in COLUMNS:
                d, d_alive = others[("Delete", user, t, r, target)]
                p, _ = others[("SetPriority", user, t, r, target)]
                cells.append("Delete: %s; SetPriority: %d%s" % (
                    "ended" if d == 0 else "WBEM_E_ACCESS_DENIED, alive", p,
                    ", nice 19" if p == 0 else ", unchanged"))
            lines.append("| %s | %s | %s |" % (USER_TEXT[user], TARGET_TEXT[target],
                                               " | ".join(cells)))
    return "\n".join(lines)


class SecurityMatrix(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.env = security_env.SecurityEnv(cls)

    def run_cell(self, user, transport, requested, target, method="Terminate"):
        env = self.env
        owner = {"own": user, "other": "bob" if user == "alice" else "alice", "root": "root",
                 "protected": "root"}[target]
        pid = env.target(self, owner, env.protected if target == "protected" else None)
        start = e2e.proc_stat(pid)[22]
        nice = int(e2e.proc_stat(pid)[19])
        args = ["--format", "json"]
        if requested:
            args += ["--enable-privilege", "SeDebugPrivilege"]
        if method == "Delete":
            args += ["delete", "Win32_Process=%d" % pid]
        else:
            args += ["call", "Win32_Process=%d" % pid, method]
            if method == "SetPriority":
                args.append("Priority=64")  # Idle: nice 19
        env.audit.mark()
        if transport == "unix":
            rc, out, err = env.lwmic_unix(user, *args)
        else:
            rc, out, err = env.lwmic_https(user, *args)
        cell = "%s %s over %s%s on %s's process (%s)" % (
            method, user, transport, " with the privilege requested" if requested else "", owner,
            target)
        want = expected(user, transport, requested, target, method)
        if method == "Delete":
            # DeleteInstance is Terminate; a refusal (2 or 3) is WBEM_E_ACCESS_DENIED.
            if want == 0:
                self.assertEqual(rc, 0, "%s: %s" % (cell, err))
                self.assertIn("Instance deletion successful.", err)
            else:
                self.assertEqual(rc, 3, "%s: %s" % (cell, err))
                self.assertIn("WBEM_E_ACCESS_DENIED (0x80041003)", err)
            rv = want
        else:
            self.assertIn(rc, (0, 1), "%s: lwmic failed: %s" % (cell, err))
            rv = json.loads(out.strip().splitlines()[-1])["ReturnValue"]
            self.assertEqual(rv, want, "%s: ReturnValue %d, want %d (%s)" % (cell, rv, want, err))
            self.assertEqual(rc, 0 if rv == 0 else 1, cell)
        if method == "SetPriority":
            self.assertTrue(e2e.alive(pid), cell)
            got = int(e2e.proc_stat(pid)[19])
            self.assertEqual(got, 19 if rv == 0 else nice, "%s: nice %d" % (cell, got))
        elif rv == 0:
            self.assertTrue(e2e.wait_gone(pid), "%s: ReturnValue 0 but pid %d lives" % (cell, pid))
        else:
            time.sleep(0.05)
            self.assertTrue(e2e.alive(pid), "%s: ReturnValue %d but pid %d ended" % (cell, rv, pid))
            self.assertEqual(e2e.proc_stat(pid)[22], start, "%s: the same process" % cell)
        alive = e2e.alive(pid)
        # The audit lines of this call, one by one. A caller's identical refusals past five in
        # 10 s are counted into a later "repeated=N" line (docs/audit.md): the refused
        # EnablePrivilege may be such a one, and summaries of earlier cells may come now; the
        # written and counted ones are tallied, and checked at the end of the test.
        lines = env.audit.new()
        self.summaries += [l for l in lines if "repeated" in l]
        lines = [l for l in lines if "repeated" not in l]
        want_lines = []
        if requested and not held(user) and transport == "unix":
            self.refused_privileges[user] = self.refused_privileges.get(user, 0) + 1
            if lines and lines[0].get("action") == "EnablePrivilege":
                self.written_privileges[user] = self.written_privileges.get(user, 0) + 1
                want_lines.append({"action": "EnablePrivilege", "result": "refused",
                                   "params": "SeDebugPrivilege",
                                   "detail": "SeDebugPrivilege is not held"})
        enabled = held(user) and (transport == "https" or requested)
        want_lines.append({"action": "SetPriority" if method == "SetPriority" else "Terminate",
                           "result": str(want), "target.pid": str(pid),
                           "mode": "daemon",
                           "privileges": "none" if not enabled else "SeDebugPrivilege"
                           if transport == "unix"
                           else "SeDebugPrivilege,SeIncreaseBasePriorityPrivilege"})
        self.assertEqual(len(lines), len(want_lines), "%s: audit lines %r" % (cell, lines))
        for got, w in zip(lines, want_lines):
            for k, v in w.items():
                self.assertEqual(got.get(k), v, "%s: audit %s in %r" % (cell, k, got))
            u = env.users[user]
            self.assertEqual(got["caller.uid"], str(u.uid), cell)
            self.assertTrue(got["peer"].startswith("unix:" if transport == "unix" else "https:"),
                            got)
        if transport == "https":
            self.assertEqual(lines[-1]["caller.user"], env.users[user].name)
        self.assertEqual(lines[-1]["target.uid"],
                         str(env.users[owner].uid if owner != "root" else 0))
        if method == "SetPriority":
            self.assertEqual(lines[-1]["params"], "Priority=64")
        return rv, alive

    def test_matrix(self):
        self.summaries, self.refused_privileges, self.written_privileges = [], {}, {}
        results = {}
        for user in USERS:
            for transport, requested in COLUMNS:
                for target in TARGETS:
                    with self.subTest(user=user, transport=transport, requested=requested,
                                      target=target):
                        results[(user, transport, requested, target)] = self.run_cell(
                            user, transport, requested, target)
        self.assertEqual(len(results), len(USERS) * len(COLUMNS) * len(TARGETS))
        others = {}
        for method in ("Delete", "SetPriority"):
            for user in USERS:
                for transport, requested in COLUMNS:
                    for target in TARGETS:
                        with self.subTest(method=method, user=user, transport=transport,
                                          requested=requested, target=target):
                            others[(method, user, transport, requested, target)] = \
                                self.run_cell(user, transport, requested, target, method)
        self.assertEqual(len(others), 2 * len(USERS) * len(COLUMNS) * len(TARGETS))
        # Every refused EnablePrivilege was written or counted in a summary, once the last
        # window has ended.
        def counted(user):
            name = self.env.users[user].name
            return self.written_privileges.get(user, 0) + sum(
                int(l["repeated"]) for l in self.summaries
                if l.get("action") == "EnablePrivilege" and l.get("caller.user") == name)

        def all_counted():
            self.summaries += [l for l in self.env.audit.new() if "repeated" in l]
            return all(counted(u) == n for u, n in self.refused_privileges.items())
        e2e.wait_for(all_counted, 20, "the audit's repeat summaries")
        table = render_table(results) + "\n\n" + render_other_table(others)
        with open(README) as f:
            text = f.read()
        if os.environ.get("LWMI_UPDATE_README") == "1":
            a, b = text.index(BEGIN) + len(BEGIN), text.index(END)
            with open(README, "w") as f:
                f.write(text[:a] + "\n" + table + "\n" + text[b:])
            return
        self.assertIn(BEGIN, text, "README.md has no security matrix")
        shown = text[text.index(BEGIN) + len(BEGIN):text.index(END)].strip()
        self.assertEqual(shown, table, "README.md's security matrix differs from the run; "
                                       "LWMI_UPDATE_README=1 rewrites it")


if __name__ == "__main__":
    unittest.main()
