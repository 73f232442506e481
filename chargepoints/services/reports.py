"""Records of what charge points report beyond their status: security events, certificate
signing requests (DataTransfer messages: ``data_transfer``)."""

from typing import Any

from chargepoints.models import CertificateSigningRequest, SecurityEvent
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
        defaults={"tenant_id": tenant_id, "identity": identity},
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


def certificate_request_record(*, charge_point_id: int, csr: str) -> None:
    CertificateSigningRequest.objects.create(charge_point_id=charge_point_id, csr=csr)
