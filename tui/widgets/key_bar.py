"""The bottom line: the keys the current step answers to, in the person's language.

Textual's `Footer` makes three widgets per key, each with its own
stylesheet, and composes them again whenever the bindings change; on the
first screen that was a good part of what eonay cost beyond a bare Textual
app. One line of styled text says the same, and a click on a key still
presses it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, NamedTuple

from rich.cells import cell_len
from textual.content import Content
from textual.widget import Widget

from tui.i18n import _

if TYPE_CHECKING:
    from textual import events
    from textual.screen import Screen
    from textual.style import Style


class ShownKey(NamedTuple):
    key: str  # what a click presses
    display: str  # "F1", "Ctrl+Q", "Enter"
    description: str
    enabled: bool


class KeyBar(Widget):
    """One key per action, in the order Textual resolves them (focused widget first).

    A widget with a `key_description(action) -> str | None` method names what its key
    does at the moment (a button says its label: "Enter Bitir", not "Enter Seç"); the
    widget refreshes the bindings when that changes.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "key-bar--key",
        "key-bar--description",
        "key-bar--disabled",
    }

    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        width: 1fr;
        background: $footer-background;
        color: $footer-foreground;
        & > .key-bar--key { color: $footer-key-foreground; text-style: bold; }
        & > .key-bar--description { color: $footer-description-foreground; }
        & > .key-bar--disabled { text-style: dim; }
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self.keys: list[ShownKey] = []
        self._spans: list[tuple[int, int, ShownKey]] = []  # cells each key takes, for clicks

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._read_keys()

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        if self.is_attached and screen is self.screen:
            self._read_keys()

    def _read_keys(self) -> None:
        keys: list[ShownKey] = []
        actions: set[str] = set()
        for node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if not binding.show or binding.action in actions:
                continue
            actions.add(binding.action)
            display = self.app.get_key_display(binding)
            # BINDINGS are read at import, before the language is chosen: they hold
            # msgids (marked with N_), translated here, where they are shown.
            description = _(binding.description) if binding.description else ""
            # A widget may say what its key does now (a button: its own label).
            describe = getattr(node, "key_description", None)
            if callable(describe):
                description = describe(binding.action) or description
            keys.append(ShownKey(binding.key, display, description, enabled))
        if keys != self.keys:
            self.keys = keys
            self.refresh()

    def render(self) -> Content:
        key_style = self.get_visual_style("key-bar--key", partial=True)
        text_style = self.get_visual_style("key-bar--description", partial=True)
        dim = self.get_visual_style("key-bar--disabled", partial=True)
        parts: list[tuple[str, str | Style]] = []
        spans: list[tuple[int, int, ShownKey]] = []
        x = 0
        for shown in self.keys:
            key_text, text = f" {shown.display} ", f"{shown.description} "
            if shown.enabled:
                parts += [(key_text, key_style), (text, text_style)]
            else:
                parts += [(key_text, key_style + dim), (text, text_style + dim)]
            width = cell_len(key_text) + cell_len(text)
            spans.append((x, x + width, shown))
            x += width
        self._spans = spans
        return Content.assemble(*parts)

    def on_click(self, event: events.Click) -> None:
        for start, end, shown in self._spans:
            if start <= event.x < end:
                event.stop()
                if shown.enabled:
                    self.app.simulate_key(shown.key)
                else:
                    self.app.bell()
                return
