"""`eonay ssh`: the card on this laptop, eonay on a server, one command.

The steps the README used to give by hand, with what went wrong when they
were followed literally put right:

- `p11-kit server` exports the card's module on a socket in a fresh private
  directory (`mkdtemp`, mode 0700), not under `$XDG_RUNTIME_DIR`, which is
  unset in many sessions;
- `ssh -R` forwards it to a remote path unique to this connection: sshd leaves
  a forwarded socket behind after the session, and the ssh client's
  `StreamLocalBindUnlink` does not apply to `-R` (the server's does), so a
  fixed path left behind by an earlier session would make the next
  `ExitOnForwardFailure` login fail every time;
- the remote command checks for `eonay` and `p11-kit-client.so` (distinct exit
  codes, so this side can say which is missing), runs eonay with
  `P11_KIT_SERVER_ADDRESS` and the client module, and removes the forwarded
  socket once eonay has ended, also after a hang-up;
- the server is stopped and its directory removed when ssh ends, on Ctrl+C
  and on SIGTERM too.

The remote command is one line of POSIX sh run by `sh -c`, whatever the
login shell; everything variable reaches it as a quoted positional argument.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from tui.i18n import _

# ssh(1)'s option letters (OpenSSH 9): flags, and those that take a value.
SSH_FLAGS = frozenset("46AaCfGgKkMNnqsTtVvXxYy")
SSH_WITH_VALUE = frozenset("BbcDEeFIiJLlmOoPpQRSWw")
# Options that would keep ssh from running eonay (no command, background,
# stdio forwarding, control commands, subsystems, queries): refused.
SSH_REFUSED = frozenset("NfWOsGQV")

# The remote command's own exit codes (eonay's are 0, 1, 2 and 128 + a signal).
EXIT_NO_EONAY = 212
EXIT_NO_CLIENT_MODULE = 213
EXIT_SSH_FAILED = 255  # ssh's own: it could not connect, or the forward failed

# Where p11-kit-client.so is on the server: the directories `modules.py`
# searches for it, the architecture as a glob since it is the server's.
REMOTE_CLIENT_DIRS = (
    "/usr/lib/*/pkcs11",
    "/usr/lib64/pkcs11",
    "/usr/lib/pkcs11",
    "/usr/local/lib/pkcs11",
)
# The only directory sure to exist on the server; the name is unguessable and
# sshd makes the socket the user's alone (StreamLocalBindMask 0177).
REMOTE_SOCKET_DIR = "/tmp"  # noqa: S108
LOCAL_SOCKET_NAME = "card.sock"
ERRORS_NAME = "p11-kit-server.err"  # its stderr, beside the socket
REMOTE_EONAY = "eonay"
# `eonay ssh`'s own flags that take a value (the global ones are `tui.__main__`'s).
OWN_VALUE_OPTIONS = ("--remote-eonay",)
SERVER_START_SECONDS = 15.0
SERVER_STOP_SECONDS = 5.0


class SshUsageError(ValueError):
    """The command line cannot be split into ssh options, destination and eonay's."""


@dataclass(frozen=True)
class SshCommandLine:
    """`eonay ssh [ssh options] USER@HOST [-- EONAY-ARGS]`, taken apart."""

    ssh_options: tuple[str, ...]
    destination: str
    eonay_args: tuple[str, ...]
    local_options: tuple[str, ...] = ()  # eonay's own long flags (--module …), for this side


def split_arguments(
    words: Sequence[str], local_value_options: Sequence[str] = ()
) -> SshCommandLine:
    """Split the words after `eonay ssh` as ssh(1) reads its own.

    Short options are ssh's, grouped as getopt groups them (`-vt`, `-p2222`,
    `-vp 2222`), before or after the destination as ssh allows; long options
    (`--module PATH`, `--lang=en`, `-h`/`--help`) are eonay's, for this side.
    After the destination, `--` or the first word that is not an option starts
    the arguments of the remote eonay.
    """
    ssh_options: list[str] = []
    local: list[str] = []
    destination: str | None = None
    i = 0
    while i < len(words):
        word = words[i]
        if word == "--":
            i += 1
            break
        if word.startswith("--"):
            if destination is not None:
                break  # an eonay flag for the server: `eonay ssh host --lang en`
            local.append(word)
            name = word.split("=", 1)[0]
            takes_value = name in local_value_options or name in OWN_VALUE_OPTIONS
            if takes_value and "=" not in word:
                if i + 1 >= len(words):
                    raise SshUsageError(_("{option}: needs a value").format(option=word))
                local.append(words[i + 1])
                i += 1
            i += 1
            continue
        if word == "-h":
            local.append(word)
            i += 1
            continue
        if word.startswith("-") and len(word) > 1:
            i = _take_short_options(words, i, ssh_options)
            continue
        if destination is not None:
            break
        destination = word
        i += 1
    if destination is None:
        if "-h" in local or "--help" in local:
            return SshCommandLine(tuple(ssh_options), "", (), tuple(local))
        raise SshUsageError(_("say which server to connect to: USER@HOST"))
    return SshCommandLine(tuple(ssh_options), destination, tuple(words[i:]), tuple(local))


def _take_short_options(words: Sequence[str], i: int, out: list[str]) -> int:
    """One group of ssh short options at `words[i]`; the index after it."""
    word = words[i]
    for position in range(1, len(word)):
        letter = word[position]
        if letter in SSH_REFUSED:
            raise SshUsageError(
                _("ssh's -{letter} cannot be used with eonay ssh").format(letter=letter)
            )
        if letter in SSH_FLAGS:
            out.append(f"-{letter}")
            continue
        if letter in SSH_WITH_VALUE:
            value = word[position + 1 :]
            if value:
                out.extend((f"-{letter}", value))
                return i + 1
            if i + 1 >= len(words):
                raise SshUsageError(_("ssh's -{letter} needs a value").format(letter=letter))
            out.extend((f"-{letter}", words[i + 1]))
            return i + 2
        raise SshUsageError(_("-{letter} is not an ssh option").format(letter=letter))
    return i + 1


def remote_socket_path() -> str:
    """A path on the server no earlier session can have left behind (128 random bits).

    Under /tmp, not the server's `$XDG_RUNTIME_DIR`: the path is chosen here,
    before the server's environment is known, and /tmp is there even when the
    runtime directory is not. sshd creates the socket readable by the user
    alone (`StreamLocalBindMask`, 0177 by default).
    """
    return f"{REMOTE_SOCKET_DIR}/eonay-{secrets.token_hex(16)}.sock"


# $1 the forwarded socket, $2 the eonay command, $3… eonay's arguments.
#
# eonay is exec'd, so that it is the session leader of the server's terminal: a
# hang-up (the connection dropped, the laptop's terminal closed) is sent to the
# session leader alone, and a shell waiting on eonay would keep it from eonay
# (a shell runs its traps only after the command it waits on has ended). The
# socket is removed by a watcher started just before, which outlives the hang-up
# and removes it once eonay has ended, however it ended; its files are
# /dev/null, so it holds neither the terminal nor the session open.
REMOTE_SCRIPT = (
    's=$1; e=$2; shift 2; PATH="$PATH:$HOME/.local/bin"; '
    f'command -v "$e" >/dev/null 2>&1 || {{ rm -f "$s"; exit {EXIT_NO_EONAY}; }}; '
    "c=; for d in {dirs}; do "
    'if [ -f "$d/p11-kit-client.so" ]; then c="$d/p11-kit-client.so"; break; fi; done; '
    f'[ -n "$c" ] || {{ rm -f "$s"; exit {EXIT_NO_CLIENT_MODULE}; }}; '
    '(trap "" HUP INT; while kill -0 $$ 2>/dev/null; do sleep 1; done; rm -f "$s") '
    "</dev/null >/dev/null 2>&1 & "
    'export P11_KIT_SERVER_ADDRESS="unix:path=$s"; exec "$e" --module "$c" "$@"'
)


def remote_command(
    socket_path: str,
    eonay_args: Sequence[str],
    remote_eonay: str = REMOTE_EONAY,
    client_dirs: Sequence[str] = REMOTE_CLIENT_DIRS,
) -> str:
    """The command line ssh gives the server's login shell (sh, bash, zsh, fish alike).

    `exec`, so that sh, then eonay, takes the login shell's place. `remote_eonay`
    is a name looked up in the PATH, or a path on the server; `~/` is the home
    directory, where the command starts. `client_dirs` (globs, not quoted) are
    where p11-kit-client.so is looked for; tests pass their own.
    """
    if remote_eonay.startswith("~/"):
        remote_eonay = remote_eonay[2:]
    words = [
        "exec",
        "sh",
        "-c",
        REMOTE_SCRIPT.replace("{dirs}", " ".join(client_dirs)),
        "eonay-ssh",
        socket_path,
        remote_eonay,
        *eonay_args,
    ]
    return shlex.join(words)


def ssh_command(
    line: SshCommandLine,
    local_socket: str,
    remote_socket: str,
    ssh: str = "ssh",
    *,
    tty: bool = True,
    remote_eonay: str = REMOTE_EONAY,
) -> list[str]:
    """ssh's argv: this command's options first, since ssh keeps the first `-o` of a kind.

    `-t` (a terminal for the app, asked only when there is one here) first
    too: the user's `-T` after it still wins, the last of the two counting.
    """
    return [
        ssh,
        *(["-t"] if tty else []),
        "-o", "ExitOnForwardFailure=yes",  # no eonay without its card
        # Asks for a leftover to be removed before binding; for -R, though, sshd goes by
        # its own StreamLocalBindUnlink (no by default), hence the path unique to this run.
        "-o", "StreamLocalBindUnlink=yes",
        # A shared connection (ControlMaster) would keep the forward after this session.
        "-o", "ControlPath=none",
        "-R", f"{remote_socket}:{local_socket}",
        *line.ssh_options,
        line.destination,
        remote_command(remote_socket, line.eonay_args, remote_eonay),
    ]  # fmt: skip


class MissingTool(Exception):
    """A program this command runs is not installed here."""

    def __init__(self, tool: str, package: str) -> None:
        super().__init__(tool)
        self.tool = tool
        self.package = package

    def user_message(self) -> str:
        return _(
            "{tool} is not installed on this computer "
            "(Debian and Ubuntu: apt-get install {package})."
        ).format(tool=self.tool, package=self.package)


class CardServerError(Exception):
    """`p11-kit server` could not be started for the module."""

    def __init__(self, module: str, detail: str) -> None:
        super().__init__(detail)
        self.module = module
        self.detail = detail

    def user_message(self) -> str:
        return _("p11-kit server could not serve {module}: {detail}").format(
            module=self.module, detail=self.detail or _("it ended without saying why")
        )


def _ending_with_parent() -> Callable[[], None] | None:
    """For the server's child, before exec: SIGTERM when this command dies, even by SIGKILL.

    Linux's PR_SET_PDEATHSIG, with libc loaded here, in the parent: nothing is
    imported between fork and exec. None elsewhere (the normal ways out stop
    the server anyway).
    """
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def set_it() -> None:
        prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)

    return set_it


def _accepts(path: Path) -> bool:
    """Whether something listens on the unix socket (the file appears before listen())."""
    if not path.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


@dataclass
class CardServer:
    """`p11-kit server` in the foreground, in a session of its own, on a private socket."""

    module: str
    process: subprocess.Popen[bytes]
    directory: Path
    socket: Path = field(init=False)

    def __post_init__(self) -> None:
        self.socket = self.directory / LOCAL_SOCKET_NAME

    @classmethod
    def start(
        cls,
        module: str,
        environ: Mapping[str, str] | None = None,
        p11kit: str = "p11-kit",
        wait_seconds: float = SERVER_START_SECONDS,
    ) -> CardServer:
        """Start it and wait until it listens; a `CardServerError` when it does not."""
        directory = Path(tempfile.mkdtemp(prefix="eonay-ssh-"))  # mode 0700
        sock = directory / LOCAL_SOCKET_NAME
        try:
            errors = (directory / ERRORS_NAME).open("wb")
        except OSError as err:
            shutil.rmtree(directory, ignore_errors=True)
            raise CardServerError(module, err.strerror or str(err)) from None
        try:
            process = subprocess.Popen(
                [p11kit, "server", "--foreground", "--provider", module,
                 "--name", str(sock), "pkcs11:"],
                env=dict(os.environ if environ is None else environ),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=errors,
                start_new_session=True,  # Ctrl+C in the terminal is the remote eonay's
                preexec_fn=_ending_with_parent(),
            )  # fmt: skip
        except FileNotFoundError:
            shutil.rmtree(directory, ignore_errors=True)
            raise MissingTool("p11-kit", "p11-kit") from None
        except OSError as err:
            shutil.rmtree(directory, ignore_errors=True)
            raise CardServerError(module, err.strerror or str(err)) from None
        finally:
            errors.close()
        server = cls(module, process, directory)
        deadline = time.monotonic() + wait_seconds
        while not _accepts(sock):
            if process.poll() is not None or time.monotonic() > deadline:
                detail = server.stop()
                raise CardServerError(module, detail)
            time.sleep(0.02)
        return server

    @property
    def address(self) -> str:
        return f"unix:path={self.socket}"

    def stop(self) -> str:
        """Stop the server, with any child serving a connection, and remove its directory.

        Returns what the server wrote to stderr, to say why it did not start.
        """
        if self.process.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.process.wait(timeout=SERVER_STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.process.wait()
        self._signal_group(signal.SIGKILL)  # a connection's child that outlived the server
        detail = ""
        with contextlib.suppress(OSError):
            detail = (self.directory / ERRORS_NAME).read_text("utf-8", "replace").strip()
        shutil.rmtree(self.directory, ignore_errors=True)
        return detail

    def _signal_group(self, number: int) -> None:
        """The server leads a process group of its own (`start_new_session`)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, number)


@contextlib.contextmanager
def signals_end_the_session(on_signal: Callable[[int], None]) -> Iterator[None]:
    """SIGTERM, SIGHUP and SIGINT call `on_signal`, and are put back as they were after."""
    caught = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
    previous = {number: signal.getsignal(number) for number in caught}

    def handler(number: int, _frame: FrameType | None) -> None:
        on_signal(number)

    for number in caught:
        signal.signal(number, handler)
    try:
        yield
    finally:
        for number, before in previous.items():
            signal.signal(number, before)


@dataclass(frozen=True)
class SessionEnd:
    """How an `eonay ssh` session ended: ssh's exit status, and the signal that ended it."""

    status: int
    signal: int | None = None


def _terminal_here(asked: bool | None) -> bool:
    """A terminal on both ends here: the app's case; `certs --json > file` gets clean lines."""
    if asked is not None:
        return asked
    return all(stream is not None and stream.isatty() for stream in (sys.stdin, sys.stdout))


def _start_ssh(argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(
            argv,
            env=env,
            preexec_fn=_ending_with_parent(),  # not left reading the terminal after us
        )
    except FileNotFoundError:
        raise MissingTool(argv[0], "openssh-client") from None


def run_session(
    line: SshCommandLine,
    module: str,
    environ: Mapping[str, str] | None = None,
    ssh: str = "ssh",
    *,
    tty: bool | None = None,
    remote_eonay: str = REMOTE_EONAY,
) -> SessionEnd:
    """Serve the card, run ssh to the end, clean up on every way out.

    A signal to this process is passed on to ssh as SIGTERM: ssh ends the
    connection, and on the server eonay ends with its hung-up terminal (or the
    end of its input), after which the watcher removes the forwarded socket.
    Then the card server is stopped and its directory removed here.
    `CardServerError` when the server does not start, `MissingTool` when
    p11-kit or ssh is not installed.
    """
    ssh_process: subprocess.Popen[bytes] | None = None
    server: CardServer | None = None
    received: list[int] = []

    def on_signal(number: int) -> None:
        received.append(number)
        if ssh_process is not None and ssh_process.poll() is None:
            with contextlib.suppress(OSError):
                ssh_process.send_signal(signal.SIGTERM)

    # The cleanup runs under the handlers too: a second signal (a hang-up brings
    # one from the shell and one from the kernel) must not cut it short.
    with signals_end_the_session(on_signal):
        try:
            server = CardServer.start(module, environ)
            if received:  # asked to end while the server was starting
                return SessionEnd(128 + received[0], received[0])
            ssh_process = _start_ssh(
                ssh_command(
                    line,
                    str(server.socket),
                    remote_socket_path(),
                    ssh,
                    tty=_terminal_here(tty),
                    remote_eonay=remote_eonay,
                ),
                dict(os.environ if environ is None else environ),
            )
            if received:  # a signal before ssh was there to pass it to
                on_signal(received[-1])
            status = ssh_process.wait()
        finally:
            if ssh_process is not None and ssh_process.poll() is None:
                ssh_process.kill()
                ssh_process.wait()
            if server is not None:
                server.stop()
    return SessionEnd(status, received[0] if received else None)
