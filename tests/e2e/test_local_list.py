"""Local-list synchronisation end to end: the API or the beat task starts it, the real daphne
chains GetLocalListVersion and SendLocalList through the outbox, and a charge point built on the
``ocpp`` package keeps the list it is sent."""

from typing import Any

import pytest
from ocpp.v16 import call

from chargepoints.models import ChargePoint, Command, IdTag, LocalListState
from chargepoints.tasks import sync_local_lists
from csms.tenancy.models import Tenant
from tests.async_orm import orm
from tests.e2e.local_auth_charge_point import online
from tests.http_clients import WAIT, HttpApi
from tests.waiting import until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def local_tags(tenant: Tenant) -> None:
    IdTag.objects.create(tenant=tenant, id_tag="TAG-A", in_local_list=True, parent_id_tag="FLEET")
    IdTag.objects.create(tenant=tenant, id_tag="TAG-B", in_local_list=True, status="Blocked")
    IdTag.objects.create(tenant=tenant, id_tag="TAG-NOT-LOCAL")


async def local_list(http_api: HttpApi, identity: str = "CP-1") -> dict[str, Any]:
    return (await http_api.get(f"/charge-points/{identity}/")).body["local_list"]


async def synced(http_api: HttpApi, **expected: Any) -> dict[str, Any]:
    """The charge point's local_list once the sync ended with ``expected`` values."""

    async def probe() -> dict[str, Any] | None:
        state = await local_list(http_api)
        done = not state["in_progress"] and all(state[k] == v for k, v in expected.items())
        return state if done else None

    state = await until(probe)
    assert state is not None
    return state


async def test_full_then_differential_sync_with_a_removal(
    url: str, http_api: HttpApi, local_tags: None
) -> None:
    async with online(url, "CP-1") as cp:
        started = await http_api.post("/charge-points/CP-1/local-list/sync/")
        assert started.status == 202
        await synced(http_api, version=1, last_result="Accepted")

        assert cp.actions() == ["GetLocalListVersion", "SendLocalList"]
        assert cp.payloads("SendLocalList") == [
            {
                "listVersion": 1,
                "updateType": "Full",
                "localAuthorizationList": [
                    {"idTag": "TAG-A", "idTagInfo": {"status": "Accepted", "parentIdTag": "FLEET"}},
                    {"idTag": "TAG-B", "idTagInfo": {"status": "Blocked"}},
                ],
            }
        ]
        assert cp.local_list.entries == {
            "tag-a": {"status": "Accepted", "parent_id_tag": "FLEET"},
            "tag-b": {"status": "Blocked"},
        }

        # Blocking a listed tag goes out at once (issue 18 §1), as a Differential update.
        assert (await http_api.patch("/id-tags/TAG-A/", {"status": "Blocked"})).status == 200
        await synced(http_api, version=2, last_result="Accepted")
        assert cp.payloads("SendLocalList")[1] == {
            "listVersion": 2,
            "updateType": "Differential",
            "localAuthorizationList": [
                {"idTag": "TAG-A", "idTagInfo": {"status": "Blocked", "parentIdTag": "FLEET"}},
            ],
        }

        # The other changes through the API, one removal and one addition, at the next sync.
        assert (await http_api.delete("/id-tags/TAG-B/")).status == 204
        created = await http_api.post("/id-tags/", {"id_tag": "TAG-C", "in_local_list": True})
        assert created.status == 201
        await http_api.post("/charge-points/CP-1/local-list/sync/")
        state = await synced(http_api, version=3, last_result="Accepted")

        assert cp.payloads("SendLocalList")[2] == {
            "listVersion": 3,
            "updateType": "Differential",
            "localAuthorizationList": [
                {"idTag": "TAG-B"},
                {"idTag": "TAG-C", "idTagInfo": {"status": "Accepted"}},
            ],
        }
        assert cp.local_list.version == 3
        assert sorted(cp.local_list.entries) == ["tag-a", "tag-c"]
        assert (state["size"], state["last_synced_at"] is not None) == (2, True)


async def test_version_mismatch_on_a_differential_update_recovers_with_the_full_list(
    url: str, http_api: HttpApi, tenant: Tenant, local_tags: None
) -> None:
    async with online(url, "CP-1") as cp:
        await http_api.post("/charge-points/CP-1/local-list/sync/")
        await synced(http_api, version=1)
        await orm(IdTag.objects.create, tenant=tenant, id_tag="TAG-C", in_local_list=True)
        cp.scripted["SendLocalList"] = [{"status": "VersionMismatch"}]

        await http_api.post("/charge-points/CP-1/local-list/sync/")
        await synced(http_api, version=2, last_result="Accepted")

    sent = cp.payloads("SendLocalList")
    assert [(m["listVersion"], m["updateType"]) for m in sent] == [
        (1, "Full"),
        (2, "Differential"),
        (2, "Full"),
    ]
    assert [e["idTag"] for e in sent[2]["localAuthorizationList"]] == ["TAG-A", "TAG-B", "TAG-C"]
    assert sorted(cp.local_list.entries) == ["tag-a", "tag-b", "tag-c"]


async def test_list_is_chunked_by_the_charge_points_send_local_list_max_length(
    url: str, http_api: HttpApi, tenant: Tenant
) -> None:
    for n in range(5):
        await orm(IdTag.objects.create, tenant=tenant, id_tag=f"T{n}", in_local_list=True)
    async with online(url, "CP-1") as cp:
        # The limit reaches the configuration mirror the way it would in production.
        cp.configuration = [{"key": "SendLocalListMaxLength", "readonly": True, "value": "2"}]
        read = await http_api.post(
            f"/charge-points/CP-1/commands/?wait={WAIT}",
            {"action": "GetConfiguration", "payload": {"key": ["SendLocalListMaxLength"]}},
        )
        assert read.body["status"] == "completed"

        await http_api.post("/charge-points/CP-1/local-list/sync/")
        state = await synced(http_api, version=3, last_result="Accepted")

    sent = cp.payloads("SendLocalList")
    assert [(m["listVersion"], m["updateType"]) for m in sent] == [
        (1, "Full"),
        (2, "Differential"),
        (3, "Differential"),
    ]
    assert [len(m["localAuthorizationList"]) for m in sent] == [2, 2, 1]
    assert sorted(cp.local_list.entries) == [f"t{n}" for n in range(5)]
    assert state["size"] == 5


async def test_not_supported_stops_the_beat_until_the_charge_point_reboots(
    url: str, http_api: HttpApi, charge_point: ChargePoint, local_tags: None
) -> None:
    async with online(url, "CP-1") as cp:
        cp.scripted["SendLocalList"] = [{"status": "NotSupported"}]
        await http_api.post("/charge-points/CP-1/local-list/sync/")
        state = await synced(http_api, last_result="NotSupported")
        assert state["not_supported"] is True
        assert cp.payloads("SendLocalList")[0]["updateType"] == "Full"  # answered NotSupported

        # The beat leaves it alone ...
        assert await orm(lambda: sync_local_lists.delay().get()) == 0
        assert await orm(Command.objects.filter(charge_point=charge_point).count) == 2

        # ... until it boots (new firmware may support local lists).
        boot = await cp.ask(call.BootNotification(charge_point_vendor="V", charge_point_model="M"))
        assert boot.status == "Accepted"
        assert (await local_list(http_api))["not_supported"] is False

        assert await orm(lambda: sync_local_lists.delay().get()) == 1
        state = await synced(http_api, version=1, last_result="Accepted")

    assert sorted(cp.local_list.entries) == ["tag-a", "tag-b"]
    assert state["not_supported"] is False


async def test_the_beat_task_performs_a_sync(
    url: str, http_api: HttpApi, charge_point: ChargePoint, local_tags: None
) -> None:
    async with online(url, "CP-1") as cp:
        assert await orm(lambda: sync_local_lists.delay().get()) == 1
        await synced(http_api, version=1, last_result="Accepted")

        assert await orm(lambda: sync_local_lists.delay().get()) == 1
        await synced(http_api, version=1, last_result="UpToDate")

    assert cp.actions() == ["GetLocalListVersion", "SendLocalList", "GetLocalListVersion"]
    assert sorted(cp.local_list.entries) == ["tag-a", "tag-b"]
    command = await orm(Command.objects.filter(action="SendLocalList").get)
    assert command.requested_by == "job:local-list-sync"


async def test_another_tenants_charge_point_cannot_be_synced(
    url: str, other_http_api: HttpApi, charge_point: ChargePoint
) -> None:
    other_api = other_http_api
    async with online(url, "CP-1") as cp:
        refused = await other_api.post("/charge-points/CP-1/local-list/sync/")
        assert refused.status == 404
        assert (await other_api.get("/charge-points/CP-1/")).status == 404
    assert cp.calls == []
    assert not await orm(LocalListState.objects.exists)
