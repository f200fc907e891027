# SPDX-License-Identifier: GPL-2.0
"""A minimal client of QEMU's QMP socket, for the demo's scripts."""

import json
import socket
import time


class QmpError(Exception):
    """No connection, a connection QEMU closed, or a command's error."""


def connect(path, deadline=10.0):
    """Connects to the QMP socket at PATH, waiting up to DEADLINE seconds
    for QEMU to make it, and leaves the capabilities negotiation. Returns
    call(COMMAND, **ARGUMENTS), which runs a command and returns what it
    returned (call.close() closes the connection); every failure raises
    QmpError."""
    end = time.time() + deadline
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            break
        except OSError:
            s.close()
            if time.time() > end:
                raise QmpError("cannot connect to %s" % path) from None
            time.sleep(0.05)
    f = s.makefile("rw")

    def call(cmd, **args):
        try:
            f.write(json.dumps({"execute": cmd, "arguments": args} if args else
                               {"execute": cmd}) + "\n")
            f.flush()
            while True:
                line = f.readline()
                if not line:
                    raise QmpError("QMP closed the connection")
                msg = json.loads(line)
                if "return" in msg:
                    return msg["return"]
                if "error" in msg:
                    raise QmpError("%s: %s" % (cmd, msg["error"].get("desc")))
        except OSError as e:
            raise QmpError("QMP: %s" % e) from None

    try:
        json.loads(f.readline())  # the greeting
    except (OSError, ValueError) as e:
        raise QmpError("QMP greeting: %s" % e) from None
    def close():
        f.close()
        s.close()

    call.close = close
    call("qmp_capabilities")
    return call
