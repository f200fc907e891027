#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""seekdisk: an NBD server that charges each request what a real device would.

    mk/seekdisk.py --model hdd7200 --socket PATH IMAGE [--read-only]
                   [--scale F] [--capacity BYTES] [--log FILE]
                   [--summary FILE]

Serves the raw IMAGE on the Unix socket PATH (QEMU: -drive
file=nbd+unix:///?socket=PATH,format=raw) and answers every request only
after the time the modelled device would take for it. QEMU's own throttling
is a token bucket, in which a seek costs nothing; here a request costs what
its place on the medium makes it cost:

  seek         by the distance the head (or the optical pickup) travels, on
               the curve of Ruemmler and Wilkes ("An introduction to disk
               drive modeling", IEEE Computer 27(3), 1994): the square root
               of the distance for short seeks (the arm accelerates and
               brakes), linear for long ones (it coasts). The curve goes
               through the data sheet's three figures: single-track at the
               shortest distance, the average seek at a third of the stroke
               (the mean distance between two random places; the data
               sheets' "weighted average of all possible seeks" comes out
               near it) and the full stroke at the whole stroke.
  rotation     half a revolution, the mean wait for a random sector to come
               under the head, after every seek and on every access that is
               not sequential;
  transfer     at the medium's rate where the data sits: proportional to the
               radius (zoned recording on a hard disk, constant angular
               velocity on a DVD), with LBAs spread over the recording area
               at constant density, so a fraction f of the capacity sits at
               radius sqrt(r_start^2 + f (r_end^2 - r_start^2));
  overhead     the drive's command processing, per request; a hard disk
               hides it behind the previous request's transfer when the
               request was queued before the device became free (SATA NCQ
               takes the next command while busy), and neither a disk nor a
               DVD drive pays it for a request that starts where the last
               one ended: QEMU splits what the guest asked for in one
               command into several requests in places (ide-cd's PIO reads,
               which SeaBIOS uses, are one request per 2 KiB sector), and a
               continuation is what one command would have covered;
  read-ahead   after a read the drive goes on reading the following sectors
               into its buffer at the media rate until its read-ahead
               segment is full or the next command comes: a read of what is
               already buffered costs the overhead and the interface
               transfer only, and a read that starts where the last one
               ended (or a little further on the same track) while the drive
               is still streaming pays no seek and no rotation.

Writes are charged as reads are, without buffer hits (the drive's write
cache is not modelled: a write costs its mechanical access, as with the
write cache off); FLUSH costs nothing (nothing is left to write back).

One request at a time, in arrival order, as a single-actuator disk without
command reordering does (NCQ's reordering is not modelled: the guest's I/O
scheduler is the only one): a request that arrives while the device is busy
waits until it is free, and its service time is measured from then. QEMU's
NBD client pipelines requests; they queue here.

--scale F multiplies every modelled time by F (the device F times slower;
see mk/cpu-factor.sh). The model's arithmetic is in Model and the device
profiles in PROFILES (the host tests, mk/seekdisk_test.py, call them
without a socket).

On SIGTERM or SIGINT it writes one summary line to --summary FILE and exits.
--log FILE gets a line per request: its arrival, start and end on the
server's clock (CLOCK_MONOTONIC seconds), the command, the offset and length
and the parts of its cost in milliseconds.

The protocol is NBD's fixed newstyle negotiation (NBD_OPT_GO, NBD_OPT_INFO,
NBD_OPT_EXPORT_NAME, NBD_OPT_ABORT; NBD_REP_ERR_UNSUP for every other
option, so no structured replies) and simple replies to NBD_CMD_READ,
WRITE, FLUSH, TRIM (a no-op, which the protocol allows), WRITE_ZEROES and
DISC. One export, named "" (or --name); the image's size is the export's.
--read-only (optical media) refuses writes with EPERM.
"""

import argparse
import collections
import math
import os
import queue
import signal
import socket
import struct
import sys
import threading
import time

MB = 1000 * 1000
MIB = 1024 * 1024


# --- The device model ---------------------------------------------------------

class Profile:
    """A device's parameters (times in seconds, rates in bytes per second).

    seek_track, seek_avg, seek_full: single-track, average (at a third of the
    stroke) and full-stroke seek; None for no seek at all (flash).
    rpm: the spindle speed (None: no rotation).
    rate_outer, rate_inner: the media rate at the outer and inner radius
    (equal for a device without zones).
    inner_first: LBA 0 sits at the inner radius (a DVD) rather than the
    outer one (a hard disk).
    capacity: the medium's size in bytes; None: the image's size (the image
    is the whole disk: its first LBA on the outer edge, its last on the
    inner, a seek across it a full stroke).
    readahead: the drive's read-ahead segment in bytes (0: none).
    cache: how much of what it read (and read ahead) the drive keeps, in
    bytes, for reads of the same data again (0: none).
    interface_rate: the rate from the drive's buffer to the host.
    overhead: command processing per request; overhead_queued: whether a
    request queued while the device was busy still pays it;
    overhead_sequential: whether a request that starts where the last one
    ended pays it.
    write_rate: the rate of writes where it differs from the media rate
    (flash), else None.
    """

    def __init__(self, name, **kw):
        self.name = name
        self.seek_track = kw.pop("seek_track", None)
        self.seek_avg = kw.pop("seek_avg", None)
        self.seek_full = kw.pop("seek_full", None)
        self.rpm = kw.pop("rpm", None)
        self.rate_outer = kw.pop("rate_outer")
        self.rate_inner = kw.pop("rate_inner", self.rate_outer)
        self.inner_first = kw.pop("inner_first", False)
        self.capacity = kw.pop("capacity", None)
        self.readahead = kw.pop("readahead", 0)
        self.cache = kw.pop("cache", 0)
        self.interface_rate = kw.pop("interface_rate", self.rate_outer)
        self.overhead = kw.pop("overhead", 0.0)
        self.overhead_queued = kw.pop("overhead_queued", True)
        self.overhead_sequential = kw.pop("overhead_sequential", True)
        self.write_rate = kw.pop("write_rate", None)
        self.read_only = kw.pop("read_only", False)
        if kw:
            raise TypeError("unknown profile parameters: %s" % ", ".join(sorted(kw)))

    @property
    def revolution(self):
        return 60.0 / self.rpm if self.rpm else 0.0


# The devices. Every figure names where it comes from; "assumption" marks
# the ones no data sheet gave.
PROFILES = {
    # A 7200 rpm 3.5" desktop disk. Hitachi Deskstar 7K1000.C (two-platter
    # models) specification, "Mechanical positioning": average seek 8.5 ms
    # (read, typical). Single-track 1.0 ms: the figure the Hitachi
    # specifications of the same years give (Travelstar 7K320 and 5K320:
    # 1.0 ms read, typical); an assumption for this drive. Full stroke
    # 16 ms: an assumption between the IBM/Hitachi Deskstar 60GXP's 14.7 ms
    # and the Travelstar 7K320's 20 ms (read, typical). 7200 rpm: 8.33 ms a
    # revolution, 4.17 ms average latency. Media rate 150 MB/s outer to
    # 75 MB/s inner: an assumption for a 500 GB-per-platter 7200 rpm disk;
    # the 2:1 ratio is the Deskstar 7K500 specification's zone 0 / zone 29
    # (76.3 and 36.5 MB/s instantaneous). Read-ahead segment 1 MiB and
    # 8 MiB kept for reads of the same data (assumptions: the 7K1000.C has
    # a 32 MiB buffer, which the firmware splits into segments and shares
    # with the write cache), interface 300 MB/s (SATA 3 Gb/s), command
    # overhead 0.3 ms (assumption; the IBM Travelstar 48GH specification
    # gives 1.0 ms for a drive of 2001), hidden for a queued command (NCQ)
    # and for a continuation.
    "hdd7200": Profile(
        "hdd7200", seek_track=1.0e-3, seek_avg=8.5e-3, seek_full=16.0e-3, rpm=7200,
        rate_outer=150 * MB, rate_inner=75 * MB, readahead=1 * MIB, cache=8 * MIB,
        interface_rate=300 * MB, overhead=0.3e-3, overhead_queued=False,
        overhead_sequential=False),
    # A 5400 rpm 2.5" laptop disk. Hitachi Travelstar 5K320 SATA OEM
    # specification, "Mechanical positioning": average seek 12 ms, full
    # stroke 20 ms, single track 1.0 ms (read, typical), 5400 rpm: 11.1 ms a
    # revolution, 5.5 ms average latency. Media rate 80 MB/s outer to
    # 40 MB/s inner: an assumption for a 160 GB-per-platter 5400 rpm disk,
    # with the same 2:1 ratio as above. Read-ahead, cache, interface and
    # overhead as hdd7200 (assumptions; the 5K320 has an 8 MiB buffer, so
    # 4 MiB kept).
    "hdd5400": Profile(
        "hdd5400", seek_track=1.0e-3, seek_avg=12.0e-3, seek_full=20.0e-3, rpm=5400,
        rate_outer=80 * MB, rate_inner=40 * MB, readahead=1 * MIB, cache=4 * MIB,
        interface_rate=300 * MB, overhead=0.3e-3, overhead_queued=False,
        overhead_sequential=False),
    # A 16x DVD-ROM drive, CAV. 1x is 1.385 MB/s and the data zone runs from
    # 24 mm to 58 mm radius (ECMA-267, the DVD-ROM standard), so 16x at the
    # outer edge is 22.2 MB/s and 16 * 24 / 58 = 6.6x, 9.2 MB/s, at the
    # inner edge, where LBA 0 is. The capacity is a single-layer disc's,
    # 2,295,104 sectors of 2048 bytes (4.7 GB): a smaller image sits on its
    # inner part, as a burnt disc's data does. Spindle: 16x at 58 mm with
    # ECMA-267's 3.49 m/s at 1x is 153 revolutions a second (9190 rpm),
    # 3.3 ms average latency. Random access about 100 ms, the figure drive
    # makers give for 16x DVD-ROM drives (and issue 14): the average seek
    # (at a third of the stroke) is 95 ms so that with the rotation an
    # average access is about 100 ms. Full stroke 150 ms and the shortest
    # jump 2 ms (the pickup's fine actuator, without moving the sled): both
    # assumptions. Seeks go by the distance on the disc: a small image on
    # the inner part seeks over a fraction of the stroke, fast. Read-ahead 512 KiB and 512 KiB kept (assumptions: a
    # DVD-ROM drive's buffer of 512 KiB), interface 33 MB/s (UDMA/33,
    # assumption), overhead 0.5 ms a command (assumption; ATAPI has no
    # command queueing, so only a continuation goes without).
    "dvd": Profile(
        "dvd", seek_track=2.0e-3, seek_avg=95.0e-3, seek_full=150.0e-3,
        rpm=60.0 * 16 * 3.49 / (2 * math.pi * 0.058),
        rate_outer=16 * 1.385 * MB, rate_inner=16 * 1.385 * MB * 24 / 58,
        inner_first=True, capacity=2295104 * 2048, readahead=512 * 1024, cache=512 * 1024,
        interface_rate=33 * MB, overhead=0.5e-3, overhead_sequential=False,
        read_only=True),
    # A USB 2 flash stick or SD card in a USB 2 reader: no seek, no rotation.
    # 30 MB/s read: an assumption under USB 2's practical bulk-transfer
    # ceiling of about 35 to 40 MB/s (480 Mbit/s less the protocol); 10 MB/s
    # write: an assumption for a stick's flash. 1 ms a request: an
    # assumption, the USB mass-storage bulk-only transport's command and
    # status phases plus the stick's controller (sticks commonly read 4 KiB
    # at random at 3 to 5 MB/s, about 1 ms a read). Paid by every request:
    # the bulk-only transport has no queueing.
    "usb2": Profile(
        "usb2", rate_outer=30 * MB, write_rate=10 * MB, overhead=1.0e-3),
}

# A request's cost, in seconds (scaled), and where it went.
Charge = collections.namedtuple(
    "Charge", "start end wait overhead seek rotation transfer hit")


class Model:
    """One device's state and the cost of each request given to it.

    submit() takes the request's arrival on the caller's clock (seconds) and
    returns its Charge: when the device starts it (its arrival or when the
    device became free, whichever is later), when it is done, and the
    parts. Times inside are the device's own: the caller's clock divided by
    scale, so that a scaled device is the same device, slower.
    """

    READ, WRITE = "read", "write"

    def __init__(self, profile, size, scale=1.0, capacity=None):
        if scale <= 0:
            raise ValueError("scale must be positive")
        self.p = profile
        self.scale = float(scale)
        cap = capacity or profile.capacity or size
        self.capacity = max(cap, size, 1)
        self.k = profile.rate_inner / profile.rate_outer
        self.free_at = None      # when the device became free (caller's clock)
        self.end = 0             # the byte after the last access: the head
        self.positioned = False  # the head is at end (not parked at power on)
        self.after_read = False  # the last access read, so the drive reads ahead
        self.ahead = 0.0         # bytes read ahead beyond end when it became free
        self.cache = collections.deque()  # (start, end) extents in the drive's cache

    # Geometry: radius as a fraction of the outer radius, for a byte offset.
    def radius(self, offset):
        f = min(max(offset / self.capacity, 0.0), 1.0)
        k2 = self.k * self.k
        if self.p.inner_first:
            return math.sqrt(k2 + f * (1.0 - k2))
        return math.sqrt(1.0 - f * (1.0 - k2))

    def rate(self, offset, write=False):
        """The media rate (bytes/s) at offset."""
        if write and self.p.write_rate:
            return self.p.write_rate
        return self.p.rate_outer * self.radius(offset)

    def track_bytes(self, offset):
        """Bytes that pass under the head in one revolution at offset."""
        return self.rate(offset) * self.p.revolution

    def stroke(self, a, b):
        """The seek distance from offset a to offset b, as a fraction of the stroke."""
        if self.k >= 1.0:
            return 0.0
        return abs(self.radius(a) - self.radius(b)) / (1.0 - self.k)

    def seek_time(self, d):
        """The seek over d (a fraction of the full stroke, 0 to 1)."""
        p = self.p
        if p.seek_avg is None or d <= 0:
            return 0.0
        third = 1.0 / 3.0
        if d <= third:
            return p.seek_track + (p.seek_avg - p.seek_track) * math.sqrt(d / third)
        return p.seek_avg + (p.seek_full - p.seek_avg) * (min(d, 1.0) - third) / (1.0 - third)

    def cached(self, offset, length):
        """Whether [offset, offset + length) is in the drive's cache."""
        return any(a <= offset and offset + length <= b for a, b in self.cache)

    def remember(self, a, b):
        """Keep [a, b) in the drive's cache, dropping the oldest beyond its size."""
        if b <= a or self.p.cache <= 0:
            return
        self.cache.append((a, b))
        total = sum(y - x for x, y in self.cache)
        while total > self.p.cache and len(self.cache) > 1:
            x, y = self.cache.popleft()
            total -= y - x

    def submit(self, arrival, op, offset, length):
        p = self.p
        write = op == self.WRITE
        if self.free_at is None or arrival >= self.free_at:
            start = arrival
            queued = False
            gap = 0.0 if self.free_at is None else (arrival - self.free_at) / self.scale
        else:
            start = self.free_at
            queued = True
            gap = 0.0
        sequential = self.positioned and offset == self.end
        overhead = p.overhead
        if (queued and not p.overhead_queued) or (sequential and not p.overhead_sequential):
            overhead = 0.0
        seek = rotation = transfer = 0.0
        hit = False
        rate = self.rate(offset, write)
        if p.rpm is None:
            # Flash: no head, no cache.
            transfer = length / rate
        else:
            # passed: the bytes that went under the head since the last
            # request ended; after a read the drive buffered them, up to
            # its read-ahead segment, and then stopped reading.
            passed = self.ahead + gap * self.rate(self.end)
            buffered = min(passed, p.readahead) if self.after_read else 0.0
            skip = offset - self.end
            on_track = self.positioned and 0 <= skip < self.track_bytes(self.end)
            if not write and (
                    (skip >= 0 and offset + length <= self.end + buffered) or
                    self.cached(offset, length)):
                # In the drive's read-ahead buffer or its cache.
                hit = True
                transfer = length / p.interface_rate
            elif on_track and self.after_read and passed < p.readahead:
                # Still reading ahead: the head waits for offset to come
                # round, if it is not there yet, and reads on; what it has
                # buffered is not read again.
                transfer = max(0.0, offset + length - self.end - buffered) / rate
            elif on_track and not self.after_read and skip >= passed:
                # After a write, offset has not gone by yet on this track.
                transfer = (offset + length - self.end - passed) / rate
            else:
                if abs(skip) >= self.track_bytes(self.end):
                    seek = self.seek_time(self.stroke(self.end, offset))
                rotation = p.revolution / 2.0
                transfer = length / rate
            if not hit:
                # The read-ahead this request ended goes into the cache.
                self.remember(self.end, self.end + buffered)
                self.ahead = 0.0
            else:
                # The drive reads on while it serves the hit.
                new_end = max(self.end, offset + length)
                self.ahead = (max(0.0, self.end + buffered - new_end) +
                              (overhead + transfer) * self.rate(new_end))
            if not write:
                self.remember(offset, offset + length)
            else:
                # The drive's cache drops what a write overwrote.
                self.cache = collections.deque(
                    (a, b) for a, b in self.cache if b <= offset or a >= offset + length)
        cost = overhead + seek + rotation + transfer
        if not hit:
            self.after_read = not write
            self.end = offset + length
        elif offset + length > self.end:
            self.end = offset + length
        self.positioned = True
        s = self.scale
        self.free_at = start + cost * s
        return Charge(start, self.free_at, start - arrival, overhead * s, seek * s,
                      rotation * s, transfer * s, hit)

    def barrier(self, arrival):
        """A request that costs nothing but waits its turn (FLUSH, TRIM)."""
        start = arrival if self.free_at is None else max(arrival, self.free_at)
        self.free_at = start
        return Charge(start, start, start - arrival, 0.0, 0.0, 0.0, 0.0, False)


# --- NBD ---------------------------------------------------------------------

NBDMAGIC = 0x4E42444D41474943
IHAVEOPT = 0x49484156454F5054
REPLY_MAGIC = 0x3E889045565A9
REQUEST_MAGIC = 0x25609513
SIMPLE_REPLY_MAGIC = 0x67446698

FLAG_FIXED_NEWSTYLE = 1 << 0
FLAG_NO_ZEROES = 1 << 1

OPT_EXPORT_NAME, OPT_ABORT, OPT_INFO, OPT_GO = 1, 2, 6, 7
REP_ACK, REP_INFO = 1, 3
REP_ERR_UNSUP = (1 << 31) + 1
REP_ERR_INVALID = (1 << 31) + 3
REP_ERR_UNKNOWN = (1 << 31) + 6
INFO_EXPORT, INFO_BLOCK_SIZE = 0, 3

TF_HAS_FLAGS = 1 << 0
TF_READ_ONLY = 1 << 1
TF_SEND_FLUSH = 1 << 2
TF_SEND_FUA = 1 << 3
TF_ROTATIONAL = 1 << 4
TF_SEND_TRIM = 1 << 5
TF_SEND_WRITE_ZEROES = 1 << 6

CMD_READ, CMD_WRITE, CMD_DISC, CMD_FLUSH, CMD_TRIM = 0, 1, 2, 3, 4
CMD_WRITE_ZEROES = 6
CMD_NAMES = {CMD_READ: "read", CMD_WRITE: "write", CMD_DISC: "disc", CMD_FLUSH: "flush",
             CMD_TRIM: "trim", CMD_WRITE_ZEROES: "write-zeroes"}

EPERM, EIO, EINVAL, ENOSPC = 1, 5, 22, 28

MIN_BLOCK = 512
PREFERRED_BLOCK = 4096
MAX_REQUEST = 32 * MIB


class Closed(Exception):
    """The client went away or broke the protocol: drop the connection."""


def recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise Closed("connection closed")
        buf += chunk
    return bytes(buf)


class Server:
    def __init__(self, args, image_fd, size, model):
        self.args = args
        self.fd = image_fd
        self.size = size
        self.model = model
        self.read_only = args.read_only
        self.queue = queue.Queue()
        self.lock = threading.Lock()
        self.log = open(args.log, "a", buffering=1) if args.log else None
        self.stats = collections.Counter()
        self.times = collections.Counter()

    def flags(self):
        f = TF_HAS_FLAGS | TF_SEND_FLUSH
        if self.read_only:
            f |= TF_READ_ONLY
        else:
            f |= TF_SEND_FUA | TF_SEND_TRIM | TF_SEND_WRITE_ZEROES
        if self.model.p.rpm:
            f |= TF_ROTATIONAL
        return f

    # --- Negotiation ---

    def opt_reply(self, sock, opt, rep, data=b""):
        sock.sendall(struct.pack(">QIII", REPLY_MAGIC, opt, rep, len(data)) + data)

    def negotiate(self, sock):
        """The fixed newstyle handshake; True when transmission starts."""
        sock.sendall(struct.pack(">QQH", NBDMAGIC, IHAVEOPT,
                                 FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES))
        (cflags,) = struct.unpack(">I", recv_exact(sock, 4))
        if cflags & ~(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES):
            raise Closed("unknown client flags %#x" % cflags)
        no_zeroes = bool(cflags & FLAG_NO_ZEROES)
        while True:
            magic, opt, length = struct.unpack(">QII", recv_exact(sock, 16))
            if magic != IHAVEOPT:
                raise Closed("bad option magic %#x" % magic)
            if length > 65536:
                raise Closed("option %d too long (%d bytes)" % (opt, length))
            data = recv_exact(sock, length)
            if opt == OPT_EXPORT_NAME:
                if data.decode("utf-8", "replace") not in ("", self.args.name):
                    raise Closed("unknown export %r" % data)
                sock.sendall(struct.pack(">QH", self.size, self.flags()) +
                             (b"" if no_zeroes else bytes(124)))
                return True
            if opt == OPT_ABORT:
                self.opt_reply(sock, opt, REP_ACK)
                return False
            if opt in (OPT_INFO, OPT_GO):
                if len(data) < 6:
                    self.opt_reply(sock, opt, REP_ERR_INVALID)
                    continue
                (nlen,) = struct.unpack(">I", data[:4])
                if 4 + nlen + 2 > len(data):
                    self.opt_reply(sock, opt, REP_ERR_INVALID)
                    continue
                name = data[4:4 + nlen].decode("utf-8", "replace")
                (ninfo,) = struct.unpack(">H", data[4 + nlen:6 + nlen])
                if len(data) != 6 + nlen + 2 * ninfo:
                    self.opt_reply(sock, opt, REP_ERR_INVALID)
                    continue
                wanted = struct.unpack(">%dH" % ninfo, data[6 + nlen:])
                if name not in ("", self.args.name):
                    self.opt_reply(sock, opt, REP_ERR_UNKNOWN)
                    continue
                self.opt_reply(sock, opt, REP_INFO,
                               struct.pack(">HQH", INFO_EXPORT, self.size, self.flags()))
                if INFO_BLOCK_SIZE in wanted:
                    self.opt_reply(sock, opt, REP_INFO,
                                   struct.pack(">HIII", INFO_BLOCK_SIZE, MIN_BLOCK,
                                               PREFERRED_BLOCK, MAX_REQUEST))
                self.opt_reply(sock, opt, REP_ACK)
                if opt == OPT_GO:
                    return True
                continue
            self.opt_reply(sock, opt, REP_ERR_UNSUP)

    # --- Transmission ---

    def receive(self, sock):
        """Read requests as they come and queue them for the device."""
        try:
            if not self.negotiate(sock):
                sock.close()
                return
            while True:
                hdr = recv_exact(sock, 28)
                magic, cflags, typ, handle, offset, length = struct.unpack(">IHHQQI", hdr)
                if magic != REQUEST_MAGIC:
                    raise Closed("bad request magic %#x" % magic)
                payload = None
                if typ == CMD_WRITE:
                    if length > MAX_REQUEST:
                        raise Closed("write of %d bytes is over the maximum" % length)
                    payload = recv_exact(sock, length)
                self.queue.put((sock, time.monotonic(), typ, handle, offset, length, payload))
                if typ == CMD_DISC:
                    return
        except (Closed, OSError) as e:
            if self.args.verbose:
                print("seekdisk: connection: %s" % e, file=sys.stderr)
            # Whatever is queued for this connection is still served (its
            # replies fail quietly); then the device closes it.
            self.queue.put((sock, time.monotonic(), CMD_DISC, 0, 0, 0, None))

    def device(self):
        """The device: one request at a time, in arrival order."""
        while True:
            sock, arrival, typ, handle, offset, length, payload = self.queue.get()
            if typ == CMD_DISC:
                try:
                    sock.close()
                except OSError:
                    pass
                continue
            error, data, charge = self.serve(arrival, typ, offset, length, payload)
            delay = charge.end - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            reply = struct.pack(">IIQ", SIMPLE_REPLY_MAGIC, error, handle)
            try:
                sock.sendall(reply + data if data and not error else reply)
            except OSError:
                pass

    def serve(self, arrival, typ, offset, length, payload):
        """Do the request on the image; returns (error, data, charge)."""
        m = self.model
        data = b""
        with self.lock:
            if typ in (CMD_READ, CMD_WRITE, CMD_WRITE_ZEROES, CMD_TRIM):
                write = typ != CMD_READ
                if write and self.read_only:
                    return EPERM, b"", m.barrier(arrival)
                if length > MAX_REQUEST:
                    return EINVAL, b"", m.barrier(arrival)
                if offset + length > self.size:
                    return (ENOSPC if write else EINVAL), b"", m.barrier(arrival)
            if typ == CMD_READ:
                charge = m.submit(arrival, Model.READ, offset, length)
                try:
                    data = os.pread(self.fd, length, offset)
                except OSError:
                    return EIO, b"", charge
                if len(data) < length:
                    data += bytes(length - len(data))
                self.count("read", length, charge)
            elif typ in (CMD_WRITE, CMD_WRITE_ZEROES):
                charge = m.submit(arrival, Model.WRITE, offset, length)
                try:
                    if typ == CMD_WRITE:
                        os.pwrite(self.fd, payload, offset)
                    else:
                        done = 0
                        while done < length:
                            n = min(length - done, MIB)
                            os.pwrite(self.fd, bytes(n), offset + done)
                            done += n
                except OSError:
                    return EIO, b"", charge
                self.count("write", length, charge)
            elif typ in (CMD_FLUSH, CMD_TRIM):
                charge = m.barrier(arrival)
                self.count(CMD_NAMES[typ], 0, charge)
            else:
                return EINVAL, b"", m.barrier(arrival)
            if self.log:
                self.log.write("%.6f %.6f %.6f %s %d %d overhead=%.3f seek=%.3f rotation=%.3f "
                               "transfer=%.3f%s\n" % (
                                   arrival, charge.start, charge.end, CMD_NAMES[typ], offset,
                                   length, charge.overhead * 1e3, charge.seek * 1e3,
                                   charge.rotation * 1e3, charge.transfer * 1e3,
                                   " hit" if charge.hit else ""))
        return 0, data, charge

    def count(self, what, length, charge):
        self.stats["requests"] += 1
        self.stats[what + "s"] += 1
        if what in ("read", "write"):
            self.stats[what + "_bytes"] += length
        self.stats["hits"] += charge.hit
        for part in ("wait", "overhead", "seek", "rotation", "transfer"):
            self.times[part] += getattr(charge, part)
        self.times["busy"] += charge.end - charge.start

    def summary(self):
        with self.lock:
            s, t = self.stats, self.times
            return ("seekdisk: model=%s scale=%g requests=%d reads=%d writes=%d "
                    "read_bytes=%d write_bytes=%d hits=%d busy_s=%.3f seek_s=%.3f "
                    "rotation_s=%.3f transfer_s=%.3f overhead_s=%.3f wait_s=%.3f" % (
                        self.model.p.name, self.model.scale, s["requests"], s["reads"],
                        s["writes"], s["read_bytes"], s["write_bytes"], s["hits"], t["busy"],
                        t["seek"], t["rotation"], t["transfer"], t["overhead"], t["wait"]))

    def run(self, listener):
        threading.Thread(target=self.device, daemon=True).start()
        while True:
            sock, _ = listener.accept()
            threading.Thread(target=self.receive, args=(sock,), daemon=True).start()


class Stop(Exception):
    pass


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("image")
    ap.add_argument("--socket", required=True, help="the Unix socket to listen on")
    ap.add_argument("--model", required=True, choices=sorted(PROFILES))
    ap.add_argument("--scale", type=float, default=1.0,
                    help="multiply every modelled time by this (default 1)")
    ap.add_argument("--capacity", type=int, default=None,
                    help="the modelled medium's size in bytes (default: the model's, "
                         "else the image's)")
    ap.add_argument("--read-only", action="store_true",
                    help="refuse writes (implied by the dvd model)")
    ap.add_argument("--name", default="", help="the export's name besides \"\"")
    ap.add_argument("--log", help="append a line per request to this file")
    ap.add_argument("--summary", help="write the summary line here on exit")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    if not (args.scale > 0 and math.isfinite(args.scale)):
        ap.error("--scale must be a positive number, not %r" % args.scale)
    if args.capacity is not None and args.capacity <= 0:
        ap.error("--capacity must be positive")
    profile = PROFILES[args.model]
    args.read_only = args.read_only or profile.read_only
    try:
        fd = os.open(args.image, os.O_RDONLY if args.read_only else os.O_RDWR)
    except OSError as e:
        ap.error("cannot open %s: %s" % (args.image, e.strerror))
    size = os.fstat(fd).st_size
    if size == 0:
        ap.error("%s is empty" % args.image)
    server = Server(args, fd, size, Model(profile, size, args.scale, args.capacity))

    # Listen on a temporary name, then rename: the socket's path exists only
    # once it accepts connections.
    tmp = "%s.%d.tmp" % (args.socket, os.getpid())
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(tmp)
        listener.listen(8)
        os.rename(tmp, args.socket)
    except OSError as e:
        ap.error("cannot listen on %s: %s" % (args.socket, e.strerror))

    def stop(signum, frame):
        raise Stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.run(listener)
    except Stop:
        pass
    finally:
        line = server.summary()
        if args.summary:
            with open(args.summary, "w") as f:
                f.write(line + "\n")
        if args.verbose:
            print(line, file=sys.stderr)
        try:
            os.unlink(args.socket)
        except OSError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
