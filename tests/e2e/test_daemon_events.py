"""End-to-end tests of lwmid's event subscriptions (WS-Eventing, Pull delivery): raw SOAP envelopes
modelled on openwsman's captured Subscribe/Pull/Unsubscribe over HTTPS (python's http.client and
ssl), `lwmic --node … watch --terminate` and `lwmic watch` over the Unix socket against a real
lwmid, ownership (another user's Pull and Unsubscribe refused), the per-user quota, the bounded
queue's overflow, heartbeats, expiry, the subscriber's masked view, refused unauthenticated
Subscribes, and the audit lines for each change.

Runs as root (ctest), with /usr/bin/python3. Users, groups, the PAM service file, processes and
temporary directories made here are removed again, even when a test fails.
"""
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
import unittest
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import lwmi_e2e as e2e  # noqa: E402
from lwmi_e2e import lwmid, wsman  # noqa: E402
from lwmi_e2e.wsman import (HEARTBEAT, NS, WBEM_E_ACCESS_DENIED,  # noqa: E402
                            WBEM_E_NOT_EVENT_CLASS, WBEM_E_QUEUE_OVERFLOW, WBEM_E_QUOTA_VIOLATION,
                            WBEM_E_TIMED_OUT, action_of, event_items, pull_envelope,
                            subscribe_envelope, unsubscribe_envelope)

QUEUE_SIZE = 4
PER_USER = 2

CREATION = ("SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA "
            "'Win32_Process' AND %s")


def events_config(remote_group, admin_group, pam_service, audit_file):
    return lwmid.config_text(remote_group, admin_group, pam_service, audit_file=audit_file) + (
        "\n[events]\nqueue_size = %d\nmax_subscriptions_per_user = %d\n"
        "max_subscription_expiry = 3600\nmax_pull_wait = 20\n" % (QUEUE_SIZE, PER_USER))


class DaemonEventsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        lwmid.set_up_class(cls, "lwmid-ev-e2e-")
        lwmid.set_up_accounts(cls, cls, "ev", (("alice", ["remote"]), ("bob", ["remote"])))
        cls.audit = os.path.join(cls.work, "audit.log")
        cls.socket_path = os.path.join(cls.work, "lwmid.sock")
        cls.d = lwmid.start_daemon(cls, cls.work, events_config(cls.remote_group, cls.admin_group,
                                                                cls.pam_service, cls.audit),
                                   socket_path=cls.socket_path, https="127.0.0.1:0")
        cls.https = cls.d.endpoint("https")
        cls.cert = os.path.join(cls.d.state, "lwmid.crt")

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop(10)
        if rc != 0:
            raise AssertionError("lwmid on SIGTERM: exit status %r\n%s" % (rc, cls.d.log_text()))

    # -- helpers -------------------------------------------------------------------------------

    def post(self, body, role="alice", password=None, auth=True):
        """POSTs over HTTPS (Basic as role); returns (status, parsed envelope or None, raw)."""
        hostport = self.https.split("//", 1)[1].split("/", 1)[0]
        import http.client
        import ssl
        conn = http.client.HTTPSConnection(
            hostport, timeout=60, context=ssl.create_default_context(cafile=self.cert))
        headers = {}
        if auth:
            u = self.users[role]
            headers = wsman.basic(u.name, password if password is not None else u.password)
        status, _, data = wsman.post(conn, body, headers)
        root = wsman.parse_envelope(data) if status in (200, 500) else None
        return status, root, data

    def ok(self, body, role="alice"):
        status, root, data = self.post(body, role)
        self.assertEqual(status, 200, data[:2000])
        self.assertIsNone(wsman.fault_of(root), data[:2000])
        return root

    def fault(self, body, role="alice"):
        status, root, data = self.post(body, role)
        self.assertEqual(status, 500, data[:2000])
        f = wsman.fault_of(root)
        self.assertIsNotNone(f, data[:2000])
        self.fault_detail = root.find("s:Body/s:Fault/s:Detail", NS)
        return f

    def lwmi_detail(self, name):
        """The text of an lwmi element of the last fault's Detail (data lwmi's client reads in
        place of the message), or None."""
        el = self.fault_detail.find("{urn:lwmi:wsman:1}" + name)
        return None if el is None else el.text

    def subscribe(self, condition, role="alice", cleanup=True, wql=CREATION, **kw):
        """Subscribes as role; returns (identifier, context, expires). Unsubscribed at cleanup."""
        root = self.ok(subscribe_envelope(wql % condition, **kw), role)
        resp = root.find("s:Body/wse:SubscribeResponse", NS)
        self.assertIsNotNone(resp, ET.tostring(root)[:2000])
        ident = resp.find("wse:SubscriptionManager/wsa:ReferenceParameters/wse:Identifier", NS)
        ctx = resp.find("wsen:EnumerationContext", NS)
        expires = resp.find("wse:Expires", NS)
        self.assertIsNotNone(ident)
        self.assertIsNotNone(ctx)
        self.assertIsNotNone(expires)
        if cleanup:
            self.addCleanup(self.post, unsubscribe_envelope(ident.text), role)
        return ident.text, ctx.text, expires.text

    def program(self, prefix):
        name = "%s-%s" % (prefix, secrets.token_hex(3))
        return name, e2e.sleep_copy(self.bindir, name)

    def start(self, exe, role="alice"):
        """Runs exe as role's user. The ids change before the exec (no setpriv in between): a
        process's creation event comes at its first exec, which must be exe's."""
        kw = {}
        if role != "root":
            u = self.users[role]
            kw = {"user": u.uid, "group": u.gid, "extra_groups": []}
        p = subprocess.Popen([exe, "30"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, **kw)
        self.addCleanup(e2e.stop_process, p)
        return p

    def audit_lines(self):
        try:
            with open(self.audit) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def assert_audited(self, *parts):
        e2e.wait_for(lambda: any(all(p in line for p in parts) for line in self.audit_lines()),
                     10, "an audit line with %r" % (parts,))

    def lwmic_remote(self, *args, role="alice"):
        u = self.users[role]
        pw = lwmid.password_file(self, self.work, u.password)
        return [e2e.LWMIC, "--node", self.https, "--user", u.name, "--password-file", pw,
                "--ca", self.cert, *args]

    def start_watch(self, argv, preexec=None):
        """Starts `lwmic … watch` and waits until it subscribed; returns (process, out, err)."""
        out, err = e2e.output_files(self, self.work)
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                             preexec_fn=preexec)
        self.addCleanup(lambda: (p.poll() is None and p.kill(), p.wait()))

        def subscribed():
            err.seek(0)
            if p.poll() is not None:
                raise AssertionError("lwmic watch exited early: %s" % err.read())
            return "watching" in err.read()
        e2e.wait_for(subscribed, 20, "lwmic watch to subscribe")
        return p, out, err

    # -- raw WS-Eventing over HTTPS --------------------------------------------------------------

    def test_subscribe_pull_timeout_unsubscribe(self):
        name, exe = self.program("evraw")
        ident, ctx, expires = self.subscribe("TargetInstance.Name = '%s'" % name)
        self.assertEqual(expires, "PT600.000S")
        p = self.start(exe)
        root = self.ok(pull_envelope(ctx))
        self.assertTrue(action_of(root).endswith("/enumeration/PullResponse"), action_of(root))
        self.assertEqual(root.find("s:Body/wsen:PullResponse/wsen:EnumerationContext", NS).text,
                         ctx)
        lost = root.find("s:Header/{urn:lwmi:wsman:1}LostEvents", NS)
        self.assertIsNotNone(lost, "the server's count of lost kernel events")
        self.assertGreaterEqual(int(lost.text), 0)
        items = event_items(root)
        self.assertEqual(len(items), 1, ET.tostring(root)[:3000])
        cls, target = items[0]
        self.assertEqual(cls, "__InstanceCreationEvent")
        self.assertEqual(target["ProcessId"], str(p.pid))
        self.assertEqual(target["Name"], name)
        # Nothing more: the Pull times out with the fault clients retry on.
        f = self.fault(pull_envelope(ctx, timeout="PT0.300S"))
        self.assertTrue(f["subcode"].endswith(":TimedOut"), f)
        self.assertEqual(f["wbem"], WBEM_E_TIMED_OUT)
        root = self.ok(unsubscribe_envelope(ident))
        self.assertTrue(action_of(root).endswith("/eventing/UnsubscribeResponse"))
        f = self.fault(pull_envelope(ctx, timeout="PT0.100S"))
        self.assertTrue(f["subcode"].endswith(":InvalidEnumerationContext"), f)
        uid = self.users["alice"].uid
        self.assert_audited("action=Subscribe", "result=0", "caller.uid=%d" % uid,
                            "peer=https:127.0.0.1", name, "id=" + ident)
        self.assert_audited("action=Unsubscribe", "result=0", "caller.uid=%d" % uid,
                            "id=" + ident)

    def test_expires_is_capped_and_defaulted(self):
        _, _, expires = self.subscribe("TargetInstance.Name = 'x'", expires="PT86400S")
        self.assertEqual(expires, "PT3600.000S")

    def test_heartbeat_when_nothing_happens(self):
        _, ctx, _ = self.subscribe("TargetInstance.Name = 'never-%s'" % self.tag,
                                   heartbeat="PT1.000S")
        root = self.ok(pull_envelope(ctx, timeout="PT15.000S"))
        self.assertEqual(action_of(root), HEARTBEAT)
        self.assertEqual(event_items(root), [])

    def test_expiry_of_a_subscription_left_alone(self):
        ident, ctx, expires = self.subscribe("TargetInstance.Name = 'y'", expires="PT1.000S")
        self.assertEqual(expires, "PT1.000S")
        self.assert_audited("action=SubscriptionExpired", "id=" + ident)
        f = self.fault(pull_envelope(ctx, timeout="PT0.100S"))
        self.assertTrue(f["subcode"].endswith(":InvalidEnumerationContext"), f)

    def test_another_users_pull_and_unsubscribe_are_refused(self):
        name, exe = self.program("evown")
        ident, ctx, _ = self.subscribe("TargetInstance.Name = '%s'" % name, role="alice")
        p = self.start(exe)
        f = self.fault(pull_envelope(ctx, timeout="PT0.100S"), role="bob")
        self.assertTrue(f["subcode"].endswith(":AccessDenied"), f)
        self.assertEqual(f["wbem"], WBEM_E_ACCESS_DENIED)
        f = self.fault(unsubscribe_envelope(ident), role="bob")
        self.assertTrue(f["subcode"].endswith(":AccessDenied"), f)
        self.assert_audited("action=Unsubscribe", "result=WBEM_E_ACCESS_DENIED",
                            "caller.uid=%d" % self.users["bob"].uid, "id=" + ident)
        # Bob took nothing: alice's event is still there.
        items = event_items(self.ok(pull_envelope(ctx)))
        self.assertEqual([t["ProcessId"] for _, t in items], [str(p.pid)])

    def test_quota_per_user(self):
        for _ in range(PER_USER):
            self.subscribe("TargetInstance.Name = 'q'", role="bob")
        f = self.fault(subscribe_envelope(CREATION % "TargetInstance.Name = 'q'"), role="bob")
        self.assertTrue(f["subcode"].endswith(":QuotaLimit"), f)
        self.assertEqual(f["wbem"], WBEM_E_QUOTA_VIOLATION)
        self.assertIn("max_subscriptions_per_user", f["reason"])
        self.assert_audited("action=Subscribe", "result=WBEM_E_QUOTA_VIOLATION",
                            "caller.uid=%d" % self.users["bob"].uid)

    def test_queue_overflow_is_reported_then_events_follow(self):
        me = os.getpid()
        ident, ctx, _ = self.subscribe("TargetInstance.ParentProcessId = %d" % me)
        started = []
        for _ in range(QUEUE_SIZE + 6):
            p = subprocess.Popen(["/bin/true"], stdin=subprocess.DEVNULL)
            p.wait(timeout=10)
            started.append(p.pid)
        self.assert_audited("action=EventQueueOverflow", "result=WBEM_E_QUEUE_OVERFLOW",
                            "id=" + ident)
        f = self.fault(pull_envelope(ctx, timeout="PT0.100S"))
        self.assertEqual(f["wbem"], WBEM_E_QUEUE_OVERFLOW, f)
        m = re.search(r"(\d+) event\(s\) dropped", f["reason"])
        self.assertIsNotNone(m, f)
        self.assertEqual(int(m.group(1)), len(started) - QUEUE_SIZE)
        self.assertEqual(self.lwmi_detail("DroppedEvents"), str(len(started) - QUEUE_SIZE))
        items = event_items(self.ok(pull_envelope(ctx, timeout="PT1.000S")))
        self.assertEqual([int(t["ProcessId"]) for _, t in items], started[:QUEUE_SIZE])

    def test_bad_event_query_is_a_fault_with_its_code_and_column(self):
        f = self.fault(subscribe_envelope("SELECT * FROM Win32_Process"))
        self.assertTrue(f["subcode"].endswith(":CannotProcessFilter"), f)
        self.assertEqual(f["wbem"], WBEM_E_NOT_EVENT_CLASS)
        self.assertIn("at column 15", f["reason"])
        self.assertEqual(self.lwmi_detail("Position"), "14")

    def test_unauthenticated_subscribe_is_refused(self):
        body = subscribe_envelope(CREATION % "TargetInstance.Name = 'z'")
        status, _, _ = self.post(body, auth=False)
        self.assertEqual(status, 401)
        status, _, _ = self.post(body, password="wrong-" + secrets.token_hex(4))
        self.assertEqual(status, 401)

    def test_sigterm_answers_a_waiting_pull_and_stops_cleanly(self):
        d = lwmid.start_daemon(self, self.work, events_config(self.remote_group, self.admin_group,
                                                              self.pam_service, self.audit),
                               https="127.0.0.1:0")
        saved = (self.https, self.cert)
        self.https, self.cert = d.endpoint("https"), os.path.join(d.state, "lwmid.crt")
        self.addCleanup(lambda: setattr(self, "https", saved[0]) or setattr(self, "cert", saved[1]))
        _, ctx, _ = self.subscribe("TargetInstance.Name = 'never-%s'" % self.tag, cleanup=False)
        result = {}

        def pull():
            result["answer"] = self.post(pull_envelope(ctx, timeout="PT15.000S"))
        t = threading.Thread(target=pull)
        t.start()
        time.sleep(0.5)  # the Pull waits on the server (it holds no worker)
        start = time.monotonic()
        self.assertEqual(d.stop(10), 0, d.log_text())
        t.join(15)
        self.assertFalse(t.is_alive(), "the waiting Pull was never answered")
        self.assertLess(time.monotonic() - start, 10)
        status, root, data = result["answer"]
        self.assertEqual(status, 500, data[:2000])
        f = wsman.fault_of(root)
        self.assertTrue(f["subcode"].endswith(":InvalidEnumerationContext"), f)
        self.assertIn("lwmid stopped", f["reason"])

    # -- the subscriber's masked view ----------------------------------------------------------

    def test_unprivileged_subscriber_sees_and_filters_on_the_masked_view(self):
        name, exe = self.program("evmask")
        _, by_name, _ = self.subscribe("TargetInstance.Name = '%s'" % name, role="bob")
        _, by_path, _ = self.subscribe("TargetInstance.ExecutablePath = '%s'" % exe, role="bob")
        p = self.start(exe, role="root")
        items = event_items(self.ok(pull_envelope(by_name), role="bob"))
        self.assertEqual(len(items), 1)
        target = items[0][1]
        self.assertEqual(target["ProcessId"], str(p.pid))
        self.assertIsNone(target["ExecutablePath"], "root's ExecutablePath is masked for bob")
        # A filter on a property bob may not read never matches root's process.
        f = self.fault(pull_envelope(by_path, timeout="PT1.000S"), role="bob")
        self.assertTrue(f["subcode"].endswith(":TimedOut"), f)

    # -- lwmic against lwmid ---------------------------------------------------------------------

    def test_lwmic_node_watch_terminate(self):
        name, exe = self.program("evkill")
        watcher, out, err = self.start_watch(self.lwmic_remote(
            "--format", "json", "watch", CREATION % ("TargetInstance.Name = '%s'" % name),
            "--terminate", "--count", "1", "--timeout", "20"))
        p = self.start(exe)
        self.assertEqual(p.wait(timeout=15), -9, "ended by SIGKILL as it started")
        self.assertEqual(watcher.wait(timeout=15), 0)
        out.seek(0)
        events = e2e.json_lines(out.read())
        self.assertEqual(len(events), 1, events)
        self.assertEqual(events[0]["__CLASS"], "__InstanceCreationEvent")
        self.assertEqual(events[0]["TargetInstance"]["ProcessId"], p.pid)
        err.seek(0)
        self.assertIn("terminated process %d" % p.pid, err.read())
        # lwmic unsubscribed when it ended.
        self.assert_audited("action=Unsubscribe", "result=0",
                            "caller.uid=%d" % self.users["alice"].uid, name)

    def test_lwmic_watch_over_the_unix_socket(self):
        name, exe = self.program("evsock")
        watcher, out, err = self.start_watch([
            e2e.LWMIC, "--socket", self.socket_path, "--format", "json", "watch",
            CREATION % ("TargetInstance.Name = '%s'" % name), "--count", "1", "--timeout", "20"])
        p = self.start(exe)
        self.assertEqual(watcher.wait(timeout=15), 0)
        out.seek(0)
        events = e2e.json_lines(out.read())
        self.assertEqual([e["TargetInstance"]["ProcessId"] for e in events], [p.pid])
        err.seek(0)
        self.assertNotIn("embedded", err.read())
        self.assert_audited("action=Subscribe", "result=0", "caller.uid=0", "unix:pid=", name)

    def test_lwmic_watch_traces_over_the_unix_socket(self):
        # Extrinsic events (start and stop traces, ExitStatus) through Subscribe/Pull, typed
        # again by the client.
        name, exe = self.program("evtrace")
        watcher, out, err = self.start_watch([
            e2e.LWMIC, "--socket", self.socket_path, "--format", "json", "watch",
            "SELECT * FROM Win32_ProcessTrace WHERE ProcessName = '%s'" % name,
            "--count", "2", "--timeout", "20"])
        p = self.start(exe, role="root")

        def events():
            out.seek(0)
            return e2e.json_lines(out.read())
        e2e.wait_for(lambda: any(e.get("ProcessID") == p.pid for e in events()), 15,
                     "the start trace")
        p.terminate()
        p.wait(timeout=10)
        self.assertEqual(watcher.wait(timeout=15), 0)
        start, stop = events()
        self.assertEqual(start["__CLASS"], "Win32_ProcessStartTrace")
        self.assertEqual(stop["__CLASS"], "Win32_ProcessStopTrace")
        self.assertEqual(stop["ProcessID"], p.pid)
        self.assertEqual(stop["ProcessName"], name)
        self.assertEqual(stop["ExitStatus"], 143, "128 + SIGTERM")

    # -- no subscription outlives the client that made it ----------------------------------------

    def watch_and_signal(self, argv, sig):
        """Starts `lwmic … watch`, waits until it subscribed, sends it `sig`; returns its status.
        The signals get their default disposition first: a test runner may have started us
        with SIGINT ignored (as a shell starts background jobs), which lwmic keeps."""
        def defaults():
            for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(s, signal.SIG_DFL)
        p, _, _ = self.start_watch(argv, preexec=defaults)
        p.send_signal(sig)
        return p.wait(timeout=20)

    def subscription_ids(self, action, uid, since):
        """The ids in audit lines (after line `since`) of `action` with result 0 by uid."""
        out = []
        for line in self.audit_lines()[since:]:
            if ("action=%s result=0 " % action) in line and ("caller.uid=%d " % uid) in line:
                m = re.search(r"id=(uuid:[0-9a-f-]+)", line)
                if m:
                    out.append((m.group(1), line))
        return out

    def test_interrupted_watches_leave_no_subscription(self):
        # 20 watches over the Unix socket, each ended by SIGINT, SIGTERM or SIGHUP while its Pull
        # waits (the quota is 2): each unsubscribes itself, and the 21st watch works.
        alice = self.users["alice"]
        since = len(self.audit_lines())
        wql = CREATION % ("TargetInstance.Name = 'never-%s'" % self.tag)
        sigs = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        for i in range(20):
            sig = sigs[i % len(sigs)]
            rc = self.watch_and_signal(
                alice.prefix() + [e2e.LWMIC, "--socket", self.socket_path, "watch", wql], sig)
            self.assertEqual(rc, -sig, "ended as the signal ends it, after unsubscribing")
        made = [i for i, _ in self.subscription_ids("Subscribe", alice.uid, since)]
        self.assertEqual(len(made), 20)
        # Each ended (lwmic abandons its Pull by closing that connection, which on the Unix
        # socket ends the subscription at once; its Unsubscribe may come second).
        e2e.wait_for(lambda: sorted(i for i, _ in self.subscription_ids(
            "Unsubscribe", alice.uid, since)) == sorted(made), 10, "20 audited Unsubscribes")
        name, exe = self.program("ev21st")
        watcher, out, err = self.start_watch(alice.prefix() + [
            e2e.LWMIC, "--socket", self.socket_path, "--format", "json", "watch",
            CREATION % ("TargetInstance.Name = '%s'" % name), "--count", "1", "--timeout", "20"])
        p = self.start(exe, role="alice")
        self.assertEqual(watcher.wait(timeout=15), 0)
        out.seek(0)
        self.assertEqual([e["TargetInstance"]["ProcessId"] for e in e2e.json_lines(out.read())],
                         [p.pid])

    def test_interrupted_remote_watches_free_the_quota(self):
        # Over HTTPS no connection ties a subscription to its client: lwmic must unsubscribe.
        # Both forms: one host, and a host list (fan-out: a subscription per host).
        bob = self.users["bob"]
        wql = CREATION % ("TargetInstance.Name = 'never-%s'" % self.tag)
        hosts = os.path.join(self.work, "hosts-" + secrets.token_hex(3))
        with open(hosts, "w") as f:
            f.write(self.https + "\n")
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            argv = self.lwmic_remote("watch", wql, role="bob")
            self.assertEqual(self.watch_and_signal(argv, sig), -sig)
            argv[argv.index("--node") + 1] = "@" + hosts
            self.assertEqual(self.watch_and_signal(argv, sig), -sig)
        for _ in range(PER_USER):  # the quota is whole again
            self.subscribe("TargetInstance.Name = 'q2'", role="bob")

    def test_a_watch_whose_reader_went_away_unsubscribes(self):
        # `lwmic watch … | head -1`: the next event's write fails; lwmic unsubscribes first.
        name, exe = self.program("evpipe")
        since = len(self.audit_lines())
        err = open(os.path.join(self.work, "err-" + secrets.token_hex(3)), "w+")
        self.addCleanup(err.close)
        w = subprocess.Popen(self.lwmic_remote(
            "watch", CREATION % ("TargetInstance.Name = '%s'" % name), role="bob"),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err)
        self.addCleanup(lambda: (w.poll() is None and w.kill(), w.wait()))
        e2e.wait_for(lambda: (err.seek(0), "watching" in err.read())[1], 20,
                     "lwmic watch to subscribe")
        w.stdout.close()  # the reader is gone
        self.start(exe, role="bob")
        self.assertEqual(w.wait(timeout=20), -signal.SIGPIPE)
        made = self.subscription_ids("Subscribe", self.users["bob"].uid, since)
        self.assertEqual(len(made), 1)
        self.assert_audited("action=Unsubscribe", "result=0", "id=" + made[0][0])

    def unix_subscribe(self, conn):
        conn.request("POST", "/wsman", body=subscribe_envelope(
            CREATION % ("TargetInstance.Name = 'never-%s'" % self.tag)).encode(),
            headers={"Content-Type": wsman.SOAP_TYPE})
        r = conn.getresponse()
        root = wsman.parse_envelope(r.read())
        self.assertEqual(r.status, 200)
        resp = root.find("s:Body/wse:SubscribeResponse", NS)
        ident = resp.find("wse:SubscriptionManager/wsa:ReferenceParameters/wse:Identifier", NS)
        ctx = resp.find("wsen:EnumerationContext", NS)
        return ident.text, ctx.text

    def unix_pull_fault(self, ctx):
        status, _, data = wsman.post(wsman.UnixHTTPConnection(self.socket_path),
                                  pull_envelope(ctx, timeout="PT0.300S"))
        self.assertEqual(status, 500, data[:2000])
        return wsman.fault_of(wsman.parse_envelope(data))

    def test_a_subscription_ends_with_its_unix_connection(self):
        # A client killed without unsubscribing: its connection closes, and with it what it made.
        conn = wsman.UnixHTTPConnection(self.socket_path)
        self.addCleanup(conn.close)
        ident, ctx = self.unix_subscribe(conn)
        f = self.unix_pull_fault(ctx)  # another connection of the same caller may pull
        self.assertEqual(f["wbem"], WBEM_E_TIMED_OUT, f)
        conn.close()
        self.assert_audited("action=Unsubscribe", "result=0", "id=%s: its connection closed" % ident)
        f = self.unix_pull_fault(ctx)
        self.assertTrue(f["subcode"].endswith(":InvalidEnumerationContext"), f)

    def test_a_connection_holding_a_subscription_outlives_the_idle_limit(self):
        # With a 2 s idle limit: a connection that only subscribed is closed after it, but one
        # holding a subscription may wait longer between Pulls (a client pulling every minute
        # keeps its subscription, which ends with its connection).
        conf = events_config(self.remote_group, self.admin_group, self.pam_service,
                             os.path.join(self.work, "audit-idle-%s.log" % secrets.token_hex(3)))
        sock = os.path.join(self.work, "idle-%s.sock" % secrets.token_hex(3))
        lwmid.start_daemon(
            self, self.work, conf.replace("[server]\n", "[server]\nidle_timeout = 2\n", 1),
            socket_path=sock)
        plain = wsman.UnixHTTPConnection(sock)
        held = wsman.UnixHTTPConnection(sock)
        self.addCleanup(plain.close)
        self.addCleanup(held.close)
        for conn in (plain, held):
            conn.request("POST", "/wsman", body=subscribe_envelope(
                CREATION % ("TargetInstance.Name = 'never-%s'" % self.tag)).encode(),
                headers={"Content-Type": wsman.SOAP_TYPE})
            r = conn.getresponse()
            root = wsman.parse_envelope(r.read())
            self.assertEqual(r.status, 200)
            if conn is plain:  # its subscription ended at once: the connection holds none
                ident = root.find("s:Body/wse:SubscribeResponse/wse:SubscriptionManager/"
                                  "wsa:ReferenceParameters/wse:Identifier", NS).text
                conn.request("POST", "/wsman", body=unsubscribe_envelope(ident).encode(),
                             headers={"Content-Type": wsman.SOAP_TYPE})
                r = conn.getresponse()
                r.read()
                self.assertEqual(r.status, 200)
            else:
                ctx = root.find("s:Body/wse:SubscribeResponse/wsen:EnumerationContext", NS).text
        time.sleep(4)
        # The plain connection was closed by lwmid (reading it gives EOF at once).
        plain.sock.settimeout(5)
        self.assertEqual(plain.sock.recv(1), b"", "an idle connection without a subscription")
        held.request("POST", "/wsman", body=pull_envelope(ctx, timeout="PT0.300S").encode(),
                     headers={"Content-Type": wsman.SOAP_TYPE})
        r = held.getresponse()
        f = wsman.fault_of(wsman.parse_envelope(r.read()))
        self.assertEqual(f["wbem"], WBEM_E_TIMED_OUT, "the subscription lives: %r" % f)

    def test_a_killed_watch_ends_its_subscription_while_its_pull_waits(self):
        # SIGKILL leaves lwmic no chance to unsubscribe; its Pull waits in lwmid (up to 20 s
        # here): lwmid sees the connection hang up and ends the subscription at once.
        alice = self.users["alice"]
        since = len(self.audit_lines())
        rc = self.watch_and_signal(alice.prefix() + [
            e2e.LWMIC, "--socket", self.socket_path, "watch",
            CREATION % ("TargetInstance.Name = 'never-%s'" % self.tag)], signal.SIGKILL)
        self.assertEqual(rc, -signal.SIGKILL)
        made = self.subscription_ids("Subscribe", alice.uid, since)
        self.assertEqual(len(made), 1)
        t0 = time.monotonic()
        self.assert_audited("action=Unsubscribe", "result=0",
                            "id=%s: its connection closed" % made[0][0])
        self.assertLess(time.monotonic() - t0, 10, "not when the Pull's wait ended")

    def test_a_user_lists_and_cancels_only_its_own_subscriptions(self):
        alice, bob = self.users["alice"], self.users["bob"]

        def lwmic(user, *args):
            r = subprocess.run(user.prefix() + [e2e.LWMIC, "--socket", self.socket_path, *args],
                               stdin=subprocess.DEVNULL, capture_output=True, text=True,
                               timeout=60)
            return r.returncode, r.stdout, r.stderr

        def mine(user):
            rc, out, err = lwmic(user, "--format", "json", "list", "LWMI_EventSubscription")
            self.assertEqual(rc, 0, err)
            return e2e.json_lines(out)

        watches = {}
        for role, user in (("alice", alice), ("bob", bob)):
            name = "never-%s-%s" % (role, self.tag)
            watches[role] = self.start_watch(user.prefix() + [
                e2e.LWMIC, "--socket", self.socket_path, "watch",
                CREATION % ("TargetInstance.Name = '%s'" % name)])[0]
        subs = mine(alice)
        self.assertEqual(len(subs), 1, subs)
        sub = subs[0]
        self.assertIn("never-alice-", sub["Query"])
        self.assertEqual(sub["User"], alice.name)
        self.assertEqual(sub["UserId"], alice.uid)
        self.assertTrue(sub["Peer"].startswith("unix:"), sub)
        self.assertEqual(sub["__CLASS"], "LWMI_EventSubscription")
        self.assertNotIn(sub["Id"], [s["Id"] for s in mine(bob)])
        path = 'LWMI_EventSubscription.Id="%s"' % sub["Id"]
        # bob can neither read nor end it: to him it does not exist.
        for verb in ("get", "delete"):
            rc, _, err = lwmic(bob, verb, path)
            self.assertEqual(rc, 3, err)
            self.assertIn("WBEM_E_NOT_FOUND", err)
        rc, out, err = lwmic(bob, "--format", "json", "query",
                             "SELECT * FROM LWMI_EventSubscription WHERE Id = '%s'" % sub["Id"])
        self.assertEqual((rc, out), (0, ""), err)
        self.assertIsNone(watches["alice"].poll(), "alice's watch runs on")
        # alice ends hers; her watch learns it on its next Pull.
        rc, _, err = lwmic(alice, "delete", path)
        self.assertEqual(rc, 0, err)
        self.assertEqual(mine(alice), [])
        self.assertNotEqual(watches["alice"].wait(timeout=20), 0)
        self.assertIsNone(watches["bob"].poll(), "bob's watch runs on")
        self.assertEqual(len(mine(bob)), 1)
        self.assert_audited("action=Unsubscribe", "result=0", "caller.uid=%d" % alice.uid,
                            "id=" + sub["Id"])

    def test_deletion_event_carries_the_creation_snapshot(self):
        name, exe = self.program("evdel")
        p = self.start(exe)
        e2e.wait_for(lambda: e2e.proc_state(p.pid) == "S", 10, "the target to run")
        _, ctx, _ = self.subscribe(
            "TargetInstance.Name = '%s'" % name,
            wql="SELECT * FROM __InstanceDeletionEvent WITHIN 1 WHERE TargetInstance ISA "
                "'Win32_Process' AND %s")
        p.kill()
        p.wait(timeout=10)
        items = event_items(self.ok(pull_envelope(ctx)))
        self.assertEqual(len(items), 1)
        cls, target = items[0]
        self.assertEqual(cls, "__InstanceDeletionEvent")
        self.assertEqual(target["ProcessId"], str(p.pid))
        self.assertEqual(target["Name"], name)

    def test_lwmic_remote_bad_query_points_at_the_column(self):
        r = subprocess.run(self.lwmic_remote("watch", "SELECT * FROM Win32_Process"),
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 3, r.stderr)
        err = r.stderr.decode()
        self.assertIn("WBEM_E_NOT_EVENT_CLASS (0x80041059)", err)
        self.assertIn("\n  " + " " * 14 + "^", err)


if __name__ == "__main__":
    unittest.main()
