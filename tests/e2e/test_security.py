"""Named attacks on lwmi's security model, each failing closed, with the audit log checked line by
line; pid namespaces (lwmic in a child pid namespace on lwmid's socket); Create as the caller;
the login delay under parallel attempts.

Real lwmid, real users (tests/e2e/lwmi_e2e/security_env.py), real processes. Runs as root with
/usr/bin/python3.
"""
import csv
import http.client
import io
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
import unittest
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import lwmi_e2e as e2e  # noqa: E402
from lwmi_e2e import lwmid, security_env, wsman  # noqa: E402

NOT_FOUND = "WBEM_E_NOT_FOUND (0x80041002)"

# Run by `unshare --pid --fork --mount-proc` as the namespace's pid 1: starts a child, then asks
# lwmid (through the socket) for the process list, for a host pid, and ends the child by the pid
# it has inside. Prints one JSON object.
IN_NAMESPACE = r"""
import json, os, subprocess, sys, time
sock, lwmic, host_pid, prog = sys.argv[1:5]
child = subprocess.Popen([prog, "1000"])
for _ in range(1000):
    try:
        if open("/proc/%d/comm" % child.pid).read().strip() == os.path.basename(prog)[:15]:
            break
    except OSError:
        pass
    time.sleep(0.01)
def lw(*a):
    p = subprocess.run([lwmic, "--socket", sock, "--format", "json", *a], capture_output=True,
                       text=True, timeout=60)
    return [p.returncode, p.stdout, p.stderr]
out = {"self": os.getpid(), "child": child.pid}
out["list"] = lw("list", "Win32_Process", "--properties", "Handle,ProcessId,ParentProcessId,Name")
out["get_host"] = lw("get", "Win32_Process=%s" % host_pid, "--properties", "Name")
out["kill_host"] = lw("--enable-privilege", "SeDebugPrivilege", "call",
                      "Win32_Process=%s" % host_pid, "Terminate")
out["create"] = lw("call", "Win32_Process", "Create", "CommandLine=%s 1000" % prog)
out["kill_child"] = lw("call", "Win32_Process=%d" % child.pid, "Terminate")
child.wait(timeout=10)
out["child_status"] = child.returncode
print(json.dumps(out))
"""


# Connects to lwmid's socket, passes the connection to the test (over the socketpair end given),
# and exits when told to: the connection then outlives the process that made it.
CONNECT_AND_PASS = r"""
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
c = socket.socket(fileno=int(sys.argv[2]))
socket.send_fds(c, [b"c"], [s.fileno()])
c.recv(1)
"""


def renew_envelope(identifier, expires="PT600.000000S"):
    """A WS-Eventing Renew of the subscription `identifier`."""
    xml = wsman.unsubscribe_envelope(identifier).replace("/eventing/Unsubscribe<", "/eventing/Renew<")
    return xml.replace("<wse:Unsubscribe/>",
                       "<wse:Renew><wse:Expires>%s</wse:Expires></wse:Renew>" % expires)


def json_rows(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


class SecurityAttacks(security_env.SecurityTest):
    def assert_audit(self, want, audit=None):
        """The audit lines written since the last mark, one by one: each a dict of key: value
        (a value that is a tuple means: this text is in the value)."""
        lines = (audit or self.env.audit).new()
        # A "repeated=N" summary of lines an earlier test wrote comes when its 10 s window ends,
        # at any time: it is not this test's, unless the test asks for one.
        if not any("repeated" in w for w in want):
            lines = [l for l in lines if "repeated" not in l]
        self.assertEqual(len(lines), len(want), "audit lines:\n%s" % "\n".join(map(str, lines)))
        for got, w in zip(lines, want):
            for k, v in w.items():
                if isinstance(v, tuple):
                    self.assertIn(v[0], got.get(k, ""), (k, got))
                else:
                    self.assertEqual(got.get(k), v, (k, got))
        return lines

    # -- pid namespaces ------------------------------------------------------------------------

    def test_caller_in_a_child_pid_namespace(self):
        """lwmic inside `unshare --pid --fork --mount-proc` on lwmid's socket: lists only its
        namespace by its own pids, cannot name a host pid (not found, even as root asking for
        SeDebugPrivilege, which it does not hold), may not Create, and ends its own child by the
        pid it knows."""
        if not shutil.which("unshare"):
            self.skipTest("no unshare(1)")
        env = self.env
        host = env.target(self, "alice")
        prog, name = env.program()
        p = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", wsman.PY, "-c",
                            IN_NAMESPACE, env.socket, env.lwmic, str(host), prog],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
        if p.returncode != 0 and b"unshare failed" in p.stderr:
            self.skipTest("unshare --pid is not allowed here: " + p.stderr.decode())
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        out = json.loads(p.stdout.decode().strip().splitlines()[-1])
        self.assertEqual(out["self"], 1, "the script is the namespace's pid 1")
        rc, text, err = out["list"]
        self.assertEqual(rc, 0, err)
        rows = json_rows(text)
        by_pid = {r["ProcessId"]: r for r in rows}
        # Only the namespace: its init (the script), its child, and lwmic itself.
        self.assertTrue(by_pid[1]["Name"].startswith("python"), rows)
        self.assertEqual({r["Name"] for r in rows}, {by_pid[1]["Name"], name, "lwmic"}, rows)
        self.assertEqual(by_pid[1]["ParentProcessId"], 0, "the namespace's init: parent outside")
        self.assertEqual(by_pid[out["child"]]["Name"], name)
        self.assertEqual(by_pid[out["child"]]["ParentProcessId"], 1)
        self.assertEqual(by_pid[out["child"]]["Handle"], str(out["child"]))
        self.assertTrue(all(r["ProcessId"] < 1000 for r in rows), "no host pid: %r" % rows)
        self.assertNotIn(host, by_pid)
        # A host pid named from inside: not found.
        rc, text, err = out["get_host"]
        self.assertEqual(rc, 3, err)
        self.assertIn(NOT_FOUND, err)
        rc, text, err = out["kill_host"]
        self.assertEqual(rc, 3, err)
        self.assertIn(NOT_FOUND, err)
        self.assertTrue(e2e.alive(host), "the host's process lives")
        # Create would start a process outside the caller's namespace: access denied.
        rc, text, err = out["create"]
        self.assertEqual((rc, json_rows(text)[-1]["ReturnValue"]), (1, 2), err)
        # Its own child, by the pid it knows: ended.
        rc, text, err = out["kill_child"]
        self.assertEqual((rc, json_rows(text)[-1]["ReturnValue"]), (0, 0), err)
        self.assertEqual(out["child_status"], -9)
        lines = self.assert_audit([
            {"action": "EnablePrivilege", "result": "refused", "caller.uid": "0",
             "detail": "SeDebugPrivilege is not held"},
            {"action": "Terminate", "result": "WBEM_E_NOT_FOUND", "privileges": "none",
             "detail": ("in the caller's pid namespace",)},
            {"action": "Create", "result": "2", "detail": ("another pid namespace",)},
            {"action": "Terminate", "result": "0", "target.name": name, "privileges": "none"},
        ])
        for line in lines:
            self.assertIn("caller.pidns", line)
        self.assertNotEqual(lines[-1]["target.pid"], str(out["child"]),
                            "the audit names the process by lwmid's pid")

    def test_connection_outliving_its_peer_is_nowhere(self):
        """A connection kept open after the process that connected exits, its pid then reused by
        a host process as root: the next request is no longer root's in lwmid's namespace (it was
        read from /proc by the pid SO_PEERCRED gave): it sees nothing and holds no privilege."""
        env = self.env
        first, second = env.target(self, "alice"), env.target(self, "alice")
        a, b = socket.socketpair()
        self.addCleanup(a.close)
        connector = subprocess.Popen(
            [wsman.PY, "-c", CONNECT_AND_PASS, env.socket, str(b.fileno())], pass_fds=[b.fileno()])
        b.close()
        _, fds, _, _ = socket.recv_fds(a, 1, 1)
        self.assertEqual(len(fds), 1)
        conn_sock = socket.socket(fileno=fds[0])
        conn_sock.settimeout(60)
        conn = http.client.HTTPConnection("localhost", timeout=60)
        conn.sock = conn_sock
        self.addCleanup(conn.close)

        def terminate(pid):
            conn.request("POST", "/wsman", body=wsman.enable_privilege(wsman.terminate_envelope(pid)),
                         headers={"Content-Type": wsman.SOAP_TYPE})
            r = conn.getresponse()
            return r.status, wsman.parse_envelope(r.read())

        # While the connector lives, the connection is root's on the host, with SeDebugPrivilege.
        status, root = terminate(first)
        self.assertEqual((status, wsman.property_of(root, "ReturnValue")), (200, "0"))
        self.assertTrue(e2e.wait_gone(first))
        a.send(b"q")
        connector.wait(timeout=60)
        gone = connector.pid
        # Its pid, reused by a root process of the host.
        with open("/proc/sys/kernel/pid_max") as f:
            pid_max = int(f.read())
        reuser = None
        for _ in range(500):
            with open("/proc/sys/kernel/ns_last_pid", "w") as f:
                f.write(str(gone - 1 if gone > 1 else pid_max - 1))
            p = subprocess.Popen(["/bin/sleep", "1000"], stdin=subprocess.DEVNULL)
            if p.pid == gone:
                reuser = p
                break
            e2e.kill_and_reap(p)
        self.assertIsNotNone(reuser, "pid %d was not reused" % gone)
        self.addCleanup(e2e.stop_process, reuser)
        status, root = terminate(second)
        fault = wsman.fault_of(root)
        self.assertIsNotNone(fault, "the request ran as the host's root: %r" % status)
        self.assertEqual(fault["wbem"], 0x80041002, fault)
        self.assertTrue(e2e.alive(second))
        lines = env.audit.new()
        self.assertEqual([(l["action"], l["result"]) for l in lines],
                         [("Terminate", "0"), ("EnablePrivilege", "refused"),
                          ("Terminate", "WBEM_E_NOT_FOUND")], lines)
        self.assertEqual(lines[-1]["privileges"], "none")

    # -- who owns an open enumeration or subscription, with which rights ----------------------

    def unix_as(self, user, body, conn=None):
        """POSTs body on lwmid's socket as `user` (None: root, in this process; conn: on that
        connection); returns (HTTP status, parsed envelope)."""
        if conn is not None:
            conn.request("POST", "/wsman", body=body.encode(),
                         headers={"Content-Type": wsman.SOAP_TYPE})
            r = conn.getresponse()
            return r.status, wsman.parse_envelope(r.read())
        if user is None:
            status, _, data = wsman.post(wsman.UnixHTTPConnection(self.env.socket, 60), body)
            return status, wsman.parse_envelope(data)
        p = subprocess.run(user.prefix() + [wsman.PY, "-c", wsman.CLIENT, "unix:" + self.env.socket],
                           input=body.encode(), capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        status, _, data = p.stdout.decode().partition("\n")
        return int(status), wsman.parse_envelope(data)

    def held_connection(self, user):
        """A connection to lwmid's socket made by a process running as `user` that stays alive
        (a subscription made on the Unix socket lives as long as its connection, and a
        connection whose process is gone is nowhere); closed, and the process ended, at
        cleanup."""
        a, b = socket.socketpair()
        self.addCleanup(a.close)
        holder = subprocess.Popen(user.prefix() + [wsman.PY, "-c", CONNECT_AND_PASS,
                                                   self.env.socket, str(b.fileno())],
                                  pass_fds=[b.fileno()], stdin=subprocess.DEVNULL)
        b.close()
        self.addCleanup(holder.wait, 30)
        self.addCleanup(a.send, b"q")
        a.settimeout(30)
        _, fds, _, _ = socket.recv_fds(a, 1, 1)
        self.assertTrue(fds, "the holder passed its connection")
        conn = http.client.HTTPConnection("localhost", timeout=60)
        conn.sock = socket.socket(fileno=fds[0])
        self.addCleanup(conn.close)
        return conn

    def https_as(self, user, body):
        status, _, data = self.post(self.env.https, body, wsman.basic(user.name, user.password))
        return status, wsman.parse_envelope(data)

    @staticmethod
    def subscription_of(root):
        resp = root.find("s:Body/wse:SubscribeResponse", wsman.NS)
        assert resp is not None, ET.tostring(root)[:2000]
        return resp.find("wse:SubscriptionManager/wsa:ReferenceParameters/wse:Identifier",
                         wsman.NS).text

    def test_an_orphaned_connection_in_a_child_pid_namespace_hears_no_host_event(self):
        """A same-uid watcher on the host and a subscriber whose connection was made inside
        `unshare --pid` by a process since gone (nowhere), both on modification events at the
        same WITHIN: the host's changes reach the watcher and never the orphan (its view once
        shared the host's snapshot)."""
        if not shutil.which("unshare"):
            self.skipTest("no unshare(1)")
        env = self.env
        target = env.target(self, "root")
        wql = ("SELECT * FROM __InstanceModificationEvent WITHIN 0.5 WHERE TargetInstance ISA "
               "'Win32_Process'")
        # A subscription made on the Unix socket lives as long as its connection: one for all.
        wconn = wsman.UnixHTTPConnection(env.socket, 60)
        self.addCleanup(wconn.close)
        status, root = self.unix_as(None, wsman.subscribe_envelope(
            wql + " AND TargetInstance.ProcessId = %d" % target), conn=wconn)
        self.assertEqual(status, 200, ET.tostring(root)[:2000])
        watcher = self.subscription_of(root)
        self.addCleanup(self.unix_as, None, wsman.unsubscribe_envelope(watcher), wconn)

        a, b = socket.socketpair()
        self.addCleanup(a.close)
        connector = subprocess.Popen(
            ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", wsman.PY, "-c",
             CONNECT_AND_PASS, env.socket, str(b.fileno())],
            pass_fds=[b.fileno()], stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
        b.close()
        a.settimeout(30)
        try:
            _, fds, _, _ = socket.recv_fds(a, 1, 1)
        except OSError:
            fds = []
        if not fds:
            connector.wait(timeout=30)
            self.skipTest("unshare --pid is not allowed here: %s" % connector.stderr.read())
        conn = http.client.HTTPConnection("localhost", timeout=60)
        conn.sock = socket.socket(fileno=fds[0])
        self.addCleanup(conn.close)
        a.send(b"q")
        self.assertEqual(connector.wait(timeout=60), 0, connector.stderr.read())
        connector.stderr.close()

        status, root = self.unix_as(None, wsman.subscribe_envelope(wql), conn=conn)
        self.assertEqual(status, 200, ET.tostring(root)[:2000])
        orphan = self.subscription_of(root)

        # The host process changes, again and again, while both listen.
        stop = threading.Event()

        def renice():
            n = 0
            while not stop.is_set():
                n = n % 19 + 1
                os.setpriority(os.PRIO_PROCESS, target, n)
                stop.wait(0.3)
        t = threading.Thread(target=renice)
        t.start()
        self.addCleanup(t.join)
        self.addCleanup(stop.set)
        heard, end = [], time.monotonic() + 4
        while time.monotonic() < end:
            status, root = self.unix_as(None, wsman.pull_envelope(orphan, timeout="PT1.000S"),
                                        conn=conn)
            if status == 200:
                heard += wsman.event_items(root)
            else:
                self.assertEqual(wsman.fault_of(root)["wbem"], wsman.WBEM_E_TIMED_OUT,
                                 wsman.fault_of(root))
        status, root = self.unix_as(None, wsman.pull_envelope(watcher, timeout="PT5.000S"),
                                    conn=wconn)
        self.assertEqual(status, 200, wsman.fault_of(root))
        self.assertTrue(any(ev["ProcessId"] == str(target) for _, ev in wsman.event_items(root)),
                        "the host watcher hears of the host's changes")
        self.assertEqual(heard, [], "host events reached the orphaned connection")
        stop.set()
        self.unix_as(None, wsman.unsubscribe_envelope(orphan), conn=conn)

    def test_an_enumeration_context_passed_into_a_child_pid_namespace_is_refused(self):
        """Enumeration contexts follow the subscriptions' owner rule (uid and pid namespace): the
        host's root opens one; root inside `unshare --pid` with its identifier can neither pull
        host processes from it nor release it."""
        if not shutil.which("unshare"):
            self.skipTest("no unshare(1)")
        env = self.env
        status, root = self.unix_as(None, wsman.fresh_id(wsman.capture("02-enumerate-class.xml")))
        self.assertEqual(status, 200)
        context = root.find("s:Body/wsen:EnumerateResponse/wsen:EnumerationContext",
                            wsman.NS).text.strip()
        pull = wsman.fresh_id(wsman.set_context(wsman.capture("03-pull.xml"), context))
        release = pull.replace("/enumeration/Pull<", "/enumeration/Release<").replace(
            "<wsen:Pull>", "<wsen:Release>").replace("</wsen:Pull>", "</wsen:Release>")
        for what, body in (("pull", pull), ("release", release)):
            with self.subTest(what=what):
                p = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", wsman.PY, "-c",
                                    wsman.CLIENT, "unix:" + env.socket],
                                   input=body.encode(), capture_output=True, timeout=60)
                if p.returncode != 0 and b"unshare failed" in p.stderr:
                    self.skipTest("unshare --pid is not allowed here: " + p.stderr.decode())
                self.assertEqual(p.returncode, 0, p.stderr.decode())
                status, _, data = p.stdout.decode().partition("\n")
                got = wsman.parse_envelope(data)
                self.assertEqual(status, "500", data[:2000])
                self.assertTrue(wsman.fault_of(got)["subcode"].endswith(":InvalidEnumerationContext"),
                                wsman.fault_of(got))
                self.assertEqual(wsman.instances(got, "s:Body/wsen:PullResponse/wsen:Items"), [])
        # The host's root still has it, whole.
        status, root = self.unix_as(None, wsman.fresh_id(pull))
        self.assertEqual(status, 200, wsman.fault_of(root))
        self.assertEqual(len(wsman.instances(root, "s:Body/wsen:PullResponse/wsen:Items")), 1)
        self.unix_as(None, wsman.fresh_id(release))

    def test_rights_are_those_of_each_request_not_frozen_at_open(self):
        """An admin opens an enumeration and event subscriptions with SeDebugPrivilege enabled
        (root's ExecutablePath readable), then is removed from admin_group (gpasswd -d): the
        next Pull returns nothing more and ends the enumeration or subscription, Renew is
        refused and ends it — over the Unix socket (groups read at each request) and HTTPS
        (the login cache is dropped when /etc/group changes)."""
        env = self.env
        prog, name = env.program()
        for _ in range(3):  # one for the first Pull, more for the next
            env.target(self, "root", name)
        query = ("SELECT Handle, ExecutablePath FROM Win32_Process WHERE Name = '%s'" % name)
        events = ("SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA "
                  "'Win32_Process' AND TargetInstance.Name = '%s'" % name)
        enumerate_ = wsman.fresh_id(wsman.set_filter(
            wsman.capture("01-enumerate-wql-optimized.xml").replace(
                "<wsman:OptimizeEnumeration/>", ""), query))
        for via in ("unix", "https"):
            with self.subTest(via=via):
                dave = lwmid.User("sec-dave-%s" % secrets.token_hex(3), "pw-" + secrets.token_hex(8),
                               [env.remote_group, env.admin_group])
                self.addCleanup(dave.remove)
                if via == "unix":
                    conn = self.held_connection(dave)

                    def send(body, conn=conn):
                        return self.unix_as(dave, wsman.enable_privilege(wsman.fresh_id(body)), conn)
                else:
                    def send(body):
                        return self.https_as(dave, wsman.fresh_id(body))
                env.audit.mark()
                status, root = send(enumerate_)
                self.assertEqual(status, 200, wsman.fault_of(root))
                context = root.find("s:Body/wsen:EnumerateResponse/wsen:EnumerationContext",
                                    wsman.NS).text.strip()
                pull = wsman.set_context(wsman.capture("03-pull.xml"), context).replace(
                    "</wsen:Pull>", "<wsen:MaxElements>1</wsen:MaxElements></wsen:Pull>")
                status, root = send(pull)
                self.assertEqual(status, 200, wsman.fault_of(root))
                rows = wsman.instances(root, "s:Body/wsen:PullResponse/wsen:Items")
                self.assertEqual([r["ExecutablePath"] for r in rows], [prog],
                                 "root's ExecutablePath, read with SeDebugPrivilege")
                subs = []
                for _ in range(2):
                    status, root = send(wsman.subscribe_envelope(events))
                    self.assertEqual(status, 200, wsman.fault_of(root))
                    subs.append(self.subscription_of(root))
                pulled, renewed = subs
                # A third, whose Pull is already waiting when the rights change: lwmid ends it
                # too (on the Unix socket, on a connection of its own, held by another process).
                if via == "unix":
                    wconn = self.held_connection(dave)

                    def send_waiting(body, wconn=wconn):
                        return self.unix_as(dave, wsman.enable_privilege(wsman.fresh_id(body)), wconn)
                else:
                    send_waiting = send
                status, root = send_waiting(wsman.subscribe_envelope(
                    events.replace("'%s'" % name, "'never-%s'" % name)))  # nothing will come
                self.assertEqual(status, 200, wsman.fault_of(root))
                waited = self.subscription_of(root)
                subs.append(waited)
                answer = {}
                waiter = threading.Thread(target=lambda: answer.update(r=send_waiting(
                    wsman.pull_envelope(waited, timeout="PT60.000S"))))
                waiter.start()
                self.addCleanup(waiter.join, 70)
                env.target(self, "root", name)
                status, root = send(wsman.pull_envelope(pulled, timeout="PT10.000S"))
                self.assertEqual(status, 200, wsman.fault_of(root))
                self.assertEqual([ev["ExecutablePath"] for _, ev in wsman.event_items(root)],
                                 [prog], "an event read with SeDebugPrivilege")

                subprocess.run(["gpasswd", "-d", dave.name, env.admin_group], check=True,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
                env.target(self, "root", name)  # an event for the subscription, queued
                time.sleep(1)  # the event reaches the queue (the refusal below holds regardless)

                # The Pull that was waiting (for an event that never comes) is answered, the
                # subscription ended.
                waiter.join(20)
                self.assertFalse(waiter.is_alive(), "the waiting Pull was answered")
                status, root = answer["r"]
                self.assertEqual(status, 500, ET.tostring(root)[:2000])

                status, root = send(pull)
                fault = wsman.fault_of(root)
                self.assertIsNotNone(fault, "pulled after the removal: %r" % wsman.instances(
                    root, "s:Body/wsen:PullResponse/wsen:Items"))
                self.assertEqual((status, fault["wbem"]), (500, wsman.WBEM_E_ACCESS_DENIED), fault)
                self.assertIn("SeDebugPrivilege", fault["reason"])
                status, root = send(pull)
                self.assertTrue(wsman.fault_of(root)["subcode"].endswith(":InvalidEnumerationContext"),
                                "the enumeration was ended: %r" % wsman.fault_of(root))

                # lwmid re-checks its subscribers' rights every 2 s: this Pull either finds the
                # subscription and ends it, or finds it ended already. Either way, no event.
                status, root = send(wsman.pull_envelope(pulled, timeout="PT1.000S"))
                fault = wsman.fault_of(root)
                self.assertIsNotNone(fault, "pulled after the removal: %r" % wsman.event_items(root))
                self.assertTrue(fault["wbem"] == wsman.WBEM_E_ACCESS_DENIED or
                                fault["subcode"].endswith(":InvalidEnumerationContext"), fault)
                status, root = send(wsman.pull_envelope(pulled, timeout="PT1.000S"))
                self.assertTrue(wsman.fault_of(root)["subcode"].endswith(":InvalidEnumerationContext"),
                                "the subscription was ended: %r" % wsman.fault_of(root))

                status, root = send(renew_envelope(renewed))
                fault = wsman.fault_of(root)
                self.assertIsNotNone(fault, "renewed after the removal")
                self.assertTrue(fault["wbem"] == wsman.WBEM_E_ACCESS_DENIED or
                                fault["subcode"].endswith(":UnableToRenew"), fault)
                status, root = send(renew_envelope(renewed))
                self.assertTrue(wsman.fault_of(root)["subcode"].endswith(":UnableToRenew"),
                                "the subscription was ended: %r" % wsman.fault_of(root))

                ended = [l for l in env.audit.new()
                         if l["action"] == "Unsubscribe" and l["caller.user"] == dave.name]
                self.assertEqual([l["result"] for l in ended], ["WBEM_E_ACCESS_DENIED"] * 3, ended)
                self.assertEqual(sorted(l["detail"].split(": ", 1)[0] for l in ended),
                                 sorted("id=" + i for i in (pulled, renewed, waited)), ended)
                for line in ended:
                    self.assertIn("SeDebugPrivilege, enabled when the subscription was made, is "
                                  "no longer held", line["detail"])

    # -- Create --------------------------------------------------------------------------------

    def check_created(self, pid, role, prog):
        u = self.env.users[role]
        pw = pwd.getpwnam(u.name)
        self.addCleanup(lambda: e2e.alive(pid) and os.kill(pid, 9))
        e2e.wait_for(lambda: os.path.exists("/proc/%d/exe" % pid) and
                     os.readlink("/proc/%d/exe" % pid) == prog, 10, "the created process")
        st = e2e.proc_status(pid)
        self.assertEqual({int(x) for x in st["Uid"].split()}, {u.uid}, "runs as the caller")
        self.assertEqual({int(x) for x in st["Gid"].split()}, {u.gid})
        groups = {int(g) for g in st["Groups"].split()}
        self.assertEqual(groups, set(os.getgrouplist(u.name, u.gid)), "the caller's groups")
        with open("/proc/%d/environ" % pid, "rb") as f:
            environ = [e.decode() for e in f.read().split(b"\0") if e]
        self.assertEqual(environ, ["PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + pw.pw_dir,
                                   "SHELL=/bin/bash", "USER=" + u.name, "LOGNAME=" + u.name],
                         "a clean environment")
        self.assertEqual(os.getsid(pid), pid, "its own session")
        self.assertEqual(e2e.proc_status(pid)["CapEff"], "0000000000000000")

    def test_create_runs_as_the_caller_with_a_clean_environment(self):
        env = self.env
        for via in ("unix", "https"):
            with self.subTest(via=via):
                prog, name = env.program()
                run = env.lwmic_unix if via == "unix" else env.lwmic_https
                rc, out, err = run("alice", "--format", "json", "call", "Win32_Process", "Create",
                                   "CommandLine=%s 1000" % prog)
                self.assertEqual(rc, 0, err)
                row = json_rows(out)[-1]
                self.assertEqual(row["ReturnValue"], 0)
                self.check_created(row["ProcessId"], "alice", prog)
                self.assert_audit([{"action": "Create", "result": "0",
                                    "caller.user": env.users["alice"].name,
                                    "target.pid": str(row["ProcessId"]), "target.name": prog}])

    def test_create_cannot_probe_directories_it_may_not_see(self):
        """CurrentDirectory is checked with the caller's credentials: inside a directory alice may
        not search, an existing and a missing subdirectory give the same answer (2)."""
        env = self.env
        private = os.path.join(env.work, "private-" + secrets.token_hex(3))
        os.mkdir(private, 0o700)
        os.mkdir(os.path.join(private, "exists"))
        prog, name = env.program()
        for sub in ("exists", "missing"):
            with self.subTest(sub=sub):
                rc, out, err = env.lwmic_unix("alice", "--format", "json", "call", "Win32_Process",
                                              "Create", "CommandLine=%s 1000" % prog,
                                              "CurrentDirectory=%s/%s" % (private, sub))
                self.assertEqual((rc, json_rows(out)[-1]["ReturnValue"]), (1, 2), err)
                self.assert_audit([{"action": "Create", "result": "2",
                                    "caller.user": env.users["alice"].name,
                                    "detail": ("Permission denied",)}])
        # Where alice may look, a missing directory is 9 (path not found).
        rc, out, err = env.lwmic_unix("alice", "--format", "json", "call", "Win32_Process",
                                      "Create", "CommandLine=%s 1000" % prog,
                                      "CurrentDirectory=%s/missing" % env.work)
        self.assertEqual((rc, json_rows(out)[-1]["ReturnValue"]), (1, 9), err)

    def test_create_for_an_account_that_may_not_log_in(self):
        """mallory's shell is nologin: refused with 2 locally and remotely; so is a locked
        account. Nothing is started; each refusal is audited."""
        env = self.env
        locked = lwmid.User("sec-lk-" + secrets.token_hex(3), "pw-" + secrets.token_hex(6),
                         [env.remote_group])
        self.addCleanup(locked.remove)
        subprocess.run(["usermod", "-L", locked.name], check=True)
        env.users["locked"] = locked
        self.addCleanup(env.users.pop, "locked")
        env.audit.mark()
        cases = (("mallory", "unix", "nologin"), ("mallory", "https", "nologin"),
                 ("locked", "unix", "locked"))
        for role, via, why in cases:
            with self.subTest(role=role, via=via):
                prog, name = env.program()
                run = env.lwmic_unix if via == "unix" else env.lwmic_https
                rc, out, err = run(role, "--format", "json", "call", "Win32_Process", "Create",
                                   "CommandLine=%s 1000" % prog)
                self.assertEqual(rc, 1, err)
                self.assertEqual(json_rows(out)[-1]["ReturnValue"], 2)
                time.sleep(0.1)
                comms = []
                for pid in e2e.pids_in_proc():
                    try:
                        with open("/proc/%d/comm" % pid) as f:
                            comms.append(f.read().strip())
                    except OSError:
                        pass
                self.assertNotIn(name[:15], comms, "nothing was started")
                self.assert_audit([{"action": "Create", "result": "2",
                                    "caller.uid": str(env.users[role].uid),
                                    "detail": (why,)}])

    def test_real_pam_refuses_locked_and_expired_accounts(self):
        """The real PAM stack (pam_unix under the service's file), which the unit tests replace
        with a fake: with the right password, a locked account and an expired one are refused
        over HTTPS (exit 4, audited with the reason the account database gives), and Create for
        the expired one over the socket returns 2 (pam_acct_mgmt refuses it)."""
        env = self.env
        cases = (("lk", ["-L"], "account locked"), ("ex", ["-e", "1"], "pam_acct_mgmt"))
        for tag, usermod, why in cases:
            with self.subTest(tag=tag):
                u = lwmid.User("sec-%s-%s" % (tag, secrets.token_hex(3)),
                            "pw-" + secrets.token_hex(6), [env.remote_group])
                self.addCleanup(u.remove)
                subprocess.run(["usermod", *usermod, u.name], check=True)
                env.users[tag] = u
                self.addCleanup(env.users.pop, tag)
                env.audit.mark()
                rc, out, err = env.lwmic_https(tag, "process", "list", "brief")
                self.assertEqual(rc, 4, err)
                self.assert_audit([{"action": "Login", "result": "refused",
                                    "caller.user": u.name, "detail": (why,)}])
        prog, name = env.program()
        rc, out, err = env.lwmic_unix("ex", "--format", "json", "call", "Win32_Process",
                                      "Create", "CommandLine=%s 1000" % prog)
        self.assertEqual((rc, json_rows(out)[-1]["ReturnValue"]), (1, 2), err)
        self.assert_audit([{"action": "Create", "result": "2",
                            "detail": ("may not log in (pam_acct_mgmt",)}])

    # -- masked properties ---------------------------------------------------------------------

    def test_a_filter_cannot_probe_a_masked_property(self):
        env = self.env
        pid = env.target(self, "alice")
        exe = os.readlink("/proc/%d/exe" % pid)
        probes = ("SELECT Handle FROM Win32_Process WHERE ExecutablePath = '%s'" % exe,
                  "SELECT Handle FROM Win32_Process WHERE ExecutablePath LIKE '%%%s%%'"
                  % os.path.basename(exe),
                  "SELECT Handle FROM Win32_Process WHERE Handle = '%d' AND "
                  "ExecutablePath IS NOT NULL" % pid)
        for via in ("unix", "https"):
            run = self.env.lwmic_unix if via == "unix" else self.env.lwmic_https
            for q in probes:
                with self.subTest(via=via, query=q):
                    rc, out, err = run("bob", "--format", "json", "query", q)
                    self.assertEqual(rc, 0, err)
                    self.assertEqual(json_rows(out), [], "bob learnt alice's ExecutablePath")
            with self.subTest(via=via, what="the masked view"):
                rc, out, err = run("bob", "--format", "json", "query",
                                   "SELECT Handle,ExecutablePath FROM Win32_Process WHERE "
                                   "Handle = '%d' AND ExecutablePath IS NULL" % pid)
                self.assertEqual(rc, 0, err)
                self.assertEqual([(r["Handle"], r["ExecutablePath"]) for r in json_rows(out)],
                                 [(str(pid), None)])
        # The privileged view (admin, remote: enabled automatically) does see it.
        rc, out, err = env.lwmic_https("admin", "--format", "json", "query", probes[0])
        self.assertEqual(rc, 0, err)
        self.assertEqual([r["Handle"] for r in json_rows(out)], [str(pid)])
        self.assert_audit([])

    # -- object paths --------------------------------------------------------------------------

    def test_stale_or_forged_creation_date(self):
        env = self.env
        pid = env.target(self, "alice")
        rc, out, err = env.lwmic_unix("alice", "--format", "json", "get", "Win32_Process=%d" % pid,
                                      "--properties", "CreationDate")
        self.assertEqual(rc, 0, err)
        real = json_rows(out)[0]["CreationDate"]
        us, offset = e2e.parse_cim_datetime(real)
        stale = real[:12] + "%02d" % ((int(real[12:14]) + 1) % 60) + real[14:]
        self.assertNotEqual(stale, real)
        for via in ("unix", "https"):
            run = env.lwmic_unix if via == "unix" else env.lwmic_https
            for forged in (stale, "20991231235959.000000+000", "19700101000000.000000+000",
                           "not-a-datetime"):
                with self.subTest(via=via, creation_date=forged):
                    env.audit.mark()
                    rc, out, err = run("alice", "call", 'Win32_Process.Handle="%d",CreationDate="%s"'
                                       % (pid, forged), "Terminate")
                    self.assertEqual(rc, 3, err)
                    self.assertIn(NOT_FOUND, err)
                    self.assertTrue(e2e.alive(pid))
                    self.assert_audit([{"action": "Terminate", "result": "WBEM_E_NOT_FOUND",
                                        "caller.user": ("sec-alice",)}])
        rc, out, err = env.lwmic_unix("alice", "call", 'Win32_Process.Handle="%d",CreationDate="%s"'
                                      % (pid, real), "Terminate")
        self.assertEqual(rc, 0, err)
        self.assertTrue(e2e.wait_gone(pid), "the right CreationDate names it")

    # -- authentication ------------------------------------------------------------------------

    def envelopes(self, pid, prog):
        """One envelope per WS-Man operation lwmid knows of."""
        cap = wsman.capture
        get = wsman.fresh_id(wsman.set_selector(cap("04-get.xml"), "Handle", pid))
        create = cap("microsoft/09-invoke-static-method-win32_process-create.xml").replace(
            "<p:CommandLine>notepad.exe</p:CommandLine>",
            "<p:CommandLine>%s 1000</p:CommandLine>" % prog).replace(
            "<p:CurrentDirectory>C:\\</p:CurrentDirectory>",
            "<p:CurrentDirectory>/tmp</p:CurrentDirectory>")
        assert prog in create
        return {
            "Identify": cap("microsoft/11-identify.xml"),
            "Get": get,
            "GetClass": cap("microsoft/07-get-class.xml"),
            "Enumerate": wsman.fresh_id(cap("02-enumerate-class.xml")),
            "EnumerateWQL": wsman.fresh_id(cap("01-enumerate-wql-optimized.xml")),
            "Pull": wsman.fresh_id(cap("03-pull.xml")),
            "Release": wsman.fresh_id(cap("03-pull.xml")).replace(
                "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull",
                "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Release"),
            "Invoke Terminate": wsman.terminate_envelope(pid),
            "Invoke Create": create,
            "Delete": get.replace("http://schemas.xmlsoap.org/ws/2004/09/transfer/Get",
                                  "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete"),
            "Put": cap("microsoft/12-put-set-ciminstance.xml"),
            "Subscribe": wsman.fresh_id(cap("07-subscribe-pull.xml")),
            "Unsubscribe": wsman.fresh_id(cap("09-unsubscribe.xml")),
        }

    def test_unauthenticated_request_of_every_operation(self):
        env = self.env
        pid = env.target(self, "alice")
        prog, name = env.program()
        bodies = self.envelopes(pid, prog)
        self.assertIn("transfer/Delete", bodies["Delete"])
        auths = ((None, "no credentials"), ("Basic !!notbase64", "malformed Authorization header"),
                 ("Negotiate TlRMTVNTUAABAAAA", "malformed Authorization header"))
        count = 0
        for via in ("http", "https"):
            url = getattr(env, via)
            for op, body in bodies.items():
                for auth, why in auths:
                    with self.subTest(via=via, operation=op, auth=auth):
                        h = {"Authorization": auth} if auth else {}
                        status, hdrs, data = self.post(url, body, h)
                        self.assertEqual(status, 401, data[:300])
                        self.assertTrue(hdrs.get("www-authenticate", "").startswith("Basic"))
                        self.assertNotIn(b"Envelope", data, "no answer to an unauthenticated call")
                        count += 1
        time.sleep(0.1)
        self.assertTrue(e2e.alive(pid), "nothing was ended")
        for p in e2e.pids_in_proc():
            try:
                with open("/proc/%d/comm" % p) as f:
                    self.assertNotEqual(f.read().strip(), name[:15], "nothing was created")
            except OSError:
                pass
        # Each refused login is audited: a request without credentials is a 401 challenge, not
        # a refused login, and has no line. The lines are identical but for their peer, so past
        # five the rest are counted into one "repeated=N" line when the 10 s window ends.
        self.assertEqual(count, 2 * len(bodies) * len(auths))
        # (A summary of an earlier test's lines may come meanwhile: these have no user name.)
        refused, lines = 2 * len(bodies) * (len(auths) - 1), []
        e2e.wait_for(lambda: lines.extend(l for l in env.audit.new() if l["caller.user"] == "-")
                     or sum(int(l.get("repeated", 1)) for l in lines) >= refused, 20,
                     "the audit's repeat summary")
        for line in lines:
            self.assertEqual((line["action"], line["result"], line["detail"], line["caller.uid"]),
                             ("Login", "refused", "malformed Authorization header", "4294967295"))
        self.assertEqual(sum(int(l.get("repeated", 1)) for l in lines), refused, lines)

    def post(self, url, body, headers, source=None, timeout=60):
        hostport = url.split("//", 1)[1].split("/", 1)[0]
        if url.startswith("https:"):
            import ssl
            ctx = ssl.create_default_context(cafile=self.env.cert)
            conn = http.client.HTTPSConnection(hostport, timeout=timeout, context=ctx,
                                               source_address=source)
        else:
            conn = http.client.HTTPConnection(hostport, timeout=timeout, source_address=source)
        return wsman.post(conn, body, headers)

    def test_password_changed_while_cached(self):
        env = self.env
        carol = lwmid.User("sec-carol-" + secrets.token_hex(3), "old-" + secrets.token_hex(6),
                        [env.remote_group])
        self.addCleanup(carol.remove)
        env.users["carol"] = carol
        self.addCleanup(env.users.pop, "carol")
        pid = env.target(self, "alice")
        args = ("get", "Win32_Process=%d" % pid, "--properties", "Name")
        old = carol.password
        for _ in range(2):  # the second is served from the cache
            rc, out, err = env.lwmic_https("carol", *args)
            self.assertEqual(rc, 0, err)
        new = "new-" + secrets.token_hex(6)
        subprocess.run(["chpasswd"], input=("%s:%s\n" % (carol.name, new)).encode(), check=True)
        env.audit.mark()
        rc, out, err = env.lwmic_https("carol", *args, password=old)
        self.assertEqual(rc, 4, "the old password, still cached, is refused at once: " + err)
        self.assert_audit([{"action": "Login", "result": "refused", "caller.user": carol.name,
                            "detail": "user '%s': wrong password" % carol.name}])
        rc, out, err = env.lwmic_https("carol", *args, password=new)
        self.assertEqual(rc, 0, err)
        self.assert_audit([])

    def test_login_delay_under_parallel_attempts(self):
        """Six wrong passwords at once from one address are checked one at a time, each only
        after the delay of the one before (100, 200, 400, 800, 1600 ms) and each is audited; right
        logins from another address and over the Unix socket are answered meanwhile."""
        env = self.env
        pid = env.target(self, "alice")
        body = wsman.fresh_id(wsman.set_selector(wsman.capture("04-get.xml"), "Handle", pid))
        attacker = ("127.%d.%d.%d" % (secrets.randbelow(200) + 20, secrets.randbelow(250) + 1,
                                      secrets.randbelow(250) + 1), 0)
        alice = env.users["alice"]
        results, good = [], []
        start = time.monotonic()

        def attack(i):
            status, _, _ = self.post(env.http, body, wsman.basic(alice.name, "wrong-%d" % i),
                                     source=attacker, timeout=120)
            results.append((status, time.monotonic() - start))

        threads = [threading.Thread(target=attack, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        time.sleep(0.3)  # the attack is under way
        # Every loopback address is the attacker's peer: the right logins come over HTTPS from
        # another address of this host, when it has one.
        other = next((a for a in subprocess.run(
            ["hostname", "-I"], capture_output=True, text=True).stdout.split()
            if "." in a and not a.startswith("127.")), None)
        for role in ("alice", "bob", "admin") if other else ():
            u = env.users[role]
            t0 = time.monotonic()
            status, _, data = self.post(env.https, body, wsman.basic(u.name, u.password),
                                        source=(other, 0))
            good.append((role, status, time.monotonic() - t0, time.monotonic() - start))
        t0 = time.monotonic()
        status, _, data = wsman.post(wsman.UnixHTTPConnection(env.socket), body)
        good.append(("unix", status, time.monotonic() - t0, time.monotonic() - start))
        for t in threads:
            t.join(120)
        self.assertEqual([s for s, _ in results], [401] * 6, results)
        for role, status, took, _ in good:
            self.assertEqual(status, 200, role)
        lines = [l for l in env.audit.new() if l.get("peer", "").startswith(
            "http:%s:" % attacker[0])]
        # Six identical refusals of one caller: five lines now, the sixth counted into a
        # "repeated=1" line when the audit's 10 s window ends.
        self.assertEqual(len(lines), 5, lines)
        for line in lines:
            self.assertEqual((line["action"], line["result"], line["detail"]),
                             ("Login", "refused", "user '%s': wrong password" % alice.name))
        stamps = [time.mktime(time.strptime(l["time"][:19], "%Y-%m-%dT%H:%M:%S")) +
                  float("0." + l["time"][20:26]) for l in lines]
        gaps = [b - a for a, b in zip(stamps, stamps[1:])]
        for k, gap in enumerate(gaps):
            # Each check waits for the delay of the failure before it: 0.1 s · 2^k (half of it
            # allowed for clock and scheduling slack).
            self.assertGreaterEqual(gap, 0.05 * 2 ** k, "gaps %r" % gaps)
        # The right logins, from elsewhere, were not held behind the attack: all answered before
        # the attack's last guess could even be checked (>= 3.1 s after its first failure).
        last_guess_checked = max(t for _, t in results)
        for role, status, took, at in good:
            self.assertLess(at, last_guess_checked, (role, took, at, results))
            self.assertLess(took, 3.0, "%s waited %.2f s" % (role, took))
        self.assertTrue(e2e.alive(pid))
        print("\nlogin delay: attacker 401s at %s s; gaps between checks %s s; right logins took "
              "%s s" % ([round(t, 2) for _, t in sorted(results, key=lambda r: r[1])],
                        [round(g, 2) for g in gaps], [round(g[2], 3) for g in good]),
              file=sys.stderr)

    # -- privileges ----------------------------------------------------------------------------

    def test_refused_privileges_are_audited(self):
        env = self.env
        pid = env.target(self, "alice")
        bob = env.users["bob"]
        for value, detail in (("SeDebugPrivilege", "SeDebugPrivilege is not held"),
                              ("SeBackupPrivilege", "unknown privilege"),
                              ("SeIncreaseBasePriorityPrivilege",
                               "SeIncreaseBasePriorityPrivilege is not held")):
            with self.subTest(privilege=value):
                p = subprocess.run(bob.prefix() + [wsman.PY, "-c", wsman.CLIENT, "unix:" + env.socket],
                                   input=wsman.enable_privilege(wsman.terminate_envelope(pid),
                                                             value).encode(),
                                   capture_output=True, timeout=60)
                self.assertEqual(p.returncode, 0, p.stderr.decode())
                status, _, data = p.stdout.decode().partition("\n")
                self.assertEqual(status, "200")
                self.assertEqual(wsman.property_of(wsman.parse_envelope(data), "ReturnValue"), "2")
                self.assertTrue(e2e.alive(pid))
                self.assert_audit([
                    {"action": "EnablePrivilege", "result": "refused", "params": value,
                     "detail": detail, "caller.uid": str(bob.uid), "privileges": "none"},
                    {"action": "Terminate", "result": "2", "target.pid": str(pid),
                     "caller.uid": str(bob.uid), "privileges": "none"}])

    def test_a_refusal_says_why_the_same_way_in_every_mode(self):
        # Through lwmid the reason once came back as a bare ReturnValue 2; now it travels with
        # the answer (an lwmi header note) and lwmic prints it as embedded mode does.
        env = self.env
        pid = env.target(self, "alice")
        bob = env.users["bob"]
        d = os.path.join(env.work, "why-" + secrets.token_hex(3))
        os.mkdir(d)
        os.chown(d, bob.uid, bob.gid)
        conf = os.path.join(d, "lwmid.conf")
        with open(conf, "w") as f:
            f.write('[audit]\njournal = false\nfile = "%s"\n' % os.path.join(d, "audit.log"))
        notes = {}
        for mode, run in (
                ("embedded", lambda *a: env.lwmic_unix("bob", "--embedded", "--config", conf, *a)),
                ("unix", lambda *a: env.lwmic_unix("bob", *a)),
                ("https", lambda *a: env.lwmic_https("bob", *a))):
            with self.subTest(mode=mode):
                rc, out, err = run("--format", "json", "call", "Win32_Process=%d" % pid,
                                   "Terminate")
                self.assertEqual((rc, json_rows(out)[-1]["ReturnValue"]), (1, 2), err)
                lines = [l for l in err.splitlines() if "SeDebugPrivilege must be held" in l]
                self.assertEqual(len(lines), 1, err)
                self.assertIn("belongs to %s" % env.users["alice"].name, lines[0])
                notes[mode] = lines[0]
        self.assertTrue(e2e.alive(pid))
        self.assertEqual(len(set(notes.values())), 1, notes)

    def test_dry_run_shows_the_expected_outcome_and_does_nothing(self):
        # --dry-run asks lwmid (or the embedded engine) what Terminate would return: another
        # user's process is shown refused, with why; nothing is ended or audited.
        env = self.env
        pid = env.target(self, "alice")
        _, own_name = env.program()
        own = env.target(self, "bob", own_name)
        env.audit.mark()
        for mode in ("unix", "https"):
            with self.subTest(mode=mode):
                args = ("--dry-run", "--format", "csv", "process", "where",
                        "ProcessId=%d or ProcessId=%d" % (pid, own), "delete")
                rc, out, err = (env.lwmic_unix("bob", *args) if mode == "unix"
                                else env.lwmic_https("bob", *args))
                self.assertEqual(rc, 0, err)
                rows = {r["Handle"]: r for r in csv.DictReader(io.StringIO(out))}
                self.assertEqual(rows[str(pid)]["Expected"],
                                 "refused: ReturnValue 2 (Access denied)", out)
                self.assertEqual(rows[str(own)]["Expected"], "would end", out)
                self.assertIn("process %d belongs to %s: SeDebugPrivilege must be held and "
                              "enabled" % (pid, env.users["alice"].name), err)
                self.assertIn("(1 expected to succeed, 1 expected to be refused)", err)
        self.assertTrue(e2e.alive(pid))
        self.assertTrue(e2e.alive(own))
        time.sleep(0.5)  # an audit line would have been written before the answer
        self.assertEqual([l for l in env.audit.new() if l.get("action") == "Terminate"], [])

    def test_refused_privilege_is_audited_in_embedded_mode_too(self):
        env = self.env
        pid = env.target(self, "alice")
        bob = env.users["bob"]
        d = os.path.join(env.work, "emb-" + secrets.token_hex(3))
        os.mkdir(d)
        os.chown(d, bob.uid, bob.gid)
        audit_path = os.path.join(d, "audit.log")
        conf = os.path.join(d, "lwmid.conf")
        with open(conf, "w") as f:
            f.write('[audit]\njournal = false\nfile = "%s"\n' % audit_path)
        rc, out, err = env.lwmic_unix("bob", "--embedded", "--config", conf, "--format", "json",
                                      "--enable-privilege", "SeDebugPrivilege", "call",
                                      "Win32_Process=%d" % pid, "Terminate")
        self.assertEqual((rc, json_rows(out)[-1]["ReturnValue"]), (1, 2), err)
        self.assertIn("SeDebugPrivilege is not held", err)
        self.assertTrue(e2e.alive(pid))
        self.assert_audit([
            {"action": "EnablePrivilege", "result": "refused", "mode": "embedded",
             "caller.uid": str(bob.uid), "params": "SeDebugPrivilege"},
            {"action": "Terminate", "result": "2", "mode": "embedded", "target.pid": str(pid)}],
            audit=security_env.Audit(audit_path))

    def test_kernel_refuses_with_lwmis_own_check_off(self):
        """lwmid with its own kill(2)-rule check switched off (a test-only flag): bob's
        Terminate and SetPriority of alice's process are refused by the kernel, since they are
        made with bob's credentials; audited with the kernel's reason."""
        env = self.env
        sock, audit, d = env.extra_daemon(self, ["--testing-skip-own-checks"])
        pid = env.target(self, "alice")
        nice = e2e.proc_stat(pid)[19]
        saved = env.socket
        env.socket = sock
        try:
            rc, out, err = env.lwmic_unix("bob", "--format", "json", "call",
                                          "Win32_Process=%d" % pid, "Terminate")
            self.assertEqual((rc, json_rows(out)[-1]["ReturnValue"]), (1, 2), err)
            rc, out, err = env.lwmic_unix("bob", "--format", "json", "call",
                                          "Win32_Process=%d" % pid, "SetPriority", "Priority=64")
            self.assertEqual((rc, json_rows(out)[-1]["ReturnValue"]), (1, 2), err)
        finally:
            env.socket = saved
        self.assertTrue(e2e.alive(pid))
        self.assertEqual(e2e.proc_stat(pid)[19], nice, "priority unchanged")
        self.assert_audit([
            {"action": "Terminate", "result": "2", "target.pid": str(pid),
             "detail": ("the kernel refused the signal",)},
            {"action": "SetPriority", "result": "2", "target.pid": str(pid),
             "detail": ("the kernel refused",)}], audit=audit)


if __name__ == "__main__":
    unittest.main()
