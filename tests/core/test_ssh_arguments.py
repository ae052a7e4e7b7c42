"""`eonay ssh [ssh options] USER@HOST [-- EONAY-ARGS]`: which word is whose.

ssh's options are split as ssh(1)'s getopt splits them; eonay's long flags
are for this side; what follows the destination is the remote eonay's. The
command line handed to ssh is checked for what the server side relies on.
"""

from __future__ import annotations

import shlex
import subprocess
import time

import pytest

from tui.__main__ import GLOBAL_VALUE_OPTIONS, _set_aside_ssh_words, build_parser
from tui.core.setup.ssh_card import (
    EXIT_NO_CLIENT_MODULE,
    EXIT_NO_EONAY,
    SshCommandLine,
    SshUsageError,
    remote_command,
    remote_socket_path,
    split_arguments,
    ssh_command,
)


def split(line: str) -> SshCommandLine:
    return split_arguments(shlex.split(line), GLOBAL_VALUE_OPTIONS)


@pytest.mark.parametrize(
    ("line", "ssh_options", "destination", "eonay_args"),
    [
        ("ali@server", [], "ali@server", []),
        ("-p 2222 ali@server", ["-p", "2222"], "ali@server", []),
        ("-p2222 ali@server", ["-p", "2222"], "ali@server", []),
        ("-i ~/.ssh/id -J gate ali@server", ["-i", "~/.ssh/id", "-J", "gate"], "ali@server", []),
        ("-vvp 2222 server", ["-v", "-v", "-p", "2222"], "server", []),
        ("-4Ct server", ["-4", "-C", "-t"], "server", []),
        ("-o ProxyJump=a -o Port=22 server", ["-o", "ProxyJump=a", "-o", "Port=22"], "server", []),
        ("-oPort=22 server", ["-o", "Port=22"], "server", []),
        ("-l ali server", ["-l", "ali"], "server", []),
        # a value that looks like an option is still the option's value
        ("-l -weird- server", ["-l", "-weird-"], "server", []),
        ("-E -p server", ["-E", "-p"], "server", []),
        # options after the destination, as ssh takes them
        ("server -p 2222", ["-p", "2222"], "server", []),
        ("server -- certs --json", [], "server", ["certs", "--json"]),
        ("-p 22 server -T -- certs --json", ["-p", "22", "-T"], "server", ["certs", "--json"]),
        # the first word after the destination that is no option starts eonay's
        ("server certs --json", [], "server", ["certs", "--json"]),
        ("server --lang en certs", [], "server", ["--lang", "en", "certs"]),
        ("server -- -p 1", [], "server", ["-p", "1"]),
        ("server -- --", [], "server", ["--"]),
    ],
)
def test_words_are_split_as_ssh_splits_its_own(line, ssh_options, destination, eonay_args):
    got = split(line)
    assert list(got.ssh_options) == ssh_options
    assert got.destination == destination
    assert list(got.eonay_args) == eonay_args
    assert got.local_options == ()


@pytest.mark.parametrize(
    ("line", "local", "ssh_options"),
    [
        ("--module /usr/lib/libakisp11.so -p 22 server",
         ["--module", "/usr/lib/libakisp11.so"], ["-p", "22"]),
        ("--module=/x.so server", ["--module=/x.so"], []),
        ("--lang en --log-level DEBUG server", ["--lang", "en", "--log-level", "DEBUG"], []),
        ("--remote-eonay ~/venv/bin/eonay server", ["--remote-eonay", "~/venv/bin/eonay"], []),
        ("--kiosk -p 1 server", ["--kiosk"], ["-p", "1"]),
    ],
)  # fmt: skip
def test_eonay_flags_before_the_destination_are_this_sides(line, local, ssh_options):
    got = split(line)
    assert list(got.local_options) == local
    assert list(got.ssh_options) == ssh_options
    assert got.destination == "server"


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("", "USER@HOST"),
        ("-p 22", "USER@HOST"),
        ("-p", "-p"),
        ("server -p", "-p"),
        ("-Z server", "-Z"),
        ("-vZ server", "-Z"),
        ("--module", "--module"),
        ("-N server", "-N"),
        ("-f server", "-f"),
        ("-W host:22 server", "-W"),
        ("-O exit server", "-O"),
        ("-s server", "-s"),
    ],
)
def test_a_line_ssh_would_refuse_or_that_cannot_run_eonay_is_refused(line, problem):
    with pytest.raises(SshUsageError) as caught:
        split(line)
    assert problem in str(caught.value)


def test_help_needs_no_destination():
    assert split("-h").local_options == ("-h",)
    assert split("--help").local_options == ("--help",)


def test_every_ssh_option_letter_is_known_once():
    from tui.core.setup.ssh_card import SSH_FLAGS, SSH_REFUSED, SSH_WITH_VALUE

    assert not SSH_FLAGS & SSH_WITH_VALUE
    assert SSH_REFUSED <= SSH_FLAGS | SSH_WITH_VALUE
    # ssh(1)'s synopsis on this machine names no letter this command does not know
    usage = subprocess.run(["ssh"], capture_output=True, text=True).stderr
    flags = usage.split("[-", 1)[1].split("]", 1)[0]
    assert set(flags) <= SSH_FLAGS
    import re

    assert set(re.findall(r"\[-(\w) ", usage)) <= SSH_WITH_VALUE


@pytest.mark.parametrize(
    "before",
    [
        ["ssh"],
        ["--lang", "en", "ssh"],
        ["--module", "/m.so", "--kiosk", "ssh"],
        ["--config=/c.toml", "ssh"],
    ],
)
def test_eonay_sets_the_ssh_words_aside_from_argparse(before):
    words = [*before, "--module", "/x.so", "-p", "2222", "-vt", "ali@server", "--", "certs", "-h"]
    arguments, line = _set_aside_ssh_words(words)
    args = build_parser().parse_args(arguments)
    assert args.command == "ssh"
    assert "/x.so" in args.module
    assert args.remote_eonay == "eonay"
    assert isinstance(line, SshCommandLine)
    assert line.ssh_options == ("-p", "2222", "-v", "-t")
    assert line.destination == "ali@server"
    assert line.eonay_args == ("certs", "-h")


def test_other_commands_are_left_to_argparse():
    words = ["--lang", "en", "certs", "--json"]
    assert _set_aside_ssh_words(words) == (words, None)


def test_the_remote_socket_is_unique_to_each_connection():
    paths = {remote_socket_path() for _ in range(100)}
    assert len(paths) == 100
    for path in paths:
        assert path.startswith("/tmp/eonay-") and path.endswith(".sock")
        assert len(path) == len("/tmp/eonay-.sock") + 32  # 128 random bits


def test_ssh_gets_the_forward_and_its_safety_options_before_the_users():
    line = split("-o ExitOnForwardFailure=no -T -p 2222 ali@server -- certs --json")
    argv = ssh_command(line, "/tmp/eonay-ssh-x/card.sock", "/tmp/eonay-abc.sock")
    assert argv[0] == "ssh"
    # ssh keeps the first value of an -o, and the last of -t/-T
    assert argv.index("ExitOnForwardFailure=yes") < argv.index("ExitOnForwardFailure=no")
    assert argv.index("-t") < argv.index("-T")
    assert argv[argv.index("-R") + 1] == "/tmp/eonay-abc.sock:/tmp/eonay-ssh-x/card.sock"
    assert argv[-2] == "ali@server"
    assert argv[-1] == remote_command("/tmp/eonay-abc.sock", ["certs", "--json"])
    assert argv[-1].startswith("exec sh -c ")  # in the login shell's place, whatever it is
    assert "-t" not in ssh_command(line, "l", "r", tty=False)[:3]


def _run_remote(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The remote command as a login shell would run it: one line to `sh -c`."""
    return subprocess.run(["sh", "-c", command], capture_output=True, text=True, env=env)


def test_the_remote_command_says_which_part_is_missing(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    sock = tmp_path / "eonay-x.sock"
    sock.write_bytes(b"")
    got = _run_remote(remote_command(str(sock), ["certs"], "eonay-not-installed-here"), env)
    assert got.returncode == EXIT_NO_EONAY
    assert not sock.exists()  # removed on this way out too
    # a path relative to the home directory, as `~/…`; its arguments are passed as they are
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "eonay").symlink_to("/bin/echo")
    sock.write_bytes(b"")
    got = subprocess.run(
        ["sh", "-c", remote_command(str(sock), ["a b", "$HOME", "'q'"], "~/bin/eonay")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    if got.returncode == EXIT_NO_CLIENT_MODULE:
        pytest.skip("p11-kit-client.so is not installed here")
    assert got.returncode == 0, got.stderr
    words = got.stdout.rstrip("\n").split(" ")
    assert words[0] == "--module" and words[1].endswith("/p11-kit-client.so")
    assert got.stdout.rstrip("\n").endswith(" a b $HOME 'q'")
    deadline = time.monotonic() + 10  # the watcher polls once a second
    while sock.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not sock.exists()  # removed once the command it exec'd has ended


def test_the_remote_command_says_when_the_client_module_is_missing(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    sock = tmp_path / "eonay-x.sock"
    sock.write_bytes(b"")
    command = remote_command(str(sock), ["certs"], "/bin/echo", client_dirs=[str(tmp_path)])
    got = _run_remote(command, env)
    assert got.returncode == EXIT_NO_CLIENT_MODULE
    assert got.stdout == ""  # eonay was not run
    assert not sock.exists()


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (EXIT_NO_EONAY, ["eonay, ali@server üzerinde kurulu değil", "pip install eonay"]),
        (EXIT_NO_CLIENT_MODULE, ["p11-kit-client.so, ali@server üzerinde kurulu değil",
                                 "apt-get install p11-kit-modules"]),
        (255, ["ssh, ali@server sunucusuna bağlanamadı"]),
    ],
)  # fmt: skip
def test_each_remote_failure_has_its_message_in_turkish(status, words):
    from tui.commands.ssh import failure_message
    from tui.i18n import current_language, set_language

    before = current_language()
    set_language("tr")
    try:
        message = failure_message(status, "ali@server")
    finally:
        set_language(before)
    assert message is not None
    for word in words:
        assert word in message
    assert failure_message(0, "ali@server") is None
    assert failure_message(1, "ali@server") is None  # eonay's own errors, said by eonay


def test_the_remote_command_reads_the_same_in_any_login_shell():
    """No backslash, quote or newline inside the script: fish and csh read a single-quoted
    word as sh does only then; the words after it are sh-quoted one by one."""
    from tui.core.setup.ssh_card import REMOTE_SCRIPT

    for character in ("\\", "'", "\n", "!"):
        assert character not in REMOTE_SCRIPT
    command = remote_command("/tmp/eonay-x.sock", ["--portal", "https://p.example/?a=1&b=2"])
    assert shlex.split(command)[-2:] == ["--portal", "https://p.example/?a=1&b=2"]
