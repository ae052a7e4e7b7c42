"""Every screen at the smallest sizes: the text to sign wraps and is never cut at the right edge;
nothing of any screen is cut at 60x20 or at the minimum, 60x18 (issue 11, issue 16 point 10)."""

from __future__ import annotations

import dataclasses

import pytest
from rich.cells import cell_len
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Button, Static

from tests.screens import values
from tests.screens.harness import ScreenHost, screen_text, settle
from tests.screens.test_snapshots import DEMO, MODULES, SCREENS, code_entry, never
from tui.core.card_info import PIN_PAD_FLAG, PinState, PinTries
from tui.core.errors import CertificateChangedError, time_over
from tui.operations import CardView
from tui.screens.certificate_select import CertificateSelectScreen
from tui.screens.code_entry import CodeEntryScreen
from tui.screens.done import DoneScreen
from tui.screens.e_onay_confirm import EOnayConfirmScreen
from tui.screens.help import HelpDialog
from tui.screens.pin_entry import PinEntryScreen
from tui.steps import Step
from tui.terminal_size import MIN_HEIGHT, MIN_WIDTH
from tui.widgets.key_bar import KeyBar

CLOCK = values.fake_clock()

# Long lines, a word longer than any box (a web address), digits and punctuation.
WIDE_TEXT = (
    "Kamu Sertifikasyon Merkezi tarafından adıma düzenlenen nitelikli elektronik sertifikaya "
    "ilişkin başvuru koşullarını okudum: "
    "https://kamusm.gov.tr/islemler/nitelikli-elektronik-sertifika/e-onay/basvuru-kosullari "
    "ve 5070 sayılı Kanun'un 22. maddesi.\n"
    "Son satır: onaylıyorum."
)


def pin_screen(text: str):
    def make() -> PinEntryScreen:
        return PinEntryScreen(
            values.challenge(CLOCK, text=text),
            values.certificate(),
            sign=never,
            submit=never,
            pin_state=lambda: values.NORMAL_PIN,
            card_present=lambda: True,
            poll_interval=3600,
        )

    return make


def pin_screen_with_banner(state: PinState, seconds: float = 285):
    """The PIN screen as `eonay demo` shows it, the banner taking a row."""

    def make() -> PinEntryScreen:
        return PinEntryScreen(
            values.challenge(CLOCK, purpose="e-onay", seconds=seconds),
            values.certificate(),
            sign=never,
            submit=never,
            pin_state=lambda: state,
            card_present=lambda: True,
            poll_interval=3600,
            banner=DEMO,
        )

    return make


def select_with_everything():
    """Step 2 as it can be at its fullest: banner, a message, several certificates (one
    unusable), the time left."""
    view = CardView(
        tokens=[values.token()],
        certificates=[
            values.certificate(),
            values.certificate(fingerprint="cc" * 32, key="EC P-384"),
            values.certificate(reason="expired", fingerprint="bb" * 32, key="EC P-256"),
        ],
        module_paths=MODULES,
    )
    return CertificateSelectScreen(
        lambda: view,
        lambda: MODULES,
        message=CertificateChangedError().user_message(),
        challenge=values.challenge(CLOCK),
        poll_interval=3600,
        banner=DEMO,
    )


def pin_pad_screen() -> PinEntryScreen:
    """The PIN screen for a PIN pad reader: its words in place of the field and keypad."""
    token = values.token()
    token = dataclasses.replace(token, flags=(*token.flags, PIN_PAD_FLAG))
    return PinEntryScreen(
        values.challenge(CLOCK, purpose="e-onay"),
        values.certificate(on=token),
        sign=never,
        submit=never,
        pin_state=lambda: values.NORMAL_PIN,
        card_present=lambda: True,
        poll_interval=3600,
        banner=DEMO,
    )


def e_onay_after_expiry():
    """Step 4 back from step 5 whose time ran out: the message, and Continue shown."""
    return EOnayConfirmScreen(
        values.holder(),
        start=never,
        signed_at=values.CREATED,
        message=time_over("e-onay"),
        banner=DEMO,
    )


def done_with_banner(already_active: bool):
    return lambda: DoneScreen(values.receipt(already_active=already_active), banner=DEMO)


def code_entry_with_message():
    return CodeEntryScreen(never, CLOCK, message=time_over("login"), banner=DEMO)


# Beside every snapshot's screen: the PIN screen with the demo banner and a two-line message
# (locked), and with the way-forward button too (the code's time is over); every other step
# with the banner and the longest of its messages (issue 16, point 10); a PIN pad reader's.
SCENES = {
    **SCREENS,
    "pin_demo_locked": (pin_screen_with_banner(PinState(PinTries.LOCKED)), None),
    "pin_demo_expired": (pin_screen_with_banner(values.NORMAL_PIN, seconds=0), None),
    "code_entry_message": (code_entry_with_message, None),
    "select_full": (select_with_everything, None),
    "e_onay_after_expiry": (e_onay_after_expiry, None),
    "done_demo": (done_with_banner(False), None),
    "done_demo_already_active": (done_with_banner(True), None),
    "pin_pad": (pin_pad_screen, None),
    **{
        f"help_{step.name.lower()}": (code_entry, lambda step=step: HelpDialog(step))
        for step in Step
    },
}


def painted(app, box: VerticalScroll) -> list[str]:
    """The lines inside the box's scrolling area as the terminal shows them now."""
    area = box.scrollable_content_region
    rows = screen_text(app).split("\n")[area.y : area.bottom]
    return [row[area.x : area.right] for row in rows]


@pytest.mark.parametrize("size", [(60, 18), (60, 20), (80, 24), (132, 43)], ids=str)
async def test_the_text_to_sign_wraps_and_is_never_cut_at_the_right_edge(size):
    app = ScreenHost(pin_screen(WIDE_TEXT))
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        box = app.screen.query_one("#text-box", VerticalScroll)
        text = app.screen.query_one("#text", Widget)
        assert box.max_scroll_x == 0  # nothing to the right of the box to scroll to
        assert text.outer_size.width <= box.scrollable_content_region.width
        lines: dict[int, str] = {}
        while True:  # page through the box, keeping each line where it belongs in the text
            top = round(box.scroll_y)
            for i, line in enumerate(painted(app, box)):
                lines[top + i] = line
            if box.scroll_y >= box.max_scroll_y:
                break
            await pilot.press("pagedown")
            await pilot.pause()
        shown = [lines[i] for i in sorted(lines)]
        # Every character of the text is on some line (the long address folded, not cut)...
        assert "".join("".join(shown).split()) == "".join(WIDE_TEXT.split())
        # ...and no line reaches past the box's last column (nothing drawn under its frame).
        assert all(len(line.rstrip()) <= box.scrollable_content_region.width for line in shown)


@pytest.mark.parametrize("size", [(60, 20), (MIN_WIDTH, MIN_HEIGHT)], ids=["60x20", "minimum"])
@pytest.mark.parametrize("language", ["tr", "en"])
@pytest.mark.parametrize("name", list(SCENES))
async def test_nothing_of_any_screen_is_cut_at_small_sizes(name, language, size):
    """Each widget of the screen (and of its dialog) lies wholly inside the terminal, and
    inside whatever contains it; texts wrap rather than lose their end."""
    make, dialog = SCENES[name]
    app = ScreenHost(make, language)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        if dialog is not None:
            await app.push_screen(dialog())
            await settle(pilot)
        screen = app.screen
        whole = screen.region
        for widget in screen.query("*"):
            if not widget.display or not widget.visible or widget.id == "size-notice":
                continue
            if any(not a.display for a in widget.ancestors if isinstance(a, Widget)):
                continue
            geometry = screen.find_widget(widget)
            assert whole.contains_region(geometry.region), (widget, geometry.region, whole)
            # Inside its container, unless the container scrolls (it can be scrolled to).
            scrolls = any(
                isinstance(a, VerticalScroll) or getattr(a, "allow_vertical_scroll", False)
                for a in widget.ancestors
                if isinstance(a, Widget) and a is not screen
            )
            if not scrolls or isinstance(widget, Button):  # a button always whole in sight
                assert geometry.visible_region == geometry.region, (widget, geometry)
            if isinstance(widget, Static) and not isinstance(widget, Button):
                # Its text, wrapped at its width, needs no more lines than it has.
                inner = widget.content_size
                needed = widget.get_content_height(whole.size, whole.size, inner.width)
                assert needed <= inner.height, (widget, needed, inner)
        text = screen_text(app)
        assert "Make the window larger" not in text and "Pencereyi büyütün" not in text
        # Every key of the key bar whole on its line (what Enter does included).
        [bar] = screen.query(KeyBar)
        cells = sum(cell_len(f" {k.display} ") + cell_len(k.description) for k in bar.keys)
        assert cells + len(bar.keys) - 1 <= whole.width, bar.keys
