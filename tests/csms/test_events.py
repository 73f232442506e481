"""The event bus (csms.events): who hears what, in which order, inside which transaction, and
what a subscriber that raises does to the change that published the event."""

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from chargepoints.commands.dispatch import command_dispatch
from chargepoints.commands.outbox import outbox_complete
from chargepoints.models import ChargePoint, Command, CommandStatus
from csms.events import (
    CommandCompleted,
    Event,
    listened,
    publish,
    subscriber,
    unsubscribe,
)
from csms.tenancy.models import Tenant
from tests.factories import ChargePointFactory


@dataclass(frozen=True, slots=True, kw_only=True)
class Rang(Event):
    """An event no app subscribes to: only this module's receivers hear it."""

    bell: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RangTwice(Rang):
    pass


Register = Callable[..., Callable[[Callable[[Any], None]], Callable[[Any], None]]]


@pytest.fixture
def register() -> Iterator[Register]:
    """``subscriber`` for the length of one test."""
    registered: list[tuple[type[Event], Callable[[Any], None]]] = []

    def decorate(event_type: type[Event], **options: Any) -> Any:
        def add(receiver: Callable[[Any], None]) -> Callable[[Any], None]:
            registered.append((event_type, receiver))
            return subscriber(event_type, **options)(receiver)

        return add

    yield decorate
    for event_type, receiver in registered:
        unsubscribe(event_type, receiver)


def rang(bell: str = "front door", tenant_id: int = 1) -> Rang:
    return Rang(tenant_id=tenant_id, bell=bell)


def test_subscribers_run_in_registration_order_and_by_order_first(register: Register) -> None:
    heard: list[str] = []

    @register(Rang, order=1)
    def last(event: Rang) -> None:
        heard.append("last")

    @register(Rang)
    def first(event: Rang) -> None:
        heard.append("first")

    @register(Rang)
    def second(event: Rang) -> None:
        heard.append("second")

    publish(rang())

    assert heard == ["first", "second", "last"]


def test_a_subscriber_hears_its_own_event_type_only(register: Register) -> None:
    heard: list[tuple[str, str]] = []
    register(Rang)(lambda event: heard.append(("rang", event.bell)))
    register(RangTwice)(lambda event: heard.append(("twice", event.bell)))

    publish(rang("back door"))
    publish(RangTwice(tenant_id=1, bell="gate"))

    assert heard == [("rang", "back door"), ("twice", "gate")]  # no dispatch by inheritance


def test_field_values_given_at_registration_select_the_events(register: Register) -> None:
    heard: list[str] = []
    register(Rang, bell="gate")(lambda event: heard.append(event.bell))

    publish(rang("front door"))
    publish(rang("gate"))

    assert heard == ["gate"]


def test_a_field_the_event_does_not_have_is_refused_when_registering() -> None:
    with pytest.raises(TypeError, match="no field"):
        subscriber(Rang, colour="red")


def test_registering_the_same_receiver_twice_runs_it_once(register: Register) -> None:
    heard: list[str] = []

    def receiver(event: Rang) -> None:
        heard.append(event.bell)

    register(Rang)(receiver)
    register(Rang)(receiver)
    publish(rang())

    assert heard == ["front door"]


def test_with_no_subscriber_publishing_does_nothing() -> None:
    publish(rang())  # nobody listens: no error, nothing to run

    assert listened(Rang, tenant_id=1) is False


def test_listened_asks_each_subscriber_about_the_tenant(register: Register) -> None:
    register(Rang, listens=lambda tenant_id: tenant_id == 7)(lambda event: None)

    assert (listened(Rang, tenant_id=7), listened(Rang, tenant_id=8)) == (True, False)

    register(Rang)(lambda event: None)  # no ``listens``: always listens

    assert listened(Rang, tenant_id=8) is True


@pytest.mark.django_db
def test_a_subscriber_that_would_not_act_on_the_tenant_is_not_run_nor_isolated(
    register: Register,
) -> None:
    heard: list[int] = []
    register(Rang, isolated=True, listens=lambda tenant_id: tenant_id == 7)(
        lambda event: heard.append(event.tenant_id)
    )

    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        publish(rang(tenant_id=8))
        skipped = [query["sql"] for query in captured.captured_queries]
        publish(rang(tenant_id=7))

    assert heard == [7]
    assert skipped == []  # no savepoint for a subscriber that is not run
    assert any(q["sql"].startswith("SAVEPOINT") for q in captured.captured_queries)


# --- Transactions and failures ------------------------------------------------------------------


@pytest.fixture
def station(tenant: Tenant) -> ChargePoint:
    return ChargePointFactory(tenant=tenant, identity="CP-1", vendor="Acme")


def rename(station: ChargePoint, vendor: str) -> Callable[[Any], None]:
    def receiver(event: Any) -> None:
        ChargePoint.objects.filter(pk=station.pk).update(vendor=vendor)

    return receiver


@pytest.mark.django_db
def test_subscribers_run_inside_the_callers_transaction_and_roll_back_with_it(
    register: Register, station: ChargePoint, django_capture_on_commit_callbacks: Any
) -> None:
    in_transaction: list[bool] = []
    sent: list[str] = []

    @register(Rang)
    def receiver(event: Rang) -> None:
        in_transaction.append(transaction.get_connection().in_atomic_block)
        ChargePoint.objects.filter(pk=station.pk).update(vendor="by the subscriber")
        transaction.on_commit(lambda: sent.append(event.bell))  # network work: after commit

    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        publish(rang())
        raise RuntimeError("the change that published fails afterwards")

    station.refresh_from_db()
    assert in_transaction == [True]
    assert station.vendor == "Acme"  # rolled back with the change that published
    assert sent == []  # and its after-commit work never ran


@pytest.mark.django_db
def test_a_subscriber_that_raises_fails_the_publish_and_the_change(
    register: Register, station: ChargePoint
) -> None:
    later: list[str] = []
    register(Rang)(rename(station, "before the crash"))

    @register(Rang)
    def crashing(event: Rang) -> None:
        raise RuntimeError("broken subscriber")

    register(Rang)(lambda event: later.append(event.bell))

    with pytest.raises(RuntimeError, match="broken subscriber"), transaction.atomic():
        ChargePoint.objects.filter(pk=station.pk).update(model="by the publisher")
        publish(rang())

    station.refresh_from_db()
    assert (station.vendor, station.model) == ("Acme", "Wallbox 22")  # nothing of it stays
    assert later == []  # the subscribers after it did not run


@pytest.mark.django_db
def test_an_isolated_subscriber_that_raises_is_logged_and_undoes_only_its_own_writes(
    register: Register, station: ChargePoint, caplog: pytest.LogCaptureFixture
) -> None:
    @register(Rang, isolated=True)
    def crashing(event: Rang) -> None:
        ChargePoint.objects.filter(pk=station.pk).update(vendor="half written")
        raise RuntimeError("broken subscriber")

    register(Rang)(rename(station, "by the next one"))

    with caplog.at_level(logging.ERROR, logger="csms.events"), transaction.atomic():
        ChargePoint.objects.filter(pk=station.pk).update(model="by the publisher")
        publish(rang())

    station.refresh_from_db()
    assert station.model == "by the publisher"  # the change stays
    assert station.vendor == "by the next one"  # the crash's write was rolled back
    assert "crashing" in caplog.text
    assert "broken subscriber" in caplog.text


@pytest.mark.django_db
def test_a_command_result_subscriber_runs_in_the_completing_transaction(
    register: Register, station: ChargePoint, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[tuple[str, str]] = []

    @register(CommandCompleted, action="ClearCache", isolated=True)
    def result(event: CommandCompleted) -> None:
        stored = Command.objects.values_list("status", flat=True).get(pk=event.command_id)
        seen.append((event.status, stored))  # the row is completed, in this very transaction
        raise RuntimeError("what the app derives from the answer fails")

    command = command_dispatch(charge_point=station, action="ClearCache", payload={})
    Command.objects.filter(pk=command.pk).update(status=CommandStatus.SENT)
    with caplog.at_level(logging.ERROR, logger="csms.events"):
        outbox_complete(command_id=command.pk, response={"status": "Accepted"})

    completed = Command.objects.get(pk=command.pk)
    assert seen == [("completed", "completed")]
    assert "command result hook" in caplog.text
    assert completed.status == "completed"  # the answer is kept all the same
    assert completed.response == {"status": "Accepted"}
