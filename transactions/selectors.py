"""Reads on transactions and meter values."""

from datetime import UTC, datetime
from functools import cache
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import TruncDate, Upper

from csms.statements import aware, rows_select, table
from transactions.energy import ENERGY_REGISTER, RegisterReading, reading_wh
from transactions.models import MeterValue, Transaction

# Formats a register's value can be read in: SignedData is an opaque blob (OCPP 1.6 §7.45).
_READABLE_FORMAT = Q(format__isnull=True) | Q(format="Raw")
# A sampledValue without ``phase`` is the meter's total (§7.45); rows from before fields were
# stored as sent hold "" for it.
_TOTAL = Q(phase__isnull=True) | Q(phase="")


def sampled_totals_of(*measurands: str) -> Q:
    """Sampled values of these measurands that are the meter's total (no phase), counting a
    left-out measurand as its §7.45 default, the energy register."""
    of_measurand = Q(measurand__in=measurands)
    if ENERGY_REGISTER in measurands:
        of_measurand |= Q(measurand__isnull=True)
    return of_measurand & _TOTAL


def transaction_meter_values(*, transaction: Transaction) -> QuerySet[MeterValue]:
    """Every sampled value of ``transaction``, oldest first (ties in the order received)."""
    return MeterValue.objects.filter(transaction=transaction).order_by("timestamp", "id")


def transaction_register_readings(*, transaction_id: int) -> list[RegisterReading]:
    """The session's total ``Energy.Active.Import.Register`` readings in Wh (the measurand's
    default when none was sent), oldest first, without values that arrived after its stop. One
    prepared statement over the ``(transaction, timestamp)`` index (every StopTransaction asks:
    the ORM query of :func:`sampled_totals_of` cost five times its run to build)."""
    rows = rows_select(_register_readings_statement(), [transaction_id, ENERGY_REGISTER])
    readings = []
    for timestamp, value, unit, context in rows:
        wh = reading_wh(value, unit)
        if wh is not None:
            readings.append(RegisterReading(aware(timestamp), wh, context))
    return readings


@cache
def _register_readings_statement() -> str:
    # The same rows as sampled_totals_of(ENERGY_REGISTER) with a readable format (Raw or none).
    return (
        f"SELECT timestamp, value, unit, context FROM {table(MeterValue)} "  # noqa: S608
        "WHERE transaction_id = %s AND NOT after_stop "
        "AND (measurand = %s OR measurand IS NULL) AND (phase IS NULL OR phase = '') "
        "AND (format IS NULL OR format = 'Raw') ORDER BY timestamp, id"
    )


# How the energy report groups sessions: by the UTC day they started, by charge point, or by
# idTag (case-insensitively: IdToken is a CiString20, OCPP 1.6 §7.28).
ENERGY_REPORT_GROUPS = {
    "day": TruncDate("started_at", tzinfo=UTC),
    "charge_point": F("charge_point__identity"),
    "id_tag": Upper("id_tag"),
}


def energy_report(
    *, tenant_id: int, group_by: str, since: datetime | None, until: datetime | None
) -> list[dict[str, Any]]:
    """The tenant's stopped sessions that started in ``[since, until)``, per group: how many,
    their energy in Wh, and how many have no known energy (not counted in it). One aggregate
    query, computed by the database."""
    sessions = Transaction.objects.filter(tenant_id=tenant_id, stopped_at__isnull=False)
    if since is not None:
        sessions = sessions.filter(started_at__gte=since)
    if until is not None:
        sessions = sessions.filter(started_at__lt=until)
    rows = (
        sessions.annotate(key=ENERGY_REPORT_GROUPS[group_by])
        .values("key")
        .annotate(
            sessions=Count("pk"),
            # Not named after the column it sums: an alias shadowing a field breaks the SQL.
            total_wh=Sum("energy_wh", default=0),
            without_energy=Count("pk", filter=Q(energy_wh__isnull=True)),
        )
        .order_by("key")
    )
    return [
        {
            "key": row["key"],
            "sessions": row["sessions"],
            "energy_wh": row["total_wh"],
            "sessions_without_energy": row["without_energy"],
        }
        for row in rows
    ]
