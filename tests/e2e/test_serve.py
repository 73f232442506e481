"""``manage.py serve`` (what ``make run`` runs): it says where it serves once daphne listens,
without daphne's own start-up chatter; the upload address it gives chargers follows the port it
really serves (``CSMS_PUBLIC_URL`` unset); it starts with an emptied metrics directory."""

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

from chargepoints.models import ChargePoint
from csms.tenancy.models import Tenant
from tests.http_clients import HttpApi, http, http_url
from tests.servers import ServerProcess, free_port, running, server_env
from tests.waiting import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

STALE = "counter_4194304.db"  # a previous run's file (no pid that high is running)


@pytest.fixture(scope="module")
def metrics_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("serve-metrics")
    (directory / STALE).write_bytes(b"\0" * 16)
    return directory


@pytest.fixture(scope="module")
def serve(
    metrics_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
    django_db_setup: None,
    django_db_blocker: Any,
) -> Iterator[ServerProcess]:
    """``manage.py serve --no-celery --port P``, nothing saying where it serves but that."""
    port = free_port()
    with django_db_blocker.unblock():
        env = server_env(
            LOG_LEVEL="INFO", PYTHONUNBUFFERED="1", PROMETHEUS_MULTIPROC_DIR=str(metrics_dir)
        )
        connections.close_all()
    for name in ("CSMS_PUBLIC_URL", "HOST", "PORT"):
        env.pop(name, None)
    command = [sys.executable, "manage.py", "serve", "--no-celery", "--port", str(port)]
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with running(command, env=env, ports=[port], log=log) as server:
        yield server
    assert "Traceback" not in log.read_text(), log.read_text()[-5000:]


async def test_serving_on_is_printed_once_daphne_listens_without_daphnes_start_up_lines(
    serve: ServerProcess,
) -> None:
    announcement = f"Serving on http://127.0.0.1:{serve.port}/"

    async def announced() -> bool:
        return announcement in serve.log_since(0)

    assert await eventually(announced), serve.log_since(0)
    output = serve.log_since(0)
    assert "Starting server at" not in output
    assert "HTTP/2 support not enabled" not in output


@pytest.fixture
def api(
    serve: ServerProcess,
    make_charge_point: Callable[..., ChargePoint],
    tenant: Tenant,
    api_for: Callable[..., HttpApi],
) -> HttpApi:
    """The tenant API of the served process; charge point CP-1 registered."""
    make_charge_point("CP-1")
    return api_for(tenant, server=serve.ws_url)


async def test_chargers_are_told_to_upload_to_the_port_really_served(
    serve: ServerProcess, api: HttpApi
) -> None:
    created = await api.post("/diagnostics-requests/", {"charge_point": "CP-1"})
    assert created.status == 201, created.body
    command = await api.get(f"/commands/{created.body['command']}/")
    assert command.body["action"] == "GetDiagnostics"
    location = command.body["payload"]["location"]
    assert location.startswith(f"http://127.0.0.1:{serve.port}/uploads/diagnostics/"), location


async def test_metrics_start_from_an_emptied_directory(
    serve: ServerProcess, metrics_dir: Path
) -> None:
    assert not (metrics_dir / STALE).exists()
    reply = await http("GET", http_url(serve.ws_url) + "/metrics")
    assert reply.status == 200
    assert b'csms_metrics_reading_ok{reading="outbox"} 1.0' in reply.body
