"""The simulator's CMS verifier, one check at a time, on deliberately broken signatures.

Signatures come from the project's CAdES builder with a software key; the
broken ones are tampered with asn1crypto and, where the tampering is inside
the signed attributes, signed again so that only the intended check fails.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from asn1crypto import cms as a_cms
from asn1crypto import tsp as a_tsp
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from tests.sim.signing import SoftwareSigner, resign, software_holder
from tui.sim.pki import INTERMEDIATE_CN, ROOT_CN, default_pki, generate_pki
from tui.sim.state import default_intermediates, default_trust_roots
from tui.sim.verify import VerificationError, verify_signature

TEXT = "Kullanıcı servislerine elektronik imzalı olarak girme işlemini onaylıyorum."
NONCE = bytes(range(32))
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def ec_signer() -> SoftwareSigner:
    return software_holder(national_id="12345678950", name="DENEME KİŞİ")


@pytest.fixture(scope="module")
def rsa_signer() -> SoftwareSigner:
    return software_holder(key_type="RSA-2048", national_id="23456789012")


def verify(cms: bytes, *, text: str = TEXT, nonce: bytes = NONCE, **options):
    now = datetime.now(UTC)
    options.setdefault("trust_roots", default_trust_roots())
    return verify_signature(
        cms, text=text, nonce=nonce, window=(now - timedelta(minutes=1), now), **options
    )


def refused(cms: bytes, code: str, words: str, **options) -> None:
    with pytest.raises(VerificationError) as info:
        verify(cms, **options)
    assert info.value.code == code
    assert words in info.value.detail


def invalid(cms: bytes, words: str, **options) -> None:
    refused(cms, "signature_invalid", words, **options)


def rejected(cms: bytes, words: str, **options) -> None:
    refused(cms, "certificate_rejected", words, **options)


# --- what is accepted ---------------------------------------------------------------


@pytest.mark.parametrize("pss", [False, True], ids=["pkcs1", "pss"])
def test_rsa_signatures_verify(rsa_signer: SoftwareSigner, pss):
    verified = verify(rsa_signer.sign(TEXT, NONCE, pss=pss))
    assert verified.holder_serial == "23456789012"
    assert verified.certificate.public_bytes(Encoding.DER) == rsa_signer.cert_der


@pytest.mark.parametrize("key_type", ["EC-P256", "EC-P384"])
def test_ecdsa_signatures_verify(key_type):
    signer = software_holder(key_type=key_type, name="İLKNUR ÇAĞLAR", national_id="63918274506")
    verified = verify(signer.sign(TEXT, NONCE))
    assert (verified.holder_name, verified.holder_serial) == ("İLKNUR ÇAĞLAR", "63918274506")
    assert abs(verified.signing_time - datetime.now(UTC)) < timedelta(seconds=5)


def test_chain_may_be_left_out_when_the_portal_knows_the_intermediate():
    signer = software_holder(with_chain=False)
    verify(signer.sign(TEXT, NONCE), intermediates=default_intermediates())
    rejected(signer.sign(TEXT, NONCE), "does not chain", intermediates=[])


# --- signature_invalid -----------------------------------------------------------------


@pytest.mark.parametrize(
    "der",
    [b"", b"\x30\x00", b"garbage", bytes(100), b"\x30\x82\xff\xff" + bytes(10)],
    ids=["empty", "empty-sequence", "text", "zeros", "truncated"],
)
def test_not_a_cms(der):
    invalid(der, "")


def test_content_info_of_another_type(ec_signer):
    data = a_cms.ContentInfo({"content_type": "data", "content": TEXT.encode()})
    invalid(data.dump(), "not a CMS SignedData")


def _tamper(cms: bytes, change) -> bytes:
    info = a_cms.ContentInfo.load(cms)
    change(info["content"])
    return info.dump(force=True)


def test_signature_value_flipped(ec_signer):
    def flip(signed_data):
        signer_info = signed_data["signer_infos"][0]
        value = bytearray(signer_info["signature"].native)
        value[-5] ^= 0x01
        signer_info["signature"] = bytes(value)

    invalid(_tamper(ec_signer.sign(TEXT, NONCE), flip), "does not verify")


def test_detached_content(ec_signer):
    def detach(signed_data):
        signed_data["encap_content_info"] = {"content_type": "data"}

    invalid(_tamper(ec_signer.sign(TEXT, NONCE), detach), "not attached")


def test_two_signer_infos(ec_signer):
    def double(signed_data):
        one = signed_data["signer_infos"][0]
        signed_data["signer_infos"] = [one, one]

    invalid(_tamper(ec_signer.sign(TEXT, NONCE), double), "exactly one")


def test_signer_certificate_missing(ec_signer):
    def drop_certs(signed_data):
        signed_data["certificates"] = []

    invalid(_tamper(ec_signer.sign(TEXT, NONCE), drop_certs), "signer certificate is not")


def test_sha1_digest_algorithm(ec_signer):
    def sha1(signed_data):
        signed_data["signer_infos"][0]["digest_algorithm"] = {"algorithm": "sha1"}

    invalid(_tamper(ec_signer.sign(TEXT, NONCE), sha1), "not SHA-256")


@pytest.mark.parametrize("algorithm", ["sha1_rsa", "md5_rsa", "sha256_ecdsa", "sha1_ecdsa"])
def test_signature_algorithm_not_allowed_or_not_matching(rsa_signer, algorithm):
    def swap(signed_data):
        signed_data["signer_infos"][0]["signature_algorithm"] = {"algorithm": algorithm}

    invalid(_tamper(rsa_signer.sign(TEXT, NONCE), swap), "")


def test_pss_parameters_that_do_not_match_the_signature(rsa_signer):
    def salt(signed_data):
        algorithm = signed_data["signer_infos"][0]["signature_algorithm"]
        params = algorithm["parameters"]
        params["salt_length"] = 20
        algorithm["parameters"] = params

    invalid(_tamper(rsa_signer.sign(TEXT, NONCE, pss=True), salt), "does not verify")


def _without(oid_name: str):
    def edit(attrs):
        return a_cms.CMSAttributes([a for a in attrs if a["type"].native != oid_name])

    return edit


def _replacing(oid_name: str, value):
    def edit(attrs):
        kept = [a for a in attrs if a["type"].native != oid_name]
        return a_cms.CMSAttributes([*kept, {"type": oid_name, "values": [value]}])

    return edit


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (_without("content_type"), "content-type is missing"),
        (_replacing("content_type", "signed_data"), "not id-data"),
        (_without("message_digest"), "message-digest is missing"),
        (_replacing("message_digest", bytes(32)), "does not match the content"),
        (_without("signing_time"), "signing-time is missing"),
        (
            _replacing(
                "signing_time", a_cms.Time({"utc_time": datetime(2019, 11, 13, tzinfo=UTC)})
            ),
            "outside the challenge's time window",
        ),
        (_without("content_identifier"), "content-identifier is missing"),
        (_replacing("content_identifier", bytes(32)), "nonce"),
        (_without("signing_certificate_v2"), "signing-certificate-v2 is missing"),
        (
            _replacing(
                "signing_certificate_v2",
                a_tsp.SigningCertificateV2({"certs": [{"cert_hash": bytes(32)}]}),
            ),
            "another certificate",
        ),
        (lambda attrs: a_cms.CMSAttributes([*attrs, attrs[2]]), "appears twice"),
        (
            lambda attrs: a_cms.CMSAttributes(
                [
                    *[a for a in attrs if a["type"].native != "signing_time"],
                    {"type": "signing_time", "values": [a_cms.Time({"utc_time": NOW})] * 2},
                ]
            ),
            "exactly one value",
        ),
    ],
    ids=[
        "no-content-type",
        "content-type-not-data",
        "no-message-digest",
        "wrong-message-digest",
        "no-signing-time",
        "signing-time-2019",
        "no-content-identifier",
        "content-identifier-not-nonce",
        "no-signing-certificate-v2",
        "signing-certificate-v2-of-another",
        "duplicate-attribute",
        "two-signing-times",
    ],
)
def test_signed_attribute_faults(ec_signer, edit, words):
    cms = resign(ec_signer, ec_signer.tbs(TEXT, NONCE), edit)
    invalid(cms, words)


def test_another_text_and_another_nonce(ec_signer):
    cms = ec_signer.sign(TEXT, NONCE)
    invalid(cms, "not exactly the challenge's text", text=TEXT + " ")
    invalid(cms, "content-identifier", nonce=bytes(32))


def test_signing_time_window_has_five_minutes_of_slack(ec_signer):
    now = datetime.now(UTC)
    verify(ec_signer.sign(TEXT, NONCE, when=now - timedelta(minutes=5, seconds=50)))
    invalid(ec_signer.sign(TEXT, NONCE, when=now - timedelta(minutes=6, seconds=10)), "window")
    verify(ec_signer.sign(TEXT, NONCE, when=now + timedelta(minutes=4, seconds=50)))
    invalid(ec_signer.sign(TEXT, NONCE, when=now + timedelta(minutes=5, seconds=10)), "window")


# --- certificate_rejected -------------------------------------------------------------


def test_expired_and_not_yet_valid_certificates():
    now = datetime.now(UTC)
    expired = software_holder(
        not_before=now - timedelta(days=800), not_after=now - timedelta(days=2)
    )
    rejected(expired.sign(TEXT, NONCE), "not valid at signing-time")
    future = software_holder(not_before=now + timedelta(days=2), not_after=now + timedelta(days=9))
    rejected(future.sign(TEXT, NONCE), "not valid at signing-time")


def test_certificate_without_non_repudiation():
    signer = software_holder(key_usage=("digitalSignature",))
    rejected(signer.sign(TEXT, NONCE), "nonRepudiation")


def test_untrusted_ca_even_with_its_chain_in_the_cms():
    other = generate_pki("Başka Kök", "Başka Ara SM")
    signer = software_holder(issuer=other.intermediate)
    cms = signer.sign(TEXT, NONCE)
    rejected(cms, "does not chain")
    verify(cms, trust_roots=[*default_trust_roots(), other.root.cert])  # like --trust


def test_impostor_root_with_the_trusted_names_is_not_trusted():
    """A CA that copies the test root's and intermediate's names but not their keys."""
    impostor = generate_pki(ROOT_CN, INTERMEDIATE_CN)
    assert impostor.root.cert.subject == default_pki().root.cert.subject
    signer = software_holder(issuer=impostor.intermediate)
    cms = SoftwareSigner(
        signer.key, signer.cert_der, (impostor.intermediate.cert_der, impostor.root.cert_der)
    ).sign(TEXT, NONCE)
    rejected(cms, "does not chain", intermediates=default_intermediates())


def test_revoked_certificate(ec_signer):
    serial = x509.load_der_x509_certificate(ec_signer.cert_der).serial_number
    rejected(ec_signer.sign(TEXT, NONCE), "revoked", revoked={serial})


def test_the_verifier_does_not_use_the_apps_builder():
    """Independence: loading the whole simulator never imports tui.core.card.cades."""
    code = (
        "import sys, tui.sim.server, tui.sim.portal_app, tui.sim.verify, tui.sim.state, "
        "tui.commands.portal_sim\n"
        "assert 'tui.core.card.cades' not in sys.modules, 'cades imported'\n"
        "assert 'tui.core.card.pkcs11_card' not in sys.modules, 'card imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
