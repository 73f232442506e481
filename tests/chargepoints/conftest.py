"""Fixtures for the chargepoints tests: a charge point's answers and OCPP call contexts."""

from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from chargepoints.commands.outbox import outbox_complete, outbox_fail
from chargepoints.models import ChargePoint, Command, CommandStatus
from csms.ocpp.context import CallContext, ChargePointSession


@pytest.fixture
def answer() -> Callable[[Command, dict[str, Any]], Command]:
    """The charge point answers ``command`` (a CALLRESULT), exactly as the connection stores it:
    result hooks run inside the completing transaction."""

    def complete(command: Command, response: dict[str, Any]) -> Command:
        Command.objects.filter(pk=command.pk).update(
            status=CommandStatus.SENT, sent_at=timezone.now()
        )
        with transaction.atomic():
            outbox_complete(command_id=command.pk, response=response)
        return Command.objects.get(pk=command.pk)

    return complete


@pytest.fixture
def answer_error() -> Callable[[Command, str], Command]:
    """The charge point answers ``command`` with a CALLERROR of ``code``."""

    def fail(command: Command, code: str) -> Command:
        Command.objects.filter(pk=command.pk).update(status=CommandStatus.SENT)
        outbox_fail(command_id=command.pk, status=CommandStatus.FAILED, code=code, description=code)
        return Command.objects.get(pk=command.pk)

    return fail


def call_context(charge_point: ChargePoint, action: str, **session: Any) -> CallContext:
    """What the OCPP layer hands a handler of ``action`` from ``charge_point``."""
    values = {
        "tenant_id": charge_point.tenant_id,
        "tenant_slug": charge_point.tenant.slug,
        "charge_point_id": charge_point.pk,
        "identity": charge_point.identity,
        "registration_status": "Accepted",
        "heartbeat_interval": 300,
    } | session
    return CallContext(ChargePointSession(**values), "m-1", action, timezone.now(), [])
