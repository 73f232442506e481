"""Raising a charge point's security profile without locking it out (whitepaper §1.3, issue 19
§1): the credentials first, then ChangeConfiguration(SecurityProfile).

Before the raise is sent its prerequisites must hold — a password for profiles 1 and 2 (set it,
or rotate it with AuthorizationKey, first), a TLS endpoint and a Central System root on the
charger for 2 and 3, the tenant's Charge Point CA and a certificate of ours the charger accepted
for 3 — whichever entry point sends it
(the upgrade API, the admin, the raw commands API). The raise is then kept pending: the required
profile moves up only when the charger first connects with the new one (a charger that cannot
falls back to its old profile), so the old profile keeps working until then.
"""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from chargepoints.commands.errors import CommandRejectedError
from chargepoints.models import (
    AuthorityRole,
    AuthorizationKeyRotation,
    CertificateAuthority,
    ChargePoint,
    ChargePointCertificate,
    Command,
    CommandStatus,
    InstalledCertificate,
    RotationStatus,
)
from chargepoints.security.security_log import CentralSystemEvent, security_event_log

SECURITY_PROFILE_KEY = "SecurityProfile"
CENTRAL_SYSTEM_ROOT = "CentralSystemRootCertificate"
NOT_TAKEN_ANSWERS = frozenset({"Rejected", "NotSupported"})


class SecurityProfileError(CommandRejectedError):
    code = "invalid_security_profile"


def tls_is_served() -> bool:
    """Our TLS endpoint, or a TLS-terminating proxy we trust (deploy/nginx.conf)."""
    return bool(settings.TLS_CERT_FILE or settings.TRUSTED_PROXIES)


def security_profile_raise_problem(*, charge_point: ChargePoint, profile: int) -> str | None:
    """Why ``charge_point`` cannot be asked to use ``profile`` now, or None."""
    if not 0 <= profile <= 3:
        return "SecurityProfile is 0, 1, 2 or 3."
    current = max(charge_point.security_profile, charge_point.tenant.minimum_security_profile)
    if profile <= current:
        # Whitepaper §1.3: profiles are only ever raised, never lowered remotely.
        return f"The charge point is at security profile {current}; a profile only goes up."
    has_password = (
        bool(charge_point.password_hash)
        or AuthorizationKeyRotation.objects.filter(
            charge_point=charge_point, status=RotationStatus.PENDING
        ).exists()
    )
    if profile in (1, 2) and not has_password:
        return (
            f"Security profile {profile} uses Basic auth: set the charge point's password "
            "(AuthorizationKey) first."
        )
    if profile >= 2 and not tls_is_served():
        return (
            f"Security profile {profile} needs TLS: configure TLS_CERT_FILE (or a trusted "
            "TLS proxy, TRUSTED_PROXIES) first."
        )
    if profile >= 2 and not holds_central_system_root(charge_point_id=charge_point.pk):
        # Whitepaper §1.3: the charger must be able to verify our server certificate before
        # it is told to use TLS, or it could never connect again.
        return (
            f"Security profile {profile} needs a Central System root on the charge point: "
            "install it first (InstallCertificate CentralSystemRootCertificate, answered "
            "Accepted, or reported by GetInstalledCertificateIds)."
        )
    if profile == 3:
        if not CertificateAuthority.objects.filter(
            tenant_id=charge_point.tenant_id, role=AuthorityRole.CHARGE_POINT_CA, active=True
        ).exists():
            return "Security profile 3 needs the tenant's Charge Point CA: create or upload it."
        if not ChargePointCertificate.objects.filter(
            charge_point=charge_point, answer="Accepted", not_after__gt=timezone.now()
        ).exists():
            return (
                "Security profile 3 needs a client certificate on the charge point: have it "
                "sign one first (ExtendedTriggerMessage SignChargePointCertificate)."
            )
    return None


def holds_central_system_root(*, charge_point_id: int) -> bool:
    """An InstallCertificate of a Central System root it accepted, or one it reported."""
    return (
        InstalledCertificate.objects.filter(
            charge_point_id=charge_point_id, certificate_type=CENTRAL_SYSTEM_ROOT
        ).exists()
        or Command.objects.filter(
            charge_point_id=charge_point_id,
            action="InstallCertificate",
            status=CommandStatus.COMPLETED,
            payload__certificateType=CENTRAL_SYSTEM_ROOT,
            response__status="Accepted",
        ).exists()
    )


def security_profile_raise_check(*, charge_point: ChargePoint, profile: int) -> None:
    problem = security_profile_raise_problem(charge_point=charge_point, profile=profile)
    if problem:
        raise SecurityProfileError(problem)


def security_profile_requested(*, charge_point_id: int, profile: int) -> None:
    """The raise is queued: pending until the charger connects with it."""
    ChargePoint.objects.filter(pk=charge_point_id).update(security_profile_pending=profile)


def security_profile_answered(*, charge_point_id: int, profile: int, status: str) -> None:
    """A refusal drops the pending raise; Accepted or RebootRequired wait for the reconnect."""
    if status in NOT_TAKEN_ANSWERS:
        ChargePoint.objects.filter(pk=charge_point_id, security_profile_pending=profile).update(
            security_profile_pending=None
        )


def security_profile_reached(
    *, tenant_id: int, charge_point_id: int, identity: str, profile: int
) -> None:
    """The charger connected with its pending profile: from now on lower ones are refused."""
    with transaction.atomic():
        raised = ChargePoint.objects.filter(
            pk=charge_point_id, security_profile_pending=profile
        ).update(security_profile=profile, security_profile_pending=None)
        if raised:
            security_event_log(
                tenant_id=tenant_id,
                charge_point_id=charge_point_id,
                identity=identity,
                type=CentralSystemEvent.PROFILE_RAISED,
                tech_info=f"connected with security profile {profile}: lower ones are refused now",
            )
