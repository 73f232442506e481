"""Connector status: the current status per connector and the history of every
StatusNotification."""

from datetime import datetime
from functools import lru_cache
from typing import Any

from django.db import IntegrityError, connection, connections, transaction
from django.db.models import Q
from django.utils import timezone

from chargepoints.models import Connector, ConnectorStatusChange
from chargepoints.reservations.services import reservations_end_on_status
from csms.events import ConnectorStatusChanged, listened, publish
from csms.row_insert import rows_insert
from csms.timestamps import parse_timestamp

_STATUS_CHANGE_FIELDS = (
    "charge_point",
    "connector_id",
    "status",
    "error_code",
    "info",
    "vendor_id",
    "vendor_error_code",
    "timestamp",
    "received_at",
)


def _connector_status_update(
    *, charge_point_id: int, connector_id: int, values: list[Any], effective_at: datetime
) -> int:
    """The connector's current status: one plain UPDATE, its text built once. Every
    StatusNotification runs it (three per boot in a reconnect storm); building the ORM's
    update was most of the frame's CPU. ``values`` in the order of the columns below.

    A report older than the current status (``effective_at`` before the stored
    ``status_timestamp``: a queued notification delivered after a newer one) changes nothing:
    0 rows (issue 15 §3; the history keeps it all the same)."""
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            _connector_status_sql(connection.alias),
            [
                *(adapt(v) if isinstance(v, datetime) else v for v in values),
                charge_point_id,
                connector_id,
                adapt(effective_at),
            ],
        )
        return int(cursor.rowcount)


def _column(name: str) -> str:
    field = Connector._meta.get_field(name)
    assert field.concrete and field.column  # noqa: S101 - the model's own plain fields
    return str(field.column)


@lru_cache(maxsize=4)
def _connector_status_sql(alias: str) -> str:
    quote = connections[alias].ops.quote_name
    columns = ", ".join(
        f"{quote(_column(name))} = %s"
        for name in (
            "status",
            "error_code",
            "info",
            "vendor_id",
            "vendor_error_code",
            "status_timestamp",
            "updated_at",
        )
    )
    # Only quoted identifiers from the model's metadata and placeholders: values are bound.
    return (
        f"UPDATE {quote(Connector._meta.db_table)} SET {columns} "  # noqa: S608
        f"WHERE {quote('charge_point_id')} = %s AND {quote('connector_id')} = %s "
        f"AND ({quote(_column('status_timestamp'))} IS NULL "
        f"OR {quote(_column('status_timestamp'))} <= %s)"
    )


def connector_status_record(
    *, tenant_id: int, charge_point_id: int, identity: str, report: dict[str, Any]
) -> None:
    """Current status per connector (created on first sight) plus the full history, from a
    StatusNotification.req (``report``, snake_case); a real change of status is published.

    Every StatusNotification runs this: the previous status is read (one query) only when
    someone listens to ``ConnectorStatusChanged`` for the tenant, so tenants without webhooks
    pay the bus's cached answer alone, and the event still comes on real changes only (not on
    repeats)."""
    connector_id = report["connector_id"]
    watched = listened(ConnectorStatusChanged, tenant_id=tenant_id)
    previous = (
        Connector.objects.filter(charge_point_id=charge_point_id, connector_id=connector_id)
        .values_list("status", flat=True)
        .first()
        if watched
        else None
    )
    values = {
        "status": report["status"],
        "error_code": report["error_code"],
        "info": report.get("info") or "",
        "vendor_id": report.get("vendor_id") or "",
        "vendor_error_code": report.get("vendor_error_code") or "",
    }
    now = timezone.now()
    timestamp = parse_timestamp(report.get("timestamp"))
    # When the status took effect: as reported, but never after we received it (a charger
    # whose clock runs ahead would otherwise hold its status against every later report), and
    # on arrival when it sent no timestamp.
    effective_at = min(timestamp, now) if timestamp is not None else now
    updated = _connector_status_update(
        charge_point_id=charge_point_id,
        connector_id=connector_id,
        values=[*values.values(), effective_at, now],
        effective_at=effective_at,
    )
    current = True
    if not updated:
        try:
            with transaction.atomic():
                Connector.objects.create(
                    charge_point_id=charge_point_id,
                    connector_id=connector_id,
                    status_timestamp=effective_at,
                    **values,
                )
        except IntegrityError:
            # It exists: the report is older than its current status, or raced in with another.
            current = bool(
                Connector.objects.filter(
                    Q(status_timestamp__isnull=True) | Q(status_timestamp__lte=effective_at),
                    charge_point_id=charge_point_id,
                    connector_id=connector_id,
                ).update(**values, status_timestamp=effective_at)
            )
    # One plain INSERT: a model save's per-field preparation is most of this frame's cost.
    rows_insert(
        ConnectorStatusChange,
        _STATUS_CHANGE_FIELDS,
        [(charge_point_id, connector_id, *values.values(), timestamp, now)],
    )
    if current:
        # Only a Faulted or Unavailable report costs this statement (OCPP 1.6 §5.13); an older
        # report that did not become the connector's status ends nothing.
        reservations_end_on_status(
            charge_point_id=charge_point_id, connector_id=connector_id, status=report["status"]
        )
    if watched and current and previous != report["status"]:
        publish(
            ConnectorStatusChanged(
                tenant_id=tenant_id,
                charge_point_id=charge_point_id,
                identity=identity,
                connector_id=connector_id,
                status=report["status"],
                previous_status=previous,
                error_code=report["error_code"],
                info=values["info"],
                vendor_error_code=values["vendor_error_code"],
                timestamp=report.get("timestamp"),
            )
        )
