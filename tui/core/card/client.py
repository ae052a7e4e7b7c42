"""`CardService` in the UI process: every call is a request to the card process.

The card process (`tui.core.card.process`) loads the PKCS#11 modules and
signs; this side never imports PyKCS11. Requests go one at a time (the app's
one card lock, in `tui.operations`, sees to it), each with a deadline: past it
the process is killed and `CardDriverHungError` is raised; a process that ends
mid-request (a driver that crashed) gives `CardDriverStoppedError`. Either
way nothing was signed, and the next call starts a fresh process. See
docs/card-process.md.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar, cast

from tui.core.card.protocol import (
    MAX_PIN_BYTES,
    CloseCard,
    ListCertificates,
    ListTokens,
    PrepareSignature,
    ProtocolViolation,
    ReadPinState,
    ReleaseSession,
    Reply,
    Request,
    ResetSessions,
    SignText,
    decode_ready,
    decode_reply,
    encode_request,
    read_frame,
    send_frame,
)
from tui.core.errors import (
    CardDriverHungError,
    CardDriverStoppedError,
    EonayError,
    PinLengthError,
)

if TYPE_CHECKING:
    from tui.core.card_info import CertificateInfo, PinState, Signature, TokenInfo
    from tui.core.pin import Pin
    from tui.core.text import SignableText

log = logging.getLogger(__name__)

T = TypeVar("T")

# How long the card process may take to answer, in seconds. A listing reads every
# object of every token (slow on a remote card); a signature may wait on a PIN pad.
LISTING_SECONDS = 30.0
PIN_STATE_SECONDS = 30.0
SIGN_SECONDS = 60.0
RESET_SECONDS = 10.0
CLOSE_SECONDS = 5.0  # to close sessions and exit, before it is killed
START_SECONDS = 30.0  # to start Python and harden itself (a loaded machine is slow)


@dataclass(frozen=True)
class CardDeadlines:
    listing: float = LISTING_SECONDS
    pin_state: float = PIN_STATE_SECONDS
    sign: float = SIGN_SECONDS
    reset: float = RESET_SECONDS
    close: float = CLOSE_SECONDS
    start: float = START_SECONDS


class _Spawner:
    """One long-lived thread that starts every card process.

    PR_SET_PDEATHSIG fires when the *thread* that forked the child ends, not
    the process: a card process started from a short-lived worker thread would
    be killed as soon as that worker finished. This thread lives until `stop`.
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[_Job[object] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def run(self, make: Callable[[], T]) -> T:
        job: _Job[T] = _Job(make)
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._serve, name="card-process-spawner", daemon=True
                )
                self._thread.start()
            self._jobs.put(job)  # type: ignore[arg-type]
        return job.result()

    def _serve(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            job.run()

    def stop(self) -> None:
        with self._lock:
            if self._thread is not None:
                self._jobs.put(None)
                self._thread.join()
                self._thread = None


class _Job(Generic[T]):
    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._done = threading.Event()
        self._value: T | None = None
        self._error: BaseException | None = None

    def run(self) -> None:
        try:
            self._value = self._make()
        except BaseException as err:
            self._error = err
        finally:
            self._done.set()

    def result(self) -> T:
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]


@dataclass
class _Connection:
    process: subprocess.Popen[bytes]
    sock: socket.socket


class CardProcessClient:
    """`tui.core.services.CardService` through a card process of its own.

    One caller at a time (the app's one card lock is `Operations`'): one request
    is on the socket until its answer is read, so no lock is needed here.
    """

    def __init__(
        self,
        module_paths: Sequence[str],
        *,
        pss: bool = False,
        log_path: str | Path | None = None,
        deadlines: CardDeadlines | None = None,
        start: bool = True,
    ) -> None:
        self._paths = list(module_paths)
        self._pss = pss
        self._log_path = str(log_path) if log_path else None
        self.deadlines = deadlines or CardDeadlines()
        self.load_errors: dict[str, EonayError] = {}
        self._spawner = _Spawner()
        self._conn: _Connection | None = None
        if start:  # the process loads its libraries now, while the person reads the screen
            self._connection()

    @property
    def pid(self) -> int | None:
        """The running card process's id (for logs and tests); None when none runs."""
        conn = self._conn
        if conn is None or conn.process.poll() is not None:
            return None
        return conn.process.pid

    # --- CardService ----------------------------------------------------------

    def module_paths(self) -> list[str]:
        return list(self._paths)

    def tokens(self) -> list[TokenInfo]:
        return cast("list[TokenInfo]", self._call(ListTokens(), self.deadlines.listing).value)

    def certificates(self) -> list[CertificateInfo]:
        reply = self._call(ListCertificates(), self.deadlines.listing)
        return cast("list[CertificateInfo]", reply.value)

    def pin_state(self, cert: CertificateInfo) -> PinState:
        return cast("PinState", self._call(ReadPinState(cert), self.deadlines.pin_state).value)

    def prepare(self, cert: CertificateInfo) -> PinState:
        request = PrepareSignature(cert)
        return cast("PinState", self._call(request, self.deadlines.pin_state).value)

    def release(self) -> None:
        """The held session ends; a process not running holds none."""
        if self._conn is None or self._conn.process.poll() is not None:
            return
        self._call(ReleaseSession(), self.deadlines.reset)

    def sign(self, cert: CertificateInfo, pin: Pin, text: SignableText, nonce: bytes) -> Signature:
        """The PIN goes from its own buffer to the card process; wiped here when done."""
        try:
            if len(pin) > MAX_PIN_BYTES:  # longer than any card takes: never sent
                raise PinLengthError(cert.token.min_pin, min(cert.token.max_pin, MAX_PIN_BYTES))
            request = SignText(cert, text, nonce, len(pin))
            return cast("Signature", self._call(request, self.deadlines.sign, pin).value)
        finally:
            pin.wipe()

    def reset(self) -> None:
        """Every session of the card process ends; a process not running has none."""
        if self._conn is None or self._conn.process.poll() is not None:
            return
        try:
            self._exchange(ResetSessions(), self.deadlines.reset)
        except CardDriverStoppedError as err:  # killed or dead: its sessions are gone too
            log.warning("card reset: %s", err)

    def close(self) -> None:
        """Ask the card process to close its sessions and exit; kill it if it does not."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                send_frame(conn.sock, encode_request(CloseCard()))
                read_frame(conn.sock, time.monotonic() + self.deadlines.close)
            except (OSError, EOFError, ProtocolViolation) as err:
                log.info("card process did not answer close: %s", err)
            self._end(conn, grace=self.deadlines.close)
        self._spawner.stop()

    # --- the process ----------------------------------------------------------

    def _call(self, request: Request, deadline: float, pin: Pin | None = None) -> Reply:
        reply = self._exchange(request, deadline, pin)
        if isinstance(request, ListTokens | ListCertificates):
            self.load_errors = reply.load_errors
        return reply

    def _exchange(self, request: Request, deadline: float, pin: Pin | None = None) -> Reply:
        """One request and its answer."""
        payload = encode_request(request)
        conn = self._connection()
        ends = time.monotonic() + deadline
        try:
            conn.sock.settimeout(deadline)
            send_frame(conn.sock, payload, pin.buffer() if pin is not None else None)
            answer = read_frame(conn.sock, ends)
        except TimeoutError:
            self._lose(conn, grace=0)
            raise CardDriverHungError(
                f"card process gave no answer to {request.op} in {deadline:g} s"
            ) from None
        except (EOFError, OSError) as err:
            answer = None
            log.debug("card process connection: %s", err)
        if answer is None:
            code = self._lose(conn, grace=CLOSE_SECONDS)
            raise CardDriverStoppedError(f"card process ended during {request.op} ({code})")
        try:
            return decode_reply(request, answer)
        except ProtocolViolation as err:  # out of step: no later answer can be trusted
            self._lose(conn, grace=0)
            raise CardDriverStoppedError(f"card process answered nonsense: {err}") from None

    def _connection(self) -> _Connection:
        conn = self._conn
        if conn is not None and conn.process.poll() is None:
            return conn
        if conn is not None:  # ended while idle: nothing was asked of it, start again quietly
            log.warning("card process ended while idle (%s)", _status(conn.process.returncode))
            self._lose(conn, grace=0)
        self._conn = self._spawner.run(self._start)
        return self._conn

    def _start(self) -> _Connection:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        argv = [
            sys.executable,
            "-m",
            "tui.core.card.process",
            "--fd",
            str(theirs.fileno()),
            "--parent",
            str(os.getpid()),
        ]
        for path in self._paths:
            argv += ["--module", path]
        if self._log_path:
            argv += ["--log", self._log_path]
        if self._pss:
            argv.append("--pss")
        output = self._output()
        try:
            process = subprocess.Popen(
                argv,
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=output,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
            os.close(output)
        conn = _Connection(process, ours)
        # Used only once it says it is hardened (not dumpable, dies with this process).
        try:
            ready = read_frame(ours, time.monotonic() + self.deadlines.start)
            if ready is None or decode_ready(ready) != process.pid:
                raise ProtocolViolation("no ready message")
        except TimeoutError:
            self._end(conn, grace=0)
            raise CardDriverHungError("the card process did not start in time") from None
        except (EOFError, OSError, ProtocolViolation) as err:
            status = self._end(conn, grace=CLOSE_SECONDS)
            raise CardDriverStoppedError(
                f"the card process did not start: {err} ({status})"
            ) from None
        return conn

    def _output(self) -> int:
        """Where the process writes before it points fd 1 and 2 there itself: never the terminal."""
        if self._log_path:
            try:
                return os.open(self._log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            except OSError:
                pass
        return os.open(os.devnull, os.O_WRONLY)

    def _lose(self, conn: _Connection, *, grace: float) -> str:
        """Forget `conn`: its process is ended (killed after `grace` seconds) and reaped."""
        if self._conn is conn:
            self._conn = None
        return self._end(conn, grace=grace)

    @staticmethod
    def _end(conn: _Connection, *, grace: float) -> str:
        conn.sock.close()
        if grace > 0:
            with contextlib.suppress(subprocess.TimeoutExpired):
                conn.process.wait(timeout=grace)
        if conn.process.poll() is None:
            conn.process.kill()
            conn.process.wait()
        status = _status(conn.process.returncode)
        if conn.process.returncode != 0:
            log.warning("card process ended: %s", status)
        return status


def _status(returncode: int | None) -> str:
    if returncode is None:
        return "running"
    if returncode < 0:
        import signal

        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit status {returncode}"
