"""Step → screen: the one table of the screens after the first, each imported when first shown.

The code-entry screen is the app's home and comes with the app. Every other
screen, dialogs too, is named here by its module and class and imported on
first use (with its stylesheet), so the first paint pays for none of them:
`tests/screens/test_lazy_screens.py` checks that importing the app loads none.
Each step's factory builds its screen from the flow's state and the app's
operations: the wiring of a step lives beside its entry in the table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from importlib import import_module
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

from textual.screen import Screen

from tui.steps import Step

if TYPE_CHECKING:
    from tui.app import EonayApp
    from tui.core.card_info import Signature
    from tui.flow import FlowState, Outcome
    from tui.screens.base import FlowScreen
    from tui.screens.certificate_select import CertificateSelectScreen
    from tui.screens.done import DoneScreen
    from tui.screens.e_onay_confirm import EOnayConfirmScreen
    from tui.screens.error import ErrorDialog
    from tui.screens.help import HelpDialog
    from tui.screens.pin_entry import PinEntryScreen

S = TypeVar("S", bound=Screen[Any])


@dataclass(frozen=True, slots=True)
class Deferred(Generic[S]):
    """A screen class named by its module, imported the first time it is needed."""

    module: str
    name: str

    def load(self) -> type[S]:
        screen: type[S] = getattr(import_module(self.module), self.name)
        return screen


@dataclass(frozen=True, slots=True)
class StepScreen(Generic[S]):
    """A step's screen and the factory that builds it for the flow's state."""

    screen: Deferred[S]
    build: Callable[[type[S], EonayApp, FlowState], S]

    def open(self, app: EonayApp, state: FlowState) -> S:
        return self.build(self.screen.load(), app, state)


# --- the dialogs the app opens itself -------------------------------------------

HELP: Final[Deferred[HelpDialog]] = Deferred("tui.screens.help", "HelpDialog")
ERROR: Final[Deferred[ErrorDialog]] = Deferred("tui.screens.error", "ErrorDialog")


# --- each step's factory ----------------------------------------------------------


def _certificate_select(
    screen: type[CertificateSelectScreen], app: EonayApp, state: FlowState
) -> CertificateSelectScreen:
    ops = app.ops
    return screen(
        ops.read_card,
        ops.module_paths,
        prefer=state.certificate.list_id if state.certificate else None,
        message=state.message,
        challenge=state.pending_challenge,
        poll_interval=app.poll_interval,
        banner=app.banner(),
    )


def _pin_entry(screen: type[PinEntryScreen], app: EonayApp, state: FlowState) -> PinEntryScreen:
    from tui.widgets.keypad import STANDARD_ORDER, shuffled_order  # pin_entry's own import

    challenge, cert = state.pending_challenge, state.certificate
    assert challenge is not None and cert is not None
    ops = app.ops
    submit: Callable[[Signature], Outcome]
    if challenge.purpose == "login":
        submit = partial(ops.submit_login, challenge)
    else:
        assert state.login is not None
        submit = partial(ops.submit_e_onay, challenge, state.login.session)
    return screen(
        challenge,
        cert,
        sign=partial(ops.sign, challenge, cert),
        submit=submit,
        pin_state=partial(ops.prepare_signature, cert),
        card_present=partial(ops.certificate_present, cert),
        poll_interval=app.poll_interval,
        # A new order each time the PIN screen opens, against shoulder surfing.
        keypad_order=(
            shuffled_order(app.randbelow) if app.settings.shuffle_keypad else STANDARD_ORDER
        ),
        banner=app.banner(),
    )


def _e_onay_confirm(
    screen: type[EOnayConfirmScreen], app: EonayApp, state: FlowState
) -> EOnayConfirmScreen:
    login = state.login
    assert login is not None
    return screen(
        login.holder,
        start=partial(app.ops.start_e_onay, login.session),
        signed_at=state.login_signature.signing_time if state.login_signature else None,
        message=state.message,
        banner=app.banner(),
    )


def _done(screen: type[DoneScreen], app: EonayApp, state: FlowState) -> DoneScreen:
    assert state.receipt is not None
    return screen(state.receipt, banner=app.banner())


# --- the table ----------------------------------------------------------------------

_PIN_ENTRY: Final[StepScreen[PinEntryScreen]] = StepScreen(
    Deferred("tui.screens.pin_entry", "PinEntryScreen"), _pin_entry
)

STEP_SCREENS: Final[Mapping[Step, StepScreen[Any]]] = {
    Step.CERTIFICATE_SELECT: StepScreen(
        Deferred("tui.screens.certificate_select", "CertificateSelectScreen"),
        _certificate_select,
    ),
    Step.LOGIN_PIN: _PIN_ENTRY,
    Step.E_ONAY_CONFIRM: StepScreen(
        Deferred("tui.screens.e_onay_confirm", "EOnayConfirmScreen"), _e_onay_confirm
    ),
    Step.E_ONAY_PIN: _PIN_ENTRY,
    Step.DONE: StepScreen(Deferred("tui.screens.done", "DoneScreen"), _done),
}


def screen_for(app: EonayApp, step: Step, state: FlowState) -> FlowScreen:
    """The screen of a step after the first (the code-entry screen is home)."""
    screen: FlowScreen = STEP_SCREENS[step].open(app, state)
    return screen
