"""Certificates for tests, made with the product's own primitives (csms.pki)."""

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from csms.pki.authorities import AuthorityRole, CertificateAuthority, authority_generate
from csms.pki.keys import KeySpec, PrivateKey, private_key_generate
from csms.pki.signing_requests import IssuedCertificate, csr_create, csr_sign, csr_validate

ORGANISATION = "Acme Charging"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Hierarchy:
    """A tenant's CAs: the Central System root and the Charge Point CA below it."""

    root: CertificateAuthority
    charge_point_ca: CertificateAuthority


def hierarchy(organisation: str = ORGANISATION, *, now: dt.datetime | None = None) -> Hierarchy:
    now = now or utc_now()
    root = authority_generate(
        role=AuthorityRole.CENTRAL_SYSTEM_ROOT, organisation=organisation, now=now
    )
    charge_point_ca = authority_generate(
        role=AuthorityRole.CHARGE_POINT_CA, organisation=organisation, now=now, issuer=root
    )
    return Hierarchy(root, charge_point_ca)


@dataclass(frozen=True)
class KeyAndCertificate:
    key: PrivateKey
    issued: IssuedCertificate

    @property
    def certificate(self) -> x509.Certificate:
        return self.issued.certificate

    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def write(self, directory: Path, name: str) -> tuple[Path, Path]:
        """``name.pem`` (the chain, leaf first) and ``name-key.pem``."""
        cert_path, key_path = directory / f"{name}.pem", directory / f"{name}-key.pem"
        cert_path.write_text(self.issued.chain_pem)
        key_path.write_bytes(self.key_pem())
        return cert_path, key_path


def charge_point_certificate(
    authority: CertificateAuthority,
    identity: str,
    *,
    organisation: str = ORGANISATION,
    now: dt.datetime | None = None,
    valid_days: int = 30,
    key_spec: KeySpec = KeySpec.EC_P256,
) -> KeyAndCertificate:
    """A charger's key and the certificate our CA signs for its CSR (the SignCertificate path)."""
    now = now or utc_now()
    key = private_key_generate(spec=key_spec)
    csr = csr_validate(
        csr_pem=csr_create(private_key=key, common_name=identity, organisation=organisation),
        identity=identity,
        organisation=organisation,
    )
    return KeyAndCertificate(
        key, csr_sign(csr=csr, authority=authority, now=now, valid_days=valid_days)
    )


def pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def weak_rsa_key() -> rsa.RSAPrivateKey:
    """A key the whitepaper forbids (A00.FR.502), for the tests that it is refused."""
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
