"""The event bus: how apps tell each other what happened.

An event is a frozen dataclass of plain values (ids, the charge point's identity, the tenant,
timestamps, the fields subscribers need), never a model instance or the protocol's
``CallContext``: an admin action, an API view or a task can publish one as well as an OCPP
handler. The publishing app decides what happened; the apps that care say how they react,
each in its ``receivers.py`` (imported by its ``AppConfig.ready``)::

    @subscriber(TransactionStarted)
    def reservation_used(event: TransactionStarted) -> None: ...

The contract:

* ``publish(event)`` runs the event type's subscribers at once, in the caller's thread and
  database transaction, in order of ``order`` and then of registration (apps register in
  ``INSTALLED_APPS`` order). A change that rolls back takes its subscribers' writes with it, so
  nothing durable comes of it; a subscriber that does network work schedules it with
  ``transaction.on_commit``.
* A subscriber that raises makes ``publish`` raise: the later subscribers do not run and the
  caller's transaction fails with it (a BootNotification then answers InternalError with
  nothing stored). A subscriber registered ``isolated=True`` runs in a savepoint instead: if it
  raises, its own writes are rolled back, the error is logged, and the other subscribers and
  the change that published the event carry on. The owning apps' reactions to a command's end
  are isolated (a command's answer or failure is kept even when what an app derives from it
  fails).
* ``@subscriber(CommandCompleted, action="ReserveNow")``: keyword arguments other than the
  options are field values the event must have for the subscriber to run (compared before any
  savepoint is taken).
* ``listens=`` tells the bus cheaply whether a subscriber would do anything for a tenant; a
  publisher whose event costs a read (the previous connector status, the rows behind a firmware
  job's event) asks ``listened(EventType, tenant_id=...)`` first and may skip the read and the
  event. A subscriber without ``listens`` always listens.

The events, who publishes them and who subscribes: docs/events.md.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from django.db import transaction

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """What every event carries: the tenant it happened in."""

    # How an isolated subscriber of this event is named in the log when it fails.
    subscriber_kind: ClassVar[str] = "subscriber"

    tenant_id: int

    def describe(self) -> str:
        """A short name for logs (never the payloads: they may hold secrets)."""
        return type(self).__name__


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargePointEvent(Event):
    charge_point_id: int
    identity: str


# --- Presence, boot and registration ------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargePointConnected(ChargePointEvent):
    connected_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargePointDisconnected(ChargePointEvent):
    disconnected_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargePointBooted(ChargePointEvent):
    """A BootNotification was stored; ``registration_status`` is what it was answered."""

    registration_status: str
    vendor: str
    model: str
    serial_number: str
    firmware_version: str
    booted_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargePointRegistrationChanged(ChargePointEvent):
    registration_status: str
    previous_registration_status: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectorStatusChanged(ChargePointEvent):
    """A StatusNotification changed a connector's status (repeats are no change). Published only
    when someone listens: reading the previous status costs a query."""

    connector_id: int
    status: str
    previous_status: str | None
    error_code: str
    info: str
    vendor_error_code: str
    timestamp: str | None  # as the charge point reported it


# --- Transactions and authorization -------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class TransactionStarted(ChargePointEvent):
    """A transaction was opened (an idTag refused by its idTagInfo too: SPEC §4)."""

    transaction_id: int
    connector_id: int
    id_tag: str
    id_tag_status: str
    meter_start: int
    started_at: datetime
    reservation_id: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class TransactionStopped(TransactionStarted):
    """A transaction was closed: by its StopTransaction (``stopped_by`` "charge_point"), or by
    the server (``"server"``: staff, the API, a closing rule, a new start on its connector;
    ``closed_by`` says which, the meter reading may be the last register value or none).
    Published once per session: the charger's later stop of a server-closed session is a
    :class:`TransactionReconciled`."""

    meter_stop: int | None
    energy_wh: int | None
    stopped_at: datetime
    stop_reason: str
    flags: list[str]
    energy_source: str = ""
    stopped_by: str = ""
    closed_by: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class TransactionReconciled(TransactionStopped):
    """The charger's own StopTransaction for a session the server had closed: the session now
    holds the charger's figures (the fields), ``server_*`` what the server's close had said."""

    server_stopped_at: datetime
    server_meter_stop: int | None
    server_energy_wh: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterValuesReceived(ChargePointEvent):
    connector_id: int
    transaction_id: int | None  # as reported
    meter_value: list[dict[str, Any]]  # the frame's meterValue, snake_case


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthorizationDenied(ChargePointEvent):
    """An Authorize answered with an idTagInfo other than Accepted."""

    id_tag: str
    status: str
    action: str


# --- Commands -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandFinished(ChargePointEvent):
    """A Central-System command reached a final status (published in that transaction)."""

    command_id: int
    action: str
    status: str
    payload: dict[str, Any]
    response: dict[str, Any] | None
    error_code: str
    error_description: str
    completed_at: datetime | None
    requested_by_job: str

    def describe(self) -> str:
        return f"{type(self).__name__} of command {self.command_id} ({self.action})"


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandCompleted(CommandFinished):
    """The charge point answered with a valid CALLRESULT (``response``)."""

    subscriber_kind: ClassVar[str] = "command result hook"


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandFailed(CommandFinished):
    """The command brings no answer to act on: ``failed`` (a CALLERROR or a malformed answer),
    ``timeout`` (no answer, a closed socket) or ``expired`` (never sent, or withdrawn)."""

    subscriber_kind: ClassVar[str] = "command failure hook"


# --- Other apps' workflows and other reports ----------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ReservationChanged(ChargePointEvent):
    reservation_id: int
    connector_id: int
    id_tag: str
    status: str
    expiry_date: datetime
    transaction_id: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargingProfileRejected(ChargePointEvent):
    """A charge point kept answering SetChargingProfile Rejected: the last retry was refused
    too, and the profile is not in force there (``charging_site_id``: a site's share)."""

    connector_id: int
    charging_profile_id: int
    charging_profile_purpose: str
    transaction_id: int | None
    charging_site_id: int | None
    attempts: int


@dataclass(frozen=True, slots=True, kw_only=True)
class FirmwareStatusChanged(ChargePointEvent):
    """A firmware campaign's job for one charge point moved. Published only when someone
    listens: it costs reading the job."""

    firmware_update_id: int
    job_id: int
    status: str
    previous_status: str
    last_status: str
    error: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DiagnosticsUploaded(ChargePointEvent):
    """A diagnostics file reached our receiver (``received``), or the charge point reported it
    uploaded elsewhere (``uploaded``). Published only when someone listens."""

    diagnostics_request_id: int
    status: str
    file_name: str
    file_size: int | None
    location: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DataTransferReceived(ChargePointEvent):
    vendor_id: str
    message_id: str | None
    data: str | None
    answer_status: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SecurityEventReceived(ChargePointEvent):
    """A SecurityEventNotification stored for the first time (retries are not new events)."""

    type: str
    timestamp: str  # as the charge point reported it
    tech_info: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SecurityEventRecorded(Event):
    """A row the Central System wrote to the security log itself (issue 19 §4): a refused
    handshake, a lockout, a rotated password, a certificate issued or expiring. No charge
    point for a refusal of an identity the tenant does not know."""

    charge_point_id: int | None
    identity: str
    type: str
    critical: bool
    tech_info: str
    source_address: str
    timestamp: datetime


# --- The bus ------------------------------------------------------------------------------------

E = TypeVar("E", bound=Event)
Receiver = Callable[[Any], None]
Listens = Callable[[int], bool]


@dataclass(frozen=True, slots=True)
class _Subscription:
    receiver: Receiver
    match: tuple[tuple[str, object], ...]
    isolated: bool
    listens: Listens | None
    order: int


_subscriptions: dict[type[Event], list[_Subscription]] = {}


def subscriber(
    event_type: type[E],
    *,
    isolated: bool = False,
    listens: Listens | None = None,
    order: int = 0,
    **match: object,
) -> Callable[[Callable[[E], None]], Callable[[E], None]]:
    """Register the decorated function to run on every published ``event_type`` whose fields
    equal ``match``. Registering the same function and match twice is a no-op."""
    known = {f.name for f in fields(event_type)}
    unknown = set(match) - known
    if unknown:
        raise TypeError(f"{event_type.__name__} has no field(s) {', '.join(sorted(unknown))}")

    def register(receiver: Callable[[E], None]) -> Callable[[E], None]:
        registered = _subscriptions.setdefault(event_type, [])
        subscription = _Subscription(receiver, tuple(match.items()), isolated, listens, order)
        if all((s.receiver, s.match) != (receiver, subscription.match) for s in registered):
            registered.append(subscription)
            registered.sort(key=lambda s: s.order)  # stable: registration order within one
        return receiver

    return register


def unsubscribe(event_type: type[Event], receiver: Receiver) -> None:
    """Remove a subscription (tests register receivers for the length of one test)."""
    _subscriptions[event_type] = [
        s for s in _subscriptions.get(event_type, []) if s.receiver is not receiver
    ]


def listened(event_type: type[Event], *, tenant_id: int) -> bool:
    """Whether any subscriber of ``event_type`` would act on one of this tenant's."""
    return any(
        s.listens is None or s.listens(tenant_id) for s in _subscriptions.get(event_type, ())
    )


def publish(event: Event) -> None:
    """Run the subscribers of ``type(event)`` now, inside the caller's transaction."""
    for subscription in _subscriptions.get(type(event), ()):
        if any(getattr(event, name) != value for name, value in subscription.match):
            continue
        if subscription.listens is not None and not subscription.listens(event.tenant_id):
            continue  # it would not act on this tenant's: no call, no savepoint
        if not subscription.isolated:
            subscription.receiver(event)
            continue
        try:
            with transaction.atomic():
                subscription.receiver(event)
        except Exception:
            # Only what this subscriber wrote is lost; the published change stays.
            logger.exception(
                "%s %s failed on %s; its writes are rolled back, the change stays",
                event.subscriber_kind,
                getattr(subscription.receiver, "__qualname__", subscription.receiver),
                event.describe(),
            )
