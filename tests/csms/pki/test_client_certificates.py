import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from csms.pki.client_certificates import client_certificate_verify
from csms.pki.keys import PrivateKey, private_key_generate
from tests.certificates import (
    ORGANISATION,
    Hierarchy,
    charge_point_certificate,
    hierarchy,
    pem,
    utc_now,
    weak_rsa_key,
)

TENANT = hierarchy()


def _verify(
    chain: list[str],
    *,
    trusted: Hierarchy = TENANT,
    anchor: x509.Certificate | None = None,
    identity: str = "CP-1",
    organisation: str = ORGANISATION,
    now: dt.datetime | None = None,
):
    """``chain`` checked against ``trusted``'s Charge Point CA (or another ``anchor``)."""
    return client_certificate_verify(
        chain=chain,
        trusted=[anchor or trusted.charge_point_ca.certificate],
        identity=identity,
        organisation=organisation,
        now=now or utc_now(),
    )


def test_certificate_signed_by_the_tenants_ca_for_the_identity_is_valid() -> None:
    leaf = charge_point_certificate(TENANT.charge_point_ca, "CP-1")

    check = _verify([leaf.issued.certificate_pem])

    assert check.valid, check.problems
    assert check.certificate == leaf.certificate


def test_chain_with_the_sub_ca_and_trust_in_the_root_is_valid() -> None:
    leaf = charge_point_certificate(TENANT.charge_point_ca, "CP-1")
    check = _verify(
        [leaf.issued.certificate_pem, pem(TENANT.charge_point_ca.certificate)],
        anchor=TENANT.root.certificate,
    )
    assert check.valid, check.problems


def test_a_single_pem_string_holding_the_whole_chain_is_read() -> None:
    leaf = charge_point_certificate(TENANT.charge_point_ca, "CP-1")
    check = _verify([leaf.issued.chain_pem], anchor=TENANT.root.certificate)
    assert check.valid, check.problems


def test_certificate_of_another_ca_is_refused() -> None:
    foreign = charge_point_certificate(hierarchy().charge_point_ca, "CP-1")

    check = _verify([foreign.issued.certificate_pem])

    assert not check.valid
    (problem,) = check.problems
    assert problem.startswith("the client certificate does not chain to the charge point CA")


def test_expired_certificate_is_refused_with_its_date() -> None:
    long_ago = utc_now() - dt.timedelta(days=60)
    old = charge_point_certificate(TENANT.charge_point_ca, "CP-1", now=long_ago, valid_days=30)

    check = _verify([old.issued.certificate_pem])

    assert check.problems == (
        f"the client certificate expired on {old.certificate.not_valid_after_utc:%Y-%m-%d}",
    )


def test_certificate_not_yet_valid_is_refused() -> None:
    later = charge_point_certificate(
        TENANT.charge_point_ca, "CP-1", now=utc_now() + dt.timedelta(days=2)
    )
    (problem,) = _verify([later.issued.certificate_pem]).problems
    assert problem.startswith("the client certificate is not valid before")


def test_certificate_of_another_identity_is_refused() -> None:
    leaf = charge_point_certificate(TENANT.charge_point_ca, "CP-2")
    assert _verify([leaf.issued.certificate_pem]).problems == (
        "subject CN is 'CP-2', expected the charge point identity 'CP-1' "
        "(whitepaper A00.FR.405, A00.FR.511)",
    )


def test_certificate_of_another_organisation_is_refused() -> None:
    leaf = charge_point_certificate(TENANT.charge_point_ca, "CP-1")
    (problem,) = _verify([leaf.issued.certificate_pem], organisation="Globex Fleet").problems
    assert "expected the CPO name 'Globex Fleet'" in problem


def test_certificate_with_a_tampered_signature_is_refused() -> None:
    leaf = charge_point_certificate(TENANT.charge_point_ca, "CP-1")
    der = bytearray(leaf.certificate.public_bytes(serialization.Encoding.DER))
    der[-3] ^= 0x01  # inside the signature value
    tampered = x509.load_der_x509_certificate(bytes(der))

    (problem,) = _verify([pem(tampered)]).problems

    assert "does not chain to the charge point CA" in problem


def test_server_only_certificate_is_no_client_certificate() -> None:
    # Signed by the right CA for the right subject, but its extendedKeyUsage says serverAuth.
    ca = TENANT.charge_point_ca
    key = private_key_generate()
    now = utc_now()
    certificate = ca_signed(
        ca.certificate,
        ca.private_key,
        key.public_key(),
        "CP-1",
        now,
        eku=[ExtendedKeyUsageOID.SERVER_AUTH],
    )
    (problem,) = _verify([pem(certificate)]).problems
    assert "EKU" in problem


def test_certificate_with_a_short_rsa_key_is_refused() -> None:
    ca = TENANT.charge_point_ca
    weak = weak_rsa_key()
    certificate = ca_signed(ca.certificate, ca.private_key, weak.public_key(), "CP-1", utc_now())
    problems = _verify([pem(certificate)]).problems
    assert any("1024 bits" in problem for problem in problems)


def test_no_certificate_and_garbage_are_refused() -> None:
    assert _verify([]).problems == ("no client certificate was presented",)
    assert _verify(["not a certificate"]).problems == ("the client certificate is not valid PEM",)


def test_without_a_trusted_ca_nothing_verifies() -> None:
    leaf = charge_point_certificate(TENANT.charge_point_ca, "CP-1")
    check = client_certificate_verify(
        chain=[leaf.issued.certificate_pem],
        trusted=[],
        identity="CP-1",
        organisation=ORGANISATION,
        now=utc_now(),
    )
    assert check.problems == (
        "no charge point CA is configured to verify the client certificate against",
    )


def ca_signed(
    issuer: x509.Certificate,
    issuer_key: PrivateKey,
    public_key: CertificatePublicKeyTypes,
    cn: str,
    now: dt.datetime,
    *,
    eku: list[x509.ObjectIdentifier] | None = None,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.COMMON_NAME, cn),
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
                ]
            )
        )
        .issuer_name(issuer.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.public_key()),
            critical=False,
        )
    )
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())
