"""Tenant API: transactions and their meter values (SPEC §3.3)."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from csms.tenancy.models import Tenant
from tests.api_errors import errored_fields
from tests.api_queries import list_queries
from tests.factories import ChargePointFactory, MeterValueFactory, TransactionFactory
from transactions.models import Transaction

pytestmark = pytest.mark.django_db

TRANSACTIONS = "/api/v1/transactions/"
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def tx_url(pk: int | str) -> str:
    return f"{TRANSACTIONS}{pk}/"


def meter_values_url(pk: int | str) -> str:
    return f"{TRANSACTIONS}{pk}/meter-values/"


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


# --- Read ----------------------------------------------------------------------------------------


def test_stopped_transaction_reads_with_its_energy(api: APIClient, tenant: Tenant) -> None:
    charge_point = ChargePointFactory(tenant=tenant, identity="CP 1")
    transaction = TransactionFactory(
        charge_point=charge_point,
        connector_id=2,
        id_tag="TAG1",
        meter_start=10_000,
        meter_stop=17_250,
        started_at=T0,
        stopped_at=T0 + timedelta(hours=2),
        stop_reason="EVDisconnected",
        flags=["meter_stop_below_meter_start"],
        reservation_id=7,
    )

    body = api.get(tx_url(transaction.pk)).json()

    assert body == {
        "id": transaction.pk,
        "charge_point": "CP 1",
        "connector_id": 2,
        "id_tag": "TAG1",
        "id_tag_status": "Accepted",
        "meter_start": 10_000,
        "meter_stop": 17_250,
        "energy_wh": 7_250,
        "energy_source": "meter_stop",
        "started_at": "2025-03-01T12:00:00Z",
        "stopped_at": "2025-03-01T14:00:00Z",
        "stop_reason": "EVDisconnected",
        "stopped_by": "charge_point",
        "closed_by": "",
        "close_reason": "",
        "active": False,
        "flags": ["meter_stop_below_meter_start"],
        "reservation_id": 7,
    }


def test_active_transaction_has_no_energy_yet(api: APIClient, tenant: Tenant) -> None:
    transaction = TransactionFactory(charge_point__tenant=tenant)

    body = api.get(tx_url(transaction.pk)).json()

    assert body["active"] is True
    assert body["energy_wh"] is None
    assert body["meter_stop"] is None
    assert body["stopped_at"] is None


def test_id_is_the_ocpp_transaction_id(api: APIClient, tenant: Tenant) -> None:
    transaction = TransactionFactory(charge_point__tenant=tenant)

    assert api.get(tx_url(transaction.pk)).json()["id"] == Transaction.objects.get().pk


def test_list_is_newest_first_and_paginated(api: APIClient, tenant: Tenant) -> None:
    charge_point = ChargePointFactory(tenant=tenant)
    transactions = [
        TransactionFactory(
            charge_point=charge_point, started_at=T0 + timedelta(hours=n), stopped=True
        )
        for n in range(52)
    ]

    first = api.get(TRANSACTIONS).json()
    second = api.get(first["next"]).json()

    assert set(first) == {"count", "next", "previous", "results"}
    assert first["count"] == 52
    assert first["results"][0]["id"] == transactions[-1].pk
    assert len(first["results"]) == 50
    assert [row["id"] for row in second["results"]] == [transactions[1].pk, transactions[0].pk]
    assert second["next"] is None


def test_list_costs_the_same_queries_for_many_transactions(api: APIClient, tenant: Tenant) -> None:
    def queries_for_list() -> int:
        return list_queries(api, TRANSACTIONS)

    TransactionFactory(charge_point__tenant=tenant)
    few = queries_for_list()
    for _ in range(10):
        TransactionFactory(charge_point__tenant=tenant)

    assert queries_for_list() == few


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_transactions_cannot_be_written_through_the_api(
    api: APIClient, tenant: Tenant, method: str
) -> None:
    transaction = TransactionFactory(charge_point__tenant=tenant)
    url = TRANSACTIONS if method == "post" else tx_url(transaction.pk)

    response = getattr(api, method)(url, {"meter_stop": 1}, format="json")

    assert response.status_code == 405
    assert Transaction.objects.get().meter_stop is None


def test_unknown_or_malformed_transaction_id_is_404(api: APIClient, tenant: Tenant) -> None:
    assert api.get(tx_url(999_999)).status_code == 404
    assert api.get(tx_url(2**70)).status_code == 404
    assert api.get(tx_url("abc")).status_code == 404


# --- Filters -------------------------------------------------------------------------------------


def test_filter_by_charge_point_identity(api: APIClient, tenant: Tenant) -> None:
    here = TransactionFactory(charge_point=ChargePointFactory(tenant=tenant, identity="CP 1"))
    TransactionFactory(charge_point=ChargePointFactory(tenant=tenant, identity="CP-2"))

    assert ids(api.get(TRANSACTIONS, {"charge_point": "CP 1"})) == [here.pk]
    assert ids(api.get(TRANSACTIONS, {"charge_point": "nope"})) == []


def test_filter_by_id_tag(api: APIClient, tenant: Tenant) -> None:
    charge_point = ChargePointFactory(tenant=tenant)
    mine = TransactionFactory(charge_point=charge_point, id_tag="TAG1", stopped=True)
    TransactionFactory(charge_point=charge_point, id_tag="TAG2", connector_id=2)

    assert ids(api.get(TRANSACTIONS, {"id_tag": "TAG1"})) == [mine.pk]


def test_filter_by_active(api: APIClient, tenant: Tenant) -> None:
    charge_point = ChargePointFactory(tenant=tenant)
    stopped = TransactionFactory(charge_point=charge_point, stopped=True)
    active = TransactionFactory(charge_point=charge_point)

    assert ids(api.get(TRANSACTIONS, {"active": "true"})) == [active.pk]
    assert ids(api.get(TRANSACTIONS, {"active": "false"})) == [stopped.pk]


def test_filter_by_start_time_window(api: APIClient, tenant: Tenant) -> None:
    charge_point = ChargePointFactory(tenant=tenant)
    early, middle, late = (
        TransactionFactory(
            charge_point=charge_point, started_at=T0 + timedelta(hours=n), stopped=True
        )
        for n in (0, 1, 2)
    )

    after = api.get(TRANSACTIONS, {"started_after": "2025-03-01T13:00:00Z"})
    before = api.get(TRANSACTIONS, {"started_before": "2025-03-01T13:00:00Z"})
    window = api.get(
        TRANSACTIONS,
        {"started_after": "2025-03-01T12:30:00Z", "started_before": "2025-03-01T13:30:00Z"},
    )
    offset = api.get(TRANSACTIONS, {"started_after": "2025-03-01T15:00:00+02:00"})

    assert ids(after) == [late.pk, middle.pk]
    assert ids(before) == [early.pk]
    assert ids(window) == [middle.pk]
    assert ids(offset) == [late.pk, middle.pk]


@pytest.mark.parametrize(
    "query",
    [{"active": "sometimes"}, {"started_after": "yesterday"}, {"started_before": "2025-13-01"}],
)
def test_invalid_filter_value_is_400(api: APIClient, query: dict[str, str]) -> None:
    response = api.get(TRANSACTIONS, query)

    assert response.status_code == 400
    assert errored_fields(response) == set(query)


# --- Meter values --------------------------------------------------------------------------------


def test_meter_values_are_listed_oldest_first(api: APIClient, tenant: Tenant) -> None:
    transaction = TransactionFactory(charge_point__tenant=tenant, started_at=T0)
    for minutes, value in ((10, "300"), (0, "100"), (5, "200")):
        MeterValueFactory(
            transaction=transaction, timestamp=T0 + timedelta(minutes=minutes), value=value
        )
    MeterValueFactory(
        transaction=transaction,
        timestamp=T0 + timedelta(minutes=5),
        measurand="Current.Import",
        phase="L1",
        unit="A",
        value="16.0",
    )

    body = api.get(meter_values_url(transaction.pk)).json()

    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 4
    assert [row["value"] for row in body["results"]] == ["100", "200", "16.0", "300"]
    assert body["results"][2] == {
        "timestamp": "2025-03-01T12:05:00Z",
        "measurand": "Current.Import",
        "phase": "L1",
        "location": "Outlet",
        "unit": "A",
        "context": "Sample.Periodic",
        "format": "Raw",
        "value": "16.0",
    }


def test_meter_values_belong_to_their_transaction_only(api: APIClient, tenant: Tenant) -> None:
    charge_point = ChargePointFactory(tenant=tenant)
    transaction = TransactionFactory(charge_point=charge_point, connector_id=1)
    neighbour = TransactionFactory(charge_point=charge_point, connector_id=2)
    MeterValueFactory(transaction=transaction, value="1")
    MeterValueFactory(transaction=neighbour, value="2")
    MeterValueFactory(transaction=None, charge_point=charge_point, connector_id=1, value="3")

    body = api.get(meter_values_url(transaction.pk)).json()

    assert [row["value"] for row in body["results"]] == ["1"]


def test_meter_values_are_paginated(api: APIClient, tenant: Tenant) -> None:
    transaction = TransactionFactory(charge_point__tenant=tenant, started_at=T0)
    for n in range(55):
        MeterValueFactory(
            transaction=transaction, timestamp=T0 + timedelta(seconds=n), value=str(n)
        )

    first = api.get(meter_values_url(transaction.pk)).json()
    second = api.get(first["next"]).json()

    assert first["count"] == 55
    assert len(first["results"]) == 50
    assert [row["value"] for row in second["results"]] == ["50", "51", "52", "53", "54"]


def test_meter_values_ignore_transaction_list_filters(api: APIClient, tenant: Tenant) -> None:
    transaction = TransactionFactory(charge_point__tenant=tenant)
    MeterValueFactory(transaction=transaction)

    response = api.get(meter_values_url(transaction.pk), {"active": "false"})

    assert response.status_code == 200
    assert response.json()["count"] == 1


def test_meter_values_of_unknown_transaction_are_404(api: APIClient, tenant: Tenant) -> None:
    assert api.get(meter_values_url(123_456)).status_code == 404


# --- Tenancy -------------------------------------------------------------------------------------


def test_list_shows_only_the_callers_transactions(
    api: APIClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    mine = TransactionFactory(charge_point=ChargePointFactory(tenant=tenant, identity="CP-1"))
    TransactionFactory(charge_point=ChargePointFactory(tenant=other_tenant, identity="CP-1"))

    body = api.get(TRANSACTIONS).json()

    assert body["count"] == 1
    assert ids(api.get(TRANSACTIONS)) == [mine.pk]
    # Same identity in another tenant: the filter still sees only the caller's rows.
    assert ids(api.get(TRANSACTIONS, {"charge_point": "CP-1"})) == [mine.pk]


def test_another_tenants_transaction_is_404(
    api: APIClient, other_api: APIClient, other_tenant: Tenant
) -> None:
    theirs = TransactionFactory(charge_point__tenant=other_tenant)

    response = api.get(tx_url(theirs.pk))

    assert response.status_code == 404
    assert response.json() == api.get(tx_url(theirs.pk + 1000)).json()
    assert other_api.get(tx_url(theirs.pk)).status_code == 200


def test_another_tenants_meter_values_are_404(
    api: APIClient, other_api: APIClient, other_tenant: Tenant
) -> None:
    theirs = TransactionFactory(charge_point__tenant=other_tenant)
    MeterValueFactory(transaction=theirs)

    assert api.get(meter_values_url(theirs.pk)).status_code == 404
    assert other_api.get(meter_values_url(theirs.pk)).json()["count"] == 1
