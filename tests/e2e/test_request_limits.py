"""lwmid's request limits, tried as an ordinary local user would attack them: a query that would
run for many seconds is ended at [requests] time_limit_ms with WBEM_E_QUOTA_VIOLATION, and one
user flooding lwmid with such queries holds at most [requests] max_per_user of its workers, so
another user is answered while the flood still runs.

The slow query: alice's own processes carry ~1.8 MB command lines, and her WHERE clause is
`CommandLine LIKE '%___…___c%'` with 65,000 '_' (a query is at most 64 KiB): one pass of
bit-parallel matching, but 1,016 words of state per byte, seconds per process, several times the
2 s limit in all.

Runs as root with /usr/bin/python3.
"""
import os
import shutil
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import lwmi_e2e as e2e  # noqa: E402
from lwmi_e2e import lwmid  # noqa: E402

TIME_LIMIT_MS = 2000
PER_USER = 3  # lwmid has 4 workers
ARG = "a" * 127000  # below MAX_ARG_STRLEN (128 KiB)
SLOW_WQL = ("SELECT Handle FROM Win32_Process WHERE CommandLine LIKE '%" + "_" * 65000 + "c%'")


class RequestLimitsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        lwmid.set_up_class(cls, "lwmi-limits-")
        cls.lwmic = os.path.join(cls.work, "lwmic")
        shutil.copy2(e2e.LWMIC, cls.lwmic)
        os.chmod(cls.lwmic, 0o755)
        cls.users = lwmid.make_users(cls, "lim", cls.tag, (("alice", []), ("bob", [])))
        conf = "\n".join(["[audit]", "journal = false", "", "[requests]",
                          "time_limit_ms = %d" % TIME_LIMIT_MS, "max_per_user = %d" % PER_USER,
                          ""])
        cls.socket = os.path.join(cls.work, "lwmid.sock")
        cls.d = lwmid.start_daemon(cls, cls.work, conf, socket_path=cls.socket)
        # alice's processes with long command lines (14 × 127 KB each).
        for _ in range(4):
            p = subprocess.Popen(cls.users["alice"].prefix() +
                                 ["/usr/bin/perl", "-e", "sleep 600", *([ARG] * 14)],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, env={"PATH": "/usr/bin:/bin"})
            cls.addClassCleanup(e2e.stop_process, p)
            e2e.wait_for(lambda: len(e2e.proc_cmdline(p.pid) or []) > 14, 10,
                         "pid %d to exec perl" % p.pid)

    def lwmic_argv(self, role, *args):
        env = ["env", "-i", "PATH=/usr/bin:/bin", "HOME=/"]
        return self.users[role].prefix() + env + [self.lwmic, "--socket", self.socket, *args]

    def run_lwmic(self, role, *args):
        p = subprocess.run(self.lwmic_argv(role, *args), stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=120)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def busy_worker_threads(self):
        n = 0
        for tid in os.listdir("/proc/%d/task" % self.d.proc.pid):
            try:
                with open("/proc/%d/task/%s/stat" % (self.d.proc.pid, tid)) as f:
                    n += f.read().rsplit(")", 1)[1].split()[0] == "R"
            except OSError:
                pass
        return n

    def assert_ended_by_the_time_limit(self, rc, err):
        self.assertEqual(rc, 3, err)
        self.assertIn("WBEM_E_QUOTA_VIOLATION", err)
        self.assertIn("time limit of %d ms" % TIME_LIMIT_MS, err)
        self.assertIn("[requests] time_limit_ms", err)

    def test_a_query_past_the_time_limit_ends_with_a_quota_violation(self):
        rc, out, err = self.run_lwmic("alice", "query", SLOW_WQL)
        self.assert_ended_by_the_time_limit(rc, err)
        # The worker is free again: alice's next, ordinary query is answered.
        rc, out, err = self.run_lwmic("alice", "process", "where", "handle=1", "get", "ProcessId")
        self.assertEqual(rc, 0, err)
        self.assertIn("1", out)

    def test_one_user_flooding_slow_queries_does_not_starve_another(self):
        # alice sends more slow queries at once than lwmid has workers (8 > 4). Without a per-user
        # share her first four would hold every worker and the other four would queue ahead of
        # bob: bob would be answered only after some of hers had ended.
        flood = [subprocess.Popen(self.lwmic_argv("alice", "query", SLOW_WQL),
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE) for _ in range(8)]
        try:
            e2e.wait_for(lambda: self.busy_worker_threads() >= PER_USER, 20,
                         "alice's queries to occupy %d workers" % PER_USER)
            rc, out, err = self.run_lwmic("bob", "process", "where", "handle=1", "get",
                                          "ProcessId")
            still_running = [p.poll() is None for p in flood]
            self.assertEqual(rc, 0, err)
            self.assertTrue(all(still_running),
                            "bob was answered only after %d of alice's queries had ended"
                            % still_running.count(False))
        finally:
            results = []
            for p in flood:
                out, err = p.communicate(timeout=120)
                results.append((p.returncode, err.decode()))
        # Every one of alice's queries was served in turn (none refused for waiting) and ended
        # by the time limit.
        for rc, err in results:
            self.assert_ended_by_the_time_limit(rc, err)


if __name__ == "__main__":
    unittest.main()
