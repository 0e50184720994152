"""Class introspection as a Windows admin asks for it (issue: discovery): the schema query
`SELECT * FROM meta_class` through lwmid (WS-Man Enumerate with a WQL filter on its Unix socket)
answers what the embedded engine answers, one class object per class of the namespace, and its
WHERE gets the normal WQL errors. Each command is written with the quoting a bash user needs,
and its output compared.
"""
import os
import re
import subprocess
import unittest

import lwmi_e2e as e2e
from lwmi_e2e import lwmid
from lwmi_e2e import EXIT_OK, run_lwmic

EXIT_WBEM = 3


def setUpModule():
    if not os.access(e2e.LWMIC, os.X_OK):
        raise unittest.SkipTest("lwmic not built at %s (set LWMIC)" % e2e.LWMIC)


class IntrospectionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        lwmid.set_up_class(cls, "lwmi-intro-")
        cls.socket = os.path.join(cls.work, "lwmid.sock")
        cls.d = lwmid.start_daemon(cls, cls.work, lwmid.config_text("root", "root", "lwmi"),
                                   socket_path=cls.socket)

    def via_lwmid(self, *args):
        return run_lwmic("--socket", self.socket, *args)

    def embedded(self, *args):
        return run_lwmic("--embedded", *args)

    def test_meta_class_through_lwmid_is_what_the_engine_answers(self):
        # wmic path meta_class get __CLASS,__SUPERCLASS  /  Get-CimClass
        rc, out, err = self.via_lwmid("query", "SELECT * FROM meta_class")
        self.assertEqual(rc, EXIT_OK, err)
        rc2, local, err2 = self.embedded("query", "SELECT * FROM meta_class")
        self.assertEqual(rc2, EXIT_OK, err2)
        self.assertEqual(out, local)
        lines = out.splitlines()
        self.assertRegex(lines[0], r"^__CLASS +__SUPERCLASS +__DYNASTY +__PROPERTY_COUNT$")
        self.assertIn("Win32_Process", [l.split()[0] for l in lines[1:]])
        self.assertTrue(any(re.fullmatch(
            r"Win32_Process +CIM_Process +CIM_ManagedSystemElement +45", l) for l in lines), out)
        self.assertTrue(any(re.fullmatch(
            r"CIM_ManagedSystemElement +CIM_ManagedSystemElement +5", l) for l in lines), out)
        self.assertNotIn("__EventFilter", out)  # root\subscription's

    def test_where_isa_and_class_as_csv(self):
        # Get-CimClass -ClassName * | ? { $_ -is CIM_Process }, as WQL's schema query
        rc, out, err = self.via_lwmid("--format", "csv", "query",
                                      "SELECT * FROM meta_class WHERE __THIS ISA 'CIM_Process'")
        self.assertEqual(rc, EXIT_OK, err)
        host = out.split("\r\n")[1].split(",")[0]
        self.assertEqual(out,
                         "Node,__CLASS,__SUPERCLASS,__DYNASTY,__PROPERTY_COUNT\r\n"
                         "%s,CIM_Process,CIM_LogicalElement,CIM_ManagedSystemElement,18\r\n"
                         "%s,Win32_Process,CIM_Process,CIM_ManagedSystemElement,45\r\n"
                         % (host, host))
        rc, out, err = self.via_lwmid("--format", "json", "query",
                                      "SELECT * FROM meta_class WHERE __CLASS = 'win32_process'")
        self.assertEqual(rc, EXIT_OK, err)
        rows = e2e.json_lines(out)
        self.assertEqual(len(rows), 1, out)
        self.assertEqual(rows[0]["__GENUS"], 1)
        self.assertEqual(rows[0]["__DERIVATION"],
                         ["CIM_Process", "CIM_LogicalElement", "CIM_ManagedSystemElement"])
        self.assertEqual(rows[0]["__NAMESPACE"], "root\\cimv2")
        self.assertEqual(rows[0]["__RELPATH"], "Win32_Process")

    def test_the_subscription_namespace(self):
        # wmic /namespace:\\root\subscription path meta_class get __CLASS
        rc, out, err = self.via_lwmid("--namespace", "root\\subscription", "--format", "csv",
                                      "query", "SELECT __CLASS FROM meta_class")
        self.assertEqual(rc, EXIT_OK, err)
        rc2, local, err2 = self.embedded("--namespace", "root\\subscription", "--format", "csv",
                                         "query", "SELECT __CLASS FROM meta_class")
        self.assertEqual(rc2, EXIT_OK, err2)
        self.assertEqual(out, local)
        classes = [l.split(",")[1] for l in out.split("\r\n")[1:] if l]
        self.assertIn("__EventFilter", classes)
        self.assertIn("__FilterToConsumerBinding", classes)
        self.assertNotIn("Win32_Process", classes)

    def test_unknown_property_is_the_normal_wql_error(self):
        rc, out, err = self.via_lwmid("query", "SELECT * FROM meta_class WHERE Name='x'")
        self.assertEqual(rc, EXIT_WBEM, err)
        self.assertEqual(out, "")
        self.assertEqual(err,
                         "lwmic: error: WBEM_E_INVALID_QUERY (0x80041017): invalid query at "
                         "column 32: class meta_class has no property 'Name'\n"
                         "  SELECT * FROM meta_class WHERE Name='x'\n"
                         "                                 ^\n")

    # -- `lwmic class NAME` (Get-CimClass), `lwmic class` (a namespace's classes) and wmic's
    #    `process get /?` / `process call /?`, through lwmid's GetClass and locally.

    def test_class_through_lwmid_is_what_the_engine_answers(self):
        # Get-CimClass Win32_Process | Select -Expand CimClassMethods
        rc, out, err = self.via_lwmid("class", "Win32_Process")
        self.assertEqual(rc, EXIT_OK, err)
        rc2, local, err2 = self.embedded("class", "Win32_Process")
        self.assertEqual(rc2, EXIT_OK, err2)
        self.assertEqual(out, local)
        self.assertIn("Class:       Win32_Process\n", out)
        self.assertIn("Properties (45):", out)
        self.assertRegex(out, r"\n  WorkingSetSize +uint64 +bytes +read\n")
        self.assertRegex(out, r"\n  Terminate  \[privilege: SeDebugPrivilege\]\n")
        # Terminate's return codes, each with what it means.
        terminate = out[out.index("  Terminate  "):]
        for code, meaning in (("0", "Successful completion"), ("2", "Access denied"),
                              ("3", "Insufficient privilege"), ("8", "Unknown failure"),
                              ("9", "Path not found"), ("21", "Invalid parameter")):
            self.assertRegex(terminate, r"\n +%s +%s\n" % (code, meaning))

    def test_a_namespace_lists_its_classes(self):
        rc, out, err = self.via_lwmid("--namespace", "root\\subscription", "class")
        self.assertEqual(rc, EXIT_OK, err)
        names = [l.split()[0] for l in out.splitlines()[1:] if l and not l.startswith(" ")]
        for c in ("__EventFilter", "__FilterToConsumerBinding", "CommandLineEventConsumer"):
            self.assertIn(c, names)
        self.assertNotIn("Win32_Process", names)

    def test_an_unknown_class_is_a_wbem_error(self):
        rc, out, err = self.via_lwmid("class", "Win32_Nope")
        self.assertEqual(rc, EXIT_WBEM, err)
        self.assertIn("WBEM_E_INVALID_CLASS (0x80041010)", err)
        self.assertEqual(out, "")

    def test_wmic_get_and_call_help_show_properties_or_methods(self):
        rc, out, err = run_lwmic("process", "get", "/?")
        self.assertEqual((rc, err), (EXIT_OK, ""))
        self.assertIn("Properties (45):", out)
        self.assertNotIn("Methods (", out)
        rc, out, err = run_lwmic("PROCESS", "where", "name='x'", "CALL", "/?")
        self.assertEqual((rc, err), (EXIT_OK, ""))
        self.assertIn("Methods (7):", out)
        self.assertNotIn("Properties (", out)
        rc, out, err = run_lwmic("path", "Win32_ProcessStartTrace", "get", "/?")
        self.assertEqual((rc, err), (EXIT_OK, ""))
        self.assertIn("Class:       Win32_ProcessStartTrace\n", out)


if __name__ == "__main__":
    unittest.main()
