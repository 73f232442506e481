"""meter_values_record: every sampledValue stored as sent (the OCPP 1.6 §7.45 defaults are the
readers'), a retried frame inserts nothing twice, an unknown transactionId kept as reported."""

from datetime import timedelta

import pytest

from chargepoints.models import ChargePoint, IdTag
from tests.transactions.sessions import T0, meter_values, sample, samples, start

pytestmark = pytest.mark.django_db

FIELDS = ("context", "format", "measurand", "phase", "location", "unit")


def test_a_sampled_value_with_only_its_value_is_stored_as_sent(
    cp: ChargePoint,
) -> None:
    # Issue 15 §3: what was left out is NULL (served as null), not a default nor "" (OCPP 1.6
    # §7.45 gives phase no default; the readers apply the others').
    meter_values(cp, sample("1234"))

    (value,) = samples(cp)
    assert value.value == "1234"
    assert tuple(getattr(value, field) for field in FIELDS) == (None,) * len(FIELDS)


def test_what_the_charge_point_says_is_kept_verbatim(cp: ChargePoint) -> None:
    given = {
        "context": "Transaction.Begin",
        "format": "SignedData",
        "measurand": "Voltage",
        "phase": "L1-N",
        "location": "Inlet",
        "unit": "V",
    }

    meter_values(cp, sample("0A1B2C", **given))

    (value,) = samples(cp)
    assert {field: getattr(value, field) for field in FIELDS} == given
    assert value.value == "0A1B2C"


def test_a_retried_meter_values_frame_stores_nothing_twice(cp: ChargePoint, tag: IdTag) -> None:
    tx = start(cp).transaction
    frame = [sample("1500"), sample("1600", at=T0 + timedelta(minutes=10), measurand="Power")]

    meter_values(cp, *frame, transaction_id=tx.pk)
    meter_values(cp, *frame, transaction_id=tx.pk)

    assert [(mv.value, mv.transaction_id) for mv in samples(cp)] == [
        ("1500", tx.pk),
        ("1600", tx.pk),
    ]


def test_the_same_reading_at_another_time_is_another_sample(cp: ChargePoint) -> None:
    meter_values(cp, sample("1500", at=T0))

    meter_values(cp, sample("1500", at=T0 + timedelta(minutes=1)))

    assert len(samples(cp)) == 2


def test_values_for_an_unknown_transaction_are_kept_with_the_id_reported(
    cp: ChargePoint,
) -> None:
    meter_values(cp, sample("42"), connector_id=2, transaction_id=31337)

    (value,) = samples(cp)
    assert (value.transaction_id, value.reported_transaction_id) == (None, 31337)
    assert value.connector_id == 2


def test_values_for_another_charge_points_transaction_are_not_attached_to_it(
    cp: ChargePoint, other_cp: ChargePoint
) -> None:
    IdTag.objects.create(tenant=other_cp.tenant, id_tag="TAG-1")
    theirs = start(other_cp).transaction

    meter_values(cp, sample("42"), transaction_id=theirs.pk)

    (value,) = samples(cp)
    assert (value.transaction_id, value.reported_transaction_id) == (None, theirs.pk)
    assert samples(other_cp) == []


def test_values_without_a_transaction_are_the_connectors_own(cp: ChargePoint) -> None:
    meter_values(cp, sample("230", measurand="Voltage", unit="V"), connector_id=0)

    (value,) = samples(cp)
    assert (value.transaction_id, value.reported_transaction_id, value.connector_id) == (
        None,
        None,
        0,
    )
