"""Group commit for inbound CALLs: the calls that arrive while the database threads are busy
are handled together, in one hop and one transaction.

One transaction per frame spends more on the transaction than on the frame (thread hop, pool
checkout, BEGIN, COMMIT, a message-log insert of its own). Under light load nothing changes: a
call finds a free slot and goes alone, at once. Under load the calls that queued behind the
busy slots go as one batch (each is answered only after that batch committed, so an answered
transaction message is still durably stored, OCPP 1.6 §4.7). A batch where any call fails is
rolled back and its calls are handled again one by one, each with its own answer: a handler's
CALLERROR as it raised it, a crash as ``InternalError`` (nothing of it leaks to the charger).

What one call does inside the transaction (run its handler, frame its answer, record it) is
the pipeline's :func:`csms.ocpp.pipeline.handler_run`, passed in as ``run``; this module only
decides which transaction it runs in.
"""

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction

from csms import log_context
from csms.metrics import ocpp as metrics
from csms.ocpp.backend import OcppBackend
from csms.ocpp.context import CallContext
from csms.ocpp.errors import ErrorCode, OcppError
from csms.ocpp.execution.hops import admission, db_hop
from csms.ocpp.frames import error_frame
from csms.ocpp.router import Route

logger = logging.getLogger(__name__)

# The database itself is away (a restart, a fail-over): nothing of the call was stored and
# nothing can be logged; the charge point is told at once and retries (issue 16 §7). One
# warning per call, not the tracebacks and retries of a handler's crash.
DATABASE_AWAY = (OperationalError, InterfaceError)


def _database_away_answer(call: "InboundCall", exc: Exception) -> str:
    ctx = call.ctx
    logger.warning(
        "%s: %s not handled, database unavailable: %s", ctx.session.identity, ctx.action, exc
    )
    return error_frame(
        ctx.message_id, ErrorCode.INTERNAL_ERROR, "The database is unavailable; retry", {}
    )


@dataclass(frozen=True, slots=True)
class InboundCall:
    """A CALL admitted and validated, on its way to its handler's transaction."""

    route: Route
    ctx: CallContext
    payload: dict[str, Any]  # the validated request, snake_case
    raw_frame: str  # as received, for the message log


# Runs one call's handler and records it, inside the caller's transaction; its answer frame.
# ``log_rows`` collects the message-log rows for the batch's one insert (None: write them now).
CallRun = Callable[[InboundCall, OcppBackend, list[Any] | None], str]


class GroupCommit:
    """This process's slots for CALL transactions (``parallel`` threads of their own) and the
    calls waiting for one."""

    def __init__(
        self,
        run_batch: Callable[[list[InboundCall]], list[str]],
        *,
        parallel: int,
        max_batch: int,
    ) -> None:
        self.parallel = max(1, parallel)
        executor = ThreadPoolExecutor(max_workers=self.parallel, thread_name_prefix="ocpp-calls")
        self._hop = db_hop(run_batch, counted=False, executor=executor)
        self.max_batch = max(1, max_batch)
        self.pending: list[tuple[InboundCall, asyncio.Future[str]]] = []
        self.running = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, call: InboundCall) -> str:
        """The answer frame for ``call``, once its batch committed."""
        answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        gate = admission()
        started = gate.enter()  # each call counts as work under way, not each batch
        answer.add_done_callback(lambda _: gate.leave(started))
        self.pending.append((call, answer))
        if self.running < self.parallel:
            self._start()
        return await answer

    def _start(self) -> None:
        batch, self.pending = self.pending[: self.max_batch], self.pending[self.max_batch :]
        metrics.batch_committed(len(batch))
        self.running += 1
        # The batch is several charge points' work: none of their log contexts is its own
        # (each call binds its own in the database thread).
        task = asyncio.create_task(self._run(batch), context=log_context.process_context())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, batch: list[tuple[InboundCall, asyncio.Future[str]]]) -> None:
        try:
            answers = await self._hop([call for call, _ in batch])
        except asyncio.CancelledError:
            for _, future in batch:
                future.cancel()
            raise
        except Exception as exc:  # noqa: BLE001 - each waiting consumer gets it, as from a hop
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
        else:
            for (_, future), answer in zip(batch, answers, strict=True):
                if not future.done():  # its consumer may have gone meanwhile
                    future.set_result(answer)
        finally:
            self.running -= 1
            if self.pending:
                self._start()


# --- In the database thread -----------------------------------------------------------------------


def commit_durability(calls: list[InboundCall]) -> None:
    """Let PostgreSQL answer the commit before its WAL reaches the disk when every call of the
    transaction is one of ``OCPP_ASYNC_COMMIT_ACTIONS`` (default: Heartbeat).

    What such a commit risks is the last fraction of a second before a crash of PostgreSQL
    itself (not of daphne: a daphne crash loses nothing committed): a Heartbeat writes nothing
    but its message-log rows and, at most every half minute, ``last_seen``, and the charger
    sends the next one within its interval, which writes both again. Waiting for the WAL flush
    was a third of a Heartbeat's time under the realistic mix (about 1 ms of 3; issue 17).
    Never for transaction messages (OCPP 1.6 §4.7: answered only once durably stored), nor
    for anything a charger will not send again (StatusNotification, BootNotification, …).
    """
    actions = settings.OCPP_ASYNC_COMMIT_ACTIONS
    if not actions or connection.vendor != "postgresql":
        return
    if all(call.ctx.action in actions for call in calls):
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def calls_commit(calls: list[InboundCall], *, backend: OcppBackend, run: CallRun) -> list[str]:
    """Several calls (of different charge points) in one transaction; their answer frames.

    Any failure rolls the whole batch back, and each call is then handled on its own (its
    handler's error answered, the others stored), as if they had never been batched.
    """
    if len(calls) == 1:
        return [call_commit(calls[0], backend=backend, run=run)]
    seen = [call.ctx.session.last_seen_written for call in calls]
    try:
        log_rows: list[Any] = []
        with transaction.atomic():
            commit_durability(calls)
            answers = [run(call, backend, log_rows) for call in calls]
            backend.message_log_write(log_rows)
        return answers
    except Exception as exc:  # noqa: BLE001 - sorted out call by call just below
        for call, written in zip(calls, seen, strict=True):
            call.ctx.session.last_seen_written = written  # that write was rolled back too
        if isinstance(exc, DATABASE_AWAY):
            return [_database_away_answer(call, exc) for call in calls]
        return [call_commit(call, backend=backend, run=run) for call in calls]


def call_commit(call: InboundCall, *, backend: OcppBackend, run: CallRun) -> str:
    """One call in a transaction of its own; its answer frame, a CALLERROR if it failed."""
    session = call.ctx.session
    # This thread may be running a batch of several charge points' calls: log under this one's.
    with log_context.call_bind(
        tenant=session.tenant_slug, charge_point=session.identity, message_id=call.ctx.message_id
    ):
        return _call_commit(call, backend=backend, run=run)


def _call_commit(call: InboundCall, *, backend: OcppBackend, run: CallRun) -> str:
    ctx = call.ctx
    seen = ctx.session.last_seen_written
    try:
        with transaction.atomic():
            commit_durability([call])
            answer = run(call, backend, None)
        return answer
    except OcppError as exc:
        answer = error_frame(ctx.message_id, exc.code, exc.description, exc.details)
    except DATABASE_AWAY as exc:
        ctx.session.last_seen_written = seen
        return _database_away_answer(call, exc)
    except Exception:
        logger.exception("%s: %s failed", ctx.session.identity, ctx.action)
        ctx.session.last_seen_written = seen  # that write was rolled back too
        retried = _commit_with_log_apart(call, backend=backend, run=run)
        if retried is not None:
            return retried
        # Nothing the handler wrote survives (the transaction rolled back), and nothing of the
        # crash leaks to the charge point.
        answer = error_frame(
            ctx.message_id, ErrorCode.INTERNAL_ERROR, "An internal error occurred", {}
        )
    try:
        with transaction.atomic():
            backend.call_record(ctx=ctx, raw_frame=call.raw_frame, answer=answer, answered_ok=False)
    except Exception:
        logger.exception("%s: %s not written to the message log", ctx.session.identity, ctx.action)
    return answer


def _commit_with_log_apart(call: InboundCall, *, backend: OcppBackend, run: CallRun) -> str | None:
    """The failed call once more, its message-log rows written after it committed: a message
    log that cannot be written costs its rows, never the call's work or its answer (issue 16
    §5). None if it fails again: then its handler is what failed."""
    log_rows: list[Any] = []
    seen = call.ctx.session.last_seen_written
    try:
        with transaction.atomic():
            answer = run(call, backend, log_rows)
    except Exception:  # noqa: BLE001 - the first failure is logged; this one is the same
        call.ctx.session.last_seen_written = seen
        return None
    try:
        with transaction.atomic():
            backend.message_log_write(log_rows)
    except Exception:
        logger.exception(
            "%s: %s answered, not written to the message log",
            call.ctx.session.identity,
            call.ctx.action,
        )
    return answer
