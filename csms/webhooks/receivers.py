"""Webhooks as one subscriber of the event bus: each domain event becomes the webhook event
integrators know (``event_types.EventType``), with the same ``data`` as ever.

Each receiver runs inside the transaction of the change (csms.events) and costs no query when
the tenant has no subscribed endpoint (its endpoints are cached per process for a few seconds:
``event_subscribers``), which is also what it tells the bus through ``listens``. ``data`` uses
snake_case and names a charge point by its identity, like the REST API. The events of the
other apps' workflows (reservations, profiles, firmware, diagnostics) and the charge points'
other reports are in ``csms.webhooks.workflow_receivers``.
"""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from csms.events import (
    AuthorizationDenied,
    ChargePointBooted,
    ChargePointConnected,
    ChargePointDisconnected,
    ChargePointRegistrationChanged,
    CommandCompleted,
    CommandFailed,
    CommandFinished,
    ConnectorStatusChanged,
    MeterValuesReceived,
    TransactionReconciled,
    TransactionStarted,
    TransactionStopped,
    subscriber,
)
from csms.webhooks.event_types import EventType
from csms.webhooks.models import Event
from csms.webhooks.services.events import event_emit, event_subscribers

ACCEPTED = "Accepted"

# Command.status (chargepoints) -> the event type integrators get.
COMMAND_EVENT_TYPES = {
    "completed": EventType.COMMAND_COMPLETED,
    "failed": EventType.COMMAND_FAILED,
    "timeout": EventType.COMMAND_TIMED_OUT,
    # Never sent: the charge point stayed away past the command's expiry.
    "expired": EventType.COMMAND_TIMED_OUT,
}
# After the owning apps' reactions: an integrator hears of a command's end after what its
# answer changed (a reservation, a firmware job), in the order those happened.
AFTER_THE_OWNING_APPS = 1


def listening(*types: str) -> Callable[[int], bool]:
    """``listens`` for the bus: whether the tenant has an endpoint for one of ``types``."""

    def listens(tenant_id: int) -> bool:
        return any(event_subscribers(tenant_id=tenant_id, type=t) for t in types)

    return listens


# --- Presence, boot and registration ------------------------------------------------------------


@subscriber(ChargePointConnected, listens=listening(EventType.CHARGE_POINT_CONNECTED))
def charge_point_connected(event: ChargePointConnected) -> None:
    event_emit(
        tenant_id=event.tenant_id,
        type=EventType.CHARGE_POINT_CONNECTED,
        data={"charge_point": event.identity, "connected_at": event.connected_at},
        charge_point_id=event.charge_point_id,
    )


@subscriber(ChargePointDisconnected, listens=listening(EventType.CHARGE_POINT_DISCONNECTED))
def charge_point_disconnected(event: ChargePointDisconnected) -> None:
    event_emit(
        tenant_id=event.tenant_id,
        type=EventType.CHARGE_POINT_DISCONNECTED,
        data={"charge_point": event.identity, "disconnected_at": event.disconnected_at},
        charge_point_id=event.charge_point_id,
    )


@subscriber(ChargePointBooted, listens=listening(EventType.CHARGE_POINT_BOOTED))
def charge_point_booted(event: ChargePointBooted) -> None:
    event_emit(
        tenant_id=event.tenant_id,
        type=EventType.CHARGE_POINT_BOOTED,
        data={
            "charge_point": event.identity,
            "registration_status": event.registration_status,
            "vendor": event.vendor,
            "model": event.model,
            "serial_number": event.serial_number,
            "firmware_version": event.firmware_version,
            "booted_at": event.booted_at,
        },
        charge_point_id=event.charge_point_id,
    )


@subscriber(
    ChargePointRegistrationChanged,
    listens=listening(EventType.CHARGE_POINT_REGISTRATION_CHANGED),
)
def charge_point_registration_changed(event: ChargePointRegistrationChanged) -> None:
    event_emit(
        tenant_id=event.tenant_id,
        type=EventType.CHARGE_POINT_REGISTRATION_CHANGED,
        data={
            "charge_point": event.identity,
            "registration_status": event.registration_status,
            "previous_registration_status": event.previous_registration_status,
        },
        charge_point_id=event.charge_point_id,
    )


# --- Connector status ---------------------------------------------------------------------------


@subscriber(ConnectorStatusChanged, listens=listening(EventType.CONNECTOR_STATUS_CHANGED))
def connector_status_changed(event: ConnectorStatusChanged) -> None:
    event_emit(
        tenant_id=event.tenant_id,
        type=EventType.CONNECTOR_STATUS_CHANGED,
        data={
            "charge_point": event.identity,
            "connector_id": event.connector_id,
            "status": event.status,
            "previous_status": event.previous_status,
            "error_code": event.error_code,
            "info": event.info,
            "vendor_error_code": event.vendor_error_code,
            "timestamp": event.timestamp,
        },
        charge_point_id=event.charge_point_id,
    )


# --- Transactions and authorization -------------------------------------------------------------


def _transaction_data(event: TransactionStarted) -> dict[str, Any]:
    return {
        "charge_point": event.identity,
        "transaction_id": event.transaction_id,
        "connector_id": event.connector_id,
        "id_tag": event.id_tag,
        "id_tag_status": event.id_tag_status,
        "meter_start": event.meter_start,
        "started_at": event.started_at,
        "reservation_id": event.reservation_id,
    }


@subscriber(
    TransactionStarted,
    listens=listening(EventType.TRANSACTION_STARTED, EventType.AUTHORIZATION_DENIED),
)
def transaction_started(event: TransactionStarted) -> None:
    """A StartTransaction refused by its idTagInfo is also an ``authorization.denied`` (the
    transaction exists all the same, SPEC §4)."""
    event_emit(
        tenant_id=event.tenant_id,
        type=EventType.TRANSACTION_STARTED,
        data=_transaction_data(event),
        charge_point_id=event.charge_point_id,
    )
    if event.id_tag_status != ACCEPTED:
        _authorization_denied(
            event,
            id_tag=event.id_tag,
            status=event.id_tag_status,
            action="StartTransaction",
            connector_id=event.connector_id,
            transaction_id=event.transaction_id,
        )


def _stopped_data(event: TransactionStopped) -> dict[str, Any]:
    return {
        **_transaction_data(event),
        "meter_stop": event.meter_stop,
        "energy_wh": event.energy_wh,
        "energy_source": event.energy_source,
        "stopped_at": event.stopped_at,
        "stop_reason": event.stop_reason,
        "stopped_by": event.stopped_by,
        "closed_by": event.closed_by,
        "flags": event.flags,
    }


@subscriber(TransactionStopped, listens=listening(EventType.TRANSACTION_STOPPED))
def transaction_stopped(event: TransactionStopped) -> None:
    event_emit(
        tenant_id=event.tenant_id,
        type=EventType.TRANSACTION_STOPPED,
        data=_stopped_data(event),
        charge_point_id=event.charge_point_id,
    )


@subscriber(TransactionReconciled, listens=listening(EventType.TRANSACTION_RECONCILED))
def transaction_reconciled(event: TransactionReconciled) -> None:
    """Not a second ``transaction.stopped``: the session an integrator already saw stopped now
    carries the charger's figures (and what the server's close had said, to correct a bill)."""
    event_emit(
        tenant_id=event.tenant_id,
        type=EventType.TRANSACTION_RECONCILED,
        data={
            **_stopped_data(event),
            "server_stopped_at": event.server_stopped_at,
            "server_meter_stop": event.server_meter_stop,
            "server_energy_wh": event.server_energy_wh,
        },
        charge_point_id=event.charge_point_id,
    )


@subscriber(MeterValuesReceived, listens=listening(EventType.TRANSACTION_METER_VALUES))
def meter_values_received(event: MeterValuesReceived) -> None:
    """Opt-in and sampled: at most one event per transaction per
    WEBHOOKS_METER_VALUES_INTERVAL_SECONDS (by arrival; meter values without a transaction
    are not sent)."""
    transaction_id = event.transaction_id
    if not isinstance(transaction_id, int):
        return
    endpoint_ids = event_subscribers(
        tenant_id=event.tenant_id, type=EventType.TRANSACTION_METER_VALUES
    )
    if not endpoint_ids:
        return
    now = timezone.now()
    recent = Event.objects.filter(
        charge_point_id=event.charge_point_id,
        type=EventType.TRANSACTION_METER_VALUES,
        created_at__gt=now - timedelta(seconds=settings.WEBHOOKS_METER_VALUES_INTERVAL_SECONDS),
        data__transaction_id=transaction_id,
    )
    if recent.exists():
        return
    event_emit(
        tenant_id=event.tenant_id,
        type=EventType.TRANSACTION_METER_VALUES,
        data={
            "charge_point": event.identity,
            "connector_id": event.connector_id,
            "transaction_id": transaction_id,
            "meter_value": event.meter_value,
        },
        charge_point_id=event.charge_point_id,
        endpoint_ids=endpoint_ids,
        now=now,
    )


@subscriber(AuthorizationDenied, listens=listening(EventType.AUTHORIZATION_DENIED))
def authorization_denied(event: AuthorizationDenied) -> None:
    _authorization_denied(event, id_tag=event.id_tag, status=event.status, action=event.action)


def _authorization_denied(
    event: AuthorizationDenied | TransactionStarted,
    *,
    id_tag: str,
    status: str,
    action: str,
    connector_id: int | None = None,
    transaction_id: int | None = None,
) -> None:
    """An idTagInfo other than Accepted (Authorize or StartTransaction)."""
    event_emit(
        tenant_id=event.tenant_id,
        type=EventType.AUTHORIZATION_DENIED,
        data={
            "charge_point": event.identity,
            "id_tag": id_tag,
            "status": status,
            "action": action,
            "connector_id": connector_id,
            "transaction_id": transaction_id,
        },
        charge_point_id=event.charge_point_id,
    )


# --- Commands -----------------------------------------------------------------------------------


@subscriber(
    CommandCompleted, listens=listening(EventType.COMMAND_COMPLETED), order=AFTER_THE_OWNING_APPS
)
def command_completed(event: CommandCompleted) -> None:
    _command_finished(event)


@subscriber(
    CommandFailed,
    listens=listening(EventType.COMMAND_FAILED, EventType.COMMAND_TIMED_OUT),
    order=AFTER_THE_OWNING_APPS,
)
def command_failed(event: CommandFailed) -> None:
    _command_finished(event)


def _command_finished(event: CommandFinished) -> None:
    event_type = COMMAND_EVENT_TYPES.get(event.status)
    if event_type is None:
        return
    event_emit(
        tenant_id=event.tenant_id,
        type=event_type,
        data={
            "command_id": event.command_id,
            "charge_point": event.identity,
            "action": event.action,
            "status": event.status,
            "response": event.response,
            "error_code": event.error_code,
            "error_description": event.error_description,
            "completed_at": event.completed_at,
        },
        charge_point_id=event.charge_point_id,
    )
