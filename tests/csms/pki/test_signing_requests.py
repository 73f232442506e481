import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from csms.pki.authorities import AuthorityRole, authority_generate, authority_load
from csms.pki.errors import PkiError
from csms.pki.keys import KeySpec, private_key_generate
from csms.pki.signing_requests import csr_create, csr_sign, csr_validate
from tests.certificates import ORGANISATION, hierarchy, utc_now, weak_rsa_key


def _csr(key: object, *, cn: str = "CP-1", o: str | None = ORGANISATION, **extra: object) -> str:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if o is not None:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, o))
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(attributes))
    if extra.get("ca"):
        builder = builder.add_extension(
            x509.BasicConstraints(ca=True, path_length=None), critical=True
        )
    algorithm = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(key, algorithm).public_bytes(serialization.Encoding.PEM).decode()


def _problems(csr_pem: str, identity: str = "CP-1", organisation: str = ORGANISATION) -> tuple:
    with pytest.raises(PkiError) as refusal:
        csr_validate(csr_pem=csr_pem, identity=identity, organisation=organisation)
    return refusal.value.problems


@pytest.mark.parametrize("spec", [KeySpec.EC_P256, KeySpec.EC_P384, KeySpec.RSA_2048])
def test_csr_of_the_charge_point_with_an_allowed_key_is_accepted(spec: KeySpec) -> None:
    key = private_key_generate(spec=spec)
    pem = csr_create(private_key=key, common_name="CP-1", organisation=ORGANISATION)

    csr = csr_validate(csr_pem=pem, identity="CP-1", organisation=ORGANISATION)

    assert csr.public_key().public_numbers() == key.public_key().public_numbers()


def test_csr_with_a_short_rsa_key_is_refused() -> None:
    key = weak_rsa_key()
    (problem,) = _problems(_csr(key))
    assert "1024 bits" in problem and "A00.FR.502" in problem


def test_csr_with_a_curve_outside_the_allowed_ones_is_refused() -> None:
    (problem,) = _problems(_csr(ec.generate_private_key(ec.SECP256K1())))
    assert "secp256k1" in problem


def test_csr_with_an_ed25519_key_is_refused() -> None:
    problems = _problems(_csr(ed25519.Ed25519PrivateKey.generate()))
    assert any("keys are not allowed" in problem for problem in problems)


def test_csr_whose_cn_is_another_identity_is_refused() -> None:
    (problem,) = _problems(_csr(private_key_generate(), cn="CP-2"))
    assert problem == (
        "subject CN is 'CP-2', expected the charge point identity 'CP-1' "
        "(whitepaper A00.FR.405, A00.FR.511)"
    )


def test_csr_whose_o_is_another_organisation_is_refused() -> None:
    (problem,) = _problems(_csr(private_key_generate(), o="Globex Fleet"))
    assert "subject O is 'Globex Fleet', expected the CPO name 'Acme Charging'" in problem


def test_csr_without_organisation_is_refused() -> None:
    (problem,) = _problems(_csr(private_key_generate(), o=None))
    assert "0 O (organizationName) values" in problem


def test_csr_whose_cn_is_an_ip_address_is_refused_even_for_that_identity() -> None:
    problems = _problems(_csr(private_key_generate(), cn="10.0.0.7"), identity="10.0.0.7")
    assert problems == (
        "subject CN '10.0.0.7' is a URL or an IP address, which a charge point certificate "
        "must not be (whitepaper A00.FR.511)",
    )


def test_csr_asking_for_a_ca_certificate_is_refused() -> None:
    (problem,) = _problems(_csr(private_key_generate(), ca=True))
    assert "asks for a CA certificate" in problem


def test_csr_with_a_tampered_signature_is_refused() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = bytearray(
        x509.load_pem_x509_csr(_csr(key).encode()).public_bytes(serialization.Encoding.DER)
    )
    der[-1] ^= 0x01  # last byte of the signature
    tampered = x509.load_der_x509_csr(bytes(der)).public_bytes(serialization.Encoding.PEM)
    (problem,) = _problems(tampered.decode())
    assert "signature is invalid" in problem


def test_text_that_is_no_csr_is_refused() -> None:
    assert _problems("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n") == (
        "the CSR is not a PEM-encoded PKCS#10 certificate signing request",
    )


def test_every_problem_is_reported_at_once() -> None:
    key = weak_rsa_key()
    assert len(_problems(_csr(key, cn="CP-9", o="Other"))) == 3


def test_signed_certificate_is_a_client_certificate_chained_to_the_ca() -> None:
    now = utc_now()
    ca = hierarchy().charge_point_ca
    key = private_key_generate()
    csr = csr_validate(
        csr_pem=csr_create(private_key=key, common_name="CP-1", organisation=ORGANISATION),
        identity="CP-1",
        organisation=ORGANISATION,
    )

    issued = csr_sign(csr=csr, authority=ca, now=now, valid_days=90)

    certificate = issued.certificate
    certificate.verify_directly_issued_by(ca.certificate)
    assert certificate.subject == csr.subject
    assert certificate.public_key().public_numbers() == key.public_key().public_numbers()
    assert not certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    with pytest.raises(x509.ExtensionNotFound):
        certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert issued.not_after == certificate.not_valid_after_utc
    assert dt.timedelta(days=89) < issued.not_after - now <= dt.timedelta(days=90)
    assert issued.serial_number == f"{certificate.serial_number:X}"
    # CertificateSigned.req: the new certificate and the sub-CA, not the root the charger has.
    chain = x509.load_pem_x509_certificates(issued.chain_pem.encode())
    assert chain == [certificate, ca.certificate]


def test_signed_certificate_never_outlives_its_ca() -> None:
    now = utc_now()
    ca = authority_generate(
        role=AuthorityRole.CHARGE_POINT_CA, organisation=ORGANISATION, now=now, valid_days=10
    )
    csr = csr_validate(
        csr_pem=csr_create(
            private_key=private_key_generate(), common_name="CP-1", organisation=ORGANISATION
        ),
        identity="CP-1",
        organisation=ORGANISATION,
    )
    issued = csr_sign(csr=csr, authority=ca, now=now, valid_days=365)
    assert issued.not_after == ca.certificate.not_valid_after_utc
    # Self-signed Charge Point CA: the chain is the certificate alone.
    assert x509.load_pem_x509_certificates(issued.chain_pem.encode()) == [issued.certificate]


def test_a_ca_without_its_key_cannot_sign() -> None:
    generated = hierarchy().charge_point_ca
    without_key = authority_load(
        certificate_pem=generated.certificate_pem, private_key_pem=None, now=utc_now()
    )
    csr = csr_validate(
        csr_pem=csr_create(
            private_key=private_key_generate(), common_name="CP-1", organisation=ORGANISATION
        ),
        identity="CP-1",
        organisation=ORGANISATION,
    )
    with pytest.raises(PkiError, match="cannot sign"):
        csr_sign(csr=csr, authority=without_key, now=utc_now())
