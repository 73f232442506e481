"""daphne is killed (-9) under a fleet's sessions and started again: every message it
acknowledged is stored, none twice, and the fleet is served again at once.

Chargers keep a message until it is acknowledged and send it again after reconnecting
(tests.faults.fleet): the answer lost with the process must not become a second row. Commands
queued while no server ran (by a job: the API was down with it) reach their chargers when they
are back.
"""

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from chargepoints.commands.dispatch import command_dispatch
from chargepoints.models import ChargePoint
from csms.tenancy.models import Tenant
from tests.async_orm import orm
from tests.faults.conftest import urls_of
from tests.faults.figures import figures_keep
from tests.faults.fleet import fleet_running
from tests.faults.stored import reconcile, stored_values
from tests.servers import daphne_command, free_port, server_env, server_start
from tests.waiting import until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# What the fleet's chargers reconnecting must be served within, after the new daphne listens.
ANSWERING_WITHIN_SECONDS = 5.0


def _queue_while_down(identities: list[str]) -> None:
    for charge_point in ChargePoint.objects.filter(identity__in=identities):
        command_dispatch(
            charge_point=charge_point,
            action="DataTransfer",
            payload={"vendorId": "faults", "messageId": f"while-down-{charge_point.identity}"},
            requested_by_job="faults",
        )


async def test_daphne_killed_mid_session_loses_no_acknowledged_message(
    tenant: Tenant, fleet_identities: Callable[[str, int], list[str]], faults_dir: Path
) -> None:
    identities = await orm(fleet_identities, "D", 8)
    port = free_port()
    env = server_env(LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1")
    command = daphne_command(port)
    first = server_start(command, env=env, ports=[port], log=faults_dir / "daphne-first.log")
    second = None
    try:
        async with fleet_running(urls_of(first, tenant), identities, interval=0.05) as fleet:
            await asyncio.sleep(2)
            first.process.kill()
            first.process.wait(timeout=10)
            await orm(_queue_while_down, identities)
            second = await asyncio.to_thread(
                server_start, command, env=env, ports=[port], log=faults_dir / "daphne-second.log"
            )
            listening_at = time.monotonic()
            answering = await fleet.until_all_acknowledged_since(listening_at, within=20)

            def delivered() -> int:
                return sum(
                    ("DataTransfer", f"while-down-{c.identity}") in c.received
                    for c in fleet.chargers
                )

            async def all_delivered() -> bool:
                return delivered() == len(identities)

            await until(all_delivered, within=15, what=lambda: f"{delivered()} delivered")
            await asyncio.sleep(0.5)
    finally:
        first.stop()
        if second is not None:
            second.stop()

    figures = {
        "sockets_dropped": fleet.drops,
        "answering_after_restart_s": round(answering, 2),
        "commands_delivered": f"{delivered()}/{len(identities)}",
        **reconcile(fleet, await orm(stored_values, identities)),
    }
    figures_keep("daphne_kill", figures)
    assert figures["acknowledged_not_stored"] == 0
    assert figures["duplicates"] == 0
    assert answering < ANSWERING_WITHIN_SECONDS
    assert all(
        [m for a, m in c.received if a == "DataTransfer"].count(f"while-down-{c.identity}") == 1
        for c in fleet.chargers
    )
