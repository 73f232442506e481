"""transaction_start: retries answered with the same transaction, stale sessions closed by a new
start, ConcurrentTx (OCPP 1.6 §4.8, §7.2) — the service itself, without a socket."""

from datetime import timedelta

import pytest

from chargepoints.models import ChargePoint, IdTag
from tests.transactions.sessions import T0, start, stop, stored

pytestmark = pytest.mark.django_db

STALE_FLAG = "closed_as_stale: a new StartTransaction arrived on its connector"


# --- A retried StartTransaction -----------------------------------------------------------------


def test_retried_start_transaction_returns_the_same_transaction(
    cp: ChargePoint, tag: IdTag
) -> None:
    # Chargers queue transaction messages offline and resend them with a new message id.
    first = start(cp, meter_start=500)
    again = start(cp, meter_start=500)

    assert again.transaction.pk == first.transaction.pk
    assert again.verdict.status == first.verdict.status == "Accepted"
    assert again.verdict.parent_id_tag == "FLEET"
    (tx,) = stored(cp)
    assert tx.pk == first.transaction.pk
    # A retry is not a new start on the connector: the session stays open.
    assert (tx.stopped_at, tx.flags) == (None, [])


def test_retried_start_of_a_session_already_stopped_finds_it_and_leaves_it_stopped(
    cp: ChargePoint, tag: IdTag
) -> None:
    first = start(cp)
    stop(cp, first.transaction.pk, meter_stop=4000)

    again = start(cp)

    assert again.transaction.pk == first.transaction.pk
    (tx,) = stored(cp)
    assert (tx.meter_stop, tx.stop_reason, tx.flags) == (4000, "Local", [])


def test_retry_answers_with_the_verdict_stored_then_not_the_idtags_status_now(
    cp: ChargePoint, tag: IdTag
) -> None:
    first = start(cp)
    IdTag.objects.filter(pk=tag.pk).update(status="Blocked")

    again = start(cp)

    assert again.transaction.pk == first.transaction.pk
    assert again.verdict.status == "Accepted"


@pytest.mark.parametrize(
    "changed",
    [{"meter_start": 1001}, {"at": T0 + timedelta(seconds=1)}, {"id_tag": "TAG-2"}],
    ids=["meter_start", "timestamp", "id_tag"],
)
def test_a_start_that_differs_in_what_identifies_it_is_a_new_transaction(
    cp: ChargePoint, tag: IdTag, changed: dict
) -> None:
    first = start(cp)

    second = start(cp, **changed)

    assert second.transaction.pk != first.transaction.pk
    assert len(stored(cp)) == 2


def test_an_unknown_idtag_still_gets_a_transaction_id_and_is_answered_invalid(
    cp: ChargePoint,
) -> None:
    outcome = start(cp, id_tag="NOBODY")

    assert outcome.verdict.status == "Invalid"
    assert outcome.transaction.pk is not None
    assert stored(cp)[0].id_tag_status == "Invalid"


# --- Stale sessions -----------------------------------------------------------------------------


def test_a_new_start_on_the_connector_closes_the_session_never_stopped(
    cp: ChargePoint, tag: IdTag
) -> None:
    stale = start(cp, id_tag="TAG-1", at=T0).transaction
    later = T0 + timedelta(hours=3)

    fresh = start(cp, id_tag="TAG-1", at=later)

    closed, open_ = stored(cp)
    assert closed.pk == stale.pk
    assert (closed.stopped_at, closed.stop_reason, closed.meter_stop) == (later, "Other", None)
    assert closed.flags == [STALE_FLAG]
    assert (open_.pk, open_.stopped_at) == (fresh.transaction.pk, None)
    # The session it replaced was closed first: the idTag is not active twice.
    assert fresh.verdict.status == "Accepted"


def test_a_stale_session_is_never_closed_before_it_started(cp: ChargePoint, tag: IdTag) -> None:
    # A charger with a clock that went backwards: the new start predates the stale one.
    start(cp, at=T0)

    start(cp, at=T0 - timedelta(hours=1), meter_start=900)

    assert stored(cp)[0].stopped_at == T0


def test_a_start_on_another_connector_leaves_the_open_session_alone(
    cp: ChargePoint, tag: IdTag
) -> None:
    start(cp, connector_id=1, id_tag="TAG-OTHER")

    start(cp, connector_id=2, id_tag="TAG-1")

    first, _ = stored(cp)
    # Open, and flagged for its unknown idTag only (issue 18 §1), not closed as stale.
    assert (first.stopped_at, first.flags) == (None, ["id_tag_not_accepted: Invalid"])


def test_the_real_stop_of_a_session_closed_as_stale_is_still_applied(
    cp: ChargePoint, tag: IdTag
) -> None:
    stale = start(cp, at=T0).transaction
    start(cp, at=T0 + timedelta(hours=3))

    stop(cp, stale.pk, meter_stop=2200, at=T0 + timedelta(hours=2), reason="EVDisconnected")

    closed = stored(cp)[0]
    assert (closed.meter_stop, closed.stopped_at) == (2200, T0 + timedelta(hours=2))
    assert closed.stop_reason == "EVDisconnected"
    assert closed.flags == [STALE_FLAG]


# --- ConcurrentTx (OCPP 1.6 §7.2) ---------------------------------------------------------------


def test_an_idtag_charging_on_another_connector_is_concurrent_tx(
    cp: ChargePoint, tag: IdTag
) -> None:
    start(cp, connector_id=1)

    second = start(cp, connector_id=2, at=T0 + timedelta(minutes=1))

    assert second.verdict.status == "ConcurrentTx"
    assert second.verdict.parent_id_tag == "FLEET"
    assert stored(cp)[1].id_tag_status == "ConcurrentTx"


def test_the_idtag_is_matched_without_regard_to_case(cp: ChargePoint, tag: IdTag) -> None:
    # CiString20 (OCPP 1.6 §7.14): "tag-1" and "TAG-1" are one idTag.
    start(cp, connector_id=1, id_tag="tag-1")

    assert start(cp, connector_id=2, id_tag="TAG-1").verdict.status == "ConcurrentTx"


def test_a_session_that_was_refused_does_not_count_as_active(cp: ChargePoint, tag: IdTag) -> None:
    # Blocked when it started; the charger never stopped the refused attempt.
    IdTag.objects.filter(pk=tag.pk).update(status="Blocked")
    assert start(cp, connector_id=1).verdict.status == "Blocked"
    IdTag.objects.filter(pk=tag.pk).update(status="Accepted")

    assert start(cp, connector_id=2).verdict.status == "Accepted"


def test_a_stopped_session_does_not_count_as_active(cp: ChargePoint, tag: IdTag) -> None:
    first = start(cp, connector_id=1)
    stop(cp, first.transaction.pk)

    assert start(cp, connector_id=2, at=T0 + timedelta(hours=2)).verdict.status == "Accepted"


def test_the_same_connector_is_never_concurrent_with_itself(cp: ChargePoint, tag: IdTag) -> None:
    start(cp, connector_id=1, at=T0)

    again = start(cp, connector_id=1, at=T0 + timedelta(hours=1))

    assert again.verdict.status == "Accepted"


def test_an_idtag_allowed_two_sessions_gets_concurrent_tx_at_the_third(
    cp: ChargePoint, tag: IdTag
) -> None:
    IdTag.objects.filter(pk=tag.pk).update(max_active_transactions=2)

    statuses = [start(cp, connector_id=n).verdict.status for n in (1, 2, 3)]

    assert statuses == ["Accepted", "Accepted", "ConcurrentTx"]


def test_another_tenants_session_with_the_same_idtag_does_not_count(
    cp: ChargePoint, other_cp: ChargePoint, tag: IdTag
) -> None:
    IdTag.objects.create(tenant=other_cp.tenant, id_tag="TAG-1")
    start(other_cp, connector_id=1)

    assert start(cp, connector_id=2).verdict.status == "Accepted"
