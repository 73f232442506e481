"""OCPP status notifications answered by the firmware app (its part of BootNotification: the
``ChargePointBooted`` receiver, firmware.receivers)."""

from typing import Any

from csms.ocpp.context import CallContext
from csms.ocpp.router import ocpp_action
from firmware.models import StatusReport, StatusReportKind
from firmware.services.diagnostics import diagnostics_status_record, log_status_record
from firmware.services.firmware_jobs import firmware_status_record, signed_firmware_status_record


def _report(ctx: CallContext, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    StatusReport.objects.create(
        charge_point_id=ctx.charge_point_id,
        kind=kind,
        status=payload["status"],
        request_id=payload.get("request_id"),
    )
    return {}


@ocpp_action("FirmwareStatusNotification")
def firmware_status_notification(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    firmware_status_record(
        charge_point_id=ctx.charge_point_id, status=payload["status"], now=ctx.received_at
    )
    return _report(ctx, StatusReportKind.FIRMWARE, payload)


@ocpp_action("DiagnosticsStatusNotification")
def diagnostics_status_notification(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    diagnostics_status_record(
        charge_point_id=ctx.charge_point_id, status=payload["status"], now=ctx.received_at
    )
    return _report(ctx, StatusReportKind.DIAGNOSTICS, payload)


@ocpp_action("SignedFirmwareStatusNotification")
def signed_firmware_status_notification(
    ctx: CallContext, payload: dict[str, Any]
) -> dict[str, Any]:
    signed_firmware_status_record(
        charge_point_id=ctx.charge_point_id,
        status=payload["status"],
        request_id=payload.get("request_id"),
        now=ctx.received_at,
    )
    return _report(ctx, StatusReportKind.SIGNED_FIRMWARE, payload)


@ocpp_action("LogStatusNotification")
def log_status_notification(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    log_status_record(
        charge_point_id=ctx.charge_point_id,
        status=payload["status"],
        request_id=payload.get("request_id"),
        now=ctx.received_at,
    )
    return _report(ctx, StatusReportKind.LOG, payload)
