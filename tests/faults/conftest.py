"""Fixtures of the fault-injection suite: private servers to break, a fleet's charge points.

The cases kill and restart Redis, PostgreSQL, daphne and the Celery worker: always private
instances (tests.faults.services) and processes the test started, stopped by their pid. On
the embedded stack (SQLite, in-memory layer) the cases that need Redis or PostgreSQL skip,
saying so; CI runs them in its PostgreSQL + Redis pass.
"""

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings

from chargepoints.models import ChargePoint, IdTag
from chargepoints.services.charge_points import charge_point_create
from csms.tenancy.models import Tenant
from csms.tenancy.services import api_token_issue
from tests.http_clients import HttpApi, http_url
from tests.ocpp_clients import ocpp_url
from tests.servers import ServerProcess

needs_postgres_and_redis = pytest.mark.skipif(
    settings.EMBEDDED or not settings.REDIS_URL,
    reason="needs the production stack (PostgreSQL + Redis): it stops and restarts them; "
    "runs in CI's PostgreSQL pass",
)


@pytest.fixture
def faults_dir() -> Iterator[Path]:
    """A directory for the private servers' data and logs, readable by the postgres user."""
    directory = Path(tempfile.mkdtemp(prefix="csms-faults-"))
    os.chmod(directory, 0o755)  # noqa: S103 - PostgreSQL runs as another user beneath it
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def tag(tenant: Tenant) -> IdTag:
    return IdTag.objects.create(tenant=tenant, id_tag="TAG-OK")


@pytest.fixture
def fleet_identities(tenant: Tenant, tag: IdTag) -> Callable[[str, int], list[str]]:
    """``fleet_identities("R", 8)``: eight Accepted charge points of tenant acme."""

    def make(prefix: str, count: int) -> list[str]:
        identities = [f"CP-{prefix}{number:02d}" for number in range(count)]
        for identity in identities:
            charge_point_create(tenant=tenant, identity=identity)
        return identities

    return make


def urls_of(server: ServerProcess, tenant: Tenant) -> Callable[[str], str]:
    return lambda identity: ocpp_url(server.ws_url, tenant.slug, identity)


def api_of(server: ServerProcess, token: str) -> HttpApi:
    return HttpApi(http_url(server.ws_url), token)


@pytest.fixture
def token(tenant: Tenant) -> str:
    return api_token_issue(tenant=tenant).raw


def connected_count() -> int:
    return ChargePoint.objects.filter(connected=True).count()
