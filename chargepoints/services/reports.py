"""Records of what charge points report beyond their status: DataTransfer messages, security
events, certificate signing requests."""

from typing import Any

from chargepoints.models import CertificateSigningRequest, DataTransferMessage, SecurityEvent
from csms.ocpp.context import CallContext
from csms.timestamps import parse_timestamp
from csms.webhooks.emitters import security_event_received_emit


def data_transfer_record(
    *,
    charge_point_id: int,
    vendor_id: str,
    message_id: str | None,
    data: str | None,
    answer_status: str,
    answer_data: str | None,
) -> None:
    DataTransferMessage.objects.create(
        charge_point_id=charge_point_id,
        vendor_id=vendor_id,
        message_id=message_id or "",
        data=data or "",
        answer_status=answer_status,
        answer_data=answer_data or "",
    )


def security_event_record(*, ctx: CallContext, event: dict[str, Any]) -> None:
    # Retried with new message ids like transaction messages: the same event is stored once.
    _stored, created = SecurityEvent.objects.get_or_create(
        charge_point_id=ctx.charge_point_id,
        type=event["type"],
        timestamp=parse_timestamp(event["timestamp"]),
        tech_info=event.get("tech_info") or "",
        reported_by_charge_point=True,
        defaults={"tenant_id": ctx.tenant_id, "identity": ctx.session.identity},
    )
    if created:
        security_event_received_emit(ctx=ctx, event=event)


def certificate_request_record(*, charge_point_id: int, csr: str) -> None:
    CertificateSigningRequest.objects.create(charge_point_id=charge_point_id, csr=csr)
