"""The simulator against our real daphne: sessions, commands, storms, Basic auth, the CLI."""

import io
from collections.abc import Callable

import pytest
from django.core.management import call_command

from chargepoints.models import ChargePoint, Connector, OcppMessage
from chargepoints.passwords import hash_password
from csms.tenancy.models import Tenant
from csms.tenancy.services import api_token_issue
from simulator.fleet import Fleet
from tests.async_orm import orm
from tests.http_clients import HttpApi, http_url
from transactions.models import MeterValue, Transaction

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def stored_sessions(tenant: Tenant) -> dict[int, tuple[int, int | None, int]]:
    """transactionId → (meterStart, meterStop, meter values stored)."""
    return {
        tx.pk: (tx.meter_start, tx.meter_stop, MeterValue.objects.filter(transaction=tx).count())
        for tx in Transaction.objects.filter(tenant=tenant)
    }


def calls_logged(identity: str, action: str) -> list[str]:
    return list(
        OcppMessage.objects.filter(
            charge_point__identity=identity, direction="in", message_type=2, action=action
        )
        .order_by("created_at")
        .values_list("message_id", flat=True)
    )


async def test_fleet_boots_heartbeats_at_the_servers_interval_and_stores_each_session_once(
    ocpp_server: str, tenant: Tenant, fleet_of: Callable[..., Fleet]
) -> None:
    await orm(Tenant.objects.filter(pk=tenant.pk).update, heartbeat_interval=1)
    fleet = await fleet_of(ocpp_server, charging_share=1.0)
    await fleet.start()
    try:
        finished = await fleet.wait_until(
            lambda: len({s.identity for s in fleet.ledger if s.stop_acked}) == 5, within=20
        )
        await fleet.wait_until(lambda: fleet.stats.answered["Heartbeat"] >= 10, within=10)
    finally:
        await fleet.stop()

    assert finished, fleet.summary()
    assert fleet.stats.errors == {}, fleet.summary()
    assert all(cp.heartbeat_interval == 1.0 for cp in fleet.charge_points)
    assert fleet.stats.answered["BootNotification"] == 5
    assert fleet.stats.answered["Authorize"] >= 5
    stored = await orm(stored_sessions, tenant)
    for session in fleet.ledger:
        if not session.stop_acked:
            continue
        assert stored[session.transaction_id] == (
            session.meter_start,
            session.meter_stop,
            session.samples_acked,
        )
        assert session.meter_stop >= session.meter_start
    assert len(stored) == sum(s.start_acked for s in fleet.ledger)
    # StatusNotification for connector 0 and 1 of every charge point.
    reported = await orm(
        lambda: set(
            Connector.objects.filter(charge_point__tenant=tenant).values_list(
                "charge_point__identity", "connector_id"
            )
        )
    )
    assert reported == {(cp.identity, n) for cp in fleet.charge_points for n in (0, 1)}


async def test_central_system_calls_get_configured_or_stateful_answers(
    ocpp_server: str, tenant: Tenant, fleet_of: Callable[..., Fleet]
) -> None:
    from simulator.answers import AnswerBook

    fleet = await fleet_of(ocpp_server, count=2)
    fleet.shared.answers = AnswerBook.parse(["Reset=Rejected"])
    api = HttpApi(http_url(ocpp_server), await orm(lambda: api_token_issue(tenant=tenant).raw))
    await fleet.start()
    try:
        assert await fleet.wait_until(fleet.settled, within=10)
        target = fleet.charge_points[1].identity
        reset = await api.command(target, "Reset", {"type": "Hard"}, wait=5)
        config = await api.command(
            target, "GetConfiguration", {"key": ["MeterValueSampleInterval", "Nope"]}, wait=5
        )
        start = await api.command(
            target, "RemoteStartTransaction", {"idTag": fleet.charge_points[1].id_tag}, wait=5
        )
        started = await fleet.wait_until(
            lambda: any(s.start_acked for s in fleet.ledger), within=10
        )
    finally:
        await fleet.stop()

    assert (reset.body["status"], reset.body["response"]) == ("completed", {"status": "Rejected"})
    assert config.body["response"] == {
        "configurationKey": [{"key": "MeterValueSampleInterval", "readonly": False, "value": "1"}],
        "unknownKey": ["Nope"],
    }
    assert start.body["response"] == {"status": "Accepted"}
    assert started  # the remote start began a session: Start acknowledged by the server
    assert fleet.stats.calls_received == {
        "Reset": 1,
        "GetConfiguration": 1,
        "RemoteStartTransaction": 1,
    }
    assert fleet.charge_points[1].rebooting is False  # a rejected reset reboots nothing


async def test_reconnect_storm_replays_queued_messages_with_new_ids_and_stores_each_once(
    ocpp_server: str, tenant: Tenant, fleet_of: Callable[..., Fleet]
) -> None:
    fleet = await fleet_of(ocpp_server)
    await fleet.start()
    try:
        assert await fleet.wait_until(fleet.settled, within=10)
        fleet.drop_all()
        assert await fleet.wait_until(lambda: fleet.stats.connected == 0, within=5)
        assert fleet.charge_offline(samples=2, interval=60) == 5
        assert fleet.queued() == 5 * 4  # Start, 2 x MeterValues, Stop each
        for cp in fleet.charge_points:
            cp.lose_next_answer = True  # the replayed Start's answer is lost: retried
        fleet.release(jitter=0.2)
        settled = await fleet.wait_until(fleet.settled, within=20)
    finally:
        await fleet.stop()

    assert settled, fleet.summary()
    stored = await orm(stored_sessions, tenant)
    assert len(stored) == 5  # each transaction exactly once
    for session in fleet.ledger:
        assert session.start_acked and session.stop_acked
        # 2 MeterValues and the StopTransaction's transactionData, none stored twice
        assert stored[session.transaction_id] == (
            session.meter_start,
            session.meter_stop,
            session.samples_sent,
        )
        starts = await orm(calls_logged, session.identity, "StartTransaction")
        assert len(starts) == 2 and len(set(starts)) == 2  # retried with a new message id
    assert fleet.stats.answered["BootNotification"] == 5 + 5 + 5  # boot, storm, flap


async def test_basic_auth_password_is_presented_and_a_wrong_one_is_refused(
    ocpp_server: str, tenant: Tenant, fleet_of: Callable[..., Fleet]
) -> None:
    password = "simulated-secret-0001"
    fleet = await fleet_of(ocpp_server, count=2, password=password)
    await orm(
        ChargePoint.objects.filter(identity=fleet.charge_points[1].identity).update,
        password_hash=hash_password("another-secret-00002"),
    )
    await fleet.start()
    try:
        booted = await fleet.wait_until(
            lambda: (
                fleet.charge_points[0].online
                and fleet.stats.errors["connect refused: HTTP 401"] > 0
            ),
            within=10,
        )
    finally:
        await fleet.stop()

    assert booted, fleet.summary()
    assert not fleet.charge_points[1].online


def test_simulate_command_provisions_runs_and_summarises(ocpp_server: str, tenant: Tenant) -> None:
    out = io.StringIO()

    call_command(
        "simulate",
        *("--url", f"{ocpp_server}/ocpp/{tenant.slug}/", "--tenant", tenant.slug),
        *("--provision", "--count", "3", "--prefix", "CLI-", "--ramp", "0.2"),
        *("--charging-share", "0", "--duration", "2", "--answer", "Reset=Rejected"),
        stdout=out,
    )

    output = out.getvalue()
    assert "provisioned tenant acme: 3 new charge points, 3 new idTags" in output
    assert "3 charge points" in output
    assert "BootNotification" in output and "0 errors" in output
    assert ChargePoint.objects.filter(tenant=tenant, identity__startswith="CLI-").count() == 3
