"""The PKCS#11 boundary of the real SoftHSM card, watched and with faults a card reader has.

`Boundary` wraps `tui.core.card.pkcs11.Pkcs11Module` and its sessions (the only code
that calls PyKCS11): every call goes on to the real SoftHSM token and is
recorded; on top of it the test can add what SoftHSM never does:

* PIN flags (final try, locked) on a token;
* a token pulled out of the reader and put back (or another one put in):
  while out it is not in the slot list and every call on its sessions answers
  CKR_DEVICE_REMOVED; when it comes back it has a new slot id, as readers
  give, and its old sessions answer CKR_SESSION_HANDLE_INVALID;
* a pull at a given call (the card comes out during C_Sign) or right after it;
* another certificate under the same CKA_ID (the card was re-issued);
* an unexpected exception (a bug) at a given call.

It also checks that the app never uses a stale handle: a session opened
before its token went out, or an object handle found in another session, is
recorded in `stale` (and refused the way a real token would).
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from typing import Any

from PyKCS11 import (
    CKO_CERTIFICATE,
    CKR_DEVICE_REMOVED,
    CKR_SESSION_HANDLE_INVALID,
    CKR_SLOT_ID_INVALID,
)

from tui.core.card.pkcs11 import CkError, Pkcs11Module, Pkcs11Session, RawObject, RawToken
from tui.core.card.pkcs11_card import Pkcs11Card

SLOT_STRIDE = 1000  # a token put back shows up at another slot id
PULLED = "<pulled out>"  # markers in `Boundary.calls`
PUT_BACK = "<put back>"


@dataclasses.dataclass(frozen=True)
class Call:
    function: str  # the PKCS#11 function, e.g. "C_Login"
    token: str  # the token's label
    detail: Any = None


class Boundary:
    """What crossed the PKCS#11 boundary, and the faults to add there. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.calls: list[Call] = []
        self.flags: dict[str, int] = {}  # label -> flags added to the token's own
        self.pulled: set[str] = set()
        self.generation: dict[str, int] = {}  # label -> times it was put back
        self.pull_at: dict[str, str] = {}  # function -> label pulled when it is called
        self.pull_after: dict[str, str] = {}  # function -> label pulled once it returned
        self.swapped: dict[bytes, bytes] = {}  # CKA_ID -> certificate DER shown instead
        self.crash_at: dict[str, BaseException] = {}  # function -> raised once, unexpected
        self.stale: list[str] = []  # stale handles the app tried to use
        self.login_buffers: list[memoryview] = []  # the PIN buffers C_Login was handed

    # --- what the test does ---------------------------------------------------------

    def card(self, module_path: str) -> Pkcs11Card:
        """The app's real card service, over the real module, through this boundary."""
        return Pkcs11Card([module_path], opener=lambda path: WatchedModule(path, self))

    def pull(self, label: str) -> None:
        with self._lock:
            self.pulled.add(label)
            self.calls.append(Call(PULLED, label))

    def put_back(self, label: str) -> None:
        with self._lock:
            self.pulled.discard(label)
            self.generation[label] = self.generation.get(label, 0) + 1
            self.calls.append(Call(PUT_BACK, label))

    def since(self, marker: str, token: str) -> list[Call]:
        """The calls after the last `marker` (PULLED, PUT_BACK) for `token`."""
        with self._lock:
            last = max(
                (i for i, c in enumerate(self.calls) if c.function == marker and c.token == token),
                default=-1,
            )
            return self.calls[last + 1 :]

    def count(self, function: str, token: str | None = None) -> int:
        with self._lock:
            return sum(
                1
                for c in self.calls
                if c.function == function and (token is None or c.token == token)
            )

    def functions(self) -> list[str]:
        with self._lock:
            return [c.function for c in self.calls]

    # --- used by the wrappers -----------------------------------------------------------

    def record(self, function: str, token: str, detail: Any = None) -> None:
        with self._lock:
            self.calls.append(Call(function, token, detail))
            error = self.crash_at.pop(function, None)
            label = self.pull_at.pop(function, None)
            if label is not None:
                self.pulled.add(label)
                self.calls.append(Call(PULLED, label))
        if error is not None:
            raise error
        if label is not None:
            raise CkError(CKR_DEVICE_REMOVED, function)

    def returned(self, function: str) -> None:
        with self._lock:
            label = self.pull_after.pop(function, None)
            if label is not None:
                self.pulled.add(label)
                self.calls.append(Call(PULLED, label))

    def check_alive(self, token: str, generation: int, function: str) -> None:
        """A real token answers so for a session of a card that went away."""
        with self._lock:
            if token in self.pulled:
                raise CkError(CKR_DEVICE_REMOVED, function)
            if self.generation.get(token, 0) != generation:
                self.stale.append(f"{function} on a session from before {token!r} was put back")
                raise CkError(CKR_SESSION_HANDLE_INVALID, function)

    def stale_use(self, what: str) -> None:
        with self._lock:
            self.stale.append(what)


class WatchedSession:
    """A real `Pkcs11Session`, with its token's label and generation, recorded."""

    def __init__(self, inner: Pkcs11Session, boundary: Boundary, token: str, gen: int) -> None:
        self.inner = inner
        self.boundary = boundary
        self.token = token
        self.generation = gen
        self.handles: set[int] = set()  # ids of the object handles found in this session
        self.slot_id = inner.slot_id

    def _enter(self, function: str, detail: Any = None) -> None:
        self.boundary.record(function, self.token, detail)
        self.boundary.check_alive(self.token, self.generation, function)

    def objects(self, object_class: int, **narrowed: Any) -> list[RawObject]:
        self._enter("C_FindObjects", object_class)
        return self._seen(self.inner.objects(object_class, **narrowed))

    def first_object(self, object_class: int, cka_id: bytes) -> RawObject | None:
        self._enter("C_FindObjects", object_class)
        found = self.inner.first_object(object_class, cka_id)
        seen = self._seen([found] if found is not None else [])
        return seen[0] if seen else None

    def object_again(self, found: RawObject) -> RawObject:
        self._enter("C_GetAttributeValue", found.object_class)
        if id(found.handle) not in self.handles:
            self.boundary.stale_use("C_GetAttributeValue with a handle found in another session")
            raise CkError(0x082, "C_GetAttributeValue")  # CKR_OBJECT_HANDLE_INVALID
        return self._seen([self.inner.object_again(found)])[0]

    def objects_with_id(self, cka_id: bytes) -> list[RawObject]:
        self._enter("C_FindObjects", cka_id)
        return self._seen(self.inner.objects_with_id(cka_id))

    def _seen(self, found: list[RawObject]) -> list[RawObject]:
        """The objects as the test's card holds them (a certificate may be swapped)."""
        found = [
            dataclasses.replace(o, value=self.boundary.swapped.get(o.id, o.value))
            if o.object_class == CKO_CERTIFICATE
            else o
            for o in found
        ]
        self.handles.update(id(o.handle) for o in found)
        self.boundary.returned("C_FindObjects")
        return found

    def login(self, pin: memoryview, *, context_specific: bool = False) -> None:
        self.boundary.login_buffers.append(pin)
        self._enter("C_Login", "context" if context_specific else "user")
        self.inner.login(pin, context_specific=context_specific)
        self.boundary.returned("C_Login")

    def sign(self, key: RawObject, mechanism: int, data: bytes, **options: Any) -> bytes:
        self._enter("C_Sign", mechanism)
        if id(key.handle) not in self.handles:
            self.boundary.stale_use("C_Sign with a key handle found in another session")
            raise CkError(0x060, "C_SignInit")  # CKR_KEY_HANDLE_INVALID
        value = self.inner.sign(key, mechanism, data, **options)
        self.boundary.returned("C_Sign")
        return value

    def logout(self) -> None:
        self._enter("C_Logout")
        self.inner.logout()

    def close(self) -> None:
        self.boundary.record("C_CloseSession", self.token)
        try:
            self.boundary.check_alive(self.token, self.generation, "C_CloseSession")
        except CkError:
            # The card is "out": the app hears what a real token says, and the
            # real session is ended here so SoftHSM keeps no login behind.
            with contextlib.suppress(CkError):
                self.inner.logout()
            with contextlib.suppress(CkError):
                self.inner.close()
            raise
        self.inner.close()


class WatchedModule(Pkcs11Module):
    """The real module; slots and sessions as a reader with the boundary's faults shows them."""

    def __init__(self, path: str, boundary: Boundary) -> None:
        super().__init__(path)
        self.boundary = boundary
        self._slots: dict[int, tuple[int, str, int]] = {}  # shown id -> (real id, label, gen)

    def _label(self, real_slot: int) -> str:
        return super().token(real_slot).label

    def slot_ids(self) -> list[int]:
        self.boundary.record("C_GetSlotList", "")
        shown = []
        for real in super().slot_ids():
            label = self._label(real)
            if label in self.boundary.pulled:
                continue
            gen = self.boundary.generation.get(label, 0)
            slot = real + SLOT_STRIDE * gen if label else real
            self._slots[slot] = (real, label, gen)
            shown.append(slot)
        return shown

    def every_slot_id(self) -> list[int]:
        """A reader here loses its slot with its card (and renumbers it when the card comes
        back): every slot is the slots with a card."""
        return self.slot_ids()

    def token_present(self, slot_id: int) -> bool:
        real, label, _gen = self._real(slot_id, "C_GetSlotInfo")
        self.boundary.record("C_GetSlotInfo", label)
        return super().token_present(real)

    def _real(self, slot_id: int, function: str) -> tuple[int, str, int]:
        entry = self._slots.get(slot_id)
        if entry is None:
            raise CkError(CKR_SLOT_ID_INVALID, function)
        _real, label, gen = entry
        if label in self.boundary.pulled or self.boundary.generation.get(label, 0) != gen:
            if label not in self.boundary.pulled:
                self.boundary.stale_use(f"{function} on the old slot id of {label!r}")
            raise CkError(CKR_SLOT_ID_INVALID, function)
        return entry

    def token(self, slot_id: int) -> RawToken:
        real, label, _gen = self._real(slot_id, "C_GetTokenInfo")
        self.boundary.record("C_GetTokenInfo", label)
        raw = super().token(real)
        return dataclasses.replace(
            raw, slot_id=slot_id, flags=raw.flags | self.boundary.flags.get(label, 0)
        )

    def mechanisms(self, slot_id: int) -> frozenset[int]:
        real, label, _gen = self._real(slot_id, "C_GetMechanismList")
        self.boundary.record("C_GetMechanismList", label)
        return super().mechanisms(real)

    def open_session(self, slot_id: int) -> Pkcs11Session:
        real, label, gen = self._real(slot_id, "C_OpenSession")
        self.boundary.record("C_OpenSession", label)
        session = WatchedSession(super().open_session(real), self.boundary, label, gen)
        return session  # type: ignore[return-value]
