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
