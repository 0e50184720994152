"""A real lwmid for the security tests, with real users the tests create, and its audit file.

Users (random names, removed at cleanup): alice and bob (ordinary, remote group, login shell),
admin (remote and admin groups), root (a second name for uid 0 with a password, in the remote
group: root's own password is locked on these machines), mallory (nologin shell, remote group).
The daemon serves a Unix socket, HTTPS and HTTP (both on 127.0.0.1, any port), writes its audit
lines to a file, and lists one program name in [security] protected_processes.

Runs as root with /usr/bin/python3 (python3-winrm is Debian's).
"""
import os
import re
import secrets
import shutil
import subprocess
import unittest

import lwmi_e2e as e2e
from lwmi_e2e import lwmid


def parse_logfmt(line):
    """One audit line (docs/audit.md) as a dict; values unquoted and unescaped."""
    out = {}
    for m in re.finditer(r'([A-Za-z_.]+)=("(?:[^"\\]|\\.)*"|\S*)', line):
        v = m.group(2)
        if v.startswith('"'):
            v = re.sub(r'\\x([0-9a-f]{2})', lambda x: chr(int(x.group(1), 16)), v[1:-1])
            v = v.replace('\\"', '"').replace('\\\\', '\\')
        out[m.group(1)] = v
    return out


class Audit:
    """The daemon's audit file, read in order: new() returns the lines written since last time."""

    def __init__(self, path):
        self.path = path
        self.offset = 0

    def mark(self):
        self.new()

    def new(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return []
        end = data.rfind(b"\n") + 1
        self.offset += end
        return [parse_logfmt(line) for line in data[:end].decode("utf-8").splitlines()]


class SecurityEnv:
    """Set up in setUpClass (cls = the TestCase class); everything is removed by class cleanups."""

    def __init__(self, cls, *, extra_args=(), remote_create=True, extra_conf=""):
        lwmid.require_lwmid()
        self.tag = secrets.token_hex(3)
        self.work = e2e.work_dir(cls, "lwmi-sec-")
        self.bindir = e2e.work_dir(cls, "bin-", self.work)
        self.lwmic = os.path.join(self.bindir, "lwmic")
        shutil.copy2(e2e.LWMIC, self.lwmic)
        os.chmod(self.lwmic, 0o755)

        lwmid.set_up_accounts(self, cls, "sec", (
            ("alice", ["remote"]), ("bob", ["remote"]), ("admin", ["remote", "admin"]),
            ("mallory", ["remote"], "/usr/sbin/nologin")))
        # root: uid 0 under a second name with a password (root's own is locked here).
        root = "sec-root-" + self.tag
        subprocess.run(["useradd", "-o", "-u", "0", "-g", "0", "-M", "-s", "/bin/bash",
                        "-G", self.remote_group, root], check=True, stdin=subprocess.DEVNULL)
        cls.addClassCleanup(subprocess.run, ["userdel", "-f", root], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        rpw = "pw-" + secrets.token_hex(8)
        subprocess.run(["chpasswd"], input=("%s:%s\n" % (root, rpw)).encode(), check=True)
        r = lwmid.User.__new__(lwmid.User)
        r.name, r.password, r.uid, r.gid = root, rpw, 0, 0
        self.users["root"] = r

        self.protected = "secprot-" + self.tag
        self.audit_path = os.path.join(self.work, "audit.log")
        self.conf_text = lambda audit_path: "\n".join([
            "[security]",
            'remote_group = "%s"' % self.remote_group,
            'admin_group = "%s"' % self.admin_group,
            'pam_service = "%s"' % self.pam_service,
            'protected_processes = ["%s"]' % self.protected,
            "remote_create = %s" % ("true" if remote_create else "false"),
            "", "[audit]", "journal = false", 'file = "%s"' % audit_path, ""])
        self.extra_conf = extra_conf  # more tables (e.g. [guard]), appended
        conf = self.conf_text(self.audit_path) + extra_conf
        self.socket = os.path.join(self.work, "lwmid.sock")
        self.d = lwmid.start_daemon(cls, self.work, conf, socket_path=self.socket,
                                    http="127.0.0.1:0", https="127.0.0.1:0",
                                    extra_args=list(extra_args))
        self.https = self.d.endpoint("https")
        self.http = self.d.endpoint("http")
        self.cert = os.path.join(self.d.state, "lwmid.crt")
        self.audit = Audit(self.audit_path)
        self.cls = cls

    def extra_daemon(self, test, extra_args, extra_conf=None):
        """A second lwmid on a socket of its own (same users and groups), with its own audit file
        (and extra_conf instead of the first one's extra tables); returns (socket path, Audit,
        Daemon)."""
        audit_path = os.path.join(self.work, "audit-%s.log" % secrets.token_hex(3))
        sock = os.path.join(self.work, "x-%s.sock" % secrets.token_hex(3))
        conf = self.conf_text(audit_path) + (self.extra_conf if extra_conf is None else extra_conf)
        d = lwmid.start_daemon(test, self.work, conf, socket_path=sock,
                               extra_args=list(extra_args))
        return sock, Audit(audit_path), d

    # -- processes -------------------------------------------------------------------------------

    def program(self, name=None):
        """A copy of /bin/sleep under a unique (or given) name; returns (path, name)."""
        name = name or "secsl-" + secrets.token_hex(4)
        return e2e.sleep_copy(self.bindir, name), name

    def target(self, test, owner, name=None):
        """Starts a sleep as `owner` ("root" or a role); returns its pid."""
        exe, _ = self.program(name)
        user = None if owner == "root" else self.users[owner]
        return e2e.start_process(test, [exe, "1000"], user=user, exe=exe).pid

    # -- lwmic -----------------------------------------------------------------------------------

    def lwmic_unix(self, role, *args):
        """lwmic over the Unix socket as `role` (root: as is)."""
        argv = [self.lwmic, "--socket", self.socket, *args]
        if role != "root":
            argv = self.users[role].prefix() + argv
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=60,
                           env=self._env(role))
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def lwmic_https(self, role, *args, password=None):
        """lwmic over HTTPS (run as root, authenticating as `role`'s account)."""
        u = self.users[role]
        pw_file = os.path.join(self.work, "pw-" + secrets.token_hex(4))
        with open(pw_file, "w") as f:
            f.write((password if password is not None else u.password) + "\n")
        os.chmod(pw_file, 0o600)
        try:
            argv = [self.lwmic, "--node", self.https, "--ca", self.cert, "--user", u.name,
                    "--password-file", pw_file, *args]
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=60,
                               env=self._env("root"))
        finally:
            os.unlink(pw_file)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def _env(self, role):
        home = os.path.join(self.work, "home-" + role)
        os.makedirs(home, exist_ok=True)
        if role != "root":
            os.chown(home, self.users[role].uid, self.users[role].gid)
        env = {k: v for k, v in os.environ.items() if not k.startswith("LWMI_PASSWORD")}
        env["HOME"] = home
        return env


class SecurityTest(unittest.TestCase):
    """A test class over one SecurityEnv (cls.env; env_options: SecurityEnv's keywords), with the
    audit file marked before each test, so a test reads only its own lines."""

    env_options = {}

    @classmethod
    def setUpClass(cls):
        cls.env = SecurityEnv(cls, **cls.env_options)

    def setUp(self):
        self.env.audit.mark()
