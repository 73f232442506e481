"""ordering, search and page_size on every list of the API (SPEC §3.3, issue 20 §4): honoured,
or a 400 that says why, never silently ignored."""

import re
from typing import Any

import pytest
from rest_framework.test import APIClient

from chargepoints.models import ChargePoint
from csms.tenancy.models import Tenant
from tests.factories import (
    ChargePointFactory,
    CommandFactory,
    IdTagFactory,
    MeterValueFactory,
    TransactionFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def fleet(tenant: Tenant, other_tenant: Tenant) -> list[ChargePoint]:
    made = [
        ChargePointFactory(tenant=tenant, identity="CP-B", name="Depot north", vendor="Zeta"),
        ChargePointFactory(tenant=tenant, identity="CP-A", name="Harbour", vendor="Alpha"),
        ChargePointFactory(tenant=tenant, identity="CP-C", name="Depot south", vendor="Alpha"),
    ]
    ChargePointFactory(tenant=other_tenant, identity="CP-D", name="Depot of theirs")
    return made


def identities(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["identity"] for row in response.json()["results"]]


def list_paths(api: APIClient, charge_point: ChargePoint) -> list[str]:
    """Every list of the OpenAPI document (its 200 answer is a page), parameters filled in."""
    document = api.get("/api/schema/?format=json").json()
    schemas = document["components"]["schemas"]
    found = []
    for path, operations in document["paths"].items():
        ok = operations.get("get", {}).get("responses", {}).get("200", {})
        ref = ok.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", "")
        component = schemas.get(ref.rsplit("/", 1)[-1], {})
        if "results" not in component.get("properties", {}):
            continue
        path = path.replace("{identity}", charge_point.identity)
        found.append(re.sub(r"\{[^}]+\}", str(_existing_id(path)), path))
    return found


def _existing_id(path: str) -> int:
    from csms.webhooks.models import WebhookEndpoint
    from transactions.models import Transaction

    if "/transactions/" in path:
        return Transaction.objects.get().pk
    if "/webhooks/" in path:
        return WebhookEndpoint.objects.get().pk
    return 1


# --- One resource in detail ----------------------------------------------------------------------


def test_ordering_sorts_by_the_fields_named(api: APIClient, fleet: list[ChargePoint]) -> None:
    assert identities(api.get("/api/v1/charge-points/")) == ["CP-A", "CP-B", "CP-C"]
    assert identities(api.get("/api/v1/charge-points/?ordering=-identity")) == [
        "CP-C",
        "CP-B",
        "CP-A",
    ]
    assert identities(api.get("/api/v1/charge-points/?ordering=name")) == ["CP-B", "CP-C", "CP-A"]
    assert identities(api.get("/api/v1/charge-points/?ordering=vendor,-name")) == [
        "CP-A",
        "CP-C",
        "CP-B",
    ]


def test_ordering_by_a_field_the_list_does_not_offer_is_a_400(
    api: APIClient, fleet: list[ChargePoint]
) -> None:
    response = api.get("/api/v1/charge-points/?ordering=password_hash")

    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["attr"] == "ordering"
    assert "cannot order by password_hash" in error["detail"]
    assert "identity" in error["detail"]


def test_search_finds_every_word_in_the_text_fields_of_the_tenant_only(
    api: APIClient, fleet: list[ChargePoint]
) -> None:
    assert identities(api.get("/api/v1/charge-points/?search=depot")) == ["CP-B", "CP-C"]
    assert identities(api.get("/api/v1/charge-points/?search=depot alpha")) == ["CP-C"]
    assert identities(api.get("/api/v1/charge-points/?search=cp-a")) == ["CP-A"]
    assert identities(api.get("/api/v1/charge-points/?search=nothing-like-it")) == []


def test_page_size_sets_the_page_and_links_the_next(
    api: APIClient, fleet: list[ChargePoint]
) -> None:
    first = api.get("/api/v1/charge-points/?page_size=2")
    second = api.get(first.json()["next"])

    assert identities(first) == ["CP-A", "CP-B"]
    assert first.json()["count"] == 3
    assert "page_size=2" in first.json()["next"]
    assert identities(second) == ["CP-C"]
    assert second.json()["next"] is None


@pytest.mark.parametrize("page_size", ["0", "-1", "two", "100000"])
def test_a_page_size_out_of_range_is_a_400(
    api: APIClient, fleet: list[ChargePoint], page_size: str
) -> None:
    response = api.get(f"/api/v1/charge-points/?page_size={page_size}")

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "page_size"


def test_search_ordering_and_filters_combine_on_transactions(
    api: APIClient, tenant: Tenant
) -> None:
    depot = ChargePointFactory(tenant=tenant, identity="DEPOT-1")
    street = ChargePointFactory(tenant=tenant, identity="STREET-1")
    old = TransactionFactory(charge_point=depot, id_tag="FLEET-1", stopped=True)
    new = TransactionFactory(charge_point=depot, id_tag="FLEET-2")
    TransactionFactory(charge_point=street, id_tag="FLEET-3")

    response = api.get("/api/v1/transactions/?search=depot&ordering=started_at")
    active = api.get("/api/v1/transactions/?search=fleet&active=true&ordering=-id_tag")

    assert [row["id"] for row in response.json()["results"]] == [old.pk, new.pk]
    assert [row["id_tag"] for row in active.json()["results"]] == ["FLEET-3", "FLEET-2"]


def test_a_charge_points_commands_are_searched_and_ordered(api: APIClient, tenant: Tenant) -> None:
    cp = ChargePointFactory(tenant=tenant, identity="CP-1")
    reset = CommandFactory(charge_point=cp, action="Reset", payload={"type": "Soft"})
    clear = CommandFactory(charge_point=cp, action="ClearCache", payload={})

    ordered = api.get("/api/v1/charge-points/CP-1/commands/?ordering=action")
    searched = api.get("/api/v1/charge-points/CP-1/commands/?search=reset&page_size=1")

    assert [c["id"] for c in ordered.json()["results"]] == [clear.pk, reset.pk]
    assert [c["id"] for c in searched.json()["results"]] == [reset.pk]


def test_the_key_catalogue_is_searched_and_ordered(api: APIClient) -> None:
    searched = api.get("/api/v1/configuration-keys/?search=heartbeat")
    ordered = api.get("/api/v1/configuration-keys/?ordering=-key&page_size=3")
    refused = api.get("/api/v1/configuration-keys/?ordering=colour")

    found = [row["key"] for row in searched.json()["results"]]
    assert "HeartbeatInterval" in found
    assert 0 < len(found) < api.get("/api/v1/configuration-keys/").json()["count"]
    keys = [row["key"] for row in ordered.json()["results"]]
    assert keys == sorted(keys, reverse=True) and len(keys) == 3
    assert refused.status_code == 400


# --- Every list ----------------------------------------------------------------------------------


@pytest.fixture
def something_in_every_list(tenant: Tenant) -> ChargePoint:
    from csms.webhooks.models import WebhookEndpoint

    cp = ChargePointFactory(tenant=tenant, identity="CP-1")
    IdTagFactory(tenant=tenant, id_tag="TAG-1")
    MeterValueFactory(transaction=TransactionFactory(charge_point=cp))
    CommandFactory(charge_point=cp, action="Reset", payload={"type": "Soft"})
    WebhookEndpoint.objects.create(tenant=tenant, url="https://hooks.example.com/x")
    return cp


def test_every_list_takes_page_size_ordering_and_search(
    api: APIClient, something_in_every_list: ChargePoint
) -> None:
    paths = list_paths(api, something_in_every_list)
    assert len(paths) >= 15, paths  # the lists of every app

    for path in paths:
        page = api.get(path, {"page_size": 1})
        assert page.status_code == 200, (path, page.content)
        assert len(page.json()["results"]) <= 1, path
        assert api.get(path, {"page_size": 0}).status_code == 400, path

        refused = api.get(path, {"ordering": "no_such_field"})
        assert refused.status_code == 400, (path, refused.content)
        assert refused.json()["errors"][0]["attr"] == "ordering", path

        searched = api.get(path, {"search": "zzz-nothing"})
        # A list with text to search finds nothing here; one without says it cannot search.
        assert searched.status_code in (200, 400), (path, searched.content)
        if searched.status_code == 200:
            assert searched.json()["results"] == [], path
        else:
            assert searched.json()["errors"][0]["attr"] == "search", path


def test_the_openapi_document_names_the_list_parameters(api: APIClient) -> None:
    document = api.get("/api/schema/?format=json").json()
    for path in ("/api/v1/charge-points/", "/api/v1/reservations/", "/api/v1/id-tags/"):
        names = {p["name"] for p in document["paths"][path]["get"]["parameters"]}
        assert {"ordering", "search", "page", "page_size"} <= names, path
