"""The security log (issue 19 §4): one row per security-relevant event, and its webhook event.

Chargers report theirs with SecurityEventNotification (``chargepoints.services.reports``); the
Central System writes its own here: refused handshakes with the reason, profile violations,
brute-force lockouts, rotated passwords, raised profiles, certificates issued, installed,
deleted or expiring. Each of ours is published as ``SecurityEventRecorded`` in the same
transaction (webhooks: ``security_event.recorded``). ``tech_info`` never holds a secret.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from chargepoints.models import SecurityEvent
from csms.events import SecurityEventRecorded, publish

# The whitepaper's list of security events (edition 3): the types it marks critical (a charger
# pushes those to the Central System at once).
CRITICAL_EVENT_TYPES = frozenset(
    {
        "FirmwareUpdated",
        "SettingSystemTime",
        "StartupOfTheDevice",
        "ResetOrReboot",
        "SecurityLogWasCleared",
        "MemoryExhaustion",
        "TamperDetectionActivated",
    }
)


class CentralSystemEvent:
    """The types of the rows the Central System writes itself."""

    # A handshake refused: wrong or missing Basic-auth credentials.
    INVALID_CREDENTIALS = "InvalidChargePointCredentials"
    # A handshake below the charge point's required profile (plain ws:// for profile 2/3, no
    # client certificate for profile 3).
    PROFILE_VIOLATION = "SecurityProfileViolation"
    # The client certificate did not verify (wrong CA, expired, subject not the identity).
    INVALID_CERTIFICATE = "InvalidChargePointCertificate"
    UNKNOWN_CHARGE_POINT = "UnknownChargePoint"
    BRUTE_FORCE_LOCKOUT = "BasicAuthLockout"
    PASSWORD_ROTATED = "AuthorizationKeyRotated"  # noqa: S105 - an event type, no secret
    PROFILE_RAISED = "SecurityProfileRaised"
    CERTIFICATE_SIGNED = "ChargePointCertificateSigned"
    CERTIFICATE_REQUEST_REFUSED = "CertificateSigningRequestRefused"
    CERTIFICATE_INSTALLED = "CertificateInstalled"
    CERTIFICATE_DELETED = "CertificateDeleted"
    CERTIFICATE_EXPIRING = "ChargePointCertificateExpiring"


# A lockout means somebody is guessing passwords: as urgent as the whitepaper's critical ones.
CRITICAL_CENTRAL_SYSTEM_TYPES = frozenset({CentralSystemEvent.BRUTE_FORCE_LOCKOUT})
TECH_INFO_MAX_LENGTH = 255


def security_event_is_critical(event_type: str) -> bool:
    return event_type in CRITICAL_EVENT_TYPES or event_type in CRITICAL_CENTRAL_SYSTEM_TYPES


def security_event_log(
    *,
    tenant_id: int,
    charge_point_id: int | None,
    identity: str,
    type: str,
    tech_info: str = "",
    source_address: str = "",
    at: datetime | None = None,
) -> SecurityEvent:
    """Write one of the Central System's own rows and publish it (the caller's transaction)."""
    at = at or timezone.now()
    tech_info = tech_info[:TECH_INFO_MAX_LENGTH]
    critical = security_event_is_critical(type)
    row = SecurityEvent.objects.create(
        tenant_id=tenant_id,
        charge_point_id=charge_point_id,
        identity=identity,
        type=type,
        tech_info=tech_info,
        timestamp=at,
        reported_by_charge_point=False,
        critical=critical,
        source_address=source_address[:64],
    )
    publish(
        SecurityEventRecorded(
            tenant_id=tenant_id,
            charge_point_id=charge_point_id,
            identity=identity,
            type=type,
            critical=critical,
            tech_info=tech_info,
            source_address=source_address,
            timestamp=at,
        )
    )
    return row


def security_events_purge(*, now: datetime | None = None) -> int:
    """Rows older than SECURITY_LOG_RETENTION_DAYS go, like the message log's (beat, nightly)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.SECURITY_LOG_RETENTION_DAYS)
    deleted, _ = SecurityEvent.objects.filter(timestamp__lt=cutoff).delete()
    return deleted
