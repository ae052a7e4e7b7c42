"""Errors a person can meet, each with a message in the user's language.

Screens and commands show `user_message()`; logs use `str()`, which never
contains a PIN or a session token. `code` is stable for tests and JSON.
"""

from __future__ import annotations

import re

from tui.i18n import N_, _


class EonayError(Exception):
    code = "error"

    def user_message(self) -> str:
        return _("Something went wrong.")


# --- the card -------------------------------------------------------------


class TokenError(EonayError):
    code = "token_error"

    def user_message(self) -> str:
        return _("The card answered with an error.")


class ModuleLoadError(TokenError):
    code = "module_load"

    def __init__(self, path: str, detail: str = "") -> None:
        super().__init__(f"cannot load PKCS#11 module {path}: {detail}")
        self.path = path
        self.detail = detail

    def user_message(self) -> str:
        return _("The card driver could not be loaded: {path}").format(path=self.path)


class InitializeArgsError(ModuleLoadError):
    """C_Initialize refused its arguments (seen with AKIS drivers).

    `null_accepted`: the module took C_Initialize(NULL), yet still answers
    CKR_ARGUMENTS_BAD (not CKR_CRYPTOKI_ALREADY_INITIALIZED) to the arguments
    PyKCS11 passes, even now that it is initialised.
    """

    code = "initialize_args"

    def __init__(self, path: str, detail: str = "", *, null_accepted: bool = False) -> None:
        super().__init__(path, detail)
        self.null_accepted = null_accepted


class CardRemovedError(TokenError):
    code = "card_removed"

    def user_message(self) -> str:
        return _("The card was removed or cannot be reached. Insert it and try again.")


class CardBusyError(TokenError):
    """Another program holds the card (DYS, the Kamu SM app, a browser): the reader sees
    it, but the driver cannot talk to it (see docs/pkcs11-notes.md for the answers).

    Raised only before the PIN reached the card, or where the card refused the login
    without checking it; screens try again by themselves while it lasts, never with a PIN.
    """

    code = "card_busy"

    def user_message(self) -> str:
        return _(
            "Another program may be using the card (DYS, the Kamu SM app, a browser). "
            "Close it; eonay tries again by itself."
        )


class CardDriverStoppedError(TokenError):
    """The card process ended in the middle of a request (the vendor's driver crashed).

    Nothing was signed: a signature exists only once the card process answers.
    The next request starts a fresh card process.
    """

    code = "card_driver_stopped"

    def user_message(self) -> str:
        return _("The card's driver stopped unexpectedly. Nothing was signed. Try again.")


class CardDriverHungError(CardDriverStoppedError):
    """The card process did not answer before its deadline, and was ended."""

    code = "card_driver_hung"

    def user_message(self) -> str:
        return _(
            "The card's driver stopped responding and was ended. Nothing was signed. Try again."
        )


class PinIncorrectError(TokenError):
    code = "pin_incorrect"

    def __init__(self, tries_left: int | None = None) -> None:
        super().__init__(f"wrong PIN (tries left: {tries_left})")
        self.tries_left = tries_left

    def user_message(self) -> str:
        if self.tries_left is None:
            return _("Wrong PIN.")
        if self.tries_left == 0:
            return _(
                'Wrong PIN. The PIN is now locked: unlock it through the portal\'s "Kilit Çözme" '
                "page with your PUK."
            )
        if self.tries_left == 1:
            return _("Wrong PIN. One try left: a further wrong PIN locks the card.")
        return _("Wrong PIN. Tries left: {n}.").format(n=self.tries_left)


def counted(error: PinIncorrectError, attempt: int) -> str:
    """A wrong PIN's message with the try's number, so that each one reads as new."""
    return _("Try {n}: {message}").format(n=attempt, message=error.user_message())


class PinLockedError(TokenError):
    code = "pin_locked"

    def __init__(self) -> None:
        super().__init__("PIN locked")

    def user_message(self) -> str:
        return _(
            'The PIN is locked. Unlock it through the portal\'s "Kilit Çözme" page '
            "with your PUK, then try again."
        )


class PinCancelledError(TokenError):
    """The PIN entry on the reader's keypad was cancelled there, or timed out
    (CKR_FUNCTION_CANCELED): no PIN reached the card, no try was spent."""

    code = "pin_cancelled"

    def __init__(self) -> None:
        super().__init__("PIN entry cancelled on the reader")

    def user_message(self) -> str:
        return _("The PIN entry was cancelled on the card reader. Nothing was signed.")


class PinLengthError(TokenError):
    code = "pin_length"

    def __init__(self, minimum: int, maximum: int) -> None:
        super().__init__(f"PIN length must be {minimum}..{maximum}")
        self.minimum = minimum
        self.maximum = maximum

    def user_message(self) -> str:
        return _("The PIN must have {min} to {max} digits.").format(
            min=self.minimum, max=self.maximum
        )


class MechanismNotSupportedError(TokenError):
    code = "mechanism_not_supported"

    def __init__(self, mechanism: str) -> None:
        super().__init__(f"mechanism not supported: {mechanism}")
        self.mechanism = mechanism

    def user_message(self) -> str:
        return _("The card cannot make this kind of signature ({mechanism}).").format(
            mechanism=self.mechanism
        )


class NoUsableCertificateError(TokenError):
    code = "no_usable_certificate"

    def user_message(self) -> str:
        return _("No usable qualified signature certificate was found on the card.")


class CertificateNotUsableError(TokenError):
    code = "certificate_not_usable"

    def __init__(self, reason: str) -> None:
        super().__init__(f"certificate not usable: {reason}")
        self.reason = reason

    def user_message(self) -> str:
        from tui.core.reasons import reason_text

        return _("This certificate cannot sign: {reason}").format(reason=reason_text(self.reason))


class CertificateChangedError(TokenError):
    code = "certificate_changed"

    def user_message(self) -> str:
        return _("The certificate on the card is not the one you chose. Choose again.")


class SignatureCheckError(TokenError):
    code = "signature_check"

    def user_message(self) -> str:
        return _("The card returned a signature that does not verify. Nothing was sent.")


# --- the text to sign -----------------------------------------------------


class UnsafeTextError(EonayError):
    """A text `tui.core.text.check_signable` refused: what (`reason`) and where.

    `position` counts characters from 0; `line` and `column` count from 1, as
    the portal's operator looks for the place to fix.
    """

    code = "unsafe_text"

    def __init__(
        self,
        reason: str,
        position: int | None = None,
        *,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        where = f" (line {line}, column {column})" if line is not None else ""
        super().__init__(f"unsafe text: {reason} at {position}{where}")
        self.reason = reason
        self.position = position
        self.line = line
        self.column = column

    def where(self) -> str:
        """Where the refused character or space is, in the user's language; "" if unknown."""
        if self.position is None or self.line is None:
            return ""
        return _("Where: character {n}, line {line}, column {column}.").format(
            n=self.position + 1, line=self.line, column=self.column
        )

    def user_message(self) -> str:
        message = _(
            "The portal sent a text that cannot be shown exactly as it would be signed "
            "({reason}). Nothing was signed."
        ).format(reason=unsafe_reason_text(self.reason))
        where = self.where()
        return f"{message} {where}" if where else message


# The reasons tui.core.text gives, as patterns, with words for people. A
# character is named as "U+XXXX NAME", which stays as it is in every language.
_CHAR = r"(U\+[0-9A-F]{4,6} .+)"
_UNSAFE_REASONS: tuple[tuple[str, str], ...] = (
    (r"escape sequence", N_("an escape sequence")),
    (rf"not in NFC {_CHAR}", N_("a character not in composed form (NFC) {0}")),
    (rf"tab {_CHAR}", N_("a tab {0}")),
    (rf"line break other than LF {_CHAR}", N_("a line break other than a line feed {0}")),
    (rf"space other than U\+0020 {_CHAR}", N_("a space other than the plain space {0}")),
    (rf"bidi control {_CHAR}", N_("a direction control character {0}")),
    (rf"control character {_CHAR}", N_("a control character {0}")),
    (rf"surrogate {_CHAR}", N_("a lone surrogate {0}")),
    (rf"private-use character {_CHAR}", N_("a private-use character {0}")),
    (rf"unassigned code point {_CHAR}", N_("an unassigned code point {0}")),
    (rf"invisible character {_CHAR}", N_("an invisible character {0}")),
    (rf"format character {_CHAR}", N_("a format character {0}")),
    (
        r"disputed width (U\+[0-9A-F]{4,6} .+) \(Textual (\d+), wcwidth (-?\d+)\)",
        N_("a character the app and the terminal measure differently {0}"),
    ),
    (rf"zero-width character {_CHAR}", N_("a zero-width character {0}")),
    (rf"ambiguous width {_CHAR}", N_("a character of ambiguous width {0}")),
    (rf"combining mark {_CHAR}", N_("a combining mark {0}")),
    (rf"right-to-left character {_CHAR}", N_("a right-to-left character {0}")),
    (
        rf"outside the usual symbols {_CHAR}",
        N_("a character other than letters, digits, punctuation and usual symbols {0}"),
    ),
    (
        r"mixed scripts in word «(.+)» (U\+[0-9A-F]{4,6} .+)",
        N_("letters of more than one script in the word «{0}»: {1}"),
    ),
    (rf"script not allowed {_CHAR}", N_("a letter of a script that is not allowed {0}")),
    (r"empty text", N_("the text is empty")),
    (r"longer than (\d+) characters", N_("longer than {0} characters")),
    (r"markup ((?s:.*))", N_("formatting markup {0}")),
    (r"more than one space in a row", N_("more than one space in a row")),
    (r"space at the start of a line", N_("a space at the start of a line")),
    (r"space at the end of a line", N_("a space at the end of a line")),
    (r"more than one blank line in a row", N_("more than one blank line in a row")),
    (r"blank lines at the start or end", N_("blank lines at the start or end")),
)


def unsafe_reason_text(reason: str) -> str:
    """The reason a text was refused, in the user's language."""
    for pattern, text in _UNSAFE_REASONS:  # compiled on first use (`re` caches them)
        match = re.fullmatch(pattern, reason)
        if match:
            return _(text).format(*match.groups())
    return reason


class TextNotAllowedError(EonayError):
    code = "text_not_allowed"

    def user_message(self) -> str:
        return _("Strict mode: this text is not on the list of texts allowed to be signed.")


# --- the portal -----------------------------------------------------------


class PortalError(EonayError):
    """An answer of the portal API; `code` is the spec's machine code."""

    code = "portal_error"

    def __init__(self, message: str = "", status: int | None = None) -> None:
        super().__init__(message or self.code)
        self.portal_message = message
        self.status = status

    def user_message(self) -> str:
        return _("The portal refused the request.")


class InvalidRequestError(PortalError):
    code = "invalid_request"

    def user_message(self) -> str:
        return _("The portal did not accept the request. Check the code and try again.")


class InvalidCodeError(InvalidRequestError):
    """The code is not 14 ASCII digits; found by the client, nothing was sent."""

    def user_message(self) -> str:
        return _("A verification code has exactly 14 digits.")


class UnauthorizedError(PortalError):
    code = "unauthorized"

    def user_message(self) -> str:
        return _("Your portal session has ended. Log in again with a new code.")


class CodeNotFoundError(PortalError):
    code = "not_found"

    def user_message(self) -> str:
        return _("No such verification code. Check the 14 digits on the portal page.")


class AlreadyUsedError(PortalError):
    code = "already_used"

    def user_message(self) -> str:
        return _("This code was already used. Get a new code from the portal.")


class AlreadyActiveError(PortalError):
    code = "already_active"

    def user_message(self) -> str:
        return _("E-Onay is already active for you.")


def time_over(purpose: str) -> str:
    """The one message for a challenge whose time ran out, wherever that is noticed (the
    screens' countdowns, the card, the portal, plain mode): what expired, and what to do."""
    if purpose == "e-onay":  # no code at this step: the E-Onay text the portal sent
        return _(
            "The time to sign the E-Onay text is over. Nothing was signed. "
            "Get a new text with Continue on the E-Onay step."
        )
    return _("The code's time is over. Nothing was signed. Get a new code from the portal.")


class CodeExpiredError(PortalError):
    code = "expired"

    def user_message(self) -> str:
        return time_over("login")


class SignatureInvalidError(PortalError):
    code = "signature_invalid"

    def user_message(self) -> str:
        return _("The portal could not verify the signature.")


class CertificateRejectedError(PortalError):
    code = "certificate_rejected"

    def user_message(self) -> str:
        return _(
            "The portal rejected the certificate: it is untrusted, expired, revoked "
            "or not for qualified signatures."
        )


class HolderMismatchError(PortalError):
    code = "holder_mismatch"

    def user_message(self) -> str:
        return _("The E-Onay must be signed by the person who logged in. Use the same card.")


class RateLimitedError(PortalError):
    code = "rate_limited"

    def __init__(self, message: str = "", status: int | None = 429, retry_after: int = 0) -> None:
        super().__init__(message, status)
        self.retry_after = retry_after

    def user_message(self) -> str:
        return _("Too many attempts. Wait {n} seconds and try again.").format(n=self.retry_after)


class ServerError(PortalError):
    code = "server_error"

    def user_message(self) -> str:
        return _("The portal has a problem right now. Try again in a little while.")


class ProtocolError(PortalError):
    """The portal answered something the API does not allow."""

    code = "protocol_error"

    def user_message(self) -> str:
        return _("The portal sent an answer that could not be understood.")


class TextTooLongError(ProtocolError):
    """A challenge text over the API's limit: refused on arrival, so no PIN is ever asked.

    A protocol error (the API allows at most 2,000 characters), told to the
    person as a text that cannot be shown in full before it is signed.
    """

    def __init__(self, message: str = "", limit: int = 2000) -> None:
        super().__init__(message or f"challenge text longer than {limit} characters")
        self.limit = limit

    def user_message(self) -> str:
        return UnsafeTextError(f"longer than {self.limit} characters").user_message()


class PortalUnreachableError(PortalError):
    code = "unreachable"

    def user_message(self) -> str:
        return _("The portal cannot be reached. Check the network connection and try again.")


class PortalTimeoutError(PortalUnreachableError):
    code = "timeout"

    def user_message(self) -> str:
        return _("The portal did not answer in time. Try again.")


class PortalTooSlowError(PortalTimeoutError):
    """The answer did not arrive whole within the call's deadline, retries included.

    A portal (or something between) that sends a byte every few seconds keeps
    every read inside its timeout; the deadline ends it all the same.
    """

    code = "too_slow"

    def __init__(self, message: str = "", seconds: float = 20.0) -> None:
        super().__init__(message or f"no complete answer within {seconds:g} s")
        self.seconds = seconds

    def user_message(self) -> str:
        return _(
            "The portal answered too slowly: no complete answer within {n} seconds. Try again."
        ).format(n=f"{self.seconds:g}")


class TLSError(PortalError):
    code = "tls"

    def user_message(self) -> str:
        return _("The portal's certificate could not be verified. The connection was not used.")


class InsecureURLError(PortalError):
    code = "insecure_url"

    def user_message(self) -> str:
        return _("Plain http:// is allowed only for this computer (loopback). Use https://.")


class ConfigError(EonayError):
    code = "config"

    def __init__(self, message: str, key: str | None = None, path: str | None = None) -> None:
        super().__init__(message)
        self.key = key
        self.path = path

    def user_message(self) -> str:
        return str(self)


SEND_AGAIN: tuple[type[PortalError], ...] = (
    PortalUnreachableError,
    ServerError,
    RateLimitedError,
    ProtocolError,
    TLSError,
)
"""Failures after which the portal may or may not have the signature, or could not say:
an unreachable or slow portal, a 5xx, a 429, a TLS failure, or an answer that could not
be read (the portal may have accepted the signature before it broke). The same signature
(never the PIN) can be sent again: the portal answers it like the first time."""
