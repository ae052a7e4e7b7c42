"""The app at the terminal's real size (tmux): from the start, after every resize, and the
notice below the minimum size. Issue 11: the app used to lay out at 80x24 whatever the size."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from tests.conftest import openssl_verify
from tests.e2e.terminal import Terminal
from tests.e2e.test_terminal import eonay_command

pytestmark = pytest.mark.e2e

KEY_BAR = "F1 Yardım"
NOTICE = "Pencereyi büyütün: en az 60×18"
UNSEEN = "Metnin tamamını görmeden imzalanamaz: PgDn / End"
SEEN = "Metnin sonu bu: Enter ile imzalayın."


def key_bar_rows(rows: list[str]) -> list[int]:
    return [i for i, row in enumerate(rows) if KEY_BAR in row]


def laid_out_at(width: int, height: int) -> Callable[[list[str]], bool]:
    """The window is this size, and the app uses all of it: one key bar, on its last row."""

    def check(rows: list[str]) -> bool:
        return len(rows) == height and key_bar_rows(rows) == [height - 1]

    return check


def pin_box_row(rows: list[str]) -> str | None:
    """The top border of the PIN box (its right edge is the screen's right edge)."""
    return next((row.rstrip() for row in rows if "┌─ PIN Kodu" in row), None)


def pin_screen_at(width: int, height: int) -> Callable[[list[str]], bool]:
    """The PIN screen fills the window: the PIN box's right border is in its last column."""

    def check(rows: list[str]) -> bool:
        top = pin_box_row(rows)
        return (
            laid_out_at(width, height)(rows)
            and top is not None
            and len(top) == width
            and top.endswith("┐")
            and "Kalan süre:" in "\n".join(rows)
        )

    return check


def left_column(rows: list[str]) -> str:
    """What the PIN screen shows left of the PIN box, rows joined."""
    top = pin_box_row(rows)
    assert top is not None
    edge = top.index("┌─ PIN Kodu")
    return "\n".join(row[:edge] for row in rows)


def start(terminal: Terminal, portal, demo_card) -> None:
    terminal.type(eonay_command(portal.url, demo_card.module_path, "--lang", "tr"))
    terminal.send("Enter")


def to_login_pin(terminal: Terminal, portal, demo_card) -> None:
    record = portal.new_login()
    start(terminal, portal, demo_card)
    terminal.wait_for("0/14 hane")
    terminal.type(record.code)
    terminal.wait_for("14/14 hane")
    terminal.send("Enter")
    terminal.wait_for("TEVFİK EDİS")
    terminal.send("Enter")
    terminal.wait_for("İmza: E-imzalı Giriş")


# Whether the simulator's E-Onay text (four paragraphs) is longer than its box at this size.
SIZES = [((60, 18), True), ((60, 20), True), ((80, 24), True), ((132, 43), False)]


@pytest.mark.parametrize(
    ("size", "e_onay_scrolls"), SIZES, ids=["60x18", "60x20", "80x24", "132x43"]
)
def test_the_guide_at_the_terminals_real_size(tmp_path, portal, demo_card, size, e_onay_scrolls):
    width, height = size
    env = {**demo_card.env, "XDG_STATE_HOME": str(tmp_path / "state")}
    terminal = Terminal(tmp_path, env, size=size)
    try:
        record = portal.new_login()
        start(terminal, portal, demo_card)
        terminal.wait_for("0/14 hane")
        terminal.wait_until(laid_out_at(width, height))
        terminal.type(record.code)
        terminal.wait_for("14/14 hane")
        terminal.send("Enter")
        terminal.wait_for("TEVFİK EDİS")
        terminal.wait_until(laid_out_at(width, height))
        terminal.wait_for("Kalan süre:")  # the code's time, from step 2 on (issue 16, point 2)
        terminal.send("Enter")

        shown = terminal.wait_until(pin_screen_at(width, height))
        rows = shown.split("\n")
        left = left_column(rows)
        # Nothing cut: the creation time whole, however narrow the column (issue 16, point 10).
        assert re.search(r"Oluşturma Tarihi: \d\d\.\d\d\.\d{4}\s+\d\d:\d\d:\d\d", left), shown
        assert "onaylıyorum." in left  # the login text, wrapped inside its box
        terminal.type(demo_card.pin)
        terminal.wait_for("*" * len(demo_card.pin))
        terminal.send("Enter")

        terminal.wait_for("E-ONAY İşlemleri")
        terminal.wait_until(laid_out_at(width, height))
        terminal.send("Enter")
        terminal.wait_for("Devam Et")
        terminal.send("Enter")
        terminal.wait_for("İmza: E-Onay")
        terminal.wait_until(pin_screen_at(width, height))
        terminal.type(demo_card.pin)
        terminal.wait_for("*" * len(demo_card.pin))
        terminal.send("Enter")
        if e_onay_scrolls:  # Enter shows the rest of the text first, and says why
            said = terminal.wait_until(lambda rows: any(UNSEEN in r or SEEN in r for r in rows))
            assert [r.purpose for r in portal.state.answered()] == ["login"]
            if UNSEEN in said:  # more than one page to go: End, straight to the last line
                terminal.send("End")
                terminal.wait_for(SEEN)
            terminal.send("Enter")

        done = terminal.wait_for("E-Onay'ınız artık etkin.")
        terminal.wait_until(laid_out_at(width, height))
        done = terminal.wait_for("Bitir")  # the buttons whole on the done screen
        assert "Baştan Başla" in done
        assert re.search(r"İmzalama Tarihi:\s+\d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d", done), done
        answered = portal.state.answered()
        assert [r.purpose for r in answered] == ["login", "e-onay"]
        [holder] = portal.state.holders()
        assert holder.e_onay_active and holder.reference and holder.reference in done
        for r in answered:
            assert openssl_verify(r.answer_cms, demo_card.root_pem, workdir=tmp_path) == (
                r.text.encode()
            )
        terminal.send("Enter")  # Bitir
        terminal.wait_for("EXIT=0")
    finally:
        terminal.close()


def test_a_resize_on_the_pin_screen_is_followed(terminal, portal, demo_card):
    to_login_pin(terminal, portal, demo_card)
    terminal.wait_until(pin_screen_at(80, 24))

    for width, height in ((132, 43), (60, 20), (100, 30)):
        terminal.resize(width, height)
        terminal.wait_until(pin_screen_at(width, height))

    for width, height in ((44, 24), (60, 17), (59, 20)):  # below the minimum: the notice only
        terminal.resize(width, height)
        shown = terminal.wait_until(
            lambda rows, h=height: len(rows) == h and NOTICE in "\n".join(rows)
        )
        assert "İmzalanacak Metin" not in shown and KEY_BAR not in shown
    # Nothing typed under the notice reaches the screen.
    terminal.type(demo_card.pin)
    terminal.send("Enter")
    terminal.wait_until_read()
    terminal.resize(60, 18)  # the minimum: the PIN screen again, whole
    shown = terminal.wait_until(pin_screen_at(60, 18))
    assert "İMZALA" in shown and "Kalan süre:" in shown
    assert "PIN'i yazın" in shown  # the digits typed under the notice went nowhere
    assert portal.state.answered() == []

    terminal.type(demo_card.pin)
    terminal.wait_for("*" * len(demo_card.pin))
    terminal.send("Enter")
    terminal.wait_for("E-ONAY İşlemleri")
    assert [r.purpose for r in portal.state.answered()] == ["login"]
    terminal.send("C-q")
    terminal.wait_for("EXIT=0")


def test_stale_columns_and_lines_do_not_pin_the_layout(tmp_path, portal, demo_card):
    """An exported COLUMNS/LINES (which `shutil.get_terminal_size` reads first) is not the size."""
    env = {**demo_card.env, "XDG_STATE_HOME": str(tmp_path / "state")}
    terminal = Terminal(tmp_path, env, size=(132, 43))
    try:
        line = eonay_command(portal.url, demo_card.module_path, "--lang", "tr")
        terminal.type(f"COLUMNS=80 LINES=24 {line}")
        terminal.send("Enter")
        terminal.wait_for("0/14 hane")
        terminal.wait_until(laid_out_at(132, 43))
        terminal.resize(100, 30)
        terminal.wait_until(laid_out_at(100, 30))
        terminal.send("C-q")
        terminal.wait_for("EXIT=0")
    finally:
        terminal.close()


def test_nothing_in_the_app_writes_to_its_standard_output(terminal, portal, demo_card, tmp_path):
    """fd 1 is the terminal Textual measures (and draws beside, on fd 2): a stray write there
    would land in the middle of the screen. Here fd 1 is a file; through a login signature
    (PyKCS11 and the card's driver at work) nothing arrives in it."""
    out = tmp_path / "stdout"
    record = portal.new_login()
    line = eonay_command(portal.url, demo_card.module_path, "--lang", "tr")
    app, tail = line.rsplit("; ", 1)
    terminal.type(f"{app} > {out}; {tail}")
    terminal.send("Enter")
    terminal.wait_for("0/14 hane")
    terminal.type(record.code)
    terminal.send("Enter")
    terminal.wait_for("TEVFİK EDİS")
    terminal.send("Enter")
    terminal.wait_for("İmza: E-imzalı Giriş")
    terminal.type(demo_card.pin)
    terminal.wait_for("*" * len(demo_card.pin))
    terminal.send("Enter")
    terminal.wait_for("E-ONAY İşlemleri")
    assert [r.purpose for r in portal.state.answered()] == ["login"]
    terminal.send("C-q")
    terminal.wait_for("EXIT=0")
    assert out.read_bytes() == b""


def test_started_in_a_small_terminal_the_notice_shows_until_it_is_larger(
    tmp_path, portal, demo_card
):
    env = {**demo_card.env, "XDG_STATE_HOME": str(tmp_path / "state")}
    terminal = Terminal(tmp_path, env, size=(50, 15))
    try:
        start(terminal, portal, demo_card)
        shown = terminal.wait_for(NOTICE)
        assert "Doğrulama Kodu" not in shown
        # (keys typed under the notice: test_a_resize_on_the_pin_screen_is_followed)
        terminal.resize(60, 18)
        terminal.wait_until(laid_out_at(60, 18))
        shown = terminal.wait_for("0/14 hane")
        assert NOTICE not in shown
        terminal.send("C-q")
        terminal.wait_for("EXIT=0")
    finally:
        terminal.close()
