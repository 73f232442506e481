"""``/api/v1/charging-sites/``: CRUD, members, allocations, tenancy."""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from chargepoints.models import ChargePoint, Command
from csms.tenancy.models import Tenant
from smartcharging.models import ChargingProfile, ChargingSite, ChargingSiteMembership
from tests.api_errors import error_fields, errored_fields
from tests.factories import ChargePointFactory, TransactionFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/charging-sites/"


@pytest.fixture
def stations(tenant: Tenant) -> list[ChargePoint]:
    return [ChargePointFactory(tenant=tenant, identity=f"CP-{name}") for name in "AB"]


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks: Any) -> Callable[[], Any]:
    return lambda: django_capture_on_commit_callbacks(execute=True)


def body(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Depot",
        "charge_points": ["CP-A", "CP-B"],
        "limit_unit": "A",
        "limit": 32,
        **overrides,
    }


def test_create_a_site_with_defaults(api: APIClient, stations: list[ChargePoint]) -> None:
    response = api.post(URL, body(), format="json")

    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["charge_points"] == ["CP-A", "CP-B"]
    assert (data["limit"], data["min_rate"], data["phases"], data["voltage"]) == (
        32.0,
        6.0,
        3,
        230.0,
    )
    assert (data["connector_max_rate"], data["stack_level"], data["allocations"]) == (None, 0, [])
    assert api.get(f"{URL}{data['id']}/").json()["name"] == "Depot"


def test_a_site_in_watts_defaults_to_six_amperes_of_power(
    api: APIClient, stations: list[ChargePoint]
) -> None:
    response = api.post(URL, body(limit_unit="W", limit=44000, phases=1), format="json")

    assert response.json()["min_rate"] == 6 * 230 * 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"limit": -1}, "limit"),
        ({"limit": "1.25"}, "limit"),
        ({"limit_unit": "kW"}, "limit_unit"),
        ({"phases": 4}, "phases"),
        ({"charge_points": ["NOPE"]}, "charge_points"),
        ({"name": ""}, "name"),
    ],
)
def test_invalid_sites_are_refused(
    api: APIClient, stations: list[ChargePoint], overrides: dict[str, Any], field: str
) -> None:
    response = api.post(URL, body(**overrides), format="json")

    assert response.status_code == 400
    assert field in errored_fields(response)
    assert ChargingSite.objects.count() == 0


def test_a_charge_point_belongs_to_one_site_only(
    api: APIClient, stations: list[ChargePoint]
) -> None:
    api.post(URL, body(charge_points=["CP-A"]), format="json")

    response = api.post(URL, body(name="Annex"), format="json")

    assert response.status_code == 400
    assert "CP-A (Depot)" in str(error_fields(response)["charge_points"])
    assert ChargingSite.objects.count() == 1


def test_a_site_name_is_unique_in_the_tenant(
    api: APIClient, other_api: APIClient, stations: list[ChargePoint]
) -> None:
    api.post(URL, body(charge_points=[]), format="json")

    assert api.post(URL, body(charge_points=[]), format="json").status_code == 400
    assert other_api.post(URL, body(charge_points=[]), format="json").status_code == 201


def test_another_tenants_charge_point_cannot_join(
    api: APIClient, stations: list[ChargePoint], other_cp: ChargePoint
) -> None:
    response = api.post(URL, body(charge_points=["CP-A", "CP-THEIRS"]), format="json")

    assert response.status_code == 400
    assert not ChargingSiteMembership.objects.exists()


@pytest.mark.parametrize(
    ("method", "suffix", "payload"),
    [
        ("get", "", None),
        ("patch", "", {"limit": 1}),
        ("delete", "", None),
        ("post", "rebalance/", None),
    ],
)
def test_another_tenants_site_is_not_found(
    api: APIClient,
    other_tenant: Tenant,
    method: str,
    suffix: str,
    payload: dict[str, Any] | None,
) -> None:
    theirs = ChargingSite.objects.create(
        tenant=other_tenant, name="Theirs", limit_unit="A", limit=50, min_rate=6
    )

    response = getattr(api, method)(f"{URL}{theirs.pk}/{suffix}", payload, format="json")

    assert response.status_code == 404
    assert response.json() == api.get(f"{URL}999999/").json()
    theirs.refresh_from_db()
    assert theirs.limit == Decimal(50)
    assert api.get(URL).json()["count"] == 0


def test_changing_the_limit_reshares_it_and_shows_the_allocations(
    api: APIClient,
    stations: list[ChargePoint],
    run_on_commit: Callable[[], Any],
    answer: Callable[..., Command],
) -> None:
    site_id = api.post(URL, body(), format="json").json()["id"]
    a = TransactionFactory(charge_point=stations[0], connector_id=1)
    b = TransactionFactory(charge_point=stations[1], connector_id=2)
    api.post(f"{URL}{site_id}/rebalance/")
    for command in Command.objects.order_by("id"):
        answer(command, {"status": "Accepted"})

    with run_on_commit():
        response = api.patch(f"{URL}{site_id}/", {"limit": 20}, format="json")

    assert response.status_code == 200, response.json()
    allocations = api.get(f"{URL}{site_id}/").json()["allocations"]
    assert sorted(
        (
            x["charge_point"],
            x["connector_id"],
            x["transaction_id"],
            x["limit"],
            x["installed_limit"],
        )
        for x in allocations
    ) == [("CP-A", 1, a.pk, 10.0, 16.0), ("CP-B", 2, b.pk, 10.0, 16.0)]
    assert Command.objects.filter(status="queued").count() == 2


def test_rebalance_now_answers_the_commands_it_sent(
    api: APIClient, stations: list[ChargePoint]
) -> None:
    site_id = api.post(URL, body(), format="json").json()["id"]
    TransactionFactory(charge_point=stations[0])

    first = api.post(f"{URL}{site_id}/rebalance/")
    second = api.post(f"{URL}{site_id}/rebalance/")

    assert first.status_code == 202
    # Each member's session default (connector 0), then the session's share.
    assert [
        (c["charge_point"], c["payload"]["connectorId"], purpose(c["payload"]))
        for c in first.json()
    ] == [
        ("CP-A", 0, "TxDefaultProfile"),
        ("CP-B", 0, "TxDefaultProfile"),
        ("CP-A", 1, "TxProfile"),
    ]
    assert second.json() == []


def purpose(payload: dict[str, Any]) -> str:
    return str(payload["csChargingProfiles"]["chargingProfilePurpose"])


def test_removing_a_member_through_the_api(api: APIClient, stations: list[ChargePoint]) -> None:
    site_id = api.post(URL, body(), format="json").json()["id"]

    response = api.patch(f"{URL}{site_id}/", {"charge_points": ["CP-B"]}, format="json")

    assert response.json()["charge_points"] == ["CP-B"]
    assert list(
        ChargingSiteMembership.objects.values_list("charge_point__identity", flat=True)
    ) == ["CP-B"]


def test_deleting_a_site_lifts_the_limits_of_running_sessions(
    api: APIClient, stations: list[ChargePoint]
) -> None:
    site_id = api.post(URL, body(), format="json").json()["id"]
    TransactionFactory(charge_point=stations[0])
    api.post(f"{URL}{site_id}/rebalance/")
    share = ChargingProfile.objects.get(charging_profile_purpose="TxProfile")
    default = ChargingProfile.objects.get(charging_profile_purpose="TxDefaultProfile")

    response = api.delete(f"{URL}{site_id}/")

    assert response.status_code == 204
    clears = Command.objects.filter(action="ClearChargingProfile").order_by("id")
    assert [(clear.charge_point, clear.payload) for clear in clears] == [
        (stations[0], {"id": default.charging_profile_id}),
        (stations[1], {"id": default.charging_profile_id}),
        (stations[0], {"id": share.charging_profile_id}),
    ]
    assert not ChargingSite.objects.exists()
    assert not ChargingProfile.objects.exists()


def test_list_filters_by_unit(api: APIClient, stations: list[ChargePoint]) -> None:
    api.post(URL, body(charge_points=[]), format="json")
    api.post(URL, body(name="Power", limit_unit="W", limit=40000, charge_points=[]), format="json")

    names = [s["name"] for s in api.get(URL, {"limit_unit": "W"}).json()["results"]]

    assert names == ["Power"]
