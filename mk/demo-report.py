#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""make demo's bookkeeping (called by mk/demo.sh).

  demo-report.py parse RUNDIR WALL QEMU_RC [MARKER_WALL]
      Read RUNDIR/result.log (the guest marker's "BOOTCACHE-DEMO: " lines,
      see mk/demo-guest.sh), write RUNDIR/run.json and print a one-line
      summary. Fails with a one-line reason when the guest reported no time.
      MARKER_WALL: seconds from QEMU's start to the marker's first line on
      the host; the host's time to the target is that less the guest's time
      from the target to the marker's snapshot. Rerun it on a run directory
      to redo its run.json (older directories, whose marker sent
      "multi-user SECONDS ANALYZE", are read too).
  demo-report.py throttle QMP_SOCKET DRIVE IOPS BPS
      Set DRIVE's throttling to IOPS requests/s and BPS bytes/s (0: no
      limit) through QEMU's QMP socket (block_set_io_throttle).
  demo-report.py history RUNDIR DEST
      Decode the history the guest sent on its result channel into DEST.
  demo-report.py report DEMODIR --profiles "hdd dvd" [--drive P=OPTS]
                 [-o report.json] [--markdown report.md]
      The tables per profile on stdout, everything as JSON, the same tables
      and lines as Markdown (for the README). Per phase (bound, baseline,
      control, replay; DEMODIR/PROFILE/PHASE-N/run.json) the medians with
      [min-max] of the figures taken at the target; the penalty and the
      share of it removed against the bound and against the control (see
      DEFINITIONS); each of issue 14's targets, measured, met or missed;
      whether the record boot's history (PROFILE/history.info, `bootcache
      info`) ended at the target.
"""

import argparse
import base64
import json
import os
import re
import statistics
import sys

import qmp

PREFIX = "BOOTCACHE-DEMO: "
PHASES = ("bound", "baseline", "control", "replay")
PHASE_NAMES = {"bound": "bound", "baseline": "baseline", "control": "control",
               "replay": "replay"}
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


def host_steal(rundir):
    """The share of the host's CPU time that its own host took (steal) while
    the boot ran to its target, from host-cpu (mk/demo.sh: the host's
    /proc/stat steal and total at QEMU's start and at the marker's first
    line); None if unknown. This machine may itself be a virtual machine:
    steal there slows the emulated boot for reasons bootcache has no part
    in."""
    try:
        with open(os.path.join(rundir, "host-cpu")) as f:
            s0, t0, s1, t1 = (int(x) for x in f.read().split())
    except (OSError, ValueError):
        return None
    return round((s1 - s0) / (t1 - t0), 4) if t1 > t0 else None


def parse_run(rundir, wall, qemu_rc, marker_wall=None):
    run = {
        "wall_s": round(float(wall), 2),
        "wall_target_s": None,
        "qemu_status": int(qemu_rc),
        "target": None,
        "target_s": None,
        "analyze": None,
        "uptime_s": None,
        "snapshot_lag_s": None,
        "record_stop": None,
        "clk_tck": 100,
        "cpu": None,
        "cmdline": None,
        "disk": None,
        "disk_read_bytes": None,
        "diskstat": None,
        "system_state": None,
        "failed_units": [],
        "bootcache": {},
        "stats": {},
        "notes": [],
        "history_bytes": None,
        "stop_unit": None,
        "unit_logs": {},
        "saved": {},
        "session_end": None,
        "stats_end": {},
        "bootcache_end": {},
        "uptime_end_s": None,
        "diskstat_end": None,
        "initramfs_start": None,
        "recording_started_s": None,
        "initrd": None,
        "done": False,
    }
    for line in result_lines(rundir):
        key, _, rest = line.partition(" ")
        if key == "target":
            name, _, secs = rest.partition(" ")
            run["target"] = name
            try:
                run["target_s"] = float(secs)
            except ValueError:
                pass
        elif key == "multi-user":
            # The marker before the one-instant snapshot (older run
            # directories): "multi-user SECONDS ANALYZE".
            secs, _, analyze = rest.partition(" ")
            run["target"] = "multi-user.target"
            try:
                run["target_s"] = float(secs)
            except ValueError:
                pass
            run["analyze"] = analyze
        elif key == "analyze":
            run["analyze"] = rest
        elif key == "uptime":
            run["uptime_s"] = float(rest)
        elif key == "uptime-end":
            run["uptime_end_s"] = float(rest)
        elif key == "record-stop":
            run["record_stop"] = rest
        elif key == "clk-tck":
            run["clk_tck"] = int(rest) if rest.isdigit() else 100
        elif key == "cpu":
            run["cpu"] = [int(x) for x in rest.split() if x.isdigit()]
        elif key == "cmdline":
            run["cmdline"] = rest
        elif key in ("diskstat", "diskstat-end"):
            fields = rest.split()
            if len(fields) >= 4:
                vals = [int(x) for x in fields[1:] if x.isdigit()]
                if key == "diskstat":
                    run["disk"] = fields[0]
                    run["disk_read_bytes"] = vals[2] * 512
                    run["diskstat"] = vals
                else:
                    run["diskstat_end"] = vals
        elif key == "system-state":
            run["system_state"] = rest
        elif key == "failed":
            run["failed_units"].append(rest)
        elif key == "blame":
            run.setdefault("blame", []).append(rest)
        elif key == "failed-log":
            unit, _, text = rest.partition(" ")
            run.setdefault("failed_logs", {}).setdefault(unit, []).append(text)
        elif key in ("bootcache", "bootcache-end"):
            name, _, value = rest.partition(" ")
            run["bootcache" if key == "bootcache" else "bootcache_end"][name] = value
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
        elif key == "session-end":
            how, _, reason = rest.partition(" ")
            run["session_end"] = {"how": how, "reason": reason}
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
    # The older name of the time to the target, kept for readers of run.json.
    run["multi_user_s"] = run["target_s"]
    if run["target_s"] is not None and run["uptime_s"] is not None:
        run["snapshot_lag_s"] = round(run["uptime_s"] - run["target_s"], 3)
    if marker_wall and run["target_s"] is not None and run["uptime_s"] is not None:
        run["wall_target_s"] = round(
            float(marker_wall) - max(0.0, run["uptime_s"] - run["target_s"]), 2)
    run["wall_multi_user_s"] = run["wall_target_s"]
    run["initramfs_start"] = initramfs_start(rundir)
    run["recording_started_s"] = recording_started(rundir)
    run["recording_time_limit"] = any("bootcache: recording stopped at its time limit" in l
                                      for l in console_lines(rundir))
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
    run["host_steal_share"] = host_steal(rundir)
    with open(os.path.join(rundir, "run.json"), "w") as f:
        json.dump(run, f, indent=1)
    if run["target_s"] is None:
        if not result_lines(rundir):
            raise SystemExit("the guest reported nothing (the target not reached, or the "
                             "marker unit did not run)")
        raise SystemExit("the guest reported no time to its target")
    d = derived(run)
    parts = ["%s %6.2f s" % ((run["target"] or "target").replace(".target", ""),
                             run["target_s"])]
    if run["wall_target_s"] is not None:
        parts.append("(host: %5.1f s from power-on)" % run["wall_target_s"])
    parts.append("(wall %5.1f s)" % run["wall_s"])
    if run["disk_read_bytes"] is not None:
        parts.append("read %.1f MiB" % (run["disk_read_bytes"] / MIB))
    if d["hit_bytes"] is not None and d["readahead_bytes"]:
        parts.append("from cache %.1f MiB" % (d["hit_bytes"] / MIB))
    if d["hit_ratio_bytes"] is not None and d["hit_ratio_requests"] is not None and \
            d["readahead_bytes"]:
        parts.append("hits %.1f %% of bytes, %.1f %% of requests" % (
            100 * d["hit_ratio_bytes"], 100 * d["hit_ratio_requests"]))
    if run["initramfs_start"]:
        parts.append("(started in the initramfs)")
    if run["record_stop"] == "marker":
        parts.append("(recording stopped at the target)")
    if run["stop_unit"]:
        parts.append("stop unit: %s after %.1f s" % (run["stop_unit"]["result"],
                                                      run["stop_unit"]["waited_s"]))
    if d["cache_end_bytes"] not in (None, 0):
        parts.append("CACHE NOT FREED: %d bytes after the session" % d["cache_end_bytes"])
    if run["failed_units"]:
        parts.append("failed: " + ",".join(run["failed_units"]))
    if not run["done"]:
        parts.append("(no 'done' line)")
    print(" ".join(parts))


def console_lines(rundir):
    try:
        with open(os.path.join(rundir, "console.log"), "rb") as f:
            text = f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return []
    return text.replace("\r", "").split("\n")


def kernel_log_time(rundir, message, at_start=False):
    """The kernel log's time stamp (seconds since the kernel started) of the
    first console line whose message (after the stamp) matches the regular
    expression MESSAGE, or None. AT_START: the stamp must begin the line."""
    stamped = ("^" if at_start else "") + r"\[\s*([0-9]+\.[0-9]+)\] " + message
    for line in console_lines(rundir):
        m = re.search(stamped, line)
        if m:
            return float(m.group(1))
    return None


def recording_started(rundir):
    """When the kernel's session that recorded started, on the kernel log's
    clock (seconds since the kernel started): the history's timestamps count
    from there."""
    return kernel_log_time(rundir, r"bootcache: started: .*recording", at_start=True)


def initramfs_start(rundir):
    """The init-top script's `bootcache boot-start` line on the console, if
    it loaded the initramfs's playlist (/bootcache/playlist)."""
    for line in console_lines(rundir):
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
    try:
        call = qmp.connect(path)
        call("block_set_io_throttle", device=drive, bps=int(bps), bps_rd=0, bps_wr=0,
             iops=int(iops), iops_rd=0, iops_wr=0)
    except qmp.QmpError as e:
        raise SystemExit(str(e))
    print("%s: iops %s, bps %s" % (drive, iops, bps))
    return 0


def derived(run):
    """The per-run figures of the tables (None when unknown), all taken at
    the snapshot (the target) but cache_end_bytes (after the session)."""
    s = run.get("stats", {})
    e = run.get("stats_end", {})

    def get(name, d=s):
        v = d.get(name)
        return v if isinstance(v, int) else None

    def ratio(a, b):
        return a / (a + b) if a is not None and b is not None and a + b > 0 else None

    hb, mb, rb = get("hit_bytes"), get("miss_bytes"), get("readahead_bytes")
    rehit = get("rehit_bytes")
    pw = get("parked_wait_ns")
    ds = run.get("diskstat") or []
    # /proc/stat's cpu line: user nice system idle iowait irq softirq steal
    # guest guest_nice, in USER_HZ; guest time is inside user already. The
    # boot's CPU time: all but idle and iowait, summed over the vCPUs.
    cpu = run.get("cpu") or []
    cpu_s = None
    if len(cpu) >= 8:
        cpu_s = (cpu[0] + cpu[1] + cpu[2] + cpu[5] + cpu[6] + cpu[7]) / (run.get("clk_tck") or 100)
    cpu_ns = get("cpu_ns")
    cpu_max_ns = get("cpu_max_ns")
    unused = None
    if rb is not None and hb is not None:
        # hit_bytes counts a block served twice twice; rehit_bytes (where
        # the kernel keeps blocks read more than once) is that second count.
        unused = rb - (hb - (rehit or 0))
    return {
        "target_s": run.get("target_s", run.get("multi_user_s")),
        "wall_target_s": run.get("wall_target_s", run.get("wall_multi_user_s")),
        "snapshot_lag_s": run.get("snapshot_lag_s"),
        # /sys/block/DEV/stat field 1: reads completed; 10: ms the device
        # had I/O in flight.
        "disk_reads": ds[0] if ds else None,
        "disk_busy_s": ds[9] / 1000 if len(ds) > 9 else None,
        "disk_read_bytes": run.get("disk_read_bytes"),
        "guest_cpu_s": cpu_s,
        "playlist_bytes": get("playlist_bytes"),
        "readahead_bytes": rb,
        "hits": get("hits"),
        "misses": get("misses"),
        "hit_bytes": hb,
        "miss_bytes": mb,
        "hit_ratio_bytes": ratio(hb, mb),
        "hit_ratio_requests": ratio(get("hits"), get("misses")),
        "unused_readahead_bytes": unused,
        "rehit_bytes": rehit,
        "partial_miss_bytes": get("partial_miss_bytes"),
        "demand_bios": get("demand_bios"),
        "parked": get("parked"),
        "parked_timeouts": get("parked_timeouts"),
        "parked_wait_s": pw / 1e9 if pw is not None else None,
        "cache_peak_bytes": get("cache_peak_bytes"),
        "cache_end_bytes": get("cache_bytes", e),
        "bootcache_cpu_s": cpu_ns / 1e9 if cpu_ns is not None else None,
        "bootcache_cpu_share": (cpu_ns / 1e9 / cpu_s) if cpu_ns is not None and cpu_s else None,
        "bootcache_cpu_max_s": cpu_max_ns / 1e9 if cpu_max_ns is not None else None,
        "host_steal_share": run.get("host_steal_share"),
    }


FIGURES = ("target_s", "wall_target_s", "snapshot_lag_s", "disk_reads", "disk_busy_s",
           "disk_read_bytes", "guest_cpu_s", "playlist_bytes", "readahead_bytes", "hits",
           "misses", "hit_bytes", "miss_bytes", "hit_ratio_bytes", "hit_ratio_requests",
           "unused_readahead_bytes", "rehit_bytes", "partial_miss_bytes", "demand_bios",
           "parked", "parked_timeouts", "parked_wait_s", "cache_peak_bytes", "cache_end_bytes",
           "bootcache_cpu_s", "bootcache_cpu_share", "bootcache_cpu_max_s", "host_steal_share")


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
            # Its history's misses by kind (mk/miss-report.py --json).
            mp = os.path.join(d, "misses.json")
            if os.path.exists(mp):
                with open(mp) as f:
                    run["miss_kinds"] = json.load(f)
            runs.append(run)
        else:
            runs.append({"run": i, "failed": True})
        i += 1
    return runs


def med(a):
    return None if a is None else a["median"]


def spread(a):
    return 0.0 if a is None else a["max"] - a["min"]


def fmt_range(a, scale=1.0, digits=2, unit=""):
    if a is None:
        return "-"
    f = "%%.%df" % digits
    m = f % (a["median"] / scale) + unit
    if a["n"] == 1 or a["min"] == a["max"]:
        return m
    return "%s [%s-%s]" % (m, f % (a["min"] / scale), f % (a["max"] / scale))


def fmt_pct(v, digits=1):
    return "-" if v is None else ("%%.%df %%%%" % digits) % (100 * v)


# The targets for the share of the I/O penalty removed, by profile:
# at least 95 % on the DVD (dvd, dvd-seek), 90 % on a 7200 rpm disk (hdd, and the
# seek models hdd7200 and hdd5400 by their prefix).
PENALTY_TARGETS = {"dvd": 0.95, "hdd": 0.90}
HIT_TARGET = 0.98
CPU_TARGET = 0.01
# A recording that stops within this after the target stops "at the target".
HISTORY_SLACK_S = 2.0


def recording_stopped(rundir):
    """When a record-only session stopped recording, on the kernel log's
    clock: it is jettisoned (reason recorded) as recording stops."""
    return kernel_log_time(rundir, r"bootcache: jettisoned \(recorded\)")


def history_end(profdir):
    """The record boot's history against its target: when its last entry
    was (duration_ns from `bootcache info`, counted from the session's start
    on the kernel log's clock) and when the target was reached."""
    out = {"duration_s": None, "recording_started_s": None, "last_entry_s": None,
           "target_s": None, "after_target_s": None, "recording_stopped_s": None,
           "stopped_after_target_s": None}
    try:
        with open(os.path.join(profdir, "history.info")) as f:
            for line in f:
                if line.startswith("duration_ns:"):
                    out["duration_s"] = int(line.split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        pass
    # The record boot whose history made the playlist (history.from, where
    # the demo wrote it: the last of several hdd record boots).
    try:
        with open(os.path.join(profdir, "history.from")) as f:
            recdir = os.path.join(profdir, f.read().strip() or "record")
    except OSError:
        recdir = os.path.join(profdir, "record")
    try:
        with open(os.path.join(recdir, "run.json")) as f:
            rec = json.load(f)
        out["target_s"] = rec.get("target_s", rec.get("multi_user_s"))
        out["recording_started_s"] = rec.get("recording_started_s")
        if out["recording_started_s"] is None:
            out["recording_started_s"] = recording_started(recdir)
        out["record_stop"] = rec.get("record_stop")
        out["time_limit"] = rec.get("recording_time_limit")
        if out["time_limit"] is None:
            out["time_limit"] = any("bootcache: recording stopped at its time limit" in l
                                    for l in console_lines(recdir))
        out["stop_unit"] = rec.get("stop_unit")
        out["recording_stopped_s"] = recording_stopped(recdir)
        if None not in (out["recording_stopped_s"], out["target_s"]):
            out["stopped_after_target_s"] = round(out["recording_stopped_s"] -
                                                  out["target_s"], 3)
    except (OSError, ValueError):
        pass
    if None not in (out["duration_s"], out["recording_started_s"]):
        out["last_entry_s"] = round(out["recording_started_s"] + out["duration_s"], 3)
        if out["target_s"] is not None:
            out["after_target_s"] = round(out["last_entry_s"] - out["target_s"], 3)
    return out


def compare(phases):
    """The penalty and the shares removed, from the phases' medians."""
    m = {ph: med(phases[ph]["summary"]["target_s"]) if ph in phases else None
         for ph in PHASES}
    sp = {ph: spread(phases[ph]["summary"]["target_s"]) if ph in phases else 0.0
          for ph in PHASES}
    u, b, c, r = m["bound"], m["baseline"], m["control"], m["replay"]
    out = {"medians_s": m, "spreads_s": sp, "penalty_s": None, "replay_penalty_s": None,
           "removed_vs_bound": None, "removed_vs_control": None,
           "bootcache_unthrottled_s": None, "noise_s": None, "meaningful": None,
           "speedup": b / r if b and r else None}
    ns = [phases[ph]["summary"]["target_s"]["n"] for ph in PHASES
          if ph in phases and phases[ph]["summary"]["target_s"]]
    out["runs"] = min(ns) if ns else 0
    rs = (phases.get("replay") or {}).get("summary") or {}
    # A replay that read nothing ahead (no playlist, or its volume not
    # found) removes no penalty, whatever its time says.
    out["replay_cached"] = bool(med(rs.get("readahead_bytes")))
    if b is not None and u is not None:
        out["penalty_s"] = b - u
        out["noise_s"] = max(sp["baseline"], sp["bound"])
        # One run per phase gives no spread to judge the penalty against.
        out["meaningful"] = out["penalty_s"] > out["noise_s"] and out["runs"] >= 2
        if r is not None and out["penalty_s"] > 0:
            out["removed_vs_bound"] = (b - r) / out["penalty_s"]
            if c is not None:
                out["replay_penalty_s"] = r - c
                out["removed_vs_control"] = 1 - (r - c) / out["penalty_s"]
    if c is not None and u is not None:
        # What bootcache costs (+) or saves (-) with no I/O penalty: under
        # TCG mostly the emulator's CPU per request.
        out["bootcache_unthrottled_s"] = c - u
        out["unthrottled_noise_s"] = max(sp["control"], sp["bound"])
    return out


def targets(prof, phases, cmp, hist):
    """Each target of issue 14 with its measured value: (name, value, verdict)."""
    rows = []

    def verdict(ok):
        return "met" if ok else "MISSED"

    goal = None
    for name, g in PENALTY_TARGETS.items():
        if prof == name or prof.startswith(name):
            goal = g
    if goal is not None:
        for key, label in (("removed_vs_bound", "against the bound"),
                           ("removed_vs_control", "against the control")):
            v = cmp.get(key)
            if v is None:
                p = cmp.get("penalty_s")
                rows.append(("penalty removed %s >= %.0f %%" % (label, 100 * goal),
                             "no penalty: baseline - bound = %+.2f s" % p
                             if p is not None and p <= 0 else "-", "not measured"))
                continue
            if not cmp["replay_cached"]:
                note, verd = " (the replay read nothing ahead)", "not measured"
            elif cmp["runs"] < 2:
                note, verd = " (one run per phase: no spread to judge it by)", "not measured"
            elif not cmp["meaningful"]:
                note = " (the penalty, %.2f s, is within the runs' spread, %.2f s)" % (
                    cmp["penalty_s"], cmp["noise_s"])
                verd = verdict(False)
            else:
                note, verd = "", verdict(v >= goal)
            rows.append(("penalty removed %s >= %.0f %%" % (label, 100 * goal),
                         fmt_pct(v) + note, verd))
    rs = (phases.get("replay") or {}).get("summary")
    if rs:
        for key, label in (("hit_ratio_bytes", "bytes"), ("hit_ratio_requests", "requests")):
            a = rs.get(key)
            rows.append(("replay hit ratio by %s >= %.0f %%" % (label, 100 * HIT_TARGET),
                         fmt_pct(med(a)), "not measured" if a is None else
                         verdict(med(a) >= HIT_TARGET)))
    if cmp.get("bootcache_unthrottled_s") is not None:
        d, n = cmp["bootcache_unthrottled_s"], cmp["unthrottled_noise_s"]
        rows.append(("unthrottled: control no slower than bound beyond the spread",
                     "control - bound = %+.2f s (spread %.2f s)" % (d, n),
                     "not measured (one run per phase)" if cmp["runs"] < 2 else
                     verdict(d <= n)))
    runs = [r for ph in ("control", "replay") for r in (phases.get(ph) or {}).get("runs", [])
            if not r.get("failed")]
    figs = [derived(r) for r in runs]
    pk = [(f["cache_peak_bytes"], f["playlist_bytes"]) for f in figs
          if f["cache_peak_bytes"] is not None and f["playlist_bytes"] is not None]
    if pk:
        worst = max(p - q for p, q in pk)
        rows.append(("peak cache <= playlist (control and replay boots)",
                     "worst peak - playlist = %+.1f MiB" % (worst / MIB), verdict(worst <= 0)))
    ends = [f["cache_end_bytes"] for f in figs if f["cache_end_bytes"] is not None]
    if figs:
        rows.append(("cache_bytes = 0 after the session ended",
                     "max %d bytes over %d boots" % (max(ends), len(ends)) if ends else "-",
                     verdict(max(ends) == 0) if ends else "not measured"))
    if rs:
        a = rs.get("bootcache_cpu_share")
        rows.append(("bootcache's CPU < 1 % of the boot's (replay, stats/cpu_ns)",
                     fmt_pct(med(a), 2) if a else "-",
                     verdict(med(a) < CPU_TARGET) if a else
                     "not measured (no stats/cpu_ns in this kernel)"))
    if hist.get("after_target_s") is not None:
        # At the target: nothing recorded after it (beyond the slack), and
        # recording not stopped before it (by record_limit_ms); where the
        # kernel log says when recording stopped, that too within the slack.
        v, st = hist["after_target_s"], hist.get("stopped_after_target_s")
        ok = v <= HISTORY_SLACK_S and not hist.get("time_limit")
        if st is not None:
            ok = ok and -HISTORY_SLACK_S <= st <= HISTORY_SLACK_S
        rows.append(("record: recording stops at the target (within %.0f s)" % HISTORY_SLACK_S,
                     "last entry %+.2f s%s from the target%s" % (
                         v, "" if st is None else ", stopped %+.2f s" % st,
                         " (stopped at record_limit_ms)" if hist.get("time_limit") else ""),
                     verdict(ok)))
    return rows


COLUMNS = (
    # (header, figure, format)
    ("target s", "target_s", lambda a: fmt_range(a)),
    ("host s from power-on", "wall_target_s", lambda a: fmt_range(a)),
    ("disk reads", "disk_reads", lambda a: fmt_range(a, digits=0)),
    ("disk busy s", "disk_busy_s", lambda a: fmt_range(a)),
    ("disk read MiB", "disk_read_bytes", lambda a: fmt_range(a, MIB, 1)),
    ("guest CPU s", "guest_cpu_s", lambda a: fmt_range(a, digits=1)),
    ("read ahead MiB", "readahead_bytes", lambda a: fmt_range(a, MIB, 1)),
    ("from cache MiB", "hit_bytes", lambda a: fmt_range(a, MIB, 1)),
    ("hits % bytes", "hit_ratio_bytes", lambda a: "-" if a is None else fmt_range(a, 0.01, 1)),
    ("hits % requests", "hit_ratio_requests",
     lambda a: "-" if a is None else fmt_range(a, 0.01, 1)),
    ("parked s", "parked_wait_s", lambda a: fmt_range(a)),
)


def phase_rows(phases):
    rows = []
    for ph in PHASES:
        if ph not in phases:
            continue
        s = phases[ph]["summary"]
        name = PHASE_NAMES[ph]
        if phases[ph]["failed_boots"]:
            name += " (%d failed)" % phases[ph]["failed_boots"]
        rows.append([name] + [f(s[k]) for _, k, f in COLUMNS])
    return rows


# A boot during which the host took more than this share of its CPU is
# named in the report: its time says more about the host than about the boot.
STEAL_NOTE = 0.03


def steal_lines(phases):
    """The host's steal while the boots ran (see host_steal), per phase, and
    the boots above STEAL_NOTE; nothing where it was not recorded."""
    per, loud = [], []
    for ph in PHASES:
        if ph not in phases:
            continue
        runs = [r for r in phases[ph]["runs"] if not r.get("failed")]
        vals = [r.get("host_steal_share") for r in runs]
        if any(v is None for v in vals) or not vals:
            continue
        per.append("%s %s" % (PHASE_NAMES[ph], fmt_range(agg(vals), 0.01, 1, " %")))
        loud += ["%s %d (%.1f %%, %.2f s)" % (PHASE_NAMES[ph], r.get("run", 0), 100 * v,
                                             r.get("target_s") or 0.0)
                 for r, v in zip(runs, vals) if v > STEAL_NOTE]
    if not per:
        return []
    return ["the host's steal while the boots ran to the target: " + "; ".join(per) +
            ("; over %d %%: %s" % (100 * STEAL_NOTE, ", ".join(loud)) if loud else
             "; no boot over %d %%" % (100 * STEAL_NOTE))]


# mk/miss-report.py's kinds of miss: outside the playlist, partly outside,
# written first, read again after being served, after the cache's last hit,
# first read of a block the cache did not have.
MISS_KINDS = ("outside", "partial", "written", "reread", "late", "first")


def detail_lines(phases):
    """What the table has no room for: per phase with bootcache on."""
    lines = []
    for ph in ("control", "replay"):
        if ph not in phases:
            continue
        s = phases[ph]["summary"]

        def m(k, scale=1.0, digits=1, unit=""):
            a = s.get(k)
            return "-" if a is None else fmt_range(a, scale, digits, unit)
        miss_vol = [r for r in phases[ph]["runs"] if not r.get("failed") and
                    isinstance(r.get("stats", {}).get("missing_volume_bytes"), int) and
                    r["stats"]["missing_volume_bytes"] > 0]
        if miss_vol:
            lines.append("%s: in %d of %d boots the playlist's volume was not found "
                         "(missing_volume_bytes %.1f MiB): nothing was cached" % (
                             PHASE_NAMES[ph], len(miss_vol), len(phases[ph]["runs"]),
                             miss_vol[0]["stats"]["missing_volume_bytes"] / MIB))
        lines.append("%s: %s hits, %s misses; %s MiB hit, %s MiB missed" % (
            PHASE_NAMES[ph], m("hits", digits=0), m("misses", digits=0),
            m("hit_bytes", MIB), m("miss_bytes", MIB)))
        kinds = [r["miss_kinds"] for r in phases[ph]["runs"]
                 if not r.get("failed") and isinstance(r.get("miss_kinds"), dict)]
        if kinds:
            lines.append("%s: the misses in %d of its histories, by kind (mk/miss-report.py): %s" % (
                PHASE_NAMES[ph], len(kinds), ", ".join(
                    "%s %s" % (k, fmt_range(agg([x.get(k, [0, 0])[0] for x in kinds]), digits=0))
                    for k in MISS_KINDS)))
        lines.append("%s: %s parked reads (%s gave up), %s s parked in all" % (
            PHASE_NAMES[ph], m("parked", digits=0), m("parked_timeouts", digits=0),
            m("parked_wait_s", digits=2)))
        lines.append("%s: read ahead %s MiB of a %s MiB playlist, %s MiB of it never served%s" % (
            PHASE_NAMES[ph], m("readahead_bytes", MIB), m("playlist_bytes", MIB),
            m("unused_readahead_bytes", MIB),
            "" if s.get("rehit_bytes") is None else
            " (served twice: %s MiB, rehit_bytes)" % m("rehit_bytes", MIB)))
        lines.append("%s: peak cache %s MiB (playlist %s MiB); after the session: %s bytes" % (
            PHASE_NAMES[ph], m("cache_peak_bytes", MIB), m("playlist_bytes", MIB),
            m("cache_end_bytes", digits=0)))
        if s.get("partial_miss_bytes") is not None or s.get("demand_bios") is not None:
            lines.append("%s: partial_miss_bytes %s MiB, demand_bios %s" % (
                PHASE_NAMES[ph], m("partial_miss_bytes", MIB), m("demand_bios", digits=0)))
        if s.get("bootcache_cpu_s") is not None:
            lines.append("%s: bootcache CPU %s s (stats/cpu_ns) of the guest's %s s, %s%s" % (
                PHASE_NAMES[ph], m("bootcache_cpu_s", digits=3), m("guest_cpu_s"),
                m("bootcache_cpu_share", 0.01, 2, " %"),
                "; longest section %s s (cpu_max_ns)" % m("bootcache_cpu_max_s", digits=3)
                if s.get("bootcache_cpu_max_s") is not None else ""))
        else:
            lines.append("%s: bootcache CPU: not measured (no stats/cpu_ns in this kernel); "
                         "guest CPU %s s" % (PHASE_NAMES[ph], m("guest_cpu_s")))
    return lines


def comparison_lines(cmp):
    lines = []
    if cmp["penalty_s"] is None:
        return lines
    lines.append("I/O penalty: baseline - bound = %.2f s (the larger of their runs' spreads: "
                 "%.2f s%s)" % (cmp["penalty_s"], cmp["noise_s"],
                                "; one run per phase: no spread to judge it by"
                                if cmp["runs"] < 2 else "" if cmp["meaningful"] else
                                "; the penalty is within it: the shares below say little"))
    if cmp["removed_vs_bound"] is not None:
        lines.append("penalty removed against the bound: (baseline - replay) / "
                     "(baseline - bound) = %s" % fmt_pct(cmp["removed_vs_bound"]))
    if cmp["removed_vs_control"] is not None:
        lines.append("penalty removed against the control: 1 - (replay - control) / "
                     "(baseline - bound) = 1 - %s / %.2f = %s" % (
                         ("%.2f" if cmp["replay_penalty_s"] >= 0 else "(%.2f)") %
                         cmp["replay_penalty_s"], cmp["penalty_s"],
                         fmt_pct(cmp["removed_vs_control"])))
    if cmp.get("bootcache_unthrottled_s") is not None:
        lines.append("bootcache with no I/O penalty: control - bound = %+.2f s (spread "
                     "%.2f s; under TCG mostly emulator CPU per request)" % (
                         cmp["bootcache_unthrottled_s"], cmp["unthrottled_noise_s"]))
    if cmp["speedup"]:
        lines.append("speedup (baseline / replay): %.2fx" % cmp["speedup"])
    return lines


DEFINITIONS = (
    "Every figure of a boot is taken at one instant, when its target is reached "
    "(the marker's first act); medians with [min-max] over the runs. "
    "bound: unthrottled, bootcache off; baseline: throttled, bootcache off; "
    "control: the replay's medium, kernel and command line unthrottled, bootcache on; "
    "replay: throttled, bootcache on. The penalty without bootcache is baseline - bound, "
    "with it replay - control; the share removed against the bound is "
    "(baseline - replay) / (baseline - bound), against the control "
    "1 - (replay - control) / (baseline - bound), which does not count as I/O saved "
    "what bootcache saves or costs with no I/O penalty (control - bound).")


def text_table(rows, head, indent="  "):
    widths = [max(len(row[i]) for row in [head] + rows) for i in range(len(head))]
    out = []
    for row in [head] + rows:
        out.append(indent + "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                                      for i, (c, w) in enumerate(zip(row, widths))))
    return out


def md_table(rows, head):
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        out.append("| " + " | ".join(row) + " |")
    return out


def report(args):
    drives = dict(d.split("=", 1) for d in args.drive)
    out = {"runs_per_phase": None, "definitions": DEFINITIONS, "guest": args.guest,
           "profiles": {}}
    md = ["<!-- made by mk/demo-report.py report -->", "", DEFINITIONS, ""]
    print("\n" + DEFINITIONS)
    if args.guest:
        md += ["The guest: %s." % args.guest, ""]
        print("\nThe guest: %s." % args.guest)
    runs_per_phase = set()
    for prof in args.profiles.split():
        profdir = os.path.join(args.demodir, prof)
        phases = {}
        for ph in PHASES:
            runs = load_phase(profdir, ph)
            if not runs:
                continue
            runs_per_phase.add(len(runs))
            figs = [derived(r) for r in runs if not r.get("failed")]
            summary = {k: agg([f[k] for f in figs]) for k in FIGURES}
            failed_units = sorted({u for r in runs for u in r.get("failed_units", [])})
            phases[ph] = {"runs": runs, "summary": summary, "failed_units": failed_units,
                          "failed_boots": sum(1 for r in runs if r.get("failed"))}
        cmp = compare(phases)
        hist = history_end(profdir)
        tg = targets(prof, phases, cmp, hist)
        target_name = next((r.get("target") for ph in phases for r in phases[ph]["runs"]
                            if r.get("target")), "multi-user.target")
        out["profiles"][prof] = {
            "drive": drives.get(prof, ""),
            "target": target_name,
            "phases": phases,
            "comparison": cmp,
            "history": hist,
            "targets": [{"target": a, "measured": b, "verdict": c} for a, b, c in tg],
            # The figures the earlier reports had, under their names.
            "speedup": cmp["speedup"],
            "io_penalty_removed": cmp["removed_vs_bound"] if cmp["meaningful"] else None,
            "io_penalty_s": cmp["penalty_s"],
            "noise_s": cmp["noise_s"],
        }
        title = "%s  (%s; figures at %s)" % (prof, drives.get(prof) or "no throttling",
                                            target_name)
        head = ["phase"] + [h for h, _, _ in COLUMNS]
        rows = phase_rows(phases)
        print("\n" + title)
        print("\n".join(text_table(rows, head)))
        md += ["### %s" % title, ""] + md_table(rows, head) + [""]
        lag = agg([derived(r)["snapshot_lag_s"] for ph in phases for r in phases[ph]["runs"]
                   if not r.get("failed")])
        lines = []
        if lag:
            lines.append("the snapshot came %s s after the target (all boots)" %
                         fmt_range(lag))
        lines += steal_lines(phases)
        lines += detail_lines(phases) + comparison_lines(cmp)
        if hist.get("after_target_s") is not None:
            lines.append("record boot: the history's last entry is %+.2f s from the target "
                         "(%.2f s after the session started at %.2f s; target at %.2f s%s%s)" % (
                             hist["after_target_s"], hist["duration_s"],
                             hist["recording_started_s"], hist["target_s"],
                             "" if hist["recording_stopped_s"] is None else
                             "; recording stopped at %.2f s" % hist["recording_stopped_s"],
                             "; recording stopped at its time limit (record_limit_ms) "
                             "before the target" if hist.get("time_limit") else
                             "; the marker stopped recording" if hist.get("record_stop") ==
                             "marker" else "; bootcache-stop.service stopped recording"
                             if hist.get("stop_unit") else ""))
        rp = [r for r in phases.get("replay", {}).get("runs", []) if not r.get("failed")]
        if rp and not prof.startswith("dvd"):
            n = sum(1 for r in rp if r.get("initramfs_start"))
            lines.append("replay boots whose cache started in the initramfs: %d of %d" % (
                n, len(rp)))
        su = [r["stop_unit"] for ph in phases for r in phases[ph]["runs"] if r.get("stop_unit")]
        if su:
            lines.append("bootcache-stop.service: %s; the marker waited %.1f s at most" % (
                ", ".join(sorted({x["result"] for x in su})), max(x["waited_s"] for x in su)))
        cycle = {}
        recs = sorted((d for d in os.listdir(profdir) if d.startswith("record-")),
                      key=lambda d: int(d[7:]) if d[7:].isdigit() else 0)
        for d in ["record"] + recs + ["replay-1"]:
            try:
                with open(os.path.join(profdir, d, "cycle.txt")) as f:
                    cycle[d] = [l.rstrip("\n") for l in f if l.strip()]
            except FileNotFoundError:
                continue
            for l in cycle[d]:
                lines.append("after the %s boot: %s" % (d.replace("-", " "), l))
        out["profiles"][prof]["cycle"] = cycle
        for ph in PHASES:
            if ph in phases and phases[ph]["failed_units"]:
                lines.append("failed units (%s): %s" % (PHASE_NAMES[ph],
                                                        " ".join(phases[ph]["failed_units"])))
        for l in lines:
            print("  " + l)
        md += ["- " + l for l in lines] + [""]
        if tg:
            th = ["target (issue 14)", "measured", "verdict"]
            print("  targets:")
            print("\n".join(text_table([list(r) for r in tg], th, "    ")))
            md += md_table([list(r) for r in tg], th) + [""]
    out["runs_per_phase"] = max(runs_per_phase) if runs_per_phase else None
    if args.o:
        with open(args.o, "w") as f:
            json.dump(out, f, indent=1)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("\n".join(md) + "\n")
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
    r.add_argument("--guest", default="", help="the guest machine, as the report names it")
    r.add_argument("-o")
    r.add_argument("--markdown")
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
