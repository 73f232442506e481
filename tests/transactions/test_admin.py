"""Staff admin of transactions: filters, search, the limited meter-value inline."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from csms.tenancy.models import Tenant
from tests.factories import ChargePointFactory, MeterValueFactory, TransactionFactory
from transactions.models import Transaction

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
CHANGELIST = "admin:transactions_transaction_changelist"


def change_url(transaction: Transaction) -> str:
    return reverse("admin:transactions_transaction_change", args=[transaction.pk])


def test_changelist_filters_active_and_stopped(admin_client: Client, tenant: Tenant) -> None:
    charge_point = ChargePointFactory(tenant=tenant)
    active = TransactionFactory(charge_point=charge_point, connector_id=1)
    stopped = TransactionFactory(charge_point=charge_point, connector_id=2, stopped=True)
    url = reverse(CHANGELIST)

    only_active = admin_client.get(url, {"state": "active"}).context["cl"].result_list
    only_stopped = admin_client.get(url, {"state": "stopped"}).context["cl"].result_list

    assert [t.pk for t in only_active] == [active.pk]
    assert [t.pk for t in only_stopped] == [stopped.pk]


def test_changelist_filters_by_stop_reason(admin_client: Client, tenant: Tenant) -> None:
    charge_point = ChargePointFactory(tenant=tenant)
    remote = TransactionFactory(charge_point=charge_point, stopped=True, stop_reason="Remote")
    TransactionFactory(charge_point=charge_point, stopped=True, stop_reason="Local")

    response = admin_client.get(reverse(CHANGELIST), {"stop_reason": "Remote"})

    assert [t.pk for t in response.context["cl"].result_list] == [remote.pk]


def test_changelist_search_by_id_tag_and_identity(admin_client: Client, tenant: Tenant) -> None:
    wanted = TransactionFactory(
        charge_point=ChargePointFactory(tenant=tenant, identity="DEPOT-7"), id_tag="CARD-1"
    )
    TransactionFactory(charge_point=ChargePointFactory(tenant=tenant, identity="OTHER"))
    url = reverse(CHANGELIST)

    by_tag = admin_client.get(url, {"q": "CARD-1"}).context["cl"].result_list
    by_identity = admin_client.get(url, {"q": "DEPOT"}).context["cl"].result_list

    assert [t.pk for t in by_tag] == [wanted.pk]
    assert [t.pk for t in by_identity] == [wanted.pk]


def test_change_page_shows_the_first_meter_values_and_links_all(
    admin_client: Client, tenant: Tenant
) -> None:
    transaction = TransactionFactory(charge_point__tenant=tenant, started_at=T0, stopped=True)
    for n in range(60):
        MeterValueFactory(
            transaction=transaction, timestamp=T0 + timedelta(minutes=n), value=f"{1000 + n}"
        )

    response = admin_client.get(change_url(transaction))

    content = response.content.decode()
    assert response.status_code == 200
    assert "1000" in content
    assert "1049" in content
    assert "1050" not in content
    meter_values = reverse("admin:transactions_metervalue_changelist")
    full = f"{meter_values}?transaction__id__exact={transaction.pk}"
    assert full in content
    assert admin_client.get(full).context["cl"].result_count == 60


def test_transactions_are_read_only_in_the_admin(admin_client: Client, tenant: Tenant) -> None:
    transaction = TransactionFactory(charge_point__tenant=tenant)

    response = admin_client.post(change_url(transaction), {"meter_stop": "1"})

    assert response.status_code == 403
    transaction.refresh_from_db()
    assert transaction.meter_stop is None


# --- Issue 15: close on the server, export as CSV -----------------------------------------------


def test_staff_close_a_session_on_the_server_from_its_page(
    admin_client: Client, admin_user: Any, tenant: Tenant
) -> None:
    transaction = TransactionFactory(charge_point__tenant=tenant, started_at=T0)

    response = admin_client.post(
        reverse("admin:transactions_transaction_close", args=[transaction.pk]),
        {"reason": "Charger replaced"},
    )

    assert response.status_code == 302
    transaction.refresh_from_db()
    assert (transaction.stopped_by, transaction.close_reason) == ("server", "Charger replaced")
    assert transaction.closed_by == f"staff:{admin_user.get_username()}"


def test_the_close_action_closes_the_selected_open_sessions(
    admin_client: Client, tenant: Tenant
) -> None:
    charge_point = ChargePointFactory(tenant=tenant)
    open_ = TransactionFactory(charge_point=charge_point, connector_id=1)
    done = TransactionFactory(charge_point=charge_point, connector_id=2, stopped=True)

    admin_client.post(
        reverse(CHANGELIST),
        {"action": "close_on_server", "_selected_action": [open_.pk, done.pk]},
    )

    open_.refresh_from_db()
    done.refresh_from_db()
    assert (open_.active, open_.stopped_by) == (False, "server")
    assert done.stopped_by == "charge_point"


def test_the_export_action_downloads_the_selected_sessions_as_csv(
    admin_client: Client, tenant: Tenant
) -> None:
    wanted = TransactionFactory(charge_point__tenant=tenant, stopped=True)
    TransactionFactory(charge_point__tenant=tenant, stopped=True)

    response = admin_client.post(
        reverse(CHANGELIST), {"action": "export_as_csv", "_selected_action": [wanted.pk]}
    )

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0].startswith("session_id,charge_point,connector_id,id_tag,parent_id_tag")
    assert [line.split(",")[0] for line in lines[1:]] == [str(wanted.pk)]
