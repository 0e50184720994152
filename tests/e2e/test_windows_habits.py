"""lwmic typed as a Windows admin types wmic and PowerShell's CIM cmdlets (issue: wmic and CIM
habits): verbs and aliases in any case, Get-CimInstance's -Filter, a class name alone for
events, wmic's list property sets, formats, /every and /repeat, help and /?, sort and limit;
through a real lwmid with real users, the privileges wmic's alias form enables and one host or
many over HTTP. Each command is written with the quoting a bash user needs, and its output
compared. Real processes, started under a unique name.
"""
import json
import os
import secrets
import shutil
import subprocess
import time
import unittest
import xml.etree.ElementTree as ET

import lwmi_e2e as e2e
from lwmi_e2e import EXIT_OK, run_lwmic
from lwmi_e2e import lwmid, security_env


def setUpModule():
    if not os.access(e2e.LWMIC, os.X_OK):
        raise unittest.SkipTest("lwmic not built at %s (set LWMIC)" % e2e.LWMIC)


class HabitsTest(unittest.TestCase):
    def setUp(self):
        self.dir = e2e.work_dir(self, "lwmi-habits-", mode=0o700)
        self.name = "habit-%s" % secrets.token_hex(3)
        self.exe = e2e.sleep_copy(self.dir, self.name)

    def start(self, exe=None):
        p = subprocess.Popen([exe or self.exe, "60"], stdin=subprocess.DEVNULL)
        self.addCleanup(lambda: (p.kill(), p.wait()))
        e2e.wait_for(lambda: e2e.proc_state(p.pid) == "S", 10, "the program to start")
        return p

    def where(self, name=None):
        return "name='%s'" % (name or self.name)

    def table(self, out):
        """A table's header words and its rows' words (for sets whose cells are never empty)."""
        lines = [l.split() for l in out.splitlines() if l.strip()]
        return lines[0], lines[1:]

    def test_list_property_sets(self):
        # wmic process where "name='x'" list brief | memory | io | status | instance | system
        p = self.start()
        rc, out, err = run_lwmic("process", "where", self.where(), "list", "brief")
        self.assertEqual(rc, EXIT_OK, err)
        head, rows = self.table(out)
        self.assertEqual(head, ["HandleCount", "Name", "Priority", "ProcessId", "ThreadCount",
                                "WorkingSetSize"])
        self.assertEqual(len(rows), 1, out)
        self.assertEqual((rows[0][1], rows[0][3], rows[0][4]), (self.name, str(p.pid), "1"))
        sets = {
            "memory": ["Handle", "MaximumWorkingSetSize", "MinimumWorkingSetSize", "Name",
                       "PageFaults", "PageFileUsage", "PeakPageFileUsage", "PeakVirtualSize",
                       "PeakWorkingSetSize", "PrivatePageCount", "QuotaNonPagedPoolUsage",
                       "QuotaPagedPoolUsage", "QuotaPeakNonPagedPoolUsage",
                       "QuotaPeakPagedPoolUsage", "VirtualSize", "WorkingSetSize"],
            "io": ["Name", "ProcessId", "ReadOperationCount", "ReadTransferCount",
                   "WriteOperationCount", "WriteTransferCount"],
            "status": ["Name", "ProcessId", "Status"],
            "instance": ["__PATH"],
            "system": ["__CLASS", "__DERIVATION", "__DYNASTY", "__GENUS", "__NAMESPACE",
                       "__PATH", "__PROPERTY_COUNT", "__RELPATH", "__SERVER", "__SUPERCLASS"],
        }
        for name, columns in sets.items():
            with self.subTest(set=name):
                rc, out, err = run_lwmic("process", "where", self.where(), "list", name)
                self.assertEqual(rc, EXIT_OK, err)
                head, rows = self.table(out)
                self.assertEqual(head, columns)
                self.assertEqual(len(rows), 1, out)
                self.assertIn(str(p.pid), " ".join(rows[0]))
        rc, out, err = run_lwmic("process", "where", self.where(), "list", "instance")
        self.assertTrue(out.rstrip().endswith(':Win32_Process.Handle="%d"' % p.pid), out)
        rc, out, err = run_lwmic("process", "where", self.where(), "list", "system")
        self.assertIn(" Win32_Process.Handle=\"%d\" " % p.pid, out)
        self.assertIn(" CIM_Process\n", out)

    def test_list_full_is_name_value_blocks(self):
        # wmic process where "name='x'" list full  (and bare `list`): every property, A to Z
        p = self.start()
        for argv in (["list", "full"], ["list"], ["LIST", "FULL"]):
            with self.subTest(argv=argv):
                rc, out, err = run_lwmic("process", "where", self.where(), *argv)
                self.assertEqual(rc, EXIT_OK, err)
                self.assertTrue(out.startswith("\n\n"), out[:40])
                lines = [l for l in out.splitlines() if l]
                names = [l.split("=", 1)[0] for l in lines]
                self.assertEqual(names, sorted(e2e.ALL_PROPERTIES, key=str.lower))
                self.assertIn("Name=%s" % self.name, lines)
                self.assertIn("ProcessId=%d" % p.pid, lines)
                self.assertIn("Status=", lines)  # NULL: nothing after the '='
        rc, out, err = run_lwmic("process", "where", self.where(), "list", "bogus")
        self.assertEqual(rc, 2)
        self.assertEqual(out, "")
        self.assertIn("list takes a property set (brief, full, instance, io, memory, statistics, "
                      "status, system), not 'bogus'", err)

    def test_format_given_wins_over_a_sets_own(self):
        # wmic process where "name='x'" list brief /format:csv
        p = self.start()
        want = "Node,HandleCount,Name,Priority,ProcessId,ThreadCount,WorkingSetSize\r\n"
        for argv in (["/format:csv", "process", "where", self.where(), "list", "brief"],
                     ["process", "where", self.where(), "list", "brief", "/format:csv"]):
            with self.subTest(argv=argv):
                rc, out, err = run_lwmic(*argv)
                self.assertEqual(rc, EXIT_OK, err)
                self.assertTrue(out.startswith(want), out)
                row = out[len(want):].rstrip("\r\n").split(",")
                self.assertEqual((row[2], row[4]), (self.name, str(p.pid)), out)
        rc, out, err = run_lwmic("/format:csv", "process", "where", self.where(), "list", "full")
        self.assertEqual(rc, EXIT_OK, err)
        header = out.split("\r\n", 1)[0].split(",")
        self.assertEqual(header, ["Node"] + sorted(e2e.ALL_PROPERTIES, key=str.lower))

    def xml_instances(self, doc):
        """The INSTANCEs of a /format:xml document, each as {Name: VALUE text or None}."""
        root = ET.fromstring(doc.encode())
        self.assertEqual(root.tag, "COMMAND")
        out = []
        for inst in root.findall("./RESULTS/CIM/INSTANCE"):
            self.assertEqual(inst.get("CLASSNAME"), "Win32_Process")
            out.append({p.get("NAME"): p.findtext("VALUE") for p in inst.findall("PROPERTY")})
        return root, out

    def test_xml_rawxml_and_htable(self):
        # wmic process where "name='x'" get Name,ProcessId /format:xml (and rawxml, htable)
        p = self.start()
        rc, out, err = run_lwmic("process", "where", self.where(), "get", "Name,ProcessId",
                                 "/format:xml")
        self.assertEqual(rc, EXIT_OK, err)
        root, insts = self.xml_instances(out)
        self.assertEqual(insts, [{"Name": self.name, "ProcessId": str(p.pid)}])
        self.assertIn(self.where(), root.findtext("./REQUEST/COMMANDLINE"))
        rc, out, err = run_lwmic("/format:rawxml", "process", "where", self.where(), "get",
                                 "Name,ProcessId")
        self.assertEqual(rc, EXIT_OK, err)
        lines = out.splitlines()
        self.assertEqual(len(lines), 1, out)
        inst = ET.fromstring(lines[0])
        self.assertEqual(inst.tag, "INSTANCE")
        self.assertEqual({q.get("NAME"): q.findtext("VALUE") for q in inst.findall("PROPERTY")},
                         {"Name": self.name, "ProcessId": str(p.pid)})
        rc, out, err = run_lwmic("/format:htable", "process", "where", self.where(), "get",
                                 "Name,ProcessId")
        self.assertEqual(rc, EXIT_OK, err)
        self.assertTrue(out.startswith("<!DOCTYPE html>"), out)
        self.assertIn("<tr><th>Node</th><th>Name</th><th>ProcessId</th></tr>", out)
        self.assertRegex(out, r"<tr><td>[^<]+</td><td>%s</td><td>%d</td></tr>"
                         % (self.name, p.pid))
        rc, out, err = run_lwmic("--format", "bogus", "process", "get", "Name")
        self.assertEqual(rc, 2)
        self.assertEqual(out, "")
        self.assertIn("unknown format 'bogus': table, list, csv, json, htable, xml or rawxml",
                      err)

    def test_xml_of_a_hostile_name_is_well_formed(self):
        # A program named <&]]>: its name is text in the XML, never markup.
        hostile = "hx<&]]>" + secrets.token_hex(2)
        exe = os.path.join(self.dir, hostile)
        shutil.copy2("/bin/sleep", exe)
        p = self.start(exe)
        for fmt in ("xml", "rawxml", "htable"):
            with self.subTest(format=fmt):
                rc, out, err = run_lwmic("/format:" + fmt, "process", "where",
                                         self.where(hostile), "get", "Name,ProcessId")
                self.assertEqual(rc, EXIT_OK, err)
                self.assertNotIn(hostile, out)  # escaped wherever it appears
                if fmt == "xml":
                    root, insts = self.xml_instances(out)
                    self.assertEqual(insts, [{"Name": hostile, "ProcessId": str(p.pid)}])
                    self.assertIn(hostile, root.findtext("./REQUEST/COMMANDLINE"))
                elif fmt == "rawxml":
                    inst = ET.fromstring(out.strip())
                    self.assertEqual(inst.find("PROPERTY[@NAME='Name']").findtext("VALUE"),
                                     hostile)
                else:
                    self.assertIn("<td>hx&lt;&amp;]]&gt;", out)

    def test_sort_and_first(self):
        # Get-CimInstance … | Sort-Object ProcessId -Descending | Select-Object -First 2
        procs = [self.start() for _ in range(3)]
        pids = sorted(p.pid for p in procs)
        base = ["list", "Win32_Process", "--filter", self.where().replace("name", "Name"),
                "--properties", "Name,ProcessId", "--sort", "ProcessId:desc"]
        rc, out, err = run_lwmic(*base)
        self.assertEqual(rc, EXIT_OK, err)
        head, rows = self.table(out)
        self.assertEqual(head, ["Name", "ProcessId"])
        self.assertEqual(rows, [[self.name, str(pid)] for pid in reversed(pids)])
        rc, out, err = run_lwmic(*base, "--first", "2")
        self.assertEqual(rc, EXIT_OK, err)
        self.assertEqual(self.table(out)[1], [[self.name, str(pid)] for pid in pids[:0:-1]])
        rc, out, err = run_lwmic("process", "where", self.where(), "get", "ProcessId", "--sort",
                                 "ProcessId", "--first", "1")
        self.assertEqual(rc, EXIT_OK, err)
        self.assertEqual(self.table(out), (["ProcessId"], [[str(pids[0])]]))
        # What is sorted by must be selected: the user's own query is not widened.
        rc, out, err = run_lwmic("query", "SELECT Name FROM Win32_Process", "--sort",
                                 "ProcessId")
        self.assertEqual(rc, 3, err)
        self.assertEqual(out, "")
        self.assertIn(e2e.WBEM_E_INVALID_PROPERTY, err)
        self.assertIn("add it to the SELECT list", err)
        rc, out, err = run_lwmic("list", "Win32_Process", "--sort", "Bogus")
        self.assertEqual(rc, 3, err)
        self.assertEqual(out, "")
        self.assertIn(e2e.WBEM_E_INVALID_PROPERTY, err)
        self.assertIn("'Bogus'", err)
        # A method call is no listing: refused before anything is called.
        for argv in (["process", "where", self.where(), "call", "terminate", "--sort",
                      "ProcessId"],
                     ["--sort", "ProcessId", "call", "SELECT * FROM Win32_Process WHERE %s"
                      % self.where(), "Terminate"]):
            with self.subTest(argv=argv[:2]):
                rc, out, err = run_lwmic(*argv)
                self.assertEqual(rc, 2, err)
                self.assertIn("--sort, --first and --every apply to listings", err)
        self.assertEqual([p.poll() for p in procs], [None, None, None])

    def test_every_and_repeat(self):
        # wmic process where "name='x'" get ProcessId /every:0.3 /repeat:3
        p = self.start()
        rc, out, err = run_lwmic("process", "where", self.where(), "get", "ProcessId",
                                 "/every:0.3", "/repeat:3")
        self.assertEqual(rc, EXIT_OK, err)
        self.assertEqual([l.strip() for l in out.splitlines() if l.strip()],
                         ["ProcessId", str(p.pid)] * 3)
        rc, out, err = run_lwmic("process", "where", self.where(), "get", "ProcessId",
                                 "/repeat:2")
        self.assertEqual(rc, 2)
        self.assertEqual(out, "")
        self.assertIn("--repeat (wmic's /repeat:N) goes with --every", err)

    def test_help_at_each_level(self):
        # lwmic help [VERB], wmic's /? at each level, --version
        for argv, usage in ((["help"], "Usage: lwmic [OPTIONS] SUBCOMMAND"),
                            (["/?"], "Usage: lwmic [OPTIONS] SUBCOMMAND"),
                            (["help", "watch"], "Usage: lwmic watch [OPTIONS] wql"),
                            (["HELP", "Watch"], "Usage: lwmic watch [OPTIONS] wql"),
                            (["process", "/?"], "Usage: lwmic process [OPTIONS]"),
                            # wmic's `get /?` lists the class's properties
                            (["process", "get", "/?"], "Properties (45):\n"),
                            (["process", "where", "name='x'", "get", "-?"],
                             "Properties (45):\n")):
            with self.subTest(argv=argv):
                rc, out, err = run_lwmic(*argv)
                self.assertEqual(rc, EXIT_OK, err)
                self.assertIn(usage, out)
                self.assertEqual(err, "")
        rc, out, err = run_lwmic("help")
        for verb in ("get", "list", "query", "call", "delete", "watch", "process", "path"):
            self.assertRegex(out, r"\n  %s\s" % verb)
        rc, out, err = run_lwmic("HELP", "bogus")
        self.assertEqual(rc, 2)
        self.assertEqual(out, "")
        self.assertIn("no verb 'bogus' (lwmic has get, list,", err)
        rc, out, err = run_lwmic("--version")
        self.assertEqual((rc, out), (EXIT_OK, "lwmic 0.1.0\n"))

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
        lwmid.require_lwmid()
        os.chmod(self.dir, 0o755)
        d = lwmid.start_daemon(self, self.dir, "[audit]\njournal = false\n", http="127.0.0.1:0")
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
        out, err = e2e.output_files(self, self.dir)
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


class HabitsThroughLwmid(security_env.SecurityTest):
    """wmic habits against a real lwmid, with real users (security_env): the privileges the
    alias form enables, and one host or many over HTTP."""

    def refused(self, role, *args):
        """lwmic as `role` on lwmid's socket, ending alice's process (which it must not)."""
        rc, out, err = self.env.lwmic_unix(role, *args)
        self.assertEqual(rc, 1, err)
        return out, err

    def test_the_alias_form_enables_every_privilege_held(self):
        # wmic process where "ProcessId=N" delete: wmic runs with /privileges:enable; so does
        # lwmic's alias form. The generic verbs enable only what --enable-privilege names.
        env = self.env
        alice, admin, bob = (env.users[r].name for r in ("alice", "admin", "bob"))
        pid = env.target(self, "alice")
        where = "ProcessId=%d" % pid
        why = "process %d belongs to %s: SeDebugPrivilege must be held and enabled" % (pid, alice)
        for args in (("/privileges:disable", "process", "where", where, "delete"),
                     ("/PRIVILEGES:DISABLE", "path", "Win32_Process", "where", where, "delete")):
            with self.subTest(args=args[:2]):
                out, err = self.refused("admin", *args)
                self.assertEqual([l.split() for l in out.splitlines()],
                                 [["Handle", "Name", "ReturnValue"],
                                  [str(pid), e2e.proc_status(pid)["Name"], "2"]])
                self.assertEqual(err.splitlines(), [
                    "lwmic: note: " + why,
                    "lwmic: Terminate: 1 matched, 0 returned 0, 1 returned non-zero, 0 gone "
                    "before the call"])
        rc, out, err = env.lwmic_unix("admin", "delete", 'Win32_Process.Handle="%d"' % pid)
        self.assertEqual(rc, 3, err)
        self.assertIn("WBEM_E_ACCESS_DENIED (0x80041003): " + why, err)
        # bob holds nothing: nothing is enabled, and nothing was asked for by name.
        out, err = self.refused("bob", "process", "where", where, "delete")
        self.assertIn("lwmic: note: " + why + "\n", err)
        self.assertTrue(e2e.alive(pid))
        lines = env.audit.new()
        self.assertEqual([(l["action"], l["result"], l["caller.user"], l["privileges"])
                          for l in lines if "repeated" not in l],
                         [("Terminate", "2", admin, "none")] * 3 +
                         [("Terminate", "2", bob, "none")])
        # The admin's own alias form: every privilege held is enabled, the process ends.
        for form in (("process",), ("path", "Win32_Process")):
            with self.subTest(form=form[0]):
                if form[0] == "path":  # a second process of alice's
                    pid = env.target(self, "alice")
                name = e2e.proc_status(pid)["Name"]
                rc, out, err = env.lwmic_unix("admin", *form, "where", "ProcessId=%d" % pid,
                                              "delete")
                self.assertEqual(rc, 0, err)
                self.assertEqual([l.split() for l in out.splitlines()],
                                 [["Handle", "Name", "ReturnValue"], [str(pid), name, "0"]])
                self.assertEqual(err, "lwmic: Terminate: 1 matched, 1 returned 0, 0 returned "
                                 "non-zero, 0 gone before the call\n")
                self.assertTrue(e2e.wait_gone(pid))
                got = [l for l in env.audit.new() if "repeated" not in l]
                self.assertEqual([(l["action"], l["result"], l["target.pid"]) for l in got],
                                 [("Terminate", "0", str(pid))])
                self.assertEqual(got[0]["privileges"],
                                 "SeDebugPrivilege,SeIncreaseBasePriorityPrivilege")

    def test_one_host_and_many_give_the_same_rows(self):
        # wmic /node:h1 process where … get Name,ProcessId, and /node:h1,h2: one code path.
        env = self.env
        _, name = env.program("hbn-" + secrets.token_hex(3))
        pids = sorted(env.target(self, "alice", name) for _ in range(2))
        pw = os.path.join(env.work, "pw-" + secrets.token_hex(3))
        with open(pw, "w") as f:
            f.write(env.users["alice"].password + "\n")
        hostport = env.http.split("//", 1)[1].split("/", 1)[0]
        one = "http://" + hostport
        two = "http://localhost:" + hostport.rsplit(":", 1)[1]
        words = ("process", "where", "name='%s'" % name, "get", "Name,ProcessId")
        auth = ("--user", env.users["alice"].name, "--password-file", pw)
        rc, out, err = run_lwmic("--node", one, *auth, *words)
        self.assertEqual((rc, err), (EXIT_OK, ""))
        lines = [l.split() for l in out.splitlines()]
        self.assertEqual(lines, [["Name", "ProcessId"]] + [[name, str(p)] for p in pids])
        rc, out, err = run_lwmic("--node", "%s,%s" % (one, two), *auth, *words)
        self.assertEqual(rc, EXIT_OK, err)
        self.assertEqual(err, "lwmic: 2 host(s): 2 ok, 0 failed, 0 unreachable, 0 refused, "
                              "0 timed out\n")
        many = [l.split() for l in out.splitlines()]
        self.assertEqual(many[0], ["Node", "Name", "ProcessId"])
        self.assertEqual(sorted(many[1:]), sorted([node, name, str(p)]
                                                  for node in (one, two) for p in pids))
        for node in (one, two):
            self.assertEqual([r[1:] for r in many[1:] if r[0] == node], lines[1:],
                             "each host's rows as one host shows them")


if __name__ == "__main__":
    unittest.main()
