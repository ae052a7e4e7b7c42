"""Signing helpers for the portal tests.

The main path signs on the session's SoftHSM card through a `CardService`.
Certificates a card refuses to sign with (expired, no nonRepudiation, from
an untrusted CA) are the portal's cases to reject, so those signatures are
made with a software key and the project's CAdES builder; `resign` re-signs
a CMS after its signed attributes were tampered with, to reach checks that
a correct builder never fails.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from asn1crypto import cms as a_cms
from cryptography.hazmat.primitives.serialization import Encoding

from tui.core.card import cades
from tui.core.card_info import CertificateInfo, Signature
from tui.core.challenge import Challenge
from tui.core.pin import Pin
from tui.core.services import CardService
from tui.sim import pki
from tui.sim.pki import CA, KeyType, KeyUsageName, default_pki
from tui.sim.softhsm import ProvisionedCard, ProvisionedHolder


def card_certificate(card: CardService, holder: ProvisionedHolder) -> CertificateInfo:
    matches = [c for c in card.certificates() if c.id == holder.cert_id_bytes]
    assert len(matches) == 1, holder
    return matches[0]


def sign_on_card(
    card: CardService,
    softhsm: ProvisionedCard,
    holder: ProvisionedHolder,
    text: str,
    nonce: bytes,
) -> Signature:
    """One real signature on the SoftHSM token (one C_Login, the PIN wiped after)."""
    return card.sign(card_certificate(card, holder), Pin.from_str(softhsm.pin), text, nonce)


def answer(
    card: CardService, softhsm: ProvisionedCard, holder: ProvisionedHolder, challenge: Challenge
) -> Signature:
    return sign_on_card(card, softhsm, holder, challenge.text, challenge.nonce)


@dataclasses.dataclass(frozen=True)
class SoftwareSigner:
    """A key and its certificate outside any token: for certificates a card refuses."""

    key: Any
    cert_der: bytes
    chain: tuple[bytes, ...] = ()

    def sign(
        self, text: str, nonce: bytes, *, when: datetime | None = None, pss: bool = False
    ) -> bytes:
        return cades.build_cades(
            text,
            nonce,
            self.cert_der,
            cades.software_signer(self.key),
            signing_time=when or datetime.now(UTC),
            chain=self.chain,
            pss=pss,
        )

    def tbs(self, text: str, nonce: bytes, *, when: datetime | None = None) -> cades.ToBeSigned:
        return cades.prepare(
            text, nonce, self.cert_der, signing_time=when or datetime.now(UTC), chain=self.chain
        )


def software_holder(
    *,
    issuer: CA | None = None,
    national_id: str = "12345678950",
    name: str = "DENEME KİŞİ",
    key_type: KeyType = "EC-P256",
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    key_usage: tuple[KeyUsageName, ...] = ("nonRepudiation",),
    with_chain: bool = True,
) -> SoftwareSigner:
    """A holder certificate from `issuer` (default: the committed test intermediate).

    An empty `national_id` gives a certificate without a subject serialNumber.
    """
    ca = issuer or default_pki().intermediate
    if national_id:
        key, cert = pki.software_holder(
            ca,
            key_type,
            common_name=name,
            national_id=national_id,
            not_before=not_before,
            not_after=not_after,
            key_usage=key_usage,
        )
    else:
        now = datetime.now(UTC)
        key = pki.generate_private_key(key_type)
        cert = pki.issue_certificate(
            ca,
            key.public_key(),
            common_name=name,
            not_before=now - timedelta(days=1),
            not_after=now + timedelta(days=365),
            key_usage=key_usage,
        )
    chain = (ca.cert_der,) if with_chain else ()
    return SoftwareSigner(key, cert.public_bytes(Encoding.DER), chain)


def resign(
    signer: SoftwareSigner,
    tbs: cades.ToBeSigned,
    edit: Callable[[a_cms.CMSAttributes], a_cms.CMSAttributes],
) -> bytes:
    """A CMS whose signed attributes went through `edit`, then were signed correctly."""
    attrs = edit(a_cms.CMSAttributes.load(tbs.signed_attrs))
    edited = dataclasses.replace(tbs, signed_attrs=bytes(attrs.dump(force=True)))
    return cades.assemble(edited, cades.software_signer(signer.key)(edited))


def attribute_list(attrs: a_cms.CMSAttributes) -> list[dict[str, Any]]:
    return [{"type": a["type"].dotted, "values": list(a["values"])} for a in attrs]
