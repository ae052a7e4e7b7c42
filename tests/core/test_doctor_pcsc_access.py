"""`eonay doctor` when pcscd refuses the session (polkit's org.debian.pcsc-lite.access_pcsc).

No polkit runs here, and none can be made to refuse without root, so the
machine's side is a fake file-system root (a directory with the pcscd socket
and the policy file, or without them) and an environment, both parameters of
the check; the decision is a pure function of those facts and of pcsc-lite's
answer. Where the real parts can take part they do: the real OpenSC module
finding no reader, the real pcsc-lite client library answering
`SCardEstablishContext`, and node running the polkit rule doctor prints.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tui.core.settings import Settings
from tui.core.setup.doctor import CardFindings, Status, check_pcsc_access, probe_cards
from tui.core.setup.modules import ModuleCandidate, Source
from tui.core.setup.pcsc_access import (
    ACTIONS,
    POLICY_FILE,
    SCARD_E_NO_SERVICE,
    SCARD_S_SUCCESS,
    SCARD_W_SECURITY_VIOLATION,
    Certainty,
    SessionFacts,
    SessionKind,
    polkit_rule,
    refusal,
    session_facts,
    session_kind,
)

SSH = {"SSH_CONNECTION": "192.0.2.7 51000 192.0.2.1 22", "XDG_SESSION_ID": "4"}
DESKTOP = {"XDG_SESSION_ID": "2", "XDG_SESSION_TYPE": "wayland"}
OPENSC = ModuleCandidate(
    "/usr/lib/x86_64-linux-gnu/pkcs11/opensc-pkcs11.so", Source.WELL_KNOWN, "OpenSC", True
)
SOFTHSM = ModuleCandidate("/usr/lib/softhsm/libsofthsm2.so", Source.FLAG, "--module", True)


def machine(root: Path, *, pcscd: bool = True, policy: bool = True) -> Path:
    """A file-system root with pcscd's socket file and pcsc-lite's polkit policy, or not."""
    if pcscd:
        (root / "run/pcscd").mkdir(parents=True)
        (root / "run/pcscd/pcscd.comm").touch()
    if policy:
        path = root / POLICY_FILE.lstrip("/")
        path.parent.mkdir(parents=True)
        path.write_text("<policyconfig/>")
    return root


def test_the_session_kind_is_what_polkit_would_see(tmp_path: Path) -> None:
    assert session_kind(tmp_path, SSH) is SessionKind.SSH
    assert session_kind(tmp_path, {"SSH_TTY": "/dev/pts/3"}) is SessionKind.SSH
    assert session_kind(tmp_path, DESKTOP) is SessionKind.DESKTOP
    assert session_kind(tmp_path, {}) is SessionKind.SERVICE  # no login session: systemd, cron
    assert session_kind(tmp_path, {"container": "podman", **DESKTOP}) is SessionKind.CONTAINER
    (tmp_path / ".dockerenv").touch()
    assert session_kind(tmp_path, DESKTOP) is SessionKind.CONTAINER


def test_facts_come_from_the_root_and_the_environment(tmp_path: Path) -> None:
    assert session_facts(tmp_path, SSH) == SessionFacts(False, False, SessionKind.SSH)
    root = machine(tmp_path)
    assert session_facts(root, SSH) == SessionFacts(True, True, SessionKind.SSH)
    # pcsc-lite's own variable moves the socket, as it does for the client library
    moved = {**SSH, "PCSCLITE_CSOCK_NAME": "/srv/pcscd.sock"}
    assert not session_facts(root, moved).pcscd_socket
    (root / "srv").mkdir()
    (root / "srv/pcscd.sock").touch()
    assert session_facts(root, moved).pcscd_socket


def test_the_verdict() -> None:
    facts = SessionFacts(True, True, SessionKind.SSH)
    # pcsc-lite's "Access denied" settles it, whatever else is seen
    assert refusal(facts, SCARD_W_SECURITY_VIOLATION, False) is Certainty.REFUSED
    assert refusal(SessionFacts(False, False, SessionKind.DESKTOP), SCARD_W_SECURITY_VIOLATION,
                   True) is Certainty.REFUSED  # fmt: skip
    # no reader, and pcsc-lite did not let the session in, or was not asked
    assert refusal(facts, SCARD_E_NO_SERVICE, False) is Certainty.LIKELY
    assert refusal(facts, None, False) is Certainty.LIKELY
    for kind in (SessionKind.CONTAINER, SessionKind.SERVICE):
        assert refusal(SessionFacts(True, True, kind), None, False) is Certainty.LIKELY
    # anything that shows the session was let in, or that polkit cannot be the cause
    assert refusal(facts, SCARD_S_SUCCESS, False) is None
    assert refusal(facts, None, True) is None
    assert refusal(SessionFacts(True, True, SessionKind.DESKTOP), None, False) is None
    assert refusal(SessionFacts(False, True, SessionKind.SSH), None, False) is None
    assert refusal(SessionFacts(True, False, SessionKind.SSH), None, False) is None


def test_a_refusal_said_by_pcsc_lite_is_an_error_with_the_rule(tmp_path: Path) -> None:
    check = check_pcsc_access(
        [OPENSC], SSH, CardFindings(), root=machine(tmp_path),
        context=lambda: SCARD_W_SECURITY_VIOLATION, group=lambda: "kart",
    )  # fmt: skip
    assert check is not None and check.id == "pcsc-access"
    assert check.status is Status.ERROR and "Access denied" in check.detail
    assert "SSH" in check.detail
    assert polkit_rule("kart") in check.hint and "/etc/polkit-1/rules.d/" in check.hint


def test_no_reader_over_ssh_with_pcscd_running_is_a_likely_refusal(tmp_path: Path) -> None:
    check = check_pcsc_access(
        [OPENSC], SSH, CardFindings(), root=machine(tmp_path),
        context=lambda: None, group=lambda: "kart",
    )  # fmt: skip
    assert check is not None and check.status is Status.WARNING
    assert "probably" in check.title and polkit_rule("kart") in check.hint


def test_nothing_is_said_when_polkit_cannot_be_the_cause(tmp_path: Path) -> None:
    def asked(candidates: list[ModuleCandidate], environ: dict[str, str], root: Path,
              findings: CardFindings | None = None) -> object:  # fmt: skip
        return check_pcsc_access(
            candidates, environ, findings or CardFindings(), root=root,
            context=lambda: SCARD_E_NO_SERVICE, group=lambda: "kart",
        )  # fmt: skip

    root = machine(tmp_path / "m")
    assert asked([OPENSC], DESKTOP, root) is None
    assert asked([SOFTHSM], SSH, root) is None  # no module here uses pcscd
    assert asked([OPENSC], SSH, root, CardFindings(pcsc_readers=1)) is None
    assert asked([OPENSC], SSH, root, CardFindings(tokens_found=True)) is None
    assert asked([OPENSC], SSH, machine(tmp_path / "no-pcscd", pcscd=False)) is None
    assert asked([OPENSC], SSH, machine(tmp_path / "no-policy", policy=False)) is None


def test_real_opensc_finding_no_reader_over_ssh(tmp_path: Path) -> None:
    """OpenSC really finds no reader here (no pcscd answers); the facts say SSH and polkit."""
    if not Path(OPENSC.path).is_file():
        pytest.skip("OpenSC is needed")
    findings = probe_cards([OPENSC], Settings())
    assert findings.pcsc_readers == 0 and not findings.tokens_found
    check = check_pcsc_access([OPENSC], SSH, findings, root=machine(tmp_path))
    assert check is not None and check.status is Status.WARNING
    assert 'subject.isInGroup("' in check.hint


def test_pcsc_lite_answers_no_service_without_a_daemon(tmp_path: Path) -> None:
    """The real client library, in a process of its own (it reads its socket's name once)."""
    code = "from tui.core.setup.pcsc_access import establish_context; print(establish_context())"
    env = {**os.environ, "PCSCLITE_CSOCK_NAME": str(tmp_path / "no-pcscd.comm")}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=30
    )
    assert proc.returncode == 0, proc.stderr
    if proc.stdout.strip() == "None":
        pytest.skip("pcsc-lite's client library is not installed")
    assert int(proc.stdout) == SCARD_E_NO_SERVICE


NODE_POLKIT = """
const rules = [];
const polkit = {Result: {YES: "yes"}, addRule: (f) => rules.push(f)};
%s
const answer = (id, groups) => rules[0]({id}, {isInGroup: (g) => groups.includes(g)}) ?? null;
console.log(JSON.stringify([
  answer("org.debian.pcsc-lite.access_pcsc", ["kart"]),
  answer("org.debian.pcsc-lite.access_card", ["users", "kart"]),
  answer("org.debian.pcsc-lite.access_pcsc", ["users"]),
  answer("org.freedesktop.login1.reboot", ["kart"]),
]));
"""


def test_the_rule_is_javascript_that_allows_both_actions_for_the_group_only() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is needed to run the rule")
    rule = polkit_rule("kart")
    assert all(action in rule for action in ACTIONS)
    proc = subprocess.run(
        [node, "-e", NODE_POLKIT % rule], capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == ["yes", "yes", None, None]


def test_the_rule_is_printed_indented_under_its_fix(tmp_path: Path) -> None:
    import io

    from tui.commands.doctor import render
    from tui.core.setup.doctor import Report

    check = check_pcsc_access(
        [OPENSC], SSH, CardFindings(), root=machine(tmp_path),
        context=lambda: SCARD_W_SECURITY_VIOLATION, group=lambda: "kart",
    )  # fmt: skip
    assert check is not None
    report = Report()
    report.add(check)
    out = io.StringIO()
    render(report.to_json(), out)
    lines = out.getvalue().splitlines()
    start = next(i for i, line in enumerate(lines) if "polkit.addRule" in line)
    rule = polkit_rule("kart").splitlines()
    assert lines[start - 1 : start - 1 + len(rule)] == ["      " + line for line in rule]
