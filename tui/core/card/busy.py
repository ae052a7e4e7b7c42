"""A card another program is holding (DYS, the Kamu SM app, a browser), told apart
from a card that was pulled out.

Drivers give no return value of their own for it. OpenSC over pcsc-lite gets
SCARD_E_SHARING_VIOLATION from `SCardConnect` when another program holds the card
exclusively and answers CKR_DEVICE_ERROR; vendor modules are reported to answer
CKR_DEVICE_ERROR, CKR_TOKEN_NOT_RECOGNIZED, CKR_DEVICE_MEMORY or
CKR_FUNCTION_FAILED, some CKR_TOKEN_NOT_PRESENT (docs/pkcs11-notes.md). What tells
it from a pulled card is the reader: it still sees a card in the slot
(CKF_TOKEN_PRESENT), which one C_GetSlotInfo asks, only once such an answer came
(OpenSC's C_GetSlotInfo then answers CKR_DEVICE_ERROR itself, which counts too).
"""

from __future__ import annotations

from PyKCS11 import (
    CKR_DEVICE_ERROR,
    CKR_DEVICE_MEMORY,
    CKR_FUNCTION_FAILED,
    CKR_TOKEN_NOT_PRESENT,
    CKR_TOKEN_NOT_RECOGNIZED,
)

from tui.core.card.pkcs11 import CkError, Pkcs11Module
from tui.core.errors import CardBusyError

BUSY_ANSWERS = frozenset(
    {
        CKR_DEVICE_ERROR,
        CKR_TOKEN_NOT_RECOGNIZED,
        CKR_DEVICE_MEMORY,
        CKR_FUNCTION_FAILED,
        CKR_TOKEN_NOT_PRESENT,
    }
)
"""Return values a driver gives for a card it cannot reach although it is in the reader."""


def busy_error(module: Pkcs11Module, slot_id: int, err: CkError) -> CardBusyError | None:
    """CardBusyError when `err` is an answer a held card gets and the slot still holds
    a card; None otherwise (then the card is gone, or it is another error)."""
    if err.rv not in BUSY_ANSWERS:
        return None
    try:
        present = module.token_present(slot_id)
    except CkError as slot_err:
        # OpenSC's C_GetSlotInfo itself answers CKR_DEVICE_ERROR for a card it sees but
        # cannot connect to; any other answer: the slot is gone (the reader unplugged).
        present = slot_err.rv in BUSY_ANSWERS
    return CardBusyError(str(err)) if present else None
