"""OCPP actions answered by the chargepoints app (handlers: unpack, call a service, answer)."""

from typing import Any

from django.utils import timezone

from chargepoints.authorization.id_tags import id_tag_authorize
from chargepoints.security.certificates import sign_certificate_receive
from chargepoints.services.charge_points import charge_point_boot
from chargepoints.services.connectors import connector_status_record
from chargepoints.services.data_transfer import data_transfer_receive
from chargepoints.services.reports import security_event_record
from csms.ocpp.context import CallContext
from csms.ocpp.router import ocpp_action


def now_iso() -> str:
    return timezone.now().isoformat().replace("+00:00", "Z")


@ocpp_action("BootNotification")
def boot_notification(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    outcome = charge_point_boot(
        tenant_id=ctx.tenant_id,
        charge_point_id=ctx.charge_point_id,
        identity=ctx.session.identity,
        boot=payload,
        booted_at=ctx.received_at,
    )
    # The connection serves what the boot decided (OCPP 1.6 §4.2: Pending/Rejected wait).
    ctx.session.registration_status = outcome.registration_status
    ctx.session.heartbeat_interval = outcome.heartbeat_interval
    return {
        "status": outcome.registration_status,
        "current_time": now_iso(),
        "interval": outcome.interval,
    }


@ocpp_action("Heartbeat")
def heartbeat(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    return {"current_time": now_iso()}


@ocpp_action("StatusNotification")
def status_notification(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    connector_status_record(
        tenant_id=ctx.tenant_id,
        charge_point_id=ctx.charge_point_id,
        identity=ctx.session.identity,
        report=payload,
    )
    return {}


@ocpp_action("Authorize")
def authorize(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    verdict = id_tag_authorize(
        tenant_id=ctx.tenant_id,
        charge_point_id=ctx.charge_point_id,
        identity=ctx.session.identity,
        id_tag=payload["id_tag"],
    )
    return {"id_tag_info": verdict.as_id_tag_info()}


@ocpp_action("DataTransfer")
def data_transfer(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    answer = data_transfer_receive(
        tenant_id=ctx.tenant_id,
        charge_point_id=ctx.charge_point_id,
        identity=ctx.session.identity,
        vendor_id=payload["vendor_id"],
        message_id=payload.get("message_id"),
        data=payload.get("data"),
    )
    return {"status": answer.status, "data": answer.data}


@ocpp_action("SecurityEventNotification")
def security_event_notification(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    security_event_record(
        tenant_id=ctx.tenant_id,
        charge_point_id=ctx.charge_point_id,
        identity=ctx.session.identity,
        event=payload,
    )
    return {}


@ocpp_action("SignCertificate")
def sign_certificate(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    # Whitepaper A02: checked and signed now; CertificateSigned.req follows through the outbox.
    verdict = sign_certificate_receive(
        charge_point_id=ctx.charge_point_id, identity=ctx.session.identity, csr_pem=payload["csr"]
    )
    return {"status": verdict.status}
