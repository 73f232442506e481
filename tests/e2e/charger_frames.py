"""What the compatibility tests send and read back: raw transaction frames as chargers send
them, on a fresh connection, and the rows and quirk counters they leave."""

from datetime import UTC, datetime
from typing import Any

from chargepoints.models import ChargePoint, CompatAbsorption
from tests.async_orm import orm
from tests.ocpp_clients import open_socket, raw_call
from transactions.models import MeterValue

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
STAMP = "2024-05-01T10:00:00Z"


async def quirks_of(charge_point: ChargePoint) -> dict[str, int]:
    return await orm(
        lambda: dict(
            CompatAbsorption.objects.filter(charge_point=charge_point).values_list("quirk", "count")
        )
    )


async def send(url: str, action: str, payload: dict[str, Any]) -> list[Any]:
    """One CALL on a fresh connection; the answer frame."""
    async with open_socket(url) as ws:
        return await raw_call(ws, action, payload)


def start_payload(**fields: Any) -> dict[str, Any]:
    return {"connectorId": 1, "idTag": "TAG-OK", "meterStart": 0, "timestamp": STAMP, **fields}


def stop_payload(transaction_id: Any, meter_stop: int, **fields: Any) -> dict[str, Any]:
    return {"transactionId": transaction_id, "meterStop": meter_stop, "timestamp": STAMP, **fields}


def meter_values_payload(*sampled: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "connectorId": 1,
        "meterValue": [{"timestamp": STAMP, "sampledValue": list(sampled)}],
        **fields,
    }


async def stored_values(charge_point: ChargePoint, *fields: str) -> list[Any]:
    return await orm(
        lambda: list(
            MeterValue.objects.filter(charge_point=charge_point).order_by("id").values_list(*fields)
        )
    )
