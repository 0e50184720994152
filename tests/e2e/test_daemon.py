"""End-to-end tests of lwmid, the lwmi daemon: WS-Management requests (the captured envelopes in
tests/fixtures/wsman-captures) over its Unix socket, plain HTTP and
HTTPS, sent with Debian's python3-winrm and with http.client; identity and refusals (PAM, the remote
and admin groups, peer credentials, Basic over plain HTTP from a non-loopback address in a network
namespace); readiness (ready file, sd_notify READY=1) and a clean stop on SIGTERM.

Runs as root (ctest), with /usr/bin/python3. Every user, group, PAM service file, process, network
namespace and temporary directory made here is removed again, even when a test fails.
"""
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import uuid
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import lwmi_e2e as e2e  # noqa: E402
from lwmi_e2e import SOURCE_DIR, alive, lwmid, wait_gone  # noqa: E402
from lwmi_e2e.lwmid import LWMID, config_text  # noqa: E402
from lwmi_e2e.wsman import (CLIENT, NS, PY, WBEM_E_INVALID_QUERY,  # noqa: E402
                            UnixHTTPConnection, add_header, basic, capture, enable_privilege,
                            fault_of, fresh_id, instances, local, microsoft_captures,
                            parse_envelope, post, property_of, set_context, set_filter,
                            set_selector, terminate_envelope)


def run(argv, **kw):
    return subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=kw.pop("timeout", 60), **kw)


class DaemonTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        lwmid.set_up_class(cls, "lwmid-e2e-")
        lwmid.set_up_accounts(cls, cls, "e2e", (
            ("alice", ["remote"]), ("bob", ["remote"]), ("mallory", [], "/usr/sbin/nologin"),
            ("admin", ["remote", "admin"])))

        cls.socket_path = os.path.join(cls.work, "lwmid.sock")
        cls.d = lwmid.start_daemon(cls, cls.work, cls.config(), socket_path=cls.socket_path,
                                   http="127.0.0.1:0", https="127.0.0.1:0")
        cls.notes = cls.d.notifications(5)
        if not any("READY=1" in m.split("\n") for m in cls.notes):
            raise AssertionError("no READY=1 on NOTIFY_SOCKET: %r\n%s"
                                 % (cls.notes, cls.d.log_text()))
        cls.unix = cls.d.endpoint("unix")[len("unix:"):]
        cls.http = cls.d.endpoint("http")
        cls.https = cls.d.endpoint("https")
        cls.cert = os.path.join(cls.d.state, "lwmid.crt")

    @classmethod
    def config(cls, **kw):
        """lwmid's config for this class's groups and PAM service (keywords: config_text's)."""
        return config_text(cls.remote_group, cls.admin_group, cls.pam_service, **kw)

    # -- lwmic and liblwmi over the wire (the seed's remote example) -----------------------------

    def lwmic_remote(self, *args, role="alice", password=None, home=None, extra=()):
        u = self.users[role]
        pw_file = lwmid.password_file(self, self.work,
                                      password if password is not None else u.password)
        env = dict(os.environ)
        env["HOME"] = home or os.path.join(self.work, "home-" + role)
        os.makedirs(env["HOME"], exist_ok=True)
        argv = [e2e.LWMIC, "--node", self.https, "--user", u.name, "--password-file", pw_file,
                *extra, *args]
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, env=env,
                           timeout=60)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def test_lwmic_remote_query_and_terminate_by_name(self):
        pid, name = self.target("alice")
        other, _ = self.target("alice")
        rc, out, err = self.lwmic_remote("--ca", self.cert, "--format", "json", "query",
                                         "SELECT ProcessId,Name FROM Win32_Process WHERE Name='%s'"
                                         % name)
        self.assertEqual(rc, 0, err)
        rows = [json.loads(line) for line in out.splitlines() if line.strip()]
        self.assertEqual([r["ProcessId"] for r in rows], [pid])
        rc, out, err = self.lwmic_remote("--ca", self.cert, "process", "where",
                                         "name='%s'" % name, "call", "terminate")
        self.assertEqual(rc, 0, err)
        self.assertIn("1 matched, 1 returned 0", err)
        self.assertTrue(wait_gone(pid), "the matched process ended")
        self.assertTrue(alive(other), "a process of another name lives")

    def test_lwmic_remote_pins_the_certificate_on_first_use(self):
        home = os.path.join(self.work, "home-pin-" + secrets.token_hex(3))
        pid, _ = self.target("alice")
        rc, out, err = self.lwmic_remote("get", "Win32_Process=%d" % pid, "--properties",
                                         "ProcessId", home=home)
        self.assertEqual(rc, 0, err)
        self.assertIn("recorded the certificate", err)
        with open(os.path.join(home, ".config", "lwmi", "known_hosts")) as f:
            known = f.read()
        self.assertIn("SHA256:", known)
        rc, out, err = self.lwmic_remote("get", "Win32_Process=%d" % pid, "--properties",
                                         "ProcessId", home=home)
        self.assertEqual(rc, 0, err)
        self.assertNotIn("recorded the certificate", err)
        self.assertIn(str(pid), out)

    def test_lwmic_remote_wrong_password_exits_4_and_ends_nothing(self):
        pid, name = self.target("alice")
        rc, out, err = self.lwmic_remote("--ca", self.cert, "call", "Win32_Process=%d" % pid,
                                         "Terminate", password="not-the-password")
        self.assertEqual(rc, 4, err)
        self.assertTrue(alive(pid))

    def test_lwmic_remote_other_users_process_is_access_denied(self):
        pid, _ = self.target("alice")
        rc, out, err = self.lwmic_remote("--ca", self.cert, "call", "Win32_Process=%d" % pid,
                                         "Terminate", role="bob")
        self.assertEqual(rc, 1, err)
        self.assertIn("ReturnValue=2", out)
        self.assertTrue(alive(pid))

    def test_remote_terminate_example_program(self):
        """The seed's remote example as a liblwmi program (examples/remote_terminate.cpp)."""
        prog = os.path.join(os.environ.get("LWMI_BUILD_DIR", ""), "examples", "remote_terminate")
        if not os.path.exists(prog):
            self.skipTest("examples not built")
        pid, name = self.target("alice")
        u = self.users["alice"]
        env = dict(os.environ, LWMI_PASSWORD=u.password,
                   HOME=os.path.join(self.work, "home-example"))
        p = subprocess.run([prog, self.https, u.name, name, self.cert], capture_output=True,
                           stdin=subprocess.DEVNULL, env=env, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        self.assertIn("%d: Successful completion" % pid, p.stdout.decode())
        self.assertTrue(wait_gone(pid))

    def test_lwmic_over_the_unix_socket(self):
        pid, name = self.target("alice")
        p = subprocess.run([e2e.LWMIC, "--socket", self.unix, "--format", "csv", "query",
                            "SELECT Handle,Name FROM Win32_Process WHERE Name='%s'" % name],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        self.assertIn(str(pid), p.stdout.decode())
        self.assertNotIn("running embedded", p.stderr.decode())

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop(10)
        gone = not os.path.exists(cls.socket_path)
        if rc != 0 or not gone:
            raise AssertionError("lwmid on SIGTERM: exit status %r (want 0), socket removed: %s\n%s"
                                 % (rc, gone, cls.d.log_text()))

    # -- helpers -------------------------------------------------------------------------------

    def target(self, role="alice"):
        """Starts a sleep under a unique name as `role`'s user; returns (pid, name)."""
        name = "e2esl-" + secrets.token_hex(4)
        exe = e2e.sleep_copy(self.bindir, name)
        user = None if role == "root" else self.users[role]
        return e2e.start_process(self, [exe, "1000"], user=user, exe=exe).pid, name

    def unix_post(self, body, headers=None):
        return post(UnixHTTPConnection(self.unix), body, headers)

    def tcp_post(self, url, body, role=None, headers=None, source=None, password=None):
        hostport = url.split("//", 1)[1].split("/", 1)[0]
        if url.startswith("https:"):
            ctx = ssl.create_default_context(cafile=self.cert)
            conn = http.client.HTTPSConnection(hostport, timeout=30, context=ctx,
                                               source_address=source)
        else:
            conn = http.client.HTTPConnection(hostport, timeout=30, source_address=source)
        h = dict(headers or {})
        if role:
            u = self.users[role]
            h.update(basic(u.name, password if password is not None else u.password))
        return post(conn, body, h)

    def winrm(self, url, role="alice", password=None):
        from winrm.protocol import Protocol
        u = self.users[role]
        kw = {}
        if url.startswith("https:"):
            kw = {"server_cert_validation": "validate", "ca_trust_path": self.cert}
        p = Protocol(endpoint=url, transport="basic", username=u.name,
                     password=password if password is not None else u.password,
                     message_encryption="never", **kw)
        p.transport.build_session()
        self.addCleanup(p.transport.session.close)
        return p

    def send(self, via, body, role="alice"):
        """Sends an envelope that should succeed; returns the parsed response.
        via: 'unix' (as root), 'http' or 'https' (python3-winrm as role)."""
        if via == "unix":
            status, _, data = self.unix_post(body)
            self.assertEqual(status, 200, data[:2000])
        else:
            data = self.winrm(getattr(self, via), role).send_message(body)
            self.assertIsNotNone(data, "python3-winrm returned nothing")
        root = parse_envelope(data)
        self.assertIsNone(fault_of(root), data[:2000])
        return root

    def send_fault(self, via, body, role="alice"):
        """Sends an envelope that should fail; returns (HTTP status, fault dict)."""
        if via == "unix":
            status, _, data = self.unix_post(body)
        else:
            status, _, data = self.tcp_post(getattr(self, via), body, role)
        root = parse_envelope(data)
        f = fault_of(root)
        self.assertIsNotNone(f, "expected a fault, got %r" % data[:2000])
        return status, f

    def assert_alive(self):
        self.assertIsNone(self.d.proc.poll(), "lwmid died:\n" + self.d.log_text())
        status, _, data = self.unix_post(fresh_id(capture("microsoft/11-identify.xml")))
        self.assertEqual(status, 200, data[:500])

    def return_value(self, root):
        rv = property_of(root, "ReturnValue")
        self.assertIsNotNone(rv, ET.tostring(root)[:2000])
        return int(rv)

    # -- readiness -----------------------------------------------------------------------------

    def test_ready_file_and_notify(self):
        self.assertTrue(any("READY=1" in m.split("\n") for m in self.notes), self.notes)
        self.assertEqual(len(self.d.endpoints), 3, self.d.endpoints)
        self.assertEqual(self.d.endpoint("unix"), "unix:" + self.socket_path)
        self.assertRegex(self.http, r"^http://127\.0\.0\.1:[1-9][0-9]*/wsman$")
        self.assertRegex(self.https, r"^https://127\.0\.0\.1:[1-9][0-9]*/wsman$")
        self.assertTrue(os.path.exists(self.cert))
        out = run(["openssl", "x509", "-in", self.cert, "-noout", "-text"])
        if out.returncode == 0:
            self.assertIn("IP Address:127.0.0.1", out.stdout.decode())

    def test_sigterm_stops_cleanly(self):
        sock = os.path.join(self.work, "t-%s.sock" % secrets.token_hex(3))
        d = lwmid.start_daemon(self, self.work, self.config(), socket_path=sock)
        self.assertEqual(d.endpoints, ["unix:" + sock])
        self.assertTrue(any("READY=1" in m.split("\n") for m in d.notifications(5)))
        self.assertTrue(os.path.exists(sock))
        self.assertEqual(d.stop(10), 0, d.log_text())
        self.assertFalse(os.path.exists(sock), "socket file left behind")

    # -- the openwsman captures ----------------------------------------------------------------

    def test_01_enumerate_wql_optimized(self):
        pid, name = self.target()
        body = set_filter(capture("01-enumerate-wql-optimized.xml"),
                          "SELECT * FROM Win32_Process WHERE Name='%s'" % name)
        for via in ("unix", "http", "https"):
            with self.subTest(via=via):
                root = self.send(via, fresh_id(body))
                resp = root.find("s:Body/wsen:EnumerateResponse", NS)
                self.assertIsNotNone(resp)
                items = instances(root, "s:Body/wsen:EnumerateResponse/wsman:Items")
                self.assertEqual([(i.get("Name"), i.get("ProcessId")) for i in items],
                                 [(name, str(pid))])
                self.assertIsNotNone(resp.find("wsman:EndOfSequence", NS))
                ctx = resp.find("wsen:EnumerationContext", NS)
                self.assertTrue(ctx is None or not (ctx.text or "").strip(),
                                "an EnumerationContext at the end of the sequence")

    def test_02_03_enumerate_then_pull(self):
        pids = {str(self.target()[0]), str(self.target("bob")[0])}
        for via in ("unix", "https"):
            with self.subTest(via=via):
                root = self.send(via, fresh_id(capture("02-enumerate-class.xml")))
                ctx = root.find("s:Body/wsen:EnumerateResponse/wsen:EnumerationContext", NS)
                self.assertIsNotNone(ctx)
                context = ctx.text.strip()
                seen = set()
                session = None if via == "unix" else self.winrm(self.https, "alice")
                for _ in range(20000):
                    body = fresh_id(set_context(capture("03-pull.xml"), context))
                    if via == "unix":
                        r = self.send("unix", body)
                    else:
                        r = parse_envelope(session.send_message(body))
                        self.assertIsNone(fault_of(r))
                    resp = r.find("s:Body/wsen:PullResponse", NS)
                    self.assertIsNotNone(resp)
                    for i in instances(r, "s:Body/wsen:PullResponse/wsen:Items"):
                        seen.add(i.get("ProcessId"))
                    if resp.find("wsen:EndOfSequence", NS) is not None:
                        break
                    context = resp.find("wsen:EnumerationContext", NS).text.strip()
                else:
                    self.fail("no EndOfSequence after 20000 Pulls")
                self.assertTrue(pids <= seen, (pids, len(seen)))

    def test_04_get_by_handle(self):
        pid, name = self.target()
        for via in ("unix", "http", "https"):
            with self.subTest(via=via):
                root = self.send(via, set_selector(fresh_id(capture("04-get.xml")), "Handle", pid))
                self.assertEqual(property_of(root, "ProcessId"), str(pid))
                self.assertEqual(property_of(root, "Handle"), str(pid))
                self.assertEqual(property_of(root, "Name"), name)

    def test_05_get_bogus_selector(self):
        for via in ("unix", "http", "https"):
            with self.subTest(via=via):
                status, f = self.send_fault(via, fresh_id(capture("05-get-missing.xml")))
                self.assertEqual(status, 500)
                self.assertTrue(f["subcode"].endswith(":InvalidSelectors"), f)

    def test_06_terminate_wmi_uri_as_owner(self):
        for via in ("http", "https"):
            with self.subTest(via=via):
                pid, _ = self.target("alice")
                root = self.send(via, terminate_envelope(pid))
                self.assertEqual(self.return_value(root), 0)
                self.assertTrue(wait_gone(pid), "pid %d still alive" % pid)

    def test_13_terminate_dmtf_uri_as_owner(self):
        for via in ("http", "https"):
            with self.subTest(via=via):
                pid, _ = self.target("alice")
                root = self.send(via, terminate_envelope(pid, dmtf=True))
                self.assertEqual(self.return_value(root), 0)
                self.assertTrue(wait_gone(pid), "pid %d still alive" % pid)

    def test_07_08_09_eventing_captures(self):
        # Subscribe/Pull/Unsubscribe as openwsman sent them (test_daemon_events.py goes further).
        # Over HTTP: each send is a connection of its own, and a subscription made on the Unix
        # socket ends when its connection closes.
        root = self.send("http", fresh_id(capture("07-subscribe-pull.xml")))
        ns_e = "{http://schemas.xmlsoap.org/ws/2004/08/eventing}"
        ident = root.find("s:Body/%sSubscribeResponse/%sSubscriptionManager/"
                          "wsa:ReferenceParameters/%sIdentifier" % (ns_e, ns_e, ns_e), NS)
        ctx = root.find("s:Body/%sSubscribeResponse/wsen:EnumerationContext" % ns_e, NS)
        self.assertIsNotNone(ident, ET.tostring(root)[:2000])
        self.assertIsNotNone(ctx, ET.tostring(root)[:2000])
        unsubscribe = fresh_id(capture("09-unsubscribe.xml")).replace("uuid:sub-1", ident.text)
        self.send("http", unsubscribe)
        with self.subTest(capture="08-pull-events.xml"):
            # The capture's context names no subscription here.
            status, f = self.send_fault("http", fresh_id(capture("08-pull-events.xml")))
            self.assertEqual(status, 500)
            self.assertTrue(f["subcode"].endswith(":InvalidEnumerationContext"), f)
        with self.subTest(capture="09-unsubscribe.xml"):
            status, f = self.send_fault("http", fresh_id(capture("09-unsubscribe.xml")))
            self.assertEqual(status, 500)
            self.assertEqual(f["wbem"], 0x80041002, f)  # WBEM_E_NOT_FOUND
        self.assert_alive()

    # -- the Microsoft captures ----------------------------------------------------------------

    def test_ms_11_identify(self):
        for via in ("unix", "http", "https"):
            with self.subTest(via=via):
                root = self.send(via, capture("microsoft/11-identify.xml"))
                resp = root.find("s:Body/wsmid:IdentifyResponse", NS)
                self.assertIsNotNone(resp)
                self.assertEqual(resp.find("wsmid:ProductVendor", NS).text, "lwmi")
                self.assertIsNotNone(resp.find("wsmid:ProtocolVersion", NS))

    def test_ms_02_get_ciminstance(self):
        body = capture("microsoft/02-enumerate-class-get-ciminstance.xml")
        with self.subTest("Win32_LogicalDisk"):
            status, f = self.send_fault("https", fresh_id(body))
            self.assertEqual(status, 500)
            self.assertTrue(f["subcode"].endswith(":DestinationUnreachable"), f)
        with self.subTest("Win32_Process"):
            pid, name = self.target()
            root = self.send("https", fresh_id(body.replace("Win32_LogicalDisk", "Win32_Process")))
            resp = root.find("s:Body/wsen:EnumerateResponse", NS)
            items = instances(root, "s:Body/wsen:EnumerateResponse/wsman:Items")
            its = list(resp.find("wsman:Items", NS))
            self.assertTrue(its, "the optimized Enumerate answers a first batch")
            # The capture's MaxEnvelopeSize (512000) and OperationTimeout (1 s) may end the first
            # batch early on a busy host: then the rest comes by Pull, as the MI client does.
            pulls = 0
            while resp.find("wsman:EndOfSequence", NS) is None and \
                    resp.find("wsen:EndOfSequence", NS) is None:
                pulls += 1
                self.assertLess(pulls, 1000, "no EndOfSequence")
                context = resp.find("wsen:EnumerationContext", NS).text.strip()
                pull = set_context(capture("03-pull.xml"), context).replace(
                    "</wsen:Pull>", "<wsen:MaxElements>32000</wsen:MaxElements></wsen:Pull>")
                r = self.send("https", fresh_id(pull))
                resp = r.find("s:Body/wsen:PullResponse", NS)
                self.assertIsNotNone(resp)
                items += instances(r, "s:Body/wsen:PullResponse/wsen:Items")
                its += list(resp.find("wsen:Items", NS) or [])
            self.assertIn(str(pid), [i.get("ProcessId") for i in items])
            # EnumerateObjectAndEPR: every item carries an EPR.
            self.assertTrue(all(local(i.tag) == "Item" for i in its))
            self.assertTrue(all(i.find("wsa:EndpointReference", NS) is not None for i in its))

    # Regression: the MI client's WQL Enumerate uses http://schemas.dmtf.org/wbem/wscim/1/* with a
    # __cimnamespace selector; lwmid once refused that resource URI.
    def test_ms_01_wql_dmtf_wildcard_uri(self):
        pid, name = self.target()
        body = capture("microsoft/01-enumerate-wql.xml")
        body = body.replace(">root/OMI<", ">root/cimv2<").replace(
            "select * from OMI_Identify", "SELECT * FROM Win32_Process WHERE Name='%s'" % name)
        self.assertIn(name, body)
        root = self.send("https", body)
        items = instances(root, "s:Body/wsen:EnumerateResponse/wsman:Items")
        self.assertEqual([i.get("ProcessId") for i in items], [str(pid)])

    def test_ms_09_create_runs_as_caller(self):
        name = "e2esl-" + secrets.token_hex(4)
        exe = e2e.sleep_copy(self.bindir, name)
        body = capture("microsoft/09-invoke-static-method-win32_process-create.xml")
        body = body.replace("<p:CommandLine>notepad.exe</p:CommandLine>",
                            "<p:CommandLine>%s 1000</p:CommandLine>" % exe)
        body = body.replace("<p:CurrentDirectory>C:\\</p:CurrentDirectory>",
                            "<p:CurrentDirectory>/tmp</p:CurrentDirectory>")
        self.assertIn(exe, body)
        root = self.send("https", body, "alice")
        created = property_of(root, "ProcessId")
        if created:
            self.addCleanup(lambda: os.kill(int(created), signal.SIGKILL)
                            if alive(int(created)) else None)
        self.assertEqual(self.return_value(root), 0)
        pid = int(created)
        self.assertTrue(alive(pid))
        with open("/proc/%d/status" % pid) as f:
            uids = [line.split()[1:] for line in f if line.startswith("Uid:")][0]
        self.assertEqual({int(u) for u in uids}, {self.users["alice"].uid})
        self.assertEqual(os.readlink("/proc/%d/exe" % pid), exe)

    def test_ms_07_get_class(self):
        status, _, data = self.tcp_post(self.http, capture("microsoft/07-get-class.xml"), "alice")
        self.assertIn(status, (200, 400, 500))
        parse_envelope(data)
        self.assert_alive()

    def test_ms_all_captures_answered(self):
        for name in microsoft_captures():
            with self.subTest(capture=name):
                status, hdrs, data = self.tcp_post(self.http, capture(name), "alice")
                self.assertIn(status, (200, 400, 500), data[:500])
                self.assertTrue(hdrs.get("content-type", "").startswith("application/soap+xml"))
                root = parse_envelope(data)
                self.assertEqual(status == 200, fault_of(root) is None, data[:1000])
                self.assert_alive()

    # -- faults --------------------------------------------------------------------------------

    def test_fault_unknown_class(self):
        body = fresh_id(capture("02-enumerate-class.xml").replace("Win32_Process", "Win32_Nope"))
        status, f = self.send_fault("http", body)
        self.assertEqual(status, 500)
        self.assertTrue(f["subcode"].endswith(":DestinationUnreachable"), f)
        self.assertEqual(f["wbem"], 0x80041010)  # WBEM_E_INVALID_CLASS

    def test_create_refusals_name_the_class_and_namespace(self):
        """WS-Transfer Create as a raw envelope (what python3-winrm sends): a class not made by
        CreateInstance, a class named in a namespace that does not hold it, and a body whose
        element is not the resource URI's class are each refused with their WBEM code; lwmic's
        create and --namespace say the same, with exit status 3."""
        wmi = "http://schemas.microsoft.com/wbem/wsman/1/wmi/"

        def create(uri, element, element_ns):
            return fresh_id(
                '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
                'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
                'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Header>'
                '<a:To>http://localhost/wsman</a:To><w:ResourceURI s:mustUnderstand="true">%s'
                '</w:ResourceURI><a:Action s:mustUnderstand="true">'
                'http://schemas.xmlsoap.org/ws/2004/09/transfer/Create</a:Action>'
                '<a:MessageID>uuid:00000000-0000-4000-8000-000000000000</a:MessageID></s:Header>'
                '<s:Body><p:%s xmlns:p="%s"><p:Name>e2e</p:Name></p:%s></s:Body></s:Envelope>'
                % (uri, element, element_ns, element))

        proc = wmi + "root/cimv2/Win32_Process"
        wrong_ns = wmi + "root/subscription/Win32_Process"
        cases = [
            (create(proc, "Win32_Process", proc), ":ActionNotSupported", 0x80041024,
             "class Win32_Process is created by its Create method, not CreateInstance"),
            (create(wrong_ns, "Win32_Process", wrong_ns), ":DestinationUnreachable", 0x80041010,
             "class Win32_Process is in root\\cimv2, not root\\subscription"),
            (create(proc, "LWMI_EventSource", proc), ":SchemaValidationError", 0x80041008,
             "the Create body is an instance of 'LWMI_EventSource', but the resource URI names "
             "class Win32_Process"),
        ]
        for body, subcode, wbem, reason in cases:
            for via in ("unix", "http"):
                with self.subTest(via=via, reason=reason):
                    status, f = self.send_fault(via, body)
                    self.assertEqual(status, 500)
                    self.assertTrue(f["subcode"].endswith(subcode), f)
                    self.assertEqual(f["wbem"], wbem, f)
                    self.assertEqual(f["reason"], reason)
        for argv, message in (
                (["create", "Win32_Process", "Name=x"],
                 "WBEM_E_PROVIDER_NOT_CAPABLE (0x80041024): class Win32_Process is created by "
                 "its Create method, not CreateInstance"),
                (["--namespace", "root\\subscription", "list", "Win32_Process"],
                 "WBEM_E_INVALID_CLASS (0x80041010): class Win32_Process is in root\\cimv2, not "
                 "root\\subscription")):
            with self.subTest(argv=argv):
                p = subprocess.run([e2e.LWMIC, "--socket", self.unix, *argv],
                                   stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
                self.assertEqual(p.returncode, 3, p.stderr.decode())
                self.assertIn(message, p.stderr.decode())
        self.assert_alive()

    def test_fault_bad_wql(self):
        body = fresh_id(set_filter(capture("01-enumerate-wql-optimized.xml"),
                                   "SELEKT * FROM Win32_Process"))
        for via in ("unix", "http", "https"):
            with self.subTest(via=via):
                status, f = self.send_fault(via, body)
                self.assertEqual(status, 500)
                self.assertTrue(f["subcode"].endswith(":CannotProcessFilter"), f)
                self.assertEqual(f["wbem"], WBEM_E_INVALID_QUERY)

    def test_winrm_raises_on_fault(self):
        import winrm.exceptions
        body = fresh_id(set_filter(capture("01-enumerate-wql-optimized.xml"),
                                   "SELEKT * FROM Win32_Process"))
        for via in ("http", "https"):
            with self.subTest(via=via):
                with self.assertRaises(Exception) as cm:
                    self.winrm(getattr(self, via)).send_message(body)
                e = cm.exception
                self.assertIsInstance(e, (winrm.exceptions.WinRMError,
                                          winrm.exceptions.WinRMTransportError))
                text = str(e)
                self.assertIn("CannotProcessFilter", text)
                self.assertIn(str(WBEM_E_INVALID_QUERY), text)

    def test_fault_unknown_action(self):
        body = fresh_id(capture("04-get.xml")).replace(
            "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get", "http://example.com/ns/Frobnicate")
        status, f = self.send_fault("http", body)
        self.assertEqual(status, 500)
        self.assertTrue(f["subcode"].endswith(":ActionNotSupported"), f)

    def test_fault_oversized_envelope(self):
        pad = '<x:Pad xmlns:x="urn:lwmi-e2e-pad">%s</x:Pad>' % ("A" * (600 * 1024))
        body = add_header(fresh_id(capture("04-get.xml")), pad)
        self.assertGreater(len(body), 512 * 1024)
        for via in ("unix", "http"):
            with self.subTest(via=via):
                try:
                    if via == "unix":
                        status, _, data = self.unix_post(body)
                    else:
                        status, _, data = self.tcp_post(self.http, body, "alice")
                except (ConnectionError, http.client.HTTPException) as e:
                    self.fail("connection dropped instead of an answer: %r" % e)
                if status != 413:
                    self.assertIn(status, (400, 500), data[:500])
                    self.assertIsNotNone(fault_of(parse_envelope(data)))
                self.assert_alive()

    def test_fault_malformed_xml(self):
        body = capture("04-get.xml")[:-40]  # cut in the middle of the body
        for via in ("unix", "http"):
            with self.subTest(via=via):
                status, f = self.send_fault(via, body)
                self.assertEqual(status, 400)
        self.assert_alive()

    def test_fault_pull_bogus_context(self):
        body = fresh_id(set_context(capture("03-pull.xml"), "uuid:" + str(uuid.uuid4())))
        for via in ("unix", "https"):
            with self.subTest(via=via):
                status, f = self.send_fault(via, body)
                self.assertEqual(status, 500)
                self.assertTrue(f["subcode"].endswith(":InvalidEnumerationContext"), f)

    # -- refusals ------------------------------------------------------------------------------

    def fresh_loopback(self):
        """A source address of its own (per-peer failure delays do not leak between tests)."""
        return ("127.%d.%d.%d" % (secrets.randbelow(200) + 20, secrets.randbelow(250) + 1,
                                 secrets.randbelow(250) + 1), 0)

    def test_refuse_no_credentials(self):
        pid, _ = self.target()
        for via in ("http", "https"):
            with self.subTest(via=via):
                status, hdrs, _ = self.tcp_post(getattr(self, via), terminate_envelope(pid))
                self.assertEqual(status, 401)
                self.assertTrue(hdrs.get("www-authenticate", "").startswith("Basic"), hdrs)
                time.sleep(0.2)
                self.assertTrue(alive(pid))

    def test_refuse_wrong_password(self):
        import winrm.exceptions
        pid, _ = self.target()
        src = self.fresh_loopback()
        times = []
        for _ in range(2):
            t = time.monotonic()
            status, hdrs, _ = self.tcp_post(self.http, terminate_envelope(pid), "alice",
                                            source=src, password="wrong-" + secrets.token_hex(4))
            times.append(time.monotonic() - t)
            self.assertEqual(status, 401)
            self.assertTrue(hdrs.get("www-authenticate", "").startswith("Basic"), hdrs)
        self.assertGreaterEqual(times[1], 0.1, times)
        with self.assertRaises(winrm.exceptions.InvalidCredentialsError):
            self.winrm(self.https, "alice", password="wrong").send_message(terminate_envelope(pid))
        time.sleep(0.2)
        self.assertTrue(alive(pid))

    def test_audit_file_records_refused_logins_and_terminations(self):
        audit = os.path.join(self.work, "audit-%s.log" % secrets.token_hex(3))
        d = lwmid.start_daemon(self, self.work, self.config(audit_file=audit), http="127.0.0.1:0")
        url = d.endpoint("http")
        pid, name = self.target("alice")
        status, _, _ = self.tcp_post(url, terminate_envelope(pid), "alice",
                                     source=self.fresh_loopback(), password="wrong-password")
        self.assertEqual(status, 401)
        self.assertTrue(alive(pid))
        status, _, data = self.tcp_post(url, terminate_envelope(pid), "alice")
        self.assertEqual(status, 200, data[:500])
        root = parse_envelope(data)
        self.assertEqual(self.return_value(root), 0)
        self.assertTrue(wait_gone(pid))
        with open(audit) as f:
            lines = f.read().splitlines()
        alice = self.users["alice"].name
        self.assertTrue(any("action=Login result=refused" in l and "caller.user=%s" % alice in l
                            for l in lines), lines)
        self.assertTrue(any("action=Terminate result=0" in l and "target.pid=%d" % pid in l and
                            "target.name=%s" % name in l and "mode=daemon" in l for l in lines),
                        lines)

    def test_refuse_user_outside_remote_group(self):
        import winrm.exceptions
        pid, _ = self.target()
        status, hdrs, _ = self.tcp_post(self.http, terminate_envelope(pid), "mallory",
                                        source=self.fresh_loopback())
        self.assertEqual(status, 401)
        self.assertTrue(hdrs.get("www-authenticate", "").startswith("Basic"))
        with self.assertRaises(winrm.exceptions.InvalidCredentialsError):
            self.winrm(self.https, "mallory").send_message(terminate_envelope(pid))
        time.sleep(0.2)
        self.assertTrue(alive(pid))

    def test_refuse_bob_remote_terminate_of_alice(self):
        pid, _ = self.target("alice")
        for via in ("http", "https"):
            with self.subTest(via=via):
                root = self.send(via, terminate_envelope(pid), "bob")
                self.assertEqual(self.return_value(root), 2)
                time.sleep(0.2)
                self.assertTrue(alive(pid))

    def run_client(self, prefix, target, body, *args):
        p = subprocess.run(prefix + [PY, "-c", CLIENT, target, *args], input=body.encode(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        status, _, data = p.stdout.decode().partition("\n")
        return int(status), data

    def test_refuse_bob_over_unix_socket(self):
        pid, _ = self.target("alice")
        status, data = self.run_client(self.users["bob"].prefix(), "unix:" + self.unix,
                                       terminate_envelope(pid))
        self.assertEqual(status, 200, data[:1000])
        self.assertEqual(self.return_value(parse_envelope(data)), 2)
        # Asking for a privilege bob does not hold changes nothing.
        status, data = self.run_client(self.users["bob"].prefix(), "unix:" + self.unix,
                                       enable_privilege(terminate_envelope(pid)))
        self.assertEqual(self.return_value(parse_envelope(data)), 2)
        time.sleep(0.2)
        self.assertTrue(alive(pid))

    def test_kernel_refuses_even_with_lwmis_own_check_off(self):
        """Impersonation in depth: a second lwmid runs with its own kill(2)-rule check switched
        off (a test-only flag). bob's Terminate and SetPriority of alice's process are still
        refused, by the kernel, since they are made with bob's credentials; alice's own works."""
        sock = os.path.join(self.work, "imp-%s.sock" % secrets.token_hex(3))
        d = lwmid.start_daemon(self, self.work, self.config(), socket_path=sock,
                               extra_args=["--testing-skip-own-checks"])
        self.assertIn("own permission check is OFF", d.log_text())
        pid, _ = self.target("alice")
        status, data = self.run_client(self.users["bob"].prefix(), "unix:" + sock,
                                       terminate_envelope(pid))
        self.assertEqual(status, 200, data[:1000])
        self.assertEqual(self.return_value(parse_envelope(data)), 2)
        time.sleep(0.2)
        self.assertTrue(alive(pid), "the kernel refused bob's signal")
        status, data = self.run_client(self.users["alice"].prefix(), "unix:" + sock,
                                       terminate_envelope(pid))
        self.assertEqual(self.return_value(parse_envelope(data)), 0)
        self.assertTrue(wait_gone(pid))

    def test_root_over_unix_needs_enabled_privilege(self):
        pid, _ = self.target("alice")
        root = self.send("unix", terminate_envelope(pid))
        self.assertEqual(self.return_value(root), 2)
        time.sleep(0.2)
        self.assertTrue(alive(pid))
        root = self.send("unix", enable_privilege(terminate_envelope(pid)))
        self.assertEqual(self.return_value(root), 0)
        self.assertTrue(wait_gone(pid))

    def test_admin_remote_privilege_enabled(self):
        for via in ("http", "https"):
            with self.subTest(via=via):
                pid, _ = self.target("alice")
                root = self.send(via, terminate_envelope(pid), "admin")
                self.assertEqual(self.return_value(root), 0)
                self.assertTrue(wait_gone(pid))

    def test_refuse_basic_over_http_from_remote_address(self):
        if not shutil.which("ip"):
            self.skipTest("no ip(8)")
        pid, _ = self.target("alice")
        tag = secrets.token_hex(3)
        ns, va, vb = "lwmie2e-" + tag, "lwa" + tag, "lwb" + tag
        used = run(["ip", "-4", "addr"]).stdout.decode() + run(["ip", "-4", "route"]).stdout.decode()
        for _ in range(100):
            x, y, z = secrets.randbelow(150) + 100, secrets.randbelow(256), secrets.randbelow(64) * 4
            net = "10.%d.%d." % (x, y)
            if net not in used:
                break
        a, b = net + str(z + 1), net + str(z + 2)
        r = run(["ip", "netns", "add", ns])
        if r.returncode != 0:
            self.skipTest("ip netns add failed: " + r.stderr.decode())
        self.addCleanup(run, ["ip", "netns", "del", ns])
        self.assertEqual(run(["ip", "link", "add", va, "type", "veth", "peer", "name", vb])
                         .returncode, 0)
        self.addCleanup(run, ["ip", "link", "del", va])
        for argv in (["ip", "link", "set", vb, "netns", ns],
                     ["ip", "addr", "add", a + "/30", "dev", va],
                     ["ip", "link", "set", va, "up"],
                     ["ip", "netns", "exec", ns, "ip", "addr", "add", b + "/30", "dev", vb],
                     ["ip", "netns", "exec", ns, "ip", "link", "set", vb, "up"],
                     ["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"]):
            r = run(argv)
            self.assertEqual(r.returncode, 0, (argv, r.stderr.decode()))
        d = lwmid.start_daemon(self, self.work, self.config(), http=a + ":0")
        url = d.endpoint("http")
        self.assertTrue(url.startswith("http://%s:" % a), url)
        inside = ["ip", "netns", "exec", ns]
        # The address is reachable from the namespace: the unauthenticated Identify is answered.
        identify = capture("microsoft/11-identify.xml")
        end = time.monotonic() + 10
        while True:  # the veth may need a moment
            p = subprocess.run(inside + [PY, "-c", CLIENT, url, "", "",
                                         "WSMANIDENTIFY:unauthenticated"],
                               input=identify.encode(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=60)
            if p.returncode == 0 or time.monotonic() > end:
                break
            time.sleep(0.2)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        self.assertTrue(p.stdout.decode().startswith("200\n"), p.stdout.decode()[:500])
        u = self.users["alice"]
        status, data = self.run_client(inside, url, terminate_envelope(pid), u.name, u.password)
        self.assertEqual(status, 401, data[:500])
        time.sleep(0.2)
        self.assertTrue(alive(pid))
        self.assertIn("plain HTTP", d.log_text())
        self.assertEqual(d.stop(10), 0, d.log_text())

    def test_unauthenticated_identify(self):
        hdr = {"WSMANIDENTIFY": "unauthenticated"}
        for via in ("http", "https"):
            with self.subTest(via=via):
                status, _, data = self.tcp_post(getattr(self, via),
                                                capture("microsoft/11-identify.xml"), headers=hdr)
                self.assertEqual(status, 200, data[:500])
                root = parse_envelope(data)
                resp = root.find("s:Body/wsmid:IdentifyResponse", NS)
                self.assertIsNotNone(resp)
                self.assertEqual(resp.find("wsmid:ProductVendor", NS).text, "lwmi")
                status, hdrs, _ = self.tcp_post(getattr(self, via),
                                                fresh_id(capture("02-enumerate-class.xml")),
                                                headers=hdr)
                self.assertEqual(status, 401)
                self.assertTrue(hdrs.get("www-authenticate", "").startswith("Basic"))

    # -- systemd -------------------------------------------------------------------------------

    def test_systemd_unit_verifies(self):
        sa = shutil.which("systemd-analyze")
        if not sa:
            self.skipTest("no systemd-analyze")
        unit = os.path.join(SOURCE_DIR, "etc", "systemd", "lwmid.service")
        r = run([sa, "verify", unit])
        err = (r.stdout + r.stderr).decode()
        if r.returncode == 0 and "lwmid.service" not in err:
            return
        # The installed path /usr/local/sbin/lwmid need not exist here: verify a copy whose
        # ExecStart names the built binary.
        d = tempfile.mkdtemp(prefix="unit-", dir=self.work)
        with open(unit) as f:
            text = f.read()
        text = re.sub(r"^ExecStart=\S+", "ExecStart=" + LWMID, text, flags=re.M)
        copy = os.path.join(d, "lwmid.service")
        with open(copy, "w") as f:
            f.write(text)
        r2 = run([sa, "verify", copy])
        err2 = (r2.stdout + r2.stderr).decode()
        if r2.returncode != 0 and not re.search(r"lwmid\.service", err2):
            self.skipTest("systemd-analyze is unusable here: " + err2[-500:])
        self.assertEqual(r2.returncode, 0, "first run:\n%s\nwith ExecStart=%s:\n%s"
                         % (err, LWMID, err2))
        self.assertNotIn("lwmid.service:", err2)


if __name__ == "__main__":
    unittest.main()
