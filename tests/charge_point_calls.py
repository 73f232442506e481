"""What a charge point does, played in process without a socket: the context the OCPP layer
hands a handler of its CALL, and its answers to the commands the Central System sent it.

The answers go through the outbox's own completion path, so the result and failure hooks run
exactly as when the connection stores an answer off the wire.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from chargepoints.commands.outbox import outbox_complete, outbox_fail
from chargepoints.models import ChargePoint, Command, CommandStatus
from csms.ocpp.context import CallContext, ChargePointSession

# The ``answer`` fixture's type, for test signatures.
Answer = Callable[[Command, dict[str, Any]], Command]


def call_context(
    station: ChargePoint, action: str = "Test", *, at: datetime | None = None, **session: Any
) -> CallContext:
    """What the OCPP layer hands a handler of ``action`` from ``station`` (received ``at``)."""
    values = {
        "tenant_id": station.tenant_id,
        "tenant_slug": station.tenant.slug,
        "charge_point_id": station.pk,
        "identity": station.identity,
        "registration_status": "Accepted",
        "heartbeat_interval": 300,
    } | session
    return CallContext(ChargePointSession(**values), "m-1", action, at or timezone.now(), [])


def configuration_answer(
    values: dict[str, str],
    *,
    readonly: frozenset[str] | set[str] = frozenset(),
    unknown: list[str] | None = None,
) -> dict[str, Any]:
    """A GetConfiguration.conf (OCPP 1.6 §6.31): ``values`` in order, the ``readonly`` keys
    marked so, ``unknown`` keys when the charge point named any."""
    conf: dict[str, Any] = {
        "configurationKey": [
            {"key": key, "readonly": key in readonly, "value": value}
            for key, value in values.items()
        ]
    }
    if unknown is not None:
        conf["unknownKey"] = unknown
    return conf


def _sent(command: Command) -> None:
    Command.objects.filter(pk=command.pk).update(status=CommandStatus.SENT, sent_at=timezone.now())


def answer(command: Command, response: dict[str, Any]) -> Command:
    """The charge point answers ``command`` with a CALLRESULT: result hooks run inside the
    completing transaction, as when the connection stores it."""
    _sent(command)
    with transaction.atomic():
        outbox_complete(command_id=command.pk, response=response)
    return Command.objects.get(pk=command.pk)


def answer_error(
    command: Command, code: str = "InternalError", description: str | None = None
) -> Command:
    """The charge point answers ``command`` with a CALLERROR of ``code`` (its description the
    code unless given)."""
    _sent(command)
    outbox_fail(
        command_id=command.pk,
        status=CommandStatus.FAILED,
        code=code,
        description=code if description is None else description,
    )
    return Command.objects.get(pk=command.pk)
