"""``/api/v1/charging-profiles/``: CRUD, validation, install and clear through the outbox."""

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from chargepoints.models import ChargePoint, Command
from csms.tenancy.models import Tenant
from smartcharging.models import ChargingProfile, ChargingSite, InstalledChargingProfile
from tests.api_errors import error_fields, errored_fields, is_about
from tests.factories import ChargePointFactory, TransactionFactory
from transactions.models import Transaction

pytestmark = pytest.mark.django_db

URL = "/api/v1/charging-profiles/"


def detail(profile_id: int, suffix: str = "") -> str:
    return f"{URL}{profile_id}/{suffix}"


def body(**overrides: Any) -> dict[str, Any]:
    schedule = {
        "charging_rate_unit": "A",
        "charging_schedule_period": [
            {"start_period": 0, "limit": 16},
            {"start_period": 3600, "limit": "10.5", "number_phases": 1},
        ],
        **overrides.pop("charging_schedule", {}),
    }
    return {
        "name": "Evening cap",
        "stack_level": 1,
        "charging_profile_purpose": "TxDefaultProfile",
        "charging_profile_kind": "Absolute",
        "charging_schedule": {"start_schedule": "2024-05-06T08:00:00Z", **schedule},
        **overrides,
    }


def snapshot() -> tuple[int, int]:
    return ChargingProfile.objects.count(), Command.objects.count()


def test_create_stores_the_profile_and_gives_it_the_next_id(api: APIClient) -> None:
    first = api.post(URL, body(), format="json")
    second = api.post(URL, body(stack_level=2), format="json")

    assert first.status_code == 201, first.json()
    data = first.json()
    assert data["charging_profile_id"] == 1
    assert second.json()["charging_profile_id"] == 2
    assert data["charging_schedule"] == {
        "duration": None,
        "start_schedule": "2024-05-06T08:00:00Z",
        "charging_rate_unit": "A",
        "charging_schedule_period": [
            {"start_period": 0, "limit": 16.0, "number_phases": None},
            {"start_period": 3600, "limit": 10.5, "number_phases": 1},
        ],
        "min_charging_rate": None,
    }
    assert data["recurrency_kind"] is None
    assert data["installations"] == []
    assert data["commands"] == []
    assert api.get(detail(1)).json()["name"] == "Evening cap"


def test_create_with_install_sends_the_exact_set_charging_profile(
    api: APIClient, cp: ChargePoint
) -> None:
    response = api.post(
        URL,
        body(
            charging_profile_id=77,
            valid_to="2024-06-01T00:00:00+02:00",
            charging_schedule={"duration": 7200, "min_charging_rate": 6},
            install={"charge_point": "CP-1", "connector_id": 0},
        ),
        format="json",
    )

    assert response.status_code == 201, response.json()
    (command_data,) = response.json()["commands"]
    command = Command.objects.get(pk=command_data["id"])
    assert (command.charge_point, command.action, command.status) == (
        cp,
        "SetChargingProfile",
        "queued",
    )
    assert command.payload == {
        "connectorId": 0,
        "csChargingProfiles": {
            "chargingProfileId": 77,
            "stackLevel": 1,
            "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Absolute",
            "validTo": "2024-05-31T22:00:00Z",
            "chargingSchedule": {
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": [
                    {"startPeriod": 0, "limit": 16.0},
                    {"startPeriod": 3600, "limit": 10.5, "numberPhases": 1},
                ],
                "duration": 7200,
                "startSchedule": "2024-05-06T08:00:00Z",
                "minChargingRate": 6.0,
            },
        },
    }
    assert command.requested_by_token is not None


def test_a_tx_profile_installed_on_a_busy_connector_names_its_transaction(
    api: APIClient, cp: ChargePoint
) -> None:
    tx = TransactionFactory(charge_point=cp, connector_id=2)

    response = api.post(
        URL,
        body(
            charging_profile_purpose="TxProfile",
            charging_profile_kind="Relative",
            charging_schedule={"start_schedule": None},
            install={"charge_point": "CP-1", "connector_id": 2},
        ),
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["transaction_id"] == tx.pk
    command = Command.objects.get(action="SetChargingProfile")
    assert command.payload["connectorId"] == 2
    assert command.payload["csChargingProfiles"]["transactionId"] == tx.pk
    assert "startSchedule" not in command.payload["csChargingProfiles"]["chargingSchedule"]


def tx_profile_installed(api: APIClient, tx: Transaction, *, connector_id: int) -> Any:
    """A TxProfile for ``tx`` created, then installed on CP-1's ``connector_id``: the answer."""
    created = api.post(
        URL, body(charging_profile_purpose="TxProfile", transaction_id=tx.pk), format="json"
    )
    return api.post(
        detail(created.json()["charging_profile_id"], "install/"),
        {"charge_point": "CP-1", "connector_id": connector_id},
        format="json",
    )


def test_a_tx_profile_for_a_named_transaction_can_be_created_then_installed(
    api: APIClient, cp: ChargePoint
) -> None:
    tx = TransactionFactory(charge_point=cp, connector_id=1)
    response = tx_profile_installed(api, tx, connector_id=1)

    assert response.status_code == 202, response.json()
    assert response.json()["action"] == "SetChargingProfile"
    assert response.json()["payload"]["csChargingProfiles"]["transactionId"] == tx.pk


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"charging_profile_purpose": "TxProfile"}, "transaction_id"),
        ({"charging_profile_kind": "Recurring"}, "recurrency_kind"),
        ({"recurrency_kind": "Daily"}, "recurrency_kind"),
        ({"charging_profile_kind": "Relative"}, "charging_schedule.start_schedule"),
        (
            {"charging_schedule": {"charging_schedule_period": [{"start_period": 60, "limit": 1}]}},
            "charging_schedule.charging_schedule_period",
        ),
        (
            {
                "charging_schedule": {
                    "charging_schedule_period": [
                        {"start_period": 0, "limit": 1},
                        {"start_period": 0, "limit": 2},
                    ]
                }
            },
            "charging_schedule.charging_schedule_period",
        ),
        (
            {"valid_from": "2024-05-02T00:00:00Z", "valid_to": "2024-05-01T00:00:00Z"},
            "valid_to",
        ),
        ({"stack_level": -1}, "stack_level"),
        ({"charging_profile_purpose": "Whatever"}, "charging_profile_purpose"),
        ({"charging_schedule": {"charging_rate_unit": "kW"}}, "charging_schedule"),
        (
            {
                "charging_schedule": {
                    "charging_schedule_period": [{"start_period": 0, "limit": 2.675}]
                }
            },
            "charging_schedule",
        ),
        ({"charging_schedule": {"charging_schedule_period": []}}, "charging_schedule"),
        ({"charging_schedule": {"duration": 0}}, "charging_schedule"),
        ({"charging_profile_id": 0}, "charging_profile_id"),
    ],
)
def test_invalid_profiles_are_refused_with_the_field_and_nothing_is_stored(
    api: APIClient, overrides: dict[str, Any], field: str
) -> None:
    before = snapshot()

    response = api.post(URL, body(**overrides), format="json")

    assert response.status_code == 400
    assert is_about(response, field), response.json()
    assert snapshot() == before


@pytest.mark.parametrize(
    ("overrides", "install", "message"),
    [
        ({"charging_profile_purpose": "ChargePointMaxProfile"}, 1, "connector 0"),
        ({}, 99, None),  # a TxDefaultProfile may go to any connector
        ({"charging_profile_purpose": "TxProfile"}, 1, "no transaction is active"),
    ],
)
def test_install_target_rules(
    api: APIClient, cp: ChargePoint, overrides: dict[str, Any], install: int, message: str | None
) -> None:
    response = api.post(
        URL,
        body(**overrides, install={"charge_point": "CP-1", "connector_id": install}),
        format="json",
    )

    if message is None:
        assert response.status_code == 201
    else:
        assert response.status_code == 400
        assert message in str(response.json())
        assert snapshot() == (0, 0)


def test_a_tx_profile_cannot_go_to_another_connector_than_its_transaction(
    api: APIClient, cp: ChargePoint
) -> None:
    tx = TransactionFactory(charge_point=cp, connector_id=1)
    TransactionFactory(charge_point=cp, connector_id=2)
    response = tx_profile_installed(api, tx, connector_id=2)

    assert response.status_code == 400
    assert Command.objects.count() == 0


def test_a_tx_profile_for_an_ended_transaction_is_refused(api: APIClient, cp: ChargePoint) -> None:
    tx = TransactionFactory(charge_point=cp, stopped=True)

    response = api.post(
        URL, body(charging_profile_purpose="TxProfile", transaction_id=tx.pk), format="json"
    )

    assert response.status_code == 400
    assert "has ended" in str(error_fields(response)["transaction_id"])


def test_a_duplicate_id_is_refused(api: APIClient) -> None:
    api.post(URL, body(charging_profile_id=5), format="json")

    response = api.post(URL, body(charging_profile_id=5), format="json")

    assert response.status_code == 400
    assert "charging_profile_id" in errored_fields(response)


def test_the_same_id_is_free_in_another_tenant(api: APIClient, other_api: APIClient) -> None:
    api.post(URL, body(charging_profile_id=5), format="json")

    assert other_api.post(URL, body(charging_profile_id=5), format="json").status_code == 201


# --- Another tenant ---------------------------------------------------------------------------


@pytest.fixture
def theirs(other_api: APIClient) -> int:
    return other_api.post(URL, body(), format="json").json()["charging_profile_id"]


@pytest.mark.parametrize(
    ("method", "suffix", "payload"),
    [
        ("get", "", None),
        ("patch", "", {"name": "mine now"}),
        ("delete", "", None),
        ("post", "install/", {"charge_point": "CP-1", "connector_id": 1}),
    ],
)
def test_another_tenants_profile_is_not_found(
    api: APIClient,
    cp: ChargePoint,
    theirs: int,
    method: str,
    suffix: str,
    payload: dict[str, Any] | None,
) -> None:
    before = list(ChargingProfile.objects.values_list("name", flat=True))

    response = getattr(api, method)(detail(theirs, suffix), payload, format="json")

    assert response.status_code == 404
    assert response.json() == api.get(detail(999)).json()
    assert list(ChargingProfile.objects.values_list("name", flat=True)) == before
    assert api.get(URL).json()["count"] == 0


def test_another_tenants_charge_point_or_transaction_is_unknown(
    api: APIClient, other_cp: ChargePoint
) -> None:
    tx = TransactionFactory(charge_point=other_cp)

    install = api.post(
        URL, body(install={"charge_point": "CP-THEIRS", "connector_id": 0}), format="json"
    )
    named = api.post(
        URL, body(charging_profile_purpose="TxProfile", transaction_id=tx.pk), format="json"
    )

    assert install.status_code == 400
    assert "install.charge_point" in error_fields(install)
    assert named.status_code == 400
    assert error_fields(named)["transaction_id"] == ["No such transaction."]
    assert snapshot() == (0, 0)


# --- Change, delete, list ---------------------------------------------------------------------


@pytest.fixture
def installed(api: APIClient, cp: ChargePoint, answer: Callable[..., Command]) -> int:
    """Profile 1, installed on CP-1 connector 0 (the charge point accepted it)."""
    response = api.post(
        URL, body(install={"charge_point": "CP-1", "connector_id": 0}), format="json"
    )
    answer(Command.objects.get(pk=response.json()["commands"][0]["id"]), {"status": "Accepted"})
    return response.json()["charging_profile_id"]


def test_a_change_is_sent_wherever_the_profile_is_installed(api: APIClient, installed: int) -> None:
    response = api.patch(
        detail(installed),
        {"charging_schedule": {"charging_schedule_period": [{"start_period": 0, "limit": 8}]}},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json()["charging_schedule"]["charging_schedule_period"] == [
        {"start_period": 0, "limit": 8.0, "number_phases": None}
    ]
    assert response.json()["charging_schedule"]["start_schedule"] == "2024-05-06T08:00:00Z"
    (command,) = response.json()["commands"]
    assert command["payload"]["connectorId"] == 0
    assert command["payload"]["csChargingProfiles"]["chargingSchedule"][
        "chargingSchedulePeriod"
    ] == [{"startPeriod": 0, "limit": 8.0}]


def test_an_invalid_change_is_refused_and_changes_nothing(api: APIClient, installed: int) -> None:
    before = api.get(detail(installed)).json()

    response = api.patch(detail(installed), {"recurrency_kind": "Daily"}, format="json")

    assert response.status_code == 400
    assert api.get(detail(installed)).json() == before
    assert Command.objects.filter(action="SetChargingProfile").count() == 1


def test_the_id_cannot_be_changed(api: APIClient, installed: int) -> None:
    response = api.patch(detail(installed), {"charging_profile_id": 9}, format="json")

    assert response.status_code == 400


def test_delete_clears_the_profile_from_every_charge_point_that_has_it(
    api: APIClient, installed: int, cp: ChargePoint
) -> None:
    response = api.delete(detail(installed))

    assert response.status_code == 204
    assert api.get(detail(installed)).status_code == 404
    clear = Command.objects.get(action="ClearChargingProfile")
    assert (clear.charge_point, clear.payload) == (cp, {"id": installed})
    # Still installed until the charge point confirms the clear.
    assert InstalledChargingProfile.objects.filter(charge_point=cp).count() == 1


def test_a_sites_profile_is_not_edited_by_hand(api: APIClient, tenant: Tenant) -> None:
    site = ChargingSite.objects.create(
        tenant=tenant, name="Depot", limit_unit="A", limit=32, min_rate=6
    )
    api.post(URL, body(charging_profile_id=3), format="json")
    ChargingProfile.objects.filter(charging_profile_id=3).update(charging_site=site)

    assert api.patch(detail(3), {"name": "x"}, format="json").status_code == 400
    assert api.delete(detail(3)).status_code == 400
    assert ChargingProfile.objects.filter(charging_profile_id=3, name="Evening cap").exists()


def test_list_filters(api: APIClient, installed: int, tenant: Tenant) -> None:
    ChargePointFactory(tenant=tenant, identity="CP-2")
    api.post(URL, body(charging_profile_purpose="ChargePointMaxProfile"), format="json")

    def ids(query: str) -> list[int]:
        response = api.get(f"{URL}?{query}")
        assert response.status_code == 200, response.json()
        return [p["charging_profile_id"] for p in response.json()["results"]]

    assert ids("") == [1, 2]
    assert ids("purpose=ChargePointMaxProfile") == [2]
    assert ids("charge_point=CP-1") == [1]
    assert ids("charge_point=CP-2") == []
    assert ids("stack_level=1") == [1, 2]
    assert api.get(f"{URL}?purpose=Nope").status_code == 400
    assert api.get(detail(1)).json()["installations"][0]["charge_point"] == "CP-1"


def test_openapi_documents_the_smart_charging_endpoints(client: Any) -> None:
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()[
        "paths"
    ]

    for path in (
        "/api/v1/charging-profiles/",
        "/api/v1/charging-profiles/{charging_profile_id}/",
        "/api/v1/charging-profiles/{charging_profile_id}/install/",
        "/api/v1/charging-sites/",
        "/api/v1/charging-sites/{id}/",
        "/api/v1/charge-points/{identity}/composite-schedule/",
        "/api/v1/charge-points/{identity}/charging-profiles/",
        "/api/v1/charge-points/{identity}/clear-charging-profiles/",
    ):
        assert path in paths, path
