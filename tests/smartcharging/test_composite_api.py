"""``/api/v1/charge-points/{identity}/composite-schedule/``."""

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from chargepoints.models import ChargePoint, Command
from smartcharging.models import ChargingSite, ChargingSiteMembership
from tests.smartcharging.helpers import set_profile

pytestmark = pytest.mark.django_db

URL = "/api/v1/charge-points/CP-1/composite-schedule/"


@pytest.fixture
def limited(cp: ChargePoint, answer: Callable[..., Command]) -> ChargePoint:
    """CP-1: 32 A for the whole charge point, 16 A by default on connector 1."""
    for command in (
        set_profile(cp, profile_id=1, connector_id=0, purpose="ChargePointMaxProfile", limit=32),
        set_profile(cp, profile_id=2, connector_id=1, limit=16),
    ):
        answer(command, {"status": "Accepted"})
    return cp


def test_the_composite_schedule_of_a_connector(api: APIClient, limited: ChargePoint) -> None:
    before = timezone.now().replace(microsecond=0)

    response = api.get(URL, {"connector_id": 1, "duration": 600})

    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["charge_point"] == "CP-1"
    assert (data["connector_id"], data["duration"], data["charging_rate_unit"]) == (1, 600, "A")
    assert data["charging_schedule_period"] == [
        {"start_period": 0, "limit": 16.0, "number_phases": None}
    ]
    assert data["charge_point_answer"] is None
    start = timezone.datetime.fromisoformat(data["schedule_start"])
    assert before <= start <= timezone.now()


def test_connector_zero_shows_the_charge_points_total_under_its_limit(
    api: APIClient, limited: ChargePoint
) -> None:
    response = api.get(URL, {"connector_id": 0})

    # Its one connector's 16 A, under the ChargePointMaxProfile's 32 A (OCPP 1.6 §5.7).
    assert response.json()["charging_schedule_period"][0]["limit"] == 16.0
    assert response.json()["duration"] == 3600


def test_watts_use_the_given_or_the_sites_voltage_and_phases(
    api: APIClient, limited: ChargePoint
) -> None:
    def limit(**query: object) -> float:
        response = api.get(URL, {"connector_id": 1, "unit": "W", **query})
        assert response.status_code == 200, response.json()
        return response.json()["charging_schedule_period"][0]["limit"]

    assert limit() == 16 * 230 * 3
    assert limit(voltage=110, phases=1) == 16 * 110
    site = ChargingSite.objects.create(
        tenant=limited.tenant,
        name="Depot",
        limit_unit="W",
        limit=50000,
        min_rate=0,
        voltage=240,
        phases=1,
    )
    ChargingSiteMembership.objects.create(site=site, charge_point=limited)
    assert limit() == 16 * 240


def test_a_schedule_changes_where_a_period_starts(
    api: APIClient, cp: ChargePoint, answer: Callable[..., Command]
) -> None:
    start = timezone.now().replace(microsecond=0) - timedelta(minutes=30)
    command = set_profile(cp, profile_id=3, connector_id=1, limit=20)
    command.payload["csChargingProfiles"]["chargingSchedule"] = {
        "chargingRateUnit": "A",
        "startSchedule": start.isoformat(),
        "chargingSchedulePeriod": [
            {"startPeriod": 0, "limit": 20},
            {"startPeriod": 3600, "limit": 8},
        ],
    }
    command.save()
    answer(command, {"status": "Accepted"})

    periods = api.get(URL, {"connector_id": 1}).json()["charging_schedule_period"]

    assert [p["limit"] for p in periods] == [20.0, 8.0]
    assert 1798 <= periods[1]["start_period"] <= 1800


def test_without_profiles_nothing_limits(api: APIClient, cp: ChargePoint) -> None:
    response = api.get(URL, {"connector_id": 2})

    assert response.json()["charging_schedule_period"] == [
        {"start_period": 0, "limit": None, "number_phases": None}
    ]


def test_ask_sends_get_composite_schedule(api: APIClient, cp: ChargePoint) -> None:
    response = api.get(URL, {"connector_id": 1, "duration": 900, "unit": "W", "ask": 1, "wait": 0})

    assert response.status_code == 200, response.json()
    answer = response.json()["charge_point_answer"]
    command = Command.objects.get()
    assert answer["id"] == command.pk
    assert (command.action, command.payload) == (
        "GetCompositeSchedule",
        {"connectorId": 1, "duration": 900, "chargingRateUnit": "W"},
    )
    assert answer["status"] == "queued"


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"connector_id": -1},
        {"connector_id": "x"},
        {"connector_id": 1, "duration": 0},
        {"connector_id": 1, "unit": "kW"},
        {"connector_id": 1, "wait": 61},
        {"connector_id": 1, "phases": 4},
    ],
)
def test_invalid_queries_are_refused(api: APIClient, cp: ChargePoint, query: dict) -> None:
    response = api.get(URL, query)

    assert response.status_code == 400
    assert Command.objects.count() == 0


def test_another_tenants_charge_point_is_not_found(other_api: APIClient, cp: ChargePoint) -> None:
    response = other_api.get(URL, {"connector_id": 1, "ask": 1, "wait": 0})

    assert response.status_code == 404
    assert Command.objects.count() == 0
