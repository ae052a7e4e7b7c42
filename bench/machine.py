"""What the figures were measured on: they mean little without it."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _softhsm_version() -> str | None:
    try:
        out = subprocess.run(
            ["softhsm2-util", "--version"], capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


def describe() -> dict[str, object]:
    return {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "textual": _version("textual"),
        "pykcs11": _version("PyKCS11"),
        "cryptography": _version("cryptography"),
        "softhsm": _softhsm_version(),
        "tmux": _tmux_version(),
        "p11_kit": _p11_kit_version(),
    }


def _p11_kit_version() -> str | None:
    """p11-kit has no --version; ask the package manager (Debian), else pkg-config."""
    for argv in (
        ["dpkg-query", "-W", "-f=${Version}", "p11-kit"],
        ["pkg-config", "--modversion", "p11-kit-1"],
    ):
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    return None


def _tmux_version() -> str | None:
    try:
        out = subprocess.run(["tmux", "-V"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None
