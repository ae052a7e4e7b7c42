"""The PIN field, code field, countdown and keypad on their own."""

from __future__ import annotations

import pytest
from textual import events
from textual.app import App, ComposeResult

from tests.screens import values
from tests.screens.harness import screen_text
from tui.core.clock import Deadline
from tui.i18n import set_language
from tui.widgets.code_field import CodeField
from tui.widgets.countdown import Countdown, Seconds, clock_text
from tui.widgets.keypad import BACKSPACE, CLEAR, Keypad
from tui.widgets.pin_field import PinField


class Host(App[None]):
    def __init__(self, *widgets) -> None:
        set_language("en")
        super().__init__()
        self.widgets = widgets
        self.messages: list[object] = []

    def compose(self) -> ComposeResult:
        yield from self.widgets

    def on_pin_field_refused(self, event: PinField.Refused) -> None:
        self.messages.append(event)

    def on_pin_field_submitted(self, event: PinField.Submitted) -> None:
        self.messages.append(event)

    def on_countdown_expired(self, event: Countdown.Expired) -> None:
        self.messages.append(event)

    def on_keypad_pressed(self, event: Keypad.Pressed) -> None:
        self.messages.append(event.key)

    def on_code_field_changed(self, event: CodeField.Changed) -> None:
        self.messages.append(("changed", event.value))

    def on_code_field_submitted(self, event: CodeField.Submitted) -> None:
        self.messages.append(("submitted", event.value))


def _strings_in(obj: object) -> list[str]:
    return [v for v in vars(obj).values() if isinstance(v, str)]


async def test_pin_field_keeps_digits_in_a_bytearray_and_shows_only_stars():
    field = PinField(max_length=8)
    app = Host(field)
    async with app.run_test() as pilot:
        await pilot.press("1", "2", "3", "4", "5", "6")
        assert field.length == 6
        assert str(field.render()) == "******"
        store = field._pin.buffer().obj  # a view of the Pin's one fixed bytearray
        assert isinstance(store, bytearray) and store[:6] == b"123456"
        assert not any("123456" in s for s in _strings_in(field))
        assert "123456" not in repr(field._pin)
        await pilot.press("backspace")
        assert field.length == 5
        await pilot.press("a", "space", "-")  # not digits: ignored
        assert field.length == 5
        await pilot.press("enter")
        assert any(isinstance(m, PinField.Submitted) for m in app.messages)
        pin = field.take()
        assert bytes(pin.buffer()) == b"12345" and field.length == 0
        assert pin.buffer().obj is store  # handed over, not copied
        pin.wipe()
        assert len(pin.buffer()) == 0 and not any(store)


async def test_pin_field_stops_at_the_token_maximum():
    field = PinField(max_length=4)
    async with Host(field).run_test() as pilot:
        await pilot.press(*"123456")
        assert field.length == 4


async def test_pin_field_refuses_copy_cut_and_paste():
    field = PinField()
    app = Host(field)
    async with app.run_test() as pilot:
        await pilot.press("1", "2", "3", "4")
        for key in ("ctrl+c", "ctrl+x", "ctrl+insert"):
            await pilot.press(key)
        field.post_message(events.Paste("9999"))
        await pilot.pause()
        refused = [m.what for m in app.messages if isinstance(m, PinField.Refused)]
        assert refused == ["copy", "copy", "copy", "paste"]
        assert app.clipboard == ""  # nothing reached Textual's clipboard (nor OSC 52)
        assert field.length == 4
        assert not app.is_running or app.screen is not None  # ctrl+c did not quit


async def renders_while_idle(pilot, widget, seconds: float = 0.8) -> int:
    """How often `widget` drew itself while nobody did anything."""
    renders = 0
    original = widget.render

    def counting_render():
        nonlocal renders
        renders += 1
        return original()

    widget.render = counting_render
    await pilot.pause(seconds)
    widget.render = original
    return renders


async def test_pin_field_is_wiped_when_removed_and_never_redraws_by_itself():
    field = PinField()
    app = Host(field)
    async with app.run_test() as pilot:
        await pilot.press("1", "2", "3", "4")
        store = field._pin.buffer().obj
        assert isinstance(store, bytearray) and store[:4] == b"1234"
        assert await renders_while_idle(pilot, field) == 0
        await field.remove()
        assert not any(store)  # the whole buffer is zero


async def test_code_field_keeps_digits_and_drops_separators():
    field = CodeField()
    async with Host(field).run_test() as pilot:
        field.post_message(events.Paste("4958 6779-463734"))
        await pilot.pause()
        assert field.value == "49586779463734"
        await pilot.press("5")  # a 15th digit is refused
        assert field.value == "49586779463734"
        field.value = ""
        await pilot.press("4", "x", "9", "-")
        assert field.value == "49"


async def test_code_field_edits_at_its_cursor_and_says_so():
    field = CodeField()
    app = Host(field)
    async with app.run_test() as pilot:
        field.focus()
        await pilot.press("1", "2", "3", "4", "left", "left", "9")
        assert (field.value, field.cursor) == ("12934", 3)
        await pilot.press("backspace", "delete")
        assert (field.value, field.cursor) == ("124", 2)
        await pilot.press("home", "5", "end", "6")
        assert (field.value, field.cursor) == ("51246", 5)
        await pilot.press("left", "left", "ctrl+u")
        assert (field.value, field.cursor) == ("46", 0)
        await pilot.click(CodeField, offset=(3 + 1, 1))  # border, padding 2, then the 2nd digit
        assert field.cursor == 1
        await pilot.press("enter")
        await pilot.pause()
        changed = [value for kind, value in app.messages if kind == "changed"]
        assert changed[-1] == "46"
        assert [value for kind, value in app.messages if kind == "submitted"] == ["46"]


async def test_code_field_never_redraws_by_itself():
    field = CodeField()
    async with Host(field).run_test() as pilot:
        field.focus()
        await pilot.press("4", "9")
        await pilot.pause()
        assert await renders_while_idle(pilot, field) == 0
        # Nothing that could: Textual's Input runs a timer for its blinking cursor (though
        # Textual keeps it from blinking in tests, which is why the count alone is not enough).
        assert not field._timers


async def test_countdown_is_derived_from_the_deadline_and_repaints_only_its_digits():
    clock = values.fake_clock()
    deadline = Deadline.in_seconds(285, clock)
    countdown = Countdown(deadline.remaining, interval=3600)
    app = Host(countdown)
    async with app.run_test() as pilot:
        digits = countdown.query_one(Seconds)
        assert digits.value == 285 and not countdown.has_class("-urgent")
        await pilot.pause()
        assert "Time left: 4:45" in screen_text(app)
        painted: list[str] = []
        for widget in countdown.query("*"):
            original = widget.render

            def spy(widget=widget, original=original):
                painted.append(type(widget).__name__)
                return original()

            widget.render = spy  # type: ignore[method-assign]
        clock.advance(100)
        countdown.tick()
        await pilot.pause()
        assert "Time left: 3:05" in screen_text(app)  # from the deadline, not one tick less
        assert painted == ["Seconds"]  # the words around the digits were not drawn again
        clock.advance(155.5)
        countdown.tick()
        await pilot.pause()
        assert digits.value == 30 and countdown.has_class("-urgent")
        clock.advance(30)
        countdown.tick()
        await pilot.pause()
        assert digits.value == 0
        assert sum(isinstance(m, Countdown.Expired) for m in app.messages) == 1
        countdown.tick()
        await pilot.pause()
        assert sum(isinstance(m, Countdown.Expired) for m in app.messages) == 1


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0:00"),
        (9, "0:09"),
        (59, "0:59"),
        (60, "1:00"),
        (600, "10:00"),
        (3599, "59:59"),
        (3600, "1:00:00"),
        (3900, "1:05:00"),  # 1 h 5 min
        (2 * 86400, "48:00:00"),  # 2 days
        (2 * 86400 + 3 * 3600 + 4 * 60 + 5, "51:04:05"),
        (1_000_000, "277:46:40"),
    ],
)
def test_clock_text_shows_any_time_left_in_full(seconds, shown):
    assert clock_text(seconds) == shown


@pytest.mark.parametrize(
    ("left", "then", "shown_first", "shown_then"),
    [
        (3900, 3600, "1:05:00", "5:00"),
        (2 * 86400 + 5, 86400, "48:00:05", "24:00:05"),
        (36_000, 27_000, "10:00:00", "2:30:00"),  # narrower: the old width leaves no trace
        (601, 2, "10:01", "9:59"),
    ],
)
async def test_the_countdown_shows_long_times_whole_as_they_change_width(
    left, then, shown_first, shown_then
):
    clock = values.fake_clock()
    deadline = Deadline.in_seconds(left, clock)
    countdown = Countdown(deadline.remaining, interval=3600)
    app = Host(countdown)
    async with app.run_test() as pilot:
        await pilot.pause()
        assert screen_text(app).splitlines()[0].rstrip() == f"Time left: {shown_first}"
        clock.advance(then)
        countdown.tick()
        await pilot.pause()
        assert screen_text(app).splitlines()[0].rstrip() == f"Time left: {shown_then}"


async def test_keypad_posts_its_keys_in_any_digit_order():
    pad = Keypad("7894561230")
    app = Host(pad)
    async with app.run_test() as pilot:
        buttons = {b.name: b for b in pad.query("KeypadButton")}
        for name in ("7", CLEAR, "0", BACKSPACE):
            await pilot.click(buttons[name])
        assert app.messages == ["7", CLEAR, "0", BACKSPACE]
        assert [b.name for b in pad.query(".digit")] == [*"789456123", "0"]
        assert not any(b.can_focus for b in pad.query("KeypadButton"))
