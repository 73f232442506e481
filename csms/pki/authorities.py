"""Certificate authorities of the Charge Point Operator hierarchy (whitepaper §2.6.2).

Two roles, per tenant:

* the **Central System root** — the root a charge point trusts (InstallCertificate with
  ``CentralSystemRootCertificate``: "used by the CA to sign the Central System and Charge Point
  certificate", §6.4);
* the **Charge Point CA** — what signs charge points' CSRs and what their TLS client
  certificates must chain to. Either a sub-CA of the Central System root (the "CSMS root / CPO
  sub-CA" shape: one root installed on chargers covers server and charge point certificates), or
  a root of its own (an operator keeping the two hierarchies apart).

Generated CAs follow §2.6.1: RSA >= 2048 or ECDSA keys (A00.FR.501-503), signed with ECDSA or
RSA-PSS and SHA-2 (A00.FR.504-506), a random serial (A00.FR.508), O = the organisation
(A00.FR.509), and keyUsage restricted to certificate and CRL signing (A00.FR.512).
"""

import datetime as dt
import enum
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from csms.pki.errors import PkiError
from csms.pki.keys import (
    KeySpec,
    PrivateKey,
    certificate_sign,
    key_description,
    private_key_generate,
    public_key_problems,
    public_keys_equal,
    signature_hash_problems,
)

ROOT_VALID_DAYS = 3650
CHARGE_POINT_CA_VALID_DAYS = 1825


class AuthorityRole(enum.StrEnum):
    CENTRAL_SYSTEM_ROOT = "central_system_root"
    CHARGE_POINT_CA = "charge_point_ca"


@dataclass(frozen=True)
class CertificateAuthority:
    """A CA certificate with its private key (None for a CA whose key lives elsewhere: it can
    verify charge point certificates but not sign). ``chain`` holds the certificates above it,
    nearest first (empty for a root)."""

    certificate: x509.Certificate
    private_key: PrivateKey | None
    chain: tuple[x509.Certificate, ...] = ()

    @property
    def certificate_pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def is_root(self) -> bool:
        return self.certificate.issuer == self.certificate.subject and not self.chain

    def private_key_pem(self) -> str:
        """Unencrypted PKCS#8: only to hand to ``key_storage.private_key_encrypt``."""
        if self.private_key is None:
            raise PkiError(["this certificate authority has no private key here"])
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()


def authority_generate(
    *,
    role: AuthorityRole,
    organisation: str,
    now: dt.datetime,
    common_name: str | None = None,
    issuer: CertificateAuthority | None = None,
    key_spec: KeySpec = KeySpec.EC_P256,
    valid_days: int | None = None,
) -> CertificateAuthority:
    """A new CA for ``role``; with ``issuer`` (only for the Charge Point CA) a sub-CA of it.

    A sub-CA never outlives its issuer. The root allows one CA below it (path length 1), a
    Charge Point CA none (it signs charge points only).
    """
    if role is AuthorityRole.CENTRAL_SYSTEM_ROOT and issuer is not None:
        raise PkiError(["a Central System root is self-signed: it has no issuer"])
    if issuer is not None and issuer.private_key is None:
        raise PkiError(["the issuing CA has no private key here: it cannot sign a sub-CA"])
    default_name, default_days, path_length = _ROLE_DEFAULTS[role]
    key = private_key_generate(spec=key_spec)
    subject = x509.Name(
        [
            x509.NameAttribute(
                NameOID.COMMON_NAME, common_name or f"{organisation} {default_name}"
            ),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
        ]
    )
    not_after = now + dt.timedelta(days=valid_days or default_days)
    if issuer is not None:
        not_after = min(not_after, issuer.certificate.not_valid_after_utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.certificate.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(_CA_KEY_USAGE, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            authority_key_identifier(issuer.certificate), critical=False
        )
        if issuer.private_key is None:
            raise PkiError(["the issuing CA's private key is not held here: it cannot sign"])
        certificate = certificate_sign(builder, issuer_key=issuer.private_key)
        return CertificateAuthority(certificate, key, (issuer.certificate, *issuer.chain))
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False
    )
    return CertificateAuthority(certificate_sign(builder, issuer_key=key), key)


def authority_load(
    *,
    certificate_pem: str,
    private_key_pem: str | None,
    now: dt.datetime,
    password: bytes | None = None,
) -> CertificateAuthority:
    """An uploaded CA: its certificate first, then (optionally) the chain above it.

    Raises ``PkiError`` with every problem found: unreadable PEM, a key that does not belong to
    the certificate, not a CA, expired or not yet valid, too weak a key or hash.
    """
    try:
        certificates = x509.load_pem_x509_certificates(certificate_pem.encode())
    except ValueError:
        raise PkiError(["the certificate is not a PEM-encoded X.509 certificate"]) from None
    certificate, *chain = certificates
    problems = authority_certificate_problems(certificate, now=now)
    private_key = None
    if private_key_pem:
        private_key, key_problems = _load_private_key(private_key_pem, password)
        problems += key_problems
        if private_key is not None and not public_keys_equal(
            private_key.public_key(), certificate.public_key()
        ):
            problems.append("the private key does not belong to the certificate")
    if problems:
        raise PkiError(problems)
    return CertificateAuthority(certificate, private_key, tuple(chain))


def authority_certificate_problems(certificate: x509.Certificate, *, now: dt.datetime) -> list[str]:
    """Why ``certificate`` cannot serve as a CA of the OCPP hierarchy at ``now``."""
    problems: list[str] = []
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is None or not constraints.ca:
        problems.append("the certificate is not a CA (basicConstraints CA:TRUE is missing)")
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    # RFC 5280 §4.2.1.3: a CA certificate carries keyUsage with keyCertSign; chain verification
    # (client_certificates) refuses chains through a CA without it, so refuse it here already.
    if usage is None or not usage.key_cert_sign:
        problems.append("the certificate may not sign certificates (keyUsage keyCertSign missing)")
    if certificate.not_valid_after_utc <= now:
        problems.append(f"the certificate expired on {certificate.not_valid_after_utc:%Y-%m-%d}")
    if certificate.not_valid_before_utc > now:
        problems.append(
            f"the certificate is not valid before {certificate.not_valid_before_utc:%Y-%m-%d}"
        )
    problems += public_key_problems(certificate.public_key())
    problems += signature_hash_problems(
        certificate.signature_hash_algorithm, what="the certificate"
    )
    return problems


def authority_key_identifier(issuer: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    """The AKI of a certificate ``issuer`` signs: its SKI when it has one (RFC 5280 §4.2.1.1)."""
    try:
        ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        issuer_key = issuer.public_key()
        if not isinstance(issuer_key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
            problem = f"{key_description(issuer_key)} keys cannot issue certificates here"
            raise PkiError([problem]) from None
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key)
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def _load_private_key(pem: str, password: bytes | None) -> tuple[PrivateKey | None, list[str]]:
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=password)
    except TypeError:
        return None, ["the private key is encrypted: give its password"]
    except ValueError:
        return None, ["the private key is not a PEM-encoded key (or the password is wrong)"]
    problems = public_key_problems(key.public_key())
    if problems:
        return None, problems
    if not isinstance(key, PrivateKey):
        return None, [f"{key_description(key)} keys cannot sign certificates here"]
    return key, []


_CA_KEY_USAGE = x509.KeyUsage(
    digital_signature=False,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=True,
    crl_sign=True,
    encipher_only=False,
    decipher_only=False,
)
_ROLE_DEFAULTS: dict[AuthorityRole, tuple[str, int, int]] = {
    AuthorityRole.CENTRAL_SYSTEM_ROOT: ("Central System Root CA", ROOT_VALID_DAYS, 1),
    AuthorityRole.CHARGE_POINT_CA: ("Charge Point CA", CHARGE_POINT_CA_VALID_DAYS, 0),
}
