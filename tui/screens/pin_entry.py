"""Steps 3 and 5: the text to sign, the PIN keypad and the live countdown.

Used twice with the same rules: for the login challenge and for the E-Onay
challenge. The text is checked before any PIN is asked, the countdown comes
from the challenge's deadline, nothing is signed once it is over, the PIN is
taken out of the field for exactly one signature, and a wrong, final-try or
locked PIN is handled without ever trying a login on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import Enum
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.errors import NoWidget
from textual.timer import Timer
from textual.widgets import Button, Static

from tui.core.card_info import CertificateInfo, PinState, PinTries, Signature
from tui.core.challenge import Challenge
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
    counted,
    time_over,
)
from tui.core.pin import Pin
from tui.display import date_time, shown
from tui.flow import AlreadyActive, CardGone, Expired, Outcome, Restart
from tui.i18n import N_, _
from tui.resources import stylesheets
from tui.screens.base import BACK, FlowScreen
from tui.screens.final_try import FinalTryDialog
from tui.steps import Step
from tui.terminal_size import TOO_LOW, TOO_NARROW, big_enough
from tui.widgets.action_button import ActionButton
from tui.widgets.countdown import Countdown
from tui.widgets.keypad import BACKSPACE, CLEAR, STANDARD_ORDER, Keypad, KeypadButton
from tui.widgets.pin_field import PinField

PIN_STATE = "pin-state"
PRESENCE = "card-presence"
SIGN = "sign"
SUBMIT = "submit"
BUSY_RETRY = 2.0  # seconds between tries while another program holds the card
LONG_PIN = 16  # beyond this the field shows "at least N digits" instead of a range
UNSEEN = N_("Cannot sign before seeing the whole text: PgDn / End")
PIN_PAD = N_(
    "This card reader has its own keypad: the PIN is typed there, never here. "
    "Press Enter (or SIGN), then type the PIN on the reader's keypad."
)
ON_READER = N_("Type the PIN on the card reader's keypad now…")
SEEN = N_("That is the end of the text: Enter signs it.")
READ_ON = N_("Show the rest")


class Phase(Enum):
    TYPING = "typing"  # the PIN can be typed and signed
    SIGNING = "signing"  # the card is signing (nothing else may touch it)
    SUBMITTING = "submitting"  # the portal has the signature
    RESEND = "resend"  # the portal could not be reached; the same signature can go again
    LOCKED = "locked"  # the PIN is locked: no login is attempted
    EXPIRED = "expired"  # the challenge is over: nothing is signed
    FAILED = "failed"  # the portal refused; only starting again helps


class PinEntryScreen(FlowScreen):
    """Shows the challenge, asks the PIN, signs and submits; dismissed with the outcome."""

    CSS_PATH: ClassVar = stylesheets("buttons.tcss", "countdown.tcss", "pin_entry.tcss")

    AUTO_FOCUS = "#pin"
    ALLOW_SELECT = False  # nothing on this screen goes to the clipboard
    BINDINGS: ClassVar = [
        BACK,
        Binding("pageup", "scroll_text(-1)", show=False),
        Binding("pagedown", "scroll_text(1)", show=False),
        Binding("home", "scroll_text_edge(0)", show=False),
        Binding("end", "scroll_text_edge(1)", show=False),
    ]
    TITLES: ClassVar = {"login": N_("Sign: E-imzalı Giriş"), "e-onay": N_("Sign: E-Onay")}

    def __init__(
        self,
        challenge: Challenge,
        certificate: CertificateInfo,
        *,
        sign: Callable[[Pin], Signature],
        submit: Callable[[Signature], Outcome],
        pin_state: Callable[[], PinState],
        card_present: Callable[[], bool],
        poll_interval: float = 1.0,
        keypad_order: Sequence[str] = STANDARD_ORDER,
        banner: str | None = None,
    ) -> None:
        super().__init__(
            banner=banner,
            title=self.TITLES[challenge.purpose],
            step=Step.LOGIN_PIN if challenge.purpose == "login" else Step.E_ONAY_PIN,
        )
        self.challenge = challenge
        self.certificate = certificate
        self._sign = sign
        self._submit = submit
        self._pin_state_call = pin_state
        self._card_present = card_present
        self._poll_interval = poll_interval
        self._keypad_order = keypad_order
        self.pin_state: PinState | None = None
        self.signature: Signature | None = None
        self.phase = Phase.TYPING
        self._checking = False
        self._pending_pin: Pin | None = None  # taken from the field, not yet handed to `sign`
        # Once the text's last line was on the screen, with the screen whole; never taken back.
        self.seen_whole_text = False
        self._said = ""  # what the status line says now
        self._said_of_field = False  # it is about the PIN typed (its length), or a paste
        self.wrong_tries = 0  # wrong PINs on this screen: each message counts them
        self._busy_retry: Timer | None = None  # while another program holds the card

    # --- layout -------------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        token = self.certificate.token
        with Horizontal(id="pin-body"):
            with Vertical(id="pin-left"):
                with VerticalScroll(id="text-box") as box:
                    box.border_title = _("Text to sign")
                    box.can_focus = False
                    yield Static(self.challenge.text, id="text", markup=False)
                yield Static(
                    Content.assemble(
                        (_("Certificate:") + " ", "bold"),
                        shown(self.certificate.display_label, 50),
                    ),
                    id="certificate",
                )
                yield Static(
                    Content.assemble(
                        (_("Created:") + " ", "bold"), date_time(self.challenge.created_at)
                    ),
                    id="created",
                )
                yield Static(
                    Content.assemble((_("Signed:") + " ", "bold"), "—"),
                    id="signed",
                )
                yield Countdown(self.challenge.seconds_left, id="countdown")
            with Vertical(id="pin-right") as right:
                right.border_title = _("PIN")
                if token.pin_pad:  # no field, no keypad: the reader has its own
                    yield Static(_(PIN_PAD), id="pin-pad", markup=False)
                else:
                    yield PinField(max_length=token.max_pin or LONG_PIN, id="pin")
                    yield Static(self._length_hint(), id="pin-hint", markup=False)
                yield Static("", id="tries", markup=False)
                if token.pin_pad:  # focused, so that Enter starts the login on the reader
                    yield Button(_("SIGN"), id="sign", variant="primary", compact=True)
                else:
                    yield Keypad(self._keypad_order, id="keypad")
                    yield KeypadButton(_("SIGN"), id="sign", variant="primary", compact=True)
        yield Static("", id="status", markup=False)
        yield ActionButton("", id="next-action", variant="primary")

    def _length_hint(self) -> str:
        token = self.certificate.token
        if token.max_pin > LONG_PIN or token.max_pin < token.min_pin:
            return _("at least {min} digits").format(min=token.min_pin)
        return _("{min} to {max} digits").format(min=token.min_pin, max=token.max_pin)

    @property
    def pin_pad(self) -> bool:
        """The reader has its own keypad (CKF_PROTECTED_AUTHENTICATION_PATH)."""
        return self.certificate.token.pin_pad

    def _field(self) -> PinField | None:
        """The PIN field; None on a PIN pad reader's screen, which has none."""
        return None if self.pin_pad else self.query_one(PinField)

    def _clear_field(self) -> None:
        field = self._field()
        if field is not None:
            field.clear()

    def _focus_input(self) -> None:
        """Where typing goes: the PIN field, or for a PIN pad reader the SIGN button."""
        field = self._field()
        (field or self.query_one("#sign", Button)).focus()

    def on_mount(self) -> None:
        self.query_one("#next-action").display = False
        if self.pin_pad:
            self._focus_input()
        if self.challenge.expired():
            self._expire()
            return
        self._read_pin_state()
        self.set_interval(self._poll_interval, self._check_card)
        box = self.query_one("#text-box", VerticalScroll)
        self.watch(box, "scroll_y", self._mark_more_text, init=False)
        field = self._field()
        if field is not None:  # a PIN pad reader's screen has none
            self.watch(field, "length", self._pin_changed, init=False)
        self.call_after_refresh(self._mark_more_text)

    def on_resize(self) -> None:
        self.call_after_refresh(self._mark_more_text)

    def on_screen_resume(self) -> None:
        self.call_after_refresh(self._mark_more_text)  # back from a dialog (help, final try)

    def _mark_more_text(self, _scroll_y: float | None = None) -> None:
        """Say so in the box's frame while part of the text is below the visible lines;
        note when its last line is on the screen."""
        box = self.query_one("#text-box", VerticalScroll)
        more = box.max_scroll_y > 0 and box.scroll_y < box.max_scroll_y
        subtitle = _("more below: PgDn") if more else ""
        if box.border_subtitle != subtitle:
            box.border_subtitle = subtitle
        if not more and not self.seen_whole_text and self._text_box_in_sight(box):
            self.seen_whole_text = True
            if self._said == _(UNSEEN):
                self._say(_(SEEN), "info")  # the warning is no longer true
        # The key bar says what Enter does: the rest of the text first, then the signature.
        field = self._field()
        if field is not None:
            field.say_enter_does(None if self.seen_whole_text else _(READ_ON))

    def _whole_on_screen(self) -> bool:
        """The terminal is large enough, and this screen is laid out at its present size.

        Right after a resize the app knows the new size a moment before the screen is
        laid out again: until then the screen and its text box still have the old layout
        (maybe under the size notice), which nobody has seen at this size.
        """
        return (
            big_enough(*self.app.size)
            and self.size == self.app.size
            and not self.has_class(TOO_NARROW)
            and not self.has_class(TOO_LOW)
        )

    def _text_box_in_sight(self, box: VerticalScroll) -> bool:
        """The box is laid out, uncut and uncovered: the person can see what it shows.

        Not while the terminal is below the minimum size (the notice covers the
        screen), a dialog is over this screen, or the box is clipped or not yet drawn.
        """
        if not self.is_active or not self._whole_on_screen():
            return False
        if box.content_size.height <= 0 or box.content_size.width <= 0:
            return False
        try:
            geometry = self.find_widget(box)
        except NoWidget:
            return False
        return geometry.visible_region == geometry.region

    def on_unmount(self) -> None:
        if self._pending_pin is not None:  # never handed over: no one else will wipe it
            self._pending_pin.wipe()

    # --- the PIN field and the keypad --------------------------------------------

    def on_keypad_pressed(self, event: Keypad.Pressed) -> None:
        field = self._field()
        if field is None:
            return
        if event.key == CLEAR:
            field.clear()
        elif event.key == BACKSPACE:
            field.delete_digit()
        else:
            field.add_digit(event.key)
        field.focus()

    def _pin_changed(self, length: int) -> None:
        """A message about the PIN that was typed is no longer true once it changes."""
        if self._said_of_field and length > 0:
            self._say("", "")

    def on_pin_field_submitted(self, event: PinField.Submitted) -> None:
        event.stop()
        self.request_sign()

    def on_pin_field_refused(self, event: PinField.Refused) -> None:
        event.stop()
        if event.what == "paste":
            self._say(_("Type the PIN; pasting into the PIN field is turned off."), "warning")
        else:
            self._say(_("The PIN cannot be copied."), "warning")
        self._said_of_field = True

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "sign":
            self.request_sign()
        elif event.button.id == "next-action":
            self._next_action()

    def action_scroll_text(self, pages: int) -> None:
        box = self.query_one("#text-box", VerticalScroll)
        page = box.scrollable_content_region.height
        box.scroll_to(y=box.scroll_y + pages * page, animate=False, immediate=True)
        self._mark_more_text()

    def action_scroll_text_edge(self, end: int) -> None:
        box = self.query_one("#text-box", VerticalScroll)
        if end:
            box.scroll_end(animate=False, immediate=True)
        else:
            box.scroll_home(animate=False, immediate=True)
        self._mark_more_text()

    def action_back(self) -> None:
        if self.phase in (Phase.SIGNING, Phase.SUBMITTING, Phase.RESEND):
            # Busy with this signature, or holding one the portal may have accepted:
            # going back would drop it, and signing again would cost a new PIN entry.
            return
        super().action_back()

    # --- signing ------------------------------------------------------------

    def request_sign(self) -> None:
        """Enter or İMZALA: check everything that can be checked before the card is touched."""
        if self.phase is not Phase.TYPING:
            return
        field = self._field()
        token = self.certificate.token
        if self.challenge.expired():
            self._expire()
            return
        if not self._whole_on_screen():
            return  # the size notice covers the screen (the app lets no key through then)
        self._mark_more_text()
        if not self.seen_whole_text:
            # The rest of the text first, and why; no signature, no C_Login. Should this
            # page reach the end, the message changes to say that Enter signs now.
            self._say(_(UNSEEN), "warning")
            self.action_scroll_text(1)
            return
        if self._busy_retry is not None:  # held by another program: wait for it to let go
            self._say(CardBusyError().user_message(), "warning")
            return
        if self.pin_state is None:
            self._say(_("Reading the card's PIN state…"), "busy")
            return
        if self.pin_state.locked:
            self._lock()
            return
        if field is not None and not token.min_pin <= field.length <= (token.max_pin or LONG_PIN):
            self._say(self._length_hint().capitalize(), "error")
            self._said_of_field = True
            return
        if self.pin_state.final_try:
            self.app.push_screen(FinalTryDialog(pin_pad=self.pin_pad), self._final_try_answered)
            return
        self._sign_now()

    def _final_try_answered(self, confirmed: bool | None) -> None:
        if confirmed and self.phase is Phase.TYPING and self._whole_on_screen():
            self._sign_now()
        else:
            self._focus_input()

    def _sign_now(self) -> None:
        field = self._field()
        pin = field.take() if field is not None else Pin()  # a PIN pad: C_Login gets NULL
        self._pending_pin = pin
        # The card first: the screen's own changes (the keypad disabled, the status)
        # are drawn while it works, not before it starts.
        self.run_task(
            lambda: self._sign(self._hand_over(pin)),
            self._signed,
            name=SIGN,
            failed=self._sign_failed,
            crashed=self._not_sent,
        )
        self._set_phase(Phase.SIGNING)
        self._say(_(ON_READER) if self.pin_pad else _("Signing on the card…"), "busy")

    def _hand_over(self, pin: Pin) -> Pin:
        """From here `sign` owns the PIN: it, or the card service, wipes it once used."""
        self._pending_pin = None
        return pin

    def _send(self) -> None:
        signature = self.signature
        if signature is None:
            return
        self.run_task(  # the portal first, as the card above
            lambda: self._submit(signature),
            self._submitted,
            name=SUBMIT,
            failed=self._submit_failed,
            crashed=self._not_sent,
        )
        self._set_phase(Phase.SUBMITTING)
        self._say(_("Signed. Sending the signature to the portal…"), "busy")

    # --- results from the workers ---------------------------------------------

    def _signed(self, signature: Signature) -> None:
        self.signature = signature
        self.query_one("#signed", Static).update(
            Content.assemble((_("Signed:") + " ", "bold"), date_time(signature.signing_time))
        )
        self._send()

    def _submitted(self, outcome: Outcome) -> None:
        self.query_one(Countdown).stop()
        self.leave(outcome)

    def _not_sent(self) -> None:
        """A bug while signing or sending: back to the PIN, or to the signature kept."""
        self._set_phase(Phase.RESEND if self.signature else Phase.TYPING)
        if self.signature is not None:
            self._offer(_("Send again"))

    def _sign_failed(self, error: EonayError) -> None:
        self._set_phase(Phase.TYPING)
        if isinstance(error, PinIncorrectError):
            self.wrong_tries += 1
            self._say(counted(error, self.wrong_tries), "error")
            self._read_pin_state()
        elif isinstance(error, PinLockedError):
            self._lock()
        elif isinstance(error, CodeExpiredError):
            self._expire()
        elif isinstance(error, CardBusyError):
            self._card_busy(error)
        elif isinstance(error, CardRemovedError | CertificateChangedError):
            self.leave(self._card_gone(error))
        else:
            self._say(error.user_message(), "error")

    def _submit_failed(self, error: EonayError) -> None:
        if isinstance(error, AlreadyActiveError):
            self.leave(AlreadyActive(None))
        elif isinstance(error, CodeExpiredError):  # the portal's clock: the same as ours
            self.signature = None
            self._set_phase(Phase.TYPING)
            self._expire()
        elif isinstance(error, SEND_AGAIN):
            # The signature is kept (never the PIN): sending the same CMS again is safe,
            # the portal answers it like the first time (idempotent by the API).
            self._set_phase(Phase.RESEND)
            self._say(error.user_message(), "error")
            self._offer(_("Send again"))
        else:
            self._set_phase(Phase.FAILED)
            self.query_one(Countdown).stop()
            self._say(error.user_message(), "error")
            self._offer(_("Start again"))

    # --- card, PIN state, time --------------------------------------------------

    def _read_pin_state(self) -> None:
        self.run_task(
            self._pin_state_call,
            self._show_pin_state,
            name=PIN_STATE,
            failed=self._pin_state_unread,
        )

    def _pin_state_unread(self, error: EonayError) -> None:
        if isinstance(error, CardBusyError):
            self._card_busy(error)
        elif isinstance(error, CardRemovedError):
            self.leave(self._card_gone(error))
        else:
            self._say(error.user_message(), "error")

    def _check_card(self) -> None:
        if self._busy_retry is not None:
            return  # the card is held by another program: `_retry_busy` asks, every 2 s
        if self.phase is Phase.TYPING and not self._checking:
            self._checking = True
            self.run_task(
                self._card_present,
                self._card_checked,
                name=PRESENCE,
                # A failed poll is not news; the next one or the signature will tell.
                failed=lambda _error: self._check_over(),
                crashed=self._check_over,
            )

    def _card_checked(self, present: bool) -> None:
        self._check_over()
        if not present and self.phase is Phase.TYPING:
            self.leave(self._card_gone(CardRemovedError()))

    def _check_over(self) -> None:
        self._checking = False

    def _card_busy(self, error: CardBusyError) -> None:
        """Another program holds the card: say so, and read the card's PIN state again
        every BUSY_RETRY seconds until it answers. Never a signature: that waits for
        the person (and the PIN, if it was typed here, is gone: it is typed again)."""
        self._say(error.user_message(), "warning")
        if self._busy_retry is None:
            self._busy_retry = self.set_interval(BUSY_RETRY, self._retry_busy)

    def _retry_busy(self) -> None:
        if self.phase in (Phase.TYPING, Phase.LOCKED):
            self._read_pin_state()

    def _card_free(self) -> None:
        """The card answered again after being held: carry on where the person was."""
        if self._busy_retry is None:
            return
        self._busy_retry.stop()
        self._busy_retry = None
        if self.pin_pad:
            self._say(
                _("The card is free again. Press Enter, then type the PIN on the reader."), "info"
            )
        else:
            self._say(_("The card is free again. Type your PIN and press Enter."), "info")

    def _show_pin_state(self, state: PinState) -> None:
        """The card's PIN flags, in the PIN box, beside whatever the status line says."""
        self._card_free()
        self.pin_state = state
        if self._said == _("Reading the card's PIN state…"):
            self._say("", "")  # read now
        tries = self.query_one("#tries", Static)
        if state.locked:
            tries.update(_("PIN locked"))
            self._lock()
        elif state.final_try:
            tries.update(_("Last try!"))
            self._say(_("Last try: a wrong PIN now locks the card."), "warning")
        elif state.tries is PinTries.LOW:
            tries.update(_("Fewer tries left"))
        else:
            tries.update("")
        tries.set_class(state.tries is not PinTries.UNKNOWN, "-warning")

    def on_countdown_expired(self, event: Countdown.Expired) -> None:
        event.stop()
        if self.phase in (Phase.TYPING, Phase.LOCKED):
            self._expire()

    def _expire(self) -> None:
        self._clear_field()
        self.query_one(Countdown).stop()
        self._set_phase(Phase.EXPIRED)
        self._say(time_over(self.challenge.purpose), "error")
        # Named for where it leads: a new code (step 1), or a new E-Onay text (step 4).
        self._offer(_("Start again") if self.challenge.purpose == "login" else _("Back to E-Onay"))

    def _lock(self) -> None:
        self._clear_field()
        self._set_phase(Phase.LOCKED)
        self._say(PinLockedError().user_message(), "error")

    def _card_gone(self, error: EonayError) -> CardGone:
        self._clear_field()
        return CardGone(error.user_message())

    # --- what the screen shows ------------------------------------------------------

    def _set_phase(self, phase: Phase) -> None:
        self.phase = phase
        typing = phase is Phase.TYPING
        field = self._field()
        if field is not None:
            field.disabled = not typing
            self.query_one(Keypad).disabled = not typing
        self.query_one("#sign", Button).disabled = not typing
        if typing:
            self.query_one("#next-action").display = False
            self._focus_input()

    def _offer(self, label: str) -> None:
        """Show the one way forward (start again, send again) and give it the focus."""
        button = self.query_one("#next-action", Button)
        button.label = label
        button.display = True
        button.focus()

    def _next_action(self) -> None:
        if self.phase is Phase.RESEND:
            self.query_one("#next-action").display = False
            self._send()
        elif self.phase is Phase.EXPIRED:
            self.leave(Expired(time_over(self.challenge.purpose)))
        else:
            self.leave(Restart())

    def _say(self, text: str, kind: str) -> None:
        self._said = text
        self._said_of_field = False
        status = self.query_one("#status", Static)
        status.update(Content(text))
        status.set_classes(f"-{kind}" if kind else "")
