"""Verify the certificate a charge point presents (security profile 3, whitepaper §2.5.1).

A00.FR.403: the certification path is validated as RFC 5280 §6 describes — here by
cryptography's path builder (signatures, validity of every certificate, CA constraints, key
usage, clientAuth in extendedKeyUsage when present). Against the charge point CA of *its* tenant:
a bundle of every tenant's CAs at the TLS layer (``TLS_CLIENT_CA_FILE``) only proves that some
tenant vouches for the charger. A00.FR.404/405: the subject names the identity and the CPO
(``subjects``). A00.FR.407: anything else ends the connection, and A00.FR.408 recommends a
security event: the problems returned here are the reasons to store with it.

The same function serves the certificate our own TLS endpoint saw and the one a proxy passed on
(``csms.tls``): both arrive as PEM text, leaf first.
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509 import verification

from csms.pki.keys import public_key_problems
from csms.pki.subjects import charge_point_subject_problems

# Factory certificates and certificates of older CAs often lack what the Web PKI insists on
# (a subjectAltName, an authorityKeyIdentifier); neither carries the charger's identity, which is
# the CN (A00.FR.511 even advises against a dNSName SAN). Everything else of the Web PKI's
# end-entity profile stays: keyUsage and extendedKeyUsage constraints, no CA:TRUE leaf.
_END_ENTITY_POLICY = (
    verification.ExtensionPolicy.webpki_defaults_ee()
    .may_be_present(x509.SubjectAlternativeName, verification.Criticality.AGNOSTIC, None)
    .may_be_present(x509.AuthorityKeyIdentifier, verification.Criticality.AGNOSTIC, None)
)
MAX_CHAIN_DEPTH = 4


@dataclass(frozen=True)
class ClientCertificateCheck:
    """The outcome: ``problems`` empty means the charge point proved who it is."""

    certificate: x509.Certificate | None
    problems: tuple[str, ...]

    @property
    def valid(self) -> bool:
        return not self.problems


def client_certificate_verify(
    *,
    chain: Sequence[str],
    trusted: Sequence[x509.Certificate],
    identity: str,
    organisation: str,
    now: dt.datetime,
) -> ClientCertificateCheck:
    """Check the presented ``chain`` (PEM strings, the charger's certificate first, then any
    intermediates it sent) against the ``trusted`` CA certificates of the tenant."""
    try:
        presented = [c for pem in chain for c in x509.load_pem_x509_certificates(pem.encode())]
    except ValueError:
        return ClientCertificateCheck(None, ("the client certificate is not valid PEM",))
    if not presented:
        return ClientCertificateCheck(None, ("no client certificate was presented",))
    leaf, *intermediates = presented
    problems: list[str] = []
    # The dates first, in words: the path builder reports them only as "not valid at
    # validation time", and an expired certificate is the commonest reason by far.
    if leaf.not_valid_after_utc < now:
        problems.append(f"the client certificate expired on {leaf.not_valid_after_utc:%Y-%m-%d}")
    elif leaf.not_valid_before_utc > now:
        problems.append(
            "the client certificate is not valid before "
            f"{leaf.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"
        )
    else:
        problems += _path_problems(leaf, intermediates, trusted=trusted, now=now)
    problems += public_key_problems(leaf.public_key())
    problems += charge_point_subject_problems(
        leaf.subject, identity=identity, organisation=organisation
    )
    return ClientCertificateCheck(leaf, tuple(problems))


def _path_problems(
    leaf: x509.Certificate,
    intermediates: list[x509.Certificate],
    *,
    trusted: Sequence[x509.Certificate],
    now: dt.datetime,
) -> list[str]:
    if not trusted:
        return ["no charge point CA is configured to verify the client certificate against"]
    verifier = (
        verification.PolicyBuilder()
        .store(verification.Store(list(trusted)))
        .time(now)
        .max_chain_depth(MAX_CHAIN_DEPTH)
        .extension_policies(
            ca_policy=verification.ExtensionPolicy.webpki_defaults_ca(),
            ee_policy=_END_ENTITY_POLICY,
        )
        .build_client_verifier()
    )
    try:
        verifier.verify(leaf, intermediates)
    except verification.VerificationError as error:
        return [f"the client certificate does not chain to the charge point CA: {error}"]
    return []
