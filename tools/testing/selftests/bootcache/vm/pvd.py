#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Write an ISO 9660 primary volume descriptor into a disk image.

Usage: pvd.py IMAGE DATE LABEL

Writes the 2048-byte primary volume descriptor at byte 32768 of IMAGE
(sector 16 of 2048 bytes), creating or extending IMAGE as needed, and the
volume descriptor set terminator after it. DATE is the volume creation date
and time as 16 digits (YYYYMMDDhhmmsscc); LABEL is the volume identifier (up
to 32 characters). Only the fields bootcache and blkid look at are filled
in: the test media are not file systems, only media with an identity.
"""

import struct
import sys


def pvd(date: str, label: str, blocks: int) -> bytes:
    if len(date) != 16 or not date.isdigit():
        raise SystemExit(f"pvd.py: DATE must be 16 digits, not {date!r}")
    if len(label) > 32:
        raise SystemExit(f"pvd.py: LABEL is longer than 32 characters: {label!r}")
    d = bytearray(2048)
    d[0] = 1  # primary volume descriptor
    d[1:6] = b"CD001"
    d[6] = 1  # version
    d[8:40] = b" " * 32  # system identifier
    d[40:72] = label.encode("ascii").ljust(32)
    d[80:88] = struct.pack("<I", blocks) + struct.pack(">I", blocks)
    d[120:124] = struct.pack("<H", 1) + struct.pack(">H", 1)  # volume set size
    d[124:128] = struct.pack("<H", 1) + struct.pack(">H", 1)  # sequence number
    d[128:132] = struct.pack("<H", 2048) + struct.pack(">H", 2048)  # block size
    d[813:829] = date.encode("ascii")  # creation
    d[829] = 0  # UTC
    d[830:846] = date.encode("ascii")  # modification
    d[847:863] = b"0" * 16  # expiration: none
    d[864:880] = b"0" * 16  # effective: none
    d[881] = 1  # file structure version
    return bytes(d)


def main() -> None:
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    image, date, label = sys.argv[1:]
    with open(image, "r+b" if _exists(image) else "w+b") as f:
        f.seek(0, 2)
        size = max(f.tell(), 32768 + 2 * 2048)
        f.seek(32768)
        f.write(pvd(date, label, size // 2048))
        term = bytearray(2048)
        term[0] = 255
        term[1:6] = b"CD001"
        term[6] = 1
        f.write(term)
        f.truncate(size)


def _exists(path: str) -> bool:
    try:
        with open(path, "rb"):
            return True
    except FileNotFoundError:
        return False


if __name__ == "__main__":
    main()
