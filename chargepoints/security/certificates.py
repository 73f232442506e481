"""Charge point certificates (whitepaper §3-4; issue 19 §2).

* SignCertificate.req — the CSR is checked (key type and size, hash, subject: CN = identity,
  O = the tenant's organisation) and signed by the tenant's Charge Point CA, or handed to an
  external CA (``CERTIFICATE_SIGNER``); the certificate goes back in CertificateSigned.req
  through the outbox, and is recorded with its expiry. A CSR that fails is answered Rejected
  and logged.
* InstallCertificate / DeleteCertificate / GetInstalledCertificateIds — queued like any command;
  DeleteCertificate's hash data is computed here from the stored certificate (§6.1), and the
  GetInstalledCertificateIds answer is mirrored per charge point (``InstalledCertificate``).
* Renewal — a certificate of ours close to its expiry makes the charger sign a new one
  (ExtendedTriggerMessage SignChargePointCertificate), once, with a security event.
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from cryptography import x509
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from chargepoints.commands.dispatch import command_dispatch
from chargepoints.commands.errors import CommandRejectedError
from chargepoints.models import (
    AuthorityRole,
    CertificateAuthority,
    CertificateSigningRequest,
    CertificateSigningRequestStatus,
    ChargePoint,
    ChargePointCertificate,
    Command,
    InstalledCertificate,
)
from chargepoints.security.authorities import authority_loaded, authority_of
from chargepoints.security.security_log import CentralSystemEvent, security_event_log
from csms.pki.errors import PkiError
from csms.pki.hash_data import certificate_hash_data
from csms.pki.signing_requests import IssuedCertificate, csr_sign, csr_validate

SIGN_TRIGGER = {"requestedMessage": "SignChargePointCertificate"}
CERTIFICATE_TYPES = ("CentralSystemRootCertificate", "ManufacturerRootCertificate")


class CertificateError(CommandRejectedError):
    code = "invalid_certificate"


class CertificateSigner(Protocol):
    """Signs a checked CSR for a charge point: the certificate, or None when an external CA
    takes it from here (and delivers CertificateSigned itself, e.g. through the commands API)."""

    def __call__(
        self, *, csr: x509.CertificateSigningRequest, charge_point: ChargePoint
    ) -> tuple[IssuedCertificate, CertificateAuthority] | None: ...


def tenant_ca_signer(
    *, csr: x509.CertificateSigningRequest, charge_point: ChargePoint
) -> tuple[IssuedCertificate, CertificateAuthority] | None:
    """The default signer: the tenant's Charge Point CA, when we hold its key."""
    row = authority_of(tenant_id=charge_point.tenant_id, role=AuthorityRole.CHARGE_POINT_CA)
    if row is None or not row.has_private_key:
        raise PkiError(["the tenant has no Charge Point CA whose key is held here"])
    issued = csr_sign(csr=csr, authority=authority_loaded(row), now=timezone.now())
    return issued, row


@dataclass(frozen=True)
class SignVerdict:
    status: str  # SignCertificate.conf status: Accepted / Rejected


def sign_certificate_receive(*, charge_point_id: int, identity: str, csr_pem: str) -> SignVerdict:
    """A SignCertificate.req: checked, signed, CertificateSigned queued (the CALL's transaction,
    so the outbox row exists before the answer leaves)."""
    charge_point = ChargePoint.objects.select_related("tenant").get(pk=charge_point_id)
    request = CertificateSigningRequest.objects.create(charge_point=charge_point, csr=csr_pem)
    signer: CertificateSigner = import_string(settings.CERTIFICATE_SIGNER)
    try:
        csr = csr_validate(
            csr_pem=csr_pem, identity=identity, organisation=charge_point.tenant.name
        )
        signed = signer(csr=csr, charge_point=charge_point)
    except PkiError as error:
        problems = "; ".join(error.problems)
        CertificateSigningRequest.objects.filter(pk=request.pk).update(
            status=CertificateSigningRequestStatus.REFUSED, problems=problems
        )
        security_event_log(
            tenant_id=charge_point.tenant_id,
            charge_point_id=charge_point.pk,
            identity=identity,
            type=CentralSystemEvent.CERTIFICATE_REQUEST_REFUSED,
            tech_info=problems,
        )
        return SignVerdict("Rejected")
    if signed is None:
        CertificateSigningRequest.objects.filter(pk=request.pk).update(
            status=CertificateSigningRequestStatus.EXTERNAL
        )
        return SignVerdict("Accepted")
    issued, authority = signed
    command = command_dispatch(
        charge_point=charge_point,
        action="CertificateSigned",
        payload={"certificateChain": issued.chain_pem},
        requested_by_job="certificate signing",
    )
    ChargePointCertificate.objects.create(
        charge_point=charge_point,
        authority=authority,
        certificate_pem=issued.certificate_pem,
        serial_number=issued.serial_number,
        not_before=issued.certificate.not_valid_before_utc,
        not_after=issued.not_after,
        command=command,
    )
    CertificateSigningRequest.objects.filter(pk=request.pk).update(
        status=CertificateSigningRequestStatus.SIGNED
    )
    security_event_log(
        tenant_id=charge_point.tenant_id,
        charge_point_id=charge_point.pk,
        identity=identity,
        type=CentralSystemEvent.CERTIFICATE_SIGNED,
        tech_info=f"serial {issued.serial_number}, valid until {issued.not_after:%Y-%m-%d}",
    )
    return SignVerdict("Accepted")


def certificate_signed_answered(*, command_id: int, status: str) -> None:
    """The charger's answer to CertificateSigned.req: Accepted means it installed it."""
    ChargePointCertificate.objects.filter(command_id=command_id).update(answer=status[:16])


def certificate_install(
    *,
    charge_point: ChargePoint,
    certificate_type: str,
    certificate_pem: str | None = None,
    **by: Any,
) -> Command:
    """InstallCertificate of ``certificate_pem``, by default the tenant's Central System root
    (what a charger must trust before profile 2 or 3, whitepaper §1.3)."""
    if certificate_type not in CERTIFICATE_TYPES:
        raise CertificateError(f"certificate_type is one of {', '.join(CERTIFICATE_TYPES)}.")
    if certificate_pem is None:
        root = authority_of(
            tenant_id=charge_point.tenant_id, role=AuthorityRole.CENTRAL_SYSTEM_ROOT
        )
        if root is None:
            raise CertificateError("The tenant has no Central System root: create one first.")
        certificate_pem = _first_pem(root.certificate_pem)
    _certificate(certificate_pem)  # a readable certificate, or 400
    return command_dispatch(
        charge_point=charge_point,
        action="InstallCertificate",
        payload={"certificateType": certificate_type, "certificate": certificate_pem},
        **by,
    )


def certificate_delete(*, charge_point: ChargePoint, certificate_pem: str, **by: Any) -> Command:
    """DeleteCertificate of a (self-signed root) certificate: its hash data computed here."""
    certificate = _certificate(certificate_pem)
    try:
        hash_data = certificate_hash_data(certificate=certificate)
    except PkiError as error:
        raise CertificateError("; ".join(error.problems)) from None
    return command_dispatch(
        charge_point=charge_point,
        action="DeleteCertificate",
        payload={"certificateHashData": hash_data.to_payload()},
        **by,
    )


def installed_certificates_read(*, charge_point: ChargePoint, **by: Any) -> list[Command]:
    """GetInstalledCertificateIds for both types; the answers fill the mirror."""
    return [
        command_dispatch(
            charge_point=charge_point,
            action="GetInstalledCertificateIds",
            payload={"certificateType": certificate_type},
            **by,
        )
        for certificate_type in CERTIFICATE_TYPES
    ]


def installed_certificates_mirror(
    *, charge_point_id: int, certificate_type: str, response: dict[str, Any] | None
) -> None:
    """A GetInstalledCertificateIds answer replaces the mirror of that type."""
    now = timezone.now()
    entries = (response or {}).get("certificateHashData") or []
    with transaction.atomic():
        InstalledCertificate.objects.filter(
            charge_point_id=charge_point_id, certificate_type=certificate_type
        ).delete()
        InstalledCertificate.objects.bulk_create(
            InstalledCertificate(
                charge_point_id=charge_point_id,
                certificate_type=certificate_type,
                hash_algorithm=entry.get("hashAlgorithm", ""),
                issuer_name_hash=entry.get("issuerNameHash", ""),
                issuer_key_hash=entry.get("issuerKeyHash", ""),
                serial_number=entry.get("serialNumber", ""),
                reported_at=now,
            )
            for entry in entries
            if isinstance(entry, dict)
        )


def certificate_command_logged(
    *, tenant_id: int, charge_point_id: int, identity: str, action: str, status: str
) -> None:
    """An accepted InstallCertificate or DeleteCertificate belongs in the security log."""
    if status != "Accepted":
        return
    event_type = (
        CentralSystemEvent.CERTIFICATE_INSTALLED
        if action == "InstallCertificate"
        else CentralSystemEvent.CERTIFICATE_DELETED
    )
    security_event_log(
        tenant_id=tenant_id,
        charge_point_id=charge_point_id,
        identity=identity,
        type=event_type,
        tech_info=f"{action} answered Accepted",
    )


def sign_certificate_trigger(*, charge_point: ChargePoint, **by: Any) -> Command:
    """ExtendedTriggerMessage SignChargePointCertificate: the charger makes a key and a CSR."""
    return command_dispatch(
        charge_point=charge_point, action="ExtendedTriggerMessage", payload=SIGN_TRIGGER, **by
    )


def certificates_renew_due() -> int:
    """Accepted certificates of ours expiring within CERTIFICATE_RENEWAL_DAYS, not renewed
    yet: each charger is asked for a new CSR, once, and the security log says so."""
    now = timezone.now()
    due = ChargePointCertificate.objects.filter(
        answer="Accepted",
        renewal_requested_at__isnull=True,
        not_after__lte=now + timedelta(days=settings.CERTIFICATE_RENEWAL_DAYS),
        not_after__gt=now,
    ).select_related("charge_point")
    renewed = 0
    for certificate in due[:500]:
        newer = ChargePointCertificate.objects.filter(
            charge_point_id=certificate.charge_point_id, created_at__gt=certificate.created_at
        ).exists()
        with transaction.atomic():
            claimed = ChargePointCertificate.objects.filter(
                pk=certificate.pk, renewal_requested_at__isnull=True
            ).update(renewal_requested_at=now)
            if not claimed or newer:
                continue
            sign_certificate_trigger(
                charge_point=certificate.charge_point, requested_by_job="certificate renewal"
            )
            security_event_log(
                tenant_id=certificate.charge_point.tenant_id,
                charge_point_id=certificate.charge_point_id,
                identity=certificate.charge_point.identity,
                type=CentralSystemEvent.CERTIFICATE_EXPIRING,
                tech_info=(
                    f"serial {certificate.serial_number} expires "
                    f"{certificate.not_after:%Y-%m-%d}: a new CSR was requested"
                ),
            )
            renewed += 1
    return renewed


def _first_pem(bundle: str) -> str:
    end = "-----END CERTIFICATE-----"
    return bundle[: bundle.index(end) + len(end)] + "\n"


def _certificate(pem: str) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(pem.encode())
    except ValueError:
        raise CertificateError("certificate is not a PEM-encoded X.509 certificate") from None
