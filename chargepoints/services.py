"""Writes on charge points, connectors and what charge points report."""

import logging
import zlib
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import lru_cache, partial
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import IntegrityError, connection, connections, transaction
from django.utils import timezone

from chargepoints.local_list_sync import local_list_sync_request
from chargepoints.models import (
    CertificateSigningRequest,
    ChargePoint,
    ChargePointGroup,
    Connector,
    ConnectorStatusChange,
    DataTransferMessage,
    IdTag,
    RegistrationStatus,
    SecurityEvent,
)
from chargepoints.passwords import hash_password
from csms.errors import DomainError
from csms.ocpp.router import CallContext
from csms.row_insert import rows_insert
from csms.tenancy.models import Tenant
from csms.timestamps import parse_timestamp
from csms.webhooks.emitters import (
    charge_points_registration_emit,
    connector_status_changed_emit,
    connector_status_watch,
    security_event_received_emit,
)

# BootNotification.req field -> ChargePoint field (snake_case, as handlers receive them).
_BOOT_FIELDS = {
    "charge_point_vendor": "vendor",
    "charge_point_model": "model",
    "charge_point_serial_number": "serial_number",
    "charge_box_serial_number": "charge_box_serial_number",
    "firmware_version": "firmware_version",
    "iccid": "iccid",
    "imsi": "imsi",
    "meter_type": "meter_type",
    "meter_serial_number": "meter_serial_number",
}

logger = logging.getLogger(__name__)


def jittered_interval(interval: int, identity: str) -> int:
    """``interval`` plus a stable per-charger 0-10 %, so a fleet's heartbeats do not line up."""
    return interval + zlib.crc32(identity.encode()) % (interval // 10 + 1)


# --- OCPP ---------------------------------------------------------------------------------------


BootHook = Callable[[CallContext, dict[str, Any]], None]
# Other apps react to a BootNotification inside its transaction (firmware verification,
# local-list sync, configuration baselines); the registration status is in ctx.session.
charge_point_booted_hooks: list[BootHook] = []


def charge_point_boot(*, ctx: CallContext, boot: dict[str, Any]) -> tuple[str, int]:
    """Store what the charge point says of itself; the registration status and interval."""
    values = {field: boot.get(key) or "" for key, field in _BOOT_FIELDS.items()}
    ChargePoint.objects.filter(pk=ctx.charge_point_id).update(
        **values, last_boot_at=ctx.received_at
    )
    row = (
        ChargePoint.objects.filter(pk=ctx.charge_point_id)
        .values("registration_status", "heartbeat_interval", "tenant__heartbeat_interval")
        .get()
    )
    session = ctx.session
    session.registration_status = row["registration_status"]
    session.heartbeat_interval = row["heartbeat_interval"] or row["tenant__heartbeat_interval"]
    for hook in charge_point_booted_hooks:
        hook(ctx, boot)
    if session.registration_status == RegistrationStatus.ACCEPTED:
        return session.registration_status, jittered_interval(
            session.heartbeat_interval, session.identity
        )
    # Pending/Rejected: the interval is when to boot again (OCPP 1.6 §4.2).
    return session.registration_status, settings.OCPP_BOOT_RETRY_INTERVAL


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


def _connector_status_update(*, charge_point_id: int, connector_id: int, values: list[Any]) -> int:
    """The connector's current status: one plain UPDATE, its text built once. Every
    StatusNotification runs it (three per boot in a reconnect storm); building the ORM's
    update was most of the frame's CPU. ``values`` in the order of the columns below."""
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            _connector_status_sql(connection.alias),
            [
                *(adapt(v) if isinstance(v, datetime) else v for v in values),
                charge_point_id,
                connector_id,
            ],
        )
        return cursor.rowcount


@lru_cache(maxsize=4)
def _connector_status_sql(alias: str) -> str:
    quote = connections[alias].ops.quote_name
    columns = ", ".join(
        f"{quote(Connector._meta.get_field(name).column)} = %s"
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
        f"WHERE {quote('charge_point_id')} = %s AND {quote('connector_id')} = %s"
    )


def connector_status_record(
    *, charge_point_id: int, report: dict[str, Any], ctx: CallContext | None = None
) -> None:
    """Current status per connector (created on first sight) plus the full history; from an
    OCPP call (``ctx``), a real change of status is also a webhook event."""
    connector_id = report["connector_id"]
    watch = connector_status_watch(ctx=ctx, connector_id=connector_id) if ctx else None
    values = {
        "status": report["status"],
        "error_code": report["error_code"],
        "info": report.get("info") or "",
        "vendor_id": report.get("vendor_id") or "",
        "vendor_error_code": report.get("vendor_error_code") or "",
    }
    timestamp = parse_timestamp(report.get("timestamp"))
    updated = _connector_status_update(
        charge_point_id=charge_point_id,
        connector_id=connector_id,
        values=[*values.values(), timestamp, timezone.now()],
    )
    if not updated:
        try:
            with transaction.atomic():
                Connector.objects.create(
                    charge_point_id=charge_point_id,
                    connector_id=connector_id,
                    status_timestamp=timestamp,
                    **values,
                )
        except IntegrityError:
            Connector.objects.filter(
                charge_point_id=charge_point_id, connector_id=connector_id
            ).update(**values, status_timestamp=timestamp)
    # One plain INSERT: a model save's per-field preparation is most of this frame's cost.
    rows_insert(
        ConnectorStatusChange,
        _STATUS_CHANGE_FIELDS,
        [(charge_point_id, connector_id, *values.values(), timestamp, timezone.now())],
    )
    if ctx is not None:
        connector_status_changed_emit(ctx=ctx, watch=watch, report=report)


def data_transfer_record(
    *,
    charge_point_id: int,
    vendor_id: str,
    message_id: str | None,
    data: str | None,
    answer_status: str,
    answer_data: str | None,
) -> None:
    DataTransferMessage.objects.create(
        charge_point_id=charge_point_id,
        vendor_id=vendor_id,
        message_id=message_id or "",
        data=data or "",
        answer_status=answer_status,
        answer_data=answer_data or "",
    )


def security_event_record(*, ctx: CallContext, event: dict[str, Any]) -> None:
    # Retried with new message ids like transaction messages: the same event is stored once.
    _stored, created = SecurityEvent.objects.get_or_create(
        charge_point_id=ctx.charge_point_id,
        type=event["type"],
        timestamp=parse_timestamp(event["timestamp"]),
        tech_info=event.get("tech_info") or "",
        reported_by_charge_point=True,
        defaults={"tenant_id": ctx.tenant_id, "identity": ctx.session.identity},
    )
    if created:
        security_event_received_emit(ctx=ctx, event=event)


def certificate_request_record(*, charge_point_id: int, csr: str) -> None:
    CertificateSigningRequest.objects.create(charge_point_id=charge_point_id, csr=csr)


# --- Staff and API ------------------------------------------------------------------------------


def charge_point_create(
    *,
    tenant: Tenant,
    identity: str,
    name: str = "",
    password: str | None = None,
    registration_status: str = RegistrationStatus.ACCEPTED,
    **fields: Any,
) -> ChargePoint:
    """Created by staff or the API: Accepted unless said otherwise (SPEC §3.3)."""
    return ChargePoint.objects.create(
        tenant=tenant,
        identity=identity,
        name=name,
        password_hash=hash_password(password) if password else "",
        registration_status=registration_status,
        **fields,
    )


def charge_point_update(*, charge_point: ChargePoint, **changes: Any) -> ChargePoint:
    if "password" in changes:
        password = changes.pop("password")
        charge_point.password_hash = hash_password(password) if password else ""
        changes["password_hash"] = charge_point.password_hash
    for field, value in changes.items():
        setattr(charge_point, field, value)
    if changes:
        with transaction.atomic():
            if "registration_status" in changes:  # reads the stored status: before the save
                charge_points_registration_emit(
                    charge_point_ids=[charge_point.pk],
                    registration_status=charge_point.registration_status,
                )
            charge_point.save(update_fields=[*changes, "updated_at"])
        if SESSION_FIELDS.intersection(changes):
            _refresh_live_sessions(charge_point_ids=[charge_point.pk])
    return charge_point


# Fields a live connection keeps in its session: it re-reads them when staff change them.
SESSION_FIELDS = frozenset({"registration_status", "heartbeat_interval", "compat_overrides"})


def _refresh_live_sessions(*, charge_point_ids: list[int]) -> None:
    channels = list(
        ChargePoint.objects.filter(pk__in=charge_point_ids, connected=True)
        .exclude(channel_name="")
        .values_list("channel_name", flat=True)
    )
    for channel_name in channels:
        transaction.on_commit(partial(_send_to_connection, channel_name, "ocpp.refresh"))


def charge_point_delete(*, charge_point: ChargePoint) -> None:
    """Delete a charge point with everything it reported; a live socket of it is closed."""
    channel_name = charge_point.channel_name if charge_point.connected else ""
    charge_point.delete()
    if channel_name:
        # Its consumer would otherwise go on writing rows for a charge point that is gone.
        transaction.on_commit(partial(_send_to_connection, channel_name, "ocpp.takeover"))


def _send_to_connection(channel_name: str, event_type: str) -> None:
    # Network I/O: only after commit, and a broken channel layer must not fail the caller.
    try:
        async_to_sync(get_channel_layer().send)(channel_name, {"type": event_type})
    except Exception:
        logger.exception("could not send %s to channel %s", event_type, channel_name)


def charge_point_registration_set(
    *, charge_point_ids: Iterable[int], registration_status: str
) -> int:
    """Accept or reject charge points (staff); live connections re-read their status."""
    if registration_status not in RegistrationStatus.values:
        raise DomainError(f"Unknown registration status {registration_status!r}.")
    ids = list(charge_point_ids)
    with transaction.atomic():
        charge_points_registration_emit(
            charge_point_ids=ids, registration_status=registration_status
        )
        updated = ChargePoint.objects.filter(pk__in=ids).update(
            registration_status=registration_status, updated_at=timezone.now()
        )
    _refresh_live_sessions(charge_point_ids=ids)
    return updated


# --- IdTags -------------------------------------------------------------------------------------

ID_TAG_DUPLICATE = "An idTag with this value already exists."


def id_tag_create(
    *,
    tenant: Tenant,
    id_tag: str,
    allowed_charge_points: Iterable[ChargePoint] | None = None,
    allowed_groups: Iterable[ChargePointGroup] | None = None,
    **fields: Any,
) -> IdTag:
    try:
        with transaction.atomic():
            tag = IdTag.objects.create(tenant=tenant, id_tag=id_tag, **fields)
            id_tag_limits_set(tag=tag, charge_points=allowed_charge_points, groups=allowed_groups)
    except IntegrityError as exc:  # lost a race with another create of the same value
        raise DomainError(ID_TAG_DUPLICATE, code="duplicate") from exc
    if tag.in_local_list:
        local_list_sync_request(tenant_id=tag.tenant_id)
    return tag


def id_tag_update(
    *,
    tag: IdTag,
    allowed_charge_points: Iterable[ChargePoint] | None = None,
    allowed_groups: Iterable[ChargePointGroup] | None = None,
    **changes: Any,
) -> IdTag:
    was_local = tag.in_local_list
    for field, value in changes.items():
        setattr(tag, field, value)
    try:
        with transaction.atomic():
            if changes:
                tag.save(update_fields=[*changes, "updated_at"])
            limited = id_tag_limits_set(
                tag=tag, charge_points=allowed_charge_points, groups=allowed_groups
            )
    except IntegrityError as exc:
        raise DomainError(ID_TAG_DUPLICATE, code="duplicate") from exc
    if (changes or limited) and (was_local or tag.in_local_list):
        local_list_sync_request(tenant_id=tag.tenant_id)
    return tag


def id_tag_limits_set(
    *,
    tag: IdTag,
    charge_points: Iterable[ChargePoint] | None = None,
    groups: Iterable[ChargePointGroup] | None = None,
) -> bool:
    """Set where the tag may charge (None: unchanged); restricted when any limit remains.
    Returns whether anything was given."""
    if charge_points is None and groups is None:
        return False
    if charge_points is not None:
        charge_points = list(charge_points)
        if any(cp.tenant_id != tag.tenant_id for cp in charge_points):
            raise DomainError("Unknown charge point.", code="invalid_charge_point")
        tag.allowed_charge_points.set(charge_points)
    if groups is not None:
        groups = list(groups)
        if any(group.tenant_id != tag.tenant_id for group in groups):
            raise DomainError("Unknown charge point group.", code="invalid_group")
        tag.allowed_groups.set(groups)
    restricted = tag.allowed_charge_points.exists() or tag.allowed_groups.exists()
    if restricted != tag.restricted:
        tag.restricted = restricted
        IdTag.objects.filter(pk=tag.pk).update(restricted=restricted, updated_at=timezone.now())
    return True


def id_tag_delete(*, tag: IdTag) -> None:
    was_local, tenant_id = tag.in_local_list, tag.tenant_id
    tag.delete()
    if was_local:
        local_list_sync_request(tenant_id=tenant_id)
