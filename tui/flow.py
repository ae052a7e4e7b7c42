"""The app's steps as plain data, and the rule that picks the next step.

Screens return what happened with `dismiss()` (the code-entry screen, which
stays under the others, with a message); `advance` turns the current step
(`tui.steps`), the flow's state and that outcome into the next step. No Textual here,
so the whole flow is testable as a table.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from tui.core.card_info import CertificateInfo, Signature
from tui.core.challenge import Challenge
from tui.core.results import EOnayAccepted, EOnayStatus, LoginAccepted
from tui.steps import Step

# --- what a screen can answer --------------------------------------------


@dataclass(frozen=True)
class Back:
    """Escape: one step back, where that is safe."""


@dataclass(frozen=True)
class Restart:
    """Start again at code entry, optionally telling why."""

    message: str | None = None


@dataclass(frozen=True)
class Finish:
    """Leave the app (in kiosk mode: back to the start)."""


@dataclass(frozen=True)
class CardGone:
    """The chosen card went away (or changed): choose a certificate again."""

    message: str


@dataclass(frozen=True)
class Expired:
    """The challenge's time ran out before anything was signed."""

    message: str


@dataclass(frozen=True)
class LoginDone:
    signature: Signature
    login: LoginAccepted
    status: EOnayStatus | None = None  # read when E-Onay was already active


@dataclass(frozen=True)
class EOnayStarted:
    challenge: Challenge


@dataclass(frozen=True)
class AlreadyActive:
    status: EOnayStatus | None


@dataclass(frozen=True)
class EOnayDone:
    signature: Signature
    accepted: EOnayAccepted


Outcome = (
    Back
    | Restart
    | Finish
    | CardGone
    | Expired
    | Challenge
    | CertificateInfo
    | LoginDone
    | EOnayStarted
    | AlreadyActive
    | EOnayDone
)


# --- the state carried between screens ------------------------------------


@dataclass(frozen=True)
class Receipt:
    """What the done screen shows."""

    holder: str
    reference: str | None
    activated_at: datetime | None
    already_active: bool
    signed_at: datetime | None = None


@dataclass(frozen=True)
class FlowState:
    login_challenge: Challenge | None = None
    certificate: CertificateInfo | None = None
    login: LoginAccepted | None = field(default=None, repr=False)
    login_signature: Signature | None = None
    e_onay_challenge: Challenge | None = None
    receipt: Receipt | None = None
    message: str | None = None  # shown once by the next screen

    @property
    def pending_challenge(self) -> Challenge | None:
        """The challenge the next signature answers."""
        return self.e_onay_challenge if self.login is not None else self.login_challenge


START = FlowState()


@dataclass(frozen=True)
class Transition:
    step: Step | None  # None: leave the app
    state: FlowState


def advance(step: Step, state: FlowState, outcome: Outcome) -> Transition:
    """The next step after `outcome` on `step`; a step that ignores an outcome stays."""
    cleared = replace(state, message=None)
    if isinstance(outcome, Restart):
        return Transition(Step.CODE_ENTRY, replace(START, message=outcome.message))
    if isinstance(outcome, Finish):
        return Transition(None, START)
    if isinstance(outcome, CardGone):
        return Transition(Step.CERTIFICATE_SELECT, replace(cleared, message=outcome.message))
    if isinstance(outcome, Back):
        return _back(step, cleared)
    if isinstance(outcome, Expired):
        return _expired(cleared, outcome.message)

    if step is Step.CODE_ENTRY and isinstance(outcome, Challenge):
        return Transition(Step.CERTIFICATE_SELECT, replace(cleared, login_challenge=outcome))
    if step is Step.CERTIFICATE_SELECT and isinstance(outcome, CertificateInfo):
        chosen = replace(cleared, certificate=outcome)
        return Transition(Step.E_ONAY_PIN if state.login else Step.LOGIN_PIN, chosen)
    if step is Step.LOGIN_PIN and isinstance(outcome, LoginDone):
        logged_in = replace(cleared, login=outcome.login, login_signature=outcome.signature)
        if outcome.login.e_onay_active:
            return _done_already_active(logged_in, outcome.status)
        return Transition(Step.E_ONAY_CONFIRM, logged_in)
    if step is Step.E_ONAY_CONFIRM:
        if isinstance(outcome, EOnayStarted):
            return Transition(Step.E_ONAY_PIN, replace(cleared, e_onay_challenge=outcome.challenge))
        if isinstance(outcome, AlreadyActive):
            return _done_already_active(cleared, outcome.status)
    if step is Step.E_ONAY_PIN and isinstance(outcome, EOnayDone):
        receipt = Receipt(
            holder=_holder_name(state),
            reference=outcome.accepted.reference,
            activated_at=outcome.accepted.activated_at,
            already_active=False,
            signed_at=outcome.signature.signing_time,
        )
        return Transition(Step.DONE, replace(cleared, e_onay_challenge=None, receipt=receipt))
    return Transition(step, state)


def _back(step: Step, state: FlowState) -> Transition:
    """One step back as the person sees the steps (1 code, 2 certificate, 3 PIN, 4 E-Onay,
    5 PIN, 6 done); never to a step already signed (3, once logged in), so 4 and 6 stay."""
    if step is Step.CERTIFICATE_SELECT:
        if state.login is not None:  # choosing again for the E-Onay signature
            return Transition(Step.E_ONAY_CONFIRM, replace(state, e_onay_challenge=None))
        return Transition(Step.CODE_ENTRY, replace(state, login_challenge=None))
    if step is Step.LOGIN_PIN:
        return Transition(Step.CERTIFICATE_SELECT, state)
    if step is Step.E_ONAY_PIN:  # logged in: the step before is E-Onay's own, step 4
        return Transition(Step.E_ONAY_CONFIRM, replace(state, e_onay_challenge=None))
    # Code entry has nothing before it; after login, going back is not safe.
    return Transition(step, state)


def _expired(state: FlowState, message: str) -> Transition:
    """Wherever the time ran out (choosing, or typing the PIN): before login a new code is
    needed; after it, a new E-Onay text from step 4."""
    if state.login is None:
        return Transition(Step.CODE_ENTRY, replace(START, message=message))
    return Transition(Step.E_ONAY_CONFIRM, replace(state, e_onay_challenge=None, message=message))


def _done_already_active(state: FlowState, status: EOnayStatus | None) -> Transition:
    receipt = Receipt(
        holder=_holder_name(state),
        reference=status.reference if status else None,
        activated_at=status.activated_at if status else None,
        already_active=True,
    )
    return Transition(Step.DONE, replace(state, receipt=receipt))


def _holder_name(state: FlowState) -> str:
    if state.login is not None:
        return state.login.holder.name
    return state.certificate.holder if state.certificate else ""


BACK_ALLOWED = frozenset({Step.CERTIFICATE_SELECT, Step.LOGIN_PIN, Step.E_ONAY_PIN})
"""Steps where Escape goes back to another step (the key bar shows "Esc Back" there; on
step 4 Esc only folds the "Devam Et" panel away, within the step)."""
