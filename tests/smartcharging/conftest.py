"""Fixtures of the smart-charging tests (two tenants, as always: tests/conftest.py)."""

from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction as db_transaction
from django.utils import timezone

from chargepoints.commands.outbox import outbox_complete
from chargepoints.models import ChargePoint, Command, CommandStatus
from csms.ocpp.context import CallContext, ChargePointSession
from csms.tenancy.models import Tenant

# The e2e fixtures (a real daphne on the test database), for tests/smartcharging/test_e2e_*.
from tests.e2e.conftest import (  # noqa: F401
    charge_point,
    cp_url,
    daphne_server,
    make_charge_point,
    ocpp_server,
)
from tests.factories import ChargePointFactory


@pytest.fixture
def cp(tenant: Tenant) -> ChargePoint:
    return ChargePointFactory(tenant=tenant, identity="CP-1")


@pytest.fixture
def other_cp(other_tenant: Tenant) -> ChargePoint:
    return ChargePointFactory(tenant=other_tenant, identity="CP-THEIRS")


@pytest.fixture
def answer() -> Callable[..., Command]:
    """The charge point answers a command: the outbox's own completion path (result hooks
    included)."""

    def complete(command: Command, response: dict[str, Any]) -> Command:
        Command.objects.filter(pk=command.pk).update(
            status=CommandStatus.SENT, sent_at=timezone.now()
        )
        with db_transaction.atomic():
            outbox_complete(command_id=command.pk, response=response)
        return Command.objects.get(pk=command.pk)

    return complete


def call_context(station: ChargePoint, action: str) -> CallContext:
    """What the OCPP layer hands a handler of ``action`` from ``station``."""
    session = ChargePointSession(
        tenant_id=station.tenant_id,
        tenant_slug=station.tenant.slug,
        charge_point_id=station.pk,
        identity=station.identity,
        registration_status="Accepted",
        heartbeat_interval=300,
    )
    return CallContext(session, "m-1", action, timezone.now(), [])
