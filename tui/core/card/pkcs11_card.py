"""The card service over PKCS#11: list certificates, read the PIN state, sign once.

`Pkcs11Card` implements `tui.core.services.CardService`. What idle screens
ask (tokens, certificates) is kept and checked with one cheap call a second,
so a pulled or swapped card is seen within a second or two and the card is
re-listed only when it changed; the listing keeps no handle, so none goes stale.
Signing and the PIN state always ask the card. The one handle kept is a PIN
screen's (`prepare`): a session, and the certificate found in it, held until
the signature, so Enter costs only the checks safety needs and the signature.
The PIN meets the card in exactly one C_Login per signature (plus the
context-specific one a key with CKA_ALWAYS_AUTHENTICATE demands) and is wiped
when `sign` returns or raises.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Literal

from PyKCS11 import (
    CKF_PROTECTED_AUTHENTICATION_PATH,
    CKF_TOKEN_INITIALIZED,
    CKG_MGF1_SHA256,
    CKG_MGF1_SHA384,
    CKG_MGF1_SHA512,
    CKM_ECDSA,
    CKM_RSA_PKCS,
    CKM_RSA_PKCS_PSS,
    CKM_SHA256,
    CKM_SHA256_RSA_PKCS,
    CKM_SHA256_RSA_PKCS_PSS,
    CKM_SHA384,
    CKM_SHA384_RSA_PKCS,
    CKM_SHA384_RSA_PKCS_PSS,
    CKM_SHA512,
    CKM_SHA512_RSA_PKCS,
    CKM_SHA512_RSA_PKCS_PSS,
    CKO_CERTIFICATE,
    CKO_PRIVATE_KEY,
    CKO_PUBLIC_KEY,
    CKR_DEVICE_ERROR,
    CKR_DEVICE_REMOVED,
    CKR_FUNCTION_CANCELED,
    CKR_MECHANISM_INVALID,
    CKR_PIN_INCORRECT,
    CKR_PIN_LEN_RANGE,
    CKR_PIN_LOCKED,
    CKR_SESSION_CLOSED,
    CKR_SESSION_HANDLE_INVALID,
    CKR_SLOT_ID_INVALID,
    CKR_TOKEN_NOT_PRESENT,
    CKR_TOKEN_NOT_RECOGNIZED,
    CKR_USER_ALREADY_LOGGED_IN,
)

from tui.core import reasons
from tui.core.card import cades
from tui.core.card.busy import busy_error
from tui.core.card.certificates import certificate_info, facts, ordered
from tui.core.card.pkcs11 import (
    CkError,
    Pkcs11Module,
    Pkcs11Session,
    PssParams,
    RawObject,
    RawToken,
    mechanism_name,
)
from tui.core.card_info import CertificateInfo, PinState, Signature, TokenInfo
from tui.core.clock import Clock, SystemClock
from tui.core.errors import (
    CardRemovedError,
    CertificateChangedError,
    CertificateNotUsableError,
    EonayError,
    MechanismNotSupportedError,
    PinCancelledError,
    PinIncorrectError,
    PinLengthError,
    PinLockedError,
    TokenError,
)
from tui.core.pin import Pin
from tui.core.text import SignableText

log = logging.getLogger(__name__)

_REMOVED = frozenset(
    {
        CKR_TOKEN_NOT_PRESENT,
        CKR_TOKEN_NOT_RECOGNIZED,
        CKR_DEVICE_REMOVED,
        CKR_SESSION_HANDLE_INVALID,
        CKR_SESSION_CLOSED,
        CKR_DEVICE_ERROR,
        CKR_SLOT_ID_INVALID,  # the reader went away with the card
    }
)
_RSA_MECH = {"sha256": CKM_SHA256_RSA_PKCS, "sha384": CKM_SHA384_RSA_PKCS}
_RSA_MECH["sha512"] = CKM_SHA512_RSA_PKCS
_PSS_MECH = {
    "sha256": (CKM_SHA256_RSA_PKCS_PSS, CKM_SHA256, CKG_MGF1_SHA256),
    "sha384": (CKM_SHA384_RSA_PKCS_PSS, CKM_SHA384, CKG_MGF1_SHA384),
    "sha512": (CKM_SHA512_RSA_PKCS_PSS, CKM_SHA512, CKG_MGF1_SHA512),
}

ModuleOpener = Callable[[str], Pkcs11Module]


def map_ck_error(err: CkError) -> TokenError:
    """A PKCS#11 return value as an error a person understands."""
    if err.rv in _REMOVED:
        return CardRemovedError(str(err))
    if err.rv == CKR_PIN_LOCKED:
        return PinLockedError()
    if err.rv == CKR_FUNCTION_CANCELED:  # Cancel pressed, or timed out, on a PIN pad
        return PinCancelledError()
    if err.rv == CKR_MECHANISM_INVALID:
        return MechanismNotSupportedError(err.function)
    return TokenError(str(err))


@dataclass(frozen=True)
class _Found:
    """A certificate as found in one session, with the objects it pairs with."""

    cert: RawObject
    private_key: RawObject | None
    public_key: RawObject | None


def _pair(certs: list[RawObject], privs: list[RawObject], pubs: list[RawObject]) -> list[_Found]:
    """Pair certificates with keys by CKA_ID, falling back to CKA_LABEL."""

    def match(cert: RawObject, keys: list[RawObject]) -> RawObject | None:
        if cert.id:
            for key in keys:
                if key.id == cert.id:
                    return key
        if cert.label:
            for key in keys:
                if key.label == cert.label and not (cert.id and key.id):
                    return key
        return None

    return [_Found(c, match(c, privs), match(c, pubs)) for c in certs]


@dataclass(frozen=True)
class _Held:
    """The session a PIN screen opened for its signature, with the certificate found in it.

    Opened while the person reads the text and types the PIN, so Enter costs only
    what safety needs (the token's flags, the certificate's value by its handle)
    and the signature itself. Always closed by the signature, whatever its end,
    and by anything that leaves the PIN screen; see `Pkcs11Card.prepare`.
    """

    module: Pkcs11Module
    token: RawToken
    session: Pkcs11Session
    cert: CertificateInfo
    found: RawObject


@dataclass
class _View:
    """What the card service last saw: each module's slots, the tokens, their listing."""

    slots: dict[str, tuple[int, ...]]  # by module: the slots with a card
    every: dict[str, tuple[int, ...]]  # by module: every slot, with a card or not
    tokens: list[tuple[Pkcs11Module, RawToken]]
    certificates: list[CertificateInfo] | None = None


class Pkcs11Card:
    """`CardService` over one or more PKCS#11 modules.

    Idle screens ask for the tokens and certificates every second or more often;
    the answer is kept and checked with at most one cheap call a second (see
    `_current`), so the card is not re-listed while nothing changes. Signing
    never uses the kept answer: it finds the token and the certificate again.

    One caller at a time, and no lock of its own: the card process answers one
    request at a time on one thread, and in-process callers go through the app's
    one card lock (`tui.operations.Operations`), as every `CardService` does.
    """

    POLL_INTERVAL = 1.0  # seconds: at most one PKCS#11 call per interval while idle
    UNSETTLED = 60.0  # seconds of full re-reads after a certificate changed in place

    def __init__(
        self,
        module_paths: Sequence[str],
        clock: Clock | None = None,
        *,
        opener: ModuleOpener = Pkcs11Module,
        pss: bool = False,
    ) -> None:
        self._paths = list(module_paths)
        self._clock = clock or SystemClock()
        self._opener = opener
        self._pss = pss
        self._modules: dict[str, Pkcs11Module] = {}
        self.load_errors: dict[str, EonayError] = {}
        self._mechanism_cache: dict[tuple[str, str, str], frozenset[int]] = {}
        self._view: _View | None = None
        self._checked_at = float("-inf")
        self._turn = 0
        self._unsettled_until = float("-inf")
        self._held: _Held | None = None

    # --- modules and tokens -------------------------------------------------

    def module_paths(self) -> list[str]:
        return list(self._paths)

    def _module(self, path: str) -> Pkcs11Module:
        module = self._modules.get(path)
        if module is None:
            module = self._opener(path)  # raises ModuleLoadError
            self._modules[path] = module
        return module

    def _loaded(self) -> list[Pkcs11Module]:
        """Modules that load; a module that does not is remembered in `load_errors`."""
        out = []
        for path in self._paths:
            try:
                out.append(self._module(path))
                self.load_errors.pop(path, None)
            except EonayError as err:
                self.load_errors[path] = err
        if not out and self.load_errors:
            raise next(iter(self.load_errors.values()))
        return out

    @staticmethod
    def _token_info(module: Pkcs11Module, raw: RawToken) -> TokenInfo:
        return TokenInfo(
            module_path=module.path,
            slot_id=raw.slot_id,
            label=raw.label,
            manufacturer=raw.manufacturer,
            model=raw.model,
            serial=raw.serial,
            min_pin=raw.min_pin,
            max_pin=raw.max_pin,
            flags=raw.flag_names,
            pin_state=raw.pin_state,
        )

    def tokens(self) -> list[TokenInfo]:
        try:
            view = self._current()
        except CkError as err:
            raise map_ck_error(err) from None
        return [self._token_info(module, raw) for module, raw in view.tokens]

    # --- the last answer, and the one cheap call that tells whether it still holds -----

    def _read_view(self) -> _View:
        """Every loaded module's slot list, and the initialised tokens in it."""
        slots: dict[str, tuple[int, ...]] = {}
        every: dict[str, tuple[int, ...]] = {}
        tokens: list[tuple[Pkcs11Module, RawToken]] = []
        for module in self._loaded():
            every[module.path] = tuple(module.every_slot_id())
            present = module.slot_ids()
            slots[module.path] = tuple(present)
            for slot in present:
                try:
                    raw = module.token(slot)
                except CkError as err:
                    _raise_if_busy(module, slot, err)
                    if err.rv not in _REMOVED:
                        raise
                    continue
                if raw.flags & CKF_TOKEN_INITIALIZED:
                    tokens.append((module, raw))
        return _View(slots, every, tokens)

    def _current(self) -> _View:
        """The last answer while it is under a second old; then one PKCS#11 call checks it
        (in turn: a module's list of every slot, which sees a reader come or go; an empty
        slot's CKF_TOKEN_PRESENT, which sees a card put in; one token's info, which sees a
        card pulled, swapped in its slot, and its PIN flags), and only a change costs a
        full read."""
        now = self._clock.monotonic()
        view = self._view
        if view is not None and now - self._checked_at < self.POLL_INTERVAL:
            return view
        self._checked_at = now
        if view is None or not self._still(view):
            self._view = view = None  # a read that raises leaves nothing to trust
            self._view = view = self._read_view()
            self._checked_at = self._clock.monotonic()
            self._turn = 0  # the tokens are checked first
        return view

    def _still(self, view: _View) -> bool:
        if self._clock.monotonic() < self._unsettled_until:
            return False
        modules = {module.path: module for module in self._loaded()}
        if set(modules) != set(view.slots):
            return False
        # Each probe is one call: the idle screens' budget is one call a second in all.
        # The tokens' own come first (a card pulled while a PIN is typed is the change
        # that matters most); then each module's slots, and each empty slot.
        probes: list[Callable[[], bool]] = [
            partial(_same_token, module, raw) for module, raw in view.tokens
        ]
        for path, module in modules.items():
            probes.append(partial(_same_slots, module, view.every[path]))
            empty = [slot for slot in view.every[path] if slot not in view.slots[path]]
            probes += [partial(_still_empty, module, slot) for slot in empty]
        if not probes:
            return True
        probe = probes[self._turn % len(probes)]
        self._turn += 1
        try:
            return probe()
        except CkError:  # gone, held by another program, failing: the full read tells which
            return False

    def _forget(self) -> None:
        """The card is not what the last answer says: the next question reads it again,
        and a session held for a signature goes (the signature finds the card anew)."""
        self._view = None
        self.release()

    # --- certificates ------------------------------------------------------

    def _find(self, session: Pkcs11Session) -> list[_Found]:
        certs = session.objects(CKO_CERTIFICATE)
        privs = session.objects(CKO_PRIVATE_KEY)
        pubs = session.objects(CKO_PUBLIC_KEY)
        return _pair(certs, privs, pubs)

    def _describe(
        self,
        token: TokenInfo,
        found: _Found,
        chain: tuple[bytes, ...] = (),
        *,
        listed: CertificateInfo | None = None,
    ) -> CertificateInfo:
        # Tokens that keep private keys CKA_PRIVATE hide them until login;
        # a public key with the same CKA_ID then stands for the key pair.
        # Signing re-reads only the certificate: the keys are as `listed` found them
        # (the private key itself is found again once logged in).
        has_key = found.private_key is not None or found.public_key is not None
        always = bool(found.private_key and found.private_key.always_authenticate)
        if listed is not None:
            has_key = has_key or listed.has_private_key
            always = always or listed.always_authenticate
        return certificate_info(
            found.cert.value,
            token=token,
            cka_id=found.cert.id,
            label=found.cert.label,
            has_private_key=has_key,
            always_authenticate=always,
            now=self._clock.now(),
            chain=chain,
        )

    def _token_certificates(self, module: Pkcs11Module, raw: RawToken) -> list[CertificateInfo]:
        token = self._token_info(module, raw)
        session = module.open_session(raw.slot_id)
        try:
            found = self._find(session)
        finally:
            _close_quietly(session)
        # The token's CA certificates travel with each of its certificates, so
        # signing re-reads only the chosen one and still puts the chain in the CMS.
        chain = tuple(f.cert.value for f in found if _is_ca_der(f.cert.value))
        out = []
        for f in found:
            try:
                if not facts(f.cert.value).is_ca:
                    out.append(self._describe(token, f, chain))
            except ValueError as err:  # a certificate cryptography cannot parse
                log.warning("skipping unreadable certificate on %s: %s", token.label, err)
        return out

    def certificates(self) -> list[CertificateInfo]:
        self.release()  # asked by the certificate screen: no PIN screen is open
        try:
            view = self._current()
            if view.certificates is None:
                view.certificates = self._certificates(view)
        except CkError as err:
            raise map_ck_error(err) from None
        return list(view.certificates)

    def _certificates(self, view: _View) -> list[CertificateInfo]:
        """Each token's objects, read once: kept with the view until the card changes."""
        result: list[CertificateInfo] = []
        for module, raw in view.tokens:
            try:
                result.extend(self._token_certificates(module, raw))
            except CkError as err:
                _raise_if_busy(module, raw.slot_id, err)
                if err.rv not in _REMOVED:
                    raise
                log.info("token in slot %s went away while listing", raw.slot_id)
                self._checked_at = float("-inf")  # read the slots again next time
        return ordered(result)

    def _locate(self, token: TokenInfo) -> tuple[Pkcs11Module, RawToken]:
        """The token again, by serial and label (slot ids change on re-insert).

        The slot it was listed in is asked first, when the slot list still has it:
        two calls for the usual case, every present slot only when it moved.
        """
        module = self._module(token.module_path)
        slots = module.slot_ids()
        first = [token.slot_id] if token.slot_id in slots else []
        for slot in first + [s for s in slots if s != token.slot_id]:
            try:
                raw = module.token(slot)
            except CkError as err:
                _raise_if_busy(module, slot, err)
                if err.rv not in _REMOVED:
                    raise
                continue
            if (
                raw.flags & CKF_TOKEN_INITIALIZED
                and raw.serial == token.serial
                and raw.label == token.label
            ):
                return module, raw
        raise CardRemovedError(f"token {token.label!r} not present")

    def pin_state(self, cert: CertificateInfo) -> PinState:
        """Asked when a PIN screen opens and after a wrong PIN, never by an idle screen:
        always read from the card."""
        return self._located(cert)[1].pin_state

    def _located(self, cert: CertificateInfo) -> tuple[Pkcs11Module, RawToken]:
        try:
            module, raw = self._locate(cert.token)
            if self._view is not None and (module, raw) not in self._view.tokens:
                self._forget()  # moved, or new flags: the kept answer is out of date
            return module, raw
        except CkError as err:
            self._forget()
            raise map_ck_error(err) from None
        except CardRemovedError:
            self._forget()
            raise

    def prepare(
        self, cert: CertificateInfo, *, on_state: Callable[[PinState], None] | None = None
    ) -> PinState:
        """`pin_state`, and a session opened on the token for the signature to come, with
        the certificate checked in it; asked when a PIN screen opens and after a wrong PIN.

        `on_state` is handed the PIN state as soon as it is read, before the session
        is opened: the card process answers the PIN screen then, and makes the
        signature ready while the person types. Making it ready is best effort: what
        fails there (a certificate changed, a card pulled) is met again, and told,
        by the signature, which then reads the card anew before any PIN is used.
        """
        self.release()
        module, raw = self._located(cert)
        state = raw.pin_state
        if on_state is not None:
            on_state(state)
        if not state.locked:
            self._hold(module, raw, cert)
        return state

    def _hold(self, module: Pkcs11Module, raw: RawToken, cert: CertificateInfo) -> None:
        try:
            self._mechanisms(module, raw)  # asked now, not after Enter
            session = module.open_session(raw.slot_id)
        except CkError as err:
            log.info("no session held for %s: %s", cert.token.label, err)
            self._forget()
            return
        try:
            found = _reread(session, cert).cert
        except (CkError, CertificateChangedError) as err:
            log.info("no session held for %s: %s", cert.token.label, err)
            _close_quietly(session)
            return
        self._held = _Held(module, raw, session, cert, found)

    def release(self) -> None:
        """Close the session `prepare` opened, if no signature has used it."""
        held, self._held = self._held, None
        if held is not None:
            _close_quietly(held.session)

    # --- signing -----------------------------------------------------------

    def sign(
        self,
        cert: CertificateInfo,
        pin: Pin,
        text: SignableText,
        nonce: bytes,
        *,
        on_signed: Callable[[Signature], None] | None = None,
    ) -> Signature:
        """The one place the PIN is used (C_Login, and the context-specific login of a
        key that asks for one): wiped here, however the signature ends.

        `on_signed` is handed the signature as soon as the card made it, before
        C_Logout and C_CloseSession: the card process answers the app then, and
        ends the session while the app moves on.
        """
        try:
            signature = self._sign(cert, pin, text, nonce, on_signed)
            self._unsettled_until = float("-inf")  # the person chose, and it held
            return signature
        except CertificateChangedError:
            # Objects rewritten in place change no slot and no token info: until
            # the person has chosen again, the listing is read again each check.
            self._forget()
            self._unsettled_until = self._clock.monotonic() + self.UNSETTLED
            raise
        except CardRemovedError:
            self._forget()  # whatever the card became, the listing no longer holds
            raise
        except CkError as err:
            self._forget()
            raise self._busy_or_mapped(cert, err) from None
        finally:
            pin.wipe()

    def _sign(
        self,
        cert: CertificateInfo,
        pin: Pin,
        text: SignableText,
        nonce: bytes,
        on_signed: Callable[[Signature], None] | None,
    ) -> Signature:
        held, self._held = self._held, None
        if held is not None and held.cert != cert:
            _close_quietly(held.session)
            held = None
        if held is None:
            module, raw = self._locate(cert.token)
            session = module.open_session(raw.slot_id)
        else:
            try:
                raw = _still_there(held)
            except CkError:
                # The card is there but answers so (held by another program): its session
                # goes; a card pulled out answers that the session is gone already.
                _close_quietly(held.session)
                raise
            module, session = held.module, held.session
        try:
            if held is None:
                current = _reread(session, cert)
            else:
                current = _Found(_same_certificate(session, held.found, cert), None, None)
            if raw.pin_state.locked:
                raise PinLockedError()
            return self._sign_in(session, module, raw, cert, current, pin, text, nonce, on_signed)
        finally:
            _close_quietly(session)

    def _sign_in(
        self,
        session: Pkcs11Session,
        module: Pkcs11Module,
        raw: RawToken,
        cert: CertificateInfo,
        current: _Found,
        pin: Pin,
        text: SignableText,
        nonce: bytes,
        on_signed: Callable[[Signature], None] | None,
    ) -> Signature:
        fresh = self._describe(self._token_info(module, raw), current, listed=cert)
        if fresh.reason == reasons.PIN_LOCKED:
            raise PinLockedError()
        if fresh.reason is not None:
            raise CertificateNotUsableError(fresh.reason)
        if not pin_pad(raw) and not raw.min_pin <= len(pin) <= raw.max_pin:
            raise PinLengthError(raw.min_pin, raw.max_pin)
        scheme = cades.scheme_for(cert.der, pss=self._pss)
        plan = signing_plan(self._mechanisms(module, raw), scheme)

        self._login(session, module, raw, pin)
        try:
            key = _private_key(session, current)
            context_pin = entered(raw, pin) if key.always_authenticate else None
            signing_time = cades.whole_seconds_utc(self._clock.now())
            cms = cades.build_cades(
                text,
                nonce,
                cert.der,
                card_signer(session, key, plan, context_pin=context_pin),
                signing_time=signing_time,
                chain=cert.chain,
                pss=plan.pss is not None,
            )
            pin.wipe()  # used: C_Sign has returned
            signature = Signature(
                cms=cms, signing_time=signing_time, certificate_fingerprint=cert.fingerprint_sha256
            )
            if on_signed is not None:
                on_signed(signature)
            return signature
        except CkError as err:
            if err.rv == CKR_PIN_INCORRECT:  # the context-specific login
                raise self._wrong_pin(module, raw) from None
            if err.rv == CKR_MECHANISM_INVALID:
                raise MechanismNotSupportedError(mechanism_name(plan.mechanism)) from None
            raise
        finally:
            _logout_quietly(session)

    def _busy_or_mapped(self, cert: CertificateInfo, err: CkError) -> TokenError:
        """CardBusyError when another program holds the card (its reader still sees it),
        else what `map_ck_error` makes of `err`. Never retried here: the PIN is spent
        or wiped, and only the person starts another signature."""
        module = self._modules.get(cert.token.module_path)
        busy = busy_error(module, cert.token.slot_id, err) if module is not None else None
        return busy or map_ck_error(err)

    def _mechanisms(self, module: Pkcs11Module, raw: RawToken) -> frozenset[int]:
        """The token's mechanisms, asked once per token (by module, serial and label)."""
        key = (module.path, raw.serial, raw.label)
        known = self._mechanism_cache.get(key)
        if known is None:
            known = self._mechanism_cache[key] = module.mechanisms(raw.slot_id)
        return known

    def _login(self, session: Pkcs11Session, module: Pkcs11Module, raw: RawToken, pin: Pin) -> None:
        """The one C_Login of this signature; never repeated after a failure."""
        try:
            try:
                session.login(entered(raw, pin))
            except CkError as err:
                if err.rv != CKR_USER_ALREADY_LOGGED_IN:
                    raise
                # Left logged in by someone else in this process: that login
                # did not check this PIN and cost no try. Log out, then check it.
                session.logout()
                session.login(entered(raw, pin))
        except CkError as err:
            if err.rv == CKR_PIN_INCORRECT:
                raise self._wrong_pin(module, raw) from None
            if err.rv == CKR_PIN_LEN_RANGE:
                raise PinLengthError(raw.min_pin, raw.max_pin) from None
            raise

    def _wrong_pin(self, module: Pkcs11Module, raw: RawToken) -> TokenError:
        """PinIncorrectError with the tries left that the flags tell *after* the failure."""
        try:
            after = module.token(raw.slot_id).pin_state
        except CkError:
            after = PinState()
        return PinIncorrectError(after.tries_left)

    def reset(self) -> None:
        """Close every session this process has with every token (C_CloseAllSessions).

        Sessions are closed after each operation anyway; this is the guarantee for
        a kiosk between two people: whatever was left open or logged in (a signature
        cut short, another part of the process) is gone, and with it the login,
        and so is the kept listing. Modules not loaded yet are not loaded for this.
        """
        self._view = None  # the last listing is the previous person's too
        self._unsettled_until = float("-inf")
        self.release()
        for module in list(self._modules.values()):
            try:
                slots = module.slot_ids()
            except CkError as err:
                log.info("reset: %s", err)
                continue
            for slot in slots:
                try:
                    module.close_all_sessions(slot)
                except CkError as err:  # a token pulled meanwhile has no sessions left
                    log.info("reset of slot %s: %s", slot, err)

    def close(self) -> None:
        self._view = None
        self.release()
        modules, self._modules = self._modules, {}
        for module in modules.values():
            module.close()


@dataclass(frozen=True)
class SigningPlan:
    """How C_Sign is called for a scheme: the mechanism, what it is handed, PSS parameters."""

    mechanism: int
    signs: Literal["attributes", "digest", "digest_info"]
    pss: PssParams | None = None

    def data(self, tbs: cades.ToBeSigned) -> bytes:
        """The bytes for C_Sign: the signed attributes (the token hashes), or their hash."""
        if self.signs == "attributes":
            return tbs.signed_attrs
        if self.signs == "digest":
            return tbs.digest()
        return cades.digest_info(tbs.scheme.hash, tbs.digest())


def signing_plan(mechanisms: frozenset[int], scheme: cades.Scheme) -> SigningPlan:
    """The mechanism a token offers for `scheme`, preferring the ones that hash on the token."""
    if scheme.key == "ec":
        if CKM_ECDSA in mechanisms:
            return SigningPlan(CKM_ECDSA, "digest")
        raise MechanismNotSupportedError(mechanism_name(CKM_ECDSA))
    if scheme.pss:
        combined, hash_mech, mgf = _PSS_MECH[scheme.hash]
        params = PssParams(hash_mech, mgf, scheme.salt_length)
        if combined in mechanisms:
            return SigningPlan(combined, "attributes", params)
        if CKM_RSA_PKCS_PSS in mechanisms:
            return SigningPlan(CKM_RSA_PKCS_PSS, "digest", params)
        raise MechanismNotSupportedError(mechanism_name(combined))
    if _RSA_MECH[scheme.hash] in mechanisms:
        return SigningPlan(_RSA_MECH[scheme.hash], "attributes")
    if CKM_RSA_PKCS in mechanisms:
        return SigningPlan(CKM_RSA_PKCS, "digest_info")
    raise MechanismNotSupportedError(mechanism_name(_RSA_MECH[scheme.hash]))


def card_signer(
    session: Pkcs11Session,
    key: RawObject,
    plan: SigningPlan,
    *,
    context_pin: memoryview | None = None,
) -> cades.Signer:
    """The token as the signer of `cades.build_cades`: C_Sign with `key` in a session
    already logged in, over what `plan` hands it, the value as CMS wants it.

    `Pkcs11Card.sign` builds the CAdES with this between C_Login and C_Logout; the
    benchmark times that against a bare C_Sign in the same session. The call raises
    CkError from the token.
    """

    def sign(tbs: cades.ToBeSigned) -> bytes:
        value = session.sign(
            key, plan.mechanism, plan.data(tbs), pss=plan.pss, context_pin=context_pin
        )
        return cades.ecdsa_raw_to_der(value) if tbs.scheme.key == "ec" else value

    return sign


def _reread(session: Pkcs11Session, cert: CertificateInfo) -> _Found:
    """The chosen certificate read again from the card: its value, by CKA_ID.

    CertificateChangedError unless the certificate is byte-identical to the one
    the user chose. Its private key is found once the session is logged in
    (`_private_key`); a token without CKA_IDs is searched whole.
    """
    if cert.id:
        certs = session.objects(CKO_CERTIFICATE, cka_id=cert.id)
        current = next((c for c in certs if c.id == cert.id and c.value == cert.der), None)
        if current is None:  # gone, or another certificate under that CKA_ID now
            raise CertificateChangedError("the certificate on the card changed")
        return _Found(current, None, None)
    certs = session.objects(CKO_CERTIFICATE)
    privs = session.objects(CKO_PRIVATE_KEY)
    pubs = session.objects(CKO_PUBLIC_KEY)
    same = [f for f in _pair(certs, privs, pubs) if f.cert.id == cert.id]
    found = next((f for f in same if f.cert.value == cert.der), None)
    if found is None:
        raise CertificateChangedError("the certificate on the card changed")
    return found


def _same_slots(module: Pkcs11Module, every: tuple[int, ...]) -> bool:
    return tuple(module.every_slot_id()) == every


def _still_empty(module: Pkcs11Module, slot: int) -> bool:
    return not module.token_present(slot)


def _same_token(module: Pkcs11Module, raw: RawToken) -> bool:
    return module.token(raw.slot_id) == raw


def _still_there(held: _Held) -> RawToken:
    """The held session's token, still in its slot, with its flags as they are now (two
    calls: the slot list, with or without cards, and the token's info).

    A card pulled out, or put back (which may give it another slot id), costs no
    PIN try, and its held session is not touched, not even closed: the removal
    ended it (a handle from before, used now, is stale). Another token in the slot,
    or a PIN locked meanwhile (by another program), is refused before C_Login. A
    CkError (no token in the slot, a card another program holds) goes to `sign`,
    which tells a held card from a pulled one.
    """
    label = held.token.label
    if held.token.slot_id not in held.module.every_slot_id():
        raise CardRemovedError(f"token {label!r} left slot {held.token.slot_id}")
    raw = held.module.token(held.token.slot_id)
    if (raw.serial, raw.label) != (held.token.serial, label):
        raise CardRemovedError(f"another token in slot {held.token.slot_id}")
    return raw


def _same_certificate(session: Pkcs11Session, found: RawObject, cert: CertificateInfo) -> RawObject:
    """The certificate the held session found, read again by its handle (one call):
    CertificateChangedError unless it is still byte-identical to the chosen one."""
    try:
        current = session.object_again(found)
    except CkError as err:
        if err.rv in _REMOVED:
            raise
        raise CertificateChangedError("the certificate on the card changed") from None
    if current.id != cert.id or current.value != cert.der:
        raise CertificateChangedError("the certificate on the card changed")
    return current


def _key_for(session: Pkcs11Session, object_class: int, cert: RawObject) -> RawObject | None:
    """The key object paired with `cert`, as `_pair` pairs them: CKA_ID, else CKA_LABEL."""
    if cert.id:
        key = session.first_object(object_class, cert.id)
        if key is not None:
            return key
    if not cert.label:
        return None
    # No key under the certificate's CKA_ID: pair by label, as `_pair` does.
    return next(
        (
            key
            for key in session.objects(object_class)
            if key.label == cert.label and not (cert.id and key.id)
        ),
        None,
    )


def _private_key(session: Pkcs11Session, found: _Found) -> RawObject:
    """The private key, visible now that the session is logged in."""
    key = _key_for(session, CKO_PRIVATE_KEY, found.cert)
    if key is None:
        raise CertificateNotUsableError(reasons.NO_PRIVATE_KEY)
    return key


def pin_pad(raw: RawToken) -> bool:
    """The reader has its own keypad: the PIN is typed there, never given to C_Login."""
    return bool(raw.flags & CKF_PROTECTED_AUTHENTICATION_PATH)


def entered(raw: RawToken, pin: Pin) -> memoryview:
    """What C_Login is handed: the PIN's own bytes, or for a PIN pad reader nothing
    (a NULL PIN, length 0: the reader asks the person on its keypad)."""
    return memoryview(bytearray()) if pin_pad(raw) else pin.buffer()


def _is_ca_der(der: bytes) -> bool:
    try:
        return facts(der).is_ca
    except ValueError:
        return False


def _raise_if_busy(module: Pkcs11Module, slot_id: int, err: CkError) -> None:
    busy = busy_error(module, slot_id, err)
    if busy is not None:
        raise busy from None


def _close_quietly(session: Pkcs11Session) -> None:
    try:
        session.close()
    except CkError as err:
        log.debug("C_CloseSession: %s", err)


def _logout_quietly(session: Pkcs11Session) -> None:
    try:
        session.logout()
    except CkError as err:
        log.debug("C_Logout: %s", err)
