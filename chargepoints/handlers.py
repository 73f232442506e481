"""OCPP actions answered by the chargepoints app (handlers: unpack, call a service, answer)."""

from typing import Any

from django.utils import timezone

from chargepoints.authorization.verdicts import id_tag_verdict
from chargepoints.services.charge_points import charge_point_boot
from chargepoints.services.connectors import connector_status_record
from chargepoints.services.data_transfer import data_transfer_answer
from chargepoints.services.reports import (
    certificate_request_record,
    data_transfer_record,
    security_event_record,
)
from csms.ocpp.context import CallContext
from csms.ocpp.router import ocpp_action
from csms.webhooks.emitters import authorization_denied_emit, data_transfer_received_emit


def now_iso() -> str:
    return timezone.now().isoformat().replace("+00:00", "Z")


@ocpp_action("BootNotification")
def boot_notification(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    status, interval = charge_point_boot(ctx=ctx, boot=payload)
    return {"status": status, "current_time": now_iso(), "interval": interval}


@ocpp_action("Heartbeat")
def heartbeat(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    return {"current_time": now_iso()}


@ocpp_action("StatusNotification")
def status_notification(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    connector_status_record(charge_point_id=ctx.charge_point_id, report=payload, ctx=ctx)
    return {}


@ocpp_action("Authorize")
def authorize(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    verdict = id_tag_verdict(
        tenant_id=ctx.tenant_id, id_tag=payload["id_tag"], charge_point_id=ctx.charge_point_id
    )
    if not verdict.accepted:
        authorization_denied_emit(
            ctx=ctx, id_tag=payload["id_tag"], status=verdict.status, action="Authorize"
        )
    return {"id_tag_info": verdict.as_id_tag_info()}


@ocpp_action("DataTransfer")
def data_transfer(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    vendor_id, message_id, data = (
        payload["vendor_id"],
        payload.get("message_id"),
        payload.get("data"),
    )
    answer = data_transfer_answer(ctx, vendor_id=vendor_id, message_id=message_id, data=data)
    data_transfer_record(
        charge_point_id=ctx.charge_point_id,
        vendor_id=vendor_id,
        message_id=message_id,
        data=data,
        answer_status=answer.status,
        answer_data=answer.data,
    )
    data_transfer_received_emit(
        ctx=ctx, vendor_id=vendor_id, message_id=message_id, data=data, answer_status=answer.status
    )
    return {"status": answer.status, "data": answer.data}


@ocpp_action("SecurityEventNotification")
def security_event_notification(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    security_event_record(ctx=ctx, event=payload)
    return {}


@ocpp_action("SignCertificate")
def sign_certificate(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    certificate_request_record(charge_point_id=ctx.charge_point_id, csr=payload["csr"])
    return {"status": "Accepted"}
