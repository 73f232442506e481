"""The configuration API (a charge point's keys with drift, PATCH of one key, baselines) and
the admin pages of baselines and the mirror."""

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from chargepoints.configuration.apply import configuration_baseline_apply
from chargepoints.configuration.baselines import configuration_baseline_create
from chargepoints.models import (
    ChargePoint,
    Command,
    ConfigurationApplyState,
    ConfigurationBaseline,
    ConfigurationKey,
)
from csms.tenancy.models import Tenant
from tests.api_errors import error_summary, errored_fields
from tests.charge_point_calls import Answer, configuration_answer
from tests.factories import ChargePointFactory, CommandFactory, ConfigurationBaselineFactory

pytestmark = pytest.mark.django_db

CONFIGURATION = "/api/v1/charge-points/CP-1/configuration/"
BASELINES = "/api/v1/configuration-baselines/"


@pytest.fixture
def charge_point(tenant: Tenant) -> ChargePoint:
    return ChargePointFactory(
        tenant=tenant, identity="CP-1", connected=True, last_boot_at=timezone.now()
    )


def rows_by_key(api: APIClient) -> dict[str, dict[str, Any]]:
    response = api.get(CONFIGURATION)
    assert response.status_code == 200
    return {row["key"]: row for row in response.json()}


# --- GET: the mirror with catalogue metadata and drift -----------------------------------------


def test_mirror_rows_carry_catalogue_metadata_and_what_the_charge_point_said(
    api: APIClient, charge_point: ChargePoint, answer: Answer
) -> None:
    read = CommandFactory(
        charge_point=charge_point,
        payload={"key": ["HeartbeatInterval", "NumberOfConnectors", "AcmeLed", "Nope"]},
    )
    answer(
        read,
        configuration_answer(
            {"HeartbeatInterval": "300", "NumberOfConnectors": "2", "AcmeLed": "on"},
            readonly={"NumberOfConnectors"},
            unknown=["Nope"],
        ),
    )

    rows = rows_by_key(api)

    assert sorted(rows) == ["AcmeLed", "HeartbeatInterval", "Nope", "NumberOfConnectors"]
    heartbeat = rows["HeartbeatInterval"]
    assert (heartbeat["value"], heartbeat["readonly"], heartbeat["reported"]) == (
        "300",
        False,
        True,
    )
    assert heartbeat["standard"] is True
    assert {k: heartbeat["catalogue"][k] for k in ("profile", "access", "type", "unit")} == {
        "profile": "Core",
        "access": "RW",
        "type": "integer",
        "unit": "seconds",
    }
    assert (heartbeat["desired_value"], heartbeat["drift"], heartbeat["apply"]) == (
        None,
        None,
        None,
    )
    assert rows["NumberOfConnectors"]["readonly"] is True
    assert rows["NumberOfConnectors"]["catalogue"]["access"] == "R"
    assert (rows["AcmeLed"]["standard"], rows["AcmeLed"]["catalogue"]) == (False, None)
    assert (rows["Nope"]["unknown"], rows["Nope"]["value"]) == (True, None)


def test_drift_and_apply_state_per_key(
    api: APIClient, tenant: Tenant, charge_point: ChargePoint, answer: Answer
) -> None:
    baseline = configuration_baseline_create(
        tenant=tenant,
        name="Fleet",
        entries=[
            {"key": "HeartbeatInterval", "value": "300"},
            {"key": "MeterValueSampleInterval", "value": "30"},
            {"key": "ConnectionTimeOut", "value": "45"},
            {"key": "AcmeLed", "value": "off"},
        ],
    )
    read = configuration_baseline_apply(charge_point=charge_point)
    assert read is not None
    answer(
        read,
        configuration_answer(
            {
                "HeartbeatInterval": "300",
                "MeterValueSampleInterval": "60",
                "ConnectionTimeOut": "90",
            }
        ),
    )
    for change in Command.objects.filter(action="ChangeConfiguration", status="queued"):
        key = change.payload["key"]
        status = {"MeterValueSampleInterval": "RebootRequired", "ConnectionTimeOut": "Rejected"}
        answer(change, {"status": status.get(key, "NotSupported")})

    rows = rows_by_key(api)

    assert {key: row["drift"] for key, row in rows.items()} == {
        "AcmeLed": "unknown",  # NotSupported marks it unknown in the mirror
        "ConnectionTimeOut": "differs",
        "HeartbeatInterval": "in_sync",
        "MeterValueSampleInterval": "reboot_required",
    }
    assert {key: (row["apply"] or {}).get("status") for key, row in rows.items()} == {
        "AcmeLed": "NotSupported",
        "ConnectionTimeOut": "Rejected",
        "HeartbeatInterval": None,
        "MeterValueSampleInterval": "RebootRequired",
    }
    timeout = rows["ConnectionTimeOut"]
    assert (timeout["desired_value"], timeout["value"], timeout["baseline"]) == (
        "45",
        "90",
        baseline.pk,
    )
    assert timeout["apply"]["value"] == "45"
    assert (
        timeout["apply"]["command"]
        == ConfigurationApplyState.objects.get(key="ConnectionTimeOut").command_id
    )


def test_a_desired_key_never_reported_is_listed_as_missing(
    api: APIClient, tenant: Tenant, charge_point: ChargePoint
) -> None:
    configuration_baseline_create(
        tenant=tenant, name="F", entries=[{"key": "LocalPreAuthorize", "value": "true"}]
    )

    row = rows_by_key(api)["LocalPreAuthorize"]

    assert (row["value"], row["reported"], row["desired_value"], row["drift"]) == (
        None,
        False,
        "true",
        "missing",
    )


def test_another_tenants_charge_point_is_not_found(
    other_api: APIClient, charge_point: ChargePoint
) -> None:
    assert other_api.get(CONFIGURATION).status_code == 404
    assert (
        other_api.patch(CONFIGURATION, {"key": "A", "value": "b"}, format="json").status_code == 404
    )
    assert not Command.objects.exists()


# --- PATCH: one key, checked, through the outbox -----------------------------------------------


def test_patch_queues_a_change_configuration(api: APIClient, charge_point: ChargePoint) -> None:
    response = api.patch(CONFIGURATION, {"key": "HeartbeatInterval", "value": "120"}, format="json")

    assert response.status_code == 202
    body = response.json()
    assert (body["action"], body["payload"], body["status"]) == (
        "ChangeConfiguration",
        {"key": "HeartbeatInterval", "value": "120"},
        "queued",
    )
    command = Command.objects.get()
    assert command.requested_by.startswith("token:")


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (
            {"key": "MeterValuesSampledData", "value": "Voltage,Pressure"},
            "MeterValuesSampledData: 'Pressure' is not a measurand (optionally with a phase, "
            "e.g. Voltage.L1)",
        ),
        (
            {"key": "HeartbeatInterval", "value": "-1"},
            "HeartbeatInterval: must be 0 or more, not -1",
        ),
        (
            {"key": "NumberOfConnectors", "value": "3"},
            "NumberOfConnectors is read-only (OCPP 1.6 §9.1)",
        ),
        ({"key": "AcmeLocked", "value": "0"}, "AcmeLocked is read-only on this charge point."),
        (
            {"key": "MeterValuesAlignedData", "value": "Voltage,SoC"},
            "MeterValuesAlignedData: lists 2 items; the charge point takes at most 1 "
            "(MeterValuesAlignedDataMaxLength)",
        ),
    ],
)
def test_patch_refuses_what_cannot_work_and_sends_nothing(
    api: APIClient, charge_point: ChargePoint, body: dict[str, str], detail: str
) -> None:
    ConfigurationKey.objects.create(charge_point=charge_point, key="AcmeLocked", readonly=True)
    ConfigurationKey.objects.create(
        charge_point=charge_point, key="MeterValuesAlignedDataMaxLength", value="1", readonly=True
    )

    response = api.patch(CONFIGURATION, body, format="json")

    assert response.status_code == 400
    assert error_summary(response) == {"detail": detail, "code": "invalid_configuration"}
    assert not Command.objects.exists()


def test_patch_needs_a_key_and_a_value(api: APIClient, charge_point: ChargePoint) -> None:
    response = api.patch(CONFIGURATION, {"key": "HeartbeatInterval"}, format="json")

    assert response.status_code == 400
    assert "value" in errored_fields(response)
    assert (
        api.patch(f"{CONFIGURATION}?wait=99", {"key": "A", "value": "b"}, format="json").status_code
        == 400
    )
    assert not Command.objects.exists()


# --- Baselines CRUD ----------------------------------------------------------------------------


def test_create_read_update_and_delete_a_baseline(api: APIClient, tenant: Tenant) -> None:
    created = api.post(
        BASELINES,
        {
            "name": "Acme wallboxes",
            "vendor": "Acme",
            "entries": [
                {"key": "heartbeatinterval", "value": "120"},
                {"key": "StopTransactionOnInvalidId", "value": "TRUE"},
            ],
        },
        format="json",
    )
    assert created.status_code == 201
    body = created.json()
    assert {k: body[k] for k in ("name", "vendor", "model", "enabled", "scope")} == {
        "name": "Acme wallboxes",
        "vendor": "Acme",
        "model": "",
        "enabled": True,
        "scope": "Acme",
    }
    assert body["entries"] == [
        {"key": "HeartbeatInterval", "value": "120"},
        {"key": "StopTransactionOnInvalidId", "value": "true"},
    ]
    url = f"{BASELINES}{body['id']}/"

    patched = api.patch(url, {"entries": [{"key": "AcmeLed", "value": "off"}]}, format="json")
    assert patched.status_code == 200
    assert patched.json()["entries"] == [{"key": "AcmeLed", "value": "off"}]
    assert api.patch(url, {"enabled": False}, format="json").json()["entries"] == [
        {"key": "AcmeLed", "value": "off"}
    ]
    assert api.get(url).json()["enabled"] is False
    assert api.get(BASELINES).json()["count"] == 1

    assert api.delete(url).status_code == 204
    assert not ConfigurationBaseline.objects.exists()


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (
            {"name": "x", "entries": [{"key": "NumberOfConnectors", "value": "2"}]},
            "NumberOfConnectors is read-only (OCPP 1.6 §9.1)",
        ),
        (
            {"name": "x", "entries": [{"key": "LocalAuthListEnabled", "value": "on"}]},
            'LocalAuthListEnabled: must be "true" or "false", not \'on\'',
        ),
        ({"name": "x", "model": "Wallbox 22"}, "A baseline for a model names its vendor too."),
    ],
)
def test_invalid_baselines_are_refused(api: APIClient, body: dict[str, Any], detail: str) -> None:
    response = api.post(BASELINES, body, format="json")

    assert response.status_code == 400
    assert response.json()["detail"] == detail
    assert not ConfigurationBaseline.objects.exists()


def test_an_invalid_patch_changes_nothing(api: APIClient, tenant: Tenant) -> None:
    baseline = configuration_baseline_create(
        tenant=tenant, name="F", entries=[{"key": "HeartbeatInterval", "value": "60"}]
    )

    response = api.patch(
        f"{BASELINES}{baseline.pk}/",
        {"name": "G", "entries": [{"key": "HeartbeatInterval", "value": "x"}]},
        format="json",
    )

    assert response.status_code == 400
    baseline.refresh_from_db()
    assert baseline.name == "F"
    assert list(baseline.entries.values_list("key", "value")) == [("HeartbeatInterval", "60")]


def test_one_baseline_per_scope_within_a_tenant_only(api: APIClient, other_api: APIClient) -> None:
    assert api.post(BASELINES, {"name": "A"}, format="json").status_code == 201
    duplicate = api.post(BASELINES, {"name": "B"}, format="json")

    assert duplicate.status_code == 400
    assert duplicate.json()["code"] == "duplicate"
    assert other_api.post(BASELINES, {"name": "A"}, format="json").status_code == 201


def test_another_tenants_baseline_is_not_found(
    api: APIClient, other_api: APIClient, other_tenant: Tenant
) -> None:
    foreign = ConfigurationBaselineFactory(tenant=other_tenant, entries={"HeartbeatInterval": "1"})
    url = f"{BASELINES}{foreign.pk}/"

    assert api.get(BASELINES).json()["count"] == 0
    assert api.get(url).status_code == 404
    assert api.patch(url, {"name": "mine"}, format="json").status_code == 404
    assert api.delete(url).status_code == 404
    assert other_api.get(url).status_code == 200
    foreign.refresh_from_db()
    assert foreign.name != "mine"


# --- Admin -------------------------------------------------------------------------------------


def baseline_form(tenant: Tenant, **entries: str) -> dict[str, Any]:
    form: dict[str, Any] = {
        "tenant": tenant.pk,
        "name": "Fleet",
        "vendor": "",
        "model": "",
        "enabled": "on",
        "entries-TOTAL_FORMS": str(len(entries)),
        "entries-INITIAL_FORMS": "0",
    }
    for n, (key, value) in enumerate(entries.items()):
        form[f"entries-{n}-key"] = key
        form[f"entries-{n}-value"] = value
    return form


def test_admin_baseline_entries_are_checked_against_the_catalogue(
    admin_client: Client, tenant: Tenant
) -> None:
    url = reverse("admin:chargepoints_configurationbaseline_add")

    refused = admin_client.post(url, baseline_form(tenant, NumberOfConnectors="2"))
    saved = admin_client.post(url, baseline_form(tenant, localpreauthorize="TRUE", AcmeX="1"))

    assert "NumberOfConnectors is read-only" in refused.content.decode()
    assert saved.status_code == 302
    baseline = ConfigurationBaseline.objects.get()
    assert dict(baseline.entries.values_list("key", "value")) == {
        "LocalPreAuthorize": "true",
        "AcmeX": "1",
    }


def test_admin_pages_of_baselines_mirror_and_apply_states_render(
    admin_client: Client, tenant: Tenant, charge_point: ChargePoint
) -> None:
    baseline = ConfigurationBaselineFactory(tenant=tenant, entries={"HeartbeatInterval": "60"})
    ConfigurationKey.objects.create(charge_point=charge_point, key="HeartbeatInterval", value="300")
    ConfigurationApplyState.objects.create(
        charge_point=charge_point,
        key="HeartbeatInterval",
        value="60",
        status="RebootRequired",
        attempted_at=timezone.now(),
    )

    for name, args in [
        ("configurationbaseline_changelist", []),
        ("configurationbaseline_change", [baseline.pk]),
        ("configurationkey_changelist", []),
        ("configurationapplystate_changelist", []),
    ]:
        assert admin_client.get(reverse(f"admin:chargepoints_{name}", args=args)).status_code == 200
    reboot_required = admin_client.get(
        reverse("admin:chargepoints_configurationapplystate_changelist") + "?status=RebootRequired"
    )
    assert reboot_required.context["cl"].result_count == 1


def test_admin_configuration_page_shows_drift_and_applies_baselines(
    admin_client: Client, tenant: Tenant, charge_point: ChargePoint
) -> None:
    ConfigurationBaselineFactory(tenant=tenant, entries={"HeartbeatInterval": "60"})
    ConfigurationKey.objects.create(
        charge_point=charge_point, key="HeartbeatInterval", value="300", readonly=False
    )
    url = reverse("admin:chargepoints_chargepoint_configuration", args=[charge_point.pk])

    page = admin_client.get(url)
    applied = admin_client.post(url)

    assert page.status_code == 200
    (row,) = page.context["rows"]
    assert (row.key, row.desired.value, row.drift) == ("HeartbeatInterval", "60", "differs")
    assert "differs" in page.content.decode()
    assert applied.status_code == 302
    assert Command.objects.get().action == "GetConfiguration"
    change_page = admin_client.get(
        reverse("admin:chargepoints_chargepoint_change", args=[charge_point.pk])
    )
    assert url in change_page.content.decode()
