"""Central-System-initiated commands: one dispatch service for the API, the admin and jobs.

``command_dispatch`` validates the request against the official schema, writes the outbox row
and, after commit, wakes the connection holding the charge point's socket. The connection
(``chargepoints.outbox``) sends one CALL at a time and stores the answer. Waiters are woken
through a channel-layer group per command; since the layer may drop messages, they re-read the
row too.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from chargepoints.models import ChargePoint, Command
from csms.errors import DomainError
from csms.ocpp import schemas
from csms.ocpp.errors import OcppError
from csms.ocpp.router import CHARGE_POINT_ACTIONS
from csms.tenancy.models import ApiToken

logger = logging.getLogger(__name__)

# Every action with a request schema that the Central System sends: the 19 core ones and the
# security extension's (SPEC §4). DataTransfer goes both ways (OCPP 1.6 §4.3 and §5.6), so it
# is one of ours although charge points send it too.
CENTRAL_SYSTEM_ACTIONS = frozenset(
    (schemas.request_actions() - CHARGE_POINT_ACTIONS) | {"DataTransfer"}
)
# What a Pending charge point may be sent (OCPP 1.6 §4.2.1 / SPEC §4).
ALLOWED_WHILE_PENDING = frozenset({"GetConfiguration", "ChangeConfiguration", "TriggerMessage"})

# Result hooks: the owning app records what an answer means (configuration mirror, password…).
ResultHook = Callable[[Command], None]
_result_hooks: dict[str, list[ResultHook]] = {}


def command_result_hook(action: str) -> Callable[[ResultHook], ResultHook]:
    """Register ``hook`` to run, inside the completing transaction, when ``action`` completes."""

    def register(hook: ResultHook) -> ResultHook:
        _result_hooks.setdefault(action, []).append(hook)
        return hook

    return register


def result_hooks_for(action: str) -> list[ResultHook]:
    return _result_hooks.get(action, [])


# Failure hooks: the owning app learns at once that a command will bring no answer to act on
# (a CALLERROR, a malformed answer, a time-out, a closed socket, an expiry or a withdrawal),
# instead of finding out when it next polls.
FailureHook = Callable[[Command], None]
_failure_hooks: dict[str, list[FailureHook]] = {}


def command_failure_hook(action: str) -> Callable[[FailureHook], FailureHook]:
    """Register ``hook`` to run, inside the transaction that ended it, when a command of
    ``action`` ends ``failed``, ``timeout`` or ``expired``. A hook that raises is logged; the
    status change stays."""

    def register(hook: FailureHook) -> FailureHook:
        _failure_hooks.setdefault(action, []).append(hook)
        return hook

    return register


def failure_hooks_for(action: str) -> list[FailureHook]:
    return _failure_hooks.get(action, [])


def failure_hook_actions() -> list[str]:
    return [action for action, hooks in _failure_hooks.items() if hooks]


# Checks beyond the schema, per action (e.g. an AuthorizationKey must be a valid password).
PayloadCheck = Callable[[dict[str, Any]], str | None]
_payload_checks: dict[str, list[PayloadCheck]] = {}


def command_payload_check(action: str) -> Callable[[PayloadCheck], PayloadCheck]:
    """Register ``check``: it returns why a valid-by-schema payload is still refused, or None."""

    def register(check: PayloadCheck) -> PayloadCheck:
        _payload_checks.setdefault(action, []).append(check)
        return check

    return register


class CommandRejectedError(DomainError):
    code = "invalid_command"


def command_validate(*, action: str, payload: Any) -> None:
    if action not in CENTRAL_SYSTEM_ACTIONS:
        raise CommandRejectedError(
            f"{action!r} is not a Central-System-initiated OCPP 1.6 action", code="invalid_action"
        )
    if not isinstance(payload, dict):
        raise CommandRejectedError("payload must be a JSON object", code="invalid_payload")
    try:
        schemas.validate(action, payload)
    except OcppError as exc:
        raise CommandRejectedError(
            f"{exc.code}: {exc.description}", code="invalid_payload"
        ) from exc
    for check in _payload_checks.get(action, ()):
        problem = check(payload)
        if problem:
            raise CommandRejectedError(problem, code="invalid_payload")


def command_dispatch(
    *,
    charge_point: ChargePoint,
    action: str,
    payload: dict[str, Any],
    requested_by_user: AbstractBaseUser | None = None,
    requested_by_token: ApiToken | None = None,
    requested_by_job: str = "",
    ttl_seconds: int | None = None,
) -> Command:
    """Queue ``action`` for ``charge_point``; delivered now if connected, else when it returns."""
    command_validate(action=action, payload=payload)
    ttl = ttl_seconds if ttl_seconds is not None else settings.OCPP_COMMAND_TTL_SECONDS
    command = Command.objects.create(
        tenant_id=charge_point.tenant_id,
        charge_point=charge_point,
        action=action,
        payload=payload,
        requested_by_user=requested_by_user,
        requested_by_token=requested_by_token,
        requested_by_job=requested_by_job,
        expires_at=timezone.now() + timedelta(seconds=ttl),
    )
    charge_point_id = charge_point.pk
    transaction.on_commit(lambda: wake_charge_point(charge_point_id=charge_point_id))
    return command


def wake_charge_point(*, charge_point_id: int) -> None:
    """Nudge the connection holding the socket (if any) to look at its outbox."""
    channel = (
        ChargePoint.objects.filter(pk=charge_point_id, connected=True)
        .values_list("channel_name", flat=True)
        .first()
    )
    if channel:
        try:
            async_to_sync(get_channel_layer().send)(channel, {"type": "ocpp.outbox"})
        except Exception:  # the row is the truth: the poller delivers it anyway
            logger.warning("could not wake %s for its outbox", channel, exc_info=True)


def command_group(command_id: int) -> str:
    return f"ocpp.command.{command_id}"


async def command_wait(*, command_id: int, timeout: float) -> Command:  # noqa: ASYNC109
    # (A deadline re-checked per loop, not asyncio.timeout: a cancelled ORM read helps nobody.)
    """Wait up to ``timeout`` seconds for the command to finish; the row as it then is."""
    layer = get_channel_layer()
    # The default prefix on purpose: channels-redis reads all of a process's channels through one
    # blocking pop on the list of that prefix; a channel of another prefix is only read while
    # no consumer holds that reader, so wake-ups came after the 1 s re-read instead of at once.
    channel = await layer.new_channel()
    group = command_group(command_id)
    await layer.group_add(group, channel)
    get = sync_to_async(Command.objects.select_related("charge_point").get)
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            command = await get(pk=command_id)
            remaining = deadline - asyncio.get_running_loop().time()
            if command.finished or remaining <= 0:
                return command
            # Re-read at least every second: the wake-up may have been dropped.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(layer.receive(channel), timeout=min(remaining, 1.0))
    finally:
        await layer.group_discard(group, channel)
