"""Every screen at 80x24, in Turkish and English, and the PIN screen at three sizes, against
committed SVG snapshots.

Fixed values and a fake clock keep them identical from run to run; run
`pytest tests/screens/test_snapshots.py --snapshot-update` after a deliberate change
and look at the pictures (snapshot_report.html) before committing them.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.screens import values
from tests.screens.harness import ScreenHost, settle
from tui.core.card_info import PinState, PinTries
from tui.operations import CardView
from tui.screens.certificate_select import CertificateSelectScreen
from tui.screens.code_entry import CodeEntryScreen
from tui.screens.done import DoneScreen
from tui.screens.e_onay_confirm import EOnayConfirmScreen
from tui.screens.error import ErrorDialog
from tui.screens.final_try import FinalTryDialog
from tui.screens.help import HelpDialog
from tui.screens.pin_entry import PinEntryScreen
from tui.steps import Step

CLOCK = values.fake_clock()
MODULES = ["/usr/lib/libakisp11.so"]
DEMO = "DEMO · Doğrulama Kodu: 49586779463734 · PIN: 123456"


def never(*_args):
    raise AssertionError("a snapshot does not sign, submit or fetch")


def code_entry():
    return CodeEntryScreen(never, CLOCK)


def code_entry_demo():
    return CodeEntryScreen(never, CLOCK, banner=DEMO)


def certificates():
    tok = values.token()
    view = CardView(
        tokens=[tok],
        certificates=[
            values.certificate(),
            values.certificate(reason="expired", fingerprint="bb" * 32, key="EC P-256"),
        ],
        module_paths=MODULES,
    )
    return CertificateSelectScreen(
        lambda: view, lambda: MODULES, challenge=values.challenge(CLOCK), poll_interval=3600
    )


def no_card():
    view = CardView(tokens=[], certificates=[], module_paths=MODULES)
    return CertificateSelectScreen(lambda: view, lambda: MODULES, poll_interval=3600)


def pin_screen(purpose: str, state: PinState = values.NORMAL_PIN) -> Callable[[], PinEntryScreen]:
    def make():
        return PinEntryScreen(
            values.challenge(CLOCK, purpose=purpose),
            values.certificate(),
            sign=never,
            submit=never,
            pin_state=lambda: state,
            card_present=lambda: True,
            poll_interval=3600,
        )

    return make


def e_onay_confirm():
    return EOnayConfirmScreen(
        values.holder(), start=never, signed_at=values.CREATED.replace(second=50)
    )


def done():
    return DoneScreen(values.receipt())


SCREENS = {
    "code_entry": (code_entry, None),
    "code_entry_demo": (code_entry_demo, None),
    "certificate_select": (certificates, None),
    "no_card": (no_card, None),
    "pin_login": (pin_screen("login"), None),
    "pin_e_onay": (pin_screen("e-onay"), None),
    "pin_locked": (pin_screen("login", PinState(PinTries.LOCKED)), None),
    "final_try": (pin_screen("login", PinState(PinTries.FINAL)), FinalTryDialog),
    "e_onay_confirm": (e_onay_confirm, None),
    "done": (done, None),
    "help": (code_entry, lambda: HelpDialog(Step.CODE_ENTRY)),
    "error": (code_entry, lambda: ErrorDialog("E-4F2A9C", "~/.local/state/eonay/eonay.log")),
}


@pytest.mark.parametrize("language", ["tr", "en"])
@pytest.mark.parametrize("name", list(SCREENS))
def test_screen_snapshot(snap_compare, name, language):
    make, dialog = SCREENS[name]
    app = ScreenHost(make, language)

    async def ready(pilot):
        await settle(pilot)
        if dialog is not None:
            await app.push_screen(dialog())
            await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=ready)


@pytest.mark.parametrize("size", [(60, 20), (80, 24), (132, 43)], ids=["60x20", "80x24", "132x43"])
@pytest.mark.parametrize("purpose", ["login", "e-onay"])
def test_pin_screen_snapshot_at_three_sizes(snap_compare, purpose, size):
    """Laid out at the terminal's size: compact below 24 rows, the text wrapped in its box."""
    app = ScreenHost(pin_screen(purpose), "tr")
    assert snap_compare(app, terminal_size=size, run_before=settle)
