"""Meter values: every sampledValue stored once, however often a charger retries the frame.

Retries come with new message ids (PERFORMANCE.md): rows deduplicate by a hash of their content.
"""

import hashlib
from collections.abc import Iterable
from typing import Any

from django.db import connection
from django.utils import timezone

from csms.events import MeterValuesReceived, publish
from csms.ocpp.compat import INT32_MAX
from csms.row_insert import rows_insert
from csms.timestamps import parse_timestamp
from transactions.models import MeterValue, Transaction

# OCPP 1.6 §7.45 SampledValue defaults
DEFAULT_CONTEXT = "Sample.Periodic"
DEFAULT_FORMAT = "Raw"
DEFAULT_MEASURAND = "Energy.Active.Import.Register"
DEFAULT_LOCATION = "Outlet"
DEFAULT_UNIT = "Wh"


def content_hash(*parts: Any) -> str:
    """What deduplicates a retried transaction message's rows."""
    return hashlib.sha1("|".join(map(str, parts)).encode(), usedforsecurity=False).hexdigest()


def known_transaction_id(value: int | None) -> int | None:
    """``value`` if it can name one of our transactions (1..2^31-1), else None."""
    if isinstance(value, int) and 0 < value <= INT32_MAX:
        return value
    return None


def meter_values_record(
    *, tenant_id: int, charge_point_id: int, identity: str, payload: dict[str, Any]
) -> None:
    """A MeterValues.req (``payload``, snake_case): stored (once) and published."""
    reported_id = payload.get("transaction_id")
    transaction_id = known_transaction_id(reported_id)
    tx = None
    if transaction_id is not None and _is_own_transaction(
        transaction_id=transaction_id, charge_point_id=charge_point_id
    ):
        tx = Transaction(pk=transaction_id, charge_point_id=charge_point_id)
    meter_values_store(
        charge_point_id=charge_point_id,
        connector_id=payload["connector_id"],
        transaction=tx,
        reported_transaction_id=reported_id,
        meter_values=payload["meter_value"],
    )
    publish(
        MeterValuesReceived(
            tenant_id=tenant_id,
            charge_point_id=charge_point_id,
            identity=identity,
            connector_id=payload["connector_id"],
            transaction_id=reported_id,
            meter_value=payload["meter_value"],
        )
    )


def _is_own_transaction(*, transaction_id: int, charge_point_id: int) -> bool:
    """Whether the transaction exists and is this charge point's. Every MeterValues frame asks:
    a plain statement costs a fifth of the ORM query (compiling it was most of the frame's
    CPU after the inserts; measured for make bench)."""
    table = connection.ops.quote_name(Transaction._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {table} WHERE id = %s AND charge_point_id = %s",  # noqa: S608
            [transaction_id, charge_point_id],
        )
        return cursor.fetchone() is not None


def meter_values_store(
    *,
    charge_point_id: int,
    connector_id: int,
    transaction: Transaction | None,
    reported_transaction_id: int | None,
    meter_values: Iterable[dict[str, Any]],
) -> int:
    """Store every sampledValue with the spec's defaults; a retry inserts nothing twice.

    One plain multi-row insert (``csms.row_insert``): on the hot path a MeterValues frame
    carries a dozen sampled values, and ``bulk_create`` cost several times the insert."""
    rows = []
    received_at = timezone.now()
    transaction_pk = transaction.pk if transaction is not None else None
    for meter_value in meter_values:
        timestamp = parse_timestamp(meter_value["timestamp"])
        for sampled in meter_value.get("sampled_value") or ():
            values = (
                sampled["value"],
                sampled.get("context") or DEFAULT_CONTEXT,
                sampled.get("format") or DEFAULT_FORMAT,
                sampled.get("measurand") or DEFAULT_MEASURAND,
                sampled.get("phase") or "",
                sampled.get("location") or DEFAULT_LOCATION,
                sampled.get("unit") or DEFAULT_UNIT,
            )
            row_hash = content_hash(
                connector_id,
                reported_transaction_id,
                timestamp.isoformat() if timestamp else "",
                *values,
            )
            rows.append(
                (
                    charge_point_id,
                    transaction_pk,
                    connector_id,
                    reported_transaction_id,
                    timestamp,
                    *values,
                    row_hash,
                    received_at,
                )
            )
    return rows_insert(MeterValue, _METER_VALUE_FIELDS, rows, ignore_conflicts=True)


# The row meter_values_store inserts, in order.
_METER_VALUE_FIELDS = (
    "charge_point_id",
    "transaction_id",
    "connector_id",
    "reported_transaction_id",
    "timestamp",
    "value",
    "context",
    "format",
    "measurand",
    "phase",
    "location",
    "unit",
    "content_hash",
    "received_at",
)
