"""The transactions services called as the OCPP handlers call them, one database transaction per
message (as the pipeline runs a handler), with plain values and no socket.

The helpers take what the charge point sends (the payload's fields, already snake_case as the
protocol layer hands them over); only they know the services' signatures.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction as db_transaction

from chargepoints.authorization.verdicts import IdTagVerdict
from chargepoints.models import ChargePoint
from transactions.models import MeterValue, Transaction
from transactions.services import (
    StartOutcome,
    meter_values_record,
    transaction_start,
    transaction_stop,
)

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def sent_by(station: ChargePoint) -> dict[str, Any]:
    """Who sent the message, as the handlers pass it on."""
    return {
        "tenant_id": station.tenant_id,
        "charge_point_id": station.pk,
        "identity": station.identity,
    }


def wire(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def start(
    station: ChargePoint,
    *,
    connector_id: int = 1,
    id_tag: str = "TAG-1",
    meter_start: int = 1000,
    at: datetime = T0,
    reservation_id: int | None = None,
) -> StartOutcome:
    """StartTransaction from ``station``."""
    with db_transaction.atomic():
        return transaction_start(
            **sent_by(station),
            connector_id=connector_id,
            id_tag=id_tag,
            meter_start=meter_start,
            timestamp=wire(at),
            reservation_id=reservation_id,
        )


def stop(
    station: ChargePoint,
    transaction_id: int,
    *,
    meter_stop: int = 3500,
    at: datetime = T0 + timedelta(hours=1),
    **fields: Any,
) -> IdTagVerdict | None:
    """StopTransaction from ``station``; ``fields``: id_tag, reason, transaction_data."""
    payload = {
        "transaction_id": transaction_id,
        "meter_stop": meter_stop,
        "timestamp": wire(at),
        **fields,
    }
    with db_transaction.atomic():
        return transaction_stop(**sent_by(station), payload=payload)


def sample(value: str, *, at: datetime = T0 + timedelta(minutes=5), **fields: str) -> dict:
    """One meterValue of one sampledValue (``fields``: measurand, unit, context, ...)."""
    return {"timestamp": wire(at), "sampled_value": [{"value": value, **fields}]}


def meter_values(
    station: ChargePoint, *meter_value: dict, connector_id: int = 1, transaction_id: Any = None
) -> None:
    """MeterValues from ``station`` (``transaction_id`` as reported, None when absent)."""
    payload: dict[str, Any] = {"connector_id": connector_id, "meter_value": list(meter_value)}
    if transaction_id is not None:
        payload["transaction_id"] = transaction_id
    with db_transaction.atomic():
        meter_values_record(**sent_by(station), payload=payload)


def stored(station: ChargePoint) -> list[Transaction]:
    return list(Transaction.objects.filter(charge_point=station).order_by("pk"))


def samples(station: ChargePoint) -> list[MeterValue]:
    return list(MeterValue.objects.filter(charge_point=station).order_by("pk"))
