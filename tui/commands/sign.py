"""`eonay sign`: one CAdES-BES signature with the card, for scripts and checks.

    eonay sign --module PATH --cert-id HEX --text-file FILE --nonce B64URL --out FILE [--pin-stdin]

The text file is UTF-8; one final newline, if present, is not part of the
text (so `echo TEXT > F` works). The PIN is read from the terminal without
echo, or from the first line of stdin with --pin-stdin; with a PIN pad reader
(CKF_PROTECTED_AUTHENTICATION_PATH) it is typed on the reader's keypad and
nothing is read (stderr says so). A certificate that is
expired, not yet valid or not qualified is refused before any PIN is asked.

Exit status: 0 signed; 1 the card or the signature failed; 2 bad usage;
3 the certificate was not found or cannot sign.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import os
import sys
import termios
from pathlib import Path
from typing import TYPE_CHECKING

from tui.commands.certs import modules_from
from tui.i18n import _

if TYPE_CHECKING:
    from tui.core.pin import Pin

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_REFUSED = 3


def configure(parser: argparse.ArgumentParser) -> None:
    """Its own flags; --module and the other global ones come from `tui.commands.app`."""
    parser.add_argument(
        "--cert-id", metavar="HEX", required=True, help=_("CKA_ID of the certificate")
    )
    parser.add_argument(
        "--text-file",
        metavar=_("FILE"),
        required=True,
        type=Path,
        help=_("the text to sign (UTF-8)"),
    )
    parser.add_argument(
        "--nonce", metavar="B64URL", required=True, help=_("the challenge nonce, base64url")
    )
    parser.add_argument(
        "--out", metavar=_("FILE"), required=True, type=Path, help=_("DER CMS output")
    )
    parser.add_argument(
        "--pin-stdin", action="store_true", help=_("read the PIN from the first line of stdin")
    )
    parser.add_argument("--pss", action="store_true", help=_("RSA keys: sign with RSASSA-PSS"))


def _fail(message: str, code: int) -> int:
    print(f"eonay: {message}", file=sys.stderr)
    return code


def decode_b64url(value: str) -> bytes:
    """base64url with or without padding; ValueError when it is not."""
    value = value.strip()
    if not value or any(c not in _B64URL for c in value.rstrip("=")):
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except binascii.Error as err:
        raise ValueError(str(err)) from None


_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def read_text(path: Path) -> str:
    text = path.read_bytes().decode("utf-8")
    if text.endswith("\r\n"):
        return text[:-2]
    if text.endswith("\n"):
        return text[:-1]
    return text


def read_pin(pin: Pin, from_stdin: bool) -> None:
    """Read the PIN's line into `pin`, a byte at a time, with no str or bytes made of it.

    From stdin with --pin-stdin (only its first line is read), else from the
    terminal with echo off. A byte goes from os.readv straight into a one-byte
    scratch buffer, then into the Pin as the one-character str CPython shares.
    """
    if from_stdin:
        _read_line_into(pin, sys.stdin.fileno())
        return
    try:
        tty = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:  # no terminal: the PIN comes on stdin as with --pin-stdin
        _read_line_into(pin, sys.stdin.fileno())
        return
    try:
        os.write(tty, _("PIN: ").encode())
        saved = termios.tcgetattr(tty)
        quiet = termios.tcgetattr(tty)
        quiet[3] &= ~termios.ECHO
        termios.tcsetattr(tty, termios.TCSAFLUSH, quiet)
        try:
            _read_line_into(pin, tty)
        finally:
            termios.tcsetattr(tty, termios.TCSAFLUSH, saved)
            os.write(tty, b"\n")
    finally:
        os.close(tty)


def _read_line_into(pin: Pin, fd: int) -> None:
    scratch = bytearray(1)
    try:
        while os.readv(fd, [scratch]) == 1 and scratch[0] not in b"\r\n":
            if len(pin) >= pin.capacity or scratch[0] not in _DIGIT_BYTES:
                raise PinFormatError()
            pin.append(_DIGIT_STRS[scratch[0] - 0x30])
    finally:
        scratch[0] = 0


_DIGIT_BYTES = frozenset(b"0123456789")
_DIGIT_STRS = tuple("0123456789")  # indexed by the byte: no str is built from it


def pin_pad_notice(pin_stdin: bool) -> str:
    """What `eonay sign` says, on stderr, when the card's reader has its own keypad."""
    if pin_stdin:
        return "eonay: " + _(
            "--pin-stdin: this card reader has its own keypad, so the PIN is typed on the "
            "reader, not read from stdin. Type the PIN on the card reader's keypad now."
        )
    return "eonay: " + _(
        "This card reader has its own keypad. Type the PIN on the reader's keypad now."
    )


class PinFormatError(ValueError):
    """The PIN's line holds something other than digits."""


def run(args: argparse.Namespace) -> int:
    from tui.core.card.client import CardProcessClient
    from tui.core.errors import EonayError, PinLockedError
    from tui.core.hardening import harden_process
    from tui.core.pin import Pin
    from tui.core.reasons import reason_text
    from tui.core.text import check_signable

    modules = modules_from(args)
    if not modules:
        return _fail(_("give the card's PKCS#11 module with --module PATH"), EXIT_USAGE)
    try:
        cert_id = bytes.fromhex(args.cert_id)
    except ValueError:
        return _fail(_("--cert-id must be hexadecimal"), EXIT_USAGE)
    try:
        nonce = decode_b64url(args.nonce)
    except ValueError:
        return _fail(_("--nonce must be base64url"), EXIT_USAGE)
    try:
        text = read_text(args.text_file)
    except OSError as err:
        return _fail(
            _("cannot read {path}: {error}").format(path=args.text_file, error=err.strerror or err),
            EXIT_USAGE,
        )
    except UnicodeDecodeError:
        return _fail(_("{path} is not UTF-8").format(path=args.text_file), EXIT_USAGE)

    harden_process()  # the PIN passes through this process: no core file, no ptrace
    card = CardProcessClient(modules, pss=args.pss)  # the driver runs in a process of its own
    try:
        signable = check_signable(text)  # the one check of the text, before the card is asked
        matches = [c for c in card.certificates() if c.id == cert_id]
        if not matches:
            return _fail(
                _("no certificate with id {id} on the card").format(id=cert_id.hex()), EXIT_REFUSED
            )
        if len(matches) > 1:
            return _fail(
                _("{n} certificates have id {id}; remove the other cards").format(
                    n=len(matches), id=cert_id.hex()
                ),
                EXIT_REFUSED,
            )
        cert = matches[0]
        if cert.reason is not None:
            if cert.token.pin_state.locked:
                raise PinLockedError()
            return _fail(
                _("this certificate cannot sign: {reason}").format(reason=reason_text(cert.reason)),
                EXIT_REFUSED,
            )
        with Pin() as pin:
            if cert.token.pin_pad:  # C_Login gets a NULL PIN; the reader asks for it
                print(pin_pad_notice(args.pin_stdin), file=sys.stderr, flush=True)
            else:
                try:
                    read_pin(pin, args.pin_stdin)
                except PinFormatError:
                    return _fail(_("the PIN is digits only"), EXIT_USAGE)
            signature = card.sign(cert, pin, signable, nonce)
    except EonayError as err:
        return _fail(err.user_message(), EXIT_ERROR)
    except KeyboardInterrupt:
        return _fail(_("cancelled"), EXIT_ERROR)
    finally:
        card.close()

    tmp = args.out.with_name(args.out.name + ".tmp")
    try:
        tmp.write_bytes(signature.cms)
        tmp.replace(args.out)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        return _fail(
            _("cannot write {path}: {error}").format(path=args.out, error=err.strerror or err),
            EXIT_ERROR,
        )
    print(
        _("signed with {holder} ({key}): {path}, {n} bytes").format(
            holder=cert.holder, key=cert.key, path=args.out, n=len(signature.cms)
        ),
        file=sys.stderr,
    )
    return EXIT_OK
