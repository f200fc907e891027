#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Host tests of mk/guest-profile.py and mk/qmp.py: the report on a
hand-made samples file (the KASLR slide, the shares, the functions and
their callers), and sampling against a fake QMP server."""

import importlib.util
import io
import json
import os
import socket
import sys
import tempfile
import threading
import unittest
from contextlib import redirect_stdout

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import qmp  # noqa: E402

spec = importlib.util.spec_from_file_location("guest_profile",
                                              os.path.join(HERE, "guest-profile.py"))
gp = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gp)

SYSTEM_MAP = """\
ffffffff81000000 T _stext
ffffffff81001000 T memcpy_orig
ffffffff81002000 T zstd_stream
ffffffff81003000 T default_idle
ffffffff81004000 t squashfs_read
ffffffff81005000 T _etext
"""
SLIDE = 0x1e00000


def k(addr):
    return "%016x" % (addr + SLIDE)


class Report(unittest.TestCase):
    def run_report(self, lines, *args):
        with tempfile.TemporaryDirectory() as d:
            smap = os.path.join(d, "System.map")
            out = os.path.join(d, "samples")
            with open(smap, "w") as f:
                f.write(SYSTEM_MAP)
            with open(out, "w") as f:
                f.write("".join(lines))
            buf = io.StringIO()
            with redirect_stdout(buf):
                rc = gp.report(out, smap, *args)
            return rc, buf.getvalue()

    def test_shares_functions_callers_and_slide(self):
        lines = [
            # halted, in the idle function: gives the slide
            "S 5.0 1.0 0 %s 0 1\n" % k(0xffffffff81003009),
            # user mode
            "S 5.0 1.0 1 00007f0000001000 3 0\n",
            # kernel, in memcpy_orig, called from zstd_stream, from squashfs_read;
            # a word outside the text is skipped
            "S 6.0 2.0 0 %s 0 0 %s,0000000000000001,%s\n" % (
                k(0xffffffff81001010), k(0xffffffff81002040), k(0xffffffff81004100)),
            "R ff11000002395000 ffa0000000000000 1000\n",
            "S 6.0 2.0 1 %s 0 0 %s\n" % (k(0xffffffff81001020), k(0xffffffff81002080)),
            # outside the span
            "S 9.0 3.0 0 %s 0 0\n" % k(0xffffffff81002000),
            "J 5.0 TB_count=10 TB_invalidate_count=1\n",
            "J 6.0 TB_count=25 TB_invalidate_count=4\n",
        ]
        rc, out = self.run_report(lines, 0.0, 8.0, 5)
        self.assertEqual(rc, 0)
        self.assertIn("slide %#x" % SLIDE, out)
        self.assertIn("samples 4 ", out)
        self.assertRegex(out, r"halted +1 +25\.0 %")
        self.assertRegex(out, r"user +1 +25\.0 %")
        self.assertRegex(out, r"kernel +2 +50\.0 %")
        self.assertRegex(out, r"2 +50\.0 %  memcpy_orig")
        self.assertIn("1  memcpy_orig < zstd_stream < squashfs_read\n", out)
        self.assertIn("1  memcpy_orig < zstd_stream\n", out)
        self.assertIn("TB_count               +15", out)
        self.assertIn("TB_invalidate_count    +3", out)

    def test_host_clock_and_empty_span(self):
        # no halted sample: no slide
        lines = ["S 6.0 2.0 0 ffffffff81001010 0 0\n",
                 "S 6.0 7.0 0 ffffffff81004010 0 0\n"]
        rc, out = self.run_report(lines, 5.0, 8.0, 5, True)
        self.assertEqual(rc, 0)
        self.assertIn("squashfs_read", out)
        self.assertNotIn("memcpy_orig", out)
        rc, out = self.run_report(lines, 100.0, 200.0, 5)
        self.assertEqual(rc, 1)
        self.assertIn("samples 0 ", out)


REGS = """CPU#0
RAX=0000000000000000 RBX=0000000000000000 RCX=0000000000000000 RDX=0000000000001000
RSI=ffa0000000001000 RDI=ff11000002395000 RBP=0000000000000000 RSP=ffffc90000013e50
R8 =0000000000000000 R9 =0000000000000000 R10=0000000000000000 R11=0000000000000000
RIP=ffffffff81001010 RFL=00000246 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=0
CPU#1
RAX=0000000000000000 RBX=0000000000000000 RCX=0000000000000000 RDX=0000000000000000
RSI=0000000000000000 RDI=0000000000000000 RBP=0000000000000000 RSP=ffffc90000023e50
R8 =0000000000000000 R9 =0000000000000000 R10=0000000000000000 R11=0000000000000000
RIP=ffffffff81003009 RFL=00000246 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=1
"""


class FakeQemu(threading.Thread):
    """Answers the profiler's commands for ROUNDS samples, then hangs up."""

    def __init__(self, path, rounds):
        super().__init__(daemon=True)
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(path)
        self.srv.listen(1)
        self.rounds = rounds
        self.seen = []

    def run(self):
        c, _ = self.srv.accept()
        f = c.makefile("rw")
        f.write(json.dumps({"QMP": {"version": {}}}) + "\n")
        f.flush()
        stops = 0
        for line in f:
            msg = json.loads(line)
            cmd = msg["execute"]
            args = msg.get("arguments", {})
            self.seen.append((cmd, args.get("command-line"), args.get("cpu-index")))
            if cmd == "stop":
                stops += 1
                if stops > self.rounds:
                    break
            ret = {}
            if cmd == "human-monitor-command":
                cl = args["command-line"]
                if cl == "info registers -a":
                    ret = REGS
                elif cl.startswith("x/"):
                    ret = "ffffc90000013e50: 0xffffffff81002040 0x0000000000000001\n"
                elif cl == "info jit":
                    ret = "TB count            42\nTB invalidate count 7\n"
            elif cmd == "bogus":
                f.write(json.dumps({"error": {"desc": "no such command"}}) + "\n")
                f.flush()
                continue
            f.write(json.dumps({"event": "RESUME"}) + "\n")
            f.write(json.dumps({"return": ret}) + "\n")
            f.flush()
        c.close()
        self.srv.close()


class Sample(unittest.TestCase):
    def test_sample_until_qemu_goes(self):
        with tempfile.TemporaryDirectory() as d:
            sock = os.path.join(d, "qmp.sock")
            console = os.path.join(d, "console.log")
            out = os.path.join(d, "samples")
            with open(console, "w") as f:
                f.write("[    1.500000] one\n[   12.250000] two\n")
            fake = FakeQemu(sock, 2)
            fake.start()
            self.assertEqual(gp.sample(sock, console, out, 200.0), 0)
            fake.join(5)
            with open(out) as f:
                lines = f.read().splitlines()
        s = [x.split() for x in lines if x.startswith("S ")]
        self.assertEqual(len(s), 4)  # two samples of two vCPUs
        self.assertEqual(s[0][1], "12.250000")
        self.assertEqual(s[0][3:7], ["0", "ffffffff81001010", "0", "0"])
        self.assertEqual(s[0][7], "ffffffff81002040,0000000000000001")
        self.assertEqual(len(s[1]), 7)  # halted: no stack
        self.assertIn("R ff11000002395000 ffa0000000001000 0000000000001000", lines)
        self.assertTrue(any(x.startswith("J 12.250000 TB_count=42") for x in lines))
        # the stack of vCPU 0 only, read through that vCPU
        self.assertIn(("human-monitor-command", "x/160gx 0xffffc90000013e50", 0), fake.seen)
        self.assertNotIn(1, [c for _, cl, c in fake.seen if cl and cl.startswith("x/")])

    def test_qmp_errors(self):
        with tempfile.TemporaryDirectory() as d:
            with self.assertRaisesRegex(qmp.QmpError, "cannot connect"):
                qmp.connect(os.path.join(d, "none.sock"), 0.1)
            sock = os.path.join(d, "qmp.sock")
            fake = FakeQemu(sock, 0)
            fake.start()
            call = qmp.connect(sock)
            with self.assertRaisesRegex(qmp.QmpError, "bogus: no such command"):
                call("bogus")
            self.assertEqual(call("human-monitor-command", **{"command-line": "info jit"}),
                             "TB count            42\nTB invalidate count 7\n")
            with self.assertRaisesRegex(qmp.QmpError, "closed"):
                call("stop")  # the fake hangs up on the first stop
            call.close()
            fake.join(5)


if __name__ == "__main__":
    unittest.main(verbosity=2)
