"""§1 lists that say what is wrong, §2 the charge point page, its guided actions and the session
page (the browser drives the same pages in test_browser.py)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from chargepoints.models import ChargePoint, Command, CompatAbsorption
from csms.console.meter_series import session_summary
from csms.tenancy.models import Tenant
from tests import factories

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def _faulted(tenant: Tenant, identity: str = "CP-F") -> ChargePoint:
    cp = factories.ChargePointFactory(tenant=tenant, identity=identity, firmware_version="1.2.3")
    factories.ConnectorFactory(charge_point=cp, connector_id=1, status="Charging")
    factories.ConnectorFactory(
        charge_point=cp,
        connector_id=2,
        status="Faulted",
        error_code="GroundFailure",
        vendor_error_code="E-17",
    )
    return cp


def test_list_shows_worst_connector_error_live_session_and_absorptions(
    tenant: Tenant, admin_client: Client
) -> None:
    cp = _faulted(tenant)
    live = factories.TransactionFactory(charge_point=cp, connector_id=1)
    CompatAbsorption.objects.create(charge_point=cp, quirk="timestamp_without_zone", count=7)
    page = admin_client.get(reverse("admin:chargepoints_chargepoint_changelist")).content.decode()
    assert '<span class="status-Faulted">Faulted</span>' in page
    assert "GroundFailure (E-17)" in page
    assert f">#{live.pk}</a>" in page
    assert ">7</a>" in page and "1.2.3" in page


def test_list_costs_the_same_queries_for_more_charge_points(
    tenant: Tenant, admin_client: Client
) -> None:
    _faulted(tenant, "CP-A")
    url = reverse("admin:chargepoints_chargepoint_changelist")
    with CaptureQueriesContext(connection) as few:
        admin_client.get(url)
    for n in range(15):
        _faulted(tenant, f"CP-B{n}")
    with CaptureQueriesContext(connection) as more:
        admin_client.get(url)
    assert len(more) == len(few)


def test_filters_faulted_and_offline_longer_than(
    tenant: Tenant, other_tenant: Tenant, admin_client: Client
) -> None:
    _faulted(tenant, "CP-FAULTY")
    factories.ChargePointFactory(tenant=tenant, identity="CP-FINE", connected=True)
    factories.ChargePointFactory(
        tenant=tenant, identity="CP-GONE", last_seen=timezone.now() - timedelta(hours=3)
    )
    factories.ChargePointFactory(
        tenant=tenant, identity="CP-BLIP", last_seen=timezone.now() - timedelta(minutes=2)
    )
    _faulted(other_tenant, "CP-THEIRS")
    url = reverse("admin:chargepoints_chargepoint_changelist")
    faulted = admin_client.get(url, {"problem": "faulted", "tenant__id__exact": tenant.pk})
    assert b"CP-FAULTY" in faulted.content
    assert b"CP-FINE" not in faulted.content and b"CP-THEIRS" not in faulted.content
    offline = admin_client.get(url, {"offline_for": "1h"}).content
    assert b"CP-GONE" in offline and b"CP-BLIP" not in offline and b"CP-FINE" not in offline


def test_console_page_shows_connectors_session_errors_and_guided_forms(
    tenant: Tenant, admin_client: Client
) -> None:
    cp = _faulted(tenant)
    live = factories.TransactionFactory(charge_point=cp, connector_id=1)
    page = admin_client.get(reverse("admin:chargepoints_chargepoint_console", args=[cp.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'class="status-Faulted">Faulted' in html and "GroundFailure (E-17)" in html
    assert f"#{live.pk}</a> on connector 1" in html
    assert 'hx-get="' in html and "/console/live/" in html
    # Each guided form has only its own fields.
    reset = html.split('id="action-reset"')[1].split("</form>")[0]
    assert 'name="reset-type"' in reset and "connector_id" not in reset
    stop = html.split('id="action-remote-stop"')[1].split("</form>")[0]
    assert f'value="{live.pk}"' in stop and 'name="remote-stop-transaction_id"' in stop
    assert "idTag" not in stop and "reset-type" not in stop
    assert "vendor/chartjs/chart.umd.min.js" in html


def test_guided_action_queues_one_command_and_polls_until_the_answer(
    tenant: Tenant, admin_client: Client
) -> None:
    cp = _faulted(tenant)
    live = factories.TransactionFactory(charge_point=cp, connector_id=1)
    url = reverse("admin:chargepoints_chargepoint_console_action", args=[cp.pk, "remote-stop"])
    answer = admin_client.post(url, {"remote-stop-transaction_id": live.pk}, **HX)
    command = Command.objects.get()
    assert (command.action, command.payload) == (
        "RemoteStopTransaction",
        {"transactionId": live.pk},
    )
    assert b'hx-trigger="every 1s"' in answer.content and b"queued" in answer.content
    # The charger answers: the next poll shows its word and stops polling.
    Command.objects.filter(pk=command.pk).update(
        status="completed", response={"status": "Accepted"}
    )
    outcome = admin_client.get(
        reverse("admin:chargepoints_chargepoint_console_command", args=[cp.pk, command.pk])
    )
    assert b"the charger answered" in outcome.content and b"Accepted" in outcome.content
    assert b"hx-trigger" not in outcome.content


def test_guided_action_with_bad_input_queues_nothing(tenant: Tenant, admin_client: Client) -> None:
    cp = _faulted(tenant)
    url = reverse("admin:chargepoints_chargepoint_console_action", args=[cp.pk, "unlock"])
    answer = admin_client.post(url, {"unlock-connector_id": "0"}, **HX)
    assert b"errornote" in answer.content
    assert not Command.objects.exists()


def test_remote_start_only_takes_an_id_tag_of_the_charge_points_tenant(
    tenant: Tenant, other_tenant: Tenant, admin_client: Client
) -> None:
    cp = _faulted(tenant)
    factories.IdTagFactory(tenant=other_tenant, id_tag="THEIRS")
    factories.IdTagFactory(tenant=tenant, id_tag="OURS")
    url = reverse("admin:chargepoints_chargepoint_console_action", args=[cp.pk, "remote-start"])
    refused = admin_client.post(url, {"remote-start-id_tag": "THEIRS"}, **HX)
    assert b"No idTag THEIRS" in refused.content and not Command.objects.exists()
    admin_client.post(url, {"remote-start-id_tag": "OURS", "remote-start-connector_id": 2}, **HX)
    assert Command.objects.get().payload == {"idTag": "OURS", "connectorId": 2}


def test_session_page_has_summary_chart_and_remote_stop(
    tenant: Tenant, admin_client: Client
) -> None:
    cp = _faulted(tenant)
    started = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    session = factories.TransactionFactory(charge_point=cp, meter_start=1000, started_at=started)
    for minute, (energy, power) in enumerate([(1000, 0), (2000, 11000), (4000, 22000)]):
        at = started + timedelta(minutes=30 * minute)
        factories.MeterValueFactory(transaction=session, value=str(energy), timestamp=at)
        factories.MeterValueFactory(
            transaction=session,
            measurand="Power.Active.Import",
            unit="W",
            value=str(power),
            timestamp=at,
        )
    summary = session_summary(transaction=session, now=started + timedelta(hours=1))
    assert summary.energy_wh == 3000 and summary.peak_power_w == 22000
    assert summary.duration_text == "1:00:00"
    assert summary.average_power_w == pytest.approx(3000)
    page = admin_client.get(reverse("admin:transactions_transaction_change", args=[session.pk]))
    html = page.content.decode()
    assert 'id="session-chart"' in html and 'id="action-remote-stop"' in html
    series = admin_client.get(
        reverse("admin:transactions_transaction_meter_series", args=[session.pk])
    ).json()
    assert [p["y"] for p in series["energy"]] == [0.0, 1.0, 3.0]  # kWh since meterStart
    assert [p["y"] for p in series["power"]] == [0.0, 11.0, 22.0]  # kW
    assert series["energy"][0]["x"] == started.timestamp() * 1000
