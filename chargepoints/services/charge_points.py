"""Writes on charge points: staff and API create, change, accept/reject and delete them;
BootNotification stores what a charge point says of itself."""

import logging
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache, partial
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from chargepoints.models import ChargePoint, RegistrationStatus
from chargepoints.passwords import hash_password
from chargepoints.security.rotation import rotations_abandon
from csms.errors import DomainError
from csms.events import ChargePointBooted, ChargePointRegistrationChanged, publish
from csms.statements import column, rows_change, rows_select, table
from csms.tenancy.models import Tenant

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


# --- BootNotification ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BootOutcome:
    registration_status: str
    heartbeat_interval: int  # the charge point's own, else its tenant's
    interval: int  # what BootNotification.conf answers


@cache
def _boot_update_statement() -> str:
    columns = [*_BOOT_FIELDS.values(), "last_boot_at"]
    assignments = ", ".join(f"{column(ChargePoint, name)} = %s" for name in columns)
    return f"UPDATE {table(ChargePoint)} SET {assignments} WHERE id = %s"  # noqa: S608


@cache
def _boot_read_statement() -> str:
    return (
        "SELECT c.registration_status, c.heartbeat_interval, t.heartbeat_interval "  # noqa: S608
        f"FROM {table(ChargePoint)} c JOIN {table(Tenant)} t ON t.id = c.tenant_id "
        "WHERE c.id = %s"
    )


def charge_point_boot(
    *,
    tenant_id: int,
    charge_point_id: int,
    identity: str,
    boot: dict[str, Any],
    booted_at: datetime,
) -> BootOutcome:
    """Store what the charge point says of itself (``boot``: BootNotification.req, snake_case)
    and publish it; its registration status and the interval to answer."""
    values = {field: boot.get(key) or "" for key, field in _BOOT_FIELDS.items()}
    # Prepared statements (csms.statements): a reconnect storm boots thousands at once.
    rows_change(_boot_update_statement(), [*values.values(), booted_at, charge_point_id])
    registration_status, own_interval, tenant_interval = rows_select(
        _boot_read_statement(), [charge_point_id]
    )[0]
    heartbeat_interval = own_interval or tenant_interval
    publish(
        ChargePointBooted(
            tenant_id=tenant_id,
            charge_point_id=charge_point_id,
            identity=identity,
            registration_status=registration_status,
            vendor=values["vendor"],
            model=values["model"],
            serial_number=values["serial_number"],
            firmware_version=values["firmware_version"],
            booted_at=booted_at,
        )
    )
    if registration_status == RegistrationStatus.ACCEPTED:
        interval = jittered_interval(heartbeat_interval, identity)
    else:
        interval = settings.OCPP_BOOT_RETRY_INTERVAL  # when to boot again (OCPP 1.6 §4.2)
    return BootOutcome(registration_status, heartbeat_interval, interval)


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
        # A password set by hand replaces whatever AuthorizationKey rotation was pending.
        rotations_abandon(charge_point_id=charge_point.pk)
    for field, value in changes.items():
        setattr(charge_point, field, value)
    if changes:
        with transaction.atomic():
            changing = (  # reads the stored status: before the save
                _registration_changes(
                    charge_point_ids=[charge_point.pk],
                    registration_status=charge_point.registration_status,
                )
                if "registration_status" in changes
                else []
            )
            charge_point.save(update_fields=[*changes, "updated_at"])
            for event in changing:
                publish(event)
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
        changing = _registration_changes(
            charge_point_ids=ids, registration_status=registration_status
        )
        updated = ChargePoint.objects.filter(pk__in=ids).update(
            registration_status=registration_status, updated_at=timezone.now()
        )
        for event in changing:
            publish(event)
    _refresh_live_sessions(charge_point_ids=ids)
    return updated


def _registration_changes(
    *, charge_point_ids: list[int], registration_status: str
) -> list[ChargePointRegistrationChanged]:
    """Read before the update: one event per charge point whose status really changes."""
    changing = ChargePoint.objects.filter(pk__in=charge_point_ids).exclude(
        registration_status=registration_status
    )
    return [
        ChargePointRegistrationChanged(
            tenant_id=tenant_id,
            charge_point_id=pk,
            identity=identity,
            registration_status=registration_status,
            previous_registration_status=previous,
        )
        for pk, tenant_id, identity, previous in changing.values_list(
            "pk", "tenant_id", "identity", "registration_status"
        )
    ]
