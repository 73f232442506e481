"""Meter values: every sampledValue stored once, however often a charger retries the frame.

Retries come with new message ids (PERFORMANCE.md): rows deduplicate by a hash of their content.
"""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone

from csms.events import MeterValuesReceived, publish
from csms.ocpp.compat import INT32_MAX
from csms.row_insert import rows_insert
from csms.statements import aware, rows_select, table
from csms.timestamps import parse_timestamp
from transactions.models import MeterValue, Transaction

# The session's flag for values that arrived for it after its stop.
METER_VALUES_AFTER_STOP = "meter_values_after_stop"

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
    """A MeterValues.req (``payload``, snake_case): stored (once) and published. Values for a
    session already stopped, timestamped after its stop, are kept but marked ``after_stop`` and
    the session flagged: they are not part of the energy it was billed for (issue 15 §3)."""
    reported_id = payload.get("transaction_id")
    transaction_id = known_transaction_id(reported_id)
    own_id = None
    stopped_at = None
    if transaction_id is not None:
        state = _own_transaction_state(
            transaction_id=transaction_id, charge_point_id=charge_point_id
        )
        if state is not None:
            own_id = transaction_id
            stopped_at = state.stopped_at
    stored_after_stop = meter_values_store(
        charge_point_id=charge_point_id,
        connector_id=payload["connector_id"],
        transaction_id=own_id,
        reported_transaction_id=reported_id,
        meter_values=payload["meter_value"],
        stopped_at=stopped_at,
    ).after_stop
    if own_id is not None and stored_after_stop:
        transaction_flag(transaction_id=own_id, flag=METER_VALUES_AFTER_STOP)
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


@dataclass(frozen=True, slots=True)
class _TransactionState:
    stopped_at: datetime | None


def _own_transaction_state(
    *, transaction_id: int, charge_point_id: int
) -> _TransactionState | None:
    """The transaction's stop time, if it exists and is this charge point's. Every MeterValues
    frame asks: a prepared statement (csms.statements) costs a fifth of the ORM query
    (compiling it was most of the frame's CPU after the inserts; measured for make bench)."""
    found = rows_select(
        f"SELECT stopped_at FROM {table(Transaction)} WHERE id = %s AND charge_point_id = %s",  # noqa: S608
        [transaction_id, charge_point_id],
    )
    if not found:
        return None
    stopped_at = found[0][0]
    return _TransactionState(None if stopped_at is None else aware(stopped_at))


def transaction_flag(*, transaction_id: int, flag: str) -> None:
    """Add ``flag`` to the session's flags once (the row locked: a stop may be writing them)."""
    tx = Transaction.objects.select_for_update().only("flags").filter(pk=transaction_id).first()
    if tx is not None and flag not in tx.flags:
        tx.flags = [*tx.flags, flag]
        tx.save(update_fields=["flags", "updated_at"])


@dataclass(frozen=True, slots=True)
class StoredMeterValues:
    inserted: int
    after_stop: bool  # some value was timestamped after the session's stop


def meter_values_store(
    *,
    charge_point_id: int,
    connector_id: int,
    transaction_id: int | None,
    reported_transaction_id: int | None,
    meter_values: Iterable[dict[str, Any]],
    stopped_at: datetime | None = None,
) -> StoredMeterValues:
    """Store every sampledValue as sent (a field left out is NULL); a retry inserts nothing
    twice. ``transaction_id``: the session of ours the values belong to (None: none known);
    ``stopped_at``: the session's stop, when it is already stopped.

    Deduplication is by the frame's content: identical sampled values in one meterValue (three
    per-phase currents sent without ``phase``) are each kept, the n-th copy hashed with its
    ordinal, while the same reading sent again (a retried frame, a StopTransaction repeating
    its samples) is stored once. The hash is taken over the §7.45 defaults filled in, as it
    was before fields were stored as sent: a retry across the upgrade still matches.

    One plain multi-row insert (``csms.row_insert``): on the hot path a MeterValues frame
    carries a dozen sampled values, and ``bulk_create`` cost several times the insert."""
    rows = []
    received_at = timezone.now()
    any_after_stop = False
    for meter_value in meter_values:
        timestamp = parse_timestamp(meter_value["timestamp"])
        after_stop = stopped_at is not None and timestamp is not None and timestamp > stopped_at
        any_after_stop = any_after_stop or after_stop
        seen: dict[tuple[Any, ...], int] = {}
        for sampled in meter_value.get("sampled_value") or ():
            sent = (
                sampled["value"],
                sampled.get("context") or None,
                sampled.get("format") or None,
                sampled.get("measurand") or None,
                sampled.get("phase") or None,
                sampled.get("location") or None,
                sampled.get("unit") or None,
            )
            with_defaults = (
                sent[0],
                sent[1] or DEFAULT_CONTEXT,
                sent[2] or DEFAULT_FORMAT,
                sent[3] or DEFAULT_MEASURAND,
                sent[4] or "",
                sent[5] or DEFAULT_LOCATION,
                sent[6] or DEFAULT_UNIT,
            )
            copies = seen.get(with_defaults, 0)
            seen[with_defaults] = copies + 1
            row_hash = content_hash(
                connector_id,
                reported_transaction_id,
                timestamp.isoformat() if timestamp else "",
                *with_defaults,
                *((f"copy {copies}",) if copies else ()),
            )
            rows.append(
                (
                    charge_point_id,
                    transaction_id,
                    connector_id,
                    reported_transaction_id,
                    timestamp,
                    *sent,
                    row_hash,
                    after_stop,
                    received_at,
                )
            )
    inserted = rows_insert(MeterValue, _METER_VALUE_FIELDS, rows, ignore_conflicts=True)
    return StoredMeterValues(inserted, any_after_stop)


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
    "after_stop",
    "received_at",
)
