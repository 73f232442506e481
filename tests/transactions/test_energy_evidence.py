"""Energy a bill can rest on (issue 15 §3), through the services as the handlers call them: the
stop settles the energy from the best evidence, a stop's idTag is checked against the start's,
identical values of one frame are each kept, values after the stop are kept apart."""

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chargepoints.models import ChargePoint, IdTag
from csms.tenancy.models import Tenant
from tests.factories import ChargePointFactory, IdTagFactory
from tests.transactions.sessions import (
    T0,
    meter_values,
    sample,
    samples,
    start,
    stop,
    stored,
    wire,
)
from transactions.services import transaction_close

pytestmark = pytest.mark.django_db


# --- The energy of a stop -----------------------------------------------------------------------


def test_a_consistent_stop_is_its_own_evidence(cp: ChargePoint, tag: IdTag) -> None:
    tx = start(cp, meter_start=1000).transaction
    meter_values(cp, sample("2000", at=T0 + timedelta(minutes=20)), transaction_id=tx.pk)

    stop(cp, tx.pk, meter_stop=3500)

    (session,) = stored(cp)
    assert (session.energy_wh, session.energy_source, session.flags) == (2500, "meter_stop", [])


def test_a_stop_below_its_start_takes_the_energy_from_the_register_in_kwh(
    cp: ChargePoint, tag: IdTag
) -> None:
    tx = start(cp, meter_start=5000).transaction
    begin = sample("5.000", unit="kWh", context="Transaction.Begin", at=T0)
    end = sample("7.250", unit="kWh", context="Transaction.End", at=T0 + timedelta(hours=1))

    stop(cp, tx.pk, meter_stop=0, transaction_data=[begin, end])

    (session,) = stored(cp)
    assert (session.energy_wh, session.energy_source) == (2250, "register")
    assert "meter_stop_below_meter_start" in session.flags


def test_a_register_that_disagrees_with_the_stop_is_flagged(cp: ChargePoint, tag: IdTag) -> None:
    tx = start(cp, meter_start=1000).transaction
    meter_values(
        cp,
        sample("1000", at=T0),
        sample("40000", at=T0 + timedelta(minutes=30)),
        transaction_id=tx.pk,
    )

    stop(cp, tx.pk, meter_stop=3000)

    (session,) = stored(cp)
    assert (session.energy_wh, session.energy_source) == (2000, "meter_stop")
    assert session.flags == ["energy_mismatch"]


def test_phase_readings_and_other_measurands_are_not_the_register(
    cp: ChargePoint, tag: IdTag
) -> None:
    tx = start(cp, meter_start=5000).transaction
    data = [
        sample("1", at=T0, phase="L1"),
        sample("900000", at=T0 + timedelta(minutes=30), phase="L1"),
        sample("230", at=T0 + timedelta(minutes=30), measurand="Voltage", unit="V"),
    ]

    stop(cp, tx.pk, meter_stop=0, transaction_data=data)

    (session,) = stored(cp)
    assert (session.energy_wh, session.energy_source) == (None, "none")


# --- The stop's idTag -------------------------------------------------------------------------


def test_a_stop_by_another_card_of_the_same_parent_is_accepted(cp: ChargePoint, tag: IdTag) -> None:
    IdTagFactory(tenant=cp.tenant, id_tag="TAG-2", parent_id_tag="fleet")
    tx = start(cp).transaction

    verdict = stop(cp, tx.pk, id_tag="TAG-2")

    assert verdict is not None
    assert (verdict.status, verdict.parent_id_tag) == ("Accepted", "fleet")
    assert stored(cp)[0].flags == []


def test_a_stop_by_a_card_of_another_holder_gets_its_own_verdict_and_is_flagged(
    cp: ChargePoint, tag: IdTag
) -> None:
    IdTagFactory(tenant=cp.tenant, id_tag="STRANGER", parent_id_tag="OTHER-FLEET")
    tx = start(cp).transaction

    verdict = stop(cp, tx.pk, id_tag="STRANGER")

    assert verdict is not None and verdict.status == "Accepted"
    (session,) = stored(cp)
    assert session.flags == ["stop_id_tag_mismatch"]
    assert session.stop_id_tag == "STRANGER"


def test_a_stop_by_an_unknown_card_is_answered_invalid_and_still_stops(
    cp: ChargePoint, tag: IdTag
) -> None:
    tx = start(cp).transaction

    verdict = stop(cp, tx.pk, id_tag="NOBODY")

    assert verdict is not None and verdict.status == "Invalid"
    (session,) = stored(cp)
    assert not session.active
    assert session.flags == ["stop_id_tag_mismatch"]


def test_the_starting_card_stops_its_session_even_blocked_meanwhile(
    cp: ChargePoint, tag: IdTag
) -> None:
    tx = start(cp).transaction
    IdTag.objects.filter(pk=tag.pk).update(status="Blocked")

    verdict = stop(cp, tx.pk, id_tag="TAG-1")

    assert verdict is not None and verdict.status == "Accepted"


# --- Sampled values -----------------------------------------------------------------------------


def test_identical_values_in_one_frame_are_each_kept_and_a_retry_adds_none(
    cp: ChargePoint, tag: IdTag
) -> None:
    tx = start(cp).transaction
    current = {"measurand": "Current.Import", "unit": "A"}
    frame = {
        "timestamp": "2025-03-01T08:05:00Z",
        "sampled_value": [{"value": "16.0", **current} for _ in range(3)],
    }

    meter_values(cp, frame, transaction_id=tx.pk)
    meter_values(cp, frame, transaction_id=tx.pk)

    assert [v.value for v in samples(cp)] == ["16.0", "16.0", "16.0"]


def test_a_left_out_field_is_stored_as_null(cp: ChargePoint) -> None:
    meter_values(cp, sample("1234"))

    (value,) = samples(cp)
    assert (value.phase, value.location, value.context, value.unit) == (None, None, None, None)


def test_values_after_the_stop_are_kept_apart_and_flag_the_session(
    cp: ChargePoint, tag: IdTag
) -> None:
    tx = start(cp, meter_start=1000).transaction
    stop(cp, tx.pk, meter_stop=3000, at=T0 + timedelta(hours=1))

    meter_values(cp, sample("3000", at=T0 + timedelta(minutes=50)), transaction_id=tx.pk)
    meter_values(cp, sample("9000", at=T0 + timedelta(hours=2)), transaction_id=tx.pk)
    meter_values(cp, sample("9100", at=T0 + timedelta(hours=3)), transaction_id=tx.pk)

    assert [(v.value, v.after_stop) for v in samples(cp)] == [
        ("3000", False),  # within the session, only delivered late
        ("9000", True),
        ("9100", True),
    ]
    (session,) = stored(cp)
    assert session.flags == ["meter_values_after_stop"]
    assert session.energy_wh == 2000  # the bill is not rewritten


# --- Hostile values, property-tested through the services -------------------------------------

meter_figures = st.integers(min_value=-(2**63), max_value=2**63 - 1)
register_texts = st.one_of(
    st.integers(min_value=-(10**15), max_value=10**15).map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["", "abc", "0A1B", "1e400", "-0"]),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    meter_start=meter_figures,
    meter_stop=meter_figures,
    readings=st.lists(st.tuples(register_texts, st.sampled_from([None, "Wh", "kWh"])), max_size=6),
    server_close_first=st.booleans(),
)
def test_a_hostile_session_is_stored_once_with_an_energy_that_is_never_negative(
    tenant: Tenant,
    meter_start: int,
    meter_stop: int,
    readings: list[tuple[str, str | None]],
    server_close_first: bool,
) -> None:
    station = ChargePointFactory(tenant=tenant)
    IdTagFactory(tenant=tenant, id_tag=f"H-{station.pk}")
    tx = start(station, id_tag=f"H-{station.pk}", meter_start=meter_start).transaction
    data = [
        {
            "timestamp": wire(T0 + timedelta(minutes=n + 1)),
            "sampled_value": [{"value": value, **({"unit": unit} if unit else {})}],
        }
        for n, (value, unit) in enumerate(readings)
    ]
    meter_values(station, *data, transaction_id=tx.pk)
    if server_close_first:
        transaction_close(transaction=tx)

    for _ in range(2):  # a retry with another message id
        stop(station, tx.pk, meter_stop=meter_stop)

    (session,) = stored(station)
    assert not session.active
    assert session.stopped_by == "charge_point"
    assert session.meter_stop == meter_stop
    assert session.energy_wh is None or 0 <= session.energy_wh <= 2**63 - 1
    assert session.energy_source in {"meter_stop", "register", "none"}
    assert len(samples(station)) == len(readings)
