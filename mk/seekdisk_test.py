#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Host tests of mk/seekdisk.py: the model's arithmetic on hand-computed
cases, and the NBD server end to end, with QEMU's own client (qemu-img,
qemu-io) and with a minimal client of the test's for what QEMU does not
send (writes to a read-only export, options it does not use, pipelining)."""

import math
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import seekdisk  # noqa: E402
from seekdisk import MB, MIB, Model, PROFILES  # noqa: E402

GIB = 1024 * MIB
HDD = PROFILES["hdd7200"]


def near(a, b, eps=1e-9):
    return abs(a - b) <= eps * max(1.0, abs(a), abs(b))


class ModelTest(unittest.TestCase):
    def cost(self, c):
        return c.end - c.start

    def test_zoned_rates(self):
        m = Model(HDD, 4 * GIB)
        self.assertTrue(near(m.rate(0), 150 * MB))
        self.assertTrue(near(m.rate(4 * GIB), 75 * MB))
        # Constant density: half the capacity sits at radius
        # sqrt(1 - 0.5 * (1 - 0.25)) = sqrt(0.625) of the outer one.
        self.assertTrue(near(m.rate(2 * GIB), 150 * MB * math.sqrt(0.625)))
        # 1 MB at the outer edge takes half as long as at the inner edge.
        for off, want in ((0, 1 / 150), (4 * GIB - MB, 1 / 75)):
            m = Model(HDD, 4 * GIB)
            m.submit(0.0, Model.READ, off, 4096)  # position the head there
            c = m.submit(1.0, Model.READ, off, MB)  # the same track, after a pause
            self.assertAlmostEqual(c.transfer, MB / m.rate(off), places=12)
            self.assertAlmostEqual(c.transfer, want, delta=want * 0.001)
        # The DVD: LBA 0 at the inner edge, 6.6x; a full disc's end at 16x.
        d = Model(PROFILES["dvd"], 700 * MB)
        self.assertAlmostEqual(d.rate(0) / 1.385e6, 16 * 24 / 58, places=9)
        self.assertAlmostEqual(d.rate(d.capacity) / 1.385e6, 16.0, places=9)
        self.assertEqual(d.capacity, 2295104 * 2048)

    def test_sequential_run_pays_transfer_only(self):
        m = Model(HDD, 4 * GIB)
        first = m.submit(0.0, Model.READ, 0, 65536)
        # From the parked head at LBA 0: no seek, half a revolution.
        self.assertEqual(first.seek, 0.0)
        self.assertAlmostEqual(first.rotation, 60 / 7200 / 2, places=12)
        self.assertAlmostEqual(self.cost(first),
                               0.3e-3 + 60 / 7200 / 2 + 65536 / m.rate(0), places=12)
        # Queued behind it, each following 64 KiB pays its transfer only:
        # no seek, no rotation, and no command overhead (NCQ).
        t = first.end
        for i in range(1, 20):
            c = m.submit(0.0, Model.READ, i * 65536, 65536)
            self.assertEqual((c.seek, c.rotation, c.overhead, c.hit), (0.0, 0.0, 0.0, False))
            self.assertAlmostEqual(c.start, t, places=12)
            self.assertAlmostEqual(self.cost(c), 65536 / m.rate(i * 65536), places=12)
            t = c.end

    def test_seek_curve(self):
        m = Model(HDD, 4 * GIB)
        self.assertEqual(m.seek_time(0), 0.0)
        self.assertAlmostEqual(m.seek_time(1 / 3), 8.5e-3, places=12)
        self.assertAlmostEqual(m.seek_time(1), 16e-3, places=12)
        # sqrt below a third of the stroke, linear above.
        self.assertAlmostEqual(m.seek_time(1 / 12), 1e-3 + 7.5e-3 * 0.5, places=12)
        self.assertAlmostEqual(m.seek_time(2 / 3), 8.5e-3 + 7.5e-3 / 2, places=12)
        # A third of the stroke: radius 1 - (1/3)(1 - 0.5) = 5/6, so the
        # fraction f of the capacity with 1 - 0.75 f = 25/36.
        f = (1 - 25 / 36) / 0.75
        self.assertAlmostEqual(m.stroke(0, f * 4 * GIB), 1 / 3, places=9)
        self.assertAlmostEqual(m.stroke(0, 4 * GIB), 1.0, places=12)

    def far_and_near(self, profile, size):
        costs = []
        for frac in (0.05, 0.4, 0.95):
            m = Model(profile, size)
            m.submit(0.0, Model.READ, 0, 4096)
            c = m.submit(10.0, Model.READ, int(frac * size), 4096)
            self.assertAlmostEqual(c.seek, m.seek_time(m.stroke(4096, int(frac * size))),
                                   places=12)
            costs.append(c)
        self.assertLess(costs[0].seek, costs[1].seek)
        self.assertLess(costs[1].seek, costs[2].seek)
        self.assertLess(self.cost(costs[0]), self.cost(costs[2]))
        return costs

    def test_far_seek_costs_more(self):
        c = self.far_and_near(HDD, 4 * GIB)
        f = (1 - 25 / 36) / 0.75
        m = Model(HDD, 4 * GIB)
        m.submit(0.0, Model.READ, 0, 0)
        # From the outer edge to a third of the stroke: the average seek,
        # half a revolution, the overhead and the transfer.
        off = int(f * 4 * GIB)
        got = m.submit(10.0, Model.READ, off, 4096)
        self.assertAlmostEqual(got.seek, 8.5e-3, delta=1e-8)
        self.assertAlmostEqual(self.cost(got), 0.3e-3 + 8.5e-3 + 60 / 7200 / 2 +
                               4096 / m.rate(off), delta=1e-8)
        self.assertGreater(c[2].seek, 14e-3)
        self.far_and_near(PROFILES["hdd5400"], 4 * GIB)
        d = self.far_and_near(PROFILES["dvd"], 4 * GIB)
        self.assertGreater(d[2].seek, 0.1)

    def test_dvd_random_access_about_100ms(self):
        m = Model(PROFILES["dvd"], 4 * GIB)
        p = PROFILES["dvd"]
        self.assertAlmostEqual(p.revolution, 2 * math.pi * 0.058 / (16 * 3.49), places=12)
        avg = p.overhead + m.seek_time(1 / 3) + p.revolution / 2
        self.assertTrue(95e-3 < avg < 105e-3, avg)
        # A 64 KiB read right after the last one while the drive streams
        # pays the transfer at the inner-edge rate only.
        m.submit(0.0, Model.READ, 0, 65536)
        c = m.submit(0.0, Model.READ, 65536, 65536)
        self.assertEqual((c.seek, c.rotation), (0.0, 0.0))
        self.assertAlmostEqual(c.transfer, 65536 / m.rate(65536), places=12)
        self.assertEqual(c.overhead, 0.0)  # a continuation
        # Elsewhere, after a pause: ATAPI has no queueing, so the command
        # overhead is paid.
        c = m.submit(c.end + 0.5, Model.READ, 4 * MIB, 2048)
        self.assertFalse(c.hit)
        self.assertGreater(c.seek, 2e-3)
        self.assertAlmostEqual(c.overhead, 0.5e-3, places=12)

    def test_rotational_latency(self):
        m = Model(HDD, 4 * GIB)
        m.submit(0.0, Model.READ, 0, 4096)
        # Back over the same track long after: no seek, half a revolution.
        c = m.submit(5.0, Model.READ, 0, 4096)
        self.assertTrue(c.hit)  # in the drive's cache
        m = Model(HDD, 4 * GIB)
        m.submit(0.0, Model.WRITE, 65536, 4096)
        c = m.submit(5.0, Model.READ, 0, 4096)
        self.assertEqual(c.seek, 0.0)
        self.assertAlmostEqual(c.rotation, 4.1666666e-3, delta=1e-9)
        # Two tracks away: a seek and the rotation.
        c = m.submit(10.0, Model.READ, 3 * MB, 4096)
        self.assertGreater(c.seek, 1e-3)
        self.assertAlmostEqual(c.rotation, 60 / 7200 / 2, places=12)

    def test_read_ahead(self):
        m = Model(HDD, 4 * GIB)
        first = m.submit(0.0, Model.READ, 0, 65536)
        # 1 ms later the drive has read 150 KB more: the next 64 KiB is in
        # its buffer and costs the SATA transfer (no overhead: it continues
        # the last request).
        c = m.submit(first.end + 1e-3, Model.READ, 65536, 65536)
        self.assertTrue(c.hit)
        self.assertAlmostEqual(self.cost(c), 65536 / 300e6, places=12)
        # The next 192 KiB arrives at once: what was buffered beyond the
        # hit (150 KB - 64 KiB, and what the drive read while it served the
        # hit) is not read again, the rest streams from the medium.
        c2 = m.submit(c.end, Model.READ, 131072, 196608)
        self.assertFalse(c2.hit)
        self.assertEqual((c2.seek, c2.rotation, c2.overhead), (0.0, 0.0, 0.0))
        buffered = 1e-3 * m.rate(65536) - 65536 + (c.end - c.start) * m.rate(131072)
        self.assertAlmostEqual(c2.transfer, (196608 - buffered) / m.rate(131072), delta=1e-9)
        # Long after the segment filled (1 MiB), a read beyond it waits
        # for the rotation but does not seek.
        c3 = m.submit(c2.end + 1.0, Model.READ, 327680 + MIB + 65536, 4096)
        self.assertEqual(c3.seek, 0.0)
        self.assertAlmostEqual(c3.rotation, 60 / 7200 / 2, places=12)
        # And what it read ahead before that is in the cache.
        c4 = m.submit(c3.end + 1.0, Model.READ, 327680 + MIB - 4096, 4096)
        self.assertTrue(c4.hit)
        c5 = m.submit(c4.end + 1.0, Model.READ, 327680 + MIB, 4096)
        self.assertFalse(c5.hit)

    def test_queueing(self):
        m = Model(PROFILES["usb2"], 64 * MIB)
        a = m.submit(0.0, Model.READ, 0, 30000)
        self.assertAlmostEqual(self.cost(a), 1e-3 + 1e-3, places=12)
        # Arrives while the device is busy: starts when it is free.
        b = m.submit(0.5e-3, Model.READ, 50 * MIB, 30000)
        self.assertAlmostEqual(b.start, a.end, places=12)
        self.assertAlmostEqual(b.wait, a.end - 0.5e-3, places=12)
        self.assertAlmostEqual(self.cost(b), 2e-3, places=12)  # no seek on flash
        # Arrives after it became free: starts at once.
        c = m.submit(1.0, Model.WRITE, 0, 100000)
        self.assertEqual((c.start, c.wait), (1.0, 0.0))
        self.assertAlmostEqual(self.cost(c), 1e-3 + 100000 / 10e6, places=12)

    def test_scale(self):
        size = 4 * GIB
        reqs = [(0.0, 0, 4096), (0.0, GIB, 65536), (0.0, GIB + 65536, 65536),
                (0.002, 3 * GIB, 4096)]
        plain, scaled = Model(HDD, size), Model(HDD, size, scale=5)
        for arrival, off, n in reqs:
            a = plain.submit(arrival, Model.READ, off, n)
            b = scaled.submit(arrival * 5, Model.READ, off, n)
            for part in ("overhead", "seek", "rotation", "transfer"):
                self.assertAlmostEqual(getattr(b, part), 5 * getattr(a, part), places=12)
            self.assertAlmostEqual(b.end - b.start, 5 * (a.end - a.start), places=12)
            self.assertEqual(a.hit, b.hit)
        self.assertRaises(ValueError, Model, HDD, size, 0)

    def test_capacity(self):
        # A small image on a large disk (short-stroking): seeks shrink.
        wide = Model(HDD, 4 * GIB)
        short = Model(HDD, 4 * GIB, capacity=1000 * 1000 * MB)
        for m in (wide, short):
            m.submit(0.0, Model.READ, 0, 4096)
        self.assertLess(short.submit(1.0, Model.READ, 4 * GIB - 4096, 4096).seek,
                        wide.submit(1.0, Model.READ, 4 * GIB - 4096, 4096).seek / 4)


# --- The server -----------------------------------------------------------------

def have(*progs):
    return all(shutil.which(p) for p in progs)


class Server:
    """A seekdisk.py process on a temporary image and socket."""

    def __init__(self, tmp, model, image, *extra):
        self.sock = os.path.join(tmp, "%s.sock" % model)
        self.summary = os.path.join(tmp, "%s.summary" % model)
        self.log = os.path.join(tmp, "%s.log" % model)
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "seekdisk.py"), "--model", model,
             "--socket", self.sock, "--summary", self.summary, "--log", self.log, image] +
            list(extra), stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.sock):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("seekdisk did not start: %s" % self.proc.stderr.read())
            time.sleep(0.02)
        self.uri = "nbd+unix:///?socket=" + self.sock

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=10)
        self.proc.stderr.close()
        with open(self.summary) as f:
            return f.read()


def run(*cmd):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=120)


class Client:
    """A minimal NBD client: fixed newstyle, NBD_OPT_GO, simple replies."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        magic, opt, hflags = struct.unpack(">QQH", self.recv(18))
        assert (magic, opt) == (seekdisk.NBDMAGIC, seekdisk.IHAVEOPT)
        assert hflags & seekdisk.FLAG_FIXED_NEWSTYLE
        self.s.sendall(struct.pack(">I", seekdisk.FLAG_FIXED_NEWSTYLE | seekdisk.FLAG_NO_ZEROES))

    def recv(self, n):
        return seekdisk.recv_exact(self.s, n)

    def option(self, opt, data=b""):
        """Send an option; returns [(reply type, data)] up to the last reply."""
        self.s.sendall(struct.pack(">QII", seekdisk.IHAVEOPT, opt, len(data)) + data)
        replies = []
        while True:
            magic, ropt, rep, length = struct.unpack(">QIII", self.recv(20))
            assert (magic, ropt) == (seekdisk.REPLY_MAGIC, opt)
            replies.append((rep, self.recv(length)))
            if rep != seekdisk.REP_INFO:
                return replies

    def go(self, name=b""):
        replies = self.option(seekdisk.OPT_GO, struct.pack(">I", len(name)) + name +
                              struct.pack(">HH", 1, seekdisk.INFO_BLOCK_SIZE))
        if replies[-1][0] != seekdisk.REP_ACK:
            return None, replies
        _, size, flags = struct.unpack(">HQH", replies[0][1])
        return (size, flags), replies

    def send(self, typ, handle, offset, length, data=b""):
        self.s.sendall(struct.pack(">IHHQQI", seekdisk.REQUEST_MAGIC, 0, typ, handle, offset,
                                   length) + data)

    def reply(self, length=0):
        magic, error, handle = struct.unpack(">IIQ", self.recv(16))
        assert magic == seekdisk.SIMPLE_REPLY_MAGIC
        data = self.recv(length) if length and not error else b""
        return error, handle, data

    def close(self):
        self.send(seekdisk.CMD_DISC, 0, 0, 0)
        self.s.close()


class ServerTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="seekdisk-test.")
        self.image = os.path.join(self.tmp, "disk.img")
        with open(self.image, "wb") as f:
            f.write(os.urandom(8 * MIB))
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            if s.proc.poll() is None:
                s.proc.kill()
                s.proc.wait()
                s.proc.stderr.close()
        shutil.rmtree(self.tmp)

    def server(self, model, *extra):
        s = Server(self.tmp, model, self.image, *extra)
        self.servers.append(s)
        return s

    def file_bytes(self, off=0, n=None):
        with open(self.image, "rb") as f:
            f.seek(off)
            return f.read(n if n is not None else -1)

    @unittest.skipUnless(have("qemu-img", "qemu-io"), "qemu-img and qemu-io (qemu-utils)")
    def test_qemu_reads_and_writes(self):
        s = self.server("hdd7200")
        r = run("qemu-img", "info", "--output=json", s.uri)
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn('"virtual-size": %d' % (8 * MIB), r.stdout)
        # Everything, through QEMU's client (pipelined), byte for byte.
        copy = os.path.join(self.tmp, "copy.img")
        r = run("qemu-img", "convert", "-f", "raw", "-O", "raw", s.uri, copy)
        self.assertEqual(r.returncode, 0, r.stdout)
        with open(copy, "rb") as f:
            self.assertEqual(f.read(), self.file_bytes())
        # Writes: aligned, unaligned (QEMU reads, modifies, writes), and
        # zeroes; then the file holds them and nothing else changed.
        before = bytearray(self.file_bytes())
        r = run("qemu-io", "-f", "raw", "-c", "write -P 0xab 1M 64k",
                "-c", "write -P 0xcd 1000 100", "-c", "write -z 4M 8k",
                "-c", "read -P 0xab 1M 64k", "-c", "flush", s.uri)
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertNotIn("fail", r.stdout.lower(), r.stdout)
        before[MIB:MIB + 65536] = b"\xab" * 65536
        before[1000:1100] = b"\xcd" * 100
        before[4 * MIB:4 * MIB + 8192] = bytes(8192)
        self.assertEqual(self.file_bytes(), bytes(before))
        # A read past the end is refused.
        r = run("qemu-io", "-f", "raw", "-c", "read 8M 4k", s.uri)
        self.assertIn("read failed", r.stdout)
        summary = s.stop()
        self.assertRegex(summary, r"^seekdisk: model=hdd7200 scale=1 requests=\d+ ")
        fields = dict(kv.split("=") for kv in summary.split()[1:])
        self.assertGreaterEqual(int(fields["read_bytes"]), 8 * MIB)
        # 100 bytes at 1000 cover two 512-byte blocks, which QEMU writes.
        self.assertEqual(int(fields["write_bytes"]), 65536 + 1024 + 8192)
        self.assertGreater(float(fields["busy_s"]), 0.0)
        with open(s.log) as f:
            self.assertEqual(len(f.read().splitlines()), int(fields["requests"]))

    @unittest.skipUnless(have("qemu-img", "qemu-io"), "qemu-img and qemu-io (qemu-utils)")
    def test_read_only(self):
        s = self.server("dvd")
        before = self.file_bytes()
        r = run("qemu-io", "-r", "-f", "raw", "-c", "read -v 2048 16", s.uri)
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn(" ".join("%02x" % b for b in before[2048:2056]), r.stdout)
        # QEMU will not open a read-only export for writing.
        r = run("qemu-io", "-f", "raw", "-c", "write -P 0x11 0 4k", s.uri)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn("Permission denied", r.stdout)
        # QEMU refuses on its side; the server must refuse as well.
        c = Client(s.sock)
        (size, flags), _ = c.go()
        self.assertTrue(flags & seekdisk.TF_READ_ONLY)
        c.send(seekdisk.CMD_WRITE, 7, 0, 4096, b"\x11" * 4096)
        self.assertEqual(c.reply()[:2], (seekdisk.EPERM, 7))
        c.send(seekdisk.CMD_WRITE_ZEROES, 8, 0, 4096)
        self.assertEqual(c.reply()[:2], (seekdisk.EPERM, 8))
        c.close()
        self.assertEqual(self.file_bytes(), before)
        self.assertIn("writes=0 ", s.stop())

    def test_negotiation(self):
        s = self.server("usb2")
        c = Client(s.sock)
        # NBD_OPT_LIST (3) and NBD_OPT_STRUCTURED_REPLY (8): unsupported.
        self.assertEqual(c.option(3)[-1][0], seekdisk.REP_ERR_UNSUP)
        self.assertEqual(c.option(8)[-1][0], seekdisk.REP_ERR_UNSUP)
        # An export that is not there; a malformed NBD_OPT_INFO.
        res, replies = c.go(b"nosuch")
        self.assertIsNone(res)
        self.assertEqual(replies[-1][0], seekdisk.REP_ERR_UNKNOWN)
        self.assertEqual(c.option(seekdisk.OPT_INFO, b"\0\0")[-1][0], seekdisk.REP_ERR_INVALID)
        replies = c.option(seekdisk.OPT_INFO, struct.pack(">IH", 0, 0))
        self.assertEqual([r[0] for r in replies], [seekdisk.REP_INFO, seekdisk.REP_ACK])
        (size, flags), replies = c.go()
        self.assertEqual(size, 8 * MIB)
        self.assertFalse(flags & seekdisk.TF_READ_ONLY)
        self.assertFalse(flags & seekdisk.TF_ROTATIONAL)
        _, bmin, bpref, bmax = struct.unpack(">HIII", replies[1][1])
        self.assertEqual((bmin, bpref, bmax), (512, 4096, 32 * MIB))
        # Bad requests: past the end, an unknown command.
        c.send(seekdisk.CMD_READ, 1, 8 * MIB - 512, 1024)
        self.assertEqual(c.reply(1024)[:2], (seekdisk.EINVAL, 1))
        c.send(99, 2, 0, 0)
        self.assertEqual(c.reply()[:2], (seekdisk.EINVAL, 2))
        c.close()
        c = Client(s.sock)
        self.assertEqual(c.option(seekdisk.OPT_ABORT)[-1][0], seekdisk.REP_ACK)
        c.s.close()
        # NBD_OPT_EXPORT_NAME: the size and flags, no zeroes (negotiated).
        c = Client(s.sock)
        c.s.sendall(struct.pack(">QII", seekdisk.IHAVEOPT, seekdisk.OPT_EXPORT_NAME, 0))
        size, flags = struct.unpack(">QH", c.recv(10))
        self.assertEqual(size, 8 * MIB)
        c.send(seekdisk.CMD_READ, 3, 4096, 512)
        err, handle, data = c.reply(512)
        self.assertEqual((err, handle, data), (0, 3, self.file_bytes(4096, 512)))
        c.close()
        self.assertIn("requests=1 ", s.stop())

    def test_pipelined_one_at_a_time(self):
        # usb2 at scale 10: a 4 KiB read costs 10 * (1 ms + 4096 / 30 MB/s),
        # 11.4 ms. Twenty sent at once come back in order, each with its
        # bytes, the last no sooner than twenty of those after the first.
        s = self.server("usb2", "--scale", "10")
        c = Client(s.sock)
        c.go()
        offs = [(i * 7919 * 512) % (8 * MIB - 4096) for i in range(20)]
        t0 = time.monotonic()
        for i, off in enumerate(offs):
            c.send(seekdisk.CMD_READ, 100 + i, off, 4096)
        for i, off in enumerate(offs):
            err, handle, data = c.reply(4096)
            self.assertEqual((err, handle), (0, 100 + i))
            self.assertEqual(data, self.file_bytes(off, 4096))
        took = time.monotonic() - t0
        each = 10 * (1e-3 + 4096 / 30e6)
        self.assertGreaterEqual(took, 20 * each * 0.999)
        self.assertLess(took, 20 * each + 2.0)
        c.close()
        fields = dict(kv.split("=") for kv in s.stop().split()[1:])
        self.assertAlmostEqual(float(fields["busy_s"]), 20 * each, delta=0.002)
        # Queued behind each other: the waits add up.
        self.assertGreater(float(fields["wait_s"]), 150 * each)

    def test_bad_arguments(self):
        for extra in (["--scale", "0"], ["--scale", "nan"], ["--model", "floppy"]):
            args = ["--model", "usb2"] + extra if extra[0] != "--model" else extra
            r = run(sys.executable, os.path.join(HERE, "seekdisk.py"), "--socket",
                    os.path.join(self.tmp, "x.sock"), self.image, *args)
            self.assertEqual(r.returncode, 2, r.stdout)
            self.assertIn("error", r.stdout)
            self.assertFalse(os.path.exists(os.path.join(self.tmp, "x.sock")))
        r = run(sys.executable, os.path.join(HERE, "seekdisk.py"), "--socket",
                os.path.join(self.tmp, "x.sock"), "--model", "usb2",
                os.path.join(self.tmp, "missing.img"))
        self.assertEqual(r.returncode, 2, r.stdout)
        self.assertIn("cannot open", r.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
