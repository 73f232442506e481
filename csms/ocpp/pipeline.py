"""The path of one inbound frame, top to bottom, as the consumer hands it over.

1. :func:`frame_receive` — the entry: one WebSocket message of an open connection, within
   its frame rate (csms.ocpp.rate_limit; beyond, :func:`frame_refuse_flood`).
2. :func:`frame_parse` — text only, not too big, an OCPP-J message (OCPP-J §4); a CALLRESULT
   or CALLERROR goes to :func:`answer_receive` (our outstanding CALL, csms.ocpp.outbound).
3. :func:`call_admit` — an action a charge point sends, that we handle, that it may send now
   (OCPP 1.6 §4.2.1: while Pending or Rejected only BootNotification).
4. :func:`request_validate` — the compatibility layer cleans and, where the strict schema
   check fails, repairs (csms.ocpp.compat); the request the handler sees is snake_case.
5. :func:`call_execute` — admission control may defer a boot (:func:`boot_defer`); every
   other call joins the group commit (csms.ocpp.execution), which runs it in a database thread.
6. :func:`handler_run` — inside that transaction: the app's handler, its answer framed
   (:func:`answer_frame`: camelCase, held to the response schema) and the call recorded by the
   backend (message log, quirks, ``last_seen``), all committed before the answer is sent
   (OCPP 1.6 §4.7). A handler's :class:`OcppError`, or a crash as ``InternalError``, becomes
   its CALLERROR there too.
7. The answer is sent; a refusal on the way is sent by :func:`error_answer` (and logged).

Pure steps run on the event loop: precompiled validators are cheaper there than a thread hop
(PERFORMANCE.md). One event at a time per connection (Channels' guarantee), so several CALLs
sent without waiting are answered in order.
"""

import copy
import logging
import time
from datetime import datetime
from functools import cache, partial
from typing import Any, Protocol

from django.conf import settings
from django.utils import timezone

from csms import log_context
from csms.metrics import ocpp as metrics
from csms.ocpp import compat, schemas, storable
from csms.ocpp.backend import OcppBackend
from csms.ocpp.context import CallContext, ChargePointSession
from csms.ocpp.errors import ErrorCode, OcppError
from csms.ocpp.execution.group_commit import GroupCommit, InboundCall, calls_commit
from csms.ocpp.execution.hops import admission, db_hop
from csms.ocpp.frames import (
    UNKNOWN_MESSAGE_ID,
    Call,
    CallError,
    CallResult,
    Frame,
    error_frame,
    leading_message_id,
    parse_frame,
    redacted_response,
    result_frame,
)
from csms.ocpp.outbound import Outbound
from csms.ocpp.rate_limit import FrameRateLimit, Verdict
from csms.ocpp.router import CHARGE_POINT_ACTIONS, Route, route_for, to_camel, to_snake

logger = logging.getLogger(__name__)
security_log = logging.getLogger("csms.security")

# WebSocket close code of a connection closed for flooding (the 4000s are the application's).
FLOOD_CLOSE_CODE = 4008

# While Pending or Rejected, a charge point may only boot (OCPP 1.6 §4.2.1).
ALLOWED_BEFORE_ACCEPTANCE = frozenset({"BootNotification"})
# Stands in for meter values the compat layer removed, only to schema-check the rest.
_NOTHING_SAMPLED = {"timestamp": "1970-01-01T00:00:00Z", "sampledValue": [{"value": ""}]}


class Connection(Protocol):
    """What the pipeline needs of the consumer that received the frame."""

    session: ChargePointSession | None
    backend: OcppBackend
    outbound: Outbound
    rate_limit: FrameRateLimit

    async def send(
        self, text_data: str | None = None, bytes_data: bytes | None = None, close: bool = False
    ) -> None: ...

    async def close(self, code: int | None = None, reason: str | None = None) -> None: ...


# --- The frame ------------------------------------------------------------------------------------


async def frame_receive(connection: Connection, text: str | None) -> None:
    """One frame from the charge point, from the socket to its answer sent and logged."""
    session = connection.session
    if session is None:
        return  # the handshake was refused or the connection is closing
    verdict = connection.rate_limit.admit(time.monotonic())
    if verdict is not Verdict.ADMIT:
        await frame_refuse_flood(connection, session, text, verdict)
        return
    received_at = timezone.now()
    started = time.perf_counter()
    raw = "<binary frame>" if text is None else text
    try:
        frame = frame_parse(text)
    except OcppError as refusal:
        logged = raw if len(raw) <= settings.OCPP_MAX_FRAME_SIZE else raw[:1000]
        with log_context.message_bind(refusal.message_id or UNKNOWN_MESSAGE_ID):
            await error_answer(connection, session, received_at, logged, refusal, started=started)
        return
    with log_context.message_bind(frame.message_id):
        try:
            if isinstance(frame, Call):
                await call_receive(connection, session, frame, raw, received_at, started=started)
            else:
                await answer_receive(connection, session, frame, raw, received_at)
        except Exception:
            # The database away (a restart, a fail-over) or a bug of ours: the charge point gets
            # an InternalError for its CALL and retries, the connection stays (issue 16 §7: a
            # dropped socket is an outage to a charger; it would reconnect in a storm).
            logger.exception("%s: frame not handled", session.identity)
            if isinstance(frame, Call):
                await connection.send(
                    text_data=error_frame(
                        frame.message_id, ErrorCode.INTERNAL_ERROR, "An internal error occurred", {}
                    )
                )


async def frame_refuse_flood(
    connection: Connection, session: ChargePointSession, text: str | None, verdict: Verdict
) -> None:
    """Over its frame rate: the frame is not handled and not logged (a flood must not fill
    the message log); its CALLERROR goes back, and a flood that persists closes the socket
    (the frames still buffered meanwhile are dropped unanswered)."""
    if verdict is Verdict.DROP:
        return
    if verdict is Verdict.DISCONNECT:
        security_log.warning(
            "%s/%s: closed, more than %d frames refused for flooding within %s s",
            session.tenant_slug,
            session.identity,
            settings.OCPP_FRAME_FLOOD_REFUSALS,
            settings.OCPP_FRAME_FLOOD_WINDOW_SECONDS,
        )
        await connection.close(code=FLOOD_CLOSE_CODE)
        return
    message_id = leading_message_id(text) if text is not None else UNKNOWN_MESSAGE_ID
    await connection.send(
        text_data=error_frame(
            message_id or UNKNOWN_MESSAGE_ID,
            ErrorCode.GENERIC_ERROR,
            f"Frame rate limit of {settings.OCPP_FRAME_RATE:g}/s exceeded",
            {},
        )
    )


def frame_parse(text: str | None) -> Frame:
    """The OCPP-J message in ``text``, or the FormationViolation naming its message id."""
    if text is None:
        raise OcppError(
            ErrorCode.FORMATION_VIOLATION,
            "OCPP-J uses text frames only",
            message_id=UNKNOWN_MESSAGE_ID,
        )
    if len(text) > settings.OCPP_MAX_FRAME_SIZE:
        raise OcppError(
            ErrorCode.FORMATION_VIOLATION,
            f"Frame exceeds {settings.OCPP_MAX_FRAME_SIZE} characters",
            message_id=leading_message_id(text),
        )
    return parse_frame(text)


async def answer_receive(
    connection: Connection,
    session: ChargePointSession,
    answer: CallResult | CallError,
    raw: str,
    received_at: datetime,
) -> None:
    """An answer to our outstanding CALL is recorded at once (whatever the socket does next);
    anything else is only logged."""
    action = await connection.outbound.answer_take(answer)
    metrics.answer_received(
        action, answer.code if isinstance(answer, CallError) else metrics.RESULT
    )
    if action is None:
        logger.info("%s: answer to unknown or expired call %s", session.identity, answer.message_id)
    elif isinstance(answer, CallResult):
        # The message log never keeps a secret a charger reported (GetConfiguration).
        redacted = redacted_response(action, answer.payload)
        if redacted is not answer.payload:
            raw = result_frame(answer.message_id, redacted)
    await frames_log(connection.backend, session, [("in", raw)], received_at)


# --- A CALL ---------------------------------------------------------------------------------------


async def call_receive(
    connection: Connection,
    session: ChargePointSession,
    call: Call,
    raw: str,
    received_at: datetime,
    *,
    started: float,
) -> None:
    """A CALL admitted, validated, executed durably and answered; after a boot, the outbox.
    ``started``: when the frame arrived (``time.perf_counter``), for its latency."""
    try:
        if not session.accepted and not allowed_before_acceptance(call.action, session):
            # Staff may have accepted it since it connected.
            await registration_recheck(connection, session)
        route = call_admit(call, session)
        payload, quirks = request_validate(call.action, call.payload, session.switches, raw=raw)
    except OcppError as refusal:
        refusal.message_id = call.message_id
        await error_answer(
            connection, session, received_at, raw, refusal, action=call.action, started=started
        )
        return
    ctx = CallContext(session, call.message_id, call.action, received_at, quirks)
    was_accepted = session.accepted
    answer = await call_execute(connection.backend, InboundCall(route, ctx, payload, raw))
    await connection.send(text_data=answer)
    metrics.call_answered(
        call.action, metrics.answer_outcome(answer), time.perf_counter() - started
    )
    if call.action == "BootNotification" and connection.session is not None:
        # Accepted or Pending: its queued calls may go now (an accepted charge point's
        # outbox already runs since it connected).
        connection.outbound.start(wake=not was_accepted or session.commands_waiting)


async def registration_recheck(connection: Connection, session: ChargePointSession) -> None:
    """Re-read what staff may have changed (registration status, compatibility switches); an
    accepted charge point's outbox runs."""
    await db_hop(connection.backend.session_refresh)(session=session)
    if session.accepted:
        connection.outbound.start()


def call_admit(call: Call, session: ChargePointSession) -> Route:
    """The route for ``call``, or the CALLERROR it deserves (unknown, unsupported, not yet)."""
    if call.action not in CHARGE_POINT_ACTIONS:
        if call.action in schemas.request_actions():
            # A Central-System-initiated action sent the wrong way round.
            raise OcppError(ErrorCode.NOT_SUPPORTED, f"{call.action} is not sent by a charge point")
        raise OcppError(ErrorCode.NOT_IMPLEMENTED, f"Unknown action {call.action!r}")
    route = route_for(call.action)
    if route is None:
        raise OcppError(ErrorCode.NOT_SUPPORTED, f"{call.action} is not supported")
    if not session.accepted and not allowed_before_acceptance(call.action, session):
        raise OcppError(
            ErrorCode.SECURITY_ERROR,
            f"Charge point is {session.registration_status}: only BootNotification is answered",
        )
    return route


def allowed_before_acceptance(action: str, session: ChargePointSession) -> bool:
    """While Pending or Rejected: a BootNotification, or the message we asked it for with
    TriggerMessage (OCPP 1.6 §4.2.1: the Central System may trigger messages of a Pending
    charge point, which it then answers normally)."""
    return action in ALLOWED_BEFORE_ACCEPTANCE or session.was_triggered(action)


def request_validate(
    action: str,
    payload: dict[str, Any],
    switches: compat.CompatSwitches,
    *,
    raw: str | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """The request as handlers see it (snake_case) and the quirks absorbed to get there.

    ``raw`` is the frame it came in: only one that may carry a NUL or an unpaired surrogate has
    its strings searched for them (None: always)."""
    quirks = compat.clean(action, payload, switches)
    if raw is None or storable.may_carry_unstorable(raw):
        quirks.extend(storable.payload_strings_checked(action, payload, switches))
    # Every entry had an empty sampledValue and was cleaned away: nothing to store, but a
    # transaction message is answered, never refused (OCPP 1.6 §4.7). The rest is checked
    # with a stand-in entry.
    nothing_sampled = (
        action == "MeterValues"
        and payload.get("meterValue") == []
        and "empty_sampled_value" in quirks
    )
    if nothing_sampled:
        payload["meterValue"] = [copy.deepcopy(_NOTHING_SAMPLED)]
    try:
        _schema_check(action, payload, switches, quirks)
    finally:
        if nothing_sampled:
            payload["meterValue"] = []
    return to_snake(payload), quirks


def _schema_check(
    action: str, payload: dict[str, Any], switches: compat.CompatSwitches, quirks: list[str]
) -> None:
    """The strict check; where it fails, the repairs the switches allow and the lenient one."""
    try:
        schemas.validate(action, payload)
    except OcppError as strict_error:
        if not switches.any_lenient():
            raise
        repaired = compat.repair(action, payload, schemas.checked_schema(action), switches)
        try:
            schemas.validate(action, payload, lenient=switches.lenient_enums)
        except OcppError:
            raise strict_error from None
        quirks.extend(repaired or ["open_enum_value"])


# --- Executing it ---------------------------------------------------------------------------------


async def call_execute(backend: OcppBackend, call: InboundCall) -> str:
    """The answer frame, once the call's work is durably stored; or, while this process is
    saturated, a BootNotification answered Pending (csms.ocpp.execution.admission)."""
    if call.route.action == "BootNotification":
        retry_in = admission().boot_deferral()
        if retry_in is not None:
            metrics.boot_deferred()
            return await boot_defer(backend, call, retry_in)
        call.ctx.session.boot_deferred = False
    return await _group_commit(backend).submit(call)


async def boot_defer(backend: OcppBackend, call: InboundCall, retry_in: int) -> str:
    """Saturated: Pending, boot again in ``retry_in`` s (OCPP 1.6 §4.2). Nothing of the boot
    is done and nothing about the charge point changes (its registration status stays what it
    is); only the two frames are logged. This connection serves it as Pending until it boots
    again: its outbox holds back everything but what a Pending charge point may be sent."""
    ctx = call.ctx
    ctx.session.boot_deferred = True
    answer = answer_frame(
        ctx.message_id,
        "BootNotification",
        {"status": "Pending", "current_time": _now_iso(), "interval": retry_in},
    )
    await frames_log(
        backend, ctx.session, [("in", call.raw_frame), ("out", answer)], ctx.received_at
    )
    return answer


@cache
def _group_commit(backend: OcppBackend) -> GroupCommit:
    """The process's group commit (one backend per process, so one of these)."""
    return GroupCommit(
        partial(calls_commit, backend=backend, run=handler_run),
        parallel=settings.OCPP_CALL_BATCH_PARALLEL,
        max_batch=settings.OCPP_CALL_BATCH_MAX,
    )


def handler_run(call: InboundCall, backend: OcppBackend, log_rows: list[Any] | None) -> str:
    """In the database thread, inside the call's (or its batch's) transaction: the handler's
    work, its answer, and the call recorded beside them; ``log_rows`` collects the batch's
    message-log rows for one insert (None: written now)."""
    ctx = call.ctx
    session = ctx.session
    started = time.perf_counter()
    # A batch's thread runs the calls of several charge points: each logs under its own.
    with log_context.call_bind(
        tenant=session.tenant_slug, charge_point=session.identity, message_id=ctx.message_id
    ):
        result = call.route.handler(ctx, call.payload)
        answer = answer_frame(ctx.message_id, ctx.action, result)
        backend.call_record(
            ctx=ctx, raw_frame=call.raw_frame, answer=answer, answered_ok=True, log_rows=log_rows
        )
    metrics.handler_ran(ctx.action, time.perf_counter() - started)
    return answer


# --- The answer -----------------------------------------------------------------------------------


def answer_frame(message_id: str, action: str, result: dict[str, Any]) -> str:
    """The CALLRESULT for a handler's ``result`` (snake_case)."""
    return result_frame(message_id, response_payload(action, result))


def response_payload(action: str, result: dict[str, Any]) -> dict[str, Any]:
    """camelCase ``result`` and hold it to the response schema: a bad answer is our bug."""
    payload: dict[str, Any] = to_camel(result)
    try:
        schemas.validate(action, payload, response=True)
    except OcppError as exc:
        raise OcppError(
            ErrorCode.INTERNAL_ERROR, "The Central System could not build a valid answer"
        ) from exc
    return payload


async def error_answer(
    connection: Connection,
    session: ChargePointSession,
    received_at: datetime,
    raw: str,
    refusal: OcppError,
    *,
    action: str = "",
    started: float | None = None,
) -> None:
    """A frame refused before any handler ran: its CALLERROR sent, both frames logged (and
    counted, with its latency from ``started`` when given)."""
    answer = error_frame(
        refusal.message_id or UNKNOWN_MESSAGE_ID,
        refusal.code,
        refusal.description,
        refusal.details,
    )
    logger.info(
        "%s: %s %s (%s)",
        session.identity,
        storable.log_text(action) or "frame",
        refusal.code,
        refusal.description,
    )
    await connection.send(text_data=answer)
    if started is not None:
        metrics.call_answered(action, refusal.code, time.perf_counter() - started)
    await frames_log(connection.backend, session, [("in", raw), ("out", answer)], received_at)


async def frames_log(
    backend: OcppBackend,
    session: ChargePointSession,
    frames: list[tuple[str, str]],
    at: datetime,
) -> None:
    """Frames answered without a handler, logged; a failed write costs the log rows, never
    the connection (the answer is already sent, and the next frame may find the database)."""
    try:
        await db_hop(backend.frames_log)(session=session, frames=frames, at=at)
    except Exception:
        logger.exception(
            "%s: %d frame(s) not written to the message log", session.identity, len(frames)
        )


def _now_iso() -> str:
    return timezone.now().isoformat().replace("+00:00", "Z")
