"""Group commit (csms.ocpp.execution.group_commit): the calls that queue while the database
threads are busy share one transaction; a batch where one fails is rolled back and its calls
are handled one by one, a crash answered InternalError with nothing of it stored.

Handlers are plain functions on real routes' terms (snake_case in, snake_case out) writing to
the test database through the real backend.
"""

import asyncio
import json
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chargepoints.models import ChargePoint, OcppMessage
from chargepoints.ocpp_backend import ChargePointBackend
from csms.ocpp.context import CallContext, ChargePointSession
from csms.ocpp.errors import ErrorCode, OcppError
from csms.ocpp.execution.group_commit import GroupCommit, InboundCall, calls_commit
from csms.ocpp.pipeline import handler_run
from csms.ocpp.router import Handler, Route
from csms.tenancy.models import Tenant
from tests.async_orm import orm
from tests.factories import ChargePointFactory

Answer = dict[str, Any]
NOW = "2025-03-01T10:00:00Z"


def renaming(vendor: str) -> Handler:
    def handler(ctx: CallContext, payload: Answer) -> Answer:
        ChargePoint.objects.filter(pk=ctx.charge_point_id).update(vendor=vendor)
        return {"current_time": NOW}

    return handler


def crashing(ctx: CallContext, payload: Answer) -> Answer:
    ChargePoint.objects.filter(pk=ctx.charge_point_id).update(vendor="half-written")
    raise RuntimeError("the handler broke after a write")


def refusing(ctx: CallContext, payload: Answer) -> Answer:
    raise OcppError(ErrorCode.NOT_SUPPORTED, "not here")


def inbound(station: ChargePoint, message_id: str, handler: Handler) -> InboundCall:
    session = ChargePointSession(
        tenant_id=station.tenant_id,
        tenant_slug="acme",
        charge_point_id=station.pk,
        identity=station.identity,
        registration_status="Accepted",
        heartbeat_interval=300,
    )
    ctx = CallContext(session, message_id, "Heartbeat", timezone.now(), [])
    raw = json.dumps([2, message_id, "Heartbeat", {}])
    return InboundCall(Route("Heartbeat", handler), ctx, {}, raw)


def stations(tenant: Tenant, count: int) -> list[ChargePoint]:
    return [ChargePointFactory(tenant=tenant, identity=f"CP-{n}") for n in range(count)]


def logged(station: ChargePoint) -> list[tuple[str, int | None, str]]:
    return list(
        OcppMessage.objects.filter(charge_point=station)
        .order_by("direction")
        .values_list("direction", "message_type", "message_id")
    )


@pytest.mark.django_db
def test_a_batch_of_good_calls_commits_with_one_message_log_insert(tenant: Tenant) -> None:
    batch = [inbound(s, f"m{n}", renaming(f"v{n}")) for n, s in enumerate(stations(tenant, 3))]
    table = OcppMessage._meta.db_table

    with CaptureQueriesContext(connection) as captured:
        answers = calls_commit(batch, backend=ChargePointBackend(), run=handler_run)

    assert [json.loads(a) for a in answers] == [
        [3, f"m{n}", {"currentTime": NOW}] for n in range(3)
    ]
    inserts = [q for q in captured.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 1 and table in inserts[0]["sql"]
    assert OcppMessage.objects.count() == 6


@pytest.mark.django_db
def test_a_batch_where_one_call_fails_is_handled_again_call_by_call(tenant: Tenant) -> None:
    good, broken, refused = stations(tenant, 3)
    batch = [
        inbound(good, "m-good", renaming("Acme")),
        inbound(broken, "m-broken", crashing),
        inbound(refused, "m-refused", refusing),
    ]

    answers = calls_commit(batch, backend=ChargePointBackend(), run=handler_run)

    assert [json.loads(a) for a in answers] == [
        [3, "m-good", {"currentTime": NOW}],
        [4, "m-broken", "InternalError", "An internal error occurred", {}],
        [4, "m-refused", "NotSupported", "not here", {}],
    ]
    vendors = dict(ChargePoint.objects.values_list("identity", "vendor"))
    assert vendors[good.identity] == "Acme"
    assert vendors[broken.identity] != "half-written"  # the crash's write was rolled back
    assert logged(good) == [("in", 2, "m-good"), ("out", 3, "m-good")]
    assert logged(broken) == [("in", 2, "m-broken"), ("out", 4, "m-broken")]
    assert logged(refused) == [("in", 2, "m-refused"), ("out", 4, "m-refused")]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("calls", "max_batch", "sizes"), [(4, 50, [1, 3]), (5, 2, [1, 2, 2])])
async def test_calls_that_queue_behind_a_busy_slot_go_together_in_the_next_batch(
    tenant: Tenant, calls: int, max_batch: int, sizes: list[int]
) -> None:
    backend = ChargePointBackend()
    seen: list[int] = []

    def run_batch(batch: list[InboundCall]) -> list[str]:
        seen.append(len(batch))
        return calls_commit(batch, backend=backend, run=handler_run)

    commit = GroupCommit(run_batch, parallel=1, max_batch=max_batch)
    queued: list[ChargePoint] = await orm(stations, tenant, calls)
    batch = [inbound(queued[n], f"m{n}", renaming(f"v{n}")) for n in range(calls)]

    answers = await asyncio.gather(*(commit.submit(call) for call in batch))

    assert seen == sizes
    assert [json.loads(a)[:2] for a in answers] == [[3, f"m{n}"] for n in range(calls)]
    vendors = await orm(lambda: sorted(ChargePoint.objects.values_list("vendor", flat=True)))
    assert vendors == sorted(f"v{n}" for n in range(calls))


# --- Durability of the commit ---------------------------------------------------------------------

ASYNC_COMMIT = "SET LOCAL synchronous_commit TO OFF"


def as_action(call: InboundCall, action: str) -> InboundCall:
    """The call as another action, answered with an empty confirmation (MeterValues.conf)."""
    ctx = CallContext(call.ctx.session, call.ctx.message_id, action, timezone.now(), [])
    return InboundCall(Route(action, lambda ctx, payload: {}), ctx, {}, call.raw_frame)


def statements_of(batch: list[InboundCall]) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        calls_commit(batch, backend=ChargePointBackend(), run=handler_run)
    return [query["sql"] for query in captured.captured_queries]


@pytest.mark.django_db
def test_only_a_transaction_of_heartbeats_commits_without_waiting_for_the_disk(
    tenant: Tenant,
) -> None:
    one, two = stations(tenant, 2)
    heartbeats = [inbound(one, "h1", renaming("a")), inbound(two, "h2", renaming("b"))]
    mixed = [
        inbound(one, "h3", renaming("c")),
        as_action(inbound(two, "m1", renaming("d")), "MeterValues"),
    ]

    alone = statements_of(heartbeats[:1])
    together = statements_of(heartbeats)
    with_a_transaction_message = statements_of(mixed)

    # Only PostgreSQL has the switch; the embedded database commits as it always does.
    expected = connection.vendor == "postgresql"
    assert (ASYNC_COMMIT in alone, ASYNC_COMMIT in together) == (expected, expected)
    assert ASYNC_COMMIT not in with_a_transaction_message
    assert "m1" in {message_id for _, _, message_id in logged(two)}  # stored all the same


@pytest.mark.django_db
def test_no_action_means_every_commit_waits_for_the_disk(tenant: Tenant, settings: Any) -> None:
    settings.OCPP_ASYNC_COMMIT_ACTIONS = frozenset()
    (station,) = stations(tenant, 1)

    assert ASYNC_COMMIT not in statements_of([inbound(station, "h1", renaming("a"))])
