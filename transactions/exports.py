"""What a billing system imports (issue 15 §4): sessions and meter values as CSV rows.

Times are UTC in ISO 8601 (``2025-03-01T12:00:00Z``), empty cells for what is unknown (an
active session's stop, a sampled value's left-out phase), flags joined by ``|``.
"""

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from django.db.models import QuerySet

from csms.csv_streaming import Row, text_cell
from transactions.models import MeterValue, Transaction

TRANSACTION_COLUMNS: tuple[tuple[str, str], ...] = (
    # (CSV header, values_list field)
    ("session_id", "pk"),
    ("charge_point", "charge_point__identity"),
    ("connector_id", "connector_id"),
    ("id_tag", "id_tag"),
    ("parent_id_tag", "parent_id_tag"),
    ("id_tag_status", "id_tag_status"),
    ("started_at", "started_at"),
    ("stopped_at", "stopped_at"),
    ("meter_start", "meter_start"),
    ("meter_stop", "meter_stop"),
    ("energy_wh", "energy_wh"),
    ("energy_source", "energy_source"),
    ("stop_reason", "stop_reason"),
    ("stopped_by", "stopped_by"),
    ("closed_by", "closed_by"),
    ("flags", "flags"),
)
TRANSACTION_HEADER = tuple(header for header, _ in TRANSACTION_COLUMNS)
# Columns holding a charge point's (or a person's) text: neutralised against CSV injection.
_TEXT = frozenset({"charge_point", "id_tag", "parent_id_tag", "closed_by", "stop_reason"})

METER_VALUE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("timestamp", "timestamp"),
    ("measurand", "measurand"),
    ("phase", "phase"),
    ("location", "location"),
    ("unit", "unit"),
    ("context", "context"),
    ("format", "format"),
    ("value", "value"),
    ("after_stop", "after_stop"),
)
METER_VALUE_HEADER = tuple(header for header, _ in METER_VALUE_COLUMNS)


def utc_iso(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def transaction_export_rows(sessions: QuerySet[Transaction]) -> QuerySet[Any]:
    """The export's rows of ``sessions`` (already scoped and filtered), in their order."""
    return sessions.values_list(*(field for _, field in TRANSACTION_COLUMNS))


def _as_is(value: Any) -> Any:
    return value  # numbers, and None (the csv module writes it as an empty cell)


def _flags(value: list[str] | None) -> str:
    return text_cell("|".join(value)) if value else ""


def _converter(header: str) -> Callable[[Any], Any]:
    if header in ("started_at", "stopped_at"):
        return utc_iso
    if header == "flags":
        return _flags
    return text_cell if header in _TEXT else _as_is


# One converter per column, chosen once: a million rows pay no per-cell type tests.
_CONVERTERS = tuple(_converter(header) for header in TRANSACTION_HEADER)


def transaction_cells(row: Row) -> Sequence[Any]:
    return [convert(value) for convert, value in zip(_CONVERTERS, row, strict=True)]


def meter_value_export_rows(values: QuerySet[MeterValue]) -> QuerySet[Any]:
    return values.values_list(*(field for _, field in METER_VALUE_COLUMNS))


def _value_cell(value: str) -> str:
    """A reading as sent: a number stays as it is (a negative one too); signed data or other
    text is neutralised like any text cell."""
    try:
        float(value)
    except ValueError:
        return text_cell(value)
    return value


def meter_value_cells(row: Row) -> Sequence[Any]:
    timestamp, *fields, value, after_stop = row
    return [
        utc_iso(timestamp),
        *(text_cell(field) for field in fields),
        _value_cell(value),
        "true" if after_stop else "false",
    ]
