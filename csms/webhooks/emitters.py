"""What the platform's changes look like as events: one function per emission point.

Each is called inside the transaction of the change (the OCPP handler's, the service's) and
costs no query when the tenant has no subscribed endpoint (its endpoints are cached per process
for a few seconds: ``event_subscribers``). ``data`` uses snake_case and names
a charge point by its identity, like the REST API.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from chargepoints.models import ChargePoint, Command, CommandStatus, Connector, Reservation
from csms.ocpp.context import CallContext
from csms.webhooks.event_types import EventType
from csms.webhooks.models import Event
from csms.webhooks.services.events import event_emit, event_subscribers
from transactions.models import Transaction

ACCEPTED = "Accepted"

COMMAND_EVENT_TYPES = {
    CommandStatus.COMPLETED: EventType.COMMAND_COMPLETED,
    CommandStatus.FAILED: EventType.COMMAND_FAILED,
    CommandStatus.TIMEOUT: EventType.COMMAND_TIMED_OUT,
    # Never sent: the charge point stayed away past the command's expiry.
    CommandStatus.EXPIRED: EventType.COMMAND_TIMED_OUT,
}


# --- Presence and boot --------------------------------------------------------------------------


def charge_point_connected_emit(
    *, tenant_id: int, charge_point_id: int, identity: str, at: datetime
) -> None:
    event_emit(
        tenant_id=tenant_id,
        type=EventType.CHARGE_POINT_CONNECTED,
        data={"charge_point": identity, "connected_at": at},
        charge_point_id=charge_point_id,
    )


def charge_point_disconnected_emit(
    *, tenant_id: int, charge_point_id: int, identity: str, at: datetime
) -> None:
    event_emit(
        tenant_id=tenant_id,
        type=EventType.CHARGE_POINT_DISCONNECTED,
        data={"charge_point": identity, "disconnected_at": at},
        charge_point_id=charge_point_id,
    )


def charge_point_booted_emit(ctx: CallContext, boot: dict[str, Any]) -> None:
    """A ``charge_point_booted_hooks`` entry (the registration status is already decided)."""
    event_emit(
        tenant_id=ctx.tenant_id,
        type=EventType.CHARGE_POINT_BOOTED,
        data={
            "charge_point": ctx.session.identity,
            "registration_status": ctx.session.registration_status,
            "vendor": boot.get("charge_point_vendor") or "",
            "model": boot.get("charge_point_model") or "",
            "serial_number": boot.get("charge_point_serial_number") or "",
            "firmware_version": boot.get("firmware_version") or "",
            "booted_at": ctx.received_at,
        },
        charge_point_id=ctx.charge_point_id,
    )


def charge_points_registration_emit(
    *, charge_point_ids: list[int], registration_status: str
) -> None:
    """Call *before* setting ``registration_status``, in the same transaction: one event per
    charge point whose status really changes."""
    changing = ChargePoint.objects.filter(pk__in=charge_point_ids).exclude(
        registration_status=registration_status
    )
    subscribers: dict[int, list[int]] = {}
    for pk, tenant_id, identity, previous in changing.values_list(
        "pk", "tenant_id", "identity", "registration_status"
    ):
        if tenant_id not in subscribers:
            subscribers[tenant_id] = event_subscribers(
                tenant_id=tenant_id, type=EventType.CHARGE_POINT_REGISTRATION_CHANGED
            )
        event_emit(
            tenant_id=tenant_id,
            type=EventType.CHARGE_POINT_REGISTRATION_CHANGED,
            data={
                "charge_point": identity,
                "registration_status": registration_status,
                "previous_registration_status": previous,
            },
            charge_point_id=pk,
            endpoint_ids=subscribers[tenant_id],
        )


# --- Connector status ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConnectorStatusWatch:
    endpoint_ids: list[int]
    previous_status: str | None


def connector_status_watch(*, ctx: CallContext, connector_id: int) -> ConnectorStatusWatch | None:
    """Before a StatusNotification is stored. The previous status is read only when an endpoint
    listens, so tenants without webhooks pay the subscription check alone and
    ``connector.status_changed`` still fires on real changes only (not on repeats)."""
    endpoint_ids = event_subscribers(
        tenant_id=ctx.tenant_id, type=EventType.CONNECTOR_STATUS_CHANGED
    )
    if not endpoint_ids:
        return None
    previous = (
        Connector.objects.filter(charge_point_id=ctx.charge_point_id, connector_id=connector_id)
        .values_list("status", flat=True)
        .first()
    )
    return ConnectorStatusWatch(endpoint_ids, previous)


def connector_status_changed_emit(
    *, ctx: CallContext, watch: ConnectorStatusWatch | None, report: dict[str, Any]
) -> None:
    if watch is None or watch.previous_status == report["status"]:
        return
    event_emit(
        tenant_id=ctx.tenant_id,
        type=EventType.CONNECTOR_STATUS_CHANGED,
        data={
            "charge_point": ctx.session.identity,
            "connector_id": report["connector_id"],
            "status": report["status"],
            "previous_status": watch.previous_status,
            "error_code": report["error_code"],
            "info": report.get("info") or "",
            "vendor_error_code": report.get("vendor_error_code") or "",
            "timestamp": report.get("timestamp"),
        },
        charge_point_id=ctx.charge_point_id,
        endpoint_ids=watch.endpoint_ids,
    )


# --- Transactions and authorization -------------------------------------------------------------


def _transaction_data(tx: Transaction, ctx: CallContext) -> dict[str, Any]:
    return {
        "charge_point": ctx.session.identity,
        "transaction_id": tx.pk,
        "connector_id": tx.connector_id,
        "id_tag": tx.id_tag,
        "id_tag_status": tx.id_tag_status,
        "meter_start": tx.meter_start,
        "started_at": tx.started_at,
        "reservation_id": tx.reservation_id,
    }


def transaction_started_emit(tx: Transaction, ctx: CallContext) -> None:
    """A ``transaction_started_hooks`` entry; a StartTransaction refused by its idTagInfo is
    also an ``authorization.denied`` (the transaction exists all the same, SPEC §4)."""
    event_emit(
        tenant_id=tx.tenant_id,
        type=EventType.TRANSACTION_STARTED,
        data=_transaction_data(tx, ctx),
        charge_point_id=tx.charge_point_id,
    )
    if tx.id_tag_status != ACCEPTED:
        authorization_denied_emit(
            ctx=ctx,
            id_tag=tx.id_tag,
            status=tx.id_tag_status,
            action="StartTransaction",
            connector_id=tx.connector_id,
            transaction_id=tx.pk,
        )


def transaction_stopped_emit(tx: Transaction, ctx: CallContext) -> None:
    """A ``transaction_stopped_hooks`` entry (also for a stale transaction closed by a new
    start on its connector: no meter_stop, no energy)."""
    event_emit(
        tenant_id=tx.tenant_id,
        type=EventType.TRANSACTION_STOPPED,
        data={
            **_transaction_data(tx, ctx),
            "meter_stop": tx.meter_stop,
            "energy_wh": tx.energy_wh,
            "stopped_at": tx.stopped_at,
            "stop_reason": tx.stop_reason,
            "flags": tx.flags,
        },
        charge_point_id=tx.charge_point_id,
    )


def meter_values_emit(*, ctx: CallContext, payload: dict[str, Any]) -> None:
    """Opt-in and sampled: at most one event per transaction per
    WEBHOOKS_METER_VALUES_INTERVAL_SECONDS (by arrival; meter values without a transaction
    are not sent)."""
    transaction_id = payload.get("transaction_id")
    if not isinstance(transaction_id, int):
        return
    endpoint_ids = event_subscribers(
        tenant_id=ctx.tenant_id, type=EventType.TRANSACTION_METER_VALUES
    )
    if not endpoint_ids:
        return
    now = timezone.now()
    recent = Event.objects.filter(
        charge_point_id=ctx.charge_point_id,
        type=EventType.TRANSACTION_METER_VALUES,
        created_at__gt=now - timedelta(seconds=settings.WEBHOOKS_METER_VALUES_INTERVAL_SECONDS),
        data__transaction_id=transaction_id,
    )
    if recent.exists():
        return
    event_emit(
        tenant_id=ctx.tenant_id,
        type=EventType.TRANSACTION_METER_VALUES,
        data={
            "charge_point": ctx.session.identity,
            "connector_id": payload["connector_id"],
            "transaction_id": transaction_id,
            "meter_value": payload["meter_value"],
        },
        charge_point_id=ctx.charge_point_id,
        endpoint_ids=endpoint_ids,
        now=now,
    )


def authorization_denied_emit(
    *,
    ctx: CallContext,
    id_tag: str,
    status: str,
    action: str,
    connector_id: int | None = None,
    transaction_id: int | None = None,
) -> None:
    """An idTagInfo other than Accepted (Authorize or StartTransaction)."""
    event_emit(
        tenant_id=ctx.tenant_id,
        type=EventType.AUTHORIZATION_DENIED,
        data={
            "charge_point": ctx.session.identity,
            "id_tag": id_tag,
            "status": status,
            "action": action,
            "connector_id": connector_id,
            "transaction_id": transaction_id,
        },
        charge_point_id=ctx.charge_point_id,
    )


# --- Commands -----------------------------------------------------------------------------------


def command_finished_emit(*, command: Command, endpoint_ids: list[int] | None = None) -> None:
    """After a command reached a final status (call in the transaction that set it)."""
    event_type = COMMAND_EVENT_TYPES.get(command.status)
    if event_type is None:
        return
    if endpoint_ids is None:
        endpoint_ids = event_subscribers(tenant_id=command.tenant_id, type=event_type)
    if not endpoint_ids:
        return  # before reading the charge point's identity
    event_emit(
        tenant_id=command.tenant_id,
        type=event_type,
        data={
            "command_id": command.pk,
            "charge_point": command.charge_point.identity,
            "action": command.action,
            "status": command.status,
            "response": command.response,
            "error_code": command.error_code,
            "error_description": command.error_description,
            "completed_at": command.completed_at,
        },
        charge_point_id=command.charge_point_id,
        endpoint_ids=endpoint_ids,
    )


def commands_finished_emit(*, command_ids: list[int], completed_at: datetime | None = None) -> None:
    """Bulk variant; ``completed_at`` picks the commands this very update finished (another
    process finishing the same ids at once stamps another moment)."""
    commands = Command.objects.filter(pk__in=command_ids).select_related("charge_point")
    if completed_at is not None:
        commands = commands.filter(completed_at=completed_at)
    subscribers: dict[tuple[int, str], list[int]] = {}
    for command in commands:
        event_type = COMMAND_EVENT_TYPES.get(command.status)
        if event_type is None:
            continue
        key = (command.tenant_id, event_type)
        if key not in subscribers:
            subscribers[key] = event_subscribers(tenant_id=command.tenant_id, type=event_type)
        command_finished_emit(command=command, endpoint_ids=subscribers[key])


# --- Other things charge points report ----------------------------------------------------------


def data_transfer_received_emit(
    *,
    ctx: CallContext,
    vendor_id: str,
    message_id: str | None,
    data: str | None,
    answer_status: str,
) -> None:
    event_emit(
        tenant_id=ctx.tenant_id,
        type=EventType.DATA_TRANSFER_RECEIVED,
        data={
            "charge_point": ctx.session.identity,
            "vendor_id": vendor_id,
            "message_id": message_id or "",
            "data": data or "",
            "answer_status": answer_status,
        },
        charge_point_id=ctx.charge_point_id,
    )


def security_event_received_emit(*, ctx: CallContext, event: dict[str, Any]) -> None:
    event_emit(
        tenant_id=ctx.tenant_id,
        type=EventType.SECURITY_EVENT_RECEIVED,
        data={
            "charge_point": ctx.session.identity,
            "type": event["type"],
            "timestamp": event["timestamp"],
            "tech_info": event.get("tech_info") or "",
        },
        charge_point_id=ctx.charge_point_id,
    )


def reservation_changed_emit(*, reservation: Reservation) -> None:
    """For chargepoints.reservations.services: after a reservation's status changed (same
    transaction)."""
    endpoint_ids = event_subscribers(
        tenant_id=reservation.tenant_id, type=EventType.RESERVATION_CHANGED
    )
    if not endpoint_ids:
        return  # before reading the charge point's identity
    event_emit(
        tenant_id=reservation.tenant_id,
        type=EventType.RESERVATION_CHANGED,
        data={
            "reservation_id": reservation.reservation_id,
            "charge_point": reservation.charge_point.identity,
            "connector_id": reservation.connector_id,
            "id_tag": reservation.id_tag,
            "status": reservation.status,
            "expiry_date": reservation.expiry_date,
            "transaction_id": reservation.transaction_id,
        },
        charge_point_id=reservation.charge_point_id,
        endpoint_ids=endpoint_ids,
    )
