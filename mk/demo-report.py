#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""make demo's bookkeeping (called by mk/demo.sh).

  demo-report.py parse RUNDIR WALL QEMU_RC [MARKER_WALL]
      Read RUNDIR/result.log (the guest marker's "BOOTCACHE-DEMO: " lines,
      see mk/demo-guest.sh), write RUNDIR/run.json and print a one-line
      summary. Fails with a one-line reason when the guest reported no time.
      MARKER_WALL: seconds from QEMU's start to the marker's first line on
      the host; the host's time to multi-user is that less the guest's time
      from multi-user.target to the marker's start.
  demo-report.py throttle QMP_SOCKET DRIVE IOPS BPS
      Set DRIVE's throttling to IOPS requests/s and BPS bytes/s (0: no
      limit) through QEMU's QMP socket (block_set_io_throttle).
  demo-report.py history RUNDIR DEST
      Decode the history the guest sent on its result channel into DEST.
  demo-report.py report DEMODIR --profiles "hdd dvd" [--drive P=OPTS]
                 -o report.json
      The table per profile on stdout and everything as JSON.
"""

import argparse
import base64
import json
import os
import re
import socket
import statistics
import sys
import time

PREFIX = "BOOTCACHE-DEMO: "
PHASES = ("bound", "baseline", "replay")
PHASE_NAMES = {"bound": "unthrottled", "baseline": "baseline", "replay": "replay"}
MIB = 1 << 20


def result_lines(rundir):
    path = os.path.join(rundir, "result.log")
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return []
    out = []
    for line in text.replace("\r", "").split("\n"):
        i = line.find(PREFIX)
        if i >= 0:
            out.append(line[i + len(PREFIX):])
    return out


def parse_run(rundir, wall, qemu_rc, marker_wall=None):
    run = {
        "wall_s": round(float(wall), 2),
        "wall_multi_user_s": None,
        "qemu_status": int(qemu_rc),
        "multi_user_s": None,
        "analyze": None,
        "uptime_s": None,
        "cmdline": None,
        "disk": None,
        "disk_read_bytes": None,
        "system_state": None,
        "failed_units": [],
        "bootcache": {},
        "stats": {},
        "notes": [],
        "history_bytes": None,
        "stats_end": {},
        "stop_unit": None,
        "unit_logs": {},
        "saved": {},
        "initramfs_start": None,
        "initrd": None,
        "done": False,
    }
    for line in result_lines(rundir):
        key, _, rest = line.partition(" ")
        if key == "multi-user":
            secs, _, analyze = rest.partition(" ")
            try:
                run["multi_user_s"] = float(secs)
            except ValueError:
                pass
            run["analyze"] = analyze
        elif key == "uptime":
            run["uptime_s"] = float(rest)
        elif key == "cmdline":
            run["cmdline"] = rest
        elif key == "diskstat":
            fields = rest.split()
            if len(fields) >= 4:
                run["disk"] = fields[0]
                run["disk_read_bytes"] = int(fields[3]) * 512
                run["diskstat"] = [int(x) for x in fields[1:]]
        elif key == "system-state":
            run["system_state"] = rest
        elif key == "failed":
            run["failed_units"].append(rest)
        elif key == "blame":
            run.setdefault("blame", []).append(rest)
        elif key == "failed-log":
            unit, _, text = rest.partition(" ")
            run.setdefault("failed_logs", {}).setdefault(unit, []).append(text)
        elif key == "bootcache":
            name, _, value = rest.partition(" ")
            run["bootcache"][name] = value
        elif key in ("stat", "stat-end"):
            name, _, value = rest.partition(" ")
            try:
                value = int(value)
            except ValueError:
                pass
            run["stats" if key == "stat" else "stats_end"][name] = value
        elif key == "stop-unit":
            result, _, waited = rest.partition(" ")
            run["stop_unit"] = {"result": result, "waited_s": float(waited or 0)}
        elif key == "unit-log":
            unit, _, text = rest.partition(" ")
            run["unit_logs"].setdefault(unit, []).append(text)
        elif key == "saved":
            name, _, size = rest.partition(" ")
            run["saved"][name] = int(size) if size.isdigit() else size
        elif key == "note":
            run["notes"].append(rest)
        elif key == "history-begin":
            run["history_bytes"] = int(rest) if rest.isdigit() else None
        elif key == "done":
            run["done"] = True
    if marker_wall and run["multi_user_s"] is not None and run["uptime_s"] is not None:
        run["wall_multi_user_s"] = round(
            float(marker_wall) - max(0.0, run["uptime_s"] - run["multi_user_s"]), 2)
    run["initramfs_start"] = initramfs_start(rundir)
    try:
        with open(os.path.join(rundir, "throttle.log")) as f:
            for line in f:
                if line.startswith("loader-done "):
                    run["loader_done_s"] = float(line.split()[1])
    except (OSError, ValueError):
        pass
    try:
        with open(os.path.join(rundir, "initrd")) as f:
            run["initrd"] = f.read().split()[0]
    except (OSError, IndexError):
        pass
    with open(os.path.join(rundir, "run.json"), "w") as f:
        json.dump(run, f, indent=1)
    if run["multi_user_s"] is None:
        if not result_lines(rundir):
            raise SystemExit("the guest reported nothing (no multi-user.target, or the "
                             "marker unit did not run)")
        raise SystemExit("the guest reported no multi-user time")
    parts = ["multi-user %6.2f s" % run["multi_user_s"]]
    if run["wall_multi_user_s"] is not None:
        parts.append("(host: %5.1f s from power-on)" % run["wall_multi_user_s"])
    parts.append("(wall %5.1f s)" % run["wall_s"])
    if run["disk_read_bytes"] is not None:
        parts.append("read %.0f MiB" % (run["disk_read_bytes"] / MIB))
    if run["stats"].get("hit_bytes") is not None:
        parts.append("from cache %.0f MiB" % (run["stats"]["hit_bytes"] / MIB))
    if run["initramfs_start"]:
        parts.append("(started in the initramfs)")
    if run["stop_unit"]:
        parts.append("stop unit: %s after %.0f s" % (run["stop_unit"]["result"],
                                                      run["stop_unit"]["waited_s"]))
    if run["failed_units"]:
        parts.append("failed: " + ",".join(run["failed_units"]))
    if not run["done"]:
        parts.append("(no 'done' line)")
    print(" ".join(parts))


def initramfs_start(rundir):
    """The init-top script's `bootcache boot-start` line on the console, if
    it loaded the initramfs's playlist (/bootcache/playlist)."""
    try:
        with open(os.path.join(rundir, "console.log"), "rb") as f:
            text = f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return None
    for line in text.replace("\r", "").split("\n"):
        if re.search(r"bootcache: (added|started with) /bootcache/playlist", line):
            return line.strip()
    return None


def decode_history(rundir, dest):
    data, inside = [], False
    for line in result_lines(rundir):
        if line.startswith("history-begin"):
            inside, data = True, []
        elif line.startswith("history-end"):
            inside = False
            break
        elif inside and line.startswith("| "):
            data.append(line[2:].strip())
    if not data:
        return 1
    blob = base64.b64decode("".join(data))
    with open(dest, "wb") as f:
        f.write(blob)
    return 0


def set_throttle(path, drive, iops, bps):
    deadline = time.time() + 10
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            break
        except OSError:
            s.close()
            if time.time() > deadline:
                raise SystemExit("cannot connect to %s" % path)
            time.sleep(0.1)
    f = s.makefile("rw")

    def call(cmd, **args):
        f.write(json.dumps({"execute": cmd, "arguments": args} if args else
                           {"execute": cmd}) + "\n")
        f.flush()
        while True:
            line = f.readline()
            if not line:
                raise SystemExit("QMP closed the connection")
            msg = json.loads(line)
            if "return" in msg:
                return msg["return"]
            if "error" in msg:
                raise SystemExit("%s: %s" % (cmd, msg["error"].get("desc")))

    json.loads(f.readline())  # the greeting
    call("qmp_capabilities")
    call("block_set_io_throttle", device=drive, bps=int(bps), bps_rd=0, bps_wr=0,
         iops=int(iops), iops_rd=0, iops_wr=0)
    print("%s: iops %s, bps %s" % (drive, iops, bps))
    return 0


def derived(run):
    """The per-run figures of the table (None when unknown)."""
    s = run.get("stats", {})

    def get(name):
        v = s.get(name)
        return v if isinstance(v, int) else None

    hb, mb = get("hit_bytes"), get("miss_bytes")
    hit_ratio = None
    if hb is not None and mb is not None and hb + mb > 0:
        hit_ratio = hb / (hb + mb)
    pw = get("parked_wait_ns")
    ds = run.get("diskstat") or []
    return {
        # /sys/block/DEV/stat field 10: ms the device had I/O in flight.
        "disk_busy_s": ds[9] / 1000 if len(ds) > 9 else None,
        "multi_user_s": run.get("multi_user_s"),
        "wall_multi_user_s": run.get("wall_multi_user_s"),
        "disk_read_bytes": run.get("disk_read_bytes"),
        "readahead_bytes": get("readahead_bytes"),
        "hit_bytes": hb,
        "hit_ratio": hit_ratio,
        "cache_peak_bytes": get("cache_peak_bytes"),
        "parked_wait_s": pw / 1e9 if pw is not None else None,
    }


def agg(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "n": len(values)}


def load_phase(profdir, phase):
    runs = []
    i = 1
    while True:
        d = os.path.join(profdir, "%s-%d" % (phase, i))
        if not os.path.isdir(d):
            break
        p = os.path.join(d, "run.json")
        if os.path.exists(p):
            with open(p) as f:
                run = json.load(f)
            run["run"] = i
            runs.append(run)
        else:
            runs.append({"run": i, "failed": True})
        i += 1
    return runs


def fmt_time(a):
    if a is None:
        return "-"
    if a["n"] == 1:
        return "%.2f" % a["median"]
    return "%.2f [%.2f-%.2f]" % (a["median"], a["min"], a["max"])


def fmt_mib(a):
    return "-" if a is None else "%.1f" % (a["median"] / MIB)


def fmt_ratio(a):
    return "-" if a is None else "%.0f %%" % (100 * a["median"])


def fmt_s(a):
    return "-" if a is None else "%.2f" % a["median"]


def report(args):
    drives = dict(d.split("=", 1) for d in args.drive)
    out = {"runs_per_phase": None, "profiles": {}}
    for prof in args.profiles.split():
        profdir = os.path.join(args.demodir, prof)
        phases = {}
        for ph in PHASES:
            runs = load_phase(profdir, ph)
            if not runs:
                continue
            figs = [derived(r) for r in runs if not r.get("failed")]
            summary = {k: agg([f[k] for f in figs]) for k in
                       ("multi_user_s", "wall_multi_user_s", "disk_busy_s", "disk_read_bytes", "readahead_bytes", "hit_bytes",
                        "hit_ratio", "cache_peak_bytes", "parked_wait_s")}
            failed_units = sorted({u for r in runs for u in r.get("failed_units", [])})
            phases[ph] = {"runs": runs, "summary": summary, "failed_units": failed_units,
                          "failed_boots": sum(1 for r in runs if r.get("failed"))}
        med = {ph: (phases[ph]["summary"]["multi_user_s"] or {}).get("median")
               for ph in phases}
        b, r, u = med.get("baseline"), med.get("replay"), med.get("bound")
        speedup = b / r if b and r else None
        hmed = {ph: (phases[ph]["summary"]["wall_multi_user_s"] or {}).get("median")
                for ph in phases}
        hb, hr = hmed.get("baseline"), hmed.get("replay")
        speedup_host = hb / hr if hb and hr else None
        # The share of the I/O penalty removed means something only where
        # there is a penalty: more than the spread of the runs it comes from.
        def spread(ph):
            m = (phases.get(ph, {}).get("summary") or {}).get("multi_user_s") or {}
            return (m["max"] - m["min"]) if m else 0.0
        penalty = b - u if b and u is not None else None
        noise = max(spread("baseline"), spread("bound"))
        removed = (b - r) / penalty if r and penalty and penalty > noise else None
        out["profiles"][prof] = {
            "drive": drives.get(prof, ""),
            "phases": phases,
            "speedup": speedup,
            "speedup_host": speedup_host,
            "io_penalty_removed": removed,
            "io_penalty_s": penalty,
            "noise_s": noise,
        }

        print("\n%s  (%s)" % (prof, drives.get(prof) or "no throttling"))
        head = ("phase", "multi-user s: median [min-max]", "host s from power-on",
                "disk busy s", "disk read MiB", "read ahead MiB",
                "from cache MiB", "hit ratio", "peak cache MiB", "parked s")
        rows = [head]
        for ph in PHASES:
            if ph not in phases:
                continue
            s = phases[ph]["summary"]
            name = PHASE_NAMES[ph]
            if phases[ph]["failed_boots"]:
                name += " (%d failed)" % phases[ph]["failed_boots"]
            rows.append((name, fmt_time(s["multi_user_s"]), fmt_time(s["wall_multi_user_s"]),
                         fmt_s(s["disk_busy_s"]), fmt_mib(s["disk_read_bytes"]),
                         fmt_mib(s["readahead_bytes"]), fmt_mib(s["hit_bytes"]),
                         fmt_ratio(s["hit_ratio"]), fmt_mib(s["cache_peak_bytes"]),
                         fmt_s(s["parked_wait_s"])))
        widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
        for row in rows:
            print("  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                                   for i, (c, w) in enumerate(zip(row, widths))))
        rp = [r for r in phases.get("replay", {}).get("runs", []) if not r.get("failed")]
        if rp and prof != "dvd":
            n = sum(1 for r in rp if r.get("initramfs_start"))
            print("  replay boots whose cache started in the initramfs: %d of %d" % (n, len(rp)))
        cycle = {}
        for d in ("record", "replay-1"):
            try:
                with open(os.path.join(profdir, d, "cycle.txt")) as f:
                    cycle[d] = [l.rstrip("\n") for l in f if l.strip()]
            except FileNotFoundError:
                continue
            for l in cycle[d]:
                print("  after the %s boot: %s" % (d.replace("-1", " 1"), l))
        out["profiles"][prof]["cycle"] = cycle
        if "baseline" in phases:
            line = "  speedup (baseline / replay): %s;  I/O penalty removed " \
                   "((baseline - replay) / (baseline - unthrottled)): %s" % (
                       "%.2fx" % speedup if speedup else "-",
                       "%.0f %%" % (100 * removed) if removed is not None else
                       "n/a: the penalty (%.2f s) is within the runs' spread (%.2f s)" % (
                           penalty, noise) if penalty is not None else "-")
            print(line)
            if speedup_host:
                print("  on the host's clock from power-on (boot loader included): %.2fx" %
                      speedup_host)
        for ph in PHASES:
            if ph in phases and phases[ph]["failed_units"]:
                print("  failed units (%s): %s" % (PHASE_NAMES[ph],
                                                   " ".join(phases[ph]["failed_units"])))
    if args.o:
        with open(args.o, "w") as f:
            json.dump(out, f, indent=1)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("parse")
    p.add_argument("rundir")
    p.add_argument("wall")
    p.add_argument("rc")
    p.add_argument("marker_wall", nargs="?", default="")
    h = sub.add_parser("history")
    h.add_argument("rundir")
    h.add_argument("dest")
    t = sub.add_parser("throttle")
    t.add_argument("socket")
    t.add_argument("drive")
    t.add_argument("iops")
    t.add_argument("bps")
    r = sub.add_parser("report")
    r.add_argument("demodir")
    r.add_argument("--profiles", required=True)
    r.add_argument("--drive", action="append", default=[])
    r.add_argument("-o")
    a = ap.parse_args()
    if a.cmd == "parse":
        parse_run(a.rundir, a.wall, a.rc, a.marker_wall or None)
        return 0
    if a.cmd == "throttle":
        return set_throttle(a.socket, a.drive, a.iops, a.bps)
    if a.cmd == "history":
        return decode_history(a.rundir, a.dest)
    return report(a)


if __name__ == "__main__":
    sys.exit(main())
