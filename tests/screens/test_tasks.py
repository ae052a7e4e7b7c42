"""A screen task's outcome reaches its own handlers once, however late its messages are read."""

from __future__ import annotations

import gc
import threading
import weakref
from typing import Any

from textual.app import App
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from tests.screens.harness import ScreenHost, wait_for
from tui.core.errors import CardRemovedError, EonayError
from tui.flow import CardGone
from tui.screens.base import Dialog, FlowScreen
from tui.screens.tasks import TaskRunner


class Runner(TaskRunner, Screen[None]):
    pass


class Host(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.reported: list[tuple[str, str]] = []

    def on_mount(self) -> None:
        self.push_screen(Runner())

    def report_unexpected(self, error: BaseException, where: str = "") -> None:
        self.reported.append((str(error), where))


class Recorder:
    """One run's handlers: what each of them was given."""

    def __init__(self) -> None:
        self.done: list[Any] = []
        self.failed: list[EonayError] = []
        self.crashed = 0

    def on_done(self, result: Any) -> None:
        self.done.append(result)

    def on_failed(self, error: EonayError) -> None:
        self.failed.append(error)

    def on_crashed(self) -> None:
        self.crashed += 1

    @property
    def calls(self) -> tuple[list[Any], list[EonayError], int]:
        return self.done, self.failed, self.crashed


def boom() -> int:
    raise RuntimeError("bug")


def card_gone() -> int:
    raise CardRemovedError()


async def test_a_running_message_read_after_the_task_ended_is_not_its_outcome():
    """On a loaded machine the RUNNING message can be handled after the worker finished;
    it must not count as the result (nor the error) a second time."""
    app = Host()
    async with app.run_test() as pilot:
        screen = app.screen
        assert isinstance(screen, Runner)
        ok = Recorder()
        worker = screen.run_task(lambda: 42, ok.on_done, name="job", crashed=ok.on_crashed)
        await wait_for(pilot, lambda: bool(ok.done))
        screen.on_worker_state_changed(Worker.StateChanged(worker, WorkerState.RUNNING))
        screen.on_worker_state_changed(Worker.StateChanged(worker, WorkerState.PENDING))
        screen.on_worker_state_changed(Worker.StateChanged(worker, WorkerState.SUCCESS))
        assert ok.calls == ([42], [], 0)

        broken = Recorder()
        failing = screen.run_task(boom, broken.on_done, name="broken", crashed=broken.on_crashed)
        await wait_for(pilot, lambda: bool(app.reported))
        assert app.reported == [("bug", "broken")] and broken.calls == ([], [], 1)
        screen.on_worker_state_changed(Worker.StateChanged(failing, WorkerState.RUNNING))
        screen.on_worker_state_changed(Worker.StateChanged(failing, WorkerState.ERROR))
        assert app.reported == [("bug", "broken")] and broken.calls == ([], [], 1)


async def test_a_persons_error_goes_to_the_run_that_can_show_it_and_a_bug_to_the_app():
    app = Host()
    async with app.run_test() as pilot:
        screen = app.screen
        assert isinstance(screen, Runner)
        shown = Recorder()
        screen.run_task(
            card_gone, shown.on_done, name="a", failed=shown.on_failed, crashed=shown.on_crashed
        )
        bug = Recorder()
        screen.run_task(boom, bug.on_done, name="b", failed=bug.on_failed, crashed=bug.on_crashed)
        unshown = Recorder()
        screen.run_task(card_gone, unshown.on_done, name="c", crashed=unshown.on_crashed)
        await wait_for(pilot, lambda: len(app.reported) == 2 and bool(shown.failed))
        assert [type(e) for e in shown.failed] == [CardRemovedError] and shown.crashed == 0
        # Not a person's error, though the run could show one: a bug, on the app's error screen.
        assert bug.calls == ([], [], 1)
        # A person's error that nothing on the screen shows is a bug too.
        assert unshown.calls == ([], [], 1)
        assert sorted(where for _text, where in app.reported) == ["b", "c"]


async def test_a_newer_run_of_the_same_name_cancels_the_earlier_and_drops_its_handlers():
    """Exclusive by name: the earlier run's result, once its thread returns, reaches nothing,
    and nothing of its handlers (nor what they hold) is kept."""
    app = Host()
    started, release = threading.Event(), threading.Event()

    def slow() -> str:
        started.set()
        release.wait(10)
        return "earlier"

    async with app.run_test() as pilot:
        screen = app.screen
        assert isinstance(screen, Runner)
        earlier = Recorder()
        kept = weakref.ref(earlier)
        first = screen.run_task(slow, earlier.on_done, name="poll", crashed=earlier.on_crashed)
        await wait_for(pilot, started.is_set)  # in its thread, which a cancel does not stop
        later = Recorder()
        screen.run_task(lambda: "later", later.on_done, name="poll")
        assert first.is_cancelled
        del earlier
        release.set()
        await wait_for(pilot, lambda: bool(later.done) and first.is_finished)
        await pilot.pause()
        assert later.done == ["later"]
        gc.collect()
        assert kept() is None
        assert app.reported == []


async def test_a_run_cancelled_by_its_screen_reaches_nothing():
    app = Host()
    started, release = threading.Event(), threading.Event()

    def slow() -> int:
        started.set()
        release.wait(10)
        return 1

    async with app.run_test() as pilot:
        screen = app.screen
        assert isinstance(screen, Runner)
        cancelled = Recorder()
        kept = weakref.ref(cancelled)
        worker = screen.run_task(
            slow, cancelled.on_done, name="lookup", crashed=cancelled.on_crashed
        )
        await wait_for(pilot, started.is_set)
        worker.cancel()
        # An outcome read after the cancel (it ended just before) is not this run's any more.
        screen.on_worker_state_changed(Worker.StateChanged(worker, WorkerState.SUCCESS))
        release.set()
        await wait_for(pilot, lambda: worker.is_finished)
        await pilot.pause()
        assert cancelled.calls == ([], [], 0)
        del cancelled
        gc.collect()
        assert kept() is None


async def test_a_run_cancelled_before_it_started_is_dropped_too():
    """Cancelled before its task began, a run never says it ended: its handlers go anyway."""
    app = Host()
    async with app.run_test() as pilot:
        screen = app.screen
        assert isinstance(screen, Runner)
        never = Recorder()
        kept = weakref.ref(never)
        worker = screen.run_task(lambda: 1, never.on_done, name="poll", crashed=never.on_crashed)
        worker.cancel()
        del never
        other = Recorder()
        screen.run_task(lambda: 2, other.on_done, name="other")
        await wait_for(pilot, lambda: bool(other.done))
        gc.collect()
        assert kept() is None and other.done == [2]


def test_dialogs_run_no_tasks():
    assert not issubclass(Dialog, TaskRunner)
    assert issubclass(FlowScreen, TaskRunner)


class Step(FlowScreen):
    pass


async def test_a_step_is_left_once_however_many_workers_end_after():
    """A card poll and the PIN state read can both see the card gone: the second `leave`
    (after the step was dismissed) changes nothing and raises nothing."""
    app = ScreenHost(Step)
    async with app.run_test() as pilot:
        step = app.screen
        assert isinstance(step, Step)
        step.leave(CardGone("first"))
        await pilot.pause()
        step.leave(CardGone("second"))
        await pilot.pause()
        assert step.left == CardGone("first")
    assert app.results == [CardGone("first")]
    assert app.unexpected == []
