"""`eonay --plain` end to end, as the issue's driver runs it: a real pty, the real
`eonay` process (its card in the card process), the real SoftHSM token and the simulator.

Every byte the process writes to the terminal is kept: not one ESC, and the PIN
never among them (it is typed with echo off). The driver answers as the issue
says: prompts are lines ending in ": ", a bare Enter takes the first usable
certificate and confirms E-Onay, the PIN is followed by Enter.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from pathlib import Path

import pexpect

PROMPT = rb": $"


class Transcript:
    """Everything the process wrote, read as it came."""

    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> None:
        self.data += data

    def flush(self) -> None:
        pass


def spawn(argv: list[str], env: dict[str, str], *, stderr: Path | None = None) -> pexpect.spawn:
    line = "exec " + shlex.join(argv)
    if stderr is not None:
        line += f" 2>{shlex.quote(str(stderr))}"
    child = pexpect.spawn("/bin/sh", ["-c", line], env=env, timeout=60, dimensions=(24, 80))
    child.logfile_read = Transcript()
    return child


def run_whole_flow(child: pexpect.spawn, code: str | None, pin: str, words: dict[str, bytes]):
    """Answer every prompt of a flow that ends with the receipt; returns the transcript."""
    transcript = child.logfile_read
    child.expect(words["step1"])
    if code is None:  # the demo says its code
        child.expect(words["code"] + rb": (\d{14}) ")
        code = child.match.group(1).decode()
    child.expect(words["code"] + PROMPT)
    child.sendline(code)
    child.expect(words["step2"])
    child.expect(PROMPT)
    child.sendline("")  # the first usable certificate
    child.expect(words["step3"])
    child.expect(words["pin"] + PROMPT)
    child.sendline(pin)
    child.expect(words["operations"] + rb" \[[^\]]+\]: $")
    child.sendline("")
    child.expect(words["continue"] + rb" \[[^\]]+\]: $")
    child.sendline("")
    child.expect(words["step5"])
    child.expect(words["pin"] + PROMPT)
    child.sendline(pin)
    child.expect(words["step6"])
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus, bytes(transcript.data)


TURKISH = {
    "step1": "Adım 1/6 · Doğrulama Kodu".encode(),
    "code": "Doğrulama Kodu".encode(),
    "step2": "Adım 2/6 · ".encode(),
    "step3": "Adım 3/6 · PIN".encode(),
    "pin": b"PIN Kodu",
    "operations": "E-ONAY İşlemleri".encode(),
    "continue": b"Devam Et",
    "step5": "Adım 5/6 · PIN".encode(),
    "step6": "Adım 6/6 · Tamamlandı".encode(),
}
ENGLISH = {
    "step1": "Step 1/6 · Verification code".encode(),
    "code": b"Verification code",
    "step2": "Step 2/6 · ".encode(),
    "step3": "Step 3/6 · PIN".encode(),
    "pin": b"PIN",
    "operations": b"E-ONAY Operations",
    "continue": b"Continue",
    "step5": "Step 5/6 · PIN".encode(),
    "step6": "Step 6/6 · Done".encode(),
}


def environment(tmp_path: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, "TERM": "xterm-256color", "XDG_STATE_HOME": str(tmp_path / "state")}
    for name in ("LANG", "LC_ALL", "LC_MESSAGES", "EONAY_LANG", "EONAY_UI_LANGUAGE", "NO_COLOR"):
        env.pop(name, None)
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")  # no configuration file of the machine's
    return {**env, **(extra or {})}


def test_the_demo_in_plain_mode_in_turkish(tmp_path):
    child = spawn([sys.executable, "-m", "tui", "demo", "--plain"], environment(tmp_path))
    status, transcript = run_whole_flow(child, None, pin_of_demo(child), TURKISH)
    assert status == 0
    assert b"\x1b" not in transcript
    assert "E-Onay'ınız artık etkin.".encode() in transcript
    banner = re.search(rb"PIN: (\d+)", transcript)
    assert banner is not None
    # The PIN is in the demo's banner once (it stands in for the card's envelope), never echoed.
    assert transcript.count(banner.group(1)) == 1
    assert re.search("Kalan süre: (5 dakika|4 dakika [0-9]+ saniye)\r\n".encode(), transcript)
    assert "--- İmzalanacak metnin başı ---".encode() in transcript


def pin_of_demo(child: pexpect.spawn) -> str:
    """The demo's banner line, read before the flow is driven (it comes with step 1)."""
    child.expect(rb"PIN: (\d+)\r\n")
    pin = child.match.group(1).decode()
    # Everything up to here was read already: put it back for the driver to see again.
    child.buffer = child.before + child.after + child.buffer
    return pin


def test_plain_mode_in_english_on_the_token_and_the_simulator(tmp_path, portal, demo_card):
    transcript = whole_run_on_the_token(tmp_path, portal, demo_card, "en", ENGLISH)
    assert b"Your E-Onay is now active." in transcript
    assert re.search(rb"Time left: (5 minutes|4 minutes [0-9]+ seconds)\r\n", transcript)
    text = b"--- Text to sign: start ---\r\n"
    assert transcript.count(text) == 2  # the login text and the E-Onay text, each between lines


def test_plain_mode_in_turkish_on_the_token_and_the_simulator(tmp_path, portal, demo_card):
    """No --lang: Turkish is the default."""
    transcript = whole_run_on_the_token(tmp_path, portal, demo_card, None, TURKISH)
    assert "E-Onay'ınız artık etkin.".encode() in transcript
    assert re.search("Kalan süre: (5 dakika|4 dakika [0-9]+ saniye)\r\n".encode(), transcript)
    text = "--- İmzalanacak metnin başı ---\r\n".encode()
    assert transcript.count(text) == 2


def whole_run_on_the_token(tmp_path, portal, demo_card, lang, words) -> bytes:
    """`eonay --plain` with the token's module and the simulator's URL, answered to the end:
    exit 0, not one ESC, the PIN never echoed."""
    code = portal.new_login().code
    argv = [
        *(sys.executable, "-m", "tui", "--plain", *(["--lang", lang] if lang else [])),
        *("--portal", portal.url, "--module", demo_card.module_path),
    ]
    child = spawn(argv, environment(tmp_path, demo_card.env))
    status, transcript = run_whole_flow(child, code, demo_card.pin, words)
    assert status == 0
    assert b"\x1b" not in transcript
    assert demo_card.pin.encode() not in transcript
    return transcript


def test_term_dumb_picks_plain_mode_without_textual_or_pykcs11(tmp_path, portal, demo_card):
    """No flag: TERM=dumb alone. The app's process imports neither Textual nor PyKCS11
    (`-X importtime` lists every module it imported; httpx shows the list is complete)."""
    imports = tmp_path / "imports.txt"
    argv = [
        *(sys.executable, "-X", "importtime", "-m", "tui", "--lang", "en"),
        *("--portal", portal.url, "--module", demo_card.module_path),
    ]
    env = environment(tmp_path, {**demo_card.env, "TERM": "dumb"})
    child = spawn(argv, env, stderr=imports)
    transcript = child.logfile_read
    child.expect("Step 1/6 · Verification code".encode())
    child.expect(b"Verification code: $")
    child.sendline(portal.new_login().code)
    child.expect(rb"Certificate number \(Enter: 1\): $")  # the card was read, in its process
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1  # the input ended before the receipt
    assert b"\x1b" not in bytes(transcript.data)
    modules = {
        line.split("|")[-1].strip()
        for line in imports.read_text().splitlines()
        if line.startswith("import time:")
    }
    assert "httpx" in modules and "tui.plain.terminal" in modules
    assert not {m for m in modules if m.split(".")[0] in ("textual", "PyKCS11")}


def test_sigterm_at_the_pin_prompt_gives_the_echo_back(tmp_path, portal, demo_card):
    """The PIN prompt turns echo off; a SIGTERM there ends eonay with the terminal as it was."""
    import signal
    import termios

    argv = [
        *(sys.executable, "-m", "tui", "--plain", "--lang", "en"),
        *("--portal", portal.url, "--module", demo_card.module_path),
    ]
    child = spawn(argv, environment(tmp_path, demo_card.env))
    child.expect(b"Verification code: $")
    child.sendline(portal.new_login().code)
    child.expect(rb"\(Enter: 1\): $")
    child.sendline("")
    child.expect(b"\r\nPIN: $")
    assert not termios.tcgetattr(child.child_fd)[3] & termios.ECHO  # the PIN is typed unseen
    child.send(demo_card.pin[:3])
    child.kill(signal.SIGTERM)
    child.expect(pexpect.EOF)
    attrs = termios.tcgetattr(child.child_fd)
    child.close()
    assert child.exitstatus == 128 + signal.SIGTERM
    assert attrs[3] & termios.ECHO and attrs[3] & termios.ICANON
    assert demo_card.pin[:3].encode() not in bytes(child.logfile_read.data)


def test_plain_mode_reads_its_answers_from_a_pipe_too(tmp_path, portal, demo_card):
    """No terminal at all (a script, a relay for a braille device): the same lines, in order."""
    import subprocess

    code = portal.new_login().code
    answers = f"{code}\n\n{demo_card.pin}\n\n\n{demo_card.pin}\n"
    argv = [
        *(sys.executable, "-m", "tui", "--plain", "--lang", "en"),
        *("--portal", portal.url, "--module", demo_card.module_path),
    ]
    done = subprocess.run(
        argv,
        input=answers.encode(),
        capture_output=True,
        env=environment(tmp_path, demo_card.env),
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    assert b"Your E-Onay is now active." in done.stdout
    assert b"\x1b" not in done.stdout
