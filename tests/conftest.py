"""Shared fixtures. Tests always have two tenants at hand (STYLE §2)."""

from collections.abc import Callable

import pytest
from celery._state import _set_task_join_will_block
from rest_framework.test import APIClient

from chargepoints.models import ChargePoint, Command
from csms.celery import app as celery_app
from csms.tenancy.models import Tenant
from csms.tenancy.services import api_token_issue
from csms.webhooks.services.events import event_subscribers_forget
from tests import charge_point_calls
from tests.charge_point_calls import Answer
from tests.factories import ChargePointFactory, TenantFactory

# The fixtures of a live daphne, for every app's end-to-end tests.
pytest_plugins = ["tests.live_fixtures"]


@pytest.fixture(autouse=True)
def _celery_eager() -> None:
    # Unit tests run tasks inline; tests/csms/test_celery.py drives a real worker and broker.
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    # Celery guards `.get()` inside a task with one process-wide flag that every eager task
    # sets and restores; eager tasks in threads of one test (concurrent reservations each
    # schedule their expiry) can restore it in the wrong order and leave it set, and every
    # later `.delay().get()` of the session would then refuse to run.
    _set_task_join_will_block(False)


@pytest.fixture(autouse=True)
def _webhook_subscribers_forgotten() -> None:
    # Each test's rolled-back rows may share ids with the next test's (SQLite reuses them): no
    # process-cached endpoints may outlive the test that created them.
    event_subscribers_forget()


@pytest.fixture
def tenant(db: None) -> Tenant:
    return TenantFactory(slug="acme", name="Acme Charging")


@pytest.fixture
def other_tenant(db: None) -> Tenant:
    return TenantFactory(slug="globex", name="Globex Fleet")


@pytest.fixture
def cp(tenant: Tenant) -> ChargePoint:
    """Charge point ``CP-1`` of tenant acme."""
    return ChargePointFactory(tenant=tenant, identity="CP-1")


@pytest.fixture
def other_cp(other_tenant: Tenant) -> ChargePoint:
    """A charge point of the other tenant."""
    return ChargePointFactory(tenant=other_tenant, identity="CP-THEIRS")


@pytest.fixture
def api_client_for() -> Callable[[Tenant], APIClient]:
    def make(tenant: Tenant) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_issue(tenant=tenant).raw}")
        return client

    return make


@pytest.fixture
def api(tenant: Tenant, api_client_for: Callable[[Tenant], APIClient]) -> APIClient:
    return api_client_for(tenant)


@pytest.fixture
def other_api(other_tenant: Tenant, api_client_for: Callable[[Tenant], APIClient]) -> APIClient:
    return api_client_for(other_tenant)


@pytest.fixture
def answer() -> Answer:
    """The charge point answers a command (``tests.charge_point_calls.answer``)."""
    return charge_point_calls.answer


@pytest.fixture
def answer_error() -> Callable[..., Command]:
    """The charge point answers a command with a CALLERROR of a code."""
    return charge_point_calls.answer_error
