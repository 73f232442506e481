"""``/metrics`` scraped from two real daphne processes sharing one multiprocess directory
(issue 20 §5): either process answers with the sum of both, as Prometheus behind a load
balancer would see it; the platform readings (outbox, webhook backlog, Celery queues) come
from the database and the broker; a scraper needs the token or an allowed network."""

import asyncio
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from prometheus_client.parser import text_string_to_metric_families

from chargepoints.models import ChargePoint
from csms.tenancy.models import Tenant
from tests.http_clients import HttpApi, RawReply, http, http_url
from tests.ocpp_clients import ocpp_url, open_socket, raw_call, recv_json
from tests.servers import ServerProcess, daphne_running, no_crash_logged
from tests.waiting import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TOKEN = "scrape-token-for-tests"
FRAMES_IN, FRAMES_OUT = "csms_ocpp_frames_in_total", "csms_ocpp_frames_out_total"
# Known, accepted charge points are served without a boot (whose receivers would send calls of
# their own, GetConfiguration among them).
STATUS = {"connectorId": 0, "errorCode": "NoError", "status": "Available"}
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(scope="module")
def multiproc_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("prometheus-multiproc")


@pytest.fixture(scope="module")
def servers(
    multiproc_dir: Path, django_db_setup: None
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two daphne processes on the test database, writing to one (new, empty) directory."""
    env = {
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc_dir),
        "METRICS_SAMPLE_SECONDS": "0.2",
        "METRICS_TOKEN": TOKEN,
    }
    with daphne_running(**env) as first, daphne_running(**env) as second:
        yield first, second


async def metrics_reply(server: ServerProcess, headers: dict[str, str] | None = None) -> RawReply:
    return await http("GET", http_url(server.ws_url) + "/metrics", headers=headers)


async def scrape(server: ServerProcess) -> Samples:
    reply = await metrics_reply(server)
    assert reply.status == 200, reply.body[:500]
    assert reply.headers["Content-Type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(reply.body.decode()):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


@pytest.fixture
def charge_points(make_charge_point: Callable[..., ChargePoint]) -> None:
    for identity in ("CP-A", "CP-B", "CP-OFFLINE"):
        make_charge_point(identity)


@pytest.fixture
def apis(
    servers: tuple[ServerProcess, ServerProcess], api_for: Callable[..., HttpApi], tenant: Tenant
) -> tuple[HttpApi, HttpApi]:
    """The tenant API of each process."""
    return api_for(tenant, server=servers[0].ws_url), api_for(tenant, server=servers[1].ws_url)


async def test_either_process_answers_with_the_sum_of_both(
    servers: tuple[ServerProcess, ServerProcess],
    charge_points: None,
    tenant: Tenant,
    apis: tuple[HttpApi, HttpApi],
) -> None:
    first, second = servers
    with no_crash_logged(first), no_crash_logged(second):
        async with (
            open_socket(ocpp_url(first.ws_url, tenant.slug, "CP-A")) as a,
            open_socket(ocpp_url(second.ws_url, tenant.slug, "CP-B")) as b,
        ):
            for ws in (a, b):
                assert (await raw_call(ws, "StatusNotification", STATUS))[0] == 3
                assert (await raw_call(ws, "Heartbeat", {}))[0] == 3
            assert (await raw_call(b, "NoSuchAction", {}))[2] == "NotImplemented"
            # A command for a charge point that is not connected waits in the outbox.
            queued = await apis[0].command("CP-OFFLINE", "ClearCache", {}, wait=None)
            assert queued.status == 202, queued.body

            for server in (first, second):
                samples = await scrape(server)

                def count(name: str, **labels: str) -> float | None:
                    return value(samples, name, **labels)  # noqa: B023 - used at once

                assert count("csms_ocpp_connections", tenant="acme") == 2
                assert count(FRAMES_IN, action="Heartbeat", outcome="result") == 2
                assert count(FRAMES_OUT, action="Heartbeat", outcome="result") == 2
                assert count(FRAMES_IN, action="unknown", outcome="NotImplemented") == 1
                assert count("csms_ocpp_call_seconds_count", action="StatusNotification") == 2
                assert count("csms_ocpp_handler_seconds_count", action="Heartbeat") == 2
                # Two StatusNotifications, two Heartbeats: a refused call joins no batch.
                assert count("csms_ocpp_call_batch_size_count") == 4
                assert count("csms_commands_outbox", status="queued") == 1
                assert count("csms_webhook_deliveries_pending") == 0
                for reading in ("outbox", "webhook_backlog", "celery_queues"):
                    assert count("csms_metrics_reading_ok", reading=reading) == 1
                assert count("csms_celery_queue_length", queue="celery") is not None
                assert count("csms_ocpp_work_in_flight") == 0
                if connection.vendor == "postgresql":
                    pool_max = settings.DATABASES["default"]["OPTIONS"]["pool"]["max_size"]

                    async def both_pools_sampled() -> bool:
                        # Each process samples its pool every METRICS_SAMPLE_SECONDS, once
                        # the pool exists: the sum is complete one period after the traffic.
                        samples = await scrape(server)  # noqa: B023 - awaited at once
                        return value(samples, "csms_database_pool_max") == 2 * pool_max  # noqa: B023

                    assert await eventually(both_pools_sampled)

            # A command through the second process to the charge point on the first.
            posted = asyncio.ensure_future(apis[1].command("CP-A", "GetConfiguration", {}, wait=10))
            sent = await recv_json(a)
            assert sent[:3] == [2, sent[1], "GetConfiguration"]
            await a.send(json.dumps([3, sent[1], {"configurationKey": []}]))
            assert (await posted).status == 201

        async def both_gone() -> bool:
            return value(await scrape(first), "csms_ocpp_connections", tenant="acme") == 0

        assert await eventually(both_gone)
        samples = await scrape(second)
    assert value(samples, "csms_ocpp_connections", tenant="acme") == 0
    command = {"action": "GetConfiguration"}
    assert value(samples, FRAMES_OUT, **command, outcome="call") == 1
    assert value(samples, FRAMES_IN, **command, outcome="result") == 1
    assert value(samples, "csms_commands_total", **command, outcome="completed") == 1


async def test_a_scraper_needs_an_allowed_network_or_the_token(
    servers: tuple[ServerProcess, ServerProcess], multiproc_dir: Path
) -> None:
    first, _ = servers
    assert (await metrics_reply(first)).status == 200  # loopback is allowed by default
    # A process that allows another network only: loopback needs the token, and an allowed
    # address claimed in X-Forwarded-For (no trusted proxy sent it) changes nothing.
    env = {"PROMETHEUS_MULTIPROC_DIR": str(multiproc_dir), "METRICS_TOKEN": TOKEN}
    with daphne_running(**env, METRICS_ALLOWED_NETWORKS="192.0.2.0/24") as strict:
        assert (await metrics_reply(strict)).status == 403
        claimed = {"X-Forwarded-For": "192.0.2.5"}
        refused = await metrics_reply(strict, claimed)
        assert refused.status == 403
        assert "METRICS_TOKEN" in refused.json()["detail"]
        wrong = await metrics_reply(strict, claimed | {"Authorization": "Bearer not-the-token"})
        assert wrong.status == 403
        allowed = await metrics_reply(strict, {"Authorization": f"Bearer {TOKEN}"})
        assert allowed.status == 200
        assert b"csms_metrics_reading_ok" in allowed.body


def test_each_process_writes_files_of_its_own_in_the_shared_directory(
    servers: tuple[ServerProcess, ServerProcess], multiproc_dir: Path
) -> None:
    # prometheus-client names a process's files by its pid: counter_<pid>.db, ...
    writers = {path.stem.rsplit("_", 1)[-1] for path in multiproc_dir.glob("*.db")}
    assert {str(server.process.pid) for server in servers} <= writers
