"""The Central System's own TLS certificate, issued by a CA of ours (the development CA).

Whitepaper §2.6.1: O = the organisation (A00.FR.509), CN = the server's fully qualified domain
name (A00.FR.510) — the charger checks that its commonName matches (A00.FR.308/412) — and a
subjectAltName with every name and address the server is reached by, which A00.FR.511 allows
for a Central System reachable over several network paths (and which TLS clients such as
Python's check instead of the CN).
"""

import datetime as dt
import ipaddress
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from csms.pki.authorities import CertificateAuthority, authority_key_identifier
from csms.pki.errors import PkiError
from csms.pki.keys import KeySpec, PrivateKey, certificate_sign, private_key_generate
from csms.pki.signing_requests import CLOCK_SKEW, IssuedCertificate, chain_pem

SERVER_CERTIFICATE_VALID_DAYS = 397  # what browsers still accept, in case an admin uses it


def server_certificate_issue(
    *,
    authority: CertificateAuthority,
    hostnames: Sequence[str],
    organisation: str,
    now: dt.datetime,
    key_spec: KeySpec = KeySpec.EC_P256,
    valid_days: int = SERVER_CERTIFICATE_VALID_DAYS,
) -> tuple[PrivateKey, IssuedCertificate]:
    """A new key and a serverAuth certificate for ``hostnames`` (DNS names or IP addresses; the
    first is the CN)."""
    if not hostnames:
        raise PkiError(["a server certificate needs at least one host name"])
    if authority.private_key is None:
        raise PkiError(["this certificate authority has no private key here: it cannot sign"])
    key = private_key_generate(spec=key_spec)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, hostnames[0]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
        ]
    )
    is_rsa = isinstance(key, rsa.RSAPrivateKey)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(authority.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(
            min(now + dt.timedelta(days=valid_days), authority.certificate.not_valid_after_utc)
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                # TLS_RSA_WITH_AES_*_GCM (A00.FR.317) encrypt the pre-master secret to this key.
                key_encipherment=is_rsa,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName([_general_name(name) for name in hostnames]),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(authority_key_identifier(authority.certificate), critical=False)
    )
    certificate = certificate_sign(builder, issuer_key=authority.private_key)
    return key, IssuedCertificate(certificate, chain_pem(certificate, authority))


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name.strip("[]")))
    except ValueError:
        return x509.DNSName(name)
