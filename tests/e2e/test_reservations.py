"""Reservations end to end: the API sends ReserveNow/CancelReservation through the real daphne
to a charge point built on the ``ocpp`` package, and what it answers is what the API shows."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from ocpp.v16 import call

from chargepoints.models import ChargePoint, IdTag, Reservation
from chargepoints.tasks import expire_reservations
from csms.tenancy.models import Tenant
from csms.webhooks.models import Event
from csms.webhooks.services.endpoints import webhook_endpoint_create
from tests.async_orm import orm
from tests.e2e.local_auth_charge_point import LocalAuthChargePoint, online
from tests.http_clients import WAIT, HttpApi
from tests.servers import celery_worker_running
from tests.waiting import until
from transactions.models import Transaction

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def id_tag(tenant: Tenant) -> str:
    IdTag.objects.create(tenant=tenant, id_tag="TAG-1", parent_id_tag="FLEET")
    return "TAG-1"


def wire(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def reserve(
    http_api: HttpApi,
    *,
    connector_id: int = 1,
    expiry: datetime | None = None,
    wait: float = WAIT,
    id_tag: str = "TAG-1",
) -> Any:
    expiry = expiry or datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    return await http_api.post(
        f"/reservations/?wait={wait}",
        {
            "charge_point": "CP-1",
            "connector_id": connector_id,
            "id_tag": id_tag,
            "expiry_date": wire(expiry),
        },
    )


async def status_report(cp: LocalAuthChargePoint, connector_id: int, status: str) -> None:
    await cp.ask(
        call.StatusNotification(connector_id=connector_id, error_code="NoError", status=status)
    )


async def test_accepted_reservation_is_used_by_the_start_transaction_that_names_it(
    url: str, http_api: HttpApi
) -> None:
    expiry = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    async with online(url, "CP-1") as cp:
        await status_report(cp, 1, "Available")
        created = await reserve(http_api, expiry=expiry)

        assert created.status == 201, created.body
        body = created.body
        assert (body["status"], body["reserve_command"]["response"]) == (
            "accepted",
            {"status": "Accepted"},
        )
        assert cp.payloads("ReserveNow") == [
            {
                "connectorId": 1,
                "expiryDate": wire(expiry),
                "idTag": "TAG-1",
                "parentIdTag": "FLEET",
                "reservationId": body["reservation_id"],
            }
        ]
        shown = (await http_api.get("/charge-points/CP-1/")).body
        assert shown["connectors"][0]["status"] == "Reserved"

        # The charge point reports it too, then the driver arrives.
        await status_report(cp, 1, "Reserved")
        started = await cp.ask(
            call.StartTransaction(
                connector_id=1,
                id_tag="TAG-1",
                meter_start=100,
                timestamp=wire(datetime.now(UTC)),
                reservation_id=body["reservation_id"],
            )
        )
        assert started.id_tag_info["status"] == "Accepted"

    used = (await http_api.get(f"/reservations/{body['id']}/")).body
    assert (used["status"], used["transaction"]) == ("used", started.transaction_id)


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        ("Faulted", "faulted"),
        ("Occupied", "occupied"),
        ("Rejected", "rejected"),
        ("Unavailable", "unavailable"),
    ],
)
async def test_each_refusal_of_reserve_now_is_recorded(
    url: str, http_api: HttpApi, answer: str, status: str
) -> None:
    async with online(url, "CP-1") as cp:
        cp.reserve_answer = answer
        created = await reserve(http_api)

    assert created.status == 201
    assert created.body["status"] == status
    assert created.body["reserve_command"]["response"] == {"status": answer}
    stored = await orm(Reservation.objects.get, pk=created.body["id"])
    assert stored.status == status


async def test_delete_cancels_the_reservation_on_the_charge_point(
    url: str, http_api: HttpApi
) -> None:
    async with online(url, "CP-1") as cp:
        created = (await reserve(http_api)).body
        cancelled = await http_api.delete(f"/reservations/{created['id']}/?wait={WAIT}")

    assert cancelled.status == 200
    assert cancelled.body["status"] == "cancelled"
    assert cp.payloads("CancelReservation") == [{"reservationId": created["reservation_id"]}]
    assert (await http_api.get(f"/reservations/{created['id']}/")).body["status"] == "cancelled"


async def until_past(moment: datetime) -> None:
    await asyncio.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()) + 0.1)


async def test_reservation_of_an_offline_charge_point_waits_and_expires(
    http_api: HttpApi, charge_point: ChargePoint
) -> None:
    expiry = datetime.now(UTC) + timedelta(seconds=1)
    created = await reserve(http_api, expiry=expiry, connector_id=2, wait=0.3)
    assert created.status == 202  # nobody answered: the charge point is offline
    assert created.body["status"] == "requested"

    await until_past(expiry)
    assert await orm(lambda: expire_reservations.delay().get()) == 1

    assert (await http_api.get(f"/reservations/{created.body['id']}/")).body["status"] == "expired"


async def test_accepted_reservation_expires_and_the_connector_is_free_again(
    url: str, http_api: HttpApi
) -> None:
    expiry = datetime.now(UTC) + timedelta(seconds=3)
    async with online(url, "CP-1") as cp:
        await status_report(cp, 1, "Available")
        created = await reserve(http_api, expiry=expiry)
        assert created.body["status"] == "accepted"
        connectors = (await http_api.get("/charge-points/CP-1/")).body["connectors"]
        assert connectors[0]["status"] == "Reserved"

        await until_past(expiry)
        assert await orm(lambda: expire_reservations.delay().get()) == 1

        shown = (await http_api.get(f"/reservations/{created.body['id']}/")).body
        assert shown["status"] == "expired"
        connectors = (await http_api.get("/charge-points/CP-1/")).body["connectors"]
        assert connectors[0]["status"] == "Available"


async def test_another_tenants_reservation_is_not_found(
    url: str, http_api: HttpApi, other_http_api: HttpApi
) -> None:
    async with online(url, "CP-1") as cp:
        mine = (await reserve(http_api)).body

        assert (await other_http_api.get(f"/reservations/{mine['id']}/")).status == 404
        assert (await other_http_api.delete(f"/reservations/{mine['id']}/")).status == 404
        assert (await other_http_api.get("/reservations/")).body["count"] == 0
        refused = await other_http_api.post(
            "/reservations/",
            {"charge_point": "CP-1", "id_tag": "TAG-1", "expiry_date": mine["expiry_date"]},
        )
        assert refused.status == 400
    assert cp.actions() == ["ReserveNow"]
    assert (await http_api.get(f"/reservations/{mine['id']}/")).body["status"] == "accepted"


# --- Reservations follow the connector (issue 18 §2) -----------------------------------------


def reservation_events(status: str) -> list[dict[str, Any]]:
    return [
        event.data
        for event in Event.objects.filter(type="reservation.changed").order_by("created_at")
        if event.data.get("status") == status
    ]


@pytest.mark.parametrize("reported", ["Faulted", "Unavailable"])
async def test_a_connector_that_faults_ends_its_reservation_and_can_be_reserved_again(
    url: str, http_api: HttpApi, tenant: Tenant, settings: Any, reported: str
) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    await orm(webhook_endpoint_create, tenant=tenant, url="http://127.0.0.1:9/hooks")
    async with online(url, "CP-1") as cp:
        await status_report(cp, 1, "Available")
        first = (await reserve(http_api)).body
        assert first["status"] == "accepted"

        await status_report(cp, 1, reported)

        ended = (await http_api.get(f"/reservations/{first['id']}/")).body
        assert ended["status"] == reported.lower()
        assert [e["reservation_id"] for e in await orm(reservation_events, reported.lower())] == [
            first["reservation_id"]
        ]
        await status_report(cp, 1, "Available")
        again = await reserve(http_api)
    assert (again.status, again.body["status"]) == (201, "accepted")
    assert len(cp.payloads("ReserveNow")) == 2


async def start_naming(
    cp: LocalAuthChargePoint, reservation_id: int, id_tag: str, connector_id: int = 1
) -> Any:
    return await cp.ask(
        call.StartTransaction(
            connector_id=connector_id,
            id_tag=id_tag,
            meter_start=0,
            timestamp=wire(datetime.now(UTC)),
            reservation_id=reservation_id,
        )
    )


async def test_a_start_by_another_id_tag_leaves_the_reservation_and_is_flagged(
    url: str, http_api: HttpApi, tenant: Tenant
) -> None:
    await orm(IdTag.objects.create, tenant=tenant, id_tag="TAG-STRANGER")
    await orm(IdTag.objects.create, tenant=tenant, id_tag="TAG-COLLEAGUE", parent_id_tag="fleet")
    async with online(url, "CP-1") as cp:
        reservation = (await reserve(http_api)).body
        stranger = await start_naming(cp, reservation["reservation_id"], "TAG-STRANGER")
        kept = (await http_api.get(f"/reservations/{reservation['id']}/")).body
        # One that shares the reserved tag's parent (case-insensitive) uses it.
        colleague = await start_naming(
            cp, reservation["reservation_id"], "TAG-COLLEAGUE", connector_id=2
        )
    assert kept["status"] == "accepted"
    flagged = await orm(Transaction.objects.get, pk=stranger.transaction_id)
    assert any(flag.startswith("reservation_not_used") for flag in flagged.flags)
    used = (await http_api.get(f"/reservations/{reservation['id']}/")).body
    assert (used["status"], used["transaction"]) == ("used", colleague.transaction_id)


async def test_a_start_naming_a_reservation_not_yet_accepted_does_not_use_it(
    url: str, http_api: HttpApi
) -> None:
    async with online(url, "CP-1") as cp:
        cp.reserve_answer = "Occupied"
        refused = (await reserve(http_api)).body
        started = await start_naming(cp, refused["reservation_id"], "TAG-1")
    assert (await http_api.get(f"/reservations/{refused['id']}/")).body["status"] == "occupied"
    flagged = await orm(Transaction.objects.get, pk=started.transaction_id)
    assert any(flag.startswith("reservation_not_used") for flag in flagged.flags)


def zero_supported(value: str) -> list[dict[str, Any]]:
    return [
        {"key": "ReserveConnectorZeroSupported", "readonly": True, "value": value},
        {"key": "NumberOfConnectors", "readonly": True, "value": "2"},
    ]


async def test_connector_zero_is_reserved_only_where_the_charge_point_supports_it(
    url: str, http_api: HttpApi
) -> None:
    async with online(url, "CP-1") as cp:
        cp.configuration = zero_supported("false")
        unknown = await reserve(http_api, connector_id=0)
        [asked] = await cp.calls_of("GetConfiguration", 1)

        async def refused_for_good() -> Any:
            answer = await reserve(http_api, connector_id=0)
            return answer if answer.body.get("code") == "connector_zero_not_supported" else None

        unsupported = await until(refused_for_good)
        assert "ReserveNow" not in cp.actions()

        cp.configuration = zero_supported("true")
        await http_api.post(
            f"/charge-points/CP-1/commands/?wait={WAIT}",
            {"action": "GetConfiguration", "payload": {}},
        )
        anywhere = await reserve(http_api, connector_id=0)
        # Two connectors, one held free by the connector-0 reservation: one single one fits.
        single = await reserve(http_api, connector_id=1)
        none_left = await reserve(http_api, connector_id=2)
    assert (unknown.status, unknown.body["code"]) == (400, "connector_zero_unknown")
    assert "ReserveConnectorZeroSupported" in asked["key"]
    assert unsupported.status == 400
    assert (anywhere.status, anywhere.body["status"]) == (201, "accepted")
    assert (single.status, single.body["status"]) == (201, "accepted")
    assert none_left.status == 409
    assert [p["connectorId"] for p in cp.payloads("ReserveNow")] == [0, 1]


async def test_a_reservation_ends_on_our_side_within_seconds_of_its_expiry(
    url: str, http_api: HttpApi
) -> None:
    with celery_worker_running("--without-heartbeat", "--without-gossip", "--without-mingle"):
        async with online(url, "CP-1") as cp:
            # The charger never says it expired.
            expiry = datetime.now(UTC) + timedelta(seconds=4)
            created = (await reserve(http_api, expiry=expiry)).body
            assert created["status"] == "accepted"

            async def expired() -> bool:
                shown = (await http_api.get(f"/reservations/{created['id']}/")).body
                return bool(shown["status"] == "expired")

            await until_past(expiry)
            await until(expired, within=5, what=lambda: "still not expired 5 s after its expiry")
    assert cp.actions() == ["ReserveNow"]
