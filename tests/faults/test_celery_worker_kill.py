"""The Celery worker is killed (-9) mid-batch: every job is still done, exactly once, within a
minute (issue 16 §3).

200 jobs each queue a DataTransfer for one of a fleet's chargers. The worker dies with jobs
done, one perhaps in flight and the rest queued; a new worker takes the queue, the broker hands
the unacknowledged job out again after its visibility timeout, and a job run twice finds the
command it queued the first time (``Command.job_key``). Every charger gets each of its
commands once. The task limits are scaled down (10 s visibility over an 8 s time limit) to
keep the case short; production's are 50 s over 40 s (csms/settings.py).
"""

import asyncio
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from celery import Celery

from chargepoints.models import ChargePoint, Command
from csms.tenancy.models import Tenant
from tests.async_orm import orm
from tests.faults.conftest import needs_postgres_and_redis, urls_of
from tests.faults.figures import figures_keep
from tests.faults.fleet import fleet_running
from tests.faults.services import private_redis
from tests.servers import ServerProcess, daphne_start, server_env, server_start
from tests.waiting import until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), needs_postgres_and_redis]

JOBS = 200
DONE_WITHIN_SECONDS = 60.0
SCALED_LIMITS = {
    "CELERY_TASK_TIME_LIMIT": "8",
    "CELERY_TASK_SOFT_TIME_LIMIT": "6",
    "CELERY_BROKER_VISIBILITY_TIMEOUT": "10",
}


def _worker(env: dict[str, str], log: Path) -> ServerProcess:
    """A real worker (``--pool=solo``, as tests.servers starts them), ours to kill."""
    command = [sys.executable, "-m", "celery", "-A", "csms", "worker", "--pool=solo"]
    return server_start([*command, "-l", "WARNING"], env=server_env(**env), ports=[], log=log)


def _jobs_queued() -> int:
    return Command.objects.filter(requested_by_job="faults").count()


def _job_commands() -> list[tuple[str, str, str]]:
    return list(
        Command.objects.filter(requested_by_job="faults").values_list(
            "charge_point__identity", "payload__messageId", "status"
        )
    )


async def test_a_worker_killed_mid_batch_still_does_every_job_exactly_once(
    tenant: Tenant, fleet_identities: Callable[[str, int], list[str]], faults_dir: Path
) -> None:
    identities = await orm(fleet_identities, "C", 4)
    ids = dict(await orm(lambda: list(ChargePoint.objects.values_list("identity", "pk"))))
    with private_redis(faults_dir) as redis:
        env = {"REDIS_URL": redis.url, "CHANNEL_PREFIX": "faults-celery", **SCALED_LIMITS}
        server = daphne_start(faults_dir, **env)
        # Not the process's current app: the tasks every later test queues must keep using
        # csms's own (a current app on this private broker outlived the test).
        publisher = Celery("faults-publisher", broker=redis.url, set_as_current=False)
        publisher.conf.task_serializer = "json"
        jobs: dict[str, str] = {}  # messageId → identity
        for number in range(JOBS):
            identity = identities[number % len(identities)]
            jobs[f"job-{number:03d}"] = identity
            publisher.send_task(
                "chargepoints.send_command",
                args=[
                    ids[identity],
                    "DataTransfer",
                    {"vendorId": "faults", "messageId": f"job-{number:03d}"},
                    "faults",
                ],
            )
        first = second = None
        try:
            async with fleet_running(urls_of(server, tenant), identities, interval=0.2) as fleet:
                first = await asyncio.to_thread(_worker, env, faults_dir / "worker-1.log")

                async def some_done() -> bool:
                    return await orm(_jobs_queued) >= JOBS // 3

                await until(some_done, within=30, what=lambda: "the worker did not start")
                first.process.kill()
                first.process.wait(timeout=10)
                killed_at = time.monotonic()
                done_at_kill = await orm(_jobs_queued)
                second = await asyncio.to_thread(_worker, env, faults_dir / "worker-2.log")

                def received() -> Counter[str]:
                    return Counter(
                        message
                        for c in fleet.chargers
                        for action, message in c.received
                        if action == "DataTransfer"
                    )

                async def all_delivered() -> bool:
                    return len(received()) == JOBS

                await until(
                    all_delivered,
                    within=DONE_WITHIN_SECONDS,
                    what=lambda: f"{len(received())}/{JOBS} delivered, {done_at_kill} at the kill",
                )
                all_done = time.monotonic() - killed_at
                await asyncio.sleep(1)  # a second run of a job would show by now
        finally:
            for process in (first, second):
                if process is not None:
                    process.stop()
            server.stop()
            publisher.close()

    commands = await orm(_job_commands)
    per_job: Counter[Any] = Counter(message for _, message, _ in commands)
    figures = {
        "jobs": JOBS,
        "done_at_kill": done_at_kill,
        "commands": len(commands),
        "jobs_done_twice": sum(count > 1 for count in per_job.values()),
        "delivered": len(received()),
        "delivered_twice": sum(count > 1 for count in received().values()),
        "all_done_after_kill_s": round(all_done, 1),
        "sockets_dropped": fleet.drops,
    }
    figures_keep("celery_worker_kill", figures)
    assert sorted(per_job) == sorted(jobs)
    assert figures["jobs_done_twice"] == 0
    assert figures["delivered_twice"] == 0
    assert all(jobs[message] == identity for identity, message, _ in commands)
    assert all(status == "completed" for _, _, status in commands)
    assert all_done < DONE_WITHIN_SECONDS
    assert fleet.drops == 0
