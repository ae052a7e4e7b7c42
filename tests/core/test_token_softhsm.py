"""The card service on a real SoftHSM2 token: list, describe, sign; OpenSSL verifies."""

from __future__ import annotations

import re
import secrets

import pytest

from tests.conftest import openssl_print, openssl_verify
from tui.core.card_info import PinTries
from tui.core.pin import Pin
from tui.core.text import LOGIN_TEXT

pytestmark = pytest.mark.softhsm


def _by_id(card, cert_id: str):
    matches = [c for c in card.certificates() if c.id.hex() == cert_id]
    assert len(matches) == 1
    return matches[0]


def test_tokens_are_listed_with_their_fields(card, softhsm_card):
    tokens = {t.label: t for t in card.tokens()}
    assert set(tokens) == set(softhsm_card.tokens)
    for t in tokens.values():
        assert t.manufacturer == "SoftHSM project"
        assert t.model == "SoftHSM v2"
        assert t.serial
        assert (t.min_pin, t.max_pin) == (4, 255)
        assert "TOKEN_INITIALIZED" in t.flags and "LOGIN_REQUIRED" in t.flags
        assert t.pin_state.tries is PinTries.UNKNOWN
        assert t.module_path == softhsm_card.module_path


def test_every_certificate_is_described_as_provisioned(card, softhsm_card):
    listed = {c.id.hex(): c for c in card.certificates()}
    # the intermediate CA certificate on the token is chain, not a holder's
    assert set(listed) == {h.cert_id for h in softhsm_card.holders}
    for h in softhsm_card.holders:
        c = listed[h.cert_id]
        assert c.holder == h.name
        assert c.national_id == h.national_id
        assert c.serial_masked == h.national_id[:2] + "*******" + h.national_id[-2:]
        assert c.display_label == f"{h.name} - {h.national_id[:2]}…"
        assert c.token.label == h.token
        assert c.key == h.key
        assert c.qualified is h.qualified
        assert c.usable is h.usable
        assert c.valid_now is (h.validity == "valid")
        assert c.has_private_key
        assert c.issuer == "Test Kamu SM NES Hizmet Sağlayıcısı - S1"
        assert len(c.fingerprint_sha256) == 64


def test_usable_certificates_come_first(card, softhsm_card):
    flags = [c.usable for c in card.certificates()]
    assert flags == sorted(flags, reverse=True)
    assert flags.count(True) == sum(h.usable for h in softhsm_card.holders) == 5


@pytest.mark.parametrize("key_type", ["RSA-2048", "RSA-3072", "EC-P256", "EC-P384"])
def test_each_key_type_signs_and_openssl_verifies(card, softhsm_card, key_type, tmp_path):
    holder = next(h for h in softhsm_card.holders if h.key_type == key_type and h.usable)
    cert = _by_id(card, holder.cert_id)
    nonce = secrets.token_bytes(32)
    pin = Pin.from_str(softhsm_card.pin)
    signature = card.sign(cert, pin, LOGIN_TEXT, nonce)
    assert len(pin) == 0  # wiped
    content = openssl_verify(signature.cms, softhsm_card.root_pem, workdir=tmp_path)
    assert content == LOGIN_TEXT.encode("utf-8")
    printed = openssl_print(signature.cms)
    for attr in (
        "contentType",
        "messageDigest",
        "signingTime",
        "id-smime-aa-signingCertificateV2",
        "id-smime-aa-contentIdentifier",
    ):
        assert f"object: {attr}" in printed
    expected_alg = {
        "RSA-2048": "sha256WithRSAEncryption",
        "RSA-3072": "sha256WithRSAEncryption",
        "EC-P256": "ecdsa-with-SHA256",
        "EC-P384": "ecdsa-with-SHA384",
    }[key_type]
    assert expected_alg in printed
    assert printed_content_identifier(printed) == nonce


def printed_content_identifier(printed: str) -> bytes:
    """The bytes openssl shows under id-smime-aa-contentIdentifier (its hex dump)."""
    lines = printed.split("object: id-smime-aa-contentIdentifier", 1)[1].splitlines()
    out = bytearray()
    for line in lines[3:]:
        if " - " not in line:
            break
        hex_part = line.split(" - ", 1)[1][:39]  # 13 bytes a line, then their ASCII
        out += bytes.fromhex("".join(re.findall(r"[0-9a-f]{2}", hex_part)))
    return bytes(out)


def test_rsa_pss_on_request_verifies(softhsm_card, tmp_path):
    from tui.core.card.pkcs11_card import Pkcs11Card

    holder = softhsm_card.holder("AYŞE GÜLŞEN ÇİFTÇİ")
    card = Pkcs11Card([softhsm_card.module_path], pss=True)
    try:
        cert = _by_id(card, holder.cert_id)
        nonce = secrets.token_bytes(32)
        signature = card.sign(cert, Pin.from_str(softhsm_card.pin), LOGIN_TEXT, nonce)
    finally:
        card.close()
    assert openssl_verify(signature.cms, softhsm_card.root_pem, workdir=tmp_path) == (
        LOGIN_TEXT.encode()
    )
    printed = openssl_print(signature.cms)
    assert "rsassaPss" in printed
    assert printed_content_identifier(printed) == nonce
