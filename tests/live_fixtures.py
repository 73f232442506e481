"""Fixtures of the tests that drive a real daphne: the server, charge points, the tenant API.

A pytest plugin of the whole suite (``tests/conftest.py``), so that any app's end-to-end tests
use these without copying or re-importing them. The server is a subprocess, so tests commit
their rows (``transaction=True``) for it to see, and read what it wrote through the ORM after it
answered (``tests.async_orm.orm``).
"""

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chargepoints.models import ChargePoint
from chargepoints.services.charge_points import charge_point_create
from csms.tenancy.models import Tenant
from csms.tenancy.services import api_token_issue
from tests.http_clients import HttpApi, http_url
from tests.ocpp_clients import ocpp_url
from tests.servers import ServerProcess, daphne_running, no_crash_logged

# --- The server ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def daphne_server(django_db_setup: None, django_db_blocker: Any) -> Iterator[ServerProcess]:
    """daphne serving ``csms.asgi:application`` on the test database, for the whole session."""
    with daphne_running() as server:
        yield server


def wait_for_disconnects(within: float = 5.0) -> None:
    """Let the server finish with this test's sockets before its rows are flushed.

    A consumer handles its events in order and clears presence on the last one (the close),
    so once no charge point is connected no write of this test (say, the message-log rows of
    a CALLERROR, written after the answer) can land on the next test's empty tables.
    """
    deadline = time.monotonic() + within
    while ChargePoint.objects.filter(connected=True).exists() and time.monotonic() < deadline:
        time.sleep(0.02)


@pytest.fixture
def ocpp_server(daphne_server: ServerProcess, django_db_blocker: Any) -> Iterator[str]:
    """``ws://127.0.0.1:PORT``; the test fails if the server logged a crash meanwhile."""
    with no_crash_logged(daphne_server):
        yield daphne_server.ws_url
        with django_db_blocker.unblock():
            wait_for_disconnects()


# --- Data ---------------------------------------------------------------------------------------


@pytest.fixture
def make_charge_point(tenant: Tenant) -> Callable[..., ChargePoint]:
    def make(identity: str = "CP-1", *, tenant: Tenant = tenant, **fields: Any) -> ChargePoint:
        return charge_point_create(tenant=tenant, identity=identity, **fields)

    return make


@pytest.fixture
def charge_point(make_charge_point: Callable[..., ChargePoint]) -> ChargePoint:
    """An Accepted charge point of tenant ``acme`` (the shared ``tenant`` fixture)."""
    return make_charge_point("CP-1")


@pytest.fixture
def cp_url(ocpp_server: str, tenant: Tenant) -> Callable[[str], str]:
    """The OCPP URL of an identity under tenant ``acme``."""

    def url(identity: str) -> str:
        return ocpp_url(ocpp_server, tenant.slug, identity)

    return url


@pytest.fixture
def url(cp_url: Callable[[str], str], charge_point: ChargePoint) -> str:
    """The OCPP URL of ``charge_point``."""
    return cp_url(charge_point.identity)


# --- The tenant API over HTTP -------------------------------------------------------------------


@pytest.fixture
def api_for(ocpp_server: str) -> Callable[..., HttpApi]:
    """``api_for(tenant)``: the live server's API as ``tenant`` (``server=`` another one's)."""

    def make(tenant: Tenant, *, server: str = ocpp_server) -> HttpApi:
        return HttpApi(http_url(server), api_token_issue(tenant=tenant).raw)

    return make


@pytest.fixture
def http_api(api_for: Callable[..., HttpApi], tenant: Tenant) -> HttpApi:
    return api_for(tenant)


@pytest.fixture
def other_http_api(api_for: Callable[..., HttpApi], other_tenant: Tenant) -> HttpApi:
    return api_for(other_tenant)
