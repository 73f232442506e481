"""Records of what charge points report beyond their status: security events (DataTransfer
messages: ``data_transfer``; certificate signing requests: ``chargepoints.security``)."""

from typing import Any

from chargepoints.models import SecurityEvent
from chargepoints.security.security_log import security_event_is_critical
from csms.events import SecurityEventReceived, publish
from csms.timestamps import parse_required_timestamp


def security_event_record(
    *, tenant_id: int, charge_point_id: int, identity: str, event: dict[str, Any]
) -> None:
    """A SecurityEventNotification.req (``event``, snake_case), published when new."""
    # Retried with new message ids like transaction messages: the same event is stored once.
    tech_info = event.get("tech_info") or ""
    _stored, created = SecurityEvent.objects.get_or_create(
        charge_point_id=charge_point_id,
        type=event["type"],
        timestamp=parse_required_timestamp(event["timestamp"]),
        tech_info=tech_info,
        reported_by_charge_point=True,
        defaults={
            "tenant_id": tenant_id,
            "identity": identity,
            "critical": security_event_is_critical(event["type"]),
        },
    )
    if created:
        publish(
            SecurityEventReceived(
                tenant_id=tenant_id,
                charge_point_id=charge_point_id,
                identity=identity,
                type=event["type"],
                timestamp=event["timestamp"],
                tech_info=tech_info,
            )
        )
