"""Smart charging end to end: the REST API and a real daphne, charge points played by the
``ocpp`` package's client over real sockets, and (for sites) a real Celery worker."""

import asyncio
import subprocess
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from ocpp.routing import on
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action

from chargepoints.models import ChargePoint, IdTag
from csms.tenancy.models import Tenant
from smartcharging.models import InstalledChargingProfile
from tests.async_orm import orm
from tests.http_clients import HttpApi
from tests.http_clients import HttpApi as Api
from tests.ocpp_clients import RecordingClient, connected_as
from tests.servers import ServerProcess, celery_worker_running
from tests.waiting import ANSWER_TIMEOUT, eventually

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# A rebalance runs ~2 s after a transaction starts or stops, on a worker that may still be
# starting; the outbox poller of daphne picks its commands up within 2 s more.
SITE_STEP_TIMEOUT = 40.0


# --- A charge point that records what it is sent ----------------------------------------------


class Charger(RecordingClient):
    """Answers the smart-charging CALLs and keeps every CALL frame as it came off the wire."""

    def __init__(self, identity: str, connection: Any) -> None:
        super().__init__(identity, connection)
        self.set_status = "Accepted"

    async def received(self, action: str, count: int) -> list[dict[str, Any]]:
        """The first ``count`` payloads of ``action`` (waits for them)."""
        return await self.calls_of(action, count, within=ANSWER_TIMEOUT)

    def limits_by_transaction(self) -> dict[int, float]:
        """The last TxProfile limit this charger was sent, per transaction."""
        limits: dict[int, float] = {}
        for payload in self.payloads("SetChargingProfile"):
            profile = payload["csChargingProfiles"]
            if "transactionId" in profile:
                period = profile["chargingSchedule"]["chargingSchedulePeriod"][0]
                limits[profile["transactionId"]] = period["limit"]
        return limits

    def composite_limit(self, connector_id: int) -> float:
        """As firmware would: the lowest limit among what it holds for the connector."""
        limits = [
            p["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"]
            for p in self.payloads("SetChargingProfile")
            if p["connectorId"] in (0, connector_id)
        ]
        return float(min(limits))

    @on(Action.set_charging_profile)
    async def on_set_charging_profile(self, **_: Any) -> Any:
        return call_result.SetChargingProfile(status=self.set_status)

    @on(Action.clear_charging_profile)
    async def on_clear_charging_profile(self, **_: Any) -> Any:
        return call_result.ClearChargingProfile(status="Accepted")

    @on(Action.remote_start_transaction)
    async def on_remote_start_transaction(self, **_: Any) -> Any:
        return call_result.RemoteStartTransaction(status="Accepted")

    @on(Action.get_composite_schedule)
    async def on_get_composite_schedule(
        self, connector_id: int, duration: int, charging_rate_unit: str = "A"
    ) -> Any:
        return call_result.GetCompositeSchedule(
            status="Accepted",
            connector_id=connector_id,
            schedule_start=iso(datetime.now(UTC)),
            charging_schedule={
                "duration": duration,
                "charging_rate_unit": charging_rate_unit,
                "charging_schedule_period": [
                    {"start_period": 0, "limit": self.composite_limit(connector_id)}
                ],
            },
        )


def charger(url: str, identity: str) -> AbstractAsyncContextManager[Charger]:
    return connected_as(Charger, url, identity)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


# --- The REST API over HTTP -------------------------------------------------------------------


@pytest.fixture
def api_http(http_api: HttpApi) -> Api:
    """The tenant API, called as ``api_http(method, path, body)``."""
    return http_api


async def installed_ids(identity: str) -> list[int]:
    return await orm(
        lambda: list(
            InstalledChargingProfile.objects.filter(charge_point__identity=identity)
            .order_by("charging_profile_id")
            .values_list("charging_profile_id", flat=True)
        )
    )


async def installed_become(identity: str, expected: list[int]) -> list[int]:
    async def probe() -> bool:
        return await installed_ids(identity) == expected

    await eventually(probe)
    return await installed_ids(identity)


def profile_body(profile_id: int, *, limit: float, connector_id: int, **fields: Any) -> dict:
    return {
        "charging_profile_id": profile_id,
        "stack_level": 1,
        "charging_profile_purpose": "TxDefaultProfile",
        "charging_profile_kind": "Absolute",
        "charging_schedule": {
            "start_schedule": "2024-01-01T00:00:00Z",
            "charging_rate_unit": "A",
            "charging_schedule_period": [{"start_period": 0, "limit": limit}],
        },
        "install": {"charge_point": "CP-1", "connector_id": connector_id},
        **fields,
    }


# --- Profiles -----------------------------------------------------------------------------------


async def test_profiles_are_installed_replaced_and_cleared(url: str, api_http: Api) -> None:
    async with charger(url, "CP-1") as cp:
        created = await api_http(
            "POST", "/charging-profiles/", profile_body(11, limit=16, connector_id=0)
        )
        assert created.status == 201, created.body
        (sent,) = await cp.received("SetChargingProfile", 1)
        assert (
            sent
            == created.body["commands"][0]["payload"]
            == {
                "connectorId": 0,
                "csChargingProfiles": {
                    "chargingProfileId": 11,
                    "stackLevel": 1,
                    "chargingProfilePurpose": "TxDefaultProfile",
                    "chargingProfileKind": "Absolute",
                    "chargingSchedule": {
                        "chargingRateUnit": "A",
                        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}],
                        "startSchedule": "2024-01-01T00:00:00Z",
                    },
                },
            }
        )
        assert await installed_become("CP-1", [11]) == [11]

        # Same purpose and stack level on the same connector: replaces 11 (OCPP 1.6 §5.16.1).
        await api_http("POST", "/charging-profiles/", profile_body(12, limit=10, connector_id=0))
        await cp.received("SetChargingProfile", 2)
        assert await installed_become("CP-1", [12]) == [12]

        await api_http(
            "POST", "/charging-profiles/", profile_body(13, limit=8, connector_id=0, stack_level=2)
        )
        assert await installed_become("CP-1", [12, 13]) == [12, 13]

        # A refused profile is not recorded.
        cp.set_status = "Rejected"
        await api_http("POST", "/charging-profiles/", profile_body(14, limit=6, connector_id=1))
        await cp.received("SetChargingProfile", 4)
        await asyncio.sleep(0.3)
        assert await installed_ids("CP-1") == [12, 13]

        deleted = await api_http("DELETE", "/charging-profiles/12/")
        assert deleted.status == 204
        assert (await cp.received("ClearChargingProfile", 1)) == [{"id": 12}]
        assert await installed_become("CP-1", [13]) == [13]

        cleared = await api_http(
            "POST",
            "/charge-points/CP-1/clear-charging-profiles/",
            {"connector_id": 0, "charging_profile_purpose": "TxDefaultProfile"},
        )
        assert cleared.status == 202
        assert (await cp.received("ClearChargingProfile", 2))[1] == {
            "connectorId": 0,
            "chargingProfilePurpose": "TxDefaultProfile",
        }
        assert await installed_become("CP-1", []) == []

    listed = await api_http("GET", "/charging-profiles/?charge_point=CP-1")
    assert listed.body["count"] == 0


async def test_composite_schedule_beside_the_charge_points_own_answer(
    url: str, api_http: Api
) -> None:
    async with charger(url, "CP-1") as cp:
        await api_http(
            "POST",
            "/charging-profiles/",
            profile_body(
                1, limit=32, connector_id=0, charging_profile_purpose="ChargePointMaxProfile"
            ),
        )
        await api_http("POST", "/charging-profiles/", profile_body(2, limit=13.5, connector_id=1))
        await installed_become("CP-1", [1, 2])

        reply = await api_http(
            "GET",
            "/charge-points/CP-1/composite-schedule/?connector_id=1&duration=900&ask=1&wait=10",
        )

        assert reply.status == 200, reply.body
        ours = reply.body["charging_schedule_period"]
        answer = reply.body["charge_point_answer"]
        assert answer["status"] == "completed"
        assert answer["payload"] == {"connectorId": 1, "duration": 900, "chargingRateUnit": "A"}
        assert cp.payloads("GetCompositeSchedule") == [answer["payload"]]
        theirs = answer["response"]["chargingSchedule"]["chargingSchedulePeriod"]
        assert [(p["start_period"], p["limit"]) for p in ours] == [(0, 13.5)]
        assert [(p["startPeriod"], p["limit"]) for p in theirs] == [(0, 13.5)]
        assert answer["response"]["status"] == "Accepted"


async def test_remote_start_with_a_tx_profile_reaches_the_charge_point_unchanged(
    url: str, api_http: Api
) -> None:
    payload = {
        "connectorId": 2,
        "idTag": "TAG-1",
        "chargingProfile": {
            "chargingProfileId": 30,
            "stackLevel": 2,
            "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Relative",
            "chargingSchedule": {
                "chargingRateUnit": "W",
                "duration": 3600,
                "chargingSchedulePeriod": [
                    {"startPeriod": 0, "limit": 7400.0, "numberPhases": 1},
                    {"startPeriod": 1800, "limit": 3680.5},
                ],
                "minChargingRate": 1380.0,
            },
        },
    }
    async with charger(url, "CP-1") as cp:
        reply = await api_http(
            "POST",
            "/charge-points/CP-1/commands/?wait=10",
            {"action": "RemoteStartTransaction", "payload": payload},
        )

        assert reply.status == 201, reply.body
        assert cp.payloads("RemoteStartTransaction") == [payload]
        assert (reply.body["payload"], reply.body["response"]) == (payload, {"status": "Accepted"})

        refused = await api_http(
            "POST",
            "/charge-points/CP-1/commands/",
            {
                "action": "RemoteStartTransaction",
                "payload": {
                    **payload,
                    "chargingProfile": {
                        **payload["chargingProfile"],
                        "chargingProfilePurpose": "TxDefaultProfile",
                    },
                },
            },
        )
        assert refused.status == 400
        assert "TxProfile" in refused.body["detail"]


# --- A site of three charge points --------------------------------------------------------------


@pytest.fixture
def celery_worker(tenant: Tenant) -> Iterator[ServerProcess]:
    """A real worker on this run's broker and test database (the rebalance task runs there)."""
    with celery_worker_running() as worker:
        yield worker


async def settle(
    chargers: list[Charger], expected: dict[int, float], *, site_limit: float
) -> dict[int, float]:
    """Wait until the running transactions' last TxProfiles are ``expected``."""

    def latest() -> dict[int, float]:
        limits: dict[int, float] = {}
        for cp in chargers:
            limits.update(cp.limits_by_transaction())
        return {tx: limit for tx, limit in limits.items() if tx in expected}

    async def probe() -> bool:
        return latest() == expected

    await eventually(probe, within=SITE_STEP_TIMEOUT)
    limits = latest()
    assert limits == expected
    assert sum(limits.values()) <= site_limit
    return limits


@pytest.fixture
def fleet(make_charge_point: Callable[..., ChargePoint], tenant: Tenant) -> list[ChargePoint]:
    IdTag.objects.create(tenant=tenant, id_tag="FLEET")
    return [make_charge_point(identity) for identity in ("CP-A", "CP-B", "CP-C")]


async def test_a_site_shares_its_limit_as_sessions_start_and_stop(
    fleet: list[ChargePoint],
    cp_url: Callable[[str], str],
    api_http: Api,
    celery_worker: subprocess.Popen[str],
) -> None:
    site = await api_http(
        "POST",
        "/charging-sites/",
        {
            "name": "Depot",
            "charge_points": ["CP-A", "CP-B", "CP-C"],
            "limit_unit": "A",
            "limit": 32,
            "min_rate": 6,
        },
    )
    assert site.status == 201, site.body
    started = datetime.now(UTC) - timedelta(minutes=10)

    async def start(cp: Charger, minute: int) -> int:
        answer = await cp.ask(
            call.StartTransaction(
                connector_id=1,
                id_tag="FLEET",
                meter_start=0,
                timestamp=iso(started + timedelta(minutes=minute)),
            )
        )
        return answer.transaction_id

    async with (
        charger(cp_url("CP-A"), "CP-A") as a,
        charger(cp_url("CP-B"), "CP-B") as b,
        charger(cp_url("CP-C"), "CP-C") as c,
    ):
        everyone = [a, b, c]
        tx_a = await start(a, 0)
        await settle(everyone, {tx_a: 32.0}, site_limit=32)

        tx_b = await start(b, 1)
        await settle(everyone, {tx_a: 16.0, tx_b: 16.0}, site_limit=32)

        tx_c = await start(c, 2)
        await settle(everyone, {tx_a: 10.6, tx_b: 10.7, tx_c: 10.7}, site_limit=32)

        await a.ask(
            call.StopTransaction(
                meter_stop=4000, timestamp=iso(datetime.now(UTC)), transaction_id=tx_a
            )
        )
        await settle(everyone, {tx_b: 16.0, tx_c: 16.0}, site_limit=32)

        # Every profile the site pushed was its session default (a TxDefaultProfile on
        # connector 0) or a TxProfile for the charger's own transaction.
        for cp, tx in ((a, tx_a), (b, tx_b), (c, tx_c)):
            for payload in cp.payloads("SetChargingProfile"):
                profile = payload["csChargingProfiles"]
                if profile["chargingProfilePurpose"] == "TxDefaultProfile":
                    assert payload["connectorId"] == 0
                else:
                    assert profile["chargingProfilePurpose"] == "TxProfile"
                    assert profile["transactionId"] == tx

        allocations = (await api_http("GET", f"/charging-sites/{site.body['id']}/")).body[
            "allocations"
        ]
        assert sorted((x["transaction_id"], x["limit"]) for x in allocations) == [
            (tx_b, 16.0),
            (tx_c, 16.0),
        ]
    assert celery_worker.poll() is None, "the worker died"
