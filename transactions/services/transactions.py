"""Transactions: StartTransaction and StopTransaction, idempotent, durable, flagged rather than
refused.

Real chargers queue transaction messages while offline and retry them with a new message id
each time (PERFORMANCE.md), so everything here deduplicates by content. A sanity problem is
answered normally and flagged, never refused (OCPP 1.6 §4.7/§4.8).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from chargepoints.authorization.verdicts import (
    AuthorizationStatus,
    IdTagVerdict,
    id_tag_verdict,
    with_concurrency,
)
from chargepoints.reservations.services import reservation_start_problem
from csms.events import TransactionStarted, publish
from csms.statements import instance_insert, instance_update, instances_select
from csms.timestamps import parse_timestamp
from transactions.models import (
    MeterValue,
    SessionClosingRules,
    StoppedBy,
    Transaction,
    UnmatchedTransactionMessage,
)
from transactions.services.closing import session_close_on_server, zombie_sessions_close
from transactions.services.meter_values import (
    content_hash,
    known_transaction_id,
    meter_values_store,
)
from transactions.services.session_events import reconciled_event, started_fields, stopped_event
from transactions.services.settlement import SETTLED_FIELDS, energy_settle

DEFAULT_STOP_REASON = "Local"  # OCPP 1.6 §6.49: absent reason means Local
FUTURE_TOLERANCE = timedelta(minutes=5)
STALE_FLAG = "closed_as_stale: a new StartTransaction arrived on its connector"
CLOSED_BY_NEW_START = "stale:new_start_on_connector"
STOP_ID_TAG_MISMATCH = "stop_id_tag_mismatch"


@dataclass(frozen=True, slots=True)
class StartOutcome:
    transaction: Transaction
    verdict: IdTagVerdict


def _is_future(moment: datetime | None, now: datetime) -> bool:
    return moment is not None and moment > now + FUTURE_TOLERANCE


# --- StartTransaction ---------------------------------------------------------------------------


def transaction_start(
    *,
    tenant_id: int,
    charge_point_id: int,
    identity: str,
    connector_id: int,
    id_tag: str,
    meter_start: int,
    timestamp: str,
    reservation_id: int | None = None,
    compat_flags: Sequence[str] = (),
) -> StartOutcome:
    """Open a transaction, or find the one a retried StartTransaction already opened; a new
    one is published (and a stale one it closes). ``compat_flags``: how the compatibility layer
    changed the figures the charger sent (a meter reading rounded), flagged on a new session."""
    started_at = parse_timestamp(timestamp)
    content = {
        "charge_point_id": charge_point_id,
        "connector_id": connector_id,
        "id_tag": id_tag,
        "started_at": started_at,
        "meter_start": meter_start,
    }
    # One read for both questions about this connector: is this a retry of a start we stored
    # (same idTag, timestamp and meter value), and which sessions are still open on it.
    # A prepared statement (csms.statements): every StartTransaction asks, and as an ORM query
    # it cost a third of the frame's CPU to build.
    same_start = "started_at IS NULL" if started_at is None else "started_at = %s"
    on_connector = instances_select(
        Transaction,
        "charge_point_id = %s AND connector_id = %s AND (stopped_at IS NULL OR "
        f"(id_tag = %s AND {same_start} AND meter_start = %s)) ORDER BY id",
        [
            charge_point_id,
            connector_id,
            id_tag,
            *([] if started_at is None else [started_at]),
            meter_start,
        ],
        lock=True,
    )
    existing = next(
        (
            tx
            for tx in on_connector
            if (tx.id_tag, tx.started_at, tx.meter_start) == (id_tag, started_at, meter_start)
        ),
        None,
    )
    if existing is not None:
        return StartOutcome(existing, _stored_verdict(existing))

    verdict = id_tag_verdict(tenant_id=tenant_id, id_tag=id_tag, charge_point_id=charge_point_id)
    if verdict.accepted:
        verdict = _with_live_concurrency(
            verdict,
            tenant_id=tenant_id,
            id_tag=id_tag,
            charge_point_id=charge_point_id,
            connector_id=connector_id,
        )

    flags = list(compat_flags)
    if not verdict.accepted:
        # Blocked or expired while the charger was offline (it started from its cache or
        # local list): answered with the real status, so the charger stops the session if
        # StopTransactionOnInvalidId says so (OCPP 1.6 §4.8, §9.1), and flagged here.
        flags.append(f"id_tag_not_accepted: {verdict.status}")
    if reservation_id is not None and started_at is not None:
        problem = reservation_start_problem(
            tenant_id=tenant_id,
            charge_point_id=charge_point_id,
            reservation_id=reservation_id,
            id_tag=id_tag,
            started_at=started_at,
        )
        if problem:
            flags.append(f"reservation_not_used: {problem}")
    if meter_start < 0:
        flags.append("meter_start_negative")
    now = timezone.now()
    if _is_future(started_at, now):
        flags.append("start_timestamp_in_future")
    _close_stale_transactions(
        identity=identity,
        stale=[tx for tx in on_connector if tx.stopped_at is None],
        superseded_at=started_at,
    )
    created = Transaction(
        tenant_id=tenant_id,
        id_tag_status=verdict.status,
        parent_id_tag=verdict.parent_id_tag,
        reservation_id=reservation_id,
        flags=flags,
        **content,
    )
    if not instance_insert(created):
        # The same StartTransaction raced in on another connection (its unique content is
        # stored): answer with its id.
        existing = Transaction.objects.get(**content)
        return StartOutcome(existing, _stored_verdict(existing))
    publish(TransactionStarted(**started_fields(created, identity)))
    return StartOutcome(created, verdict)


def _with_live_concurrency(
    verdict: IdTagVerdict, *, tenant_id: int, id_tag: str, charge_point_id: int, connector_id: int
) -> IdTagVerdict:
    """ConcurrentTx counts only sessions that are really live (issue 15 §2): before a card is
    refused for a session elsewhere, the tenant's closing rules get to close that session if
    it is over (the beat may not have run yet). Costs nothing unless the answer would be
    ConcurrentTx."""

    def active_elsewhere() -> int:
        return _active_sessions_elsewhere(
            tenant_id=tenant_id,
            id_tag=id_tag,
            charge_point_id=charge_point_id,
            connector_id=connector_id,
        )

    limited = with_concurrency(verdict, active_elsewhere=active_elsewhere())
    if limited.accepted or not _closing_rules_on(tenant_id):
        return limited
    closed = zombie_sessions_close(
        tenant_id=tenant_id, id_tag=id_tag, elsewhere_than=(charge_point_id, connector_id)
    )
    if not closed:
        return limited
    return with_concurrency(verdict, active_elsewhere=active_elsewhere())


def _closing_rules_on(tenant_id: int) -> bool:
    return SessionClosingRules.objects.filter(
        Q(available_minutes__isnull=False) | Q(silent_hours__isnull=False), tenant_id=tenant_id
    ).exists()


def _active_sessions_elsewhere(
    *, tenant_id: int, id_tag: str, charge_point_id: int, connector_id: int
) -> int:
    """The idTag's open sessions (case-insensitive, CiString20) on other connectors. Only
    sessions we accepted count: a refused attempt that the charger never stopped must not lock
    the tag out everywhere else. A plain statement (served by the ``tx_active_id_tag_ci``
    index): building the ORM's count was a quarter of a StartTransaction's CPU."""
    table = connection.ops.quote_name(Transaction._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) FROM {table} WHERE tenant_id = %s AND UPPER(id_tag) = UPPER(%s) "  # noqa: S608
            "AND stopped_at IS NULL AND id_tag_status = %s "
            "AND NOT (charge_point_id = %s AND connector_id = %s)",
            [tenant_id, id_tag, AuthorizationStatus.ACCEPTED, charge_point_id, connector_id],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def _stored_verdict(tx: Transaction) -> IdTagVerdict:
    return IdTagVerdict(tx.id_tag_status, parent_id_tag=tx.parent_id_tag)


def _close_stale_transactions(
    *, identity: str, stale: list[Transaction], superseded_at: datetime | None
) -> None:
    """A connector has one active transaction: one never stopped (``stale``, read locked) is
    closed on the server, flagged, never before it started; the charger's own stop, if it
    comes, is reconciled into it."""
    for tx in stale:
        session_close_on_server(
            tx,
            identity=identity,
            stopped_at=superseded_at or timezone.now(),
            reason="A new StartTransaction arrived on its connector",
            closed_by=CLOSED_BY_NEW_START,
            flag=STALE_FLAG,
        )


# --- StopTransaction ----------------------------------------------------------------------------


def transaction_stop(
    *,
    tenant_id: int,
    charge_point_id: int,
    identity: str,
    payload: dict[str, Any],
    compat_flags: Sequence[str] = (),
) -> IdTagVerdict | None:
    """Close the transaction a StopTransaction.req (``payload``, snake_case) names, and publish
    it (idempotent); keep unknown ones for reconciliation. A session the server had closed is
    reconciled: it takes the charger's figures, published as ``TransactionReconciled`` (one
    session, not a second stop).

    Returns the idTag verdict to answer with when the stop carries an idTag.
    """
    reported_id = payload["transaction_id"]
    stopped_at = parse_timestamp(payload["timestamp"])
    id_tag = payload.get("id_tag") or ""
    transaction_id = known_transaction_id(reported_id)
    found = (
        instances_select(
            Transaction,
            "id = %s AND charge_point_id = %s",
            [transaction_id, charge_point_id],
            lock=True,
        )
        if transaction_id is not None
        else []
    )
    tx = found[0] if found else None
    if tx is None:
        _keep_unmatched(charge_point_id=charge_point_id, payload=payload, reported_id=reported_id)
        meter_values_store(
            charge_point_id=charge_point_id,
            connector_id=0,
            transaction_id=None,
            reported_transaction_id=reported_id,
            meter_values=payload.get("transaction_data") or [],
        )
        if not id_tag:
            return None
        return id_tag_verdict(tenant_id=tenant_id, id_tag=id_tag, charge_point_id=charge_point_id)
    verdict, same_holder = _stop_verdict(
        tx, tenant_id=tenant_id, charge_point_id=charge_point_id, id_tag=id_tag
    )
    # The stop's own samples first: they are evidence for the energy settled below. A retry's
    # deduplicate.
    meter_values_store(
        charge_point_id=charge_point_id,
        connector_id=tx.connector_id,
        transaction_id=tx.pk,
        reported_transaction_id=reported_id,
        meter_values=payload.get("transaction_data") or [],
    )
    stop = _StopFigures(payload, stopped_at, id_tag, compat_flags, same_holder)
    if tx.stopped_at is None:
        _apply_stop(tx, stop)
        publish(stopped_event(tx, identity))
    elif tx.stopped_by == StoppedBy.SERVER:
        server_stopped_at, server_meter_stop = tx.stopped_at, tx.meter_stop
        server_energy_wh = tx.energy_wh
        _apply_stop(tx, stop)
        # Values the server's close had put after the stop belong to the session after all.
        MeterValue.objects.filter(
            transaction_id=tx.pk, after_stop=True, timestamp__lte=tx.stopped_at
        ).update(after_stop=False)
        publish(
            reconciled_event(
                tx,
                identity,
                server_stopped_at=server_stopped_at,
                server_meter_stop=server_meter_stop,
                server_energy_wh=server_energy_wh,
            )
        )
    # else: a retry of a stop we already stored: nothing is rewritten.
    return verdict


def _stop_verdict(
    tx: Transaction, *, tenant_id: int, charge_point_id: int, id_tag: str
) -> tuple[IdTagVerdict | None, bool]:
    """The idTagInfo a StopTransaction is answered with, and whether its idTag may end the
    session (issue 15 §3). The tag that started it, or one with the same parentIdTag (OCPP 1.6:
    the cards of one group may stop each other's sessions), is Accepted; any other is answered
    with its own verdict, and the session is flagged."""
    if not id_tag:
        return None, True
    own = id_tag_verdict(tenant_id=tenant_id, id_tag=id_tag, charge_point_id=charge_point_id)
    if id_tag.upper() == tx.id_tag.upper():
        return _stop_accepted(own, parent_id_tag=tx.parent_id_tag), True
    if tx.parent_id_tag and own.parent_id_tag.upper() == tx.parent_id_tag.upper():
        return _stop_accepted(own, parent_id_tag=own.parent_id_tag), True
    return own, False


def _stop_accepted(own: IdTagVerdict, *, parent_id_tag: str) -> IdTagVerdict:
    """Accepted for the holder of the session. A charger may cache this answer like any other
    (OCPP 1.6 §3.5), so it carries the card's own cache expiry (issue 18 §1); a card that is
    itself no longer accepted expires at once, so the cache never keeps it as a valid card."""
    expiry = own.expiry_date if own.accepted else timezone.now()
    return IdTagVerdict(
        AuthorizationStatus.ACCEPTED, parent_id_tag=parent_id_tag, expiry_date=expiry
    )


@dataclass(frozen=True, slots=True)
class _StopFigures:
    payload: dict[str, Any]
    stopped_at: datetime | None
    id_tag: str
    compat_flags: Sequence[str]
    same_holder: bool


def _apply_stop(tx: Transaction, stop: _StopFigures) -> None:
    flags = [*tx.flags, *(f for f in stop.compat_flags if f not in tx.flags)]
    meter_stop = stop.payload["meter_stop"]
    stopped_at = stop.stopped_at
    if meter_stop < 0:
        flags.append("meter_stop_negative")
    if meter_stop < tx.meter_start:
        flags.append("meter_stop_below_meter_start")
    if stopped_at is not None and stopped_at < tx.started_at:
        flags.append("stopped_before_started")
    if _is_future(stopped_at, timezone.now()):
        flags.append("stop_timestamp_in_future")
    if not stop.same_holder:
        flags.append(STOP_ID_TAG_MISMATCH)
    tx.meter_stop = meter_stop
    tx.stopped_at = stopped_at or timezone.now()
    tx.stop_reason = stop.payload.get("reason") or DEFAULT_STOP_REASON
    tx.stop_id_tag = stop.id_tag
    tx.stopped_by = StoppedBy.CHARGE_POINT
    tx.flags = list(dict.fromkeys(flags))
    energy_settle(tx)
    instance_update(tx, _STOP_FIELDS)  # save(update_fields=…), as a prepared statement


_STOP_FIELDS = (
    "meter_stop",
    "stopped_at",
    "stop_reason",
    "stop_id_tag",
    "stopped_by",
    *SETTLED_FIELDS,
    "updated_at",
)


def _keep_unmatched(*, charge_point_id: int, payload: dict[str, Any], reported_id: Any) -> None:
    """A StopTransaction naming no transaction of ours, kept once (by content)."""
    action = "StopTransaction"
    UnmatchedTransactionMessage.objects.bulk_create(
        [
            UnmatchedTransactionMessage(
                charge_point_id=charge_point_id,
                action=action,
                reported_transaction_id=reported_id if isinstance(reported_id, int) else None,
                payload=payload,
                reason="unknown transactionId",
                content_hash=content_hash(action, sorted(payload.items())),
            )
        ],
        ignore_conflicts=True,
    )
