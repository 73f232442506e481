"""Central-System-initiated commands: one dispatch service for the API, the admin and jobs.

``command_dispatch`` validates the request against the official schema (and the checks the
owning apps registered, ``chargepoints.commands.payload_checks``), writes the outbox row and,
after commit, wakes the connection holding the charge point's socket. The connection
(``chargepoints.commands.outbox``) sends one CALL at a time, stores the answer and publishes
the command's end (csms.events); callers that wait for it use ``chargepoints.commands.waiting``.
"""

import logging
from datetime import timedelta
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from chargepoints.commands.errors import CommandRejectedError
from chargepoints.commands.payload_checks import charge_point_checks_for, payload_checks_for
from chargepoints.models import ChargePoint, Command
from chargepoints.security.commands import command_security_prepare
from csms.ocpp import schemas
from csms.ocpp.errors import OcppError
from csms.ocpp.router import CHARGE_POINT_ACTIONS
from csms.tenancy.models import ApiToken

logger = logging.getLogger(__name__)

__all__ = ["CommandRejectedError", "command_dispatch", "command_validate", "wake_charge_point"]


# Every action with a request schema that the Central System sends: the 19 core ones and the
# security extension's (SPEC §4). DataTransfer goes both ways (OCPP 1.6 §4.3 and §5.6), so it
# is one of ours although charge points send it too.
CENTRAL_SYSTEM_ACTIONS = frozenset(
    (schemas.request_actions() - CHARGE_POINT_ACTIONS) | {"DataTransfer"}
)
# What a Pending charge point may be sent (OCPP 1.6 §4.2.1 / SPEC §4).
ALLOWED_WHILE_PENDING = frozenset({"GetConfiguration", "ChangeConfiguration", "TriggerMessage"})


def command_validate(*, action: str, payload: Any, force: bool = False) -> None:
    """Refuse (CommandRejectedError) what must not be sent: an action the Central System does
    not send, a payload the official schema refuses, or one an owning app's check refuses
    (with ``force``, only the checks that cannot be overruled)."""
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
    for check in payload_checks_for(action, forced=force):
        problem = check(payload)
        if problem:
            raise CommandRejectedError(problem, code="invalid_payload")


def command_dispatch(
    *,
    charge_point: ChargePoint,
    action: str,
    payload: dict[str, Any],
    requested_by_user: User | None = None,
    requested_by_token: ApiToken | None = None,
    requested_by_job: str = "",
    ttl_seconds: int | None = None,
    job_key: str = "",
    force: bool = False,
) -> Command:
    """Queue ``action`` for ``charge_point``; delivered now if connected, else when it returns.

    ``job_key`` names the job run asking (its Celery task id): the same run asking again —
    redelivered after its worker died (acks late) — gets the command it queued the first
    time, never a second one. ``force`` sends what the forceable checks would refuse,
    recorded on the command (``forced``) beside who asked for it."""
    command_validate(action=action, payload=payload, force=force)
    if job_key:
        queued_before = Command.objects.filter(job_key=job_key).first()
        if queued_before is not None:
            return queued_before
    for check in charge_point_checks_for(action):
        problem = check(charge_point, payload)
        if problem:
            raise CommandRejectedError(problem, code="invalid_payload")
    stored, sealed, after_queued = command_security_prepare(
        charge_point=charge_point, action=action, payload=payload
    )
    ttl = ttl_seconds if ttl_seconds is not None else settings.OCPP_COMMAND_TTL_SECONDS
    try:
        with transaction.atomic():
            command = Command.objects.create(
                tenant_id=charge_point.tenant_id,
                charge_point=charge_point,
                action=action,
                payload=stored,
                sealed_payload=sealed,
                requested_by_user=requested_by_user,
                requested_by_token=requested_by_token,
                requested_by_job=requested_by_job,
                job_key=job_key,
                forced=force,
                expires_at=timezone.now() + timedelta(seconds=ttl),
            )
    except IntegrityError:
        if not job_key:
            raise
        return Command.objects.get(job_key=job_key)  # a second run of the job, at once
    if after_queued is not None:
        after_queued(command)
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
