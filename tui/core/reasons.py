"""Why a certificate cannot sign, as stable codes with words for people."""

from __future__ import annotations

from tui.i18n import N_, _

EXPIRED = "expired"
NOT_YET_VALID = "not_yet_valid"
NOT_QUALIFIED = "not_qualified"
NO_PRIVATE_KEY = "no_private_key"
PIN_LOCKED = "pin_locked"
UNSUPPORTED_KEY = "unsupported_key"

_TEXTS = {
    EXPIRED: N_("the certificate has expired"),
    NOT_YET_VALID: N_("the certificate is not valid yet"),
    NOT_QUALIFIED: N_("not a qualified signature certificate (NES)"),
    NO_PRIVATE_KEY: N_("its private key is not on the card"),
    PIN_LOCKED: N_("the card's PIN is locked"),
    UNSUPPORTED_KEY: N_("its key type is not supported"),
}


def reason_text(code: str) -> str:
    return _(_TEXTS[code]) if code in _TEXTS else code
