"""End-to-end tests of lwmid, the lwmi daemon: WS-Management requests (the captured envelopes in
tests/fixtures/wsman-captures) over its Unix socket, plain HTTP and
HTTPS, sent with Debian's python3-winrm and with http.client; identity and refusals (PAM, the remote
and admin groups, peer credentials, Basic over plain HTTP from a non-loopback address in a network
namespace); readiness (ready file, sd_notify READY=1) and a clean stop on SIGTERM.

Runs as root (ctest), with /usr/bin/python3. Every user, group, PAM service file, process, network
namespace and temporary directory made here is removed again, even when a test fails.
"""
import base64
import grp
import http.client
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import uuid
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import lwmi_e2e as e2e  # noqa: E402  (shared helpers: wait_for, proc_state)

BUILD_DIR = os.environ.get("LWMI_BUILD_DIR") or os.path.join(SOURCE_DIR, "build", "release")
LWMID = os.environ.get("LWMID") or os.path.join(BUILD_DIR, "src", "daemon", "lwmid")
PY = "/usr/bin/python3"

CAPTURES = os.path.join(SOURCE_DIR, "tests", "fixtures", "wsman-captures")  # NN-*, microsoft/NN-*

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "wsa": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "wsman": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "wsen": "http://schemas.xmlsoap.org/ws/2004/09/enumeration",
    "wsmid": "http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd",
    "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
}
WQL_DIALECT = "http://schemas.microsoft.com/wbem/wsman/1/WQL"
WBEM_E_INVALID_QUERY = 2147749911  # 0x80041017

# Proxies in the environment must not capture requests to 127.0.0.1 (python3-winrm trusts env).
for _v in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
    os.environ.pop(_v, None)


# ---------------------------------------------------------------------------------------------
# Envelopes


def capture(name):
    """The text of a captured envelope: 'NN-…' (openwsman) or 'microsoft/NN-…'."""
    with open(os.path.join(CAPTURES, name), "rb") as f:
        return f.read().decode("utf-8")


def microsoft_captures():
    return sorted("microsoft/" + f for f in os.listdir(os.path.join(CAPTURES, "microsoft"))
                  if f.endswith(".xml"))


def fresh_id(xml):
    """A new wsa:MessageID (the captures all carry the one they were recorded with)."""
    return re.sub(r"uuid:[0-9A-Fa-f-]{36}", "uuid:" + str(uuid.uuid4()), xml, count=1) \
        if "MessageID" in xml else xml


def set_selector(xml, name, value):
    out, n = re.subn(r'(<wsman:Selector Name="%s">)[^<]*(</wsman:Selector>)' % name,
                     lambda m: m.group(1) + str(value) + m.group(2), xml)
    assert n == 1, "no selector %s in the envelope" % name
    return out


def set_filter(xml, wql):
    out, n = re.subn(r"(<wsman:Filter [^>]*>)[^<]*(</wsman:Filter>)",
                     lambda m: m.group(1) + xml_escape(wql) + m.group(2), xml)
    assert n == 1
    return out


def set_context(xml, context):
    out, n = re.subn(r"(<wsen:EnumerationContext>)[^<]*(</wsen:EnumerationContext>)",
                     lambda m: m.group(1) + context + m.group(2), xml)
    assert n == 1
    return out


def add_header(xml, header):
    assert "</s:Header>" in xml
    return xml.replace("</s:Header>", header + "</s:Header>", 1)


def enable_privilege(xml, value="SeDebugPrivilege"):
    return add_header(xml, '<wsman:OptionSet><wsman:Option Name="EnablePrivilege">%s'
                           '</wsman:Option></wsman:OptionSet>' % value)


def xml_escape(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def terminate_envelope(pid, dmtf=False):
    xml = capture("13-invoke-terminate-dmtf-uri.xml" if dmtf else "06-invoke-terminate-wmi-uri.xml")
    return fresh_id(set_selector(xml, "Handle", pid))


def local(tag):
    return tag.rsplit("}", 1)[-1]


def parse_envelope(body):
    """Parses a response body; asserts it is a SOAP 1.2 Envelope with a Body."""
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    root = ET.fromstring(body)
    assert root.tag == "{%s}Envelope" % NS["s"], "not a SOAP envelope: %r" % body[:300]
    assert root.find("s:Body", NS) is not None, "no s:Body: %r" % body[:300]
    return root


def fault_of(root):
    """(subcode, reason, WSManFault Code or None) of a fault envelope, or None."""
    fault = root.find("s:Body/s:Fault", NS)
    if fault is None:
        return None
    sub = fault.find("s:Code/s:Subcode/s:Value", NS)
    code = fault.find("s:Code/s:Value", NS)
    reason = fault.find("s:Reason/s:Text", NS)
    wf = fault.find("s:Detail/f:WSManFault", NS)
    return {
        "code": (code.text or "").strip() if code is not None else "",
        "subcode": (sub.text or "").strip() if sub is not None else "",
        "reason": (reason.text or "") if reason is not None else "",
        "wbem": int(wf.get("Code")) if wf is not None and wf.get("Code") else None,
    }


def instances(root, path):
    """Items found at path under s:Body, as {localname: text} dicts (one per instance)."""
    out = []
    items = root.find(path, NS)
    if items is None:
        return out
    for item in items:
        # EnumerateObjectAndEPR wraps the object in wsman:Item with an EPR next to it.
        objs = [c for c in item if local(c.tag) != "EndpointReference"] \
            if local(item.tag) == "Item" else [item]
        for obj in objs:
            out.append({local(p.tag): (p.text or "") for p in obj})
    return out


def property_of(root, name):
    for el in root.find("s:Body", NS).iter():
        if local(el.tag) == name:
            return el.text
    return None


# ---------------------------------------------------------------------------------------------
# Transports


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


SOAP_TYPE = "application/soap+xml;charset=UTF-8"


def post(conn, body, headers=None):
    """POST /wsman; returns (status, {lower-case header: value}, body bytes)."""
    h = {"Content-Type": SOAP_TYPE}
    h.update(headers or {})
    if isinstance(body, str):
        body = body.encode("utf-8")
    try:
        conn.request("POST", "/wsman", body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        conn.close()


def basic(user, password):
    return {"Authorization": "Basic " + base64.b64encode(
        ("%s:%s" % (user, password)).encode()).decode()}


def alive(pid):
    return e2e.proc_state(pid) not in (None, "Z", "X")


def wait_gone(pid, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not alive(pid):
            return True
        time.sleep(0.01)
    return False


def run(argv, **kw):
    return subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=kw.pop("timeout", 60), **kw)


# A tiny client run as another user or in another network namespace: POSTs stdin to argv[1]
# (unix:PATH or http://HOST:PORT) with optional Basic credentials argv[2]:argv[3] and prints the
# HTTP status on the first line, then the body.
CLIENT = r"""
import base64, http.client, socket, sys
target, body = sys.argv[1], sys.stdin.buffer.read()
h = {"Content-Type": "application/soap+xml;charset=UTF-8"}
if len(sys.argv) > 3 and sys.argv[2]:
    h["Authorization"] = "Basic " + base64.b64encode((sys.argv[2] + ":" + sys.argv[3]).encode()).decode()
for extra in sys.argv[4:]:
    k, _, v = extra.partition(":")
    h[k] = v
if target.startswith("unix:"):
    class C(http.client.HTTPConnection):
        def connect(self):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(30)
            self.sock.connect(target[5:])
    c = C("localhost", timeout=30)
else:
    hostport = target.split("//", 1)[1].split("/", 1)[0]
    c = http.client.HTTPConnection(hostport, timeout=30)
c.request("POST", "/wsman", body=body, headers=h)
r = c.getresponse()
sys.stdout.write(str(r.status) + "\n")
sys.stdout.write(r.read().decode("utf-8", "replace"))
"""


# ---------------------------------------------------------------------------------------------
# A running lwmid


class Daemon:
    """One lwmid process with its own state dir, config, notify socket and ready file."""

    def __init__(self, workdir, config_text, *, socket_path="", http="", https="",
                 netns=None, extra_args=(), state_dir=None):
        """state_dir: another lwmid's (a restart), instead of a new one."""
        self.dir = tempfile.mkdtemp(prefix="d-", dir=workdir)
        os.chmod(self.dir, 0o755)
        self.state = state_dir or os.path.join(self.dir, "state")
        self.config = os.path.join(self.dir, "lwmid.conf")
        with open(self.config, "w") as f:
            f.write(config_text)
        self.ready = os.path.join(self.dir, "ready")
        self.socket = socket_path
        self.log = os.path.join(self.dir, "lwmid.log")
        self.notify_path = os.path.join(self.dir, "notify.sock")
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(self.notify_path)
        argv = [LWMID, "--config", self.config, "--state-dir", self.state,
                "--socket", socket_path, "--http", http, "--https", https,
                "--ready-file", self.ready, "--foreground", *extra_args]
        env = dict(os.environ, NOTIFY_SOCKET=self.notify_path)
        self.logf = open(self.log, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=subprocess.STDOUT, env=env)
        self.endpoints = []

    def wait_ready(self, timeout=20.0):
        end = time.monotonic() + timeout
        while not os.path.exists(self.ready):
            if self.proc.poll() is not None:
                raise AssertionError("lwmid exited with %s before it was ready:\n%s"
                                     % (self.proc.returncode, self.log_text()))
            if time.monotonic() > end:
                raise AssertionError("lwmid wrote no ready file in %.0f s:\n%s"
                                     % (timeout, self.log_text()))
            time.sleep(0.02)
        with open(self.ready) as f:
            self.endpoints = [line.strip() for line in f if line.strip()]
        return self.endpoints

    def notifications(self, timeout=5.0):
        """Datagrams received on the notify socket until READY=1 (or the timeout)."""
        msgs = []
        self.notify.settimeout(timeout)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                msgs.append(self.notify.recv(4096).decode("utf-8", "replace"))
            except socket.timeout:
                break
            if any("READY=1" in m.split("\n") for m in msgs):
                break
        return msgs

    def endpoint(self, scheme):
        for e in self.endpoints:
            if e.startswith(scheme + ":"):
                return e
        raise AssertionError("no %s endpoint in %r" % (scheme, self.endpoints))

    def log_text(self):
        try:
            with open(self.log, "rb") as f:
                return f.read().decode("utf-8", "replace")[-4000:]
        except OSError:
            return ""

    def stop(self, timeout=10.0):
        """SIGTERM; returns the exit status (None if it had to be killed)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return None
        return self.proc.returncode

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.logf.close()
        self.notify.close()


def config_text(remote_group, admin_group, pam_service, *, remote_create=True,
                allow_basic_over_http=None, audit_file=None):
    lines = ["[server]"]
    if allow_basic_over_http is not None:
        lines.append("allow_basic_over_http = %s" % ("true" if allow_basic_over_http else "false"))
    lines += ["", "[security]",
              'remote_group = "%s"' % remote_group,
              'admin_group = "%s"' % admin_group,
              'pam_service = "%s"' % pam_service,
              "remote_create = %s" % ("true" if remote_create else "false"),
              "", "[audit]", "journal = false"]
    if audit_file:
        lines.append('file = "%s"' % audit_file)
    lines.append("")
    return "\n".join(lines)


class User:
    def __init__(self, name, password, groups, shell="/bin/bash"):
        self.name, self.password = name, password
        argv = ["useradd", "-M", "-s", shell]
        if groups:
            argv += ["-G", ",".join(groups)]
        subprocess.run(argv + [name], check=True, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL)
        subprocess.run(["chpasswd"], input=("%s:%s\n" % (name, password)).encode(), check=True)
        pw = pwd.getpwnam(name)
        self.uid, self.gid = pw.pw_uid, pw.pw_gid

    def prefix(self):
        return ["setpriv", "--reuid=%d" % self.uid, "--regid=%d" % self.gid, "--init-groups", "--"]

    def remove(self):
        for _ in range(50):
            r = subprocess.run(["userdel", self.name], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if r.returncode in (0, 6):
                return
            time.sleep(0.1)
        subprocess.run(["userdel", "-f", self.name], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _groupdel(name):
    subprocess.run(["groupdel", name], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def _remove(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


class DaemonTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("these tests run as root")
        if not os.access(LWMID, os.X_OK):
            raise unittest.SkipTest("no lwmid at %s" % LWMID)
        cls.tag = secrets.token_hex(3)
        cls.work = tempfile.mkdtemp(prefix="lwmid-e2e-")
        cls.addClassCleanup(shutil.rmtree, cls.work, True)
        os.chmod(cls.work, 0o755)
        cls.bindir = os.path.join(cls.work, "bin")
        os.mkdir(cls.bindir)
        os.chmod(cls.bindir, 0o755)

        cls.remote_group = "lwmie2e-r-" + cls.tag
        cls.admin_group = "lwmie2e-a-" + cls.tag
        for g in (cls.remote_group, cls.admin_group):
            subprocess.run(["groupadd", g], check=True, stdin=subprocess.DEVNULL)
            cls.addClassCleanup(_groupdel, g)
        cls.users = {}
        for role, groups in (("alice", [cls.remote_group]), ("bob", [cls.remote_group]),
                             ("mallory", []), ("admin", [cls.remote_group, cls.admin_group])):
            name = "e2e-%s-%s" % (role, cls.tag)
            u = User(name, "pw-" + secrets.token_hex(8), groups,
                     "/usr/sbin/nologin" if role == "mallory" else "/bin/bash")
            cls.addClassCleanup(u.remove)
            cls.users[role] = u
        cls.pam_service = "lwmi-e2e-" + cls.tag
        cls.pam_file = os.path.join("/etc/pam.d", cls.pam_service)
        shutil.copyfile(os.path.join(SOURCE_DIR, "etc", "pam.d", "lwmi"), cls.pam_file)
        cls.addClassCleanup(_remove, cls.pam_file)

        cls.socket_path = os.path.join(cls.work, "lwmid.sock")
        cls.d = Daemon(cls.work, config_text(cls.remote_group, cls.admin_group, cls.pam_service),
                       socket_path=cls.socket_path, http="127.0.0.1:0", https="127.0.0.1:0")
        cls.addClassCleanup(cls.d.close)
        cls.d.wait_ready(20)
        cls.notes = cls.d.notifications(5)
        if not any("READY=1" in m.split("\n") for m in cls.notes):
            raise AssertionError("no READY=1 on NOTIFY_SOCKET: %r\n%s"
                                 % (cls.notes, cls.d.log_text()))
        cls.unix = cls.d.endpoint("unix")[len("unix:"):]
        cls.http = cls.d.endpoint("http")
        cls.https = cls.d.endpoint("https")
        cls.cert = os.path.join(cls.d.state, "lwmid.crt")

    # -- lwmic and liblwmi over the wire (the seed's remote example) -----------------------------

    def lwmic_remote(self, *args, role="alice", password=None, home=None, extra=()):
        u = self.users[role]
        pw_file = os.path.join(self.work, "pw-" + secrets.token_hex(3))
        with open(pw_file, "w") as f:
            f.write((password if password is not None else u.password) + "\n")
        os.chmod(pw_file, 0o600)
        self.addCleanup(_remove, pw_file)
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
        exe = os.path.join(self.bindir, name)
        shutil.copy2("/bin/sleep", exe)
        os.chmod(exe, 0o755)
        argv = [exe, "1000"]
        if role != "root":
            argv = self.users[role].prefix() + argv
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        self.addCleanup(e2e.stop_process, p)

        def ready():
            try:
                with open("/proc/%d/comm" % p.pid) as f:
                    return f.read().strip() == name[:15] and e2e.proc_state(p.pid) == "S"
            except OSError:
                return False
        e2e.wait_for(ready, 10, "pid %d to exec %s" % (p.pid, name))
        return p.pid, name

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
        d = Daemon(self.work, config_text(self.remote_group, self.admin_group, self.pam_service),
                   socket_path=sock)
        self.addCleanup(d.close)
        d.wait_ready(20)
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
        exe = os.path.join(self.bindir, name)
        shutil.copy2("/bin/sleep", exe)
        os.chmod(exe, 0o755)
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
        d = Daemon(self.work, config_text(self.remote_group, self.admin_group, self.pam_service,
                                          audit_file=audit), http="127.0.0.1:0")
        self.addCleanup(d.close)
        d.wait_ready(20)
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
        d = Daemon(self.work, config_text(self.remote_group, self.admin_group, self.pam_service),
                   socket_path=sock, extra_args=["--testing-skip-own-checks"])
        self.addCleanup(d.close)
        d.wait_ready(20)
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
        d = Daemon(self.work, config_text(self.remote_group, self.admin_group, self.pam_service),
                   http=a + ":0")
        self.addCleanup(d.close)
        d.wait_ready(20)
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
