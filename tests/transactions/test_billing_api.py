"""Tenant API for billing (issue 15 §2, §4): closing a session, the CSV exports with the list's
filters, and the energy report computed in one aggregate query."""

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from chargepoints.models import ChargePoint
from csms.tenancy.models import Tenant
from tests.api_errors import is_about
from tests.factories import ChargePointFactory, MeterValueFactory, TransactionFactory
from transactions.models import Transaction

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
EXPORT = "/api/v1/transactions/export.csv"
REPORT = "/api/v1/reports/energy/"


def close_url(pk: int) -> str:
    return f"/api/v1/transactions/{pk}/close/"


def csv_rows(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


# --- POST /transactions/{id}/close/ -----------------------------------------------------------


def test_a_tenant_closes_a_session_with_a_meter_stop_and_reason(
    api: APIClient, tenant: Tenant
) -> None:
    session = TransactionFactory(charge_point__tenant=tenant, started_at=T0, meter_start=1000)

    response = api.post(
        close_url(session.pk),
        {
            "meter_stop": 6000,
            "reason": "Charger offline for good",
            "stopped_at": "2025-03-01T15:00:00Z",
        },
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["active"], body["meter_stop"], body["energy_wh"]) == (False, 6000, 5000)
    assert (body["stopped_by"], body["close_reason"]) == ("server", "Charger offline for good")
    assert body["closed_by"].startswith("api:token ")
    assert body["stopped_at"] == "2025-03-01T15:00:00Z"
    assert body["flags"] == ["closed_by_server"]


def test_a_close_without_a_body_takes_the_last_register_reading(
    api: APIClient, tenant: Tenant
) -> None:
    session = TransactionFactory(charge_point__tenant=tenant, started_at=T0, meter_start=1000)
    MeterValueFactory(
        transaction=session, value="2.5", unit="kWh", timestamp=T0 + timedelta(minutes=9)
    )

    body = api.post(close_url(session.pk), format="json").json()

    assert (body["meter_stop"], body["energy_wh"], body["energy_source"]) == (
        2500,
        1500,
        "meter_stop",
    )


@pytest.mark.parametrize(
    "payload",
    [
        {"meter_stop": -1},
        {"meter_stop": "lots"},
        {"meter_stop": 2**64},
        {"stopped_at": "yesterday"},
    ],
)
def test_an_invalid_close_is_400_and_changes_nothing(
    api: APIClient, tenant: Tenant, payload: dict[str, Any]
) -> None:
    session = TransactionFactory(charge_point__tenant=tenant, started_at=T0)

    response = api.post(close_url(session.pk), payload, format="json")

    assert response.status_code == 400
    assert Transaction.objects.get().active


def test_a_close_before_the_start_is_400(api: APIClient, tenant: Tenant) -> None:
    session = TransactionFactory(charge_point__tenant=tenant, started_at=T0)

    response = api.post(
        close_url(session.pk), {"stopped_at": "2025-03-01T11:00:00Z"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "stopped_at"


def test_closing_a_stopped_session_is_409(api: APIClient, tenant: Tenant) -> None:
    session = TransactionFactory(charge_point__tenant=tenant, stopped=True)

    response = api.post(close_url(session.pk), format="json")

    assert response.status_code == 409
    assert Transaction.objects.get().stopped_by == "charge_point"


def test_another_tenants_session_cannot_be_closed(api: APIClient, other_tenant: Tenant) -> None:
    theirs = TransactionFactory(charge_point__tenant=other_tenant)

    assert api.post(close_url(theirs.pk), format="json").status_code == 404
    assert Transaction.objects.get().active


# --- GET /transactions/export.csv ---------------------------------------------------------------


def test_the_export_has_the_columns_a_billing_system_needs(api: APIClient, tenant: Tenant) -> None:
    charge_point = ChargePointFactory(tenant=tenant, identity="DEPOT-1")
    session = TransactionFactory(
        charge_point=charge_point,
        connector_id=2,
        id_tag="CARD-1",
        parent_id_tag="FLEET",
        meter_start=1000,
        meter_stop=8250,
        started_at=T0,
        stopped_at=T0 + timedelta(hours=2),
        stop_reason="EVDisconnected",
        flags=["meter_stop_rounded", "energy_mismatch"],
    )
    TransactionFactory(charge_point=charge_point, connector_id=1, started_at=T0 - timedelta(days=1))

    rows = csv_rows(api.get(EXPORT))

    assert len(rows) == 2
    assert rows[0] == {
        "session_id": str(session.pk),
        "charge_point": "DEPOT-1",
        "connector_id": "2",
        "id_tag": "CARD-1",
        "parent_id_tag": "FLEET",
        "id_tag_status": "Accepted",
        "started_at": "2025-03-01T12:00:00Z",
        "stopped_at": "2025-03-01T14:00:00Z",
        "meter_start": "1000",
        "meter_stop": "8250",
        "energy_wh": "7250",
        "energy_source": "meter_stop",
        "stop_reason": "EVDisconnected",
        "stopped_by": "charge_point",
        "closed_by": "",
        "flags": "meter_stop_rounded|energy_mismatch",
    }
    assert (rows[1]["stopped_at"], rows[1]["energy_wh"]) == ("", "")  # still active


def test_the_export_takes_the_lists_filters(api: APIClient, tenant: Tenant) -> None:
    charge_point = ChargePointFactory(tenant=tenant, identity="CP-A")
    wanted = TransactionFactory(charge_point=charge_point, id_tag="A", stopped=True, started_at=T0)
    TransactionFactory(charge_point=charge_point, id_tag="B", stopped=True, started_at=T0)
    TransactionFactory(charge_point=ChargePointFactory(tenant=tenant), id_tag="A")

    rows = csv_rows(api.get(EXPORT, {"charge_point": "CP-A", "id_tag": "A", "active": "false"}))

    assert [row["session_id"] for row in rows] == [str(wanted.pk)]


def test_an_invalid_filter_is_a_json_400_even_when_csv_is_asked_for(api: APIClient) -> None:
    response = api.get(EXPORT, {"started_after": "yesterday"}, HTTP_ACCEPT="text/csv")

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert is_about(response, "started_after")


def test_the_export_holds_only_the_callers_sessions(
    api: APIClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    mine = TransactionFactory(charge_point__tenant=tenant)
    TransactionFactory(charge_point__tenant=other_tenant)

    assert [row["session_id"] for row in csv_rows(api.get(EXPORT))] == [str(mine.pk)]


def test_text_a_spreadsheet_would_run_is_neutralised(api: APIClient, tenant: Tenant) -> None:
    TransactionFactory(charge_point__tenant=tenant, id_tag="=HYPERLINK(1)", meter_start=-5)

    (row,) = csv_rows(api.get(EXPORT))

    assert (row["id_tag"], row["meter_start"]) == ("'=HYPERLINK(1)", "-5")


def test_the_export_reads_the_database_in_chunks(api: APIClient, tenant: Tenant) -> None:
    charge_point = ChargePointFactory(tenant=tenant)
    Transaction.objects.bulk_create(
        Transaction(
            tenant=tenant,
            charge_point=charge_point,
            connector_id=1,
            id_tag=f"T{n}",
            id_tag_status="Accepted",
            meter_start=0,
            meter_stop=n,
            energy_wh=n,
            started_at=T0 + timedelta(seconds=n),
            stopped_at=T0 + timedelta(seconds=n + 1),
        )
        for n in range(5000)
    )

    response = api.get(EXPORT)
    chunks = list(response.streaming_content)

    assert len(chunks) > 5  # written out a few hundred rows at a time, not in one piece
    rows = list(csv.DictReader(io.StringIO(b"".join(chunks).decode())))
    assert len(rows) == 5000
    assert rows[0]["energy_wh"] == "4999"


# --- GET /transactions/{id}/meter-values/export.csv ---------------------------------------------


def test_the_meter_values_export_serves_left_out_fields_empty(
    api: APIClient, tenant: Tenant
) -> None:
    session = TransactionFactory(charge_point__tenant=tenant, started_at=T0)
    MeterValueFactory(transaction=session, timestamp=T0, value="100", phase=None, location=None)
    MeterValueFactory(
        transaction=session,
        timestamp=T0 + timedelta(minutes=1),
        value="16.0",
        measurand="Current.Import",
        phase="L1",
        unit="A",
        after_stop=True,
    )

    rows = csv_rows(api.get(f"/api/v1/transactions/{session.pk}/meter-values/export.csv"))

    assert [(r["timestamp"], r["measurand"], r["phase"], r["value"]) for r in rows] == [
        ("2025-03-01T12:00:00Z", "Energy.Active.Import.Register", "", "100"),
        ("2025-03-01T12:01:00Z", "Current.Import", "L1", "16.0"),
    ]
    assert [r["location"] for r in rows] == ["", "Outlet"]
    assert [r["after_stop"] for r in rows] == ["false", "true"]


def test_another_tenants_meter_values_export_is_404(api: APIClient, other_tenant: Tenant) -> None:
    theirs = TransactionFactory(charge_point__tenant=other_tenant)

    response = api.get(f"/api/v1/transactions/{theirs.pk}/meter-values/export.csv")

    assert response.status_code == 404


# --- GET /reports/energy/ -----------------------------------------------------------------------


@pytest.fixture
def sessions(tenant: Tenant, other_tenant: Tenant) -> list[ChargePoint]:
    a = ChargePointFactory(tenant=tenant, identity="CP-A")
    b = ChargePointFactory(tenant=tenant, identity="CP-B")
    for station, tag, day, energy in [
        (a, "card-1", 0, 1000),
        (a, "CARD-1", 0, 2000),
        (b, "CARD-2", 1, 4000),
        (b, "CARD-2", 2, None),
    ]:
        started = T0 + timedelta(days=day)
        TransactionFactory(
            charge_point=station,
            id_tag=tag,
            started_at=started,
            stopped_at=started + timedelta(hours=1),
            meter_stop=None if energy is None else 1000 + energy,
        )
    TransactionFactory(charge_point=a, started_at=T0)  # active: not in the report
    TransactionFactory(charge_point__tenant=other_tenant, stopped=True, started_at=T0)
    return [a, b]


@pytest.mark.parametrize(
    ("group_by", "expected"),
    [
        ("day", [("2025-03-01", 2, 3000, 0), ("2025-03-02", 1, 4000, 0), ("2025-03-03", 1, 0, 1)]),
        ("charge_point", [("CP-A", 2, 3000, 0), ("CP-B", 2, 4000, 1)]),
        ("id_tag", [("CARD-1", 2, 3000, 0), ("CARD-2", 2, 4000, 1)]),
    ],
)
def test_the_energy_report_groups_the_tenants_stopped_sessions(
    api: APIClient, sessions: list[ChargePoint], group_by: str, expected: list[tuple]
) -> None:
    with CaptureQueriesContext(connection) as queries:
        body = api.get(REPORT, {"group_by": group_by}).json()

    assert [
        (r["key"], r["sessions"], r["energy_wh"], r["sessions_without_energy"])
        for r in body["results"]
    ] == expected
    assert body["total"] == {"sessions": 4, "energy_wh": 7000, "sessions_without_energy": 1}
    report_queries = [q for q in queries if "transactions_transaction" in q["sql"]]
    assert len(report_queries) == 1


def test_the_energy_report_takes_a_window(api: APIClient, sessions: list[ChargePoint]) -> None:
    body = api.get(REPORT, {"from": "2025-03-02", "to": "2025-03-03T00:00:00Z"}).json()

    assert [(r["key"], r["energy_wh"]) for r in body["results"]] == [("2025-03-02", 4000)]


@pytest.mark.parametrize(
    "query",
    [{"group_by": "month"}, {"from": "soon"}, {"from": "2025-03-02", "to": "2025-03-01"}],
)
def test_an_invalid_report_query_is_400(api: APIClient, query: dict[str, str]) -> None:
    response = api.get(REPORT, query)

    assert response.status_code == 400


def test_the_energy_report_of_100000_sessions_is_one_query(api: APIClient, tenant: Tenant) -> None:
    stations = [ChargePointFactory(tenant=tenant, identity=f"CP-{n}") for n in range(10)]
    Transaction.objects.bulk_create(
        (
            Transaction(
                tenant=tenant,
                charge_point=stations[n % 10],
                connector_id=1 + n // 10 % 1000,
                id_tag=f"CARD-{n % 100}",
                id_tag_status="Accepted",
                meter_start=0,
                meter_stop=n % 7,
                energy_wh=n % 7,
                started_at=T0 + timedelta(minutes=n),
                stopped_at=T0 + timedelta(minutes=n, seconds=30),
            )
            for n in range(100_000)
        ),
        batch_size=5000,
    )

    with CaptureQueriesContext(connection) as queries:
        body = api.get(REPORT, {"group_by": "charge_point"}).json()

    assert len(body["results"]) == 10
    assert body["total"]["sessions"] == 100_000
    assert body["total"]["energy_wh"] == sum(n % 7 for n in range(100_000))
    assert len([q for q in queries if "transactions_transaction" in q["sql"]]) == 1
