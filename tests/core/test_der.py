"""The small DER writer and reader the CMS is built with, against asn1crypto's encodings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from asn1crypto import core, x509
from cryptography.hazmat.primitives import serialization

from tui.core.card import der
from tui.sim.pki import default_pki, generate_private_key, issue_certificate


@pytest.mark.parametrize(
    ("n", "encoded"),
    [
        (0, "00"),
        (127, "7f"),
        (128, "8180"),
        (255, "81ff"),
        (256, "820100"),
        (384, "820180"),
        (640, "820280"),
        (65536, "83010000"),
    ],
)
def test_length_octets(n, encoded):
    assert der.length(n).hex() == encoded


@pytest.mark.parametrize("size", [0, 1, 127, 128, 129, 255, 256, 384, 640, 70000])
def test_tlv_reads_back_at_every_length_form(size):
    content = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    encoded = der.tlv(der.OCTET_STRING, content)
    assert encoded == core.OctetString(content).dump()
    element = der.read_whole(encoded, der.OCTET_STRING)
    assert element.content == content and element.encoded == encoded


@pytest.mark.parametrize("value", [0, 1, 127, 128, 255, 256, -1, -128, -129, 2**159 + 7])
def test_integer_is_asn1cryptos(value):
    assert der.integer(value) == core.Integer(value).dump()


@pytest.mark.parametrize(
    "dotted",
    ["1.2.840.113549.1.7.2", "1.2.840.113549.1.9.16.2.47", "2.16.840.1.101.3.4.2.3", "2.999.3"],
)
def test_oid_is_asn1cryptos(dotted):
    assert der.oid(dotted) == core.ObjectIdentifier(dotted).dump()


def test_set_of_is_in_der_order():
    items = [der.tlv(der.OCTET_STRING, b"bb"), der.tlv(der.OCTET_STRING, b"a"), der.integer(5)]
    expected = core.SetOf([core.Any.load(i) for i in items], spec=core.Any).dump(force=True)
    assert der.set_of(items) == expected
    assert der.set_of(items) == der.tlv(der.SET, der.integer(5), items[1], items[0])


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ("3080020101" + "0000", "indefinite"),
        ("30810100", "shortest"),  # 1 in the long form
        ("3082000100", "shortest"),  # a leading zero length octet
        ("3005020101", "longer"),
        ("30", "truncated"),
        ("1f2200", "high tag"),
    ],
)
def test_reader_refuses_what_is_not_der(data, problem):
    with pytest.raises(ValueError, match=problem):
        der.read_whole(bytes.fromhex(data), der.SEQUENCE)


def test_reader_refuses_trailing_bytes_and_children_that_overflow():
    with pytest.raises(ValueError, match="after"):
        der.read_whole(bytes.fromhex("300000"), der.SEQUENCE)
    outer = der.read_whole(bytes.fromhex("3003020501"), der.SEQUENCE)
    with pytest.raises(ValueError, match="longer"):
        list(outer.children())


def test_certificate_parts_are_the_certificates_own_bytes():
    pki = default_pki()
    key = generate_private_key("EC-P256")
    for cert_der in (
        pki.intermediate.cert_der,
        pki.root.cert_der,
        issue_certificate(
            pki.intermediate,
            key.public_key(),
            common_name="ÇAĞRI ŞAHİN",
            national_id="10000000146",
            not_before=datetime.now(UTC) - timedelta(days=1),
            not_after=datetime.now(UTC) + timedelta(days=1),
        ).public_bytes(serialization.Encoding.DER),
    ):
        tbs = x509.Certificate.load(cert_der)["tbs_certificate"]
        parts = der.certificate_parts(cert_der)
        assert parts.issuer == tbs["issuer"].dump()
        assert parts.subject == tbs["subject"].dump()
        assert parts.serial == tbs["serial_number"].dump()
