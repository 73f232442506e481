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

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from chargepoints.authorization.verdicts import (
    AuthorizationStatus,
    IdTagVerdict,
    id_tag_verdict,
    with_concurrency,
)
from chargepoints.reservations.services import reservation_start_problem
from csms.events import TransactionStarted, TransactionStopped, publish
from csms.timestamps import parse_timestamp
from transactions.models import Transaction, UnmatchedTransactionMessage
from transactions.services.meter_values import (
    content_hash,
    known_transaction_id,
    meter_values_store,
)

DEFAULT_STOP_REASON = "Local"  # OCPP 1.6 §6.49: absent reason means Local
FUTURE_TOLERANCE = timedelta(minutes=5)


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
    on_connector = list(
        Transaction.objects.select_for_update()
        .filter(charge_point_id=charge_point_id, connector_id=connector_id)
        .filter(
            Q(stopped_at=None) | Q(id_tag=id_tag, started_at=started_at, meter_start=meter_start)
        )
        .order_by("pk")
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
        active_elsewhere = _active_sessions_elsewhere(
            tenant_id=tenant_id,
            id_tag=id_tag,
            charge_point_id=charge_point_id,
            connector_id=connector_id,
        )
        verdict = with_concurrency(verdict, active_elsewhere=active_elsewhere)

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
    try:
        with transaction.atomic():
            created = Transaction.objects.create(
                tenant_id=tenant_id,
                id_tag_status=verdict.status,
                parent_id_tag=verdict.parent_id_tag,
                reservation_id=reservation_id,
                flags=flags,
                **content,
            )
            publish(TransactionStarted(**_started_fields(created, identity)))
    except IntegrityError:
        # The same StartTransaction raced in on another connection: answer with its id.
        existing = Transaction.objects.get(**content)
        return StartOutcome(existing, _stored_verdict(existing))
    return StartOutcome(created, verdict)


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


def _started_fields(tx: Transaction, identity: str) -> dict[str, Any]:
    return {
        "tenant_id": tx.tenant_id,
        "charge_point_id": tx.charge_point_id,
        "identity": identity,
        "transaction_id": tx.pk,
        "connector_id": tx.connector_id,
        "id_tag": tx.id_tag,
        "id_tag_status": tx.id_tag_status,
        "meter_start": tx.meter_start,
        "started_at": tx.started_at,
        "reservation_id": tx.reservation_id,
    }


def _stopped(tx: Transaction, identity: str) -> TransactionStopped:
    if tx.stopped_at is None:
        raise ValueError(f"transaction {tx.pk} is not stopped: no TransactionStopped for it")
    return TransactionStopped(
        **_started_fields(tx, identity),
        meter_stop=tx.meter_stop,
        energy_wh=tx.energy_wh,
        stopped_at=tx.stopped_at,
        stop_reason=tx.stop_reason,
        flags=tx.flags,
    )


def _close_stale_transactions(
    *, identity: str, stale: list[Transaction], superseded_at: datetime | None
) -> None:
    """A connector has one active transaction: one never stopped (``stale``, read locked) is
    closed and flagged."""
    for tx in stale:
        tx.stopped_at = max(superseded_at or timezone.now(), tx.started_at)
        tx.stop_reason = "Other"
        tx.flags = [*tx.flags, "closed_as_stale: a new StartTransaction arrived on its connector"]
        tx.save(update_fields=["stopped_at", "stop_reason", "flags", "updated_at"])
        publish(_stopped(tx, identity))


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
    it (idempotent); keep unknown ones for reconciliation.

    Returns the idTag verdict to answer with when the stop carries an idTag.
    """
    reported_id = payload["transaction_id"]
    stopped_at = parse_timestamp(payload["timestamp"])
    id_tag = payload.get("id_tag") or ""
    verdict = (
        id_tag_verdict(tenant_id=tenant_id, id_tag=id_tag, charge_point_id=charge_point_id)
        if id_tag
        else None
    )
    transaction_id = known_transaction_id(reported_id)
    tx = (
        Transaction.objects.select_for_update()
        .filter(pk=transaction_id, charge_point_id=charge_point_id)
        .first()
        if transaction_id is not None
        else None
    )
    if tx is None:
        _keep_unmatched(charge_point_id=charge_point_id, payload=payload, reported_id=reported_id)
        meter_values_store(
            charge_point_id=charge_point_id,
            connector_id=0,
            transaction=None,
            reported_transaction_id=reported_id,
            meter_values=payload.get("transaction_data") or [],
        )
        return verdict
    if tx.meter_stop is None:  # still open, or closed as stale before its real stop came
        _apply_stop(
            tx, payload=payload, stopped_at=stopped_at, id_tag=id_tag, compat_flags=compat_flags
        )
        publish(_stopped(tx, identity))
    # else: a retry of a stop we already stored; its meter values deduplicate below.
    meter_values_store(
        charge_point_id=charge_point_id,
        connector_id=tx.connector_id,
        transaction=tx,
        reported_transaction_id=reported_id,
        meter_values=payload.get("transaction_data") or [],
    )
    return verdict


def _apply_stop(
    tx: Transaction,
    *,
    payload: dict[str, Any],
    stopped_at: datetime | None,
    id_tag: str,
    compat_flags: Sequence[str],
) -> None:
    flags = [*tx.flags, *compat_flags]
    meter_stop = payload["meter_stop"]
    if meter_stop < 0:
        flags.append("meter_stop_negative")
    if meter_stop < tx.meter_start:
        flags.append("meter_stop_below_meter_start")
    if stopped_at is not None and stopped_at < tx.started_at:
        flags.append("stopped_before_started")
    if _is_future(stopped_at, timezone.now()):
        flags.append("stop_timestamp_in_future")
    tx.meter_stop = meter_stop
    tx.stopped_at = stopped_at or timezone.now()
    tx.stop_reason = payload.get("reason") or DEFAULT_STOP_REASON
    tx.stop_id_tag = id_tag
    tx.flags = flags
    tx.save(
        update_fields=[
            "meter_stop",
            "stopped_at",
            "stop_reason",
            "stop_id_tag",
            "flags",
            "updated_at",
        ]
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
