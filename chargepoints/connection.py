"""The OCPP backend: connections, presence, durable handling of each CALL, the message log.

Implements :class:`csms.ocpp.backend.OcppBackend` for the consumer. Every inbound CALL is
handled in a database thread inside a transaction: the handler's writes, the message-log rows of
the request and its answer, and (at most once a minute) ``last_seen`` commit together *before*
the answer is sent, so an answered transaction message is always stored (OCPP 1.6 §4.7,
PERFORMANCE.md). Calls that queue while the threads are busy share one hop and one transaction
(chargepoints.call_batches).
"""

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from channels.exceptions import ChannelFull
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import IntegrityError, connection, connections, transaction
from django.db.models import F
from django.utils import timezone

from chargepoints import outbox
from chargepoints.call_batches import CallBatcher
from chargepoints.db_hops import admission, db_hop
from chargepoints.message_log import LogRow, message_log_write
from chargepoints.models import (
    ChargePoint,
    Command,
    CommandStatus,
    CompatAbsorption,
    MessageDirection,
    RegistrationStatus,
)
from chargepoints.passwords import parse_basic_auth, password_matches
from csms.ocpp.backend import ConnectionRefusedError, OutboundCall
from csms.ocpp.compat import CompatSwitches
from csms.ocpp.errors import ErrorCode, OcppError
from csms.ocpp.frames import error_frame, result_frame
from csms.ocpp.protocol import response_payload
from csms.ocpp.router import CallContext, ChargePointSession, Route
from csms.tenancy.models import Tenant, UnknownChargePointPolicy
from csms.webhooks.emitters import charge_point_connected_emit, charge_point_disconnected_emit

logger = logging.getLogger(__name__)
security_log = logging.getLogger("csms.security")

PendingCall = tuple[Route, CallContext, dict[str, Any], str]
_IN, _OUT = MessageDirection.IN.value, MessageDirection.OUT.value


class Backend:
    def __init__(self) -> None:
        self.calls: CallBatcher[PendingCall] = CallBatcher(
            handle_calls,
            parallel=settings.OCPP_CALL_BATCH_PARALLEL,
            max_batch=settings.OCPP_CALL_BATCH_MAX,
        )

    async def open_session(
        self,
        *,
        tenant_slug: str,
        identity: str,
        authorization: bytes | None,
        channel_name: str,
        client: str,
        subprotocol_offered: bool,
    ) -> ChargePointSession:
        session, previous_channel = await db_hop(open_session)(
            tenant_slug=tenant_slug,
            identity=identity,
            authorization=authorization,
            channel_name=channel_name,
            client=client,
            subprotocol_offered=subprotocol_offered,
        )
        if previous_channel and previous_channel != channel_name:
            # The charger lost its old socket without a close: that connection must go.
            await _take_over(previous_channel, session.identity)
        return session

    async def close_session(self, session: ChargePointSession, *, channel_name: str) -> None:
        await db_hop(close_session)(session=session, channel_name=channel_name)

    async def handle_call(
        self, route: Route, ctx: CallContext, payload: dict[str, Any], raw_frame: str
    ) -> str:
        if route.action == "BootNotification":
            retry_in = admission().boot_deferral()
            if retry_in is not None:
                return await self._defer_boot(ctx, raw_frame, retry_in)
        return await self.calls.submit((route, ctx, payload, raw_frame))

    async def _defer_boot(self, ctx: CallContext, raw_frame: str, retry_in: int) -> str:
        """Saturated: Pending, boot again in ``retry_in`` s (OCPP 1.6 §4.2). Nothing of the
        boot is done and nothing about the charge point changes (its registration status
        stays what it is); only the two frames are logged."""
        answer = result_frame(
            ctx.message_id,
            response_payload(
                "BootNotification",
                {"status": "Pending", "current_time": _now_iso(), "interval": retry_in},
            ),
        )
        await db_hop(log_frames)(
            session=ctx.session, frames=[("in", raw_frame), ("out", answer)], at=ctx.received_at
        )
        return answer

    async def log_frames(
        self, session: ChargePointSession, frames: list[tuple[str, str]], at: datetime
    ) -> None:
        await db_hop(log_frames)(session=session, frames=frames, at=at)

    async def refresh_session(self, session: ChargePointSession) -> None:
        await db_hop(refresh_session)(session=session)

    async def claim_next_call(self, session: ChargePointSession) -> OutboundCall | None:
        return await db_hop(outbox.outbox_claim_next)(session=session)

    async def complete_call(self, call: OutboundCall, response: dict[str, Any]) -> None:
        await db_hop(outbox.outbox_complete)(command_id=call.command_id, response=response)

    async def fail_call(
        self,
        call: OutboundCall,
        *,
        status: str,
        code: str,
        description: str,
        details: dict[str, Any],
    ) -> None:
        await db_hop(outbox.outbox_fail)(
            command_id=call.command_id,
            status=status,
            code=code,
            description=description,
            details=details,
        )

    async def charge_points_with_work(self, channel_prefix: str) -> list[int]:
        return await db_hop(outbox.charge_points_with_queued_commands)(
            channel_prefix=channel_prefix
        )


# A storm's thousands of takeovers at once would each open a Redis connection of their own
# (the layer's pool grows with concurrent sends, and redis-py reads its package metadata for
# every new connection: a tenth of a storm's CPU). A few at a time reuse the pooled ones.
_takeover_sends = asyncio.Semaphore(8)


async def _take_over(previous_channel: str, identity: str) -> None:
    """Tell the connection that held the charge point to close; never fail the handshake.

    After a crash or a restart every charge point's presence still names a channel of the old
    process. Nobody reads those any more, and the reconnect storm fills them (channels-redis
    refuses more than ``capacity`` messages per process): there is nothing to take over from.
    """
    try:
        async with _takeover_sends:
            await get_channel_layer().send(previous_channel, {"type": "ocpp.takeover"})
    except ChannelFull:
        logger.info("%s: previous connection's channel is full (its process is gone)", identity)
    except Exception:
        logger.warning("%s: could not reach the previous connection", identity, exc_info=True)


def _now_iso() -> str:
    return timezone.now().isoformat().replace("+00:00", "Z")


# --- Connections --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Handshake:
    """What a handshake needs of its tenant and charge point (id None: unknown identity)."""

    tenant_id: int
    tenant_compat_defaults: dict[str, Any]
    unknown_charge_point_policy: str
    tenant_heartbeat_interval: int
    charge_point_id: int | None
    compat_overrides: dict[str, Any] | None
    password_hash: str
    connected: bool
    channel_name: str
    registration_status: str
    heartbeat_interval: int | None
    commands_waiting: bool


def _handshake_read(*, tenant_slug: str, identity: str) -> _Handshake | None:
    """The tenant, its charge point and whether commands wait for it: one plain statement. A
    reconnect storm runs thousands at once; building the three ORM queries this replaces was
    a fifth of the storm's CPU. None for an unknown tenant."""
    with connection.cursor() as cursor:
        cursor.execute(
            _handshake_sql(connection.alias), [CommandStatus.QUEUED, identity, tenant_slug]
        )
        row = cursor.fetchone()
    if row is None:
        return None
    known = row[4] is not None
    return _Handshake(
        tenant_id=row[0],
        tenant_compat_defaults=_json(row[1]) or {},
        unknown_charge_point_policy=row[2],
        tenant_heartbeat_interval=row[3],
        charge_point_id=row[4],
        compat_overrides=_json(row[5]) if known else None,
        password_hash=row[6] or "",
        connected=bool(row[7]),
        channel_name=row[8] or "",
        registration_status=row[9] or "",
        heartbeat_interval=row[10],
        commands_waiting=bool(row[11]),
    )


def _json(value: Any) -> Any:
    """A JSON column as the cursor gives it: text (both backends, as Django configures them)."""
    return json.loads(value) if isinstance(value, str | bytes) else value


@lru_cache(maxsize=4)
def _handshake_sql(alias: str) -> str:
    quote = connections[alias].ops.quote_name
    tenant, charge_point, command = (
        quote(model._meta.db_table) for model in (Tenant, ChargePoint, Command)
    )
    # Only quoted table names from the models' metadata and placeholders: values are bound.
    return (
        "SELECT t.id, t.compat_defaults, t.unknown_charge_point_policy, t.heartbeat_interval, "  # noqa: S608
        "cp.id, cp.compat_overrides, cp.password_hash, cp.connected, cp.channel_name, "
        "cp.registration_status, cp.heartbeat_interval, "
        f"EXISTS (SELECT 1 FROM {command} c WHERE c.charge_point_id = cp.id AND c.status = %s) "
        f"FROM {tenant} t LEFT JOIN {charge_point} cp "
        "ON cp.tenant_id = t.id AND cp.identity = %s WHERE t.slug = %s"
    )


def open_session(
    *,
    tenant_slug: str,
    identity: str,
    authorization: bytes | None,
    channel_name: str,
    client: str,
    subprotocol_offered: bool = True,
) -> tuple[ChargePointSession, str]:
    """Authenticate a handshake and register presence; the channel it took over, if any.

    Every refusal comes before the first write, so a refused handshake changes nothing.
    """
    found = _handshake_read(tenant_slug=tenant_slug, identity=identity)
    if found is None:
        security_log.warning("refused %s/%s from %s: unknown tenant", tenant_slug, identity, client)
        raise ConnectionRefusedError(404, "Unknown tenant")
    switches = CompatSwitches.merged(found.tenant_compat_defaults, found.compat_overrides)
    if not subprotocol_offered and not switches.allow_missing_subprotocol:
        # SPEC §3.2: only a charge point with the compatibility switch may omit it.
        security_log.info(
            "refused %s/%s from %s: no subprotocol offered", tenant_slug, identity, client
        )
        raise ConnectionRefusedError(400, "Subprotocol ocpp1.6 required")
    charge_point_id = found.charge_point_id
    registration_status = found.registration_status
    if charge_point_id is None:
        if found.unknown_charge_point_policy != UnknownChargePointPolicy.PENDING:
            security_log.warning(
                "refused %s/%s from %s: unknown charge point", tenant_slug, identity, client
            )
            raise ConnectionRefusedError(404, "Unknown charge point")
        registered = _register_pending(tenant_id=found.tenant_id, identity=identity)
        charge_point_id, registration_status = registered.pk, registered.registration_status
        logger.info("auto-registered %s/%s as Pending", tenant_slug, identity)
    if found.password_hash:
        credentials = parse_basic_auth(authorization)
        if credentials is None or not (
            credentials[0] == identity and password_matches(credentials[1], found.password_hash)
        ):
            security_log.warning(
                "refused %s/%s from %s: %s Basic-auth credentials",
                tenant_slug,
                identity,
                client,
                "missing" if credentials is None else "wrong",
            )
            raise ConnectionRefusedError(401, "Invalid credentials")

    now = timezone.now()
    previous_channel = found.channel_name if found.connected else ""
    with transaction.atomic():
        ChargePoint.objects.filter(pk=charge_point_id).update(
            connected=True, connected_at=now, last_seen=now, channel_name=channel_name
        )
        charge_point_connected_emit(
            tenant_id=found.tenant_id, charge_point_id=charge_point_id, identity=identity, at=now
        )
    session = ChargePointSession(
        tenant_id=found.tenant_id,
        tenant_slug=tenant_slug,
        charge_point_id=charge_point_id,
        identity=identity,
        registration_status=registration_status,
        heartbeat_interval=found.heartbeat_interval or found.tenant_heartbeat_interval,
        switches=switches,
        last_seen_written=time.monotonic(),
        commands_waiting=found.commands_waiting,
    )
    return session, previous_channel


def _register_pending(*, tenant_id: int, identity: str) -> ChargePoint:
    try:
        with transaction.atomic():
            return ChargePoint.objects.create(
                tenant_id=tenant_id,
                identity=identity,
                registration_status=RegistrationStatus.PENDING,
            )
    except IntegrityError:  # two handshakes of the same new identity at once
        return ChargePoint.objects.get(tenant_id=tenant_id, identity=identity)


def close_session(*, session: ChargePointSession, channel_name: str) -> None:
    # Only the connection that holds presence may clear it: after a takeover the old
    # connection's close must not mark the charge point offline.
    now = timezone.now()
    with transaction.atomic():
        left = ChargePoint.objects.filter(
            pk=session.charge_point_id, channel_name=channel_name
        ).update(connected=False, channel_name="", last_seen=now)
        if left:
            charge_point_disconnected_emit(
                tenant_id=session.tenant_id,
                charge_point_id=session.charge_point_id,
                identity=session.identity,
                at=now,
            )


def refresh_session(*, session: ChargePointSession) -> None:
    row = (
        ChargePoint.objects.filter(pk=session.charge_point_id)
        .values(
            "registration_status",
            "heartbeat_interval",
            "compat_overrides",
            "tenant__heartbeat_interval",
            "tenant__compat_defaults",
        )
        .first()
    )
    if row is not None:
        session.registration_status = row["registration_status"]
        session.heartbeat_interval = row["heartbeat_interval"] or row["tenant__heartbeat_interval"]
        session.switches = CompatSwitches.merged(
            row["tenant__compat_defaults"], row["compat_overrides"]
        )


# --- Calls --------------------------------------------------------------------------------------


def handle_calls(calls: list[PendingCall]) -> list[str]:
    """Several calls (of different charge points) in one transaction; their answer frames.

    Any failure rolls the whole batch back, and each call is then handled on its own (its
    handler's error answered, the others stored), as if they had never been batched.
    """
    if len(calls) == 1:
        return [handle_call(*calls[0])]
    seen = [ctx.session.last_seen_written for _, ctx, _, _ in calls]
    try:
        log: list[LogRow] = []
        answers = []
        with transaction.atomic():
            for route, ctx, payload, raw_frame in calls:
                result = route.handler(ctx, payload)
                answer = result_frame(ctx.message_id, response_payload(ctx.action, result))
                _record_call(ctx, raw_frame, answer, answered_ok=True, log=log)
                answers.append(answer)
            message_log_write(log)
        return answers
    except Exception:  # noqa: BLE001 - sorted out call by call just below
        for (_, ctx, _, _), written in zip(calls, seen, strict=True):
            ctx.session.last_seen_written = written  # that write was rolled back too
        return [handle_call(*call) for call in calls]


def handle_call(route: Route, ctx: CallContext, payload: dict[str, Any], raw_frame: str) -> str:
    """Run ``route``'s handler durably and return the answer frame."""
    try:
        with transaction.atomic():
            result = route.handler(ctx, payload)
            answer = result_frame(ctx.message_id, response_payload(ctx.action, result))
            _record_call(ctx, raw_frame, answer, answered_ok=True)
        return answer
    except OcppError as exc:
        answer = error_frame(ctx.message_id, exc.code, exc.description, exc.details)
    except Exception:
        # Nothing the handler wrote survives (the transaction rolled back), and nothing of the
        # crash leaks to the charge point.
        logger.exception("%s: %s handler failed", ctx.session.identity, ctx.action)
        answer = error_frame(
            ctx.message_id, ErrorCode.INTERNAL_ERROR, "An internal error occurred", {}
        )
    with transaction.atomic():
        _record_call(ctx, raw_frame, answer, answered_ok=False)
    return answer


def _record_call(
    ctx: CallContext,
    raw_frame: str,
    answer: str,
    *,
    answered_ok: bool,
    log: list[LogRow] | None = None,
) -> None:
    """The call's message-log rows (written now, or added to ``log`` for the batch's one
    insert), its quirks, and ``last_seen`` at most once a minute."""
    now = timezone.now()
    cp_id = ctx.charge_point_id
    rows: list[LogRow] = [
        (cp_id, _IN, 2, ctx.message_id, ctx.action, raw_frame, ctx.received_at),
        (cp_id, _OUT, 3 if answered_ok else 4, ctx.message_id, ctx.action, answer, now),
    ]
    if log is None:
        message_log_write(rows)
    else:
        log.extend(rows)
    if ctx.quirks:
        count_quirks(charge_point_id=cp_id, quirks=ctx.quirks)
    session = ctx.session
    monotonic = time.monotonic()
    if monotonic - session.last_seen_written >= settings.OCPP_LAST_SEEN_RESOLUTION_SECONDS:
        ChargePoint.objects.filter(pk=cp_id).update(last_seen=now)
        session.last_seen_written = monotonic


def count_quirks(*, charge_point_id: int, quirks: list[str]) -> None:
    for quirk in sorted(set(quirks)):
        times = quirks.count(quirk)
        updated = CompatAbsorption.objects.filter(
            charge_point_id=charge_point_id, quirk=quirk
        ).update(count=F("count") + times, last_seen=timezone.now())
        if not updated:
            try:
                with transaction.atomic():
                    CompatAbsorption.objects.create(
                        charge_point_id=charge_point_id, quirk=quirk, count=times
                    )
            except IntegrityError:
                CompatAbsorption.objects.filter(
                    charge_point_id=charge_point_id, quirk=quirk
                ).update(count=F("count") + times)


def log_frames(*, session: ChargePointSession, frames: list[tuple[str, str]], at: datetime) -> None:
    """Message-log rows for frames answered without a handler (errors, responses)."""
    message_log_write(
        (
            session.charge_point_id,
            direction,
            *_frame_fields(text),
            text,
            at if direction == MessageDirection.IN else timezone.now(),
        )
        for direction, text in frames
    )


def _frame_fields(text: str) -> tuple[int | None, str, str]:
    """message type, message id and action of a frame, as far as they can be read."""
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):
        return None, "", ""
    if not isinstance(message, list) or not message:
        return None, "", ""
    message_type = message[0] if message[0] in (2, 3, 4) else None
    message_id = message[1] if len(message) > 1 and isinstance(message[1], str) else ""
    # A malformed CALL may stop short of its action (``[2, "id"]``).
    action = (
        message[2] if message_type == 2 and len(message) > 2 and isinstance(message[2], str) else ""
    )
    return message_type, message_id[:64], action[:64]
