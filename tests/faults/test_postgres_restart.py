"""PostgreSQL restarts under a fleet's sessions: no socket drops, nothing acknowledged is lost,
and recovery is quick and visible (issue 16 §7).

daphne runs on a private copy of the test database (tests.faults.services) whose server the
test stops (a fast shutdown: every session cut) and starts again. While it is away the API
answers a JSON 503 within a second — a command posted then is refused before anything is
written — and /readyz names the database, within a second; the chargers' frames are refused
(InternalError) and sent again. Within 2 s of the database accepting connections every
charger is served again, /readyz is green, and a command posted then is delivered.
"""

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from chargepoints.models import ChargePoint, Command
from csms.tenancy.models import Tenant
from tests.async_orm import orm
from tests.faults.conftest import api_of, needs_postgres_and_redis, urls_of
from tests.faults.figures import figures_keep
from tests.faults.fleet import Fleet, fleet_running
from tests.faults.services import PrivatePostgres, private_postgres
from tests.faults.stored import reconcile
from tests.http_clients import RawReply, http
from tests.servers import daphne_start
from tests.waiting import until
from transactions.models import MeterValue

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), needs_postgres_and_redis]

OUTAGE_SECONDS = 4.0
RESUMED_WITHIN_SECONDS = 2.0
UNAVAILABLE_WITHIN_SECONDS = 1.0


def _test_database() -> dict[str, str]:
    db = connection.settings_dict
    return {
        "host": db.get("HOST") or "127.0.0.1",
        "port": str(db.get("PORT") or 5432),
        "user": db.get("USER") or "postgres",
        "name": db["NAME"],
    }


def _stored(postgres: PrivatePostgres, identities: list[str]) -> dict[str, list[int]]:
    rows = postgres.scalar(
        f"SELECT cp.identity || ' ' || mv.value FROM {MeterValue._meta.db_table} mv "  # noqa: S608
        f"JOIN {ChargePoint._meta.db_table} cp ON cp.id = mv.charge_point_id"
    )
    stored: dict[str, list[int]] = {identity: [] for identity in identities}
    for line in rows.splitlines():
        identity, value = line.split(" ")
        stored[identity].append(int(value))
    return stored


async def _timed(request: Any) -> tuple[RawReply, float]:
    started = time.monotonic()
    reply = await request
    return reply, time.monotonic() - started


def _json(reply: RawReply) -> Any:
    assert reply.headers.get("Content-Type", "").startswith("application/json"), reply
    return reply.json()


async def test_a_postgresql_restart_is_survived_and_recovered_from_within_its_targets(
    tenant: Tenant,
    token: str,
    fleet_identities: Callable[[str, int], list[str]],
    faults_dir: Path,
) -> None:
    identities = await orm(fleet_identities, "P", 6)
    with private_postgres(faults_dir) as postgres:
        await asyncio.to_thread(postgres.load_copy_of, _test_database())
        server = daphne_start(faults_dir, DATABASE_URL=postgres.url)
        api = api_of(server, token)
        command_body = {"action": "ClearCache", "payload": {}}
        try:
            fleet: Fleet
            async with fleet_running(urls_of(server, tenant), identities, interval=0.05) as fleet:
                await asyncio.sleep(2)
                await asyncio.to_thread(postgres.stop)
                await asyncio.sleep(0.3)
                headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
                listed, list_seconds = await _timed(
                    http("GET", f"{api.base_url}/api/v1/charge-points/", None, headers)
                )
                posted, post_seconds = await _timed(
                    http(
                        "POST",
                        f"{api.base_url}/api/v1/charge-points/{identities[0]}/commands/",
                        b'{"action": "ClearCache", "payload": {}}',
                        headers,
                    )
                )
                unready, ready_seconds = await _timed(http("GET", f"{api.base_url}/readyz"))
                await asyncio.sleep(
                    OUTAGE_SECONDS - 0.3 - list_seconds - post_seconds - ready_seconds
                )
                await asyncio.to_thread(postgres.start)
                accepting_at = time.monotonic()
                resumed = await fleet.until_all_acknowledged_since(accepting_at, within=20)

                async def ready() -> bool:
                    return (await http("GET", f"{api.base_url}/readyz")).status == 200

                await until(ready, within=5, what=lambda: "/readyz stayed red")
                ready_after = time.monotonic() - accepting_at
                after = await api.post(
                    f"/charge-points/{identities[0]}/commands/?wait=5", command_body
                )
                await asyncio.sleep(0.5)
        finally:
            server.stop()
        stored = await asyncio.to_thread(_stored, postgres, identities)
        commands_written = postgres.scalar(
            f"SELECT count(*) FROM {Command._meta.db_table}"  # noqa: S608 - the model's table
        )

    listed_body, posted_body, unready_body = (
        _json(listed),
        _json(posted),
        _json(unready),
    )
    figures = {
        "outage_seconds": OUTAGE_SECONDS,
        "sockets_dropped": fleet.drops,
        "frames_refused_or_unanswered": fleet.refused,
        "api_during_outage": [listed.status, round(list_seconds, 2)],
        "command_during_outage": [posted.status, round(post_seconds, 2)],
        "readyz_during_outage": [unready.status, round(ready_seconds, 2)],
        "traffic_resumed_after_s": round(resumed, 2),
        "readyz_green_after_s": round(ready_after, 2),
        "command_after": [after.status, after.body["status"]],
        **reconcile(fleet, stored),
    }
    figures_keep("postgres_restart", figures)
    assert listed.status == 503 and listed_body["code"] == "database_unavailable"
    assert posted.status == 503 and posted_body["code"] == "database_unavailable"
    assert commands_written == "1"  # only the one posted after the restart
    assert unready.status == 503 and unready_body["checks"]["database"]["ok"] is False
    assert max(list_seconds, post_seconds, ready_seconds) < UNAVAILABLE_WITHIN_SECONDS
    assert resumed < RESUMED_WITHIN_SECONDS
    assert after.status == 201 and after.body["status"] == "completed"
    assert fleet.drops == 0
    assert figures["acknowledged_not_stored"] == 0
    assert figures["duplicates"] == 0
