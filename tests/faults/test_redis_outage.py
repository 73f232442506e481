"""Redis stops for 20 s under a fleet's sessions: not one socket drops (issue 16 §1).

The channel layer only carries wake-ups; the database is up, so every frame is answered and
stored, new chargers are let in, commands posted meanwhile are committed (201/202, never 500)
and delivered by the database poller, and once Redis is back and the fleet has left, no
consumer, connection or outbox task is left behind in the server.
"""

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from csms.tenancy.models import Tenant
from tests.async_orm import orm
from tests.faults.conftest import api_of, needs_postgres_and_redis, urls_of
from tests.faults.figures import figures_keep
from tests.faults.fleet import boot_request, fleet_running
from tests.faults.services import private_redis
from tests.faults.stored import reconcile, stored_values
from tests.http_clients import http
from tests.ocpp_clients import ocpp_client
from tests.servers import daphne_start
from tests.waiting import until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), needs_postgres_and_redis]

OUTAGE_SECONDS = 20.0


async def test_a_redis_outage_drops_no_socket_and_loses_no_message_or_command(
    tenant: Tenant,
    token: str,
    fleet_identities: Callable[[str, int], list[str]],
    faults_dir: Path,
) -> None:
    identities = await orm(fleet_identities, "R", 8)
    newcomers = await orm(fleet_identities, "RNEW", 2)
    with private_redis(faults_dir) as redis:
        server = daphne_start(faults_dir, REDIS_URL=redis.url, CHANNEL_PREFIX="faults-redis")
        try:
            api = api_of(server, token)
            async with fleet_running(urls_of(server, tenant), identities, interval=0.05) as fleet:
                await asyncio.sleep(2)
                redis.stop()
                outage_started, acknowledged_before = time.monotonic(), fleet.acknowledged
                await asyncio.sleep(2)
                # Commands posted while the layer is away: committed and answered, never 500.
                answers = await asyncio.gather(
                    *(
                        api.command(
                            identity,
                            "DataTransfer",
                            {"vendorId": "faults", "messageId": f"during-{identity}"},
                            wait=1,
                        )
                        for identity in identities
                    )
                )
                # New handshakes are let in too.
                booted = []
                for identity in newcomers:
                    async with ocpp_client(urls_of(server, tenant)(identity), identity) as client:
                        booted.append((await client.ask(boot_request())).status)
                await asyncio.sleep(OUTAGE_SECONDS - (time.monotonic() - outage_started))
                redis.start()
                acknowledged_in_outage = fleet.acknowledged - acknowledged_before

                def delivered() -> int:
                    return sum(
                        ("DataTransfer", f"during-{c.identity}") in c.received
                        for c in fleet.chargers
                    )

                async def all_delivered() -> bool:
                    return delivered() == len(identities)

                await until(all_delivered, within=15, what=lambda: f"{delivered()} delivered")
                # /readyz under the fleet's load: quick, and green again.
                started = time.monotonic()
                readyz = await http("GET", f"{api.base_url}/readyz")
                readyz_seconds = time.monotonic() - started
                await asyncio.sleep(1)
            # The fleet has left: nothing of its connections may be left in the server.

            async def nothing_left() -> dict[str, int] | None:
                reply = await http("GET", f"{api.base_url}/readyz")
                counts = reply.json()["ocpp"]
                return counts if reply.status == 200 and not any(counts.values()) else None

            left = await until(nothing_left, within=10, what=lambda: "consumers left behind")
        finally:
            server.stop()
        log = server.log_since(0)

    figures = {
        "outage_seconds": OUTAGE_SECONDS,
        "sockets_dropped": fleet.drops,
        "commands_answered": sorted({answer.status for answer in answers}),
        "commands_delivered": f"{delivered()}/{len(identities)}",
        "new_handshakes_during_outage": booted,
        "acknowledged_during_outage": acknowledged_in_outage,
        "left_after": left,
        "readyz_under_load": [readyz.status, round(readyz_seconds, 2)],
        **reconcile(fleet, await orm(stored_values, identities)),
    }
    figures_keep("redis_outage", figures)
    assert fleet.drops == 0, log[-3000:]
    assert figures["acknowledged_not_stored"] == 0
    assert figures["duplicates"] == 0
    assert set(figures["commands_answered"]) <= {201, 202}
    assert delivered() == len(identities)
    assert booted == ["Accepted", "Accepted"]
    assert readyz.status == 200 and readyz_seconds < 1
