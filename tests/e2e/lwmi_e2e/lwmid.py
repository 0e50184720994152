"""A real lwmid for lwmi's end-to-end tests, and what a test class sets up around it: a work
directory, groups, users with passwords, a PAM service file, the daemon with its config, ready
file and notify socket. Everything is removed at cleanup (the class's, when set up in setUpClass),
even when a test fails.

Runs as root with /usr/bin/python3.
"""
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from lwmi_e2e import SOURCE_DIR, _add_cleanup, work_dir

BUILD_DIR = os.environ.get("LWMI_BUILD_DIR") or os.path.join(SOURCE_DIR, "build", "release")
LWMID = os.environ.get("LWMID") or os.path.join(BUILD_DIR, "src", "daemon", "lwmid")


# ---------------------------------------------------------------------------------------------
# A running lwmid


class Daemon:
    """One lwmid process with its own state dir, config, notify socket and ready file."""

    def __init__(self, workdir, config_text, *, socket_path="", http="", https="",
                 netns=None, extra_args=(), state_dir=None):
        """state_dir: another lwmid's (a restart), instead of a new one."""
        self._prepare(workdir, config_text, state_dir, "d-")
        self.socket = socket_path
        self.notify_path = os.path.join(self.dir, "notify.sock")
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(self.notify_path)
        argv = [LWMID, "--config", self.config, "--state-dir", self.state,
                "--socket", socket_path, "--http", http, "--https", https,
                "--ready-file", self.ready, "--foreground", *extra_args]
        env = dict(os.environ, NOTIFY_SOCKET=self.notify_path)
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=subprocess.STDOUT, env=env)

    def _prepare(self, workdir, config_text, state_dir, prefix):
        """The daemon's own directory under workdir: config file, state, ready file and log."""
        self.dir = tempfile.mkdtemp(prefix=prefix, dir=workdir)
        os.chmod(self.dir, 0o755)
        self.state = state_dir or os.path.join(self.dir, "state")
        self.config = os.path.join(self.dir, "lwmid.conf")
        with open(self.config, "w") as f:
            f.write(config_text)
        self.ready = os.path.join(self.dir, "ready")
        self.log = os.path.join(self.dir, "lwmid.log")
        self.logf = open(self.log, "wb")
        self.notify = None
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
        if self.notify:
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


# ---------------------------------------------------------------------------------------------
# What a test class sets up around a daemon (setUpClass: pass the class; a test: pass self)


def require_lwmid():
    """Skips unless running as root with lwmid built."""
    if os.geteuid() != 0:
        raise unittest.SkipTest("these tests run as root")
    if not os.access(LWMID, os.X_OK):
        raise unittest.SkipTest("no lwmid at %s" % LWMID)


def set_up_class(cls, prefix):
    """The start of a daemon test class's setUpClass: skips unless root with lwmid built; sets
    cls.tag (random, for unique names), cls.work (work_dir) and cls.bindir (0755, in it)."""
    require_lwmid()
    cls.tag = secrets.token_hex(3)
    cls.work = work_dir(cls, prefix)
    cls.bindir = os.path.join(cls.work, "bin")
    os.mkdir(cls.bindir)
    os.chmod(cls.bindir, 0o755)


def make_groups(test, *names):
    """Local groups, removed at cleanup; returns their names."""
    for g in names:
        subprocess.run(["groupadd", g], check=True, stdin=subprocess.DEVNULL)
        _add_cleanup(test, groupdel, g)
    return names


def make_users(test, prefix, tag, roles):
    """roles: (role, groups[, shell]) tuples. Users PREFIX-ROLE-TAG with random passwords,
    removed at cleanup; returns {role: User}."""
    users = {}
    for role, groups, *shell in roles:
        u = User("%s-%s-%s" % (prefix, role, tag), "pw-" + secrets.token_hex(8), groups, *shell)
        _add_cleanup(test, u.remove)
        users[role] = u
    return users


def set_up_accounts(holder, test, short, roles):
    """The accounts a daemon authenticates: groups lwmiSHORT-r-TAG (holder.remote_group) and
    lwmiSHORT-a-TAG (holder.admin_group), users SHORT-ROLE-TAG (holder.users, as make_users; in
    roles, groups are named "remote" and "admin") and PAM service lwmi-SHORT-TAG
    (holder.pam_service), all removed at `test`'s cleanup. holder.tag must be set."""
    tag = holder.tag
    holder.remote_group, holder.admin_group = make_groups(
        test, "lwmi%s-r-%s" % (short, tag), "lwmi%s-a-%s" % (short, tag))
    named = {"remote": holder.remote_group, "admin": holder.admin_group}
    holder.users = make_users(test, short, tag, [(role, [named[g] for g in groups], *shell)
                                                 for role, groups, *shell in roles])
    holder.pam_service = "lwmi-%s-%s" % (short, tag)
    pam_service(test, holder.pam_service)


def pam_service(test, name):
    """/etc/pam.d/NAME, a copy of lwmi's PAM stack (etc/pam.d/lwmi), removed at cleanup;
    returns its path."""
    path = os.path.join("/etc/pam.d", name)
    shutil.copyfile(os.path.join(SOURCE_DIR, "etc", "pam.d", "lwmi"), path)
    _add_cleanup(test, remove_file, path)
    return path


def start_daemon(test, workdir, config_text, **kw):
    """A Daemon (keywords as Daemon's), ready, killed at cleanup."""
    d = Daemon(workdir, config_text, **kw)
    _add_cleanup(test, d.close)
    d.wait_ready(20)
    return d


def password_file(test, directory, password):
    """A 0600 file holding password and a newline, removed at cleanup; returns its path."""
    path = os.path.join(directory, "pw-" + secrets.token_hex(4))
    with open(path, "w") as f:
        f.write(password + "\n")
    os.chmod(path, 0o600)
    _add_cleanup(test, remove_file, path)
    return path


def groupdel(name):
    subprocess.run(["groupdel", name], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def remove_file(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
