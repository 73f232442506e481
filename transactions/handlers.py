"""OCPP actions answered by the transactions app."""

from typing import Any

from csms.ocpp.compat import session_flags
from csms.ocpp.context import CallContext
from csms.ocpp.router import ocpp_action
from transactions import services


@ocpp_action("StartTransaction")
def start_transaction(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    # Always a transactionId, even for an invalid idTag (SPEC §4).
    outcome = services.transaction_start(
        tenant_id=ctx.tenant_id,
        charge_point_id=ctx.charge_point_id,
        identity=ctx.session.identity,
        connector_id=payload["connector_id"],
        id_tag=payload["id_tag"],
        meter_start=payload["meter_start"],
        timestamp=payload["timestamp"],
        reservation_id=payload.get("reservation_id"),
        compat_flags=session_flags(ctx.quirks),
    )
    return {
        "transaction_id": outcome.transaction.pk,
        "id_tag_info": outcome.verdict.as_id_tag_info(),
    }


@ocpp_action("StopTransaction")
def stop_transaction(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    verdict = services.transaction_stop(
        tenant_id=ctx.tenant_id,
        charge_point_id=ctx.charge_point_id,
        identity=ctx.session.identity,
        payload=payload,
        compat_flags=session_flags(ctx.quirks),
    )
    return {"id_tag_info": verdict.as_id_tag_info()} if verdict else {}


@ocpp_action("MeterValues")
def meter_values(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    services.meter_values_record(
        tenant_id=ctx.tenant_id,
        charge_point_id=ctx.charge_point_id,
        identity=ctx.session.identity,
        payload=payload,
    )
    return {}
