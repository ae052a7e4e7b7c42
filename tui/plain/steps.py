"""Each step of the flow as lines: what it says, what it asks, the outcome it ends with.

The same calls as the app's screens (`tui.operations`), the same rules and the
same messages (the app's msgids, so both languages come from the same
catalogs); only the way they reach the person differs. A step returns a
`tui.flow` outcome, and `tui.flow.advance` picks the next one as in the app.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from tui.card_hints import no_card_hints
from tui.core.card_info import CertificateInfo, PinState, PinTries, Signature
from tui.core.challenge import Challenge
from tui.core.clock import Clock, Deadline
from tui.core.errors import (
    SEND_AGAIN,
    AlreadyActiveError,
    CardBusyError,
    CardRemovedError,
    CertificateChangedError,
    CodeExpiredError,
    EonayError,
    PinIncorrectError,
    PinLockedError,
    RateLimitedError,
    counted,
    time_over,
)
from tui.core.pin import Pin
from tui.core.reasons import reason_text
from tui.display import date, date_time, shown
from tui.flow import (
    AlreadyActive,
    Back,
    CardGone,
    Expired,
    Finish,
    FlowState,
    Outcome,
    Restart,
)
from tui.i18n import N_, _
from tui.operations import Operations
from tui.plain.announcer import TimeAnnouncer, time_left_line
from tui.plain.terminal import Interrupted, LineTerminal
from tui.steps import STEP_COUNT, Step

CODE_LENGTH = 14
MINUS_SIGN = "\u2212"  # a dash to a reader, Unicode's "Sm" to the character database
YES = frozenset({"", "e", "evet", "y", "yes"})
NO = frozenset({"h", "hayır", "hayir", "n", "no"})
TITLES = {  # the app's screen titles; both PIN steps are "PIN", what is signed comes next
    Step.CODE_ENTRY: N_("Verification code"),
    Step.CERTIFICATE_SELECT: N_("Choose a certificate"),
    Step.LOGIN_PIN: N_("PIN"),
    Step.E_ONAY_CONFIRM: N_("E-Onay"),
    Step.E_ONAY_PIN: N_("PIN"),
    Step.DONE: N_("Done"),
}
SIGN_TITLES = {"login": N_("Sign: E-imzalı Giriş"), "e-onay": N_("Sign: E-Onay")}
CARD_GONE = "card-gone"
RETRY = "retry"
BUSY_RETRY = 2.0  # seconds between tries while another program holds the card
PIN_PAD = N_(
    "This card reader has its own keypad: the PIN is typed there, never here. "
    "Press Enter, then type the PIN on the reader's keypad."
)
ON_READER = N_("Type the PIN on the card reader's keypad now…")


class DemoHints(Protocol):
    pin: str

    def new_code(self) -> str: ...


def heading(step: Step) -> str:
    """`Adım 3/6 · PIN`: the step's number as the app's title bar shows it."""
    number = _("Step {n}/{total}").format(n=step.number, total=STEP_COUNT)
    return f"{number} · {_(TITLES[step])}"


def confirm_prompt(label: str) -> str:
    """A question where a bare Enter means yes: `E-ONAY İşlemleri [E/h]: `."""
    return label + " " + _("[Y/n]") + ": "


def typed_code(line: str) -> str:
    """The code as typed or pasted, its spaces and dashes dropped (as in the app).

    Any space (a tab, a no-break space from a web page) and any dash (a hyphen,
    an en dash a word processor made of it): what a person cannot tell apart
    from " " and "-" on the screen, or hear apart from them.
    """
    return "".join(ch for ch in line if not _separator(ch))


def _separator(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch) == "Pd" or ch == MINUS_SIGN


@dataclass
class PinTicker:
    """While the PIN is asked: the time at its moments, and the card looked at once a second."""

    announcer: TimeAnnouncer
    card_present: Callable[[], bool]
    clock: Clock
    interval: float = 1.0

    def __post_init__(self) -> None:
        self._next_poll = self.clock.monotonic() + self.interval

    def due_in(self) -> float:
        poll = self._next_poll - self.clock.monotonic()
        return max(0.0, min(self.announcer.due_in(), poll))

    def tick(self) -> object | None:
        expired = self.announcer.tick()
        if expired is not None:
            return expired
        if self.clock.monotonic() >= self._next_poll:
            self._next_poll = self.clock.monotonic() + self.interval
            try:
                present = self.card_present()
            except EonayError:
                present = True  # a failed look is not news; the signature will tell
            if not present:
                return CARD_GONE
        return None


@dataclass
class RetryTicker:
    """While another program holds the card: a try every `interval` seconds (Enter: now),
    and the challenge's time, when there is one."""

    clock: Clock
    interval: float = BUSY_RETRY
    announcer: TimeAnnouncer | None = None

    def __post_init__(self) -> None:
        self._next = self.clock.monotonic() + self.interval

    def due_in(self) -> float:
        due = max(0.0, self._next - self.clock.monotonic())
        return due if self.announcer is None else min(due, self.announcer.due_in())

    def tick(self) -> object | None:
        if self.announcer is not None:
            expired = self.announcer.tick()
            if expired is not None:
                return expired
        return RETRY if self.clock.monotonic() >= self._next else None


class PlainSteps:
    """One method per step; each says its lines, asks its prompts and returns an outcome."""

    def __init__(
        self,
        ops: Operations,
        term: LineTerminal,
        *,
        demo: DemoHints | None = None,
        poll_interval: float = 1.0,
    ) -> None:
        self.ops = ops
        self.term = term
        self.demo = demo
        self.poll_interval = poll_interval

    def show(self, step: Step, state: FlowState) -> Outcome:
        self.term.say("", heading(step))
        if step is Step.CODE_ENTRY:
            return self.code_entry(state)
        if step is Step.CERTIFICATE_SELECT:
            return self.certificate_select(state)
        if step in (Step.LOGIN_PIN, Step.E_ONAY_PIN):
            return self.pin_entry(state)
        if step is Step.E_ONAY_CONFIRM:
            return self.e_onay_confirm(state)
        return self.done(state)

    def _message(self, state: FlowState) -> None:
        if state.message:
            self.term.say(state.message)

    # --- step 1 ---------------------------------------------------------------

    def code_entry(self, state: FlowState) -> Outcome:
        self._message(state)
        self.term.say(
            _(
                "Enter the 14-digit verification code (Doğrulama Kodu) shown on the "
                "portal's E-imzalı Giriş page."
            ),
            _(
                "kamusm.gov.tr → Online İşlemler → Nitelikli Elektronik Sertifika "
                "İşlemleri → E-imzalı Giriş"
            ),
        )
        if self.demo is not None:
            code = self.demo.new_code()
            self.term.say(
                " · ".join(
                    [
                        _("DEMO"),
                        _("Verification code: {code}").format(code=code),
                        _("PIN: {pin}").format(pin=self.demo.pin),
                    ]
                )
            )
        for problem in self.ops.setting_problems():  # before a code is typed, as in the app
            self.term.say(
                _("This setting cannot work:") + " " + problem.problem, "→ " + problem.fix
            )
        wait: Deadline | None = None  # the portal said to wait (429) until then
        while True:
            line = self.term.ask(_("Verification code") + ": ")
            assert isinstance(line, str)  # no ticker: never interrupted
            code = typed_code(line)
            if code and not (code.isascii() and code.isdigit()):
                self.term.say(_("The verification code is digits only."))
                continue
            if len(code) != CODE_LENGTH:
                self.term.say(_("The code has 14 digits; you typed {n}.").format(n=len(code)))
                continue
            left = math.ceil(wait.remaining()) if wait is not None else 0
            if left > 0:  # as the app: the portal is not asked again before its wait is over
                self.term.say(RateLimitedError(retry_after=left).user_message())
                continue
            if not self.ops.setting_problems():  # else the lookup is refused, without a word
                self.term.say(_("Looking up the code at the portal…"))  # of looking anything up
            try:
                return self.ops.fetch_challenge(code)
            except RateLimitedError as error:
                wait = Deadline.in_seconds(error.retry_after, self.ops.clock)
                self.term.say(error.user_message())
            except EonayError as error:
                self.term.say(error.user_message())

    # --- step 2 ---------------------------------------------------------------

    def certificate_select(self, state: FlowState) -> Outcome:
        self._message(state)
        busy = False
        while True:
            if not busy:
                self.term.say(_("Reading the card…"))
            try:
                view = self.ops.read_card()
            except CardBusyError as error:
                if not busy:  # said once; then a try every 2 s, or at Enter
                    self.term.say(_("The card is in use"), error.user_message())
                busy = True
                self.term.ask(_("Press Enter to try again now") + ": ", RetryTicker(self.ops.clock))
                continue
            except EonayError as error:
                busy = False
                self._no_card(error.user_message(), [])
                continue
            busy = False
            unique = {c.list_id: c for c in reversed(view.certificates)}
            certs = [c for c in view.certificates if unique.get(c.list_id) is c]
            if not certs:
                detail = (
                    _("The card holds no certificates.")
                    if view.tokens
                    else _("Insert your card into the reader.")
                )
                self._no_card(detail, view.module_paths)
                continue
            challenge = state.pending_challenge
            if challenge is not None:  # the time runs from this step on, as in the app
                self.term.say(time_left_line(max(0, math.ceil(challenge.seconds_left()))))
            chosen = self._choose(certs)
            if chosen is not None and challenge is not None and challenge.expired():
                return self._expired(challenge.purpose)
            if chosen is not None:
                return chosen

    def _no_card(self, detail: str, module_paths: list[str]) -> None:
        self.term.say(_("No card found"), detail)
        self.term.say(*no_card_hints(module_paths or self.ops.module_paths()).split("\n"))
        self.term.ask(_("Press Enter to read the card again") + ": ")

    def _choose(self, certs: list[CertificateInfo]) -> CertificateInfo | None:
        """The numbered list; None: read the card again."""
        for number, cert in enumerate(certs, start=1):
            mark = _("Qualified") if cert.qualified else _("not qualified")
            self.term.say(
                f"{number}. {shown(cert.holder, 60)}  "
                + _("T.C. {serial}").format(serial=shown(cert.serial_masked, 20))
                + f"  [{mark}]",
                "   " + _("Issuer: {issuer}").format(issuer=shown(cert.issuer, 58)),
                "   "
                + _("Valid until {date} · {key} · card: {token}").format(
                    date=date(cert.not_after),
                    key=shown(cert.key, 20),
                    token=shown(cert.token.label, 32),
                ),
            )
            if not cert.usable:
                reason = reason_text(cert.reason or "")
                self.term.say("   " + _("Cannot be used: {reason}").format(reason=reason))
        usable = [n for n, c in enumerate(certs, start=1) if c.usable]
        if not usable:
            self.term.say(_("None of these certificates can sign; the reasons are shown."))
            self.term.ask(_("Press Enter to read the card again") + ": ")
            return None
        while True:
            answer = self.term.ask(_("Certificate number (Enter: {n})").format(n=usable[0]) + ": ")
            assert isinstance(answer, str)
            answer = answer.strip()
            if not answer:
                return certs[usable[0] - 1]
            if answer.isdigit() and int(answer) in usable:
                return certs[int(answer) - 1]
            if answer.isdigit() and 1 <= int(answer) <= len(certs):
                cert = certs[int(answer) - 1]
                self.term.say(
                    _("Certificate {n} cannot be used: {reason}").format(
                        n=answer, reason=reason_text(cert.reason or "")
                    )
                )
            else:
                self.term.say(
                    _("Type one of these numbers: {numbers}").format(
                        numbers=", ".join(str(n) for n in usable)
                    )
                )

    # --- steps 3 and 5 ----------------------------------------------------------

    def pin_entry(self, state: FlowState) -> Outcome:
        challenge, cert = state.pending_challenge, state.certificate
        assert challenge is not None and cert is not None
        self.term.say(_(SIGN_TITLES[challenge.purpose]))
        self._message(state)
        # challenge.text passed the signable-text rule when the challenge arrived
        self.term.say(
            _("Certificate:") + " " + shown(cert.display_label, 50),
            _("Created:") + " " + date_time(challenge.created_at),
            _("--- Text to sign: start ---"),
        )
        self.term.out.write(
            challenge.text if challenge.text.endswith("\n") else challenge.text + "\n"
        )
        self.term.say(_("--- Text to sign: end ---"))
        if challenge.expired():
            return self._expired(challenge.purpose)
        try:
            pin_state = self._pin_state_when_free(challenge, cert)
        except CardRemovedError as error:
            return CardGone(error.user_message())
        except _TimeOver:
            return self._expired(challenge.purpose)
        except EonayError as error:
            self.term.say(error.user_message())
            pin_state = PinState()
        signature = self._signature(challenge, cert, pin_state)
        if not isinstance(signature, Signature):
            self.ops.release_card()  # the card lets go of what it made ready for a PIN
            return signature
        return self._submit(challenge, state, signature)

    def _pin_state_when_free(self, challenge: Challenge, cert: CertificateInfo) -> PinState:
        """The PIN state; while another program holds the card, said once and asked
        again every 2 s (or at Enter) until the card answers or the time is over."""
        busy = False
        while True:
            try:
                state = self.ops.prepare_signature(cert)
            except CardBusyError as error:
                if not busy:
                    self.term.say(error.user_message())
                busy = True
                announcer = TimeAnnouncer(challenge.seconds_left, self.term.say)
                ticker = RetryTicker(self.ops.clock, announcer=announcer)
                stop = self.term.ask(_("Press Enter to try again now") + ": ", ticker)
                if isinstance(stop, Interrupted) and stop.reason == TimeAnnouncer.EXPIRED:
                    raise _TimeOver from None
                continue
            if busy:
                self.term.say(_("The card is free again."))
            return state

    def _signature(
        self, challenge: Challenge, cert: CertificateInfo, pin_state: PinState
    ) -> Signature | Outcome:
        token = cert.token
        maximum = token.max_pin if 0 < token.max_pin <= 16 else 0
        announcer = TimeAnnouncer(challenge.seconds_left, self.term.say)
        ticker = PinTicker(
            announcer,
            lambda: self.ops.certificate_present(cert),
            self.ops.clock,
            self.poll_interval,
        )
        announced = False
        wrong = 0  # wrong PINs at this step: each message counts them, as the app's
        while True:
            if pin_state.locked:
                return self._locked(challenge.purpose)
            if pin_state.final_try:
                self.term.say(_("Last try: a wrong PIN now locks the card."))
            elif pin_state.tries is PinTries.LOW:
                self.term.say(_("Fewer tries left"))
            if not announced:
                announcer.announce_now()
                announced = True
            pin = Pin()
            with pin:
                stop: str | Interrupted | None
                if token.pin_pad:  # nothing typed here: Enter starts the login on the reader
                    self.term.say(_(PIN_PAD))
                    stop = self.term.ask(_("Press Enter to sign") + ": ", ticker)
                else:
                    stop = self.term.ask_pin(_("PIN") + ": ", pin, announcer.announce_now, ticker)
                if isinstance(stop, Interrupted):
                    if stop.reason == CARD_GONE:
                        return CardGone(CardRemovedError().user_message())
                    return self._expired(challenge.purpose)
                if not token.pin_pad and (
                    len(pin) < token.min_pin or (maximum and len(pin) > maximum)
                ):
                    self.term.say(_length_hint(cert).capitalize())
                    continue
                if challenge.expired():
                    return self._expired(challenge.purpose)
                if pin_state.final_try and not self._final_try_confirmed(token.pin_pad):
                    continue
                self.term.say(_(ON_READER) if token.pin_pad else _("Signing on the card…"))
                try:
                    signature = self.ops.sign(challenge, cert, pin)
                except PinIncorrectError as error:
                    wrong += 1
                    self.term.say(counted(error, wrong))
                    pin_state = self._pin_state_again(cert, pin_state)
                    continue
                except PinLockedError:
                    return self._locked(challenge.purpose)
                except CodeExpiredError:
                    return self._expired(challenge.purpose)
                except (CardRemovedError, CertificateChangedError) as error:
                    return CardGone(error.user_message())
                except CardBusyError:
                    # Nothing was signed and no PIN checked: wait for the card, then the
                    # PIN is asked again (never retried on its own).
                    try:
                        pin_state = self._pin_state_when_free(challenge, cert)
                    except CardRemovedError as error:
                        return CardGone(error.user_message())
                    except _TimeOver:
                        return self._expired(challenge.purpose)
                    continue
                except EonayError as error:
                    self.term.say(error.user_message())
                    continue
            self.term.say(_("Signed:") + " " + date_time(signature.signing_time))
            return signature

    def _pin_state_again(self, cert: CertificateInfo, before: PinState) -> PinState:
        try:
            return self.ops.prepare_signature(cert)
        except EonayError:
            return before

    def _final_try_confirmed(self, pin_pad: bool = False) -> bool:
        """As the app's dialog: said in full; only a clear yes signs (Enter alone cancels)."""
        self.term.say(
            _("Last PIN try"),
            _(
                "The card allows one more PIN try. If this PIN is wrong, the card "
                'locks and must be unlocked through the portal\'s "Kilit Çözme" page.'
            ),
        )
        question = (
            _("Sign, typing the PIN on the card reader's keypad?")
            if pin_pad
            else _("Sign with the PIN you typed?")
        )
        answer = self.term.ask(question + " " + _("[y/N]") + ": ")
        return isinstance(answer, str) and answer.strip().lower() in YES - {""}

    def _submit(self, challenge: Challenge, state: FlowState, signature: Signature) -> Outcome:
        while True:
            self.term.say(_("Signed. Sending the signature to the portal…"))
            try:
                if challenge.purpose == "login":
                    return self.ops.submit_login(challenge, signature)
                assert state.login is not None
                return self.ops.submit_e_onay(challenge, state.login.session, signature)
            except AlreadyActiveError:
                return AlreadyActive(None)
            except SEND_AGAIN as error:
                self.term.say(error.user_message())
                self.term.ask(_("Press Enter to send the same signature again") + ": ")
            except EonayError as error:
                self.term.say(error.user_message())
                self.term.ask(_("Press Enter to start again") + ": ")
                return Restart()

    def _expired(self, purpose: str) -> Outcome:
        """The app's message (`time_over`); Enter goes where the app's button does."""
        self.term.say(time_over(purpose))
        if purpose == "login":
            self.term.ask(_("Press Enter to start again with a new code") + ": ")
        else:
            self.term.ask(_("Press Enter to go back to E-Onay") + ": ")
        return Expired(time_over(purpose))

    def _locked(self, purpose: str) -> Outcome:
        """Back one step, as Esc in the app: to choosing (login) or to E-Onay's step 4."""
        self.term.say(PinLockedError().user_message())
        if purpose == "login":
            self.term.ask(_("Press Enter to choose a certificate again") + ": ")
        else:
            self.term.ask(_("Press Enter to go back to E-Onay") + ": ")
        return Back()

    # --- step 4 -----------------------------------------------------------------

    def e_onay_confirm(self, state: FlowState) -> Outcome:
        login = state.login
        assert login is not None
        self.term.say(
            _("Logged in:")
            + f" {shown(login.holder.name, 60)}  (T.C. {shown(login.holder.serial, 20)})"
        )
        if state.login_signature is not None:
            self.term.say(_("Login signed:") + " " + date_time(state.login_signature.signing_time))
        self.term.say(
            _("E-Onay status:") + " " + _("not active"),
            _(
                "With E-Onay on file, your later NES applications and renewals "
                "(e-imza uzatma) need no signed paper form, even after your "
                "certificate has expired."
            ),
        )
        self._message(state)
        if not self._yes(_("E-ONAY Operations")):
            return Finish()
        self.term.say(
            _(
                "You give your E-Onay by signing once more with the same card. "
                "The portal sends the text to sign next."
            )
        )
        while True:
            if not self._yes(_("Continue")):
                return Finish()
            self.term.say(_("Asking the portal for the E-Onay text…"))
            try:
                return self.ops.start_e_onay(login.session)
            except EonayError as error:
                self.term.say(error.user_message())

    def _yes(self, label: str) -> bool:
        while True:
            answer = self.term.ask(confirm_prompt(label))
            assert isinstance(answer, str)
            word = answer.strip().lower()
            if word in YES:
                return True
            if word in NO:
                return False
            self.term.say(_("Answer with Enter (yes) or n (no)."))

    # --- step 6 -----------------------------------------------------------------

    def done(self, state: FlowState) -> Outcome:
        receipt = state.receipt
        assert receipt is not None
        self.term.say(
            _("E-Onay was already active for you.")
            if receipt.already_active
            else _("Your E-Onay is now active.")
        )
        rows = [
            (_("Holder"), shown(receipt.holder, 60)),
            (_("Reference"), shown(receipt.reference, 60) if receipt.reference else "—"),
            (_("Activated"), date_time(receipt.activated_at)),
        ]
        if receipt.signed_at is not None:
            rows.append((_("Signed"), date_time(receipt.signed_at)))
        self.term.say(_("Receipt"), *(f"{label}: {value}" for label, value in rows))
        self.term.say(
            _(
                "What happens next: your later NES applications and renewals "
                "(e-imza uzatma) need no signed paper form, even after your "
                "certificate has expired. Keep the reference for your records."
            )
        )
        return Finish()


class _TimeOver(Exception):
    """The challenge's time ran out while waiting for the card."""


def _length_hint(cert: CertificateInfo) -> str:
    token = cert.token
    if token.max_pin > 16 or token.max_pin < token.min_pin:
        return _("at least {min} digits").format(min=token.min_pin)
    return _("{min} to {max} digits").format(min=token.min_pin, max=token.max_pin)
