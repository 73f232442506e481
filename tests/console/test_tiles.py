"""§1 the fleet at a glance: tiles per tenant and in total, each a link to the filtered list."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from chargepoints.models import Command, CommandStatus, SecurityEvent
from csms.console.tiles import fleet_tiles
from csms.tenancy.models import Tenant
from tests.factories import (
    ChargePointFactory,
    ConnectorFactory,
    MeterValueFactory,
    TransactionFactory,
)

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # a Wednesday


def _fleet(tenant: Tenant, other_tenant: Tenant) -> None:
    online = ChargePointFactory(tenant=tenant, identity="A-1", connected=True)
    ConnectorFactory(charge_point=online, connector_id=1, status="Charging")
    ConnectorFactory(
        charge_point=online, connector_id=2, status="Faulted", error_code="GroundFailure"
    )
    ChargePointFactory(tenant=tenant, identity="A-2", registration_status="Pending")
    other = ChargePointFactory(tenant=other_tenant, identity="G-1", connected=True)
    ConnectorFactory(charge_point=other, connector_id=1, status="Available")
    live = TransactionFactory(
        charge_point=online, meter_start=1000, started_at=NOW - timedelta(hours=1)
    )
    MeterValueFactory(
        transaction=live, value="4000", unit="Wh", timestamp=NOW - timedelta(minutes=2)
    )
    MeterValueFactory(
        transaction=live,
        measurand="Power.Active.Import",
        value="7.2",
        unit="kW",
        timestamp=NOW - timedelta(minutes=2),
    )
    # Ended today (2.5 kWh) and on Monday (2.5 kWh): today 2.5, this week 5.0.
    TransactionFactory(charge_point=other, stopped=True, started_at=NOW - timedelta(hours=3))
    TransactionFactory(charge_point=other, stopped=True, started_at=NOW - timedelta(days=2))
    Command.objects.create(
        tenant=tenant,
        charge_point=online,
        action="Reset",
        payload={"type": "Soft"},
        status=CommandStatus.FAILED,
        expires_at=NOW,
    )
    SecurityEvent.objects.create(
        tenant=other_tenant,
        charge_point=other,
        identity="G-1",
        type="InvalidFirmwareSignature",
        timestamp=NOW - timedelta(hours=1),
    )


def test_tiles_count_per_tenant_and_in_total(tenant: Tenant, other_tenant: Tenant) -> None:
    _fleet(tenant, other_tenant)
    total, acme, globex = fleet_tiles(now=NOW)  # all, then by name: Acme, Globex
    assert (total.name, acme.tenant_id, globex.tenant_id) == (
        "All tenants",
        tenant.pk,
        other_tenant.pk,
    )
    assert [acme.value_of(k) for k in ("online", "offline", "faulted", "pending")] == [
        "1",
        "1",
        "1",
        "1",
    ]
    assert [globex.value_of(k) for k in ("online", "offline", "faulted", "pending")] == [
        "1",
        "0",
        "0",
        "0",
    ]
    assert [total.value_of(k) for k in ("online", "offline", "faulted", "pending")] == [
        "2",
        "1",
        "1",
        "1",
    ]
    assert (
        acme.value_of("connectors_Faulted") == "1" and total.value_of("connectors_Available") == "1"
    )
    assert acme.value_of("live_sessions") == "1"
    assert acme.value_of("live_energy") == "3.0 kWh"  # 4000 Wh read - 1000 Wh at start
    assert acme.value_of("live_power") == "7.2 kW"
    assert globex.value_of("energy_today") == "2.5 kWh"
    assert globex.value_of("energy_week") == "5.0 kWh"
    assert acme.value_of("failing_commands") == "1" and globex.value_of("failing_commands") == "0"
    assert globex.value_of("security_events") == "1" and total.value_of("security_events") == "1"


def test_every_tile_links_to_a_list_that_shows_what_it_counts(
    tenant: Tenant, other_tenant: Tenant, admin_client: Client
) -> None:
    _fleet(tenant, other_tenant)
    _total, acme, _globex = fleet_tiles(now=NOW)
    faulted = next(t for t in acme.tiles if t.key == "faulted")
    page = admin_client.get(faulted.url)
    assert page.status_code == 200
    assert b"A-1" in page.content and b"A-2" not in page.content
    for tile in [*acme.tiles, *acme.connector_tiles]:
        response = admin_client.get(tile.url)
        # 200, not the admin's 302 to ?e=1 for a lookup it does not allow.
        assert response.status_code == 200, (tile.key, tile.url)


def test_tiles_cost_a_fixed_number_of_queries(tenant: Tenant, other_tenant: Tenant) -> None:
    _fleet(tenant, other_tenant)
    with CaptureQueriesContext(connection) as few:
        fleet_tiles(now=NOW)
    for n in range(20):
        ChargePointFactory(tenant=tenant, identity=f"MORE-{n}")
    with CaptureQueriesContext(connection) as more:
        fleet_tiles(now=NOW)
    assert len(more) == len(few) <= 12


def test_admin_index_shows_tiles_and_polls_the_fragment(
    tenant: Tenant, other_tenant: Tenant, admin_client: Client
) -> None:
    _fleet(tenant, other_tenant)
    index = admin_client.get(reverse("admin:index"))
    fragment_url = reverse("console:tiles")
    assert f'hx-get="{fragment_url}"'.encode() in index.content
    assert b'data-tile="faulted"' in index.content
    assert b"vendor/htmx/htmx.min.js" in index.content  # our own copy, no CDN
    assert b"https://" not in index.content.split(b"<body")[0]
    fragment = admin_client.get(fragment_url)
    assert fragment.status_code == 200 and b'data-tile="online"' in fragment.content
    assert b"<html" not in fragment.content


def test_the_fragment_is_for_staff_only(client: Client, tenant: Tenant) -> None:
    response = client.get(reverse("console:tiles"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
