"""OCPP actions answered by the transactions app."""

from typing import Any

from csms.ocpp.context import CallContext
from csms.ocpp.router import ocpp_action
from csms.webhooks.emitters import meter_values_emit
from transactions import services


@ocpp_action("StartTransaction")
def start_transaction(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    # Always a transactionId, even for an invalid idTag (SPEC §4).
    outcome = services.transaction_start(
        ctx=ctx,
        connector_id=payload["connector_id"],
        id_tag=payload["id_tag"],
        meter_start=payload["meter_start"],
        timestamp=payload["timestamp"],
        reservation_id=payload.get("reservation_id"),
    )
    return {
        "transaction_id": outcome.transaction.pk,
        "id_tag_info": outcome.verdict.as_id_tag_info(),
    }


@ocpp_action("StopTransaction")
def stop_transaction(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    verdict = services.transaction_stop(ctx=ctx, payload=payload)
    return {"id_tag_info": verdict.as_id_tag_info()} if verdict else {}


@ocpp_action("MeterValues")
def meter_values(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    services.meter_values_record(ctx=ctx, payload=payload)
    meter_values_emit(ctx=ctx, payload=payload)
    return {}
