"""Sessions a CPO can bill (issue 15 §2-§4), end to end: the ``ocpp`` package's charge point
against a real daphne, the tenant API over HTTP, the rows and webhook events it leaves."""

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from ocpp.v16 import call

from chargepoints.models import ChargePoint, Connector, ConnectorStatusChange, IdTag
from csms.tenancy.models import Tenant
from csms.webhooks.models import Event, WebhookEndpoint
from tests.async_orm import orm
from tests.e2e import charger_frames as frames
from tests.http_clients import HttpApi, http
from tests.ocpp_clients import ocpp_client, open_socket, raw_call
from transactions.models import MeterValue, Transaction

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def start(cp: Any, *, connector_id: int = 1, id_tag: str = "TAG-OK", **fields: Any) -> Any:
    fields.setdefault("meter_start", 1000)
    fields.setdefault("timestamp", iso(T0))
    return await cp.ask(call.StartTransaction(connector_id=connector_id, id_tag=id_tag, **fields))


async def session(tx_id: int) -> Transaction:
    return await orm(Transaction.objects.get, pk=tx_id)


async def webhook_types() -> list[str]:
    return await orm(
        lambda: list(
            Event.objects.filter(type__startswith="transaction.")
            .order_by("created_at", "id")
            .values_list("type", flat=True)
        )
    )


async def csv_download(api: HttpApi, path: str) -> list[dict[str, str]]:
    reply = await http(
        "GET", f"{api.base_url}/api/v1{path}", headers={"Authorization": f"Bearer {api.token}"}
    )
    assert reply.status == 200, reply.body
    return list(csv.DictReader(io.StringIO(reply.body.decode())))


@pytest.fixture
def webhook(tenant: Tenant) -> WebhookEndpoint:
    """Subscribed to everything: the events are written (their delivery is not under test)."""
    return WebhookEndpoint.objects.create(
        tenant=tenant, url="https://billing.example/hooks", secret="s" * 32
    )


@pytest.fixture
def cards(tenant: Tenant) -> dict[str, IdTag]:
    return {
        "ok": IdTag.objects.create(tenant=tenant, id_tag="TAG-OK", parent_id_tag="FLEET-1"),
        "sibling": IdTag.objects.create(tenant=tenant, id_tag="TAG-SIB", parent_id_tag="FLEET-1"),
        "stranger": IdTag.objects.create(tenant=tenant, id_tag="TAG-X", status="Blocked"),
    }


# --- §2 Zombie sessions -------------------------------------------------------------------------


async def test_a_session_closed_through_the_api_is_reconciled_by_the_late_stop(
    url: str,
    charge_point: ChargePoint,
    cards: dict[str, IdTag],
    http_api: HttpApi,
    webhook: WebhookEndpoint,
) -> None:
    async with ocpp_client(url, "CP-1") as cp:
        started = await start(cp, meter_start=1000)
        await cp.ask(
            call.MeterValues(
                connector_id=1,
                transaction_id=started.transaction_id,
                meter_value=[
                    {
                        "timestamp": iso(T0 + timedelta(minutes=20)),
                        "sampledValue": [{"value": "1900"}],
                    }
                ],
            )
        )
    # The charger went away; the tenant closes the session on the server.
    closed = await http_api.post(
        f"/transactions/{started.transaction_id}/close/", {"reason": "zombie"}
    )
    assert closed.status == 200, closed.body
    assert (closed.body["stopped_by"], closed.body["meter_stop"], closed.body["energy_wh"]) == (
        "server",
        1900,
        900,
    )

    # It comes back and delivers its queued stop, twice (a retry with a new message id).
    real_stop = T0 + timedelta(hours=2)
    stop = call.StopTransaction(
        transaction_id=started.transaction_id,
        meter_stop=4000,
        timestamp=iso(real_stop),
        reason="EVDisconnected",
        id_tag="TAG-OK",
    )
    async with ocpp_client(url, "CP-1") as cp:
        first = await cp.ask(stop)
        second = await cp.ask(stop)

    assert first.id_tag_info["status"] == second.id_tag_info["status"] == "Accepted"
    tx = await session(started.transaction_id)
    assert (tx.meter_stop, tx.energy_wh, tx.stopped_at, tx.stopped_by) == (
        4000,
        3000,
        real_stop,
        "charge_point",
    )
    assert tx.closed_by.startswith("api:token ")
    assert await orm(Transaction.objects.count) == 1
    assert await webhook_types() == [
        "transaction.started",
        "transaction.stopped",
        "transaction.reconciled",
    ]


async def test_a_closed_zombie_frees_the_card_from_concurrent_tx(
    url: str, charge_point: ChargePoint, cards: dict[str, IdTag], http_api: HttpApi
) -> None:
    async with ocpp_client(url, "CP-1") as cp:
        zombie = await start(cp, connector_id=1)
        refused = await start(cp, connector_id=2, timestamp=iso(T0 + timedelta(hours=1)))
        assert refused.id_tag_info["status"] == "ConcurrentTx"

        assert (await http_api.post(f"/transactions/{zombie.transaction_id}/close/")).status == 200
        again = await start(cp, connector_id=3, timestamp=iso(T0 + timedelta(hours=2)))

    assert again.id_tag_info["status"] == "Accepted"


async def test_closing_twice_or_another_tenants_session_is_refused(
    url: str,
    charge_point: ChargePoint,
    cards: dict[str, IdTag],
    http_api: HttpApi,
    other_http_api: HttpApi,
) -> None:
    async with ocpp_client(url, "CP-1") as cp:
        started = await start(cp)
    path = f"/transactions/{started.transaction_id}/close/"

    assert (await other_http_api.post(path)).status == 404
    assert (await http_api.post(path, {"meter_stop": -5})).status == 400
    assert (await http_api.post(path)).status == 200
    assert (await http_api.post(path)).status == 409


# --- §3 Energy a bill can rest on ---------------------------------------------------------------


async def test_a_stop_below_its_start_is_billed_from_the_register_readings(
    url: str, charge_point: ChargePoint, cards: dict[str, IdTag], http_api: HttpApi
) -> None:
    end = T0 + timedelta(hours=1)
    async with ocpp_client(url, "CP-1") as cp:
        started = await start(cp, meter_start=12_000)
        answer = await cp.ask(
            call.StopTransaction(
                transaction_id=started.transaction_id,
                meter_stop=0,  # a firmware that resets the figure at the stop
                timestamp=iso(end),
                transaction_data=[
                    {
                        "timestamp": iso(T0),
                        "sampledValue": [
                            {"value": "12.000", "unit": "kWh", "context": "Transaction.Begin"}
                        ],
                    },
                    {
                        "timestamp": iso(end),
                        "sampledValue": [
                            {"value": "19.500", "unit": "kWh", "context": "Transaction.End"}
                        ],
                    },
                ],
            )
        )

    assert answer.id_tag_info is None
    body = (await http_api.get(f"/transactions/{started.transaction_id}/")).body
    assert (body["energy_wh"], body["energy_source"]) == (7500, "register")
    assert "meter_stop_below_meter_start" in body["flags"]


async def test_a_stop_by_another_card_is_checked_against_the_start(
    url: str, charge_point: ChargePoint, cards: dict[str, IdTag]
) -> None:
    async with ocpp_client(url, "CP-1") as cp:
        by_sibling = await start(cp, connector_id=1)
        by_stranger = await start(cp, connector_id=2, id_tag="TAG-SIB")
        sibling = await cp.ask(
            call.StopTransaction(
                transaction_id=by_sibling.transaction_id,
                meter_stop=1500,
                timestamp=iso(T0 + timedelta(hours=1)),
                id_tag="TAG-SIB",
            )
        )
        stranger = await cp.ask(
            call.StopTransaction(
                transaction_id=by_stranger.transaction_id,
                meter_stop=1500,
                timestamp=iso(T0 + timedelta(hours=1)),
                id_tag="TAG-X",
            )
        )

    assert sibling.id_tag_info == {"status": "Accepted", "parent_id_tag": "FLEET-1"}
    assert stranger.id_tag_info["status"] == "Blocked"
    assert (await session(by_sibling.transaction_id)).flags == []
    assert (await session(by_stranger.transaction_id)).flags == ["stop_id_tag_mismatch"]
    assert not (await session(by_stranger.transaction_id)).active


async def test_identical_values_in_one_frame_are_each_kept_and_left_out_fields_read_null(
    url: str, charge_point: ChargePoint, cards: dict[str, IdTag], http_api: HttpApi
) -> None:
    per_phase = {"value": "16.0", "measurand": "Current.Import", "unit": "A"}
    frame = call.MeterValues(
        connector_id=1,
        transaction_id=0,
        meter_value=[{"timestamp": iso(T0), "sampledValue": [per_phase, per_phase, per_phase]}],
    )
    async with ocpp_client(url, "CP-1") as cp:
        started = await start(cp)
        frame.transaction_id = started.transaction_id
        await cp.ask(frame)
        await cp.ask(frame)  # a retry stores nothing more

    body = (await http_api.get(f"/transactions/{started.transaction_id}/meter-values/")).body
    assert body["count"] == 3
    assert {(row["phase"], row["location"], row["context"]) for row in body["results"]} == {
        (None, None, None)
    }


async def test_meter_values_after_the_stop_are_stored_and_flagged(
    url: str, charge_point: ChargePoint, cards: dict[str, IdTag]
) -> None:
    async with ocpp_client(url, "CP-1") as cp:
        started = await start(cp, meter_start=1000)
        await cp.ask(
            call.StopTransaction(
                transaction_id=started.transaction_id,
                meter_stop=2000,
                timestamp=iso(T0 + timedelta(hours=1)),
            )
        )
        answer = await cp.ask(
            call.MeterValues(
                connector_id=1,
                transaction_id=started.transaction_id,
                meter_value=[
                    {"timestamp": iso(T0 + timedelta(hours=2)), "sampledValue": [{"value": "9000"}]}
                ],
            )
        )

    assert answer is not None
    tx = await session(started.transaction_id)
    assert (tx.energy_wh, tx.flags) == (1000, ["meter_values_after_stop"])
    value = await orm(MeterValue.objects.get, transaction_id=tx.pk)
    assert (value.value, value.after_stop) == ("9000", True)


async def test_an_older_status_notification_does_not_overwrite_the_current_status(
    url: str, charge_point: ChargePoint, http_api: HttpApi
) -> None:
    async with ocpp_client(url, "CP-1") as cp:
        for status, minutes in [("Charging", 10), ("Preparing", 5)]:  # queued, delivered late
            await cp.ask(
                call.StatusNotification(
                    connector_id=1,
                    error_code="NoError",
                    status=status,
                    timestamp=iso(T0 + timedelta(minutes=minutes)),
                )
            )

    connector = await orm(Connector.objects.get, charge_point=charge_point, connector_id=1)
    assert (connector.status, connector.status_timestamp) == (
        "Charging",
        T0 + timedelta(minutes=10),
    )
    history = await orm(
        lambda: list(ConnectorStatusChange.objects.order_by("id").values_list("status", flat=True))
    )
    assert history == ["Charging", "Preparing"]
    body = (await http_api.get("/charge-points/CP-1/")).body
    assert body["connectors"][0]["status"] == "Charging"


async def test_hostile_stops_after_a_server_close_are_answered_and_stored_once(
    url: str, charge_point: ChargePoint, cards: dict[str, IdTag], http_api: HttpApi
) -> None:
    async with open_socket(url) as ws:
        begun = await raw_call(ws, "StartTransaction", frames.start_payload(meterStart=100))
    tx_id = begun[2]["transactionId"]
    assert (await http_api.post(f"/transactions/{tx_id}/close/")).status == 200

    async with open_socket(url) as ws:
        huge = await raw_call(
            ws, "StopTransaction", frames.stop_payload(tx_id, 10**30), message_id="s-1"
        )
        again = await raw_call(
            ws, "StopTransaction", frames.stop_payload(tx_id, 10**30), message_id="s-2"
        )
        unknown = await raw_call(ws, "StopTransaction", frames.stop_payload(2**31 - 9, 5))
        future = await raw_call(
            ws,
            "StopTransaction",
            {**frames.stop_payload(tx_id, 200), "timestamp": "2999-01-01T00:00:00Z"},
        )

    assert [huge[0], again[0], unknown[0], future[0]] == [3, 3, 3, 3]
    tx = await session(tx_id)
    assert tx.meter_stop == 2**63 - 1
    assert "meter_stop_out_of_range" in tx.flags
    assert tx.energy_wh is None  # an out-of-range figure is no evidence, and nothing else is
    assert tx.stopped_by == "charge_point"


# --- §4 Exports and reports ---------------------------------------------------------------------


async def test_the_exports_and_the_report_are_served_by_the_live_server(
    url: str, charge_point: ChargePoint, cards: dict[str, IdTag], http_api: HttpApi
) -> None:
    async with ocpp_client(url, "CP-1") as cp:
        started = await start(cp, meter_start=1000)
        await cp.ask(
            call.StopTransaction(
                transaction_id=started.transaction_id,
                meter_stop=3500,
                timestamp=iso(T0 + timedelta(hours=1)),
                transaction_data=[
                    {"timestamp": iso(T0 + timedelta(hours=1)), "sampledValue": [{"value": "3500"}]}
                ],
            )
        )

    sessions = await csv_download(http_api, "/transactions/export.csv?active=false")
    values = await csv_download(
        http_api, f"/transactions/{started.transaction_id}/meter-values/export.csv"
    )
    report = await http_api.get("/reports/energy/?group_by=charge_point")

    assert [(r["session_id"], r["energy_wh"], r["energy_source"]) for r in sessions] == [
        (str(started.transaction_id), "2500", "meter_stop")
    ]
    assert sessions[0]["started_at"] == "2024-05-01T10:00:00Z"
    assert [(r["value"], r["measurand"], r["phase"]) for r in values] == [("3500", "", "")]
    assert report.body["results"] == [
        {"key": "CP-1", "sessions": 1, "energy_wh": 2500, "sessions_without_energy": 0}
    ]
