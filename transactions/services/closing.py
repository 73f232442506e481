"""Sessions closed on the server, without the charger's StopTransaction (issue 15 §2).

A start that never got its stop (the charger lost it, was replaced, went offline for good)
keeps the driver's card answering ConcurrentTx everywhere and keeps a share of its site's power
limit. Staff (admin), tenants (API), a tenant's closing rules (beat) and a new StartTransaction
on the connector close it here, all through ``session_close_on_server``: the stop is marked as
the server's, with who closed it and why, and the energy is taken from the last register
reading when no meterStop is given. If the charger's own stop comes later it is reconciled into
this session (``transactions.services.transactions.transaction_stop``).
"""

import logging
from datetime import datetime, timedelta

from django.db import transaction as db_transaction
from django.db.models import Exists, Max, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from ocpp.v16.enums import Reason

from chargepoints.models import ChargePointStatus, Connector, ConnectorStatusChange
from csms.errors import ConflictError, DomainError
from csms.events import publish
from transactions.energy import INT64_MAX, last_register_wh
from transactions.models import SessionClosingRules, StoppedBy, Transaction
from transactions.selectors import transaction_register_readings
from transactions.services.session_events import stopped_event
from transactions.services.settlement import SETTLED_FIELDS, energy_settle

logger = logging.getLogger(__name__)

SERVER_CLOSE_FLAG = "closed_by_server"
CLOSED_BY_RULE_AVAILABLE = "rule:connector_available"
CLOSED_BY_RULE_SILENT = "rule:no_meter_values_no_connection"
# An OCPP 1.6 §7.40 Reason given as the reason is the stop reason too; anything else is Other.
_STOP_REASONS = frozenset(r.value for r in Reason)
OTHER = Reason.other.value
FUTURE_TOLERANCE = timedelta(minutes=5)


def session_close_on_server(
    tx: Transaction,
    *,
    identity: str,
    stopped_at: datetime,
    reason: str,
    closed_by: str,
    flag: str,
    meter_stop: int | None = None,
) -> None:
    """Close ``tx`` (open, its row locked by the caller) for the server and publish it once.
    Without ``meter_stop`` the last register reading stands for it (none: no meter stop, and
    the energy from the readings if they show any)."""
    readings = transaction_register_readings(transaction_id=tx.pk)
    tx.meter_stop = meter_stop if meter_stop is not None else last_register_wh(readings)
    tx.stopped_at = max(stopped_at, tx.started_at)
    tx.stop_reason = reason if reason in _STOP_REASONS else OTHER
    tx.stopped_by = StoppedBy.SERVER
    tx.closed_by = closed_by[:150]
    tx.close_reason = reason[:200]
    tx.flags = [*tx.flags, flag]
    energy_settle(tx, readings=readings)
    tx.save(
        update_fields=[
            "meter_stop",
            "stopped_at",
            "stop_reason",
            "stopped_by",
            "closed_by",
            "close_reason",
            *SETTLED_FIELDS,
            "updated_at",
        ]
    )
    publish(stopped_event(tx, identity))


def transaction_close(
    *,
    transaction: Transaction,
    reason: str = "",
    meter_stop: int | None = None,
    stopped_at: datetime | None = None,
    closed_by: str = "",
) -> Transaction:
    """Staff or a tenant close a session on the server (admin action, ``POST
    /api/v1/transactions/{id}/close/``). Refused (ConflictError) when it is already stopped,
    (DomainError) for a stop before its start or in the future, or a meter stop below its
    start."""
    with db_transaction.atomic():
        tx = (
            Transaction.objects.select_for_update(of=("self",))
            .select_related("charge_point")
            .filter(pk=transaction.pk)
            .first()
        )
        if tx is None or tx.stopped_at is not None:
            raise ConflictError(f"transaction {transaction.pk} is already stopped")
        now = timezone.now()
        at = stopped_at or now
        if at < tx.started_at:
            raise DomainError("stopped_at is before the session started", code="stopped_at")
        if at > now + FUTURE_TOLERANCE:
            raise DomainError("stopped_at is in the future", code="stopped_at")
        if meter_stop is not None and not max(tx.meter_start, 0) <= meter_stop <= INT64_MAX:
            raise DomainError(
                f"meter_stop must be between meter_start ({tx.meter_start}) and 2^63-1",
                code="meter_stop",
            )
        session_close_on_server(
            tx,
            identity=tx.charge_point.identity,
            stopped_at=at,
            meter_stop=meter_stop,
            reason=reason.strip() or "Closed on the server",
            closed_by=closed_by,
            flag=SERVER_CLOSE_FLAG,
        )
    return tx


# --- The tenants' closing rules (beat) ----------------------------------------------------------


def zombie_sessions_close(
    *,
    now: datetime | None = None,
    tenant_id: int | None = None,
    id_tag: str | None = None,
    elsewhere_than: tuple[int, int] | None = None,
) -> int:
    """Close the open sessions a tenant's rules say are over (all tenants with a rule on, or
    one tenant, or one idTag's sessions not on the ``(charge_point_id, connector_id)``
    ``elsewhere_than``); each once, in its own database transaction. Returns how many were
    closed."""
    now = now or timezone.now()
    rules = SessionClosingRules.objects.filter(
        Q(available_minutes__isnull=False) | Q(silent_hours__isnull=False)
    )
    if tenant_id is not None:
        rules = rules.filter(tenant_id=tenant_id)
    closed = 0
    for rule in rules:
        open_sessions = Transaction.objects.filter(tenant_id=rule.tenant_id, stopped_at=None)
        if id_tag is not None:
            open_sessions = open_sessions.filter(id_tag__iexact=id_tag)
        if elsewhere_than is not None:
            charge_point_id, connector_id = elsewhere_than
            open_sessions = open_sessions.exclude(
                charge_point_id=charge_point_id, connector_id=connector_id
            )
        if rule.available_minutes is not None:
            closed += _close_available(open_sessions, minutes=rule.available_minutes, now=now)
        if rule.silent_hours is not None:
            closed += _close_silent(open_sessions, hours=rule.silent_hours, now=now)
    return closed


def _close_available(sessions: QuerySet[Transaction], *, minutes: int, now: datetime) -> int:
    """Sessions whose connector has reported Available since some time after their start, for
    longer than ``minutes``: the car is gone (Finishing and SuspendedEV are not Available). Only
    reports after the start count: a charger that never reported its session's Preparing or
    Charging is left alone."""
    available = Connector.objects.filter(
        charge_point_id=OuterRef("charge_point_id"),
        connector_id=OuterRef("connector_id"),
        status=ChargePointStatus.AVAILABLE,
    )
    cutoff = now - timedelta(minutes=minutes)
    closed = 0
    for tx_id, charge_point_id, connector_id, started_at in sessions.filter(
        Exists(available)
    ).values_list("pk", "charge_point_id", "connector_id", "started_at"):
        since = _available_since(
            charge_point_id=charge_point_id, connector_id=connector_id, after=started_at
        )
        if since is not None and since <= cutoff:
            closed += _close_by_rule(
                tx_id,
                stopped_at=since,
                reason=f"Connector Available for more than {minutes} minutes",
                closed_by=CLOSED_BY_RULE_AVAILABLE,
            )
    return closed


def _available_since(
    *, charge_point_id: int, connector_id: int, after: datetime
) -> datetime | None:
    """When the connector's current run of Available reports began (by the charger's
    timestamps, or arrival when it sent none), counting reports after ``after`` only."""
    history = (
        ConnectorStatusChange.objects.filter(
            charge_point_id=charge_point_id, connector_id=connector_id
        )
        .annotate(at=Coalesce("timestamp", "received_at"))
        .filter(at__gte=after)
    )
    last_other = (
        history.exclude(status=ChargePointStatus.AVAILABLE)
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
    run = history.filter(status=ChargePointStatus.AVAILABLE)
    if last_other is not None:
        run = run.filter(at__gt=last_other)
    return run.order_by("at").values_list("at", flat=True).first()


def _close_silent(sessions: QuerySet[Transaction], *, hours: int, now: datetime) -> int:
    """Sessions without MeterValues for more than ``hours`` on a charge point that has not been
    connected for as long: closed as of their last sign of life (the last reading, else the
    start)."""
    cutoff = now - timedelta(hours=hours)
    candidates = (
        sessions.filter(charge_point__connected=False)
        .filter(Q(charge_point__last_seen__isnull=True) | Q(charge_point__last_seen__lt=cutoff))
        .annotate(last_reading=Max("meter_values__timestamp"))
        .filter(Q(last_reading__lt=cutoff) | Q(last_reading__isnull=True, started_at__lt=cutoff))
        .values_list("pk", "started_at", "last_reading")
    )
    closed = 0
    for tx_id, started_at, last_reading in candidates:
        closed += _close_by_rule(
            tx_id,
            stopped_at=max(started_at, last_reading or started_at),
            reason=f"No MeterValues and no connection for more than {hours} hours",
            closed_by=CLOSED_BY_RULE_SILENT,
        )
    return closed


def _close_by_rule(tx_id: int, *, stopped_at: datetime, reason: str, closed_by: str) -> int:
    """1 if this closed the session, 0 if it was stopped meanwhile (a StopTransaction, another
    beat run): the row is locked and read again, so a session is closed once."""
    with db_transaction.atomic():
        tx = (
            Transaction.objects.select_for_update(of=("self",))
            .select_related("charge_point")
            .filter(pk=tx_id, stopped_at=None)
            .first()
        )
        if tx is None:
            return 0
        session_close_on_server(
            tx,
            identity=tx.charge_point.identity,
            stopped_at=stopped_at,
            reason=reason,
            closed_by=closed_by,
            flag=SERVER_CLOSE_FLAG,
        )
    logger.info("transaction %s closed by %s", tx_id, closed_by)
    return 1
