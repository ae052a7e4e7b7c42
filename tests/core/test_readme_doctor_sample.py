"""The README's `eonay doctor` sample is what doctor prints, line for line and in its order.

Doctor is run as the sample says (English, `--module /usr/lib/libakisp11.so`, the
portal in the configuration file) on a machine made to match it: no such driver,
no pcscd socket, a portal name that never resolves (`.example` is reserved).
What differs from one machine to another (versions, the home directory, the
Python's path, the resolver's words) is set aside before the comparison.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
MODULE = "/usr/lib/libakisp11.so"
SOCKET = "/run/pcscd/pcscd.comm"


def readme_sample() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## When something is wrong: `eonay doctor`") :]
    match = re.search(r"```\n(✓ Python.*?)```", section, re.DOTALL)
    assert match is not None
    return match.group(1)


def normalised(text: str, home: str, socket: str) -> str:
    text = text.replace(home, "~").replace(socket, SOCKET)
    text = re.sub(r"(?m)^(✓ Python [\d.]+\n    ).*$", r"\1PYTHON", text)
    text = re.sub(r"\b\d+(\.\d+)+(\w*)\b", "N", text)  # versions
    return re.sub(r"cannot connect: .*", "cannot connect: …", text)


def test_the_readme_doctor_sample_matches_doctors_output(tmp_path):
    if Path(MODULE).exists():
        pytest.skip(f"{MODULE} is installed here: the sample is of a machine without it")
    home = tmp_path / "home"
    config = home / ".config" / "eonay" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('[portal]\nurl = "https://portal.example/"\n')
    socket = str(tmp_path / "no-pcscd.comm")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EONAY_", "XDG_"))}
    env.update(HOME=str(home), PCSCLITE_CSOCK_NAME=socket, LANG="tr_TR.UTF-8")
    done = subprocess.run(
        [sys.executable, "-m", "tui", "--lang", "en", "doctor", "--module", MODULE],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 1
    sample = normalised(readme_sample(), "/home/ali", SOCKET)
    assert normalised(done.stdout, str(home), socket) == sample
