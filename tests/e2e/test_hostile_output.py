"""lwmic's text output against a hostile process: a name and command line holding newlines,
carriage returns, terminal escape sequences and fake "Name=systemd" lines. Table, list, the
alias form, watch lines and stderr messages keep each value in its own row, record or line, and
no control byte reaches the terminal; a value shown as $'…' decodes back to the original bytes.
CSV and JSON keep the bytes in their own quoting. Runs embedded (no lwmid needed)."""
import json
import os
import re
import secrets
import shutil
import subprocess
import time
import unittest

import lwmi_e2e as e2e

# What a process may choose for itself: a file name (Name, comm) and argv (CommandLine).
HOSTILE_NAME = "x\nProcessId=1\nName=systemd\r\x1b[2J\x1b]0;owned\x07"
HOSTILE_ARG = "1000\n1      systemd\n\x1b[31mred\x9b"


def decode_shown(text):
    """The bytes a value shown as bash's $'…' stands for (the text itself when not quoted)."""
    if not text.startswith("$'"):
        return text.encode()
    assert text.endswith("'"), text
    body, out, i = text[2:-1], bytearray(), 0
    simple = {"n": b"\n", "r": b"\r", "t": b"\t", "\\": b"\\", "'": b"'"}
    while i < len(body):
        c = body[i]
        if c != "\\":
            out += c.encode()
            i += 1
        elif body[i + 1] == "x":
            out.append(int(body[i + 2:i + 4], 16))
            i += 4
        else:
            out += simple[body[i + 1]]
            i += 2
    return bytes(out)


class HostileOutputTest(unittest.TestCase):
    def setUp(self):
        self.dir = e2e.work_dir(self, "lwmi-hostile-", mode=0o700)
        self.marker = "mk" + secrets.token_hex(4)
        self.exe = os.path.join(self.dir, HOSTILE_NAME)
        shutil.copy2("/bin/bash", self.exe)
        # bash waits in its read builtin (no child); the hostile text is in its argv.
        self.argv = [self.exe, "-c", "read -r _", HOSTILE_ARG, self.marker]

    def start(self):
        argv = self.argv
        p = subprocess.Popen(argv, stdin=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.addCleanup(e2e.stop_process, p)
        self.addCleanup(p.stdin.close)
        e2e.wait_for(lambda: e2e.proc_cmdline(p.pid) == argv, 10, "the hostile process to run")
        return p

    def start_now(self):
        p = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.addCleanup(e2e.stop_process, p)
        self.addCleanup(p.stdin.close)
        return p

    def lwmic(self, *args):
        r = subprocess.run([e2e.LWMIC, "--embedded", *args], stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=60)
        return r.returncode, r.stdout, r.stderr

    def assert_clean(self, data):
        for b in (b"\r", b"\x1b", b"\x07", b"\x9b", b"\xc2\x9b"):
            self.assertNotIn(b, data)

    def test_table_has_one_row(self):
        p = self.start()
        rc, out, err = self.lwmic("--format", "table", "query",
                                  "SELECT ProcessId, Name, CommandLine FROM Win32_Process "
                                  "WHERE ProcessId = %d" % p.pid)
        self.assertEqual(rc, 0, err)
        self.assert_clean(out)
        lines = out.decode().splitlines()
        self.assertEqual(len(lines), 2, out)  # the header and the one process
        self.assertTrue(lines[1].startswith("%d " % p.pid), lines)
        self.assertNotIn("\nName=systemd", out.decode())

    def test_list_has_one_record_that_decodes_back(self):
        p = self.start()
        for args in (["get", "Win32_Process.Handle=\"%d\"" % p.pid,
                      "--properties", "ProcessId,Name,CommandLine"],
                     ["process", "where", "processid=%d" % p.pid, "get",
                      "ProcessId,Name,CommandLine"]):
            with self.subTest(args=args[0]):
                rc, out, err = self.lwmic("--format", "list", *args)
                self.assertEqual(rc, 0, err)
                self.assert_clean(out)
                lines = [l for l in out.decode().split("\n") if l]
                self.assertEqual([l.split("=", 1)[0] for l in lines],
                                 ["ProcessId", "Name", "CommandLine"], out)
                fields = dict(l.split("=", 1) for l in lines)
                self.assertEqual(fields["ProcessId"], str(p.pid))
                self.assertEqual(decode_shown(fields["Name"]), HOSTILE_NAME.encode())
                cmd = decode_shown(fields["CommandLine"]).decode()
                self.assertIn(HOSTILE_ARG, cmd)
                self.assertIn(self.marker, cmd)

    def test_csv_and_json_keep_the_bytes(self):
        p = self.start()
        path = "Win32_Process.Handle=\"%d\"" % p.pid
        rc, out, err = self.lwmic("--format", "json", "get", path, "--properties", "Name")
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(out)["Name"], HOSTILE_NAME)
        rc, out, err = self.lwmic("--format", "csv", "get", path, "--properties", "Name")
        self.assertEqual(rc, 0, err)
        self.assertIn(b'"' + HOSTILE_NAME.encode() + b'"', out)

    def test_watch_lines_and_stderr_messages(self):
        out, err = e2e.output_files(self, self.dir, "w+b")
        wql = ("SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA "
               "'Win32_Process' AND TargetInstance.CommandLine LIKE '%%%s%%'" % self.marker)
        w = subprocess.Popen([e2e.LWMIC, "--embedded", "--format", "list", "watch", wql,
                              "--terminate", "--count", "1", "--timeout", "20"],
                             stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        self.addCleanup(lambda: (w.poll() is None and w.kill(), w.wait()))
        e2e.wait_for(lambda: (err.seek(0), b"watching" in err.read())[1], 20,
                     "lwmic watch to subscribe")
        p = self.start_now()
        self.assertEqual(w.wait(timeout=20), 0)
        out.seek(0)
        err.seek(0)
        o, e = out.read(), err.read()
        self.assert_clean(o)
        self.assert_clean(e)
        # One record, one TargetInstance line (its path, or in an event row its ProcessId
        # among the flattened properties); the message names the process on one line.
        self.assertEqual(len(re.findall(rb"^TargetInstance(\.ProcessId)?=", o, re.M)), 1, o)
        self.assertNotIn(b"\nName=systemd", o)
        self.assertNotIn(b"\nProcessId=1\n", o + e)
        line = [l for l in e.decode().splitlines() if "terminated process %d" % p.pid in l]
        self.assertEqual(len(line), 1, e)
        shown = line[0].split(" (", 1)[1].rsplit("): ReturnValue", 1)[0]
        self.assertEqual(decode_shown(shown), HOSTILE_NAME.encode())


if __name__ == "__main__":
    unittest.main()
