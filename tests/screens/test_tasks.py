"""A screen task's outcome reaches the screen once, however late its messages are read."""

from __future__ import annotations

from typing import Any

from textual.app import App
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from tests.screens.harness import ScreenHost, wait_for
from tui.flow import CardGone
from tui.screens.base import FlowScreen, TaskRunner


class Counting(TaskRunner, Screen[None]):
    def __init__(self) -> None:
        super().__init__()
        self.done: list[tuple[str, Any]] = []
        self.crashed: list[str] = []

    def task_done(self, name: str, result: Any) -> None:
        self.done.append((name, result))

    def task_crashed(self, name: str) -> None:
        self.crashed.append(name)


class Host(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.reported: list[BaseException] = []

    def on_mount(self) -> None:
        self.push_screen(Counting())

    def report_unexpected(self, error: BaseException, where: str = "") -> None:
        self.reported.append(error)


async def test_a_running_message_read_after_the_task_ended_is_not_its_outcome():
    """On a loaded machine the RUNNING message can be handled after the worker finished;
    it must not count as the result (nor the error) a second time."""
    app = Host()
    async with app.run_test() as pilot:
        screen = app.screen
        assert isinstance(screen, Counting)
        worker = screen.run_task("job", lambda: 42)
        await wait_for(pilot, lambda: bool(screen.done))
        assert screen.done == [("job", 42)]
        screen.on_worker_state_changed(Worker.StateChanged(worker, WorkerState.RUNNING))
        screen.on_worker_state_changed(Worker.StateChanged(worker, WorkerState.PENDING))
        assert screen.done == [("job", 42)]

        def boom() -> None:
            raise RuntimeError("bug")

        failing = screen.run_task("broken", boom)
        await wait_for(pilot, lambda: bool(app.reported))
        assert [str(e) for e in app.reported] == ["bug"] and screen.crashed == ["broken"]
        screen.on_worker_state_changed(Worker.StateChanged(failing, WorkerState.RUNNING))
        assert [str(e) for e in app.reported] == ["bug"] and screen.crashed == ["broken"]


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
