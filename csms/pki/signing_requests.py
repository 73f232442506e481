"""A charge point's certificate signing request (SignCertificate.req) and its signature.

The charge point makes a key pair and sends its public key as a PKCS#10 CSR, PEM encoded
(A02.FR.03, RFC 2986), with ``CpoName`` in O (A02.FR.13). The Central System checks what it can
before a CA signs (A02 "Error handling": it "may do some checks on the CSR"): the request's own
signature (proof that the charger holds the key), the key (A00.FR.501-503), the hash
(A00.FR.504) and the subject (``subjects``). ``csr_sign`` is the CA: it copies only the checked
subject and the key from the request and sets every extension itself, whatever was requested.
"""

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from csms.pki.authorities import CertificateAuthority, authority_key_identifier
from csms.pki.errors import PkiError
from csms.pki.hash_data import serial_number_hex
from csms.pki.keys import (
    PrivateKey,
    certificate_sign,
    public_key_problems,
    signature_hash_for,
    signature_hash_problems,
)
from csms.pki.subjects import charge_point_subject_problems

CHARGE_POINT_CERTIFICATE_VALID_DAYS = 365
# Chargers' clocks drift; a certificate that starts "now" by our clock would be refused by a
# charger a minute behind (A02.FR.08: it switches once "Not valid before" has passed).
CLOCK_SKEW = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class IssuedCertificate:
    certificate: x509.Certificate
    # For CertificateSigned.req ``certificateChain``: the new certificate, then the CAs above it
    # up to (not including) the root the charger already trusts.
    chain_pem: str

    @property
    def certificate_pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def serial_number(self) -> str:
        """Hexadecimal, as in CertificateHashDataType (whitepaper §6.1)."""
        return serial_number_hex(self.certificate.serial_number)

    @property
    def not_after(self) -> dt.datetime:
        return self.certificate.not_valid_after_utc


def csr_create(*, private_key: PrivateKey, common_name: str, organisation: str) -> str:
    """What a charge point sends in SignCertificate.req (for the development CA and tests)."""
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
        ]
    )
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(subject)
        .sign(private_key, signature_hash_for(private_key))
    )
    return request.public_bytes(serialization.Encoding.PEM).decode()


def csr_problems(
    csr: x509.CertificateSigningRequest, *, identity: str, organisation: str
) -> list[str]:
    """Why this CSR must not be signed for charge point ``identity`` of ``organisation``."""
    problems: list[str] = []
    try:
        signed = csr.is_signature_valid
    except (ValueError, TypeError):
        signed = False
    if not signed:
        problems.append(
            "the CSR's signature is invalid: it does not prove possession of the private key"
        )
    try:
        public_key = csr.public_key()
    except ValueError:
        problems.append("the CSR's public key cannot be read")
    else:
        problems += public_key_problems(public_key)
    problems += signature_hash_problems(csr.signature_hash_algorithm, what="the CSR")
    problems += charge_point_subject_problems(
        csr.subject, identity=identity, organisation=organisation
    )
    try:
        constraints = csr.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is not None and constraints.ca:
        problems.append("the CSR asks for a CA certificate; a charge point gets an end-entity one")
    return problems


def csr_validate(
    *, csr_pem: str, identity: str, organisation: str
) -> x509.CertificateSigningRequest:
    """The parsed CSR if it may be signed; otherwise ``PkiError`` with every problem found."""
    try:
        csr = x509.load_pem_x509_csr(csr_pem.encode())
    except ValueError:
        raise PkiError(
            ["the CSR is not a PEM-encoded PKCS#10 certificate signing request"]
        ) from None
    problems = csr_problems(csr, identity=identity, organisation=organisation)
    if problems:
        raise PkiError(problems)
    return csr


def csr_sign(
    *,
    csr: x509.CertificateSigningRequest,
    authority: CertificateAuthority,
    now: dt.datetime,
    valid_days: int = CHARGE_POINT_CERTIFICATE_VALID_DAYS,
) -> IssuedCertificate:
    """Sign a CSR that ``csr_validate`` accepted: a TLS client certificate for the charger.

    It never outlives the CA (a charger would refuse the chain), carries clientAuth only, and no
    subjectAltName (A00.FR.511: a dNSName there would override the CN as the identity).
    """
    if authority.private_key is None:
        raise PkiError(["this certificate authority has no private key here: it cannot sign"])
    public_key = csr.public_key()
    not_after = min(now + dt.timedelta(days=valid_days), authority.certificate.not_valid_after_utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(authority.certificate.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            _end_entity_key_usage(rsa_key=isinstance(public_key, rsa.RSAPublicKey)), critical=True
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(authority_key_identifier(authority.certificate), critical=False)
    )
    certificate = certificate_sign(builder, issuer_key=authority.private_key)
    return IssuedCertificate(certificate, chain_pem(certificate, authority))


def chain_pem(certificate: x509.Certificate, authority: CertificateAuthority) -> str:
    """``certificate`` and the CAs above it, without the self-signed root at the top."""
    chain = [certificate, authority.certificate, *authority.chain]
    if chain[-1].issuer == chain[-1].subject:
        chain.pop()
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in chain)


def _end_entity_key_usage(*, rsa_key: bool) -> x509.KeyUsage:
    # A00.FR.512: only what TLS needs. keyEncipherment only for RSA keys (the TLS_RSA suites of
    # A00.FR.317 encrypt the pre-master secret to the server's key).
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=rsa_key,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
