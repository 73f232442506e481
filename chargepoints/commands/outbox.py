"""The connection's side of the command outbox: claim, complete, fail, expire, withdraw.

Status moves only forward and only by conditional updates (``WHERE status = …``), so two
processes can never both send the same command, and a command that was sent is never re-sent
(the one step back: a claim whose call never left its process is undone, ``outbox_release``).
Each command's end is published on the event bus in the transaction that set it:
``CommandCompleted`` (the owning apps record what the answer means) or ``CommandFailed`` (they
learn at once that no answer will come, instead of finding out when they next poll).
"""

import logging
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from chargepoints.commands.dispatch import ALLOWED_WHILE_PENDING
from chargepoints.commands.waiting import notify_waiters
from chargepoints.models import Command, CommandStatus, RegistrationStatus
from chargepoints.security.commands import command_payload_to_send
from csms.events import CommandCompleted, CommandFailed, CommandFinished, publish
from csms.ocpp import schemas
from csms.ocpp.backend import OutboundCall
from csms.ocpp.context import ChargePointSession
from csms.ocpp.errors import OcppError
from csms.ocpp.frames import redacted_response
from csms.secrets_at_rest import UnsealError

logger = logging.getLogger(__name__)

# How long past the call time-out a command may stay "sent" before it counts as orphaned.
ORPHANED_CALL_GRACE_SECONDS = 60


def outbox_claim_next(*, session: ChargePointSession) -> OutboundCall | None:
    """Mark the oldest deliverable queued command ``sent`` and return it (FIFO)."""
    if session.registration_status == RegistrationStatus.REJECTED:
        return None  # OCPP 1.6 §4.2.1: nothing is sent to a rejected charge point
    now = timezone.now()
    expire_due_commands(charge_point_id=session.charge_point_id)
    while True:
        queued = Command.objects.filter(
            charge_point_id=session.charge_point_id, status=CommandStatus.QUEUED
        )
        if not session.accepted:
            queued = queued.filter(action__in=ALLOWED_WHILE_PENDING)
        command = queued.order_by("id").values("pk", "action", "payload", "sealed_payload").first()
        if command is None:
            return None
        try:
            payload = command_payload_to_send(
                payload=command["payload"], sealed=command["sealed_payload"]
            )
        except UnsealError:
            logger.error("command %s: its sealed payload cannot be opened", command["pk"])
            _commands_end(
                ids=[command["pk"]],
                from_status=CommandStatus.QUEUED,
                skip_locked=False,
                status=CommandStatus.FAILED,
                error_code="InternalError",
                error_description="The sealed payload cannot be opened (SECRET_KEY changed?)",
            )
            continue
        message_id = str(uuid.uuid4())
        claimed = Command.objects.filter(pk=command["pk"], status=CommandStatus.QUEUED).update(
            status=CommandStatus.SENT, sent_at=now, message_id=message_id
        )
        if claimed:
            return OutboundCall(command["pk"], command["action"], payload, message_id)


def outbox_release(*, command_id: int, message_id: str) -> None:
    """A claim whose call never left (its socket closed while it was being taken) is undone:
    the command is queued again, as it was, for the charge point's next connection. Only that
    claim (its message id): a call that was sent is never re-sent."""
    Command.objects.filter(pk=command_id, status=CommandStatus.SENT, message_id=message_id).update(
        status=CommandStatus.QUEUED, sent_at=None, message_id=""
    )


def outbox_complete(*, command_id: int, response: dict[str, Any]) -> None:
    """Store a CALLRESULT: completed, or failed if malformed; published either way."""
    with transaction.atomic():
        command = (
            Command.objects.select_for_update(of=("self",))
            .select_related("charge_point")
            .filter(pk=command_id)
            .first()
        )
        if command is None or command.status != CommandStatus.SENT:
            return
        # Kept and shown without secrets (a GetConfiguration reporting AuthorizationKey).
        command.response = redacted_response(command.action, response)
        command.completed_at = timezone.now()
        command.sealed_payload = ""
        try:
            schemas.validate(command.action, response, response=True)
        except OcppError as exc:
            command.status = CommandStatus.FAILED
            command.error_code = exc.code
            command.error_description = f"Invalid {command.action} response: {exc.description}"
        else:
            command.status = CommandStatus.COMPLETED
        command.save(
            update_fields=[
                "response",
                "completed_at",
                "sealed_payload",
                "status",
                "error_code",
                "error_description",
            ]
        )
        publish(command_finished_event(command))
        transaction.on_commit(lambda: notify_waiters(command_id=command_id))


def command_finished_event(command: Command) -> CommandFinished:
    """The event of a command that reached a final status (its charge point loaded)."""
    event_type = CommandCompleted if command.status == CommandStatus.COMPLETED else CommandFailed
    return event_type(
        tenant_id=command.tenant_id,
        charge_point_id=command.charge_point_id,
        identity=command.charge_point.identity,
        command_id=command.pk,
        action=command.action,
        status=command.status,
        payload=command.payload,
        response=command.response,
        error_code=command.error_code,
        error_description=command.error_description,
        completed_at=command.completed_at,
        requested_by_job=command.requested_by_job,
    )


def _finished_publish(command_ids: list[int]) -> None:
    """Publish the end of these commands, which the current transaction just ended."""
    commands = Command.objects.filter(pk__in=command_ids).select_related("charge_point")
    for command in commands.order_by("pk"):
        publish(command_finished_event(command))


def outbox_fail(
    *,
    command_id: int,
    status: str,
    code: str,
    description: str,
    details: dict[str, Any] | None = None,
) -> None:
    """A CALLERROR, a time-out or a closed socket: the command ends ``failed``/``timeout``."""
    with transaction.atomic():
        finished = Command.objects.filter(pk=command_id, status=CommandStatus.SENT).update(
            status=status,
            error_code=code,
            error_description=description,
            error_details=details,
            completed_at=timezone.now(),
            sealed_payload="",
        )
        if finished:
            _finished_publish([command_id])
    if finished:
        notify_waiters(command_id=command_id)


def expire_due_commands(*, charge_point_id: int | None = None) -> int:
    """Queued commands past their expiry end ``expired`` (never sent); calls orphaned by a
    process that died while waiting for their answer end ``timeout``."""
    due = Command.objects.filter(status=CommandStatus.QUEUED, expires_at__lte=timezone.now())
    if charge_point_id is not None:
        due = due.filter(charge_point_id=charge_point_id)
    ids = list(due.values_list("pk", flat=True)[:1000])
    expired = _commands_end(
        ids=ids,
        from_status=CommandStatus.QUEUED,
        skip_locked=True,
        status=CommandStatus.EXPIRED,
        error_description="The charge point was not reachable before the command expired",
    )
    return len(expired) + _time_out_orphaned_calls(charge_point_id=charge_point_id)


def _time_out_orphaned_calls(*, charge_point_id: int | None) -> int:
    # Only the connection that sent a call ends it; if its process died (a crash, a kill, a
    # redeploy) the command would stay "sent" for ever. Well past the call time-out it is not
    # awaited by anyone any more.
    cutoff = timezone.now() - timedelta(
        seconds=settings.OCPP_CALL_TIMEOUT_SECONDS + ORPHANED_CALL_GRACE_SECONDS
    )
    orphaned = Command.objects.filter(status=CommandStatus.SENT, sent_at__lte=cutoff)
    if charge_point_id is not None:
        orphaned = orphaned.filter(charge_point_id=charge_point_id)
    ids = list(orphaned.values_list("pk", flat=True)[:1000])
    timed_out = _commands_end(
        ids=ids,
        from_status=CommandStatus.SENT,
        skip_locked=True,
        status=CommandStatus.TIMEOUT,
        error_code="Timeout",
        error_description="No answer recorded: the connection that sent the call went away",
    )
    return len(timed_out)


def command_withdraw(*, command_id: int, reason: str = "") -> bool:
    """A queued (never sent) command will not be sent: it ends ``expired``, the same step as
    an expiry (status only moves forward), published as such, with its waiters woken after
    commit. False if it was already claimed or had ended."""
    description = f"Withdrawn: {reason}" if reason else "Withdrawn"
    withdrawn = _commands_end(
        ids=[command_id],
        from_status=CommandStatus.QUEUED,
        skip_locked=False,
        status=CommandStatus.EXPIRED,
        error_description=description,
    )
    return bool(withdrawn)


def _commands_end(
    *, ids: list[int], from_status: str, skip_locked: bool, **changes: Any
) -> list[int]:
    """Those of ``ids`` still ``from_status`` take ``changes`` (a final status); the ids moved.

    The rows are locked first, so the ids are exactly the rows this update changed: each end
    is published once, in this transaction. The sweeps skip rows another
    process holds (claiming or ending them); the next sweep sees what is left.
    """
    if not ids:
        return []
    with transaction.atomic():
        moved = list(
            Command.objects.select_for_update(skip_locked=skip_locked)
            .filter(pk__in=ids, status=from_status)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not moved:
            return []
        now = timezone.now()
        Command.objects.filter(pk__in=moved, status=from_status).update(
            completed_at=now, **({"sealed_payload": ""} | changes)
        )
        _finished_publish(moved)
        transaction.on_commit(lambda: _notify_each(moved))
    return moved


def charge_points_with_queued_commands(*, channel_prefix: str) -> list[int]:
    """Charge points connected to this process (by channel prefix) that have queued commands."""
    return list(
        Command.objects.filter(
            status=CommandStatus.QUEUED,
            charge_point__connected=True,
            charge_point__channel_name__startswith=channel_prefix,
        )
        .values_list("charge_point_id", flat=True)
        .distinct()
    )


def _notify_each(command_ids: list[int]) -> None:
    for command_id in command_ids:
        notify_waiters(command_id=command_id)
