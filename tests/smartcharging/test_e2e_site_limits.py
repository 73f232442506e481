"""Site and charge point limits that hold (issue 18 §4, OCPP 1.6 §3.13, §5.16, §7.8): the real
daphne, charge points on the ``ocpp`` package, the tenant API over HTTP and, where a site
rebalances or a refused profile is retried, a real Celery worker."""

import asyncio
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
from csms.webhooks.models import Event
from csms.webhooks.services.endpoints import webhook_endpoint_create
from tests.async_orm import orm
from tests.http_clients import WAIT, HttpApi
from tests.ocpp_clients import connected_as, ocpp_url
from tests.servers import ServerProcess, celery_worker_running, daphne_running, no_crash_logged
from tests.smartcharging.test_e2e_smart_charging import (
    SITE_STEP_TIMEOUT,
    Charger,
    installed_become,
    iso,
    profile_body,
)
from tests.waiting import until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WORKER_OPTIONS = ("--without-heartbeat", "--without-gossip", "--without-mingle")


class LimitedCharger(Charger):
    """A Charger that reports its smart-charging limits when asked, and may refuse only the
    TxProfiles it is sent (``reject_tx_profiles``)."""

    def __init__(self, identity: str, connection: Any) -> None:
        super().__init__(identity, connection)
        self.configuration: list[dict[str, Any]] = []
        self.reject_tx_profiles = False

    def reports(self, *, units: str = "Current,Power", stack: int = 8, profiles: int = 10) -> None:
        self.configuration = [
            {"key": "ChargingScheduleAllowedChargingRateUnit", "readonly": True, "value": units},
            {"key": "ChargeProfileMaxStackLevel", "readonly": True, "value": str(stack)},
            {"key": "MaxChargingProfilesInstalled", "readonly": True, "value": str(profiles)},
        ]

    @on(Action.get_configuration)
    async def on_get_configuration(self, **_: Any) -> Any:
        return call_result.GetConfiguration(configuration_key=self.configuration)

    @on(Action.set_charging_profile)
    async def on_set_charging_profile(self, cs_charging_profiles: Any, **_: Any) -> Any:
        refused = (
            self.reject_tx_profiles
            and cs_charging_profiles["charging_profile_purpose"] == "TxProfile"
        )
        return call_result.SetChargingProfile(status="Rejected" if refused else self.set_status)

    def tx_profiles(self) -> list[dict[str, Any]]:
        return [
            p["csChargingProfiles"]
            for p in self.payloads("SetChargingProfile")
            if p["csChargingProfiles"]["chargingProfilePurpose"] == "TxProfile"
        ]


def limited(url: str, identity: str) -> AbstractAsyncContextManager[LimitedCharger]:
    return connected_as(LimitedCharger, url, identity, seen_online=True)


def start(connector_id: int = 1, *, at: datetime | None = None) -> Any:
    return call.StartTransaction(
        connector_id=connector_id,
        id_tag="FLEET",
        meter_start=0,
        timestamp=iso(at or datetime.now(UTC)),
    )


@pytest.fixture(autouse=True)
def fleet_tag(tenant: Tenant) -> IdTag:
    return IdTag.objects.create(tenant=tenant, id_tag="FLEET")


@pytest.fixture
def worker(tenant: Tenant) -> Iterator[ServerProcess]:
    with celery_worker_running(*WORKER_OPTIONS) as process:
        yield process


def site_body(*members: str, **fields: Any) -> dict[str, Any]:
    return {
        "name": "Depot",
        "charge_points": list(members),
        "limit_unit": "A",
        "limit": 32,
        "min_rate": 6,
        **fields,
    }


# --- Before sending: what the charge point said it can take ------------------------------------


async def test_profiles_are_checked_against_what_the_charge_point_reported(
    url: str, http_api: HttpApi
) -> None:
    async with limited(url, "CP-1") as cp:
        cp.reports(units="Power", stack=3, profiles=2)
        first = await http_api.post(
            "/charging-profiles/", profile_body(1, limit=16, connector_id=0)
        )
        assert first.status == 201, first.body
        # Not known yet: asked once, ahead of the profile.
        await cp.calls_of("SetChargingProfile", 1)
        assert cp.actions()[:2] == ["GetConfiguration", "SetChargingProfile"]
        [asked] = cp.payloads("GetConfiguration")
        assert set(asked["key"]) == {
            "ChargeProfileMaxStackLevel",
            "ChargingScheduleAllowedChargingRateUnit",
            "MaxChargingProfilesInstalled",
        }
        await installed_become("CP-1", [1])

        # Known now: A goes out as W (P = 230 V · 10 A · 3 phases), never asked again.
        second = await http_api.post(
            "/charging-profiles/", profile_body(2, limit=10, connector_id=0, stack_level=2)
        )
        assert second.status == 201, second.body
        _, sent = await cp.calls_of("SetChargingProfile", 2)
        schedule = sent["csChargingProfiles"]["chargingSchedule"]
        assert (schedule["chargingRateUnit"], schedule["chargingSchedulePeriod"]) == (
            "W",
            [{"startPeriod": 0, "limit": 6900.0}],
        )
        await installed_become("CP-1", [1, 2])

        too_high = await http_api.post(
            "/charging-profiles/", profile_body(3, limit=10, connector_id=0, stack_level=4)
        )
        too_many = await http_api.post(
            "/charging-profiles/", profile_body(4, limit=10, connector_id=0, stack_level=3)
        )
        raw_in_amperes = await http_api.command(
            "CP-1",
            "SetChargingProfile",
            {
                "connectorId": 0,
                "csChargingProfiles": {
                    "chargingProfileId": 2,
                    "stackLevel": 2,
                    "chargingProfilePurpose": "TxDefaultProfile",
                    "chargingProfileKind": "Relative",
                    "chargingSchedule": {
                        "chargingRateUnit": "A",
                        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 8.0}],
                    },
                },
            },
        )
    assert too_high.status == 400
    assert "ChargeProfileMaxStackLevel" in str(too_high.body)
    assert too_many.status == 400
    assert "MaxChargingProfilesInstalled" in str(too_many.body)
    assert raw_in_amperes.status == 400
    assert "ChargingScheduleAllowedChargingRateUnit" in raw_in_amperes.body["detail"]
    assert cp.actions().count("GetConfiguration") == 1
    assert len(cp.payloads("SetChargingProfile")) == 2


# --- Sites: a reserved stack level, a safe default from the first second ----------------------


@pytest.fixture
def member(make_charge_point: Callable[..., ChargePoint]) -> ChargePoint:
    """CP-A, to be a member of the site."""
    return make_charge_point("CP-A")


async def test_a_site_caps_a_session_from_its_first_second_at_a_level_tenants_cannot_override(
    member: ChargePoint, cp_url: Callable[[str], str], http_api: HttpApi, worker: ServerProcess
) -> None:
    async with limited(cp_url("CP-A"), "CP-A") as cp:
        cp.reports(stack=5)
        # What an operator's baseline read does: the mirror knows the charger's limits.
        await http_api.command("CP-A", "GetConfiguration", {})
        created = await http_api.post("/charging-sites/", site_body("CP-A", session_default_rate=8))
        assert created.status == 201, created.body

        # Before any session: the site's default on connector 0, at the highest stack level.
        async def default_arrived() -> bool:
            return any(
                p["csChargingProfiles"]["chargingProfilePurpose"] == "TxDefaultProfile"
                and p["csChargingProfiles"]["stackLevel"] == 5
                for p in cp.payloads("SetChargingProfile")
            )

        await until(default_arrived, within=SITE_STEP_TIMEOUT, what=lambda: str(cp.calls))
        [default] = [
            p
            for p in cp.payloads("SetChargingProfile")
            if p["csChargingProfiles"]["chargingProfilePurpose"] == "TxDefaultProfile"
        ]
        assert default["connectorId"] == 0
        assert default["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"] == [
            {"startPeriod": 0, "limit": 8.0, "numberPhases": 3}
        ]

        started = await cp.ask(start())

        async def shared() -> list[dict[str, Any]]:
            return cp.tx_profiles()

        [share] = await until(shared, within=SITE_STEP_TIMEOUT)
        assert (share["transactionId"], share["stackLevel"]) == (started.transaction_id, 5)

        # A tenant's TxProfile cannot take the site's level; one below it can.
        tx_profile = {
            "install": {"charge_point": "CP-A", "connector_id": 1},
            "charging_profile_purpose": "TxProfile",
            "charging_profile_kind": "Relative",
            "charging_schedule": {
                "charging_rate_unit": "A",
                "charging_schedule_period": [{"start_period": 0, "limit": 32}],
            },
        }
        body = profile_body(40, limit=32, connector_id=1, stack_level=5)
        refused = await http_api.post("/charging-profiles/", {**body, **tx_profile})
        body = profile_body(41, limit=32, connector_id=1, stack_level=4)
        allowed = await http_api.post("/charging-profiles/", {**body, **tx_profile})
    assert refused.status == 400
    assert "reserved" in str(refused.body)
    assert allowed.status == 201, allowed.body


# --- A profile the charge point keeps refusing ---------------------------------------------------


@pytest.fixture(scope="module")
def retrying_env() -> dict[str, str]:
    return {
        "SMARTCHARGING_PROFILE_RETRIES": "2",
        "SMARTCHARGING_PROFILE_RETRY_BASE_SECONDS": "0.5",
        "WEBHOOKS_ALLOW_PRIVATE_ADDRESSES": "true",
    }


@pytest.fixture(scope="module")
def retrying_server(django_db_setup: None, retrying_env: dict[str, str]) -> Iterator[ServerProcess]:
    with daphne_running(**retrying_env) as server:
        yield server


async def test_a_rejected_share_is_retried_then_given_up_and_the_site_shares_the_rest(
    retrying_server: ServerProcess,
    retrying_env: dict[str, str],
    tenant: Tenant,
    make_charge_point: Callable[..., ChargePoint],
    api_for: Callable[..., HttpApi],
    settings: Any,
) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    await orm(webhook_endpoint_create, tenant=tenant, url="http://127.0.0.1:9/hooks")
    await orm(make_charge_point, "CP-A")
    await orm(make_charge_point, "CP-B")
    http_api = await orm(api_for, tenant, server=retrying_server.ws_url)

    def url(identity: str) -> str:
        return ocpp_url(retrying_server.ws_url, tenant.slug, identity)

    with (
        no_crash_logged(retrying_server),
        celery_worker_running(*WORKER_OPTIONS, **retrying_env),
    ):
        async with limited(url("CP-A"), "CP-A") as a, limited(url("CP-B"), "CP-B") as b:
            a.reject_tx_profiles = True
            created = await http_api.post(
                "/charging-sites/", site_body("CP-A", "CP-B", session_default_rate=6)
            )
            assert created.status == 201, created.body
            await a.ask(start(at=datetime.now(UTC) - timedelta(minutes=5)))

            # The first try and two retries, then given up: an event.
            async def given_up() -> list[Any]:
                return await orm(
                    lambda: list(Event.objects.filter(type="charging_profile.rejected"))
                )

            [event] = await until(given_up, within=SITE_STEP_TIMEOUT)
            assert len(a.tx_profiles()) == 3
            assert len({str(p) for p in a.tx_profiles()}) == 1  # the same request each time

            # CP-A runs on the default (6 A): CP-B's session gets the other 26 A.
            started_b = await b.ask(start())

            async def share_of_b() -> list[float]:
                return [
                    p["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"]
                    for p in b.tx_profiles()
                    if p["transactionId"] == started_b.transaction_id
                ]

            shares = await until(share_of_b, within=SITE_STEP_TIMEOUT)
    assert shares[-1] == 26.0
    assert event.data["charge_point"] == "CP-A"
    assert event.data["attempts"] == 3
    assert event.data["charging_site_id"] == created.body["id"]


# --- Profiles sent with RemoteStartTransaction ---------------------------------------------------


def remote_start(connector_id: int, **profile: Any) -> dict[str, Any]:
    return {
        "connectorId": connector_id,
        "idTag": "FLEET",
        "chargingProfile": {
            "chargingProfileId": 77,
            "stackLevel": 1,
            "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Relative",
            "chargingSchedule": {
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 12.0}],
            },
            **profile,
        },
    }


async def installed_on(http_api: HttpApi) -> list[tuple[int, int]]:
    listed = (await http_api.get("/charge-points/CP-1/charging-profiles/")).body["results"]
    return [(p["connector_id"], p["charging_profile_id"]) for p in listed]


async def test_the_tx_profile_of_an_accepted_remote_start_is_installed_until_the_session_stops(
    url: str, http_api: HttpApi
) -> None:
    async with limited(url, "CP-1") as cp:
        sent = await http_api.command("CP-1", "RemoteStartTransaction", remote_start(2))
        assert sent.body["response"] == {"status": "Accepted"}
        during_start = await installed_on(http_api)
        started = await cp.ask(start(2))
        await cp.ask(
            call.StopTransaction(
                transaction_id=started.transaction_id,
                meter_stop=500,
                timestamp=iso(datetime.now(UTC)),
            )
        )
        after_stop = await installed_on(http_api)
    assert during_start == [(2, 77)]
    assert after_stop == []


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (remote_start(1, transactionId=5), "transaction_id"),
        (remote_start(1, chargingProfilePurpose="TxDefaultProfile"), "TxProfile"),
        (remote_start(0), "connectorId"),
    ],
    ids=["with-transaction-id", "not-a-tx-profile", "connector-0"],
)
async def test_a_remote_start_that_cannot_carry_its_profile_is_refused(
    url: str, http_api: HttpApi, payload: dict[str, Any], why: str
) -> None:
    async with limited(url, "CP-1") as cp:
        refused = await http_api.command("CP-1", "RemoteStartTransaction", payload)
    assert refused.status == 400
    assert why in refused.body["detail"]
    assert "RemoteStartTransaction" not in cp.actions()


# --- The composite schedule we compute -----------------------------------------------------------


async def composite(http_api: HttpApi, connector_id: int) -> dict[str, Any]:
    reply = await http_api.get(
        f"/charge-points/CP-1/composite-schedule/?connector_id={connector_id}&duration=3600"
    )
    assert reply.status == 200, reply.body
    return dict(reply.body)


def periods(schedule: dict[str, Any]) -> list[tuple[int, float | None]]:
    return [(p["start_period"], p["limit"]) for p in schedule["charging_schedule_period"]]


async def test_a_tx_profile_starting_within_the_first_second_raises_the_limit_from_second_one(
    url: str, http_api: HttpApi
) -> None:
    async with limited(url, "CP-1") as cp:
        await http_api.post("/charging-profiles/", profile_body(1, limit=10, connector_id=0))
        await installed_become("CP-1", [1])

        async def asked_within_the_start_second() -> dict[str, Any] | None:
            # Early in a second, so the session (the charger's clock half a second ahead) and
            # the question fall in the same one.
            fraction = datetime.now(UTC).microsecond / 1e6
            if fraction > 0.2:
                await asyncio.sleep(1 - fraction)
            second = datetime.now(UTC).replace(microsecond=0)
            started = await cp.ask(start(at=second + timedelta(milliseconds=500)))
            await http_api.command(
                "CP-1",
                "SetChargingProfile",
                {
                    "connectorId": 1,
                    "csChargingProfiles": {
                        "chargingProfileId": 2,
                        "transactionId": started.transaction_id,
                        "stackLevel": 1,
                        "chargingProfilePurpose": "TxProfile",
                        "chargingProfileKind": "Relative",
                        "chargingSchedule": {
                            "chargingRateUnit": "A",
                            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}],
                        },
                    },
                },
            )
            schedule = await composite(http_api, 1)
            await cp.ask(
                call.StopTransaction(
                    transaction_id=started.transaction_id,
                    meter_stop=0,
                    timestamp=iso(datetime.now(UTC)),
                )
            )
            return schedule if schedule["schedule_start"] == iso(second) else None

        schedule = await until(asked_within_the_start_second, within=3 * WAIT)
    # The first second at the lower limit, the rest of the hour the TxProfile's.
    assert periods(schedule) == [(0, 10.0), (1, 16.0)]


async def test_connector_zero_is_the_charge_points_total_capped_by_its_maximum(
    url: str, http_api: HttpApi
) -> None:
    async with limited(url, "CP-1") as cp:
        for connector_id in (1, 2):
            await cp.ask(
                call.StatusNotification(
                    connector_id=connector_id, error_code="NoError", status="Available"
                )
            )
        for body in (
            profile_body(1, limit=16, connector_id=1),
            profile_body(2, limit=10, connector_id=2),
            profile_body(
                3, limit=40, connector_id=0, charging_profile_purpose="ChargePointMaxProfile"
            ),
        ):
            assert (await http_api.post("/charging-profiles/", body)).status == 201
        await installed_become("CP-1", [1, 2, 3])
        total = await composite(http_api, 0)

        await http_api.post(
            "/charging-profiles/",
            profile_body(
                4,
                limit=20,
                connector_id=0,
                charging_profile_purpose="ChargePointMaxProfile",
                stack_level=2,
            ),
        )
        await installed_become("CP-1", [1, 2, 3, 4])
        capped = await composite(http_api, 0)
    assert periods(total) == [(0, 26.0)]  # 16 A + 10 A, under the 40 A maximum
    assert periods(capped) == [(0, 20.0)]
