"""Configuration changes an operator can force (issue 20 §6): a key the charge point reported
unknown is refused before sending; force: true sends the value as given, recorded with who
asked; the charger's Rejected / NotSupported is stored and shown."""

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from chargepoints.models import ChargePoint, Command, ConfigurationKey
from csms.tenancy.models import Tenant
from tests.charge_point_calls import Answer, configuration_answer
from tests.factories import ChargePointFactory, CommandFactory

pytestmark = pytest.mark.django_db

CONFIGURATION = "/api/v1/charge-points/CP-1/configuration/"
COMMANDS = "/api/v1/charge-points/CP-1/commands/"


@pytest.fixture
def charge_point(tenant: Tenant, answer: Answer) -> ChargePoint:
    cp = ChargePointFactory(tenant=tenant, identity="CP-1", last_boot_at=timezone.now())
    read = CommandFactory(charge_point=cp, payload={"key": ["HeartbeatInterval", "AcmeLed"]})
    answer(read, configuration_answer({"HeartbeatInterval": "300"}, unknown=["AcmeLed"]))
    return cp


def configuration_patch(api: APIClient, key: str, value: str, **force: bool) -> Any:
    return api.patch(CONFIGURATION, {"key": key, "value": value, **force}, format="json")


def change_commands() -> list[Command]:
    return list(Command.objects.filter(action="ChangeConfiguration"))


def test_a_key_the_charge_point_reported_unknown_is_refused_before_sending(
    api: APIClient, charge_point: ChargePoint
) -> None:
    patched = configuration_patch(api, "acmeled", "on")
    raw = api.post(
        COMMANDS,
        {"action": "ChangeConfiguration", "payload": {"key": "AcmeLed", "value": "on"}},
        format="json",
    )

    for response in (patched, raw):
        assert response.status_code == 400
        body = response.json()
        assert body["code"] == "unknown_configuration_key"
        assert "AcmeLed is unknown to this charge point" in body["detail"]
    assert change_commands() == []


def test_force_sends_the_value_as_given_and_records_who_asked(
    api: APIClient, charge_point: ChargePoint
) -> None:
    unknown = configuration_patch(api, "AcmeLed", "on", force=True)
    uncatalogued = api.post(
        COMMANDS,
        {
            "action": "ChangeConfiguration",
            "payload": {"key": "HeartbeatInterval", "value": "every-5-minutes"},
            "force": True,
        },
        format="json",
    )

    assert (unknown.status_code, uncatalogued.status_code) == (202, 202)
    assert unknown.json()["forced"] is uncatalogued.json()["forced"] is True
    first, second = sorted(change_commands(), key=lambda c: c.pk)
    assert first.payload == {"key": "AcmeLed", "value": "on"}
    assert second.payload == {"key": "HeartbeatInterval", "value": "every-5-minutes"}
    assert first.forced and second.forced
    assert first.requested_by.startswith("token:")


def test_without_force_the_catalogue_still_judges(
    api: APIClient, charge_point: ChargePoint
) -> None:
    response = configuration_patch(api, "HeartbeatInterval", "every-5-minutes")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_configuration"
    assert change_commands() == []


def test_force_cannot_send_what_must_never_be_sent(
    api: APIClient, charge_point: ChargePoint
) -> None:
    short_password = configuration_patch(api, "AuthorizationKey", "short", force=True)
    too_long = configuration_patch(api, "AcmeLed", "x" * 501, force=True)
    forced_reset = api.post(
        COMMANDS, {"action": "Reset", "payload": {"type": "Soft"}, "force": True}, format="json"
    )

    assert short_password.status_code == too_long.status_code == forced_reset.status_code == 400
    assert "AuthorizationKey" in short_password.json()["detail"]
    assert forced_reset.json()["errors"][0]["attr"] == "force"
    assert not Command.objects.exclude(action="GetConfiguration").exists()


@pytest.mark.parametrize("status", ["Rejected", "NotSupported"])
def test_the_chargers_refusal_is_stored_and_shown(
    api: APIClient,
    admin_client: Client,
    charge_point: ChargePoint,
    answer: Answer,
    status: str,
) -> None:
    sent = configuration_patch(api, "AcmeLed", "blink", force=True)
    answer(Command.objects.get(pk=sent.json()["id"]), {"status": status})

    mirror = ConfigurationKey.objects.get(charge_point=charge_point, key="AcmeLed")
    rows = {row["key"]: row for row in api.get(CONFIGURATION).json()}
    command = api.get(f"/api/v1/commands/{sent.json()['id']}/").json()
    page = admin_client.get(
        reverse("admin:chargepoints_chargepoint_configuration", args=[charge_point.pk])
    )

    assert mirror.last_change_status == status
    assert rows["AcmeLed"]["last_change_status"] == status
    assert rows["AcmeLed"]["value"] is None  # not taken
    assert (command["response"], command["forced"]) == ({"status": status}, True)
    assert f"<strong>{status}</strong>" in page.content.decode()


def test_the_admin_forces_a_change_with_the_staff_member_recorded(
    admin_client: Client, admin_user: object, charge_point: ChargePoint
) -> None:
    url = reverse("admin:chargepoints_chargepoint_send_command", args=[charge_point.pk])
    body = {"action": "ChangeConfiguration", "key": "AcmeLed", "value": "on"}

    refused = admin_client.post(url, body)
    forced = admin_client.post(url, {**body, "force": "on"})

    assert refused.status_code == 200
    assert "unknown to this charge point" in refused.content.decode()
    assert forced.status_code == 302
    (command,) = change_commands()
    assert command.forced
    assert command.requested_by_user == admin_user
    listed = admin_client.get(reverse("admin:chargepoints_command_changelist") + "?forced__exact=1")
    assert listed.context["cl"].result_count == 1
