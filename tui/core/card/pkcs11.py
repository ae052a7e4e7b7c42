"""PKCS#11 at its boundary: a module, its slots, sessions and the few calls we make.

`Pkcs11Module` and `Pkcs11Session` are the only places that call the module:
through PyKCS11 for what takes no session, through the module's own function
list with ctypes (`FunctionList`) for slots, sessions, the login and the
signature, so the PIN is read in place. They return plain values and raise
`CkError(rv, function)` for every return value that is not CKR_OK, so
`tui.core.card.pkcs11_card` can map return values to errors a person understands, and
tests can wrap these two classes to inject what SoftHSM never does (a locked
PIN, a final try, a pulled card) while the real token does everything else.

Nothing here keeps a handle between calls of `Pkcs11Card`: sessions are opened
per operation and objects are found again each time, so a card that was
pulled out and put back never meets a stale handle.
"""

from __future__ import annotations

import contextlib
import ctypes
import sys
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import PyKCS11
import PyKCS11.LowLevel as LowLevel
from PyKCS11 import (
    CKC_X_509,
    CKF_ERROR_STATE,
    CKF_SERIAL_SESSION,
    CKF_TOKEN_PRESENT,
    CKF_USER_PIN_COUNT_LOW,
    CKF_USER_PIN_FINAL_TRY,
    CKF_USER_PIN_LOCKED,
    CKO_CERTIFICATE,
    CKO_PRIVATE_KEY,
    CKO_PUBLIC_KEY,
    CKR_ARGUMENTS_BAD,
    CKR_ATTRIBUTE_SENSITIVE,
    CKR_ATTRIBUTE_TYPE_INVALID,
    CKR_BUFFER_TOO_SMALL,
    CKR_CRYPTOKI_ALREADY_INITIALIZED,
    CKR_DEVICE_ERROR,
    CKR_DEVICE_REMOVED,
    CKR_FUNCTION_NOT_SUPPORTED,
    CKR_OK,
    CKR_SLOT_ID_INVALID,
    CKU_CONTEXT_SPECIFIC,
    CKU_USER,
)

from tui.core.card_info import PinState, PinTries
from tui.core.errors import InitializeArgsError, ModuleLoadError

TOKEN_FLAG_NAMES: dict[int, str] = {
    bit: name.removeprefix("CKF_")
    for bit, name in {
        **PyKCS11.CK_TOKEN_INFO.flags_dict,
        CKF_ERROR_STATE: "CKF_ERROR_STATE",  # v2.40's, not in PyKCS11's table
    }.items()
}
"""CK_TOKEN_INFO's flags by bit, named as `eonay certs` and `doctor` show them (no CKF_)."""


def rv_name(rv: int) -> str:
    """PyKCS11's name for a return value (its CKR table); the number when it has none."""
    name = PyKCS11.CKR.get(rv)
    return str(name) if isinstance(name, str) else f"CKR_0x{rv:08X}"


def mechanism_name(mechanism: int) -> str:
    """PyKCS11's name for a mechanism (its CKM table); the number when it has none."""
    name = PyKCS11.CKM.get(mechanism)
    return str(name) if isinstance(name, str) else f"CKM_0x{mechanism:08X}"


class CkError(Exception):
    """A PKCS#11 function returned something other than CKR_OK."""

    def __init__(self, rv: int, function: str) -> None:
        super().__init__(f"{function} returned {rv_name(rv)}")
        self.rv = rv
        self.function = function


def _check(rv: int, function: str) -> None:
    if rv != CKR_OK:
        raise CkError(int(rv), function)


def _reraise(err: PyKCS11.PyKCS11Error, function: str) -> CkError:
    return CkError(int(err.value), function)


@dataclass(frozen=True)
class RawSlot:
    """A slot (a reader, for smart cards), with or without a token in it."""

    slot_id: int
    description: str
    manufacturer: str
    token_present: bool
    removable: bool


@dataclass(frozen=True)
class LibraryInfo:
    description: str
    manufacturer: str
    version: str  # the library's own version
    cryptoki_version: str  # the PKCS#11 version it implements


@dataclass(frozen=True)
class RawToken:
    slot_id: int
    label: str
    manufacturer: str
    model: str
    serial: str
    flags: int
    min_pin: int
    max_pin: int

    @property
    def flag_names(self) -> tuple[str, ...]:
        return tuple(name for bit, name in TOKEN_FLAG_NAMES.items() if self.flags & bit)

    @property
    def pin_state(self) -> PinState:
        return pin_state_from_flags(self.flags)


def pin_state_from_flags(flags: int) -> PinState:
    """Like Web eID: LOCKED → 0 tries, FINAL_TRY → 1, COUNT_LOW → low, else unknown."""
    if flags & CKF_USER_PIN_LOCKED:
        return PinState(PinTries.LOCKED)
    if flags & CKF_USER_PIN_FINAL_TRY:
        return PinState(PinTries.FINAL)
    if flags & CKF_USER_PIN_COUNT_LOW:
        return PinState(PinTries.LOW)
    return PinState(PinTries.UNKNOWN)


@dataclass(frozen=True)
class RawObject:
    """A certificate or key object found in one session (handle valid only there)."""

    handle: Any
    object_class: int
    id: bytes
    label: str
    value: bytes = b""  # CKA_VALUE of a certificate
    key_type: int | None = None
    always_authenticate: bool = False


@dataclass(frozen=True)
class PssParams:
    hash_mechanism: int
    mgf: int
    salt_length: int


def _text(value: Any) -> str:
    return str(value).strip().rstrip("\x00").strip()


class Pkcs11Session:
    """One PKCS#11 session; close it as soon as the operation is done.

    Its calls go through the module's own function list (`FunctionList`), not
    PyKCS11: C_Login then reads the PIN in place, every attribute of an object
    comes in one C_GetAttributeValue, and a module that gives each caller its
    own instance (p11-kit-client) keeps the session, its login and its
    signature on one connection.
    """

    def __init__(self, module: Pkcs11Module, slot_id: int, handle: int) -> None:
        self.module = module
        self.slot_id = slot_id
        self._f = module.functions
        self._handle = handle

    @property
    def handle(self) -> Any:
        """The CK_SESSION_HANDLE as PyKCS11 takes it (the benchmark's bare C_Sign)."""
        native = LowLevel.CK_SESSION_HANDLE()
        native.assign(self._handle)
        return native

    def _find(self, template: list[tuple[int, Any]], *, first: bool = False) -> list[Any]:
        found: list[Any] = []
        for value in self._f.find(self._handle, template, first=first):
            handle = LowLevel.CK_OBJECT_HANDLE()  # one object per find: see RawObject
            handle.assign(value)
            found.append(handle)
        return found

    def _attributes(self, handle: Any, types: list[int]) -> list[bytes | None]:
        """Raw attribute values; None for one the token does not have or hides.

        All in one call when the token answers the whole template; one by one
        when it refuses part of it, since tokens differ on partial failures.
        """
        return self._f.attributes(self._handle, int(handle.value()), types)

    def objects(self, object_class: int, *, cka_id: bytes | None = None) -> list[RawObject]:
        """Certificates (X.509 only), public or private keys visible in this session;
        with `cka_id`, only those under that CKA_ID (the token does the search)."""
        template: list[tuple[int, Any]] = [(PyKCS11.CKA_CLASS, object_class)]
        if object_class == CKO_CERTIFICATE:
            template.append((PyKCS11.CKA_CERTIFICATE_TYPE, CKC_X_509))
        if cka_id is not None:
            template.append((PyKCS11.CKA_ID, cka_id))
        return [self._read(handle, object_class) for handle in self._find(template)]

    def first_object(self, object_class: int, cka_id: bytes) -> RawObject | None:
        """The first object of `object_class` under `cka_id`: the search ends with the
        first batch that holds one (a signature takes the first match anyway)."""
        handles = self._find(
            [(PyKCS11.CKA_CLASS, object_class), (PyKCS11.CKA_ID, cka_id)], first=True
        )
        return self._read(handles[0], object_class) if handles else None

    def object_again(self, found: RawObject) -> RawObject:
        """`found` read again by its handle, in the session that found it: one call.

        What a certificate is now, when the session that found it stayed open
        (a handle is the session's while the object exists): rewritten in place,
        it shows its new value; deleted, the token answers CKR_OBJECT_HANDLE_INVALID.
        """
        return self._read(found.handle, found.object_class)

    def objects_with_id(self, cka_id: bytes) -> list[RawObject]:
        """Every certificate (X.509) and key under one CKA_ID, in one search."""
        out = []
        for handle in self._find([(PyKCS11.CKA_ID, cka_id)]):
            (raw_class,) = self._attributes(handle, [PyKCS11.CKA_CLASS])
            object_class = _ulong(raw_class, -1)
            if object_class == CKO_CERTIFICATE:
                (cert_type,) = self._attributes(handle, [PyKCS11.CKA_CERTIFICATE_TYPE])
                if _ulong(cert_type, -1) != CKC_X_509:
                    continue
            elif object_class not in (CKO_PUBLIC_KEY, CKO_PRIVATE_KEY):
                continue
            out.append(self._read(handle, object_class))
        return out

    def _read(self, handle: Any, object_class: int) -> RawObject:
        wanted = [PyKCS11.CKA_ID, PyKCS11.CKA_LABEL]
        if object_class == CKO_CERTIFICATE:
            wanted.append(PyKCS11.CKA_VALUE)
        else:
            wanted.append(PyKCS11.CKA_KEY_TYPE)
        if object_class == CKO_PRIVATE_KEY:
            wanted.append(PyKCS11.CKA_ALWAYS_AUTHENTICATE)
        values = self._attributes(handle, wanted)
        key_type = None
        always = False
        if object_class != CKO_CERTIFICATE and values[2]:
            key_type = _ulong(values[2], -1)
        if object_class == CKO_PRIVATE_KEY and values[3]:
            always = values[3] != b"\x00"
        return RawObject(
            handle=handle,
            object_class=object_class,
            id=values[0] or b"",
            label=(values[1] or b"").decode("utf-8", "replace"),
            value=(values[2] or b"") if object_class == CKO_CERTIFICATE else b"",
            key_type=key_type,
            always_authenticate=always,
        )

    def login(self, pin: memoryview | bytearray, *, context_specific: bool = False) -> None:
        """C_Login with `pin` as it lies in the PIN's own buffer: no copy is made on the way.

        PyKCS11's login copies the PIN into a buffer nobody wipes; here the module
        reads the Pin's own bytes through a ctypes call (see `FunctionList`).
        """
        user = CKU_CONTEXT_SPECIFIC if context_specific else CKU_USER
        _check(self._f.login(self._handle, user, pin), "C_Login")

    def sign(
        self,
        key: RawObject,
        mechanism: int,
        data: bytes,
        *,
        pss: PssParams | None = None,
        context_pin: memoryview | None = None,
    ) -> bytes:
        """C_SignInit, the context-specific login when `context_pin` is given, C_Sign."""
        params = (pss.hash_mechanism, pss.mgf, pss.salt_length) if pss is not None else None
        _check(
            self._f.sign_init(self._handle, mechanism, params, int(key.handle.value())),
            "C_SignInit",
        )
        if context_pin is not None:
            self.login(context_pin, context_specific=True)
        rv, value = self._f.sign(self._handle, data)
        _check(rv, "C_Sign")
        return value

    def logout(self) -> None:
        _check(self._f.call("C_Logout", self._handle), "C_Logout")

    def close(self) -> None:
        _check(self._f.call("C_CloseSession", self._handle), "C_CloseSession")

    def state(self) -> int:
        """C_GetSessionInfo's state (CKS_*): tells a logged-in session from a public one."""
        rv, state = self._f.session_state(self._handle)
        _check(rv, "C_GetSessionInfo")
        return state


def _ulong(raw: bytes | None, default: int) -> int:
    return int.from_bytes(raw, sys.byteorder) if raw else default


class Pkcs11Module:
    """A loaded PKCS#11 module (C_Initialize done once); every read asks the token again."""

    _load_lock = threading.Lock()
    _direct_users: ClassVar[Counter[str]] = Counter()  # modules used without PyKCS11, by path

    def __init__(self, path: str) -> None:
        self.path = path
        self.null_init_args = False
        # Initialised with NULL, the module still refuses PyKCS11's arguments: every
        # call then goes through eonay's own function list (`lib` is None).
        self.refuses_init_args = False
        self.calls: Counter[str] = Counter()  # every PKCS#11 call made, by function
        self.lib = self._load(path)
        self.functions = FunctionList(path, self.calls)
        if self.lib is None:
            with self._load_lock:
                self._direct_users[path] += 1

    def _load(self, path: str) -> Any:
        if not Path(path).is_file():
            raise ModuleLoadError(path, "no such file")
        with self._load_lock:
            lib = PyKCS11.PyKCS11Lib()
            try:
                return lib.load(path)
            except PyKCS11.PyKCS11Error as err:
                if err.value != CKR_ARGUMENTS_BAD:
                    raise ModuleLoadError(path, str(err)) from None
            # PyKCS11 passes CK_C_INITIALIZE_ARGS with CKF_OS_LOCKING_OK; some
            # drivers (AKIS) refuse any non-NULL arguments. Initialise the
            # module ourselves with NULL first: PyKCS11's own C_Initialize then
            # gets CKR_CRYPTOKI_ALREADY_INITIALIZED, which it accepts.
            rv = initialize_with_null_args(path)
            if rv not in (CKR_OK, CKR_CRYPTOKI_ALREADY_INITIALIZED):
                raise InitializeArgsError(path, f"C_Initialize(NULL) returned {rv_name(rv)}")
            self.null_init_args = True
            try:
                return PyKCS11.PyKCS11Lib().load(path)
            except PyKCS11.PyKCS11Error as err:
                if err.value != CKR_ARGUMENTS_BAD:
                    raise InitializeArgsError(
                        path, f"after C_Initialize(NULL): {err}", null_accepted=True
                    ) from None
            # Initialised with NULL, and still refusing the arguments instead of
            # answering CKR_CRYPTOKI_ALREADY_INITIALIZED (docs/pkcs11-notes.md): the
            # module is initialised all the same, so eonay calls it without PyKCS11.
            self.refuses_init_args = True
            return None

    def library_info(self) -> LibraryInfo:
        """C_GetInfo: what the module says it is (for `eonay doctor`)."""
        if self.lib is None:
            return self.functions.library_info()
        try:
            info = self.lib.getInfo()
        except PyKCS11.PyKCS11Error as err:
            raise _reraise(err, "C_GetInfo") from None

        def version(pair: Any) -> str:
            return ".".join(str(int(part)) for part in pair)

        return LibraryInfo(
            description=_text(info.libraryDescription),
            manufacturer=_text(info.manufacturerID),
            version=version(info.libraryVersion),
            cryptoki_version=version(info.cryptokiVersion),
        )

    def slots(self) -> list[RawSlot]:
        """Every slot, with a token or not (for `eonay doctor`: readers without a card)."""
        if self.lib is None:
            rv, ids = self.functions.slot_list(present=False)
            _check(rv, "C_GetSlotList")
            return [self.functions.slot(slot) for slot in ids]
        try:
            out = []
            for slot in self.lib.getSlotList(tokenPresent=False):
                info = self.lib.getSlotInfo(slot)
                out.append(
                    RawSlot(
                        slot_id=int(slot),
                        description=_text(info.slotDescription),
                        manufacturer=_text(info.manufacturerID),
                        token_present=bool(info.flags & PyKCS11.CKF_TOKEN_PRESENT),
                        removable=bool(info.flags & PyKCS11.CKF_REMOVABLE_DEVICE),
                    )
                )
            return out
        except PyKCS11.PyKCS11Error as err:
            raise _reraise(err, "C_GetSlotList") from None

    def token_present(self, slot_id: int) -> bool:
        """C_GetSlotInfo's CKF_TOKEN_PRESENT: the reader sees a card in the slot."""
        rv, flags = self.functions.slot_flags(slot_id)
        _check(rv, "C_GetSlotInfo")
        return bool(flags & CKF_TOKEN_PRESENT)

    def every_slot_id(self) -> list[int]:
        """Every slot, with a card or not (`C_GetSlotList(FALSE)`): one call."""
        rv, slots = self.functions.slot_list(present=False)
        _check(rv, "C_GetSlotList")
        return slots

    def slot_ids(self) -> list[int]:
        """Slots with a token present now: every slot (`C_GetSlotList(FALSE)`), each kept
        when its `C_GetSlotInfo` sets CKF_TOKEN_PRESENT.

        Not `C_GetSlotList(TRUE)`: AKIS's libakisp11 is reported to list no slot that way
        even with a card in the reader (docs/pkcs11-notes.md). A slot that went away
        between the two calls (its reader unplugged) is left out.
        """
        rv, slots = self.functions.slot_list(present=False)
        _check(rv, "C_GetSlotList")
        present = []
        for slot in slots:
            rv, flags = self.functions.slot_flags(slot)
            if rv in _SLOT_GONE:
                continue
            if rv in _UNREACHABLE:
                # OpenSC answers so when it sees a card it cannot connect to (another
                # program holds it): kept, so that reading its token tells why.
                present.append(slot)
                continue
            _check(rv, "C_GetSlotInfo")
            if flags & CKF_TOKEN_PRESENT:
                present.append(slot)
        return present

    def token(self, slot_id: int) -> RawToken:
        if self.lib is None:
            return self.functions.token(slot_id)
        self.calls["C_GetTokenInfo"] += 1
        try:
            info = self.lib.getTokenInfo(slot_id)
        except PyKCS11.PyKCS11Error as err:
            self.functions.note("C_GetTokenInfo", int(err.value))
            raise _reraise(err, "C_GetTokenInfo") from None
        self.functions.note("C_GetTokenInfo", CKR_OK)
        return RawToken(
            slot_id=slot_id,
            label=_text(info.label),
            manufacturer=_text(info.manufacturerID),
            model=_text(info.model),
            serial=_text(info.serialNumber),
            flags=int(info.flags),
            min_pin=int(info.ulMinPinLen),
            max_pin=int(info.ulMaxPinLen),
        )

    def mechanisms(self, slot_id: int) -> frozenset[int]:
        if self.lib is None:
            return self.functions.mechanisms(slot_id)
        mechs = LowLevel.ckulonglist()
        self.calls["C_GetMechanismList"] += 2  # PyKCS11 asks the count, then the list
        _check(self.lib.lib.C_GetMechanismList(slot_id, mechs), "C_GetMechanismList")
        return frozenset(int(m) for m in mechs)

    def open_session(self, slot_id: int) -> Pkcs11Session:
        """A read-only session: enough to list, log in as the user and sign."""
        rv, handle = self.functions.open_session(slot_id)
        _check(rv, "C_OpenSession")
        return Pkcs11Session(self, slot_id, handle)

    def close_all_sessions(self, slot_id: int) -> None:
        """C_CloseAllSessions: every session of this process with the token ends, and so
        does its login (the login state lives only as long as the last session)."""
        _check(self.functions.call("C_CloseAllSessions", slot_id), "C_CloseAllSessions")

    def close(self) -> None:
        """Drop our reference; PyKCS11 calls C_Finalize when the last user goes (for a
        module used without PyKCS11, eonay does, when its last user here goes)."""
        self.functions.close()
        lib, self.lib = self.lib, None
        if lib is not None:
            with contextlib.suppress(PyKCS11.PyKCS11Error):
                lib.unload()
        elif self.refuses_init_args:
            self.refuses_init_args = False
            with self._load_lock:
                self._direct_users[self.path] -= 1
                last = self._direct_users[self.path] <= 0
            if last:
                self.functions.call("C_Finalize", None)


# CK_FUNCTION_LIST after its CK_VERSION: one pointer per function, in the order of the
# PKCS#11 v2.40 header. Only a few are called; the rest place them.
_FUNCTION_NAMES = [
    "C_Initialize",
    "C_Finalize",
    "C_GetInfo",
    "C_GetFunctionList",
    "C_GetSlotList",
    "C_GetSlotInfo",
    "C_GetTokenInfo",
    "C_GetMechanismList",
    "C_GetMechanismInfo",
    "C_InitToken",
    "C_InitPIN",
    "C_SetPIN",
    "C_OpenSession",
    "C_CloseSession",
    "C_CloseAllSessions",
    "C_GetSessionInfo",
    "C_GetOperationState",
    "C_SetOperationState",
    "C_Login",
    "C_Logout",
    "C_CreateObject",
    "C_CopyObject",
    "C_DestroyObject",
    "C_GetObjectSize",
    "C_GetAttributeValue",
    "C_SetAttributeValue",
    "C_FindObjectsInit",
    "C_FindObjects",
    "C_FindObjectsFinal",
    "C_EncryptInit",
    "C_Encrypt",
    "C_EncryptUpdate",
    "C_EncryptFinal",
    "C_DecryptInit",
    "C_Decrypt",
    "C_DecryptUpdate",
    "C_DecryptFinal",
    "C_DigestInit",
    "C_Digest",
    "C_DigestUpdate",
    "C_DigestKey",
    "C_DigestFinal",
    "C_SignInit",
    "C_Sign",
    "C_SignUpdate",
    "C_SignFinal",
    "C_SignRecoverInit",
    "C_SignRecover",
    "C_VerifyInit",
    "C_Verify",
    "C_VerifyUpdate",
    "C_VerifyFinal",
    "C_VerifyRecoverInit",
    "C_VerifyRecover",
    "C_DigestEncryptUpdate",
    "C_DecryptDigestUpdate",
    "C_SignEncryptUpdate",
    "C_DecryptVerifyUpdate",
    "C_GenerateKey",
    "C_GenerateKeyPair",
    "C_WrapKey",
    "C_UnwrapKey",
    "C_DeriveKey",
    "C_SeedRandom",
    "C_GenerateRandom",
    "C_GetFunctionStatus",
    "C_CancelFunction",
    "C_WaitForSlotEvent",
]


class _CkFunctionList(ctypes.Structure):
    _fields_ = [
        ("major", ctypes.c_ubyte),
        ("minor", ctypes.c_ubyte),
        *((name, ctypes.c_void_p) for name in _FUNCTION_NAMES),
    ]


_CK_RV = ctypes.c_ulong  # CK_RV, CK_ULONG and the handles are unsigned long
_U = ctypes.c_ulong
_UNAVAILABLE = 2 ** (8 * ctypes.sizeof(_U)) - 1  # CK_UNAVAILABLE_INFORMATION


class _Attribute(ctypes.Structure):  # CK_ATTRIBUTE
    _fields_ = [("type", _U), ("value", ctypes.c_void_p), ("length", _U)]


class _Mechanism(ctypes.Structure):  # CK_MECHANISM
    _fields_ = [("mechanism", _U), ("parameter", ctypes.c_void_p), ("length", _U)]


class _PssParams(ctypes.Structure):  # CK_RSA_PKCS_PSS_PARAMS
    _fields_ = [("hash", _U), ("mgf", _U), ("salt", _U)]


class _SlotInfo(ctypes.Structure):  # CK_SLOT_INFO
    _fields_ = [
        ("description", ctypes.c_ubyte * 64),
        ("manufacturer", ctypes.c_ubyte * 32),
        ("flags", _U),
        ("hardware", ctypes.c_ubyte * 2),
        ("firmware", ctypes.c_ubyte * 2),
    ]


def _chars(size: int) -> Any:
    return ctypes.c_ubyte * size


class _Info(ctypes.Structure):  # CK_INFO
    _fields_ = [
        ("cryptoki", _chars(2)),
        ("manufacturer", _chars(32)),
        ("flags", _U),
        ("description", _chars(32)),
        ("version", _chars(2)),
    ]


class _TokenInfo(ctypes.Structure):  # CK_TOKEN_INFO
    _fields_ = [
        ("label", _chars(32)),
        ("manufacturer", _chars(32)),
        ("model", _chars(16)),
        ("serial", _chars(16)),
        ("flags", _U),
        *((name, _U) for name in (
            "max_sessions", "sessions", "max_rw_sessions", "rw_sessions", "max_pin", "min_pin",
            "total_public", "free_public", "total_private", "free_private",
        )),
        ("hardware", _chars(2)),
        ("firmware", _chars(2)),
        ("utc_time", _chars(16)),
    ]  # fmt: skip


def _padded(field: Any) -> str:
    """A blank-padded CK_UTF8CHAR field as text."""
    return _text(bytes(field).decode("utf-8", "replace"))


def _version(field: Any) -> str:
    return f"{field[0]}.{field[1]}"


class _SessionInfo(ctypes.Structure):  # CK_SESSION_INFO
    _fields_ = [("slot", _U), ("state", _U), ("flags", _U), ("device_error", _U)]


_BYTES = ctypes.POINTER(ctypes.c_ubyte)
_PROTOTYPES: dict[str, Any] = {
    "C_Initialize": ctypes.CFUNCTYPE(_CK_RV, ctypes.c_void_p),
    "C_Finalize": ctypes.CFUNCTYPE(_CK_RV, ctypes.c_void_p),
    "C_OpenSession": ctypes.CFUNCTYPE(
        _CK_RV, _U, _U, ctypes.c_void_p, ctypes.c_void_p, ctypes.POINTER(_U)
    ),
    "C_GetSlotList": ctypes.CFUNCTYPE(
        _CK_RV, ctypes.c_ubyte, ctypes.POINTER(_U), ctypes.POINTER(_U)
    ),
    "C_GetSlotInfo": ctypes.CFUNCTYPE(_CK_RV, _U, ctypes.POINTER(_SlotInfo)),
    "C_GetInfo": ctypes.CFUNCTYPE(_CK_RV, ctypes.POINTER(_Info)),
    "C_GetTokenInfo": ctypes.CFUNCTYPE(_CK_RV, _U, ctypes.POINTER(_TokenInfo)),
    "C_GetMechanismList": ctypes.CFUNCTYPE(_CK_RV, _U, ctypes.POINTER(_U), ctypes.POINTER(_U)),
    "C_CloseSession": ctypes.CFUNCTYPE(_CK_RV, _U),
    "C_CloseAllSessions": ctypes.CFUNCTYPE(_CK_RV, _U),
    "C_GetSessionInfo": ctypes.CFUNCTYPE(_CK_RV, _U, ctypes.POINTER(_SessionInfo)),
    "C_Login": ctypes.CFUNCTYPE(_CK_RV, _U, _U, _BYTES, _U),
    "C_Logout": ctypes.CFUNCTYPE(_CK_RV, _U),
    "C_GetAttributeValue": ctypes.CFUNCTYPE(_CK_RV, _U, _U, ctypes.POINTER(_Attribute), _U),
    "C_FindObjectsInit": ctypes.CFUNCTYPE(_CK_RV, _U, ctypes.POINTER(_Attribute), _U),
    "C_FindObjects": ctypes.CFUNCTYPE(_CK_RV, _U, ctypes.POINTER(_U), _U, ctypes.POINTER(_U)),
    "C_FindObjectsFinal": ctypes.CFUNCTYPE(_CK_RV, _U),
    "C_SignInit": ctypes.CFUNCTYPE(_CK_RV, _U, ctypes.POINTER(_Mechanism), _U),
    "C_Sign": ctypes.CFUNCTYPE(_CK_RV, _U, _BYTES, _U, _BYTES, ctypes.POINTER(_U)),
}
_C_INITIALIZE = _PROTOTYPES["C_Initialize"]

# Room for each attribute in the one C_GetAttributeValue that reads an object;
# a value that does not fit costs two more calls (its size, then the value).
_ROOM = {
    PyKCS11.CKA_CLASS: ctypes.sizeof(_U),
    PyKCS11.CKA_CERTIFICATE_TYPE: ctypes.sizeof(_U),
    PyKCS11.CKA_KEY_TYPE: ctypes.sizeof(_U),
    PyKCS11.CKA_ALWAYS_AUTHENTICATE: 1,
    PyKCS11.CKA_VALUE: 8192,
}
_FIND_BATCH = 64
_SLOT_ROOM = 64
_SIGNATURE_ROOM = 1024  # RSA 8192 bits; a larger one costs one more call


def _function_list(path: str) -> tuple[int, _CkFunctionList | None]:
    """The module's CK_FUNCTION_LIST, from its C_GetFunctionList.

    dlopen() of the same path yields the library PyKCS11 loaded (one handle,
    counted), so these are the very functions PyKCS11 calls, on the same state.
    """
    try:
        module = ctypes.CDLL(path)
        get_function_list = module.C_GetFunctionList
    except (OSError, AttributeError) as err:
        raise ModuleLoadError(path, str(err)) from None
    get_function_list.argtypes = [ctypes.POINTER(ctypes.POINTER(_CkFunctionList))]
    get_function_list.restype = _CK_RV
    table = ctypes.POINTER(_CkFunctionList)()
    rv = int(get_function_list(ctypes.byref(table)))
    if rv != CKR_OK or not table:
        return rv or CKR_ARGUMENTS_BAD, None
    return rv, table.contents


class FunctionList:
    """The session calls, on the module's own function list, through ctypes.

    C_Login is why: PyKCS11 copies the PIN into a vector it never wipes, while
    here the module reads the PIN's own buffer. ctypes also lets other Python
    threads run while a call waits for the card. `calls` counts every call made.
    """

    def __init__(self, path: str, calls: Counter[str] | None = None) -> None:
        _rv, table = _function_list(path)
        if table is None or not table.C_Login:
            raise ModuleLoadError(path, "C_GetFunctionList gave no C_Login")
        _rv, again = _function_list(path)
        self.own_instance = again is None or ctypes.addressof(again) != ctypes.addressof(table)
        self._table = table
        self._functions: dict[str, Any] = {}
        self.calls: Counter[str] = calls if calls is not None else Counter()
        # Each call's function name and return value, when set (`eonay doctor --bundle`'s
        # trace of one listing): names and codes only, never an argument.
        self.trace: Callable[[str, int], None] | None = None
        if self.own_instance:
            # A module that makes a new instance per C_GetFunctionList (p11-kit-client:
            # one connection each) needs this one initialised too; its sessions then
            # live on this instance only, which is why every session call comes here.
            rv = self.call("C_Initialize", None)
            if rv not in (CKR_OK, CKR_CRYPTOKI_ALREADY_INITIALIZED):
                raise ModuleLoadError(path, f"C_Initialize returned {rv_name(rv)}")

    def close(self) -> None:
        """End eonay's own instance (p11-kit-client: its connection); a shared one is
        PyKCS11's to finalize."""
        if self.own_instance:
            self.own_instance = False
            self.call("C_Finalize", None)

    def call(self, name: str, *args: Any) -> int:
        function = self._functions.get(name)
        if function is None:
            pointer = getattr(self._table, name)
            if not pointer:
                self.note(name, int(CKR_FUNCTION_NOT_SUPPORTED))
                return int(CKR_FUNCTION_NOT_SUPPORTED)
            function = self._functions[name] = _PROTOTYPES[name](pointer)
        self.calls[name] += 1
        rv = int(function(*args))
        self.note(name, rv)
        return rv

    def note(self, name: str, rv: int) -> None:
        """Tell the trace, if any, of a call made here or through PyKCS11."""
        if self.trace is not None:
            self.trace(name, rv)

    def slot_list(self, *, present: bool) -> tuple[int, list[int]]:
        room = (_U * _SLOT_ROOM)()
        count = _U(_SLOT_ROOM)
        rv = self.call("C_GetSlotList", 1 if present else 0, room, ctypes.byref(count))
        if rv == CKR_BUFFER_TOO_SMALL:  # more readers than room: ask the count, then the list
            rv = self.call("C_GetSlotList", 1 if present else 0, None, ctypes.byref(count))
            room = (_U * int(count.value))()
            if rv == CKR_OK:
                rv = self.call("C_GetSlotList", 1 if present else 0, room, ctypes.byref(count))
        if rv != CKR_OK:
            return rv, []
        return rv, [int(room[i]) for i in range(count.value)]

    def slot_flags(self, slot_id: int) -> tuple[int, int]:
        """C_GetSlotInfo's flags (CKF_TOKEN_PRESENT, CKF_REMOVABLE_DEVICE, …)."""
        info = _SlotInfo()
        rv = self.call("C_GetSlotInfo", slot_id, ctypes.byref(info))
        return rv, int(info.flags)

    # For a module PyKCS11 cannot load (`Pkcs11Module.refuses_init_args`): what PyKCS11
    # asks otherwise, the same values, read with ctypes.

    def library_info(self) -> LibraryInfo:
        info = _Info()
        _check(self.call("C_GetInfo", ctypes.byref(info)), "C_GetInfo")
        return LibraryInfo(
            description=_padded(info.description),
            manufacturer=_padded(info.manufacturer),
            version=_version(info.version),
            cryptoki_version=_version(info.cryptoki),
        )

    def slot(self, slot_id: int) -> RawSlot:
        info = _SlotInfo()
        _check(self.call("C_GetSlotInfo", slot_id, ctypes.byref(info)), "C_GetSlotInfo")
        return RawSlot(
            slot_id=slot_id,
            description=_padded(info.description),
            manufacturer=_padded(info.manufacturer),
            token_present=bool(info.flags & CKF_TOKEN_PRESENT),
            removable=bool(info.flags & PyKCS11.CKF_REMOVABLE_DEVICE),
        )

    def token(self, slot_id: int) -> RawToken:
        info = _TokenInfo()
        _check(self.call("C_GetTokenInfo", slot_id, ctypes.byref(info)), "C_GetTokenInfo")
        return RawToken(
            slot_id=slot_id,
            label=_padded(info.label),
            manufacturer=_padded(info.manufacturer),
            model=_padded(info.model),
            serial=_padded(info.serial),
            flags=int(info.flags),
            min_pin=int(info.min_pin),
            max_pin=int(info.max_pin),
        )

    def mechanisms(self, slot_id: int) -> frozenset[int]:
        count = _U()
        rv = self.call("C_GetMechanismList", slot_id, None, ctypes.byref(count))
        _check(rv, "C_GetMechanismList")
        room = (_U * max(int(count.value), 1))()
        rv = self.call("C_GetMechanismList", slot_id, room, ctypes.byref(count))
        _check(rv, "C_GetMechanismList")
        return frozenset(int(room[i]) for i in range(count.value))

    def open_session(self, slot_id: int) -> tuple[int, int]:
        handle = _U()
        flags = CKF_SERIAL_SESSION
        rv = self.call("C_OpenSession", slot_id, flags, None, None, ctypes.byref(handle))
        return rv, int(handle.value)

    def session_state(self, session: int) -> tuple[int, int]:
        info = _SessionInfo()
        rv = self.call("C_GetSessionInfo", session, ctypes.byref(info))
        return rv, int(info.state)

    def login(self, session: int, user: int, buffer: memoryview | bytearray) -> int:
        """C_Login(session, user, pin, len(pin)) on the bytes in place; returns the CK_RV."""
        pin = memoryview(buffer)
        if pin.readonly or pin.itemsize != 1:
            raise TypeError("the PIN must be a writable byte buffer (a Pin's)")
        size = pin.nbytes
        if size == 0:  # a PIN pad reader's NULL PIN: the reader asks on its keypad
            return self.call("C_Login", session, user, None, 0)
        digits = (ctypes.c_ubyte * size).from_buffer(pin)  # a view of the same bytes
        try:
            return self.call("C_Login", session, user, digits, size)
        finally:
            del digits  # let the PIN's buffer go (it refuses resizing while viewed)

    def find(
        self, session: int, template: list[tuple[int, Any]], *, first: bool = False
    ) -> list[int]:
        """C_FindObjectsInit, C_FindObjects until it has no more (with `first`: until a
        batch holds any), C_FindObjectsFinal."""
        attrs = (_Attribute * len(template))()
        keep: list[Any] = []
        for attr, (kind, value) in zip(attrs, template, strict=True):
            if isinstance(value, bool):
                data: Any = ctypes.c_ubyte(1 if value else 0)
            elif isinstance(value, int):
                data = _U(value)
            else:
                data = (ctypes.c_ubyte * max(len(value), 1)).from_buffer_copy(value or b"\0")
            keep.append(data)
            attr.type, attr.value = kind, ctypes.addressof(data)
            attr.length = len(value) if isinstance(value, bytes) else ctypes.sizeof(data)
        _check(self.call("C_FindObjectsInit", session, attrs, len(template)), "C_FindObjectsInit")
        found: list[int] = []
        try:
            batch = (_U * _FIND_BATCH)()
            count = _U()
            while True:
                rv = self.call("C_FindObjects", session, batch, _FIND_BATCH, ctypes.byref(count))
                _check(rv, "C_FindObjects")
                if count.value == 0:
                    break
                found.extend(int(batch[i]) for i in range(count.value))
                if first:
                    break
        finally:
            self.call("C_FindObjectsFinal", session)
        return found

    def attributes(self, session: int, handle: int, types: list[int]) -> list[bytes | None]:
        """The values of `types` (None: the object has none, or hides it): one call when
        the token answers the whole template into room made beforehand."""
        rv, values = self._read(session, handle, types)
        if rv == CKR_OK:
            return values
        if rv not in _ABSENT:
            raise CkError(rv, "C_GetAttributeValue")
        out: list[bytes | None] = []
        for kind in types:  # tokens differ on partial failures: ask one by one
            rv, (value,) = self._read(session, handle, [kind])
            if rv in _ABSENT:
                out.append(None)
                continue
            _check(rv, "C_GetAttributeValue")
            out.append(value)
        return out

    def _read(
        self, session: int, handle: int, types: list[int], room: list[int] | None = None
    ) -> tuple[int, list[bytes | None]]:
        sizes = room or [_ROOM.get(kind, 256) for kind in types]
        buffers = [(ctypes.c_ubyte * size)() for size in sizes]
        template = (_Attribute * len(types))()
        for attr, kind, buf in zip(template, types, buffers, strict=True):
            attr.type, attr.value, attr.length = kind, ctypes.addressof(buf), len(buf)
        rv = self.call("C_GetAttributeValue", session, handle, template, len(types))
        if rv == CKR_BUFFER_TOO_SMALL and room is None:
            for attr in template:  # ask the sizes, then read into exactly that room
                attr.value, attr.length = None, 0
            rv = self.call("C_GetAttributeValue", session, handle, template, len(types))
            if rv != CKR_OK:
                return rv, [None] * len(types)
            exact = [0 if a.length == _UNAVAILABLE else int(a.length) for a in template]
            return self._read(session, handle, types, [max(size, 1) for size in exact])
        if rv != CKR_OK:
            return rv, [None] * len(types)
        return rv, [
            None if attr.length == _UNAVAILABLE else bytes(buf[: attr.length])
            for attr, buf in zip(template, buffers, strict=True)
        ]

    def sign_init(
        self, session: int, mechanism: int, pss: tuple[int, int, int] | None, key: int
    ) -> int:
        mech = _Mechanism(mechanism, None, 0)
        params = _PssParams(*pss) if pss is not None else None
        if params is not None:
            mech.parameter, mech.length = ctypes.addressof(params), ctypes.sizeof(params)
        return self.call("C_SignInit", session, ctypes.byref(mech), key)

    def sign(self, session: int, data: bytes) -> tuple[int, bytes]:
        """C_Sign into room for any usual signature; a larger one is asked again at its size."""
        payload = (ctypes.c_ubyte * max(len(data), 1)).from_buffer_copy(data or b"\0")
        out = (ctypes.c_ubyte * _SIGNATURE_ROOM)()
        size = _U(len(out))
        rv = self.call("C_Sign", session, payload, len(data), out, ctypes.byref(size))
        if rv == CKR_BUFFER_TOO_SMALL:
            out = (ctypes.c_ubyte * int(size.value))()
            rv = self.call("C_Sign", session, payload, len(data), out, ctypes.byref(size))
        return rv, bytes(out[: size.value]) if rv == CKR_OK else b""


_SLOT_GONE = (CKR_SLOT_ID_INVALID, CKR_DEVICE_REMOVED)
_UNREACHABLE = (CKR_DEVICE_ERROR,)
_ABSENT = (CKR_ATTRIBUTE_SENSITIVE, CKR_ATTRIBUTE_TYPE_INVALID, CKR_ARGUMENTS_BAD)


def initialize_with_null_args(path: str) -> int:
    """Call the module's C_Initialize(NULL) (through C_GetFunctionList, with ctypes).

    The module is then initialised for PyKCS11 too (same library, same state).
    Returns the CK_RV.
    """
    rv, table = _function_list(path)
    if table is None or not table.C_Initialize:
        return rv or CKR_ARGUMENTS_BAD
    return int(_C_INITIALIZE(table.C_Initialize)(None))
