"""PKCS#11 at its boundary: a module, its slots, sessions and the few calls we make.

`Pkcs11Module` and `Pkcs11Session` are the only places that touch PyKCS11.
They return plain values and raise `CkError(rv, function)` for every return
value that is not CKR_OK, so `tui.core.card.pkcs11_card` can map return values to errors
a person understands, and tests can wrap these two classes to inject what
SoftHSM never does (a locked PIN, a final try, a pulled card) while the real
token does everything else.

Nothing here keeps a handle between calls of `Pkcs11Card`: sessions are opened
per operation and objects are found again each time, so a card that was
pulled out and put back never meets a stale handle.
"""

from __future__ import annotations

import contextlib
import ctypes
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import PyKCS11
import PyKCS11.LowLevel as LowLevel

from tui.core.card_info import PinState, PinTries
from tui.core.errors import InitializeArgsError, ModuleLoadError

# PKCS#11 v2.40 return values we act on (numeric values from the standard).
CKR_OK = 0x000
CKR_ARGUMENTS_BAD = 0x007
CKR_DEVICE_ERROR = 0x030
CKR_DEVICE_REMOVED = 0x032
CKR_KEY_HANDLE_INVALID = 0x060
CKR_MECHANISM_INVALID = 0x070
CKR_OBJECT_HANDLE_INVALID = 0x082
CKR_PIN_INCORRECT = 0x0A0
CKR_PIN_INVALID = 0x0A1
CKR_PIN_LEN_RANGE = 0x0A2
CKR_PIN_EXPIRED = 0x0A3
CKR_PIN_LOCKED = 0x0A4
CKR_SESSION_CLOSED = 0x0B0
CKR_SESSION_HANDLE_INVALID = 0x0B3
CKR_TOKEN_NOT_PRESENT = 0x0E0
CKR_TOKEN_NOT_RECOGNIZED = 0x0E1
CKR_USER_ALREADY_LOGGED_IN = 0x100
CKR_USER_NOT_LOGGED_IN = 0x101
CKR_CRYPTOKI_ALREADY_INITIALIZED = 0x191

# Token flags (CK_TOKEN_INFO.flags)
CKF_LOGIN_REQUIRED = 0x4
CKF_USER_PIN_INITIALIZED = 0x8
CKF_PROTECTED_AUTHENTICATION_PATH = 0x100
CKF_TOKEN_INITIALIZED = 0x400
CKF_USER_PIN_COUNT_LOW = 0x10000
CKF_USER_PIN_FINAL_TRY = 0x20000
CKF_USER_PIN_LOCKED = 0x40000
CKF_USER_PIN_TO_BE_CHANGED = 0x80000

TOKEN_FLAG_NAMES: dict[int, str] = {
    0x1: "RNG",
    0x2: "WRITE_PROTECTED",
    CKF_LOGIN_REQUIRED: "LOGIN_REQUIRED",
    CKF_USER_PIN_INITIALIZED: "USER_PIN_INITIALIZED",
    0x20: "RESTORE_KEY_NOT_NEEDED",
    0x40: "CLOCK_ON_TOKEN",
    CKF_PROTECTED_AUTHENTICATION_PATH: "PROTECTED_AUTHENTICATION_PATH",
    0x200: "DUAL_CRYPTO_OPERATIONS",
    CKF_TOKEN_INITIALIZED: "TOKEN_INITIALIZED",
    0x800: "SECONDARY_AUTHENTICATION",
    CKF_USER_PIN_COUNT_LOW: "USER_PIN_COUNT_LOW",
    CKF_USER_PIN_FINAL_TRY: "USER_PIN_FINAL_TRY",
    CKF_USER_PIN_LOCKED: "USER_PIN_LOCKED",
    CKF_USER_PIN_TO_BE_CHANGED: "USER_PIN_TO_BE_CHANGED",
    0x100000: "SO_PIN_COUNT_LOW",
    0x200000: "SO_PIN_FINAL_TRY",
    0x400000: "SO_PIN_LOCKED",
    0x800000: "SO_PIN_TO_BE_CHANGED",
    0x1000000: "ERROR_STATE",
}

# Mechanisms
CKM_RSA_PKCS = 0x001
CKM_RSA_PKCS_PSS = 0x00D
CKM_SHA256_RSA_PKCS = 0x040
CKM_SHA384_RSA_PKCS = 0x041
CKM_SHA512_RSA_PKCS = 0x042
CKM_SHA256_RSA_PKCS_PSS = 0x043
CKM_SHA384_RSA_PKCS_PSS = 0x044
CKM_SHA512_RSA_PKCS_PSS = 0x045
CKM_SHA256 = 0x250
CKM_SHA384 = 0x260
CKM_SHA512 = 0x270
CKM_ECDSA = 0x1041
CKG_MGF1_SHA256 = 0x2
CKG_MGF1_SHA384 = 0x3
CKG_MGF1_SHA512 = 0x4

MECHANISM_NAMES: dict[int, str] = {
    CKM_RSA_PKCS: "CKM_RSA_PKCS",
    CKM_RSA_PKCS_PSS: "CKM_RSA_PKCS_PSS",
    CKM_SHA256_RSA_PKCS: "CKM_SHA256_RSA_PKCS",
    CKM_SHA384_RSA_PKCS: "CKM_SHA384_RSA_PKCS",
    CKM_SHA512_RSA_PKCS: "CKM_SHA512_RSA_PKCS",
    CKM_SHA256_RSA_PKCS_PSS: "CKM_SHA256_RSA_PKCS_PSS",
    CKM_SHA384_RSA_PKCS_PSS: "CKM_SHA384_RSA_PKCS_PSS",
    CKM_SHA512_RSA_PKCS_PSS: "CKM_SHA512_RSA_PKCS_PSS",
    CKM_ECDSA: "CKM_ECDSA",
}

# Session states (CK_SESSION_INFO.state)
CKS_RO_PUBLIC_SESSION = 0
CKS_RO_USER_FUNCTIONS = 1
CKS_RW_PUBLIC_SESSION = 2
CKS_RW_USER_FUNCTIONS = 3

CKU_USER = 1
CKU_CONTEXT_SPECIFIC = 2

CKO_CERTIFICATE = 1
CKO_PUBLIC_KEY = 2
CKO_PRIVATE_KEY = 3
CKC_X_509 = 0
CKK_RSA = 0
CKK_EC = 3


def rv_name(rv: int) -> str:
    name = PyKCS11.CKR.get(rv)
    return str(name) if isinstance(name, str) else f"CKR_0x{rv:08X}"


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
    """One PKCS#11 session; close it as soon as the operation is done."""

    def __init__(self, module: Pkcs11Module, slot_id: int, handle: Any) -> None:
        self.module = module
        self.slot_id = slot_id
        self._lib = module.lib.lib  # PyKCS11.LowLevel.CPKCS11Lib
        self._handle = handle

    def _find(self, template: list[tuple[int, Any]]) -> list[Any]:
        attrs = LowLevel.ckattrlist(len(template))
        for i, (attr, value) in enumerate(template):
            if isinstance(value, bool):
                attrs[i].SetBool(attr, value)
            elif isinstance(value, int):
                attrs[i].SetNum(attr, value)
            else:
                attrs[i].SetBin(attr, PyKCS11.ckbytelist(value))
        _check(self._lib.C_FindObjectsInit(self._handle, attrs), "C_FindObjectsInit")
        found: list[Any] = []
        try:
            batch = LowLevel.ckulonglist(16)
            while True:
                _check(self._lib.C_FindObjects(self._handle, batch), "C_FindObjects")
                if len(batch) == 0:
                    break
                for h in batch:
                    handle = LowLevel.CK_OBJECT_HANDLE()
                    handle.assign(h)
                    found.append(handle)
        finally:
            self._lib.C_FindObjectsFinal(self._handle)
        return found

    def _attributes(self, handle: Any, types: list[int]) -> list[bytes | None]:
        """Raw attribute values; None for one the token does not have or hides.

        All in one template first (two calls); one by one only when the token
        refuses part of it, since tokens differ on partial failures.
        """
        template = LowLevel.ckattrlist(len(types))
        for i, attr_type in enumerate(types):
            template[i].SetType(attr_type)
        if self._lib.C_GetAttributeValue(self._handle, handle, template) == CKR_OK:
            _check(
                self._lib.C_GetAttributeValue(self._handle, handle, template),
                "C_GetAttributeValue",
            )
            return [bytes(template[i].GetBin()) for i in range(len(types))]
        out: list[bytes | None] = []
        for attr_type in types:
            one = LowLevel.ckattrlist(1)
            one[0].SetType(attr_type)
            rv = self._lib.C_GetAttributeValue(self._handle, handle, one)
            if rv != CKR_OK:
                if rv in (0x011, 0x012, CKR_ARGUMENTS_BAD):  # SENSITIVE, TYPE_INVALID
                    out.append(None)
                    continue
                _check(rv, "C_GetAttributeValue")
            _check(self._lib.C_GetAttributeValue(self._handle, handle, one), "C_GetAttributeValue")
            out.append(bytes(one[0].GetBin()))
        return out

    @property
    def handle(self) -> Any:
        """The CK_SESSION_HANDLE (for the benchmark's bare C_Sign in this same session)."""
        return self._handle

    def objects(self, object_class: int, *, cka_id: bytes | None = None) -> list[RawObject]:
        """Certificates (X.509 only), public or private keys visible in this session;
        with `cka_id`, only those under that CKA_ID (the token does the search)."""
        template: list[tuple[int, Any]] = [(PyKCS11.CKA_CLASS, object_class)]
        if object_class == CKO_CERTIFICATE:
            template.append((PyKCS11.CKA_CERTIFICATE_TYPE, CKC_X_509))
        if cka_id is not None:
            template.append((PyKCS11.CKA_ID, cka_id))
        return [self._read(handle, object_class) for handle in self._find(template)]

    def objects_with_id(self, cka_id: bytes) -> list[RawObject]:
        """Every certificate (X.509) and key under one CKA_ID, in one search: what signing
        re-reads of the certificate the user chose (SoftHSM pays per C_FindObjectsInit)."""
        out = []
        for handle in self._find([(PyKCS11.CKA_ID, cka_id)]):
            (raw_class,) = self._attributes(handle, [PyKCS11.CKA_CLASS])
            object_class = int.from_bytes(raw_class or b"", "little")
            if object_class == CKO_CERTIFICATE:
                (cert_type,) = self._attributes(handle, [PyKCS11.CKA_CERTIFICATE_TYPE])
                if int.from_bytes(cert_type or b"\xff", "little") != CKC_X_509:
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
            key_type = int.from_bytes(values[2], "little")
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

    def login(self, pin: bytearray, *, context_specific: bool = False) -> None:
        """C_Login once with `pin`; the copy handed to PyKCS11 is zeroed afterwards."""
        buf = LowLevel.ckbytelist()
        for b in pin:
            buf.append(b)
        try:
            user = CKU_CONTEXT_SPECIFIC if context_specific else CKU_USER
            _check(self._lib.C_Login(self._handle, user, buf), "C_Login")
        finally:
            for i in range(len(buf)):
                buf[i] = 0

    def sign(
        self,
        key: RawObject,
        mechanism: int,
        data: bytes,
        *,
        pss: PssParams | None = None,
        context_pin: bytearray | None = None,
    ) -> bytes:
        """C_SignInit, the context-specific login when `context_pin` is given, C_Sign."""
        # keep the wrapper alive: it owns the parameter block the mechanism points to
        wrapper: Any = (
            PyKCS11.RSA_PSS_Mechanism(mechanism, pss.hash_mechanism, pss.mgf, pss.salt_length)
            if pss is not None
            else PyKCS11.Mechanism(mechanism)
        )
        mech = wrapper.to_native()
        _check(self._lib.C_SignInit(self._handle, mech, key.handle), "C_SignInit")
        if context_pin is not None:
            self.login(context_pin, context_specific=True)
        payload = PyKCS11.ckbytelist(data)
        out = PyKCS11.ckbytelist()
        _check(self._lib.C_Sign(self._handle, payload, out), "C_Sign")  # size
        _check(self._lib.C_Sign(self._handle, payload, out), "C_Sign")
        return bytes(out)

    def logout(self) -> None:
        _check(self._lib.C_Logout(self._handle), "C_Logout")

    def close(self) -> None:
        _check(self._lib.C_CloseSession(self._handle), "C_CloseSession")

    def state(self) -> int:
        """C_GetSessionInfo's state (CKS_*): tells a logged-in session from a public one."""
        info = LowLevel.CK_SESSION_INFO()
        _check(self._lib.C_GetSessionInfo(self._handle, info), "C_GetSessionInfo")
        return int(info.state)


class Pkcs11Module:
    """A loaded PKCS#11 module (C_Initialize done once); every read asks the token again."""

    _load_lock = threading.Lock()

    def __init__(self, path: str) -> None:
        self.path = path
        self.null_init_args = False
        self.lib = self._load(path)

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
                raise InitializeArgsError(path, str(err)) from None

    def library_info(self) -> LibraryInfo:
        """C_GetInfo: what the module says it is (for `eonay doctor`)."""
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

    def slot_ids(self) -> list[int]:
        """Slots with a token present now."""
        try:
            return [int(s) for s in self.lib.getSlotList(tokenPresent=True)]
        except PyKCS11.PyKCS11Error as err:
            raise _reraise(err, "C_GetSlotList") from None

    def token(self, slot_id: int) -> RawToken:
        try:
            info = self.lib.getTokenInfo(slot_id)
        except PyKCS11.PyKCS11Error as err:
            raise _reraise(err, "C_GetTokenInfo") from None
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
        mechs = LowLevel.ckulonglist()
        _check(self.lib.lib.C_GetMechanismList(slot_id, mechs), "C_GetMechanismList")
        return frozenset(int(m) for m in mechs)

    def open_session(self, slot_id: int) -> Pkcs11Session:
        """A read-only session: enough to list, log in as the user and sign."""
        handle = LowLevel.CK_SESSION_HANDLE()
        flags = PyKCS11.CKF_SERIAL_SESSION
        _check(self.lib.lib.C_OpenSession(slot_id, flags, handle), "C_OpenSession")
        return Pkcs11Session(self, slot_id, handle)

    def close_all_sessions(self, slot_id: int) -> None:
        """C_CloseAllSessions: every session of this process with the token ends, and so
        does its login (the login state lives only as long as the last session)."""
        _check(self.lib.lib.C_CloseAllSessions(slot_id), "C_CloseAllSessions")

    def close(self) -> None:
        """Drop our reference; PyKCS11 calls C_Finalize when the last user goes."""
        lib, self.lib = self.lib, None
        if lib is not None:
            with contextlib.suppress(PyKCS11.PyKCS11Error):
                lib.unload()


class _FunctionListHead(ctypes.Structure):
    """The start of CK_FUNCTION_LIST: the version, then C_Initialize."""

    _fields_ = [
        ("major", ctypes.c_ubyte),
        ("minor", ctypes.c_ubyte),
        ("C_Initialize", ctypes.c_void_p),
    ]


def initialize_with_null_args(path: str) -> int:
    """Call the module's C_Initialize(NULL) (through C_GetFunctionList, with ctypes).

    dlopen() of the same path yields the library PyKCS11 loaded, so the module
    is then initialised for PyKCS11 too. Returns the CK_RV.
    """
    try:
        module = ctypes.CDLL(path)
        get_function_list = module.C_GetFunctionList
    except (OSError, AttributeError) as err:
        raise ModuleLoadError(path, str(err)) from None
    get_function_list.argtypes = [ctypes.POINTER(ctypes.POINTER(_FunctionListHead))]
    get_function_list.restype = ctypes.c_ulong
    head = ctypes.POINTER(_FunctionListHead)()
    rv = int(get_function_list(ctypes.byref(head)))
    if rv != CKR_OK or not head or not head.contents.C_Initialize:
        return rv or CKR_ARGUMENTS_BAD
    c_initialize = ctypes.CFUNCTYPE(ctypes.c_ulong, ctypes.c_void_p)(head.contents.C_Initialize)
    return int(c_initialize(None))
