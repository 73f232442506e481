"""A tenant's certificate authorities (whitepaper §2.6.2; issue 19 §2): the Central System root
and the Charge Point CA, generated here or uploaded, their private keys encrypted at rest
(``csms.pki.key_storage``). The maths is ``csms.pki``; this module stores and finds them."""

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from django.db import IntegrityError, transaction
from django.utils import timezone

from chargepoints.models import AuthorityRole, CertificateAuthority
from csms.errors import ConflictError, DomainError
from csms.pki import authorities as pki
from csms.pki.errors import PkiError
from csms.pki.hash_data import serial_number_hex
from csms.pki.key_storage import pki_encryption_secrets, private_key_decrypt, private_key_encrypt
from csms.tenancy.models import Tenant


class CertificateAuthorityError(DomainError):
    code = "invalid_certificate_authority"


def charge_point_ca_certificates(*, tenant_id: int) -> list[x509.Certificate]:
    """The certificates a charge point's client certificate may chain to: the tenant's active
    Charge Point CAs (each trusted as it is, sub-CA or root)."""
    pems = CertificateAuthority.objects.filter(
        tenant_id=tenant_id, role=AuthorityRole.CHARGE_POINT_CA, active=True
    ).values_list("certificate_pem", flat=True)
    return [x509.load_pem_x509_certificates(pem.encode())[0] for pem in pems]


def authority_of(*, tenant_id: int, role: str) -> CertificateAuthority | None:
    """The tenant's newest active CA of ``role``."""
    return (
        CertificateAuthority.objects.filter(tenant_id=tenant_id, role=role, active=True)
        .order_by("-created_at", "-id")
        .first()
    )


def authority_loaded(row: CertificateAuthority) -> pki.CertificateAuthority:
    """The stored CA with its private key decrypted (only where a signature needs it)."""
    certificate, *chain = x509.load_pem_x509_certificates(row.certificate_pem.encode())
    key = (
        private_key_decrypt(token=row.private_key_encrypted, secrets=pki_encryption_secrets())
        if row.private_key_encrypted
        else None
    )
    return pki.CertificateAuthority(certificate, key, tuple(chain))


def certificate_authority_store(
    *, tenant: Tenant, role: str, authority: pki.CertificateAuthority
) -> CertificateAuthority:
    certificate = authority.certificate
    chain_pem = "".join(
        c.public_bytes(Encoding.PEM).decode() for c in (certificate, *authority.chain)
    )
    token = ""
    if authority.private_key is not None:
        token = private_key_encrypt(
            private_key=authority.private_key, secret=pki_encryption_secrets()[0]
        )
    try:
        with transaction.atomic():
            return CertificateAuthority.objects.create(
                tenant=tenant,
                role=role,
                certificate_pem=chain_pem,
                private_key_encrypted=token,
                subject=certificate.subject.rfc4514_string()[:500],
                serial_number=serial_number_hex(certificate.serial_number),
                fingerprint_sha256=certificate.fingerprint(hashes.SHA256()).hex(),
                not_before=certificate.not_valid_before_utc,
                not_after=certificate.not_valid_after_utc,
            )
    except IntegrityError:
        raise ConflictError(
            "This certificate authority is already stored for the tenant."
        ) from None


def certificate_authorities_generate(
    *, tenant: Tenant, now: dt.datetime | None = None
) -> tuple[CertificateAuthority, CertificateAuthority]:
    """A new Central System root and a Charge Point CA below it, for the tenant's organisation
    (its name: the CpoName its chargers carry in O, A00.FR.509)."""
    now = now or timezone.now()
    root = pki.authority_generate(
        role=pki.AuthorityRole.CENTRAL_SYSTEM_ROOT, organisation=tenant.name, now=now
    )
    charge_point_ca = pki.authority_generate(
        role=pki.AuthorityRole.CHARGE_POINT_CA, organisation=tenant.name, now=now, issuer=root
    )
    with transaction.atomic():
        return (
            certificate_authority_store(
                tenant=tenant, role=AuthorityRole.CENTRAL_SYSTEM_ROOT, authority=root
            ),
            certificate_authority_store(
                tenant=tenant, role=AuthorityRole.CHARGE_POINT_CA, authority=charge_point_ca
            ),
        )


def certificate_authority_upload(
    *,
    tenant: Tenant,
    role: str,
    certificate_pem: str,
    private_key_pem: str | None = None,
    now: dt.datetime | None = None,
) -> CertificateAuthority:
    """An operator's own CA (its chain after it); the key optional (without it we verify but
    cannot sign). Every problem found is one 400."""
    try:
        authority = pki.authority_load(
            certificate_pem=certificate_pem,
            private_key_pem=private_key_pem or None,
            now=now or timezone.now(),
        )
    except PkiError as error:
        raise CertificateAuthorityError("; ".join(error.problems)) from None
    return certificate_authority_store(tenant=tenant, role=role, authority=authority)
