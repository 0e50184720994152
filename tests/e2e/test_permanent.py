"""Permanent event subscriptions: __EventFilter, consumers and __FilterToConsumerBinding in
root\\subscription, made over WS-Management (python3-winrm, raw envelopes), by lwmic and in
subscriptions.d files, run by lwmid itself across restarts. Real lwmid, real users, real processes.
"""
import json
import os
import re
import secrets
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import unittest
import uuid
import xml.etree.ElementTree as ET

import lwmi_e2e as e2e
from lwmi_e2e import lwmid, security_env

WMI = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/subscription/"
TRANSFER = "http://schemas.xmlsoap.org/ws/2004/09/transfer/"
ENVELOPE = """<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" \
xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" \
xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd">
<s:Header>
<a:To>http://localhost:5985/wsman</a:To>
<w:ResourceURI s:mustUnderstand="true">{uri}</w:ResourceURI>
<a:ReplyTo><a:Address s:mustUnderstand="true">\
http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo>
<a:Action s:mustUnderstand="true">{action}</a:Action>
<w:MaxEnvelopeSize s:mustUnderstand="true">512000</w:MaxEnvelopeSize>
<a:MessageID>uuid:{id}</a:MessageID>
<w:OperationTimeout>PT60S</w:OperationTimeout>{selectors}
</s:Header>
<s:Body>{body}</s:Body>
</s:Envelope>"""


def esc(text):
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def epr(cls, selectors):
    """An endpoint reference, as WinRM sends a REF property."""
    sel = "".join('<w:Selector Name="%s">%s</w:Selector>' % (k, esc(v)) for k, v in selectors)
    return ("<a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
            "</a:Address><a:ReferenceParameters><w:ResourceURI>%s%s</w:ResourceURI>"
            "<w:SelectorSet>%s</w:SelectorSet></a:ReferenceParameters>" % (WMI, cls, sel))


def create_envelope(cls, props):
    """WS-Transfer Create of an instance of root\\subscription's `cls`; props: (name, value),
    a value ("EPR", cls, selectors) is a reference."""
    parts = []
    for name, value in props:
        inner = epr(value[1], value[2]) if isinstance(value, tuple) else esc(value)
        parts.append("<p:%s>%s</p:%s>" % (name, inner, name))
    body = '<p:%s xmlns:p="%s%s">%s</p:%s>' % (cls, WMI, cls, "".join(parts), cls)
    return ENVELOPE.format(uri=WMI + cls, action=TRANSFER + "Create", id=uuid.uuid4(),
                           selectors="", body=body)


def delete_envelope(cls, selectors):
    sel = "".join('<w:Selector Name="%s">%s</w:Selector>' % (k, esc(v)) for k, v in selectors)
    return ENVELOPE.format(uri=WMI + cls, action=TRANSFER + "Delete", id=uuid.uuid4(),
                           selectors="\n<w:SelectorSet>%s</w:SelectorSet>" % sel, body="")


def e2e_read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def get_envelope(cls, selectors):
    sel = "".join('<w:Selector Name="%s">%s</w:Selector>' % (k, esc(v)) for k, v in selectors)
    return ENVELOPE.format(uri=WMI + cls, action=TRANSFER + "Get", id=uuid.uuid4(),
                           selectors="\n<w:SelectorSet>%s</w:SelectorSet>" % sel, body="")


def fault_code(data):
    """The WBEM code (decimal) of a fault answer, or None."""
    m = (re.search(r"<[^>]*WSManFault[^>]*Code=\"(\d+)\"", data) or
         re.search(r"'wsmanfault_code': '(\d+)'", data))  # python3-winrm's exception text
    return int(m.group(1)) if m else None


class PermanentSubscriptionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # The directories lwmid reads must be root's alone; made before the daemon starts.
        cls.top = tempfile.mkdtemp(prefix="lwmi-perm-")
        cls.addClassCleanup(shutil.rmtree, cls.top, True)
        os.chmod(cls.top, 0o755)
        cls.subs_dir = os.path.join(cls.top, "subscriptions.d")
        cls.log_dir = os.path.join(cls.top, "log")
        cls.out_dir = os.path.join(cls.top, "out")  # where consumer commands write
        for d in (cls.subs_dir, cls.log_dir, cls.out_dir):
            os.mkdir(d)
            os.chmod(d, 0o755)
        cls.env = security_env.SecurityEnv(cls)
        cls.runner = cls.env.users["bob"]  # command_user: an unprivileged account
        os.chown(cls.out_dir, cls.runner.uid, cls.runner.gid)
        # The guard's breaker (50 blocks a second by default, against a rule written too wide)
        # is raised: the scenario starts Download.exe 1,000 times as fast as it can.
        cls.extra = "\n".join([
            "[guard]", "breaker_per_second = 1000000", "",
            "[subscriptions]",
            'directory = "%s"' % cls.subs_dir,
            'log_directory = "%s"' % cls.log_dir,
            'command_user = "%s"' % cls.runner.name,
            "command_timeout = 10", ""])
        cls.state = os.path.join(cls.top, "state")
        cls.audit_path = os.path.join(cls.top, "audit.log")
        cls.d = None
        cls.start_daemon()
        cls.addClassCleanup(lambda: cls.d and cls.d.close())

    @classmethod
    def start_daemon(cls):
        conf = cls.env.conf_text(cls.audit_path) + cls.extra
        cls.socket = os.path.join(cls.top, "lwmid-%s.sock" % secrets.token_hex(3))
        cls.d = lwmid.Daemon(cls.top, conf, socket_path=cls.socket, https="127.0.0.1:0",
                          state_dir=cls.state)
        cls.d.wait_ready(20)
        cls.https = cls.d.endpoint("https")
        cls.cert = os.path.join(cls.state, "lwmid.crt")

    def restart(self):
        self.d.stop()
        self.d.close()
        type(self).start_daemon()

    # -- clients ---------------------------------------------------------------------------------

    def winrm(self, role):
        from winrm.protocol import Protocol
        u = self.env.users[role]
        p = Protocol(endpoint=self.https, transport="basic", username=u.name, password=u.password,
                     message_encryption="never", server_cert_validation="validate",
                     ca_trust_path=self.cert)
        p.transport.build_session()
        self.addCleanup(p.transport.session.close)
        return p

    def send(self, role, body):
        """(ok, text): python3-winrm raises on a fault; its text is kept for the code."""
        import winrm.exceptions
        try:
            data = self.winrm(role).send_message(body)
            return True, data.decode() if isinstance(data, bytes) else data
        except winrm.exceptions.WinRMTransportError as e:
            return False, str(e.response_text if hasattr(e, "response_text") else e)
        except winrm.exceptions.WinRMError as e:
            return False, str(e)

    def create(self, role, cls, props):
        ok, text = self.send(role, create_envelope(cls, props))
        self.assertTrue(ok, text[:2000])
        self.assertIn("ResourceCreated", text)
        return text

    def create_fault(self, role, cls, props):
        ok, text = self.send(role, create_envelope(cls, props))
        self.assertFalse(ok, "Create of %s succeeded: %s" % (cls, text[:500]))
        return text

    def lwmic(self, *args, role="root"):
        argv = [e2e.LWMIC, "--socket", self.socket, *args]
        if role != "root":
            argv = self.env.users[role].prefix() + argv
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def states(self):
        rc, out, err = self.lwmic("--format", "json", "list", "LWMI_SubscriptionState")
        self.assertEqual(rc, 0, err)
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def state_of(self, filter_name):
        for s in self.states():
            if ('"%s"' % filter_name) in s["Filter"]:
                return s
        return None

    # -- programs --------------------------------------------------------------------------------

    def writer(self, name):
        """A copy of /bin/sh named `name`: run as `name -c 'echo x > FILE'`."""
        exe = os.path.join(self.env.bindir, name)
        shutil.copy2("/bin/sh", exe)
        os.chmod(exe, 0o755)
        return exe

    def run_writer(self, exe, mark):
        p = subprocess.run([exe, "-c", "echo x > '%s'" % mark], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=20)
        return p.returncode

    # -- the seed's scenario ---------------------------------------------------------------------

    def test_seed_scenario_over_winrm_survives_a_restart_and_ends_with_its_binding(self):
        tag = secrets.token_hex(3)
        name = "Download-%s.exe" % tag
        exe = self.writer(name)
        filt, cons = "no-download-" + tag, "end-download-" + tag
        self.create("admin", "__EventFilter", [
            ("Name", filt), ("QueryLanguage", "WQL"), ("EventNamespace", "root\\cimv2"),
            ("Query", "SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA "
                      "'Win32_Process' AND TargetInstance.Name = '%s'" % name)])
        self.create("admin", "LWMI_TerminateProcessEventConsumer",
                    [("Name", cons), ("Reason", "7")])
        self.create("admin", "__FilterToConsumerBinding", [
            ("Filter", ("EPR", "__EventFilter", [("Name", filt)])),
            ("Consumer", ("EPR", "LWMI_TerminateProcessEventConsumer", [("Name", cons)]))])

        def started_and_wrote(n):
            wrote = 0
            for i in range(n):
                mark = os.path.join(self.top, "mark-%s-%d" % (tag, i))
                self.run_writer(exe, mark)
                wrote += os.path.exists(mark)
            return wrote

        # Get over WS-Man: the filter as made, in root\subscription.
        ok, text = self.send("admin", get_envelope("__EventFilter", [("Name", filt)]))
        self.assertTrue(ok, text[:2000])
        self.assertIn(name, text)
        self.assertIn("root/subscription/__EventFilter", text)
        e2e.wait_for(lambda: (self.state_of(filt) or {}).get("Guard", "").startswith("on"), 10,
                     "the binding's guard rule")
        self.assertEqual(started_and_wrote(1000), 0, "Download.exe wrote its file")
        state = self.state_of(filt)
        self.assertEqual(state["State"], "active")
        self.assertGreaterEqual(state["Fired"], 1)

        self.restart()
        e2e.wait_for(lambda: (self.state_of(filt) or {}).get("Guard", "").startswith("on"), 10,
                     "the binding's guard rule after the restart")
        self.assertEqual(started_and_wrote(20), 0, "the rule did not survive the restart")

        ok, text = self.send("admin", delete_envelope("__FilterToConsumerBinding", [
            ("Filter", '__EventFilter.Name="%s"' % filt),
            ("Consumer", 'LWMI_TerminateProcessEventConsumer.Name="%s"' % cons)]))
        self.assertTrue(ok, text[:2000])
        e2e.wait_for(lambda: self.state_of(filt) is None, 10, "the binding to stop")
        self.assertEqual(started_and_wrote(3), 3, "the program still does not run")
        audit = e2e_read(self.audit_path)
        self.assertIn("action=EventConsumer", audit)

    # -- files -----------------------------------------------------------------------------------

    def test_a_file_with_a_log_and_a_command_consumer_cannot_be_injected(self):
        tag = secrets.token_hex(3)
        script = os.path.join(self.top, "consumer-%s.sh" % tag)
        out = os.path.join(self.out_dir, "runs-" + tag)
        with open(script, "w") as f:
            f.write("#!/bin/sh\n"
                    "d=$(mktemp -d %s/run-XXXXXX)\n"
                    "id -u > \"$d/uid\"\n"
                    "cat > \"$d/stdin\"\n"
                    "i=0; for a in \"$@\"; do printf '%%s' \"$a\" > \"$d/arg$i\"; "
                    "i=$((i+1)); done\n"
                    "echo $i > \"$d/argc\"\n" % out)
        os.chmod(script, 0o755)
        os.mkdir(out)
        os.chown(out, self.runner.uid, self.runner.gid)
        log = os.path.join(self.log_dir, "hostile-%s.log" % tag)
        prefix = "evil%s" % tag
        toml = os.path.join(self.subs_dir, "%s.toml" % tag)
        with open(toml, "w") as f:
            f.write("""
[[__EventFilter]]
Name = "hostile-{tag}"
Query = "SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA 'Win32_Process' AND TargetInstance.Name LIKE '{prefix}%'"

[[LogFileEventConsumer]]
Name = "hostile-log-{tag}"
Filename = "{log}"
Text = "started %TargetInstance.Name% pid %TargetInstance.ProcessId%"

[[CommandLineEventConsumer]]
Name = "hostile-run-{tag}"
ExecutablePath = "{script}"
CommandLineTemplate = "consumer %TargetInstance.Name% fixed"

[[__FilterToConsumerBinding]]
Filter = "hostile-{tag}"
Consumer = 'LogFileEventConsumer.Name="hostile-log-{tag}"'

[[__FilterToConsumerBinding]]
Filter = "hostile-{tag}"
Consumer = 'CommandLineEventConsumer.Name="hostile-run-{tag}"'
""".format(tag=tag, prefix=prefix, log=log, script=script))
        os.chmod(toml, 0o644)
        self.addCleanup(os.unlink, toml)
        self.d.proc.send_signal(signal.SIGHUP)
        e2e.wait_for(lambda: self.state_of("hostile-" + tag) is not None, 10, "the reload")

        # (A file name holds anything but '/' and NUL.)
        names = [prefix + "plain",
                 prefix + ' "quoted" and spaces',
                 prefix + "$(id>&2);`id` 'x'",
                 prefix + "new\nline"]
        for n in names:
            exe = os.path.join(self.env.bindir, n)
            shutil.copy2("/bin/sleep", exe)
            os.chmod(exe, 0o755)
            p = subprocess.Popen([exe, "0.5"], stdin=subprocess.DEVNULL)
            p.wait(timeout=10)
        e2e.wait_for(lambda: len(os.listdir(out)) >= len(names), 20, "one run per event")
        time.sleep(0.5)
        runs = [os.path.join(out, r) for r in os.listdir(out)]
        self.assertEqual(len(runs), len(names), "one run per event")
        seen = []
        for r in runs:
            e2e.wait_for(lambda: os.path.exists(os.path.join(r, "argc")), 10, "the run")
            with open(os.path.join(r, "argc")) as f:
                self.assertEqual(f.read().strip(), "3", "an argument was injected")
            with open(os.path.join(r, "uid")) as f:
                self.assertEqual(int(f.read()), self.runner.uid)
            with open(os.path.join(r, "arg1"), encoding="utf-8", errors="replace") as f:
                arg = f.read()
            with open(os.path.join(r, "stdin")) as f:
                event = json.loads(f.read())
            self.assertEqual(event["TargetInstance"]["Name"], arg)
            with open(os.path.join(r, "arg0")) as f:
                self.assertEqual(f.read(), "consumer")
            seen.append(arg)
        self.assertEqual(sorted(seen), sorted(names))
        with open(log, encoding="utf-8") as f:
            lines = f.read().splitlines()
        self.assertEqual(len(lines), len(names), lines)
        self.assertTrue(any(prefix + "new\\nline" in line for line in lines), lines)
        self.assertTrue(all(line.startswith("started " + prefix) for line in lines), lines)

    def test_a_bad_file_is_refused_with_its_line_and_column_and_the_rest_keeps_running(self):
        tag = secrets.token_hex(3)
        toml = os.path.join(self.subs_dir, "bad-%s.toml" % tag)
        with open(toml, "w") as f:
            f.write('[[__EventFilter]]\nName = "bad-%s"\nQuery = "SELECT * FROM Nowhere"\n' % tag)
        os.chmod(toml, 0o644)
        self.addCleanup(os.unlink, toml)
        mark = len(self.d.log_text())
        self.d.proc.send_signal(signal.SIGHUP)
        e2e.wait_for(lambda: "bad-%s.toml:" % tag in self.d.log_text()[mark - 4000:], 10,
                     "the reload's error in the log")
        self.assertRegex(self.d.log_text(), r"bad-%s\.toml:1:1: " % tag)
        self.assertIsNone(self.state_of("bad-" + tag))

    # -- refusals --------------------------------------------------------------------------------

    def test_refusals_are_precise(self):
        tag = secrets.token_hex(3)
        wmi_query = ("SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA "
                     "'Win32_Process' AND TargetInstance.Name = 'x-%s'" % tag)
        # Not in the admin group.
        text = self.create_fault("alice", "__EventFilter",
                                 [("Name", "f-" + tag), ("Query", wmi_query)])
        self.assertEqual(fault_code(text), 0x80041003, text[:800])
        # An invalid WQL filter: its WBEM code, and where.
        text = self.create_fault("admin", "__EventFilter",
                                 [("Name", "f-" + tag), ("Query", "SELECT * FROM __InstanceCreationEvent WHERE")])
        self.assertIn(fault_code(text), (0x80041017, 0x80041058, 0x80041021), text[:800])
        self.assertIn("column", text)
        # Log files only under the log directory, never through a link.
        text = self.create_fault("admin", "LogFileEventConsumer",
                                 [("Name", "l-" + tag), ("Filename", "/etc/lwmi-%s.log" % tag)])
        self.assertEqual(fault_code(text), 0x80041008, text[:800])
        link = os.path.join(self.log_dir, "link-" + tag)
        os.symlink("/etc/passwd", link)
        self.addCleanup(os.unlink, link)
        text = self.create_fault("admin", "LogFileEventConsumer",
                                 [("Name", "l-" + tag), ("Filename", link)])
        self.assertEqual(fault_code(text), 0x80041008, text[:800])
        # A binding to a consumer that does not exist.
        self.create("admin", "__EventFilter", [("Name", "f-" + tag), ("Query", wmi_query)])
        text = self.create_fault("admin", "__FilterToConsumerBinding", [
            ("Filter", ("EPR", "__EventFilter", [("Name", "f-" + tag)])),
            ("Consumer", ("EPR", "LogFileEventConsumer", [("Name", "missing-" + tag)]))])
        self.assertEqual(fault_code(text), 0x80041002, text[:800])
        # A duplicate Name.
        text = self.create_fault("admin", "__EventFilter", [("Name", "f-" + tag), ("Query", wmi_query)])
        self.assertEqual(fault_code(text), 0x80041019, text[:800])
        # Non-admins do not read them either.
        rc, out, err = self.lwmic("list", "__EventFilter", role="alice")
        self.assertNotEqual(rc, 0)
        self.assertIn("admin group", err)
        self.assertNotIn("f-" + tag, out)
        audit = e2e_read(self.audit_path)
        self.assertRegex(audit, r"action=CreateInstance result=WBEM_E_ACCESS_DENIED")

    # -- lwmic -----------------------------------------------------------------------------------

    def test_lwmic_subscription_verbs(self):
        tag = secrets.token_hex(3)
        name = "lw-" + tag
        log = os.path.join(self.log_dir, name + ".log")
        prog = "lwsub-%s" % tag
        rc, out, err = self.lwmic(
            "subscription", "add", name, "--query",
            "SELECT * FROM Win32_ProcessStartTrace WHERE ProcessName = '%s'" % prog,
            "--log", log, "--text", "ran %ProcessName% %ProcessID%")
        self.assertEqual(rc, 0, err)
        rc, out, err = self.lwmic("subscription", "list")
        self.assertEqual(rc, 0, err)
        self.assertIn(name, out)
        rc, out, err = self.lwmic("subscription", "show", name)
        self.assertEqual(rc, 0, err)
        self.assertIn("LogFileEventConsumer", out)
        exe = os.path.join(self.env.bindir, prog)
        shutil.copy2("/bin/true", exe)
        subprocess.run([exe], check=True)
        e2e.wait_for(lambda: os.path.exists(log) and "ran " + prog in e2e_read(log), 10,
                     "the log line")
        rc, out, err = self.lwmic("subscription", "remove", name)
        self.assertEqual(rc, 0, err)
        rc, out, err = self.lwmic("subscription", "show", name)
        self.assertNotEqual(rc, 0)
        # The same with `lwmic create`, as a Windows admin would type it.
        rc, out, err = self.lwmic("--namespace", "root\\subscription", "create", "__EventFilter",
                                  "Name=c-" + tag,
                                  "Query=SELECT * FROM Win32_ProcessStartTrace")
        self.assertEqual(rc, 0, err)
        self.assertIn("c-" + tag, out)
        rc, out, err = self.lwmic("delete", '__EventFilter.Name="c-%s"' % tag)
        self.assertEqual(rc, 0, err)


class CorruptStoreTest(unittest.TestCase):
    def test_a_corrupt_store_is_reported_and_never_half_loaded(self):
        if os.geteuid() != 0 or not os.access(lwmid.LWMID, os.X_OK):
            self.skipTest("lwmid runs as root")
        top = tempfile.mkdtemp(prefix="lwmi-perm-c-")
        self.addCleanup(shutil.rmtree, top, True)
        state = os.path.join(top, "state")
        os.mkdir(state, 0o700)
        good = {"format": "lwmi-subscriptions", "version": 1,
                "filters": [{"Name": "kept", "Query": "SELECT * FROM Win32_ProcessStartTrace"}],
                "consumers": [], "bindings": []}
        text = json.dumps(good)
        with open(os.path.join(state, "subscriptions.json"), "w") as f:
            f.write(text[:-5])  # cut short
        conf = "[audit]\njournal = false\n[subscriptions]\ndirectory = \"%s/none\"\n" % top
        sock = os.path.join(top, "s.sock")
        d = lwmid.start_daemon(self, top, conf, socket_path=sock, state_dir=state)
        self.assertIn("subscriptions.json", d.log_text())
        p = subprocess.run([e2e.LWMIC, "--socket", sock, "list", "__EventFilter"],
                           capture_output=True, timeout=30)
        self.assertNotIn(b"kept", p.stdout)
        p = subprocess.run([e2e.LWMIC, "--socket", sock, "--namespace", "root\\subscription",
                            "create", "__EventFilter", "Name=new",
                            "Query=SELECT * FROM Win32_ProcessStartTrace"],
                           capture_output=True, timeout=30)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"cannot be changed", p.stderr)
        with open(os.path.join(state, "subscriptions.json")) as f:
            self.assertEqual(f.read(), text[:-5], "the corrupt store was overwritten")


if __name__ == "__main__":
    unittest.main()
