"""What a charge point has installed follows its answers (SetChargingProfile,
ClearChargingProfile) and its transactions, never our intentions."""

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from chargepoints.commands.dispatch import command_dispatch
from chargepoints.models import ChargePoint, Command
from smartcharging.models import InstalledChargingProfile
from tests.factories import ChargingProfileFactory, TransactionFactory
from tests.smartcharging.helpers import set_profile
from transactions.services import transaction_stop

pytestmark = pytest.mark.django_db


def installed(cp: ChargePoint) -> list[tuple[int, int, str, int]]:
    return list(
        InstalledChargingProfile.objects.filter(charge_point=cp)
        .order_by("connector_id", "charging_profile_id")
        .values_list(
            "connector_id", "charging_profile_id", "charging_profile_purpose", "stack_level"
        )
    )


@pytest.fixture
def accept(answer: Callable[..., Command]) -> Callable[[Command], Command]:
    return lambda command: answer(command, {"status": "Accepted"})


def test_an_accepted_profile_is_recorded_as_sent(
    cp: ChargePoint, accept: Callable[[Command], Command]
) -> None:
    command = accept(set_profile(cp, profile_id=5, connector_id=2))

    row = InstalledChargingProfile.objects.get(charge_point=cp)
    assert (row.connector_id, row.charging_profile_id, row.tenant_id) == (2, 5, cp.tenant_id)
    assert row.cs_charging_profiles == command.payload["csChargingProfiles"]
    assert row.command == command
    assert row.installed_at == command.completed_at


@pytest.mark.parametrize("status", ["Rejected", "NotSupported"])
def test_a_refused_profile_is_not_recorded(
    cp: ChargePoint, answer: Callable[..., Command], status: str
) -> None:
    answer(set_profile(cp, profile_id=5), {"status": status})

    assert installed(cp) == []


def test_the_record_links_the_tenants_profile_with_that_id(
    api: APIClient, cp: ChargePoint, accept: Callable[[Command], Command]
) -> None:
    profile = ChargingProfileFactory(tenant=cp.tenant, charging_profile_id=5)

    accept(set_profile(cp, profile_id=5))

    assert InstalledChargingProfile.objects.get().profile == profile


def test_the_same_id_replaces_the_old_profile_even_on_another_connector(
    cp: ChargePoint, accept: Callable[[Command], Command]
) -> None:
    accept(set_profile(cp, profile_id=5, connector_id=1, limit=16))
    accept(set_profile(cp, profile_id=5, connector_id=2, stack_level=3, limit=10))

    assert installed(cp) == [(2, 5, "TxDefaultProfile", 3)]


def test_the_same_purpose_and_stack_level_on_the_connector_replaces_the_old_profile(
    cp: ChargePoint, accept: Callable[[Command], Command]
) -> None:
    accept(set_profile(cp, profile_id=5, connector_id=1, stack_level=1))
    accept(set_profile(cp, profile_id=6, connector_id=2, stack_level=1))
    accept(set_profile(cp, profile_id=7, connector_id=1, stack_level=2))
    accept(set_profile(cp, profile_id=8, connector_id=1, stack_level=1))

    assert installed(cp) == [
        (1, 7, "TxDefaultProfile", 2),
        (1, 8, "TxDefaultProfile", 1),
        (2, 6, "TxDefaultProfile", 1),
    ]


def test_other_charge_points_are_not_touched(
    cp: ChargePoint, accept: Callable[[Command], Command], make_cp: Callable[[str], ChargePoint]
) -> None:
    neighbour = make_cp("CP-2")
    accept(set_profile(neighbour, profile_id=5))

    accept(set_profile(cp, profile_id=5))

    assert installed(neighbour) == [(1, 5, "TxDefaultProfile", 0)]


@pytest.fixture
def make_cp(cp: ChargePoint) -> Callable[[str], ChargePoint]:
    return lambda identity: ChargePoint.objects.create(tenant=cp.tenant, identity=identity)


@pytest.fixture
def stocked(cp: ChargePoint, accept: Callable[[Command], Command]) -> ChargePoint:
    accept(set_profile(cp, profile_id=1, connector_id=0, purpose="ChargePointMaxProfile"))
    accept(set_profile(cp, profile_id=2, connector_id=0, stack_level=0))
    accept(set_profile(cp, profile_id=3, connector_id=1, stack_level=0))
    accept(set_profile(cp, profile_id=4, connector_id=1, stack_level=1))
    return cp


def clear(cp: ChargePoint, **criteria: Any) -> Command:
    return command_dispatch(charge_point=cp, action="ClearChargingProfile", payload=criteria)


@pytest.mark.parametrize(
    ("criteria", "left"),
    [
        ({"id": 3}, [1, 2, 4]),
        ({"id": 3, "connectorId": 0}, [1, 2, 4]),  # by id, the other criteria do not matter
        ({"connectorId": 1}, [1, 2]),
        ({"chargingProfilePurpose": "TxDefaultProfile"}, [1]),
        ({"connectorId": 1, "stackLevel": 1}, [1, 2, 3]),
        ({"chargingProfilePurpose": "TxDefaultProfile", "stackLevel": 0}, [1, 4]),
        ({}, []),
    ],
)
def test_an_accepted_clear_removes_what_it_names(
    stocked: ChargePoint,
    answer: Callable[..., Command],
    criteria: dict[str, Any],
    left: list[int],
) -> None:
    answer(clear(stocked, **criteria), {"status": "Accepted"})

    assert [row[1] for row in installed(stocked)] == left


def test_a_clear_answered_unknown_changes_nothing(
    stocked: ChargePoint, answer: Callable[..., Command]
) -> None:
    answer(clear(stocked, id=3), {"status": "Unknown"})

    assert [row[1] for row in installed(stocked)] == [1, 2, 3, 4]


def test_a_tx_profile_ends_with_its_transaction(
    cp: ChargePoint, accept: Callable[[Command], Command]
) -> None:
    tx = TransactionFactory(charge_point=cp, connector_id=1)
    accept(set_profile(cp, profile_id=1, connector_id=1, purpose="TxProfile", transactionId=tx.pk))
    accept(set_profile(cp, profile_id=2, connector_id=1, purpose="TxDefaultProfile"))

    transaction_stop(
        tenant_id=cp.tenant_id,
        charge_point_id=cp.pk,
        identity=cp.identity,
        payload={"transaction_id": tx.pk, "meter_stop": 2000, "timestamp": "2025-01-01T02:00:00Z"},
    )

    assert installed(cp) == [(1, 2, "TxDefaultProfile", 0)]


def test_installed_profiles_of_a_charge_point_are_listed(
    api: APIClient, stocked: ChargePoint, other_api: APIClient
) -> None:
    response = api.get("/api/v1/charge-points/CP-1/charging-profiles/")

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(r["connector_id"], r["charging_profile_id"]) for r in rows] == [
        (0, 1),
        (0, 2),
        (1, 4),
        (1, 3),
    ]
    assert rows[0]["cs_charging_profiles"]["chargingProfilePurpose"] == "ChargePointMaxProfile"
    assert other_api.get("/api/v1/charge-points/CP-1/charging-profiles/").status_code == 404


def test_clear_by_criteria_through_the_api(
    api: APIClient, cp: ChargePoint, other_api: APIClient
) -> None:
    response = api.post(
        "/api/v1/charge-points/CP-1/clear-charging-profiles/",
        {"connector_id": 1, "charging_profile_purpose": "TxDefaultProfile"},
        format="json",
    )
    foreign = other_api.post("/api/v1/charge-points/CP-1/clear-charging-profiles/", {})
    invalid = api.post(
        "/api/v1/charge-points/CP-1/clear-charging-profiles/",
        {"charging_profile_purpose": "Nope"},
        format="json",
    )

    assert response.status_code == 202
    assert response.json()["payload"] == {
        "connectorId": 1,
        "chargingProfilePurpose": "TxDefaultProfile",
    }
    assert foreign.status_code == 404
    assert invalid.status_code == 400
    assert Command.objects.count() == 1


def test_a_raw_set_charging_profile_breaking_the_rules_is_refused(
    api: APIClient, cp: ChargePoint
) -> None:
    payload = {
        "connectorId": 1,
        "csChargingProfiles": {
            "chargingProfileId": 1,
            "stackLevel": 0,
            "chargingProfilePurpose": "ChargePointMaxProfile",
            "chargingProfileKind": "Absolute",
            "chargingSchedule": {
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}],
            },
        },
    }

    response = api.post(
        "/api/v1/charge-points/CP-1/commands/",
        {"action": "SetChargingProfile", "payload": payload},
        format="json",
    )

    assert response.status_code == 400
    assert "connector 0" in response.json()["detail"]
    assert Command.objects.count() == 0
