import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from csms.pki.authorities import AuthorityRole, authority_generate, authority_load
from csms.pki.errors import PkiError
from csms.pki.keys import KeySpec, private_key_generate
from tests.certificates import (
    ORGANISATION,
    charge_point_certificate,
    hierarchy,
    pem,
    utc_now,
    weak_rsa_key,
)


def _key_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def test_generated_root_is_a_self_signed_ca_of_the_organisation() -> None:
    now = utc_now()
    root = authority_generate(
        role=AuthorityRole.CENTRAL_SYSTEM_ROOT, organisation=ORGANISATION, now=now
    )

    certificate = root.certificate
    assert certificate.subject == certificate.issuer
    certificate.verify_directly_issued_by(certificate)
    assert certificate.subject.rfc4514_string() == (
        "O=Acme Charging,CN=Acme Charging Central System Root CA"
    )
    constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 1
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign
    assert not usage.value.digital_signature
    assert isinstance(certificate.public_key(), ec.EllipticCurvePublicKey)
    assert certificate.public_key().curve.name == "secp256r1"
    assert isinstance(certificate.signature_hash_algorithm, hashes.SHA256)
    assert certificate.not_valid_after_utc - now > dt.timedelta(days=3649)
    assert root.is_root


def test_charge_point_ca_below_the_root_is_signed_by_it_and_cannot_outlive_it() -> None:
    now = utc_now()
    root = authority_generate(
        role=AuthorityRole.CENTRAL_SYSTEM_ROOT, organisation=ORGANISATION, now=now, valid_days=30
    )
    sub = authority_generate(
        role=AuthorityRole.CHARGE_POINT_CA, organisation=ORGANISATION, now=now, issuer=root
    )

    sub.certificate.verify_directly_issued_by(root.certificate)
    assert sub.chain == (root.certificate,)
    assert not sub.is_root
    assert sub.certificate.not_valid_after_utc <= root.certificate.not_valid_after_utc
    constraints = sub.certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert constraints.ca and constraints.path_length == 0


def test_charge_point_ca_may_be_a_root_of_its_own() -> None:
    ca = authority_generate(
        role=AuthorityRole.CHARGE_POINT_CA, organisation=ORGANISATION, now=utc_now()
    )
    assert ca.is_root
    assert ca.certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == (
        "Acme Charging Charge Point CA"
    )


def test_rsa_ca_signs_with_pss_as_the_whitepaper_advises() -> None:
    root = authority_generate(
        role=AuthorityRole.CENTRAL_SYSTEM_ROOT,
        organisation=ORGANISATION,
        now=utc_now(),
        key_spec=KeySpec.RSA_2048,
    )
    parameters = root.certificate.signature_algorithm_parameters
    assert isinstance(parameters, padding.PSS)
    assert root.certificate.public_key().key_size == 2048


def test_root_cannot_have_an_issuer() -> None:
    root = hierarchy().root
    with pytest.raises(PkiError, match="self-signed"):
        authority_generate(
            role=AuthorityRole.CENTRAL_SYSTEM_ROOT,
            organisation=ORGANISATION,
            now=utc_now(),
            issuer=root,
        )


def test_uploaded_ca_with_its_key_and_chain_is_loaded() -> None:
    generated = hierarchy().charge_point_ca
    loaded = authority_load(
        certificate_pem=pem(generated.certificate) + pem(generated.chain[0]),
        private_key_pem=generated.private_key_pem(),
        now=utc_now(),
    )
    assert loaded.certificate == generated.certificate
    assert loaded.chain == generated.chain
    assert loaded.private_key is not None


def test_uploaded_ca_without_key_can_verify_but_has_none() -> None:
    generated = hierarchy().root
    loaded = authority_load(
        certificate_pem=pem(generated.certificate), private_key_pem=None, now=utc_now()
    )
    assert loaded.private_key is None
    with pytest.raises(PkiError, match="no private key"):
        loaded.private_key_pem()


def test_uploaded_ca_whose_key_does_not_match_is_refused() -> None:
    first, second = hierarchy().root, hierarchy().root
    with pytest.raises(PkiError) as refusal:
        authority_load(
            certificate_pem=pem(first.certificate),
            private_key_pem=second.private_key_pem(),
            now=utc_now(),
        )
    assert refusal.value.problems == ("the private key does not belong to the certificate",)


def test_uploaded_end_entity_certificate_is_not_a_ca() -> None:
    leaf = charge_point_certificate(hierarchy().charge_point_ca, "CP-1")
    with pytest.raises(PkiError) as refusal:
        authority_load(
            certificate_pem=leaf.issued.certificate_pem,
            private_key_pem=leaf.key_pem().decode(),
            now=utc_now(),
        )
    assert any("not a CA" in problem for problem in refusal.value.problems)
    assert any("keyCertSign" in problem for problem in refusal.value.problems)


def test_uploaded_expired_ca_is_refused() -> None:
    long_ago = utc_now() - dt.timedelta(days=400)
    old = authority_generate(
        role=AuthorityRole.CENTRAL_SYSTEM_ROOT,
        organisation=ORGANISATION,
        now=long_ago,
        valid_days=30,
    )
    with pytest.raises(PkiError, match="expired on"):
        authority_load(
            certificate_pem=old.certificate_pem,
            private_key_pem=old.private_key_pem(),
            now=utc_now(),
        )


def test_uploaded_ca_not_yet_valid_is_refused() -> None:
    future = authority_generate(
        role=AuthorityRole.CENTRAL_SYSTEM_ROOT,
        organisation=ORGANISATION,
        now=utc_now() + dt.timedelta(days=3),
    )
    with pytest.raises(PkiError, match="not valid before"):
        authority_load(certificate_pem=future.certificate_pem, private_key_pem=None, now=utc_now())


def test_uploaded_ca_with_a_weak_rsa_key_is_refused() -> None:
    weak_key = weak_rsa_key()
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Weak CA")])
    now = utc_now()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(weak_key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=10))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(weak_key, hashes.SHA256())
    )
    with pytest.raises(PkiError) as refusal:
        authority_load(
            certificate_pem=pem(certificate), private_key_pem=_key_pem(weak_key), now=now
        )
    assert any("1024 bits" in problem for problem in refusal.value.problems)


def test_uploaded_garbage_is_refused_clearly() -> None:
    with pytest.raises(PkiError, match=r"not a PEM-encoded X\.509 certificate"):
        authority_load(certificate_pem="hello", private_key_pem=None, now=utc_now())
    root = hierarchy().root
    with pytest.raises(PkiError, match="not a PEM-encoded key"):
        authority_load(certificate_pem=root.certificate_pem, private_key_pem="nope", now=utc_now())


def test_uploaded_encrypted_key_needs_its_password() -> None:
    root = hierarchy().root
    encrypted = root.private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"s3cret"),
    ).decode()
    with pytest.raises(PkiError, match="give its password"):
        authority_load(
            certificate_pem=root.certificate_pem, private_key_pem=encrypted, now=utc_now()
        )
    loaded = authority_load(
        certificate_pem=root.certificate_pem,
        private_key_pem=encrypted,
        now=utc_now(),
        password=b"s3cret",
    )
    assert loaded.private_key is not None


def test_generated_keys_have_the_requested_type_and_size() -> None:
    assert private_key_generate(spec=KeySpec.EC_P384).curve.name == "secp384r1"
    assert private_key_generate(spec=KeySpec.RSA_3072).key_size == 3072
