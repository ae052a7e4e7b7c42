"""For the benchmark only: how late the event loop runs a 1 ms timer.

With `EONAY_BENCH_LOOP_LAG=PATH` set, the app imports this module and starts a
task on its event loop that sleeps 1 ms again and again and notes, each time,
when it should have woken and how late it did. At exit the pairs go to PATH as
text, one `EXPECTED LATE` per line, in seconds of `time.monotonic()` (the
loop's clock, the same CLOCK_MONOTONIC as the benchmark's `perf_counter`). A
card call that holds the loop (or Python's GIL) shows as lateness. Without the
variable nothing of this is imported.
"""

from __future__ import annotations

import asyncio
import atexit
from array import array
from pathlib import Path

ENV = "EONAY_BENCH_LOOP_LAG"
INTERVAL = 0.001


class LoopLag:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.samples = array("d")  # expected, late, expected, late ...
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        samples = self.samples
        while True:
            expected = loop.time() + INTERVAL
            await asyncio.sleep(INTERVAL)
            samples.append(expected)
            samples.append(loop.time() - expected)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._tick())
        atexit.register(self.write)

    def write(self) -> None:
        pairs = zip(self.samples[0::2], self.samples[1::2], strict=True)
        self.path.write_text("".join(f"{e:.6f} {late:.6f}\n" for e, late in pairs))


def start(path: str) -> LoopLag:
    """Start measuring on the running loop; the samples are written at exit."""
    lag = LoopLag(Path(path))
    lag.start()
    return lag
