"""The Textual app: wiring only. Services come in, screens go out, `tui.flow` decides.

The code-entry screen is the app's home: its default screen, drawn first,
with every later step pushed over it and popped to go back. Only once it is
drawn does the app import the flow and build the card and portal services (in
a background thread), so neither PyKCS11, cryptography, asn1crypto and httpx
nor the flow's own types are paid for before something is on the screen.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, ClassVar, Protocol

from textual import events
from textual.app import App, SuspendNotSupported
from textual.binding import Binding, BindingType

from tui.core.settings import Settings
from tui.i18n import N_, _, language_from_environment, set_language
from tui.resources import stylesheet
from tui.screens.base import FlowScreen
from tui.screens.code_entry import CodeEntryScreen
from tui.step_screens import ERROR, HELP, screen_for
from tui.steps import PIN_STEPS, Step
from tui.terminal_size import HORIZONTAL_BREAKPOINTS, VERTICAL_BREAKPOINTS, big_enough
from tui.widgets.code_field import CodeField

if TYPE_CHECKING:
    from tui.core.challenge import Challenge
    from tui.core.services import ServiceFactories
    from tui.flow import FlowState, Outcome, Transition
    from tui.operations import Operations

# What every screen shares, and the first screen's own stylesheet (read with
# the app's, it costs no second parse). Every other screen brings its own
# (its CSS_PATH, read when it is first shown) and is imported when first
# needed (`tui.step_screens`): the first screen pays for neither.
STYLESHEETS = ("app.tcss", "code_entry.tcss")

# Everything that ends the app lives here, so kiosk mode can leave it out.
QUIT_BINDINGS: tuple[Binding, ...] = (
    Binding("ctrl+q", "quit", N_("Quit"), key_display="Ctrl+Q", priority=True),
    Binding("ctrl+c", "quit_hint", show=False),
)
KIOSK_OFF_ACTIONS = frozenset(binding.action for binding in QUIT_BINDINGS)

KEY_NAMES = {"enter": "Enter", "escape": "Esc", "f1": "F1", "tab": "Tab"}

# What a person does; a countdown or a card poll is not activity.
ACTIVITY = (
    events.Key,
    events.MouseDown,
    events.MouseScrollDown,
    events.MouseScrollUp,
    events.Paste,
)

# What a person can do to a screen; none of it reaches one while the terminal is too small.
INPUT = (events.Key, events.MouseEvent, events.Paste)

# Kiosk mode: keyboard signals that would end or stop the app (when a terminal sends them).
KIOSK_IGNORED_SIGNALS = (signal.SIGINT, signal.SIGQUIT, signal.SIGTSTP)

IDLE_NOTICE = N_(
    "Nobody used the app for a while, so everything was cleared. Start again with a new code."
)


# After a hang-up there is no terminal to restore. Textual's writer thread was
# seen deadlocked in its shutdown then (main thread in WriterThread.stop's
# Queue.put, the writer in Queue.get), leaving an eonay with no terminal that
# still held the card: past this grace the process ends anyway.
HANGUP_GRACE_SECONDS = 10.0
SCREEN_READER = "-screen-reader"
"""The app's class in screen-reader mode; the countdown's stylesheet shows its words for it."""


def _exit_if_still_running(grace: float, code: int) -> None:
    def end() -> None:
        time.sleep(grace)
        os._exit(code)

    threading.Thread(target=end, name="hangup-grace", daemon=True).start()


# --- what the first screen does without: imported on first use, here and only here ---
# (The later screens: `tui.step_screens`; the services and the flow's modules: the
# warm-up, `EonayApp.ops`, right after the first paint.)


def start_state(message: str | None = None) -> FlowState:
    """The flow's start, with what to say there (if anything)."""
    from tui.flow import FlowState

    return FlowState(message=message)


def next_step(step: Step, state: FlowState, outcome: Outcome) -> Transition:
    """The flow's rule (`tui.flow.advance`): where `outcome` on `step` leads."""
    from tui.flow import advance

    return advance(step, state, outcome)


def log_bug(error: BaseException, where: str) -> str:
    """Log a bug, redacted (`tui.errorlog`); the reference a person can quote."""
    from tui.errorlog import log_unexpected

    return log_unexpected(error, where)


class DemoHints(Protocol):
    """What the demo banner shows in place of the portal's web page."""

    pin: str

    def new_code(self) -> str:
        """A fresh verification code (blocking)."""
        ...


class EonayApp(App[int], inherit_bindings=False):
    """E-imzalı Giriş and E-Onay, one screen per step of the guide."""

    TITLE = "eonay"
    CSS_PATH: ClassVar = [stylesheet(name) for name in STYLESHEETS]
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", N_("Help"), key_display="F1"),
        *QUIT_BINDINGS,  # turned off in kiosk mode by `check_action`
    ]
    # Size classes for every screen; below the minimum a notice covers it (tui/terminal_size.py).
    HORIZONTAL_BREAKPOINTS = HORIZONTAL_BREAKPOINTS
    VERTICAL_BREAKPOINTS = VERTICAL_BREAKPOINTS

    def __init__(
        self,
        services: ServiceFactories,
        settings: Settings | None = None,
        *,
        demo: DemoHints | None = None,
        log_path: str | None = None,
        poll_interval: float = 1.0,
        idle_check_interval: float = 1.0,
        randbelow: Callable[[int], int] | None = None,
        after_first_paint: Sequence[Callable[[], object]] = (),
    ) -> None:
        self.settings = settings or Settings()
        set_language(self.settings.language or language_from_environment())
        if self.settings.kiosk:
            # With this set, Textual lets ctrl+c, ctrl+z and ctrl+\ send signals: never in a kiosk.
            os.environ.pop("TEXTUAL_ALLOW_SIGNALS", None)
        # NO_COLOR: Textual's filter then drops every colour (the terminal's own are kept),
        # rather than turning each into a grey of its own that overrides them.
        super().__init__(ansi_color=True if os.environ.get("NO_COLOR") is not None else None)
        # Screen-reader mode: the stylesheets say what changes (the countdown in words).
        self.set_class(self.settings.screen_reader, SCREEN_READER)
        if self.settings.kiosk:
            # No mouse selection (drag, double or triple click) on any screen or widget, so
            # there is nothing to copy: the receipt and the holder's name stay on the screen.
            self.ALLOW_SELECT = False  # type: ignore[misc]  # per app: kiosk is a setting
        self.services = services
        self._ops: Operations | None = None
        self._ops_lock = threading.Lock()
        self.demo = demo
        self.log_path = log_path
        self.poll_interval = poll_interval
        self.idle_check_interval = idle_check_interval
        self.randbelow = randbelow  # shuffles the keypad; None: `secrets.randbelow`
        self._after_first_paint = tuple(after_first_paint)  # the command's deferred set-up
        self.step = Step.CODE_ENTRY
        self._state: FlowState | None = None  # None: the start, before the flow is imported
        self._signals: list[int] = []
        # Kiosk mode: back to the start after this many seconds without a key or click.
        self.idle_limit: float | None = (
            float(self.settings.kiosk_idle_seconds)
            if self.settings.kiosk and self.settings.kiosk_idle_seconds > 0
            else None
        )
        self._last_activity = services.clock.monotonic()

    @property
    def ops(self) -> Operations:
        """The steps' blocking calls; built on first use, normally right after the first paint."""
        with self._ops_lock:  # a worker thread may be the first to ask
            if self._ops is None:
                from tui.operations import Operations

                self._ops = Operations(self.services, self.settings)
            return self._ops

    @property
    def state(self) -> FlowState:
        """What the flow carries between screens (the start, until something happened)."""
        if self._state is None:
            self._state = start_state()
        return self._state

    @state.setter
    def state(self, state: FlowState) -> None:
        self._state = state

    # --- start and stop -----------------------------------------------------

    def get_default_screen(self) -> CodeEntryScreen:
        """Home: the code-entry screen is drawn first, every later step is pushed over it."""
        return CodeEntryScreen(
            self._fetch_challenge, self.services.clock, banner=self.banner(), home=True
        )

    def on_mount(self) -> None:
        lag_path = os.environ.get("EONAY_BENCH_LOOP_LAG")
        if lag_path:  # the benchmark's event-loop lag timer (tui/loop_lag.py), never otherwise
            from tui.loop_lag import start

            start(lag_path)
        if self.settings.theme in self.available_themes:
            self.theme = self.settings.theme
        self._install_signal_handlers()
        self._start_demo_code()
        # Only once the first screen is drawn: import the flow, build the heavy services.
        self.call_after_refresh(self._warm_up)
        if self.idle_limit is not None:
            self.set_interval(self.idle_check_interval, self.reset_if_idle)

    def _warm_up(self) -> None:
        self.run_worker(self._build_services, name="warm-up", thread=True, exit_on_error=False)

    def _build_services(self) -> None:
        try:
            for step in self._after_first_paint:
                step()
        finally:
            self._tell_setting_problems()
            self.ops.warm_up()  # the flow's modules too are imported here, off the event loop

    def _tell_setting_problems(self) -> None:
        """Settings that cannot work, on the first screen before a code is typed."""
        try:
            problems = self.ops.setting_problems()
        except Exception as error:  # a bug: logged; the lookup meets it again and says so
            log_bug(error, "settings-check")
            return
        if problems:
            self.call_from_thread(self.home.show_setting_problems, problems)

    def _fetch_challenge(self, code: str) -> Challenge:
        return self.ops.fetch_challenge(code)

    def on_unmount(self) -> None:
        self._remove_signal_handlers()
        if self._ops is not None:
            self._ops.close()

    def _install_signal_handlers(self) -> None:
        """SIGTERM and SIGHUP end the app the normal way, so the terminal is restored."""
        if self.is_headless:
            return
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGHUP):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self._on_signal, sig)
                self._signals.append(sig)
        if self.settings.kiosk:  # also replaces the handler with which Textual stops on SIGTSTP
            for sig in KIOSK_IGNORED_SIGNALS:
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.add_signal_handler(sig, self._ignore_signal, sig)
                    self._signals.append(sig)

    def _remove_signal_handlers(self) -> None:
        with contextlib.suppress(RuntimeError):
            loop = asyncio.get_running_loop()
            for sig in self._signals:
                loop.remove_signal_handler(sig)
        self._signals.clear()

    def _on_signal(self, sig: int) -> None:
        if sig == signal.SIGHUP:
            _exit_if_still_running(HANGUP_GRACE_SECONDS, 128 + sig)
        self.exit(return_code=128 + sig)

    def _ignore_signal(self, sig: int) -> None:
        """Kiosk mode: ctrl+c, ctrl+\\ and ctrl+z do not end or stop the app."""

    # --- the flow ---------------------------------------------------------------

    @property
    def home(self) -> CodeEntryScreen:
        home = self.screen_stack[0]
        assert isinstance(home, CodeEntryScreen)
        return home

    def show_step(self, step: Step, state: FlowState) -> None:
        if self.step in PIN_STEPS and step not in PIN_STEPS:
            # A PIN screen made the card ready for its signature: it lets go now
            # (after a signature it holds nothing, and this costs no card call).
            self.run_worker(
                self.ops.release_card, name="card-release", thread=True, exit_on_error=False
            )
        self.step, self.state = step, state
        if step is Step.CODE_ENTRY:
            self._go_home(state.message)
        else:
            self.push_screen(screen_for(self, step, state), self._on_outcome)

    def _go_home(self, message: str | None) -> None:
        """Pop every step and dialog over the code-entry screen, and clear it for a new code."""
        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.home.start_over(message=message, banner=self.banner())
        self._start_demo_code()

    def on_flow_screen_left(self, message: FlowScreen.Left) -> None:
        """The home screen stays where it is: it tells its outcome with a message."""
        self._on_outcome(message.outcome)

    def _on_outcome(self, outcome: Outcome | None) -> None:
        if outcome is None:
            return
        move = next_step(self.step, self.state, outcome)
        if move.step is None:
            self.finish()
        else:
            self.show_step(move.step, move.state)

    def finish(self) -> None:
        if self.settings.kiosk:
            self.reset_to_start()
        else:
            self.exit(return_code=0)

    def reset_to_start(self, message: str | None = None) -> None:
        """Drop every screen and all state, and begin again at code entry (kiosk, idle).

        Popping the screens unmounts them: the PIN field wipes its digits, and the
        flow state with the portal session (the only place it is kept), the
        challenge and the chosen certificate is replaced. The card is told to end
        every session, so no login outlives the person who made it.
        """
        self.show_step(Step.CODE_ENTRY, start_state(message))
        self.run_worker(
            self._end_card_sessions, name="card-reset", thread=True, exit_on_error=False
        )
        self._last_activity = self.services.clock.monotonic()

    def _end_card_sessions(self) -> None:
        try:
            self.ops.reset()
        except Exception as error:  # a bug: logged; the next person starts anyway
            log_bug(error, "card-reset")

    # --- the terminal's cursor follows the focus (braille displays read there) -------

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self.call_after_refresh(self._cursor_to_focus)

    def on_resize(self, event: events.Resize) -> None:
        self.call_after_refresh(self._cursor_to_focus)

    def _cursor_to_focus(self) -> None:
        from tui.widgets.terminal_cursor import follow

        if self.focused is not None:
            follow(self.focused)

    # --- kiosk: activity and the idle reset live here -----------------------------

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, ACTIVITY):
            self._last_activity = self.services.clock.monotonic()
        if self.too_small and isinstance(event, INPUT) and not self._lets_through(event):
            return  # the notice covers the screen: nothing on it may be typed, clicked or signed
        await super().on_event(event)

    @property
    def too_small(self) -> bool:
        """The terminal is below the minimum size: the notice replaces every screen."""
        width, height = self.size
        return not big_enough(width, height)

    def _lets_through(self, event: events.Event) -> bool:
        """Quitting still works in a terminal that is too small (never in a kiosk)."""
        return (
            isinstance(event, events.Key)
            and event.key in ("ctrl+q", "ctrl+c")
            and not self.settings.kiosk
        )

    def reset_if_idle(self) -> None:
        """In kiosk mode, forget everything after `idle_limit` seconds without input.

        An untouched code entry is left alone (resetting it would only blink); the
        notice that says why things were cleared goes with the next idle period.
        """
        if self.idle_limit is None:
            return
        if self.services.clock.monotonic() - self._last_activity < self.idle_limit:
            return
        self._last_activity = self.services.clock.monotonic()
        if self._nothing_to_forget():
            return
        self.reset_to_start(None if self._at_fresh_start() else _(IDLE_NOTICE))

    def _at_fresh_start(self) -> bool:
        """Code entry alone, with nothing typed in it."""
        screen = self.screen
        return (
            self.step is Step.CODE_ENTRY
            and len(self.screen_stack) == 1
            and isinstance(screen, CodeEntryScreen)
            and not any(field.value for field in screen.query(CodeField))
        )

    def _nothing_to_forget(self) -> bool:
        return self._at_fresh_start() and self.state.message is None

    # --- kiosk: no way out ------------------------------------------------------------

    async def action_quit(self) -> None:
        """Outside kiosk mode only; a kiosk ends by signal (SIGTERM) from its owner."""
        if not self.settings.kiosk:
            await super().action_quit()

    def action_suspend_process(self) -> None:
        if not self.settings.kiosk:
            super().action_suspend_process()

    @contextlib.contextmanager
    def suspend(self) -> Iterator[None]:
        """No shell, editor or other program gets the terminal from a kiosk."""
        if self.settings.kiosk:
            raise SuspendNotSupported("kiosk mode: the terminal stays with the app")
        with super().suspend():
            yield

    def copy_to_clipboard(self, text: str) -> None:
        """Never in a kiosk: an OSC 52 would leave the text in the terminal's clipboard
        for the next person (any widget's copy key ends here)."""
        if not self.settings.kiosk:
            super().copy_to_clipboard(text)

    def open_url(self, url: str, *, new_tab: bool = True) -> None:
        """No browser is opened from a kiosk."""
        if not self.settings.kiosk:
            super().open_url(url, new_tab=new_tab)

    # --- the demo banner ----------------------------------------------------------

    def banner(self, code: str | None = None) -> str | None:
        """The demo banner's text (None outside the demo); the code only on the home screen."""
        if self.demo is None:
            return None
        parts = [_("DEMO")]
        if self.step is Step.CODE_ENTRY:
            parts.append(_("Verification code: {code}").format(code=code or "…"))
        parts.append(_("PIN: {pin}").format(pin=self.demo.pin))
        return " · ".join(parts)

    def _start_demo_code(self) -> None:
        if self.demo is not None:
            self.run_worker(self._demo_code, name="demo-code", thread=True, exit_on_error=False)

    def _demo_code(self) -> None:
        assert self.demo is not None
        code = self.demo.new_code()
        self.call_from_thread(self._show_demo_code, code)

    def _show_demo_code(self, code: str) -> None:
        """On the home screen, even under F1's help; never on a later step."""
        text = self.banner(code)
        if self.step is Step.CODE_ENTRY and text is not None:
            self.home.set_banner(text)

    # --- help, errors, keys -------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Kiosk mode: no key ends the app (its owner ends it with SIGTERM or SIGHUP)."""
        # False hides the binding from the key bar, and its key does nothing.
        return not (self.settings.kiosk and action in KIOSK_OFF_ACTIONS)

    def action_help(self) -> None:
        help_dialog = HELP.load()
        if not isinstance(self.screen, help_dialog):
            self.push_screen(help_dialog(self.step, quit_key=not self.settings.kiosk))

    def action_quit_hint(self) -> None:
        self.notify(_("Press Ctrl+Q to quit."), markup=False)

    def report_unexpected(self, error: BaseException, where: str = "") -> None:
        """A bug, not a person's mistake: log it redacted, show a reference, keep running."""
        reference = log_bug(error, where)
        self.push_screen(ERROR.load()(reference, self.log_path), self._after_error)

    def _after_error(self, restart: bool | None) -> None:
        if restart:
            self.reset_to_start()

    def get_key_display(self, binding: Binding) -> str:
        if binding.key_display:
            return binding.key_display
        return KEY_NAMES.get(binding.key) or super().get_key_display(binding)
