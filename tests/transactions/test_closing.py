"""Zombie sessions (issue 15 §2): closed on the server by staff, tenants and the tenants' rules,
each once and with its reason; a late StopTransaction reconciled into the session; ConcurrentTx
counting only live sessions."""

from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction as db_transaction
from django_celery_beat.models import PeriodicTask

from chargepoints.models import ChargePoint, Connector, ConnectorStatusChange, IdTag
from csms.errors import ConflictError, DomainError
from csms.webhooks.event_types import EventType
from csms.webhooks.models import Event, WebhookEndpoint
from tests.transactions.sessions import T0, meter_values, sample, start, stop, stored
from transactions.models import SessionClosingRules, Transaction
from transactions.services import transaction_close, zombie_sessions_close
from transactions.tasks import close_zombie_sessions_task

pytestmark = pytest.mark.django_db

NOW = T0 + timedelta(days=1)


@pytest.fixture
def webhook(cp: ChargePoint) -> WebhookEndpoint:
    """An endpoint of the tenant subscribed to everything: the webhook events get written."""
    return WebhookEndpoint.objects.create(
        tenant=cp.tenant, url="https://billing.example/hooks", secret="s" * 32
    )


def webhook_types() -> list[str]:
    return list(
        Event.objects.filter(type__startswith="transaction.")
        .order_by("created_at", "id")
        .values_list("type", flat=True)
    )


def status_report(cp: ChargePoint, status: str, at: Any, connector_id: int = 1) -> None:
    Connector.objects.update_or_create(
        charge_point=cp,
        connector_id=connector_id,
        defaults={"status": status, "status_timestamp": at},
    )
    ConnectorStatusChange.objects.create(
        charge_point=cp,
        connector_id=connector_id,
        status=status,
        error_code="NoError",
        timestamp=at,
    )


# --- Closed by staff or a tenant ----------------------------------------------------------------


def test_a_close_stops_the_session_for_the_server_with_who_and_why(
    cp: ChargePoint, tag: IdTag
) -> None:
    tx = start(cp, meter_start=1000).transaction
    meter_values(cp, sample("1800", at=T0 + timedelta(minutes=30)), transaction_id=tx.pk)

    transaction_close(transaction=tx, reason="Charger replaced", closed_by="staff:alice")

    (closed,) = stored(cp)
    assert closed.stopped_at is not None
    assert (closed.stopped_by, closed.closed_by, closed.close_reason) == (
        "server",
        "staff:alice",
        "Charger replaced",
    )
    assert closed.stop_reason == "Other"
    # No meter_stop given: the last register reading stands for it.
    assert (closed.meter_stop, closed.energy_wh, closed.energy_source) == (1800, 800, "meter_stop")
    assert closed.flags == ["closed_by_server"]


def test_a_close_with_a_meter_stop_and_an_ocpp_reason_keeps_them(
    cp: ChargePoint, tag: IdTag
) -> None:
    tx = start(cp, meter_start=1000).transaction
    at = T0 + timedelta(hours=2)

    transaction_close(transaction=tx, meter_stop=4200, stopped_at=at, reason="EVDisconnected")

    (closed,) = stored(cp)
    assert (closed.meter_stop, closed.energy_wh, closed.stopped_at) == (4200, 3200, at)
    assert (closed.stop_reason, closed.close_reason) == ("EVDisconnected", "EVDisconnected")


def test_a_close_without_any_reading_has_no_energy(cp: ChargePoint, tag: IdTag) -> None:
    tx = start(cp).transaction

    transaction_close(transaction=tx)

    (closed,) = stored(cp)
    assert (closed.meter_stop, closed.energy_wh, closed.energy_source) == (None, None, "none")


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"stopped_at": T0 - timedelta(minutes=1)}, "before the session started"),
        ({"stopped_at": T0 + timedelta(days=3650)}, "in the future"),
        ({"meter_stop": 999}, "meter_stop must be between"),
    ],
)
def test_an_impossible_close_is_refused_and_changes_nothing(
    cp: ChargePoint, tag: IdTag, fields: dict[str, Any], error: str
) -> None:
    tx = start(cp, meter_start=1000).transaction

    with pytest.raises(DomainError, match=error):
        transaction_close(transaction=tx, **fields)

    assert stored(cp)[0].stopped_at is None


def test_a_stopped_session_cannot_be_closed_again(cp: ChargePoint, tag: IdTag) -> None:
    tx = start(cp).transaction
    stop(cp, tx.pk)

    with pytest.raises(ConflictError):
        transaction_close(transaction=tx)


# --- The charger's stop after a server close ----------------------------------------------------


def test_a_late_stop_is_reconciled_into_one_session_with_the_chargers_figures(
    cp: ChargePoint, tag: IdTag, webhook: WebhookEndpoint
) -> None:
    tx = start(cp, meter_start=1000).transaction
    meter_values(cp, sample("1800", at=T0 + timedelta(minutes=30)), transaction_id=tx.pk)
    transaction_close(transaction=tx, closed_by="staff:alice")
    real_stop = T0 + timedelta(hours=3)

    verdict = stop(cp, tx.pk, meter_stop=5000, at=real_stop, reason="EVDisconnected")
    stop(cp, tx.pk, meter_stop=5000, at=real_stop, reason="EVDisconnected")  # retried

    assert verdict is None  # answered (no idTag in it)
    (session,) = stored(cp)
    assert (session.meter_stop, session.energy_wh, session.stopped_at) == (5000, 4000, real_stop)
    assert (session.stopped_by, session.stop_reason) == ("charge_point", "EVDisconnected")
    assert session.closed_by == "staff:alice"  # the history stays
    assert webhook_types() == [
        "transaction.started",
        "transaction.stopped",
        "transaction.reconciled",
    ]
    reconciled = Event.objects.get(type=EventType.TRANSACTION_RECONCILED)
    assert (reconciled.data["energy_wh"], reconciled.data["server_energy_wh"]) == (4000, 800)


def test_meter_values_put_after_a_server_close_rejoin_the_session_when_it_is_reconciled(
    cp: ChargePoint, tag: IdTag
) -> None:
    tx = start(cp, meter_start=1000).transaction
    transaction_close(transaction=tx, stopped_at=T0 + timedelta(minutes=10))
    # The charger comes back online with its queue: a sample after the server's close...
    meter_values(cp, sample("2500", at=T0 + timedelta(minutes=40)), transaction_id=tx.pk)
    assert tx.meter_values.get().after_stop
    assert "meter_values_after_stop" in Transaction.objects.get(pk=tx.pk).flags

    # ...and its stop, later than both.
    stop(cp, tx.pk, meter_stop=3000, at=T0 + timedelta(hours=1))

    assert not tx.meter_values.get().after_stop


def test_the_stop_of_a_session_closed_as_stale_is_a_reconciliation_not_a_second_stop(
    cp: ChargePoint, tag: IdTag, webhook: WebhookEndpoint
) -> None:
    stale = start(cp, at=T0).transaction
    start(cp, at=T0 + timedelta(hours=3), meter_start=9000)

    stop(cp, stale.pk, meter_stop=2200, at=T0 + timedelta(hours=2))

    assert webhook_types() == [
        "transaction.started",
        "transaction.stopped",
        "transaction.started",
        "transaction.reconciled",
    ]
    assert Transaction.objects.get(pk=stale.pk).closed_by == "stale:new_start_on_connector"


# --- The tenants' rules -------------------------------------------------------------------------


def rules(cp: ChargePoint, **fields: int) -> SessionClosingRules:
    return SessionClosingRules.objects.create(tenant=cp.tenant, **fields)


def test_without_rules_nothing_is_closed(cp: ChargePoint, tag: IdTag) -> None:
    start(cp)
    status_report(cp, "Available", T0 + timedelta(minutes=5))

    assert zombie_sessions_close(now=NOW) == 0
    assert stored(cp)[0].active


def test_a_connector_available_too_long_closes_its_session_when_it_became_available(
    cp: ChargePoint, tag: IdTag
) -> None:
    rules(cp, available_minutes=30)
    start(cp)
    status_report(cp, "Charging", T0 + timedelta(minutes=1))
    status_report(cp, "Available", T0 + timedelta(minutes=50))
    status_report(cp, "Available", T0 + timedelta(minutes=70))  # a repeat: still since :50

    assert zombie_sessions_close(now=T0 + timedelta(minutes=79)) == 0
    assert zombie_sessions_close(now=T0 + timedelta(minutes=81)) == 1
    assert zombie_sessions_close(now=T0 + timedelta(minutes=90)) == 0  # once

    (closed,) = stored(cp)
    assert closed.stopped_at == T0 + timedelta(minutes=50)
    assert (closed.closed_by, closed.close_reason) == (
        "rule:connector_available",
        "Connector Available for more than 30 minutes",
    )


@pytest.mark.parametrize("status", ["Finishing", "SuspendedEV", "Charging"])
def test_a_connector_not_available_keeps_its_session(
    cp: ChargePoint, tag: IdTag, status: str
) -> None:
    rules(cp, available_minutes=30)
    start(cp)
    status_report(cp, status, T0 + timedelta(minutes=5))

    assert zombie_sessions_close(now=NOW) == 0


def test_an_available_reported_before_the_start_does_not_count(cp: ChargePoint, tag: IdTag) -> None:
    # A charger that never reports its session's Preparing/Charging: left alone.
    rules(cp, available_minutes=30)
    status_report(cp, "Available", T0 - timedelta(minutes=5))
    start(cp)

    assert zombie_sessions_close(now=NOW) == 0


def test_a_silent_offline_charge_point_has_its_session_closed_at_its_last_reading(
    cp: ChargePoint, tag: IdTag
) -> None:
    rules(cp, silent_hours=6)
    tx = start(cp, meter_start=1000).transaction
    last = T0 + timedelta(hours=1)
    meter_values(cp, sample("2000", at=last), transaction_id=tx.pk)
    ChargePoint.objects.filter(pk=cp.pk).update(connected=False, last_seen=last)

    assert zombie_sessions_close(now=last + timedelta(hours=5)) == 0
    assert zombie_sessions_close(now=last + timedelta(hours=7)) == 1

    (closed,) = stored(cp)
    assert (closed.stopped_at, closed.meter_stop, closed.energy_wh) == (last, 2000, 1000)
    assert closed.closed_by == "rule:no_meter_values_no_connection"


def test_a_connected_charge_point_keeps_its_silent_session(cp: ChargePoint, tag: IdTag) -> None:
    rules(cp, silent_hours=6)
    start(cp)
    ChargePoint.objects.filter(pk=cp.pk).update(connected=True, last_seen=NOW)

    assert zombie_sessions_close(now=NOW) == 0


def test_rules_are_the_tenants_own(cp: ChargePoint, other_cp: ChargePoint, tag: IdTag) -> None:
    IdTag.objects.create(tenant=other_cp.tenant, id_tag="TAG-1")
    SessionClosingRules.objects.create(tenant=other_cp.tenant, silent_hours=1)
    start(cp)
    start(other_cp)

    assert zombie_sessions_close(now=NOW) == 1

    assert stored(cp)[0].active
    assert not stored(other_cp)[0].active


def test_the_rules_run_on_beat_every_five_minutes(cp: ChargePoint, tag: IdTag) -> None:
    task = PeriodicTask.objects.get(task="transactions.close_zombie_sessions")
    assert (task.interval.every, task.interval.period) == (5, "minutes")

    rules(cp, silent_hours=1)
    start(cp)
    close_zombie_sessions_task()

    assert not stored(cp)[0].active


# --- Only live sessions count -------------------------------------------------------------------


def test_a_closed_zombie_no_longer_makes_the_card_concurrent(cp: ChargePoint, tag: IdTag) -> None:
    zombie = start(cp, connector_id=1).transaction
    assert start(cp, connector_id=2, at=T0 + timedelta(hours=1)).verdict.status == "ConcurrentTx"

    transaction_close(transaction=zombie)

    assert start(cp, connector_id=3, at=T0 + timedelta(hours=2)).verdict.status == "Accepted"


def test_a_start_elsewhere_closes_the_cards_zombie_by_the_rules_before_refusing_it(
    cp: ChargePoint, tag: IdTag
) -> None:
    # The beat has not run yet: the StartTransaction applies the tenant's rules itself.
    rules(cp, available_minutes=30)
    zombie = start(cp, connector_id=1).transaction
    status_report(cp, "Available", T0 + timedelta(minutes=5))

    with db_transaction.atomic():
        outcome = start(cp, connector_id=2, at=T0 + timedelta(hours=2))

    assert outcome.verdict.status == "Accepted"
    assert Transaction.objects.get(pk=zombie.pk).closed_by == "rule:connector_available"
