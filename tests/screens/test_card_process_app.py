"""The app as `eonay` builds it: its card in a card process, PyKCS11 never in the app's process."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.softhsm

FLOW = textwrap.dedent(
    """
    import asyncio, json, sys
    from pathlib import Path
    from tests.safety import drive
    from tui.app import EonayApp
    from tui.commands.app import build_services
    from tui.core.settings import Settings
    from tui.sim.server import running_portal

    module, pin, holder = sys.argv[1:4]

    async def flow(app):
        async with app.run_test() as pilot:
            record = running.new_login()
            await drive.log_in(pilot, record.code, holder, pin)
            await drive.start_e_onay(pilot)
            await drive.sign_with(pilot, pin)
            await drive.done(pilot)
            card = app.ops._card.loaded()
            return type(card).__name__, card.pid

    with running_portal(log_level="error") as running:
        settings = Settings(portal_url=running.url, modules=(module,), language="en")
        app = EonayApp(build_services(settings), settings)
        card_type, card_pid = asyncio.run(flow(app))
        answered = [r.purpose for r in running.state.answered()]
    maps = Path("/proc/self/maps").read_text()
    print(json.dumps({
        "card": card_type,
        "card_pid_gone": not Path(f"/proc/{card_pid}").exists(),
        "answered": answered,
        "pykcs11": sorted(m for m in sys.modules if m.lower().startswith("pykcs11")),
        "mapped": [line.split()[-1] for line in maps.splitlines() if "softhsm" in line
                   or "_LowLevel" in line],
    }))
    """
)


def test_a_whole_flow_never_loads_pykcs11_or_the_driver_into_the_app(softhsm_card):
    holder = softhsm_card.holder("AYŞE GÜLŞEN ÇİFTÇİ", key_type="RSA-2048", usable=True)
    proc = subprocess.run(
        [sys.executable, "-c", FLOW, softhsm_card.module_path, softhsm_card.pin, holder.name],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["card"] == "CardProcessClient"
    assert report["answered"] == ["login", "e-onay"]
    assert report["pykcs11"] == [] and report["mapped"] == []
    assert report["card_pid_gone"]  # the app closed its card process on the way out
