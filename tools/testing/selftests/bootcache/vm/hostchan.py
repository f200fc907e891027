#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# The host's side of the guest -> host action channel of vmtest.sh.
#
# The guest writes one request per line to a serial port (common.sh's
# bc_host), "TOKEN ACTION ARGS...", and this loop carries it out on QEMU's
# monitor (QMP) and answers "TOKEN ok [OUTPUT]" or "TOKEN error MESSAGE" on
# the same port. Actions:
#
#   eject DRIVE               open the tray and remove the medium (forced)
#   change DRIVE IMAGE        open the tray (forced) and insert IMAGE (a file
#                             name in the work directory, read-only) into DRIVE
#   device_del ID             hot-unplug a device and wait until the guest
#                             let it go (up to 60 s)
#   device_add ID             plug a device removed by device_del back, with
#                             the drive and device options it was made with
#   ANY HMP COMMAND           e.g. "info block": passed to the human monitor;
#                             ok when it prints nothing or for "info"
#
# usage: hostchan.py QMP_SOCKET CHANNEL_SOCKET WORKDIR LOG [--hotplug ID=DRIVE|DEVICE]...

import json
import os
import re
import socket
import sys
import time

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def connect(path, deadline):
    while True:
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            return s
        except OSError:
            s.close()
            if time.time() > deadline:
                raise
            time.sleep(0.1)


class Qmp:
    def __init__(self, path):
        self.sock = connect(path, time.time() + 30)
        self.file = self.sock.makefile("rw", encoding="utf-8", newline="\n")
        json.loads(self.file.readline())  # the greeting
        self.cmd("qmp_capabilities")

    def cmd(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.file.write(json.dumps(msg) + "\n")
        self.file.flush()
        while True:
            line = self.file.readline()
            if not line:
                raise EOFError("QMP closed")
            r = json.loads(line)
            if "event" in r:  # not waited for: device_del polls
                continue
            if "error" in r:
                return False, r["error"].get("desc", str(r["error"]))
            return True, r.get("return")

    def hmp(self, line):
        ok, out = self.cmd("human-monitor-command", **{"command-line": line})
        if not ok:
            return False, out
        return True, (out or "").strip()

    def gone(self, ident, timeout):
        """Waits until the device ident has left /machine/peripheral."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            ok, out = self.cmd("qom-list", path="/machine/peripheral")
            if ok and ident not in [p["name"] for p in out]:
                return True
            time.sleep(0.1)
        return False


def run(qmp, workdir, hotplug, words):
    act = words[0]
    if act == "eject" and len(words) == 2:
        return qmp.hmp("eject -f " + words[1])
    if act == "change" and len(words) == 3:
        if not NAME.match(words[2]) or not os.path.isfile(os.path.join(workdir, words[2])):
            return False, "no image %s in the work directory" % words[2]
        # The guest locks the tray while the drive is open (bootcache holds
        # it open): swap the disc as a user pressing the button would,
        # forcing the tray open first.
        ok, out = qmp.hmp("eject -f " + words[1])
        if not ok or out.startswith("Error"):
            return False, out
        return qmp.hmp("change %s %s raw read-only" % (words[1], os.path.join(workdir, words[2])))
    if act == "device_del" and len(words) == 2:
        ok, out = qmp.cmd("device_del", id=words[1])
        if not ok:
            return ok, out
        if not qmp.gone(words[1], 60):
            return False, "%s was not released by the guest within 60 s" % words[1]
        return True, ""
    if act == "device_add" and len(words) == 2:
        if words[1] not in hotplug:
            return False, "%s is not a hot-pluggable device of this VM" % words[1]
        drive, device = hotplug[words[1]]
        ok, out = qmp.hmp("drive_add 0 " + drive)
        # drive_add prints "OK" on success.
        if not ok or (out and out != "OK"):
            return False, "drive_add: " + out
        return qmp.hmp("device_add " + device)
    return qmp.hmp(" ".join(words))


def main():
    qmp_path, chan_path, workdir, log = sys.argv[1:5]
    hotplug = {}
    args = sys.argv[5:]
    while args:
        if args[0] == "--hotplug" and len(args) > 1:
            ident, spec = args[1].split("=", 1)
            drive, device = spec.split("|", 1)
            hotplug[ident] = (drive, device)
            args = args[2:]
        else:
            sys.exit("hostchan: bad argument " + args[0])
    logf = open(log, "a", buffering=1)
    qmp = Qmp(qmp_path)
    chan = connect(chan_path, time.time() + 30)
    rfile = chan.makefile("r", encoding="utf-8", errors="replace", newline="\n")
    for line in rfile:
        words = line.replace("\r", "").split()
        if len(words) < 2:
            continue
        token, words = words[0], words[1:]
        try:
            ok, out = run(qmp, workdir, hotplug, words)
            if ok and out and not words[0].startswith("info"):
                ok = False
        except (OSError, ValueError, EOFError) as e:
            ok, out = False, str(e)
        out = " | ".join(str(out).splitlines())
        reply = "%s %s%s\n" % (token, "ok" if ok else "error", " " + out if out else "")
        logf.write("%.3f %s -> %s" % (time.time(), " ".join(words), reply))
        chan.sendall(reply.encode())


if __name__ == "__main__":
    try:
        main()
    except (OSError, EOFError, KeyboardInterrupt):
        pass
