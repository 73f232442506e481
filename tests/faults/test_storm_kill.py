"""daphne is killed (-9) in the middle of a reconnect storm and started again: of the
transactions the chargers replay, nothing acknowledged is lost and nothing is stored twice.

Hundreds of chargers connect at once and replay what they queued during an outage
(tests.faults.storm): StartTransaction, MeterValues, StopTransaction. The kill comes while a
share is answered, many are outstanding, and StartTransactions are stored whose answers the
chargers never got (one charger in ten is deaf to its first one's answer, as if it were in
flight at the kill); their answers are lost with the process, the chargers send them again to
the new daphne, and the server's idempotency (a StartTransaction retried gets the transaction
its first try stored, a value retried is not a second row) is what keeps the database right.
"""

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from csms.tenancy.models import Tenant
from tests.async_orm import orm
from tests.faults.conftest import urls_of
from tests.faults.figures import figures_keep
from tests.faults.storm import METER_VALUES_PER_TRANSACTION, Storm, storm_running
from tests.servers import ServerProcess, daphne_command, free_port, server_env, server_start
from transactions.models import MeterValue, Transaction

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CHARGERS = 200
# The moment to kill is looked for once this share of all queued messages is acknowledged:
# about half of the StartTransactions answered, the rest in flight.
KILL_AT_SHARE = 0.1
# One charger in ten hears nothing after its first StartTransaction (tests.faults.storm): the
# kill then surely lands with StartTransactions stored whose answers the chargers never got.
# The chargers reach their StartTransactions over seconds, not at once: the kill waits for
# some of the deaf ones, not all.
DEAF_EVERY = 10
DEAF_STORED_AT_KILL = 5
DEAF_STORED_WITHIN = 20.0
FINISHED_WITHIN_SECONDS = 30.0


def _stored(identities: list[str]) -> dict[str, Any]:
    transactions = list(
        Transaction.objects.filter(charge_point__identity__in=identities).values(
            "id", "charge_point__identity", "meter_stop", "stopped_at"
        )
    )
    values = list(
        MeterValue.objects.filter(charge_point__identity__in=identities).values_list(
            "charge_point__identity", "transaction_id", "value"
        )
    )
    return {"transactions": transactions, "values": values}


def _reconcile(storm: Storm, stored: dict[str, Any]) -> dict[str, int]:
    """What the chargers were acknowledged against what the database holds."""
    transactions_of: dict[str, list[dict[str, Any]]] = {c.identity: [] for c in storm.chargers}
    for row in stored["transactions"]:
        transactions_of[row["charge_point__identity"]].append(row)
    values_of: Counter[tuple[str, int | None, int]] = Counter(
        (identity, transaction_id, int(value))
        for identity, transaction_id, value in stored["values"]
    )
    names = ("duplicate_transactions", "start_not_its_one_row", "stop_not_stored")
    counts = Counter[str](dict.fromkeys((*names, "values_acknowledged_not_stored"), 0))
    for charger in storm.chargers:
        rows = transactions_of[charger.identity]
        counts["duplicate_transactions"] += max(0, len(rows) - 1)
        acknowledged = {message.action: message for message in charger.acknowledged}
        if "StartTransaction" in acknowledged:
            given = acknowledged["StartTransaction"].answer["transactionId"]  # type: ignore[index]
            if [row["id"] for row in rows] != [given]:
                counts["start_not_its_one_row"] += 1
        if "StopTransaction" in acknowledged and not any(
            row["id"] == charger.transaction_id
            and row["stopped_at"] is not None
            and row["meter_stop"] == charger.meter_stop
            for row in rows
        ):
            counts["stop_not_stored"] += 1
        for value in charger.acknowledged_values:
            stored_times = values_of[(charger.identity, charger.transaction_id, value)]
            counts["values_acknowledged"] += 1
            counts["values_acknowledged_not_stored"] += stored_times == 0
    counts["values_stored"] = sum(values_of.values())
    counts["duplicate_values"] = sum(times - 1 for times in values_of.values())
    return dict(counts)


def _stored_count(stored: dict[str, Any]) -> int:
    return (
        len(stored["transactions"])
        + len(stored["values"])
        + sum(row["stopped_at"] is not None for row in stored["transactions"])
    )


def _starts_stored_unanswered(storm: Storm, stored: dict[str, Any]) -> int:
    with_a_row = {row["charge_point__identity"] for row in stored["transactions"]}
    return sum(c.identity in with_a_row and c.queue[0].answer is None for c in storm.chargers)


async def _kill_when_deaf_starts_are_stored(
    server: ServerProcess, storm: Storm, identities: list[str]
) -> tuple[dict[str, Any], tuple[int, int], float]:
    """kill -9 once ``DEAF_STORED_AT_KILL`` deaf chargers' StartTransactions are committed:
    rows whose answers the chargers never got, whose retries the new daphne must not store
    again. What the database holds after the kill (the answers the chargers did get were
    all sent after their commits), the messages and the StartTransactions in flight at the
    kill, and the seconds waited for the deaf starts."""
    deaf = {charger.identity for charger in storm.chargers if charger.deaf_to_first_start}
    waited_from = time.monotonic()
    while True:
        stored = await orm(_stored, identities)
        stored_deaf = deaf & {row["charge_point__identity"] for row in stored["transactions"]}
        if len(stored_deaf) >= DEAF_STORED_AT_KILL:
            break
        assert time.monotonic() - waited_from < DEAF_STORED_WITHIN, "deaf starts not stored"
        await asyncio.sleep(0.02)
    in_flight = storm.outstanding
    starts_in_flight = sum(c.outstanding is c.queue[0] for c in storm.chargers if c.outstanding)
    server.process.kill()
    server.process.wait(timeout=10)
    storm.deaf_no_more()
    waited_s = time.monotonic() - waited_from
    return await orm(_stored, identities), (in_flight, starts_in_flight), waited_s


async def test_daphne_killed_mid_reconnect_storm_loses_and_doubles_nothing(
    tenant: Tenant, fleet_identities: Callable[[str, int], list[str]], faults_dir: Path
) -> None:
    identities = await orm(fleet_identities, "S", CHARGERS)
    port = free_port()
    env = server_env(LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1")
    command = daphne_command(port)
    first = server_start(command, env=env, ports=[port], log=faults_dir / "daphne-first.log")
    second = None
    try:
        async with storm_running(
            urls_of(first, tenant), identities, deaf_every=DEAF_EVERY
        ) as storm:
            started_at = time.monotonic()
            await storm.until_acknowledged(int(storm.queued * KILL_AT_SHARE), within=40)
            killed = await _kill_when_deaf_starts_are_stored(first, storm, identities)
            stored_at_kill, (outstanding_at_kill, starts_in_flight), waited_s = killed
            acknowledged_at_kill = storm.acknowledged
            storm_s = time.monotonic() - started_at
            starts_lost = _starts_stored_unanswered(storm, stored_at_kill)
            second = await asyncio.to_thread(
                server_start, command, env=env, ports=[port], log=faults_dir / "daphne-second.log"
            )
            listening_at = time.monotonic()
            await storm.until_finished(within=FINISHED_WITHIN_SECONDS)
            finished_s = max(charger.finished_at for charger in storm.chargers) - listening_at
    finally:
        first.stop()
        if second is not None:
            second.stop()

    figures = {
        "chargers": CHARGERS,
        "messages_queued": storm.queued,
        "acknowledged_before_kill": acknowledged_at_kill,
        "in_flight_at_kill": outstanding_at_kill,
        "starts_in_flight_at_kill": starts_in_flight,
        "stored_unanswered_at_kill": _stored_count(stored_at_kill) - acknowledged_at_kill,
        "starts_stored_unanswered_at_kill": starts_lost,
        "deaf_chargers": CHARGERS // DEAF_EVERY,
        "waited_for_deaf_starts_s": round(waited_s, 2),
        "kill_after_s": round(storm_s, 2),
        "messages_sent_again": sum(charger.resent for charger in storm.chargers),
        # Those whose first try may have been stored: the retry must get the same transaction.
        "starts_sent_again": sum(charger.queue[0].tries > 1 for charger in storm.chargers),
        "reconnects": sum(charger.connects - 1 for charger in storm.chargers),
        "chargers_finished": storm.finished,
        "finished_after_restart_s": round(finished_s, 2),
        **_reconcile(storm, await orm(_stored, identities)),
    }
    figures_keep("storm_kill", figures)
    assert outstanding_at_kill > 0, "the kill came when nothing was in flight"
    assert starts_lost >= DEAF_STORED_AT_KILL, "a deaf charger's StartTransaction was answered"
    assert storm.finished == CHARGERS
    assert figures["duplicate_transactions"] == 0
    assert figures["start_not_its_one_row"] == 0
    assert figures["stop_not_stored"] == 0
    assert figures["values_acknowledged"] == CHARGERS * METER_VALUES_PER_TRANSACTION
    assert figures["values_acknowledged_not_stored"] == 0
    assert figures["duplicate_values"] == 0
    assert figures["values_stored"] == CHARGERS * METER_VALUES_PER_TRANSACTION
