"""Typed command endpoints (issue 20 §4): remote start, remote stop, reset, unlock, change
availability, each building its OCPP 1.6 request; ?wait= on an offline charge point answers
202 at once."""

import time
from typing import Any

import pytest
from rest_framework.test import APIClient

from chargepoints.models import ChargePoint, Command
from csms.tenancy.models import Tenant
from tests.charge_point_calls import Answer
from tests.factories import ChargePointFactory, IdTagFactory, TransactionFactory

pytestmark = pytest.mark.django_db

BASE = "/api/v1/charge-points/CP-1/"


@pytest.fixture
def offline(tenant: Tenant) -> ChargePoint:
    return ChargePointFactory(tenant=tenant, identity="CP-1", connected=False)


@pytest.mark.parametrize(
    ("endpoint", "body", "action", "payload"),
    [
        ("reset/", {}, "Reset", {"type": "Soft"}),
        ("reset/", {"type": "Hard"}, "Reset", {"type": "Hard"}),
        ("unlock/", {"connector_id": 2}, "UnlockConnector", {"connectorId": 2}),
        (
            "change-availability/",
            {"type": "Inoperative"},
            "ChangeAvailability",
            {"connectorId": 0, "type": "Inoperative"},
        ),
        (
            "change-availability/",
            {"connector_id": 1, "type": "Operative"},
            "ChangeAvailability",
            {"connectorId": 1, "type": "Operative"},
        ),
        ("remote-start/", {"id_tag": "TAG-1"}, "RemoteStartTransaction", {"idTag": "TAG-1"}),
        (
            "remote-start/",
            {"id_tag": "tag-1", "connector_id": 2},
            "RemoteStartTransaction",
            {"idTag": "tag-1", "connectorId": 2},
        ),
        ("remote-stop/", {"transaction_id": 77}, "RemoteStopTransaction", {"transactionId": 77}),
    ],
)
def test_each_typed_endpoint_queues_its_ocpp_request(
    api: APIClient,
    tenant: Tenant,
    offline: ChargePoint,
    endpoint: str,
    body: dict[str, Any],
    action: str,
    payload: dict[str, Any],
) -> None:
    IdTagFactory(tenant=tenant, id_tag="TAG-1")

    response = api.post(BASE + endpoint, body, format="json")

    assert response.status_code == 202, response.content
    command = Command.objects.get()
    assert (command.action, command.payload) == (action, payload)
    assert response.json()["id"] == command.pk
    assert response.json()["requested_by"].startswith("token:")


def test_wait_on_an_offline_charge_point_answers_202_at_once(
    api: APIClient, offline: ChargePoint
) -> None:
    started = time.monotonic()
    typed = api.post(BASE + "reset/?wait=30", {}, format="json")
    raw = api.post(
        BASE + "commands/?wait=30", {"action": "ClearCache", "payload": {}}, format="json"
    )
    elapsed = time.monotonic() - started

    assert (typed.status_code, raw.status_code) == (202, 202)
    assert elapsed < 5
    assert typed.json()["status"] == raw.json()["status"] == "queued"


def test_an_answered_command_is_201_with_the_answer(
    api: APIClient, offline: ChargePoint, answer: Answer
) -> None:
    queued = api.post(BASE + "unlock/", {"connector_id": 1}, format="json")
    answer(Command.objects.get(pk=queued.json()["id"]), {"status": "Unlocked"})

    shown = api.get(f"/api/v1/commands/{queued.json()['id']}/")

    assert shown.json()["response"] == {"status": "Unlocked"}


def test_remote_stop_without_a_transaction_stops_the_live_session(
    api: APIClient, offline: ChargePoint
) -> None:
    TransactionFactory(charge_point=offline, stopped=True)
    live = TransactionFactory(charge_point=offline, connector_id=2)

    response = api.post(BASE + "remote-stop/", {}, format="json")

    assert response.status_code == 202
    assert Command.objects.get().payload == {"transactionId": live.pk}


def test_remote_stop_needs_a_transaction_when_there_is_not_one_live_session(
    api: APIClient, offline: ChargePoint
) -> None:
    none_live = api.post(BASE + "remote-stop/", {}, format="json")
    TransactionFactory(charge_point=offline, connector_id=1)
    TransactionFactory(charge_point=offline, connector_id=2)
    two_live = api.post(BASE + "remote-stop/", {}, format="json")

    assert none_live.status_code == two_live.status_code == 400
    assert none_live.json()["errors"][0]["attr"] == "transaction_id"
    assert "several" in two_live.json()["detail"]
    assert not Command.objects.exists()


@pytest.mark.parametrize(
    ("endpoint", "body", "attr"),
    [
        ("reset/", {"type": "Sideways"}, "type"),
        ("unlock/", {}, "connector_id"),
        ("unlock/", {"connector_id": 0}, "connector_id"),
        ("change-availability/", {"type": "Maybe"}, "type"),
        ("remote-start/", {"id_tag": "UNKNOWN"}, "id_tag"),
        ("remote-start/", {"id_tag": "THEIRS"}, "id_tag"),
        ("remote-start/", {"id_tag": "TAG-1", "charging_profile": {"x": 1}}, None),
    ],
)
def test_invalid_requests_are_400_and_send_nothing(
    api: APIClient,
    tenant: Tenant,
    other_tenant: Tenant,
    offline: ChargePoint,
    endpoint: str,
    body: dict[str, Any],
    attr: str | None,
) -> None:
    IdTagFactory(tenant=tenant, id_tag="TAG-1")
    IdTagFactory(tenant=other_tenant, id_tag="THEIRS")

    response = api.post(BASE + endpoint, body, format="json")

    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["attr"] == attr
    assert not Command.objects.exists()


def test_another_tenants_charge_point_is_not_found(
    other_api: APIClient, offline: ChargePoint
) -> None:
    for endpoint in ("reset/", "unlock/", "change-availability/", "remote-start/", "remote-stop/"):
        assert other_api.post(BASE + endpoint, {}, format="json").status_code == 404
    assert not Command.objects.exists()


def test_the_typed_endpoints_are_in_the_openapi_document_with_their_fields(
    api: APIClient,
) -> None:
    document = api.get("/api/schema/?format=json").json()
    for endpoint in ("reset", "unlock", "change-availability", "remote-start", "remote-stop"):
        operation = document["paths"][f"/api/v1/charge-points/{{identity}}/{endpoint}/"]["post"]
        assert operation["tags"] == ["commands"]
        assert {"201", "202"} <= set(operation["responses"])
        assert "wait" in {p["name"] for p in operation["parameters"]}
        assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
