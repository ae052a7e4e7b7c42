"""`bench.smaps` splits a process's RSS the way the kernel counts it."""

from __future__ import annotations

import os
import re
from pathlib import Path

from bench import smaps


def _vm_rss_mib() -> float:
    status = Path("/proc/self/status").read_text(encoding="utf-8")
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    assert match
    return int(match.group(1)) / 1024


def test_the_split_adds_up_to_the_rss_the_kernel_reports():
    summary = smaps.summary(os.getpid(), min_mib=0.0)
    rss = summary["rss_MiB"]
    parts = summary["file_clean_MiB"] + summary["file_dirty_MiB"] + summary["anonymous_MiB"]
    assert abs(parts - rss) < 0.05
    assert abs(rss - _vm_rss_mib()) < 2.0  # read a moment apart, by a growing process


def test_a_large_written_buffer_is_anonymous_and_dirty():
    before = smaps.summary(os.getpid())["anonymous_MiB"]
    buffer = bytearray(b"\x01" * (16 * 2**20))  # written, so every page is resident
    after = smaps.summary(os.getpid())["anonymous_MiB"]
    assert after - before > 15
    del buffer


def test_the_python_runtime_is_file_backed_and_mostly_clean():
    groups = smaps.breakdown(os.getpid())
    files = {Path(name).name: pages for name, pages in groups.items() if name.startswith("/")}
    libc = next(pages for name, pages in files.items() if name.startswith("libc.so"))
    assert libc.clean > libc.dirty > 0


HOLDER = """
import subprocess, sys, time
held = bytearray(b"\\x01" * (24 * 2**20))  # 24 MiB written: every page resident, private
if sys.argv[1:] == ["parent"]:
    subprocess.Popen([sys.executable, __file__])
    time.sleep(60)
else:
    print("up", flush=True)
    time.sleep(60)
"""


def test_the_tree_pss_counts_every_descendant_and_each_process_once(tmp_path):
    import subprocess
    import sys

    script = tmp_path / "holder.py"
    script.write_text(HOLDER, encoding="utf-8")
    parent = subprocess.Popen(
        [sys.executable, str(script), "parent"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None
        assert parent.stdout.readline().strip() == "up"  # the child holds its buffer
        total, each = smaps.tree_pss(parent.pid)
        assert set(each) == set(smaps.process_tree(parent.pid)) and len(each) == 2
        assert abs(total - sum(each.values())) < 1e-9
        assert all(mib > 24 for mib in each.values())  # each holds its own buffer
        rss_sum = sum(smaps.summary(p)["rss_MiB"] for p in each)
        assert total < rss_sum  # shared pages (libpython, libc) divided, not counted twice
    finally:
        for pid in smaps.process_tree(parent.pid)[::-1]:
            os.kill(pid, 9)
        parent.wait()


def test_the_split_carries_the_pss_the_rollup_reports():
    summary = smaps.summary(os.getpid(), min_mib=0.0)
    assert abs(summary["pss_MiB"] - smaps.pss_kib(os.getpid()) / 1024) < 2.0
    assert 0 < summary["pss_MiB"] <= summary["rss_MiB"]


def test_the_rss_fallback_reads_what_the_kernel_reports():
    assert abs(smaps.rss_kib(os.getpid()) / 1024 - _vm_rss_mib()) < 2.0
    (me,) = [m for m in smaps.tree_memory(os.getpid()) if m.pid == os.getpid()]
    assert me.counted_as == "pss"  # our own smaps_rollup is always readable
