"""Command failure hooks (the isolated ``CommandFailed`` subscribers of csms.events): every way a
command ends without an answer runs them, once, inside the transaction that ended it; a
crashing hook is logged and never undoes the status change."""

import logging
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from chargepoints.commands import outbox
from chargepoints.commands.dispatch import command_dispatch
from chargepoints.commands.outbox import (
    command_withdraw,
    expire_due_commands,
    outbox_complete,
    outbox_fail,
)
from chargepoints.models import ChargePoint, Command, CommandStatus
from csms.events import CommandFailed, subscriber, unsubscribe
from csms.tenancy.models import Tenant
from tests.factories import ChargePointFactory

pytestmark = pytest.mark.django_db

# An action no app follows, so only this module's hooks run for it.
ACTION = "ClearCache"
Seen = list[tuple[int, str, str]]


@pytest.fixture
def charge_point(tenant: Tenant) -> ChargePoint:
    return ChargePointFactory(tenant=tenant, identity="CP-1", connected=True)


@pytest.fixture
def register() -> Iterator[Callable[[Callable[[CommandFailed], None]], None]]:
    """Register failure hooks for ``ACTION`` for the length of one test."""
    registered: list[Callable[[CommandFailed], None]] = []

    def add(hook: Callable[[CommandFailed], None]) -> None:
        subscriber(CommandFailed, action=ACTION, isolated=True)(hook)
        registered.append(hook)

    yield add
    for hook in registered:
        unsubscribe(CommandFailed, hook)


@pytest.fixture
def seen(register: Callable[[Callable[[CommandFailed], None]], None]) -> Seen:
    """What a hook saw: (command id, status it was handed, status of the row in the database),
    plus whether it ran inside a transaction."""
    calls: Seen = []

    def hook(command: CommandFailed) -> None:
        assert transaction.get_connection().in_atomic_block
        stored = Command.objects.values_list("status", flat=True).get(pk=command.command_id)
        calls.append((command.command_id, command.status, stored))

    register(hook)
    return calls


def queued(charge_point: ChargePoint, **options: Any) -> Command:
    return command_dispatch(charge_point=charge_point, action=ACTION, payload={}, **options)


def sent(charge_point: ChargePoint, *, ago: timedelta = timedelta(0)) -> Command:
    command = queued(charge_point)
    Command.objects.filter(pk=command.pk).update(
        status=CommandStatus.SENT, sent_at=timezone.now() - ago
    )
    return command


def answered(command: Command, status: str) -> None:
    """``command`` answered with ``status``, in a transaction: the hooks assert they run in one."""
    with transaction.atomic():
        outbox_complete(command_id=command.pk, response={"status": status})


def test_call_error_runs_the_hooks_with_the_failed_row(
    charge_point: ChargePoint, seen: Seen
) -> None:
    command = sent(charge_point)

    outbox_fail(
        command_id=command.pk, status=CommandStatus.FAILED, code="InternalError", description="x"
    )

    assert seen == [(command.pk, "failed", "failed")]


def test_time_out_and_closed_socket_run_the_hooks(charge_point: ChargePoint, seen: Seen) -> None:
    command = sent(charge_point)

    outbox_fail(command_id=command.pk, status=CommandStatus.TIMEOUT, code="Timeout", description="")

    assert seen == [(command.pk, "timeout", "timeout")]


@pytest.mark.parametrize(
    ("status", "hooked"),
    [
        pytest.param(
            "Maybe", ["failed"], id="a-malformed-answer-runs-the-failure-hooks-not-the-result-hooks"
        ),
        pytest.param("Accepted", [], id="a-completed-command-runs-no-failure-hook"),
    ],
)
def test_an_answer_runs_the_failure_hooks_only_when_malformed(
    charge_point: ChargePoint, seen: Seen, status: str, hooked: list[str]
) -> None:
    command = sent(charge_point)

    answered(command, status)

    assert seen == [(command.pk, failed, failed) for failed in hooked]


def test_expiry_runs_the_hooks_of_the_commands_it_expired_once(
    charge_point: ChargePoint, seen: Seen
) -> None:
    due = queued(charge_point, ttl_seconds=0)
    later = queued(charge_point, ttl_seconds=600)

    assert expire_due_commands() == 1
    assert expire_due_commands() == 0

    assert seen == [(due.pk, "expired", "expired")]
    assert Command.objects.get(pk=later.pk).status == CommandStatus.QUEUED


def test_an_orphaned_call_timed_out_by_the_sweep_runs_the_hooks(
    charge_point: ChargePoint, seen: Seen
) -> None:
    long_ago = timedelta(seconds=settings.OCPP_CALL_TIMEOUT_SECONDS + 120)
    orphaned = sent(charge_point, ago=long_ago)
    sent(charge_point)  # still awaited by its connection

    assert expire_due_commands() == 1

    assert seen == [(orphaned.pk, "timeout", "timeout")]


def test_a_failure_of_a_command_that_already_ended_runs_nothing(
    charge_point: ChargePoint, seen: Seen
) -> None:
    command = sent(charge_point)
    answered(command, "Accepted")

    outbox_fail(command_id=command.pk, status=CommandStatus.TIMEOUT, code="Timeout", description="")

    assert seen == []
    assert Command.objects.get(pk=command.pk).status == CommandStatus.COMPLETED


def test_withdraw_expires_a_queued_command_runs_the_hooks_and_wakes_waiters_after_commit(
    charge_point: ChargePoint,
    seen: Seen,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    woken: list[int] = []
    monkeypatch.setattr(outbox, "notify_waiters", lambda *, command_id: woken.append(command_id))
    command = queued(charge_point)

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        assert command_withdraw(command_id=command.pk, reason="not needed any more") is True
        assert woken == []  # not before the withdrawal is committed

    command.refresh_from_db()
    assert command.status == CommandStatus.EXPIRED
    assert command.error_description == "Withdrawn: not needed any more"
    assert seen == [(command.pk, "expired", "expired")]
    assert woken == [command.pk]


def test_a_command_already_sent_cannot_be_withdrawn(charge_point: ChargePoint, seen: Seen) -> None:
    command = sent(charge_point)

    assert command_withdraw(command_id=command.pk) is False

    assert Command.objects.get(pk=command.pk).status == CommandStatus.SENT
    assert seen == []


def test_a_crashing_hook_is_logged_and_undoes_neither_the_status_nor_the_other_hooks(
    charge_point: ChargePoint,
    register: Callable[[Callable[[CommandFailed], None]], None],
    seen: Seen,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def crashing(command: CommandFailed) -> None:
        ChargePoint.objects.filter(pk=command.charge_point_id).update(vendor="half written")
        raise RuntimeError("the hook is broken")

    register(crashing)
    register(
        lambda command: ChargePoint.objects.filter(pk=command.charge_point_id).update(
            model="by the next hook"
        )
    )
    command = sent(charge_point)

    with caplog.at_level(logging.ERROR, logger="chargepoints.commands.outbox"):
        outbox_fail(
            command_id=command.pk, status=CommandStatus.FAILED, code="InternalError", description=""
        )

    assert Command.objects.get(pk=command.pk).status == CommandStatus.FAILED
    assert seen == [(command.pk, "failed", "failed")]
    charge_point.refresh_from_db()
    assert charge_point.vendor != "half written"  # rolled back to the hook's savepoint
    assert charge_point.model == "by the next hook"
    assert "failure hook" in caplog.text
    assert "the hook is broken" in caplog.text


def test_a_crashing_hook_does_not_stop_an_expiry_sweep(
    charge_point: ChargePoint, register: Callable[[Callable[[CommandFailed], None]], None]
) -> None:
    def crashing(command: CommandFailed) -> None:
        raise RuntimeError("the hook is broken")

    register(crashing)
    commands = [queued(charge_point, ttl_seconds=0) for _ in range(3)]

    assert expire_due_commands() == 3

    statuses = Command.objects.filter(pk__in=[c.pk for c in commands]).values_list(
        "status", flat=True
    )
    assert set(statuses) == {CommandStatus.EXPIRED}


def test_hooks_run_in_the_ending_transaction_and_roll_back_with_it(
    charge_point: ChargePoint, register: Callable[[Callable[[CommandFailed], None]], None]
) -> None:
    register(
        lambda command: ChargePoint.objects.filter(pk=command.charge_point_id).update(
            vendor="from the hook"
        )
    )
    command = queued(charge_point)

    with pytest.raises(RuntimeError), transaction.atomic():
        command_withdraw(command_id=command.pk)
        raise RuntimeError("the caller's transaction fails afterwards")

    charge_point.refresh_from_db()
    assert charge_point.vendor != "from the hook"
    assert Command.objects.get(pk=command.pk).status == CommandStatus.QUEUED


def test_hooks_run_only_for_their_action(charge_point: ChargePoint, seen: Seen) -> None:
    other = command_dispatch(charge_point=charge_point, action="Reset", payload={"type": "Soft"})
    Command.objects.filter(pk=other.pk).update(status=CommandStatus.SENT)

    outbox_fail(command_id=other.pk, status=CommandStatus.FAILED, code="x", description="")

    assert seen == []
