"""Fixtures of the end-to-end tests (the live server's: tests/live_fixtures.py)."""

import sys
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connections

from chargepoints.models import IdTag
from csms.tenancy.models import Tenant
from tests.e2e.tls_files import TlsFiles
from tests.servers import free_port, running, server_env


@pytest.fixture
def tag(tenant: Tenant) -> IdTag:
    """``TAG-OK``, Accepted in tenant acme."""
    return IdTag.objects.create(tenant=tenant, id_tag="TAG-OK")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A module's TLS certificates; the O of its chargers' certificates is "Acme Charging",
    the tenant fixture's name (A02.FR.13)."""
    return TlsFiles.create(tmp_path_factory.mktemp("tls"), "Acme Charging")


@pytest.fixture(scope="module")
def tls_serve_env() -> dict[str, str]:
    """What a module adds to the environment of ``server``; a module overrides it."""
    return {}


@pytest.fixture(scope="module")
def server(
    files: TlsFiles,
    tls_serve_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
    django_db_setup: None,
    django_db_blocker: Any,
) -> Iterator[dict[str, Any]]:
    """``manage.py serve --no-celery`` on the test database with ``files``' server certificate
    and Charge Point CA: plain HTTP and TLS ports."""
    plain, tls = free_port(), free_port()
    with django_db_blocker.unblock():
        env = server_env(
            TLS_CERT_FILE=files.path("server.pem"),
            TLS_KEY_FILE=files.path("server-key.pem"),
            TLS_CLIENT_CA_FILE=files.path("charge-point-ca.pem"),
            TLS_PORT=str(tls),
            LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
            **tls_serve_env,
        )
        connections.close_all()
    command = [
        sys.executable, "manage.py", "serve", "--no-celery", "--host", "127.0.0.1",
        "--port", str(plain),
    ]  # fmt: skip
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with running(command, env=env, ports=[plain, tls], log=log):
        yield {"plain": plain, "tls": tls, "log": log}
    assert "Traceback" not in log.read_text(), log.read_text()[-5000:]
