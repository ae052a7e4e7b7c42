"""What a certificate is to a person, and the test PKI's T.C. kimlik numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization

from tui.core import reasons
from tui.core.card.certificates import certificate_info, mask_national_id, ordered
from tui.core.card_info import PinState, PinTries, TokenInfo
from tui.sim.pki import (
    NES_POLICY_OID,
    PKI,
    default_pki,
    generate_private_key,
    is_valid_tc_kimlik,
    issue_certificate,
    make_tc_kimlik,
    tc_kimlik_check_digits,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
TOKEN = TokenInfo("/m.so", 1, "KART", "X", "Y", "0001", 4, 8, ())


@pytest.fixture(scope="module")
def pki() -> PKI:
    return default_pki()


def _der(cert) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def _issue(pki, key_type="EC-P256", **kw):
    key = generate_private_key(key_type)
    params = {
        "common_name": "ÖZLEM ŞİMŞEK",
        "national_id": "10000000146",
        "not_before": NOW - timedelta(days=1),
        "not_after": NOW + timedelta(days=30),
    }
    params.update(kw)
    return issue_certificate(pki.intermediate, key.public_key(), **params)


def _describe(cert, **kw):
    args = {"token": TOKEN, "cka_id": b"\x01", "label": "x", "has_private_key": True, "now": NOW}
    args.update(kw)
    return certificate_info(_der(cert), **args)


@pytest.mark.parametrize("number", ["10000000146", "12345678950", "13649274848"])
def test_valid_tc_kimlik_numbers(number):
    assert is_valid_tc_kimlik(number)


@pytest.mark.parametrize(
    "number", ["10000000145", "01234567890", "1000000014", "100000001466", "1000000014a", ""]
)
def test_invalid_tc_kimlik_numbers(number):
    assert not is_valid_tc_kimlik(number)


def test_check_digits_and_generated_numbers():
    assert tc_kimlik_check_digits("100000001") == "46"
    for _ in range(200):
        number = make_tc_kimlik()
        assert is_valid_tc_kimlik(number)
    assert make_tc_kimlik("13").startswith("13")
    with pytest.raises(ValueError):
        tc_kimlik_check_digits("012345678")


def test_mask():
    assert mask_national_id("13649274858") == "13*******58"
    assert mask_national_id(None) == ""


def test_qualified_with_qc_compliance_and_policy(pki):
    info = _describe(_issue(pki))
    assert info.qualified and info.usable and info.valid_now
    assert info.holder == "ÖZLEM ŞİMŞEK"
    assert info.national_id == "10000000146"
    assert info.serial_masked == "10*******46"
    assert info.display_label == "ÖZLEM ŞİMŞEK - 10…"
    assert info.key == "EC P-256"
    assert info.key_usage == ("nonRepudiation",)
    assert info.issuer == "Test Kamu SM NES Hizmet Sağlayıcısı - S1"


def test_qualified_with_only_one_marker(pki):
    assert _describe(_issue(pki, qc_compliance=False)).qualified
    assert _describe(_issue(pki, policies=())).qualified


def test_not_qualified_without_markers_or_non_repudiation(pki):
    bare = _describe(_issue(pki, qc_compliance=False, policies=()))
    assert not bare.qualified and bare.reason == reasons.NOT_QUALIFIED
    auth = _describe(_issue(pki, key_usage=("digitalSignature",)))
    assert not auth.qualified and auth.reason == reasons.NOT_QUALIFIED
    other_policy = _describe(_issue(pki, qc_compliance=False, policies=("1.2.3.4",)))
    assert not other_policy.qualified
    assert NES_POLICY_OID == "2.16.792.1.61.0.1.5070.1.1"


def test_validity_window(pki):
    expired = _describe(_issue(pki, not_after=NOW - timedelta(seconds=1)))
    assert expired.reason == reasons.EXPIRED and not expired.valid_now
    future = _describe(_issue(pki, not_before=NOW + timedelta(seconds=1)))
    assert future.reason == reasons.NOT_YET_VALID and not future.valid_now


def test_missing_key_and_locked_pin(pki):
    cert = _issue(pki)
    assert _describe(cert, has_private_key=False).reason == reasons.NO_PRIVATE_KEY
    locked = _describe(cert, pin_state=PinState(PinTries.LOCKED))
    assert locked.reason == reasons.PIN_LOCKED and not locked.usable


def test_serial_number_with_a_prefix(pki):
    info = _describe(_issue(pki, national_id="TCKTR-10000000146"))
    assert info.national_id == "10000000146"


@pytest.mark.parametrize(
    ("key_type", "text"),
    [("RSA-2048", "RSA 2048"), ("EC-P384", "EC P-384")],
)
def test_key_description(pki, key_type, text):
    assert _describe(_issue(pki, key_type)).key == text


def test_order_usable_first(pki):
    usable = _describe(_issue(pki, common_name="ZEYNEP"))
    expired = _describe(_issue(pki, common_name="AHMET", not_after=NOW - timedelta(days=1)))
    assert ordered([expired, usable]) == [usable, expired]


def test_software_holder_with_chosen_properties(pki):
    from tui.sim.pki import software_holder

    key, cert = software_holder(pki.intermediate, "RSA-2048", key_usage=("digitalSignature",))
    info = _describe(cert, now=datetime.now(UTC))
    assert info.key == "RSA 2048" and info.valid_now
    assert info.reason == reasons.NOT_QUALIFIED
    assert is_valid_tc_kimlik(info.national_id)
    assert key.public_key().public_numbers() == cert.public_key().public_numbers()
