"""The API's shared behaviour on a real daphne (the ASGI path: async middleware, async views):
Idempotency-Key on a command sent while its charge point is connected, the error shape of an
unknown path, a CSV import."""

import asyncio
import json

import pytest

from chargepoints.models import ChargePoint, Command, IdTag
from tests.async_orm import orm
from tests.e2e.command_target import online
from tests.http_clients import HttpApi, http

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


async def post(http_api: HttpApi, path: str, body: object, key: str) -> tuple[int, dict, dict]:
    reply = await http(
        "POST",
        f"{http_api.base_url}/api/v1{path}",
        json.dumps(body).encode(),
        {
            "Authorization": f"Bearer {http_api.token}",
            "Content-Type": "application/json",
            "Idempotency-Key": key,
        },
    )
    return reply.status, reply.json(), {k.lower(): v for k, v in reply.headers.items()}


async def test_a_retried_command_is_sent_once_and_answered_twice_alike(
    url: str, http_api: HttpApi
) -> None:
    body = {"action": "Reset", "payload": {"type": "Soft"}}
    async with online(url, "CP-1") as cp:
        first = await post(http_api, "/charge-points/CP-1/commands/?wait=10", body, "retry-1")
        again = await post(http_api, "/charge-points/CP-1/commands/?wait=10", body, "retry-1")
        other = await post(
            http_api, "/charge-points/CP-1/commands/?wait=10", {**body, "payload": {}}, "retry-1"
        )

        assert first[0] == 201, first
        assert (again[0], again[1]) == (201, first[1])
        assert again[2]["idempotent-replayed"] == "true"
        assert other[0] == 409 and other[1]["code"] == "idempotency_key_reused"
        assert [call[2] for call in cp.calls] == ["Reset"]
    assert await orm(Command.objects.count) == 1


async def test_concurrent_retries_create_once(charge_point: ChargePoint, http_api: HttpApi) -> None:
    replies = await asyncio.gather(
        *(post(http_api, "/id-tags/", {"id_tag": "TAG-1"}, "same") for _ in range(5))
    )

    statuses = sorted(status for status, _, _ in replies)
    # One creates; the others get its answer, or are told it is still under way.
    assert statuses.count(201) >= 1
    assert set(statuses) <= {201, 409}
    assert await orm(IdTag.objects.count) == 1


async def test_an_unknown_api_path_is_json_over_http(ocpp_server: str, http_api: HttpApi) -> None:
    reply = await http_api.get("/no-such-thing/")

    assert reply.status == 404
    assert reply.content_type.startswith("application/json")
    assert reply.body["code"] == "not_found"


async def test_a_csv_import_over_http(ocpp_server: str, http_api: HttpApi) -> None:
    reply = await http(
        "POST",
        f"{http_api.base_url}/api/v1/charge-points/import/",
        b"identity,name\nCP-7,Depot 7\nCP-8,Depot 8\n",
        {"Authorization": f"Bearer {http_api.token}", "Content-Type": "text/csv"},
    )

    assert reply.status == 201, reply.body
    assert reply.json()["items"] == ["CP-7", "CP-8"]
    assert await orm(ChargePoint.objects.filter(identity__in=["CP-7", "CP-8"]).count) == 2
