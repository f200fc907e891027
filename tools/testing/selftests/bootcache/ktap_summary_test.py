#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Host tests of ktap_summary.py: it must count results and catch failures."""

import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
KUNIT_OK = """[    0.1] Linux version 6.12
[    1.0] KTAP version 1
[    1.0] 1..1
[    1.0]     KTAP version 1
[    1.0]     # Subtest: rust_doctests_kernel
[    1.0]     1..3
[    1.1]     ok 1 rust_doctest_kernel_a
[    1.1] bootcache: unrelated kernel line
[    1.1]     ok 2 rust_doctest_kernel_b
[    1.1]     ok 3 rust_doctest_kernel_c # SKIP not here
[    1.2] ok 1 rust_doctests_kernel
"""
KSFT_OK = """TAP version 13
1..2
# timeout set to 120
# selftests: bootcache: test_a.sh
# TAP version 13
# 1..2
# ok 1 first
# ok 2 second
ok 1 selftests: bootcache: test_a.sh
# selftests: bootcache: test_b.sh
# TAP version 13
# 1..0 # SKIP no disk
ok 2 selftests: bootcache: test_b.sh # SKIP
"""


def run(console=None, kselftest=None, extra=()):
    with tempfile.TemporaryDirectory() as d:
        args = [sys.executable, os.path.join(HERE, "ktap_summary.py")]
        for name, text in (("--console", console), ("--kselftest", kselftest)):
            if text is not None:
                path = os.path.join(d, name.strip("-"))
                with open(path, "w") as f:
                    f.write(text)
                args += [name, path]
        counts = os.path.join(d, "counts")
        args += ["--counts", counts] + list(extra)
        p = subprocess.run(args, capture_output=True, text=True)
        with open(counts) as f:
            return p.returncode, tuple(int(x) for x in f.read().split()), p.stdout


class Summary(unittest.TestCase):
    def test_clean_run(self):
        rc, counts, _ = run(KUNIT_OK, KSFT_OK)
        self.assertEqual((rc, counts), (0, (4, 0, 2)))

    def test_failed_subtest_is_named(self):
        rc, counts, out = run(KUNIT_OK, KSFT_OK.replace("# ok 2 second", "# not ok 2 second"))
        self.assertEqual((rc, counts), (1, (3, 1, 2)))
        self.assertIn("selftests: bootcache: test_a.sh: second", out)

    def test_missing_results(self):
        cut = KSFT_OK[:KSFT_OK.index("# ok 2 second")]
        rc, counts, out = run(KUNIT_OK, cut)
        self.assertEqual(rc, 1)
        self.assertIn("planned results missing", out)

    def test_parent_fails_after_passing_subtests(self):
        text = KSFT_OK.replace("ok 1 selftests: bootcache: test_a.sh",
                               "not ok 1 selftests: bootcache: test_a.sh # exit=1")
        rc, counts, out = run(KUNIT_OK, text)
        self.assertEqual((rc, counts[1]), (1, 1))
        self.assertIn("failed after its subtests passed", out)

    def test_no_kunit_output(self):
        rc, counts, out = run("[    0.1] Linux version 6.12\n", KSFT_OK)
        self.assertEqual(rc, 1)
        self.assertIn("no KUnit results", out)

    def test_oops_in_log_fails(self):
        log = KUNIT_OK + "[    2.0] BUG: kernel NULL pointer dereference, address: 0\n"
        rc, counts, out = run(log, KSFT_OK)
        self.assertEqual((rc, counts), (1, (4, 1, 2)))
        self.assertIn("kernel log shows", out)

    def test_warning_in_log_fails(self):
        log = KUNIT_OK + "[    2.0] WARNING: CPU: 0 PID: 1 at block/blk-core.c:1 x\n"
        self.assertEqual(run(log, KSFT_OK)[0], 1)

    def test_debug_kernel_reports_fail(self):
        # What make vm-debug's checkers print (lockdep, PROVE_RCU,
        # DEBUG_ATOMIC_SLEEP, DEBUG_PREEMPT, KASAN, kmemleak, RCU stalls).
        for line in [
            "WARNING: possible circular locking dependency detected",
            "WARNING: suspicious RCU usage",
            "BUG: sleeping function called from invalid context at mm/slub.c:4120",
            "BUG: using smp_processor_id() in preemptible [00000000] code: sh/1",
            "BUG: KASAN: slab-use-after-free in bootcache_read+0x10/0x20",
            "kmemleak: 2 new suspected memory leaks (see /sys/kernel/debug/kmemleak)",
            "kmemleak report: unreferenced object 0xffff888003a1c000 (size 64):",
            "rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:",
            "rcu: INFO: rcu_preempt self-detected stall on CPU",
        ]:
            with self.subTest(line=line):
                rc, counts, out = run(KUNIT_OK + f"[    2.0] {line}\n", KSFT_OK)
                self.assertEqual((rc, counts[1]), (1, 1))
                self.assertIn("kernel log shows", out)

    def test_injected_fault_alone_is_clean(self):
        # Fault injection's own report is what a test asked for.
        log = KUNIT_OK + """[    2.0] FAULT_INJECTION: forcing a failure.
[    2.0] name failslab, interval 1, probability 0, space 0, times 1
[    2.0] CPU: 1 UID: 0 PID: 99 Comm: sh Not tainted 6.12.117 #1
[    2.0] Call Trace:
[    2.0]  <TASK>
[    2.0]  dump_stack_lvl+0x5d/0x80
[    2.0]  should_fail_ex+0x1a0/0x1d0
[    2.0]  </TASK>
[    2.1] sh: page allocation failure: order:0, mode:0x40cc0(GFP_KERNEL|__GFP_COMP), nodemask=(null)
"""
        self.assertEqual(run(log, KSFT_OK)[:2], (0, (4, 0, 2)))

    def test_extra_failure_and_guest_verdict(self):
        self.assertEqual(run(KUNIT_OK, KSFT_OK, ["--extra-failure", "hang"])[0], 1)
        rc, _, out = run(KUNIT_OK, KSFT_OK, ["--guest-verdict", "1"])
        self.assertEqual(rc, 1)
        self.assertIn("guest reported failure", out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
