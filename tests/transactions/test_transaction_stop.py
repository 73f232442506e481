"""transaction_stop: a retried stop stores nothing twice, an unknown transactionId is kept for
reconciliation rather than refused, a stop's sanity problems are flagged (OCPP 1.6 §4.10)."""

from datetime import timedelta

import pytest

from chargepoints.models import ChargePoint, IdTag
from tests.transactions.sessions import T0, sample, samples, start, stop, stored
from transactions.models import UnmatchedTransactionMessage

pytestmark = pytest.mark.django_db


def unmatched(cp: ChargePoint) -> list[UnmatchedTransactionMessage]:
    return list(UnmatchedTransactionMessage.objects.filter(charge_point=cp).order_by("pk"))


# --- A retried StopTransaction ------------------------------------------------------------------


def test_retried_stop_keeps_the_first_stop_and_stores_its_meter_values_once(
    cp: ChargePoint, tag: IdTag
) -> None:
    tx = start(cp).transaction
    data = [sample("1500"), sample("2400", at=T0 + timedelta(minutes=30))]

    stop(cp, tx.pk, meter_stop=3500, transaction_data=data, reason="EVDisconnected")
    stop(cp, tx.pk, meter_stop=3500, transaction_data=data, reason="EVDisconnected")

    (stopped,) = stored(cp)
    assert (stopped.meter_stop, stopped.stop_reason) == (3500, "EVDisconnected")
    assert [(mv.value, mv.transaction_id) for mv in samples(cp)] == [
        ("1500", tx.pk),
        ("2400", tx.pk),
    ]


def test_a_second_stop_with_other_values_does_not_rewrite_the_first(
    cp: ChargePoint, tag: IdTag
) -> None:
    tx = start(cp).transaction
    stop(cp, tx.pk, meter_stop=3500, at=T0 + timedelta(hours=1))

    stop(cp, tx.pk, meter_stop=9999, at=T0 + timedelta(hours=5), reason="Reboot")

    (stopped,) = stored(cp)
    assert (stopped.meter_stop, stopped.stopped_at) == (3500, T0 + timedelta(hours=1))
    assert stopped.stop_reason == "Local"


def test_a_stop_without_a_reason_is_local(cp: ChargePoint, tag: IdTag) -> None:
    # OCPP 1.6 §7.50: an absent reason means Local.
    tx = start(cp).transaction

    stop(cp, tx.pk)

    assert stored(cp)[0].stop_reason == "Local"


def test_a_stop_with_an_idtag_is_answered_with_its_verdict(cp: ChargePoint, tag: IdTag) -> None:
    tx = start(cp).transaction

    verdict = stop(cp, tx.pk, id_tag="tag-1")

    assert verdict is not None and verdict.status == "Accepted"
    assert stored(cp)[0].stop_id_tag == "tag-1"
    assert stop(cp, tx.pk) is None  # no idTag in the stop: no idTagInfo in the answer


def test_an_impossible_stop_is_stored_and_flagged_not_refused(cp: ChargePoint, tag: IdTag) -> None:
    tx = start(cp, meter_start=5000).transaction

    stop(cp, tx.pk, meter_stop=4000, at=T0 - timedelta(minutes=1))

    (stopped,) = stored(cp)
    assert stopped.meter_stop == 4000
    assert stopped.flags == ["meter_stop_below_meter_start", "stopped_before_started"]


# --- Unknown transaction ids --------------------------------------------------------------------


def test_a_stop_for_an_unknown_transaction_is_kept_unmatched_with_its_meter_values(
    cp: ChargePoint,
) -> None:
    stop(cp, 424242, transaction_data=[sample("777")])

    (kept,) = unmatched(cp)
    assert (kept.action, kept.reported_transaction_id) == ("StopTransaction", 424242)
    assert kept.reason == "unknown transactionId"
    assert kept.payload["meter_stop"] == 3500
    (value,) = samples(cp)
    assert (value.transaction_id, value.reported_transaction_id) == (None, 424242)
    assert (value.connector_id, value.value) == (0, "777")


def test_a_retried_unmatched_stop_is_kept_once(cp: ChargePoint) -> None:
    for _ in range(3):
        stop(cp, 424242, transaction_data=[sample("777")])

    assert len(unmatched(cp)) == 1
    assert len(samples(cp)) == 1


@pytest.mark.parametrize("reported", [0, -5, 2**31])
def test_a_transaction_id_we_never_hand_out_is_unmatched(
    cp: ChargePoint, tag: IdTag, reported: int
) -> None:
    # Our ids are 1..2^31-1 (an OCPP integer); anything else cannot name a session.
    start(cp)

    stop(cp, reported)

    assert [row.reported_transaction_id for row in unmatched(cp)] == [reported]
    assert stored(cp)[0].stopped_at is None


def test_another_charge_points_transaction_is_not_stopped_by_this_one(
    cp: ChargePoint, other_cp: ChargePoint
) -> None:
    IdTag.objects.create(tenant=other_cp.tenant, id_tag="TAG-1")
    theirs = start(other_cp).transaction

    stop(cp, theirs.pk)

    assert stored(other_cp)[0].stopped_at is None
    assert [row.reported_transaction_id for row in unmatched(cp)] == [theirs.pk]
