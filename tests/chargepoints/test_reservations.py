"""Reservations: ReserveNow/CancelReservation through the outbox, their answers, their end."""

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connections
from django_celery_beat.models import PeriodicTask
from rest_framework.test import APIClient

from chargepoints.models import ChargePoint, Command, CommandStatus, ConfigurationKey, Reservation
from chargepoints.reservations.connectors import reservation_conflict
from chargepoints.reservations.services import reservation_create
from chargepoints.tasks import expire_reservations
from csms.tenancy.models import Tenant
from tests.api_errors import errored_fields
from tests.charge_point_calls import Answer, call_context
from tests.factories import (
    ChargePointFactory,
    ConnectorFactory,
    IdTagFactory,
    ReservationFactory,
)
from transactions.handlers import start_transaction
from transactions.models import Transaction

pytestmark = pytest.mark.django_db

RESERVATIONS = "/api/v1/reservations/"


def in_an_hour() -> datetime:
    return (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)


@pytest.fixture
def charge_point(tenant: Tenant) -> ChargePoint:
    return ChargePointFactory(tenant=tenant, identity="CP-1", connected=True)


@pytest.fixture
def id_tag(tenant: Tenant) -> str:
    IdTagFactory(tenant=tenant, id_tag="TAG-1", parent_id_tag="FLEET")
    return "TAG-1"


def reserve(api: APIClient, **fields: Any) -> Any:
    body = {"charge_point": "CP-1", "connector_id": 1, "id_tag": "TAG-1"} | fields
    body.setdefault("expiry_date", in_an_hour().isoformat())
    return api.post(RESERVATIONS, body, format="json")


def reservation(pk: int) -> Reservation:
    return Reservation.objects.get(pk=pk)


# --- ReserveNow ---------------------------------------------------------------------------------


def test_post_sends_reserve_now_and_answers_202_until_the_charge_point_answers(
    api: APIClient, charge_point: ChargePoint, id_tag: str
) -> None:
    expiry = in_an_hour()

    response = reserve(api, expiry_date=expiry.isoformat())

    assert response.status_code == 202, response.json()
    body = response.json()
    assert (body["status"], body["charge_point"], body["connector_id"]) == ("requested", "CP-1", 1)
    assert body["parent_id_tag"] == "FLEET"
    command = Command.objects.get()
    assert command.action == "ReserveNow"
    assert command.payload == {
        "connectorId": 1,
        "expiryDate": expiry.isoformat().replace("+00:00", "Z"),
        "idTag": "TAG-1",
        "parentIdTag": "FLEET",
        "reservationId": body["reservation_id"],
    }
    assert body["reserve_command"]["id"] == command.pk
    assert command.requested_by_token_id is not None


def test_wait_without_an_answer_still_answers_202(
    api: APIClient, charge_point: ChargePoint, id_tag: str
) -> None:
    # Connector 0 (the default) where the charge point reported it may be reserved.
    ConfigurationKey.objects.create(
        charge_point=charge_point, key="ReserveConnectorZeroSupported", value="true"
    )
    response = api.post(
        f"{RESERVATIONS}?wait=0.2",
        {"charge_point": "CP-1", "id_tag": "TAG-1", "expiry_date": in_an_hour().isoformat()},
        format="json",
    )

    assert response.status_code == 202
    assert response.json()["connector_id"] == 0  # any connector by default
    assert response.json()["reserve_command"]["status"] == "queued"


@pytest.mark.parametrize(
    ("answered", "status"),
    [
        ("Accepted", "accepted"),
        ("Faulted", "faulted"),
        ("Occupied", "occupied"),
        ("Rejected", "rejected"),
        ("Unavailable", "unavailable"),
    ],
)
def test_each_reserve_now_answer_is_recorded(
    api: APIClient,
    charge_point: ChargePoint,
    id_tag: str,
    answer: Answer,
    answered: str,
    status: str,
) -> None:
    created = reserve(api).json()

    answer(Command.objects.get(), {"status": answered})

    assert reservation(created["id"]).status == status
    shown = api.get(f"{RESERVATIONS}{created['id']}/").json()
    assert shown["status"] == status
    assert shown["reserve_command"]["response"] == {"status": answered}


def test_reservation_ids_are_allocated_per_tenant(
    api: APIClient,
    other_api: APIClient,
    charge_point: ChargePoint,
    other_tenant: Tenant,
    id_tag: str,
) -> None:
    ChargePointFactory(tenant=other_tenant, identity="CP-1")
    IdTagFactory(tenant=other_tenant, id_tag="TAG-1")

    mine = [reserve(api, connector_id=n).json()["reservation_id"] for n in (1, 2)]
    theirs = reserve(other_api).json()["reservation_id"]

    assert mine == [1, 2]
    assert theirs == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_reservations_get_distinct_reservation_ids(tenant: Tenant) -> None:
    IdTagFactory(tenant=tenant, id_tag="TAG-1")
    charge_points = [ChargePointFactory(tenant=tenant) for _ in range(10)]
    barrier = threading.Barrier(len(charge_points))
    errors: list[BaseException] = []

    def reserve_at(charge_point: ChargePoint) -> None:
        try:
            barrier.wait()
            reservation_create(
                charge_point=charge_point, connector_id=1, id_tag="TAG-1", expiry_date=in_an_hour()
            )
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=reserve_at, args=(cp,)) for cp in charge_points]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    ids = sorted(Reservation.objects.values_list("reservation_id", flat=True))
    assert ids == list(range(1, len(charge_points) + 1))
    assert Command.objects.filter(action="ReserveNow").count() == len(charge_points)


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"expiry_date": "2020-01-01T00:00:00Z"}, "invalid_expiry_date"),
        ({"id_tag": "UNKNOWN"}, "id_tag_not_accepted"),
        ({"id_tag": "BLOCKED"}, "id_tag_not_accepted"),
        ({"id_tag": "ELSEWHERE"}, "id_tag_not_accepted"),
    ],
)
def test_invalid_reservation_is_400_and_sends_nothing(
    api: APIClient,
    tenant: Tenant,
    charge_point: ChargePoint,
    id_tag: str,
    fields: dict[str, Any],
    why: str,
) -> None:
    IdTagFactory(tenant=tenant, id_tag="BLOCKED", status="Blocked")
    elsewhere = IdTagFactory(tenant=tenant, id_tag="ELSEWHERE", restricted=True)
    elsewhere.allowed_charge_points.set([ChargePointFactory(tenant=tenant)])

    response = reserve(api, **fields)

    assert response.status_code == 400
    assert response.json()["code"] == why
    assert not Reservation.objects.exists()
    assert not Command.objects.exists()


def test_reservation_on_a_pending_charge_point_is_400(
    api: APIClient, charge_point: ChargePoint, id_tag: str
) -> None:
    ChargePoint.objects.filter(pk=charge_point.pk).update(registration_status="Pending")

    assert reserve(api).status_code == 400
    assert not Command.objects.exists()


def test_reserving_an_already_reserved_connector_is_409(
    api: APIClient, charge_point: ChargePoint, id_tag: str, answer: Answer
) -> None:
    reserve(api)
    answer(Command.objects.get(), {"status": "Accepted"})

    response = reserve(api)

    assert response.status_code == 409
    assert Reservation.objects.count() == 1
    assert reserve(api, connector_id=2).status_code == 202


def test_another_tenants_charge_point_cannot_be_reserved(
    api: APIClient, other_tenant: Tenant, id_tag: str
) -> None:
    ChargePointFactory(tenant=other_tenant, identity="THEIRS")

    response = reserve(api, charge_point="THEIRS")

    assert response.status_code == 400
    assert "charge_point" in errored_fields(response)
    assert not Reservation.objects.exists()


# --- CancelReservation --------------------------------------------------------------------------


def test_delete_sends_cancel_reservation_and_accepted_cancels_it(
    api: APIClient, charge_point: ChargePoint, id_tag: str, answer: Answer
) -> None:
    created = reserve(api).json()
    answer(Command.objects.get(action="ReserveNow"), {"status": "Accepted"})

    response = api.delete(f"{RESERVATIONS}{created['id']}/")

    assert response.status_code == 202
    cancel = Command.objects.get(action="CancelReservation")
    assert cancel.payload == {"reservationId": created["reservation_id"]}
    assert response.json()["cancel_command"]["id"] == cancel.pk
    assert reservation(created["id"]).status == "accepted"  # until the charge point says so

    answer(cancel, {"status": "Accepted"})
    assert reservation(created["id"]).status == "cancelled"


def test_rejected_cancel_leaves_the_reservation(
    api: APIClient, charge_point: ChargePoint, id_tag: str, answer: Answer
) -> None:
    created = reserve(api).json()
    answer(Command.objects.get(action="ReserveNow"), {"status": "Accepted"})
    api.delete(f"{RESERVATIONS}{created['id']}/")

    answer(Command.objects.get(action="CancelReservation"), {"status": "Rejected"})

    assert reservation(created["id"]).status == "accepted"


@pytest.mark.parametrize("status", ["used", "cancelled", "expired", "rejected"])
def test_ended_reservation_cannot_be_cancelled(
    api: APIClient, charge_point: ChargePoint, status: str
) -> None:
    ended = ReservationFactory(charge_point=charge_point, status=status)

    response = api.delete(f"{RESERVATIONS}{ended.pk}/")

    assert response.status_code == 409
    assert not Command.objects.exists()


# --- How reservations end -----------------------------------------------------------------------


def start_with(charge_point: ChargePoint, reservation_id: int, *, at: datetime) -> Transaction:
    answer = start_transaction(
        call_context(charge_point, "StartTransaction"),
        {
            "connector_id": 1,
            "id_tag": "TAG-1",
            "meter_start": 0,
            "timestamp": at.isoformat(),
            "reservation_id": reservation_id,
        },
    )
    return Transaction.objects.get(pk=answer["transaction_id"])


def test_start_transaction_with_the_reservation_id_uses_it_and_links_the_transaction(
    api: APIClient, charge_point: ChargePoint, id_tag: str, answer: Answer
) -> None:
    created = reserve(api).json()
    answer(Command.objects.get(), {"status": "Accepted"})

    tx = start_with(charge_point, created["reservation_id"], at=datetime.now(UTC))

    used = reservation(created["id"])
    assert (used.status, used.transaction) == ("used", tx)
    assert api.get(f"{RESERVATIONS}{created['id']}/").json()["transaction"] == tx.pk


def test_start_transaction_naming_another_tenants_reservation_id_changes_nothing(
    charge_point: ChargePoint, other_tenant: Tenant, id_tag: str
) -> None:
    theirs = ReservationFactory(
        charge_point=ChargePointFactory(tenant=other_tenant), reservation_id=7
    )

    start_with(charge_point, 7, at=datetime.now(UTC))

    assert reservation(theirs.pk).status == "accepted"


def test_expired_reservations_are_swept_by_the_beat_task(charge_point: ChargePoint) -> None:
    past = ReservationFactory(
        charge_point=charge_point, expiry_date=datetime.now(UTC) - timedelta(seconds=1)
    )
    unanswered = ReservationFactory(
        charge_point=charge_point,
        status="requested",
        expiry_date=datetime.now(UTC) - timedelta(minutes=5),
    )
    future = ReservationFactory(charge_point=charge_point)
    used = ReservationFactory(
        charge_point=charge_point, status="used", expiry_date=datetime.now(UTC) - timedelta(days=1)
    )

    assert expire_reservations.delay().get() == 2

    assert [reservation(r.pk).status for r in (past, unanswered, future, used)] == [
        "expired",
        "expired",
        "accepted",
        "used",
    ]
    schedule = PeriodicTask.objects.get(task="chargepoints.expire_reservations")
    assert schedule.enabled
    assert schedule.interval is not None


def test_a_late_start_transaction_that_began_before_expiry_still_uses_the_reservation(
    charge_point: ChargePoint, id_tag: str
) -> None:
    expiry = datetime.now(UTC) - timedelta(minutes=10)
    swept = ReservationFactory(
        charge_point=charge_point,
        status="expired",
        expiry_date=expiry,
        reservation_id=3,
        id_tag="TAG-1",
    )

    start_with(charge_point, 3, at=expiry - timedelta(minutes=1))

    assert reservation(swept.pk).status == "used"


# --- Reserved connectors ------------------------------------------------------------------------


def test_reserved_connector_shows_reserved_until_the_reservation_ends(
    api: APIClient, charge_point: ChargePoint
) -> None:
    ConnectorFactory(charge_point=charge_point, connector_id=1, status="Available")
    ConnectorFactory(charge_point=charge_point, connector_id=2, status="Available")
    ConnectorFactory(charge_point=charge_point, connector_id=3, status="Faulted")
    held = ReservationFactory(charge_point=charge_point, connector_id=1)
    ReservationFactory(charge_point=charge_point, connector_id=3)
    ReservationFactory(charge_point=charge_point, connector_id=2, status="rejected")

    def statuses() -> list[str]:
        body = api.get("/api/v1/charge-points/CP-1/").json()
        return [c["status"] for c in body["connectors"]]

    assert statuses() == ["Reserved", "Available", "Faulted"]
    listed = api.get("/api/v1/charge-points/").json()["results"][0]
    assert [c["status"] for c in listed["connectors"]] == ["Reserved", "Available", "Faulted"]

    Reservation.objects.filter(pk=held.pk).update(status="used")
    assert statuses() == ["Available", "Available", "Faulted"]


# --- Reading, and tenancy -----------------------------------------------------------------------


def test_list_is_paginated_and_filtered(
    api: APIClient, tenant: Tenant, charge_point: ChargePoint
) -> None:
    ReservationFactory(charge_point=charge_point, status="accepted")
    ReservationFactory(charge_point=charge_point, status="expired")
    ReservationFactory(charge_point=ChargePointFactory(tenant=tenant, identity="CP-2"))

    everything = api.get(RESERVATIONS).json()
    accepted = api.get(RESERVATIONS, {"status": "accepted"}).json()
    at_cp2 = api.get(RESERVATIONS, {"charge_point": "CP-2"}).json()

    assert set(everything) == {"count", "next", "previous", "results"}
    assert everything["count"] == 3
    assert accepted["count"] == 2
    assert [r["charge_point"] for r in at_cp2["results"]] == ["CP-2"]
    assert api.get(RESERVATIONS, {"status": "bogus"}).status_code == 400


@pytest.mark.parametrize("method", ["get", "delete"])
def test_another_tenants_reservation_is_404_and_untouched(
    api: APIClient, other_tenant: Tenant, method: str
) -> None:
    theirs = ReservationFactory(charge_point=ChargePointFactory(tenant=other_tenant))

    response = getattr(api, method)(f"{RESERVATIONS}{theirs.pk}/")

    assert response.status_code == 404
    assert response.json() == api.get(f"{RESERVATIONS}999999/").json()
    assert reservation(theirs.pk).status == "accepted"
    assert not Command.objects.exists()
    assert api.get(RESERVATIONS).json()["count"] == 0


def test_unanswered_reserve_now_command_reads_in_the_reservation(
    api: APIClient, charge_point: ChargePoint, id_tag: str
) -> None:
    created = reserve(api).json()
    Command.objects.update(status=CommandStatus.EXPIRED)

    shown = api.get(f"{RESERVATIONS}{created['id']}/").json()

    assert (shown["status"], shown["reserve_command"]["status"]) == ("requested", "expired")


# --- Connector 0 and single connectors (OCPP 1.6 §5.13) -----------------------------------------


@pytest.mark.parametrize(
    ("connector_id", "reserved", "connectors", "conflicts"),
    [
        (1, [1], 2, True),  # the same connector twice
        (2, [1], 2, False),
        (0, [], 2, False),
        (0, [1], 2, False),  # connector 2 stays free for the connector-0 reservation
        (0, [1, 2], 2, True),  # nothing left to hold free
        (2, [0, 1], 2, True),  # would take the connector the connector-0 one holds
        (0, [0], 2, False),
        (0, [0, 0], 2, True),
        (1, [0], 0, True),  # count unknown: connector 0 and single ones exclude each other
        (0, [1], 0, True),
        (0, [0], 0, False),
    ],
)
def test_connector_zero_reservations_keep_a_connector_free(
    connector_id: int, reserved: list[int], connectors: int, conflicts: bool
) -> None:
    problem = reservation_conflict(
        connector_id=connector_id, reserved=reserved, connectors=connectors
    )
    assert (problem is not None) == conflicts
