"""Admission control: a saturated process answers BootNotification Pending with a randomized
interval instead of doing the boot. The fleet honouring it: tests/simulator/test_fleet_admission.py.
"""

import json
import random
import time

import pytest
from django.utils import timezone

from chargepoints.models import ChargePoint, OcppMessage, RegistrationStatus
from chargepoints.ocpp_backend import ChargePointBackend
from csms.ocpp.context import CallContext, ChargePointSession
from csms.ocpp.execution import hops
from csms.ocpp.execution.admission import Admission
from csms.ocpp.execution.group_commit import InboundCall
from csms.ocpp.pipeline import call_execute
from csms.ocpp.router import route_for
from csms.tenancy.models import Tenant
from tests.async_orm import orm

# --- The decision -------------------------------------------------------------------------------


def gate(
    max_in_flight: int = 100, max_latency: float = 5.0, low: int = 10, high: int = 40
) -> Admission:
    return Admission(max_in_flight, max_latency, low, high, rng=random.Random(1))


def test_boots_are_admitted_below_the_limit_and_deferred_at_it() -> None:
    admission = gate(max_in_flight=2)
    admission.enter()
    assert admission.boot_deferral() is None

    started = admission.enter()
    intervals = {admission.boot_deferral() for _ in range(200)}

    assert intervals <= set(range(10, 41)) and len(intervals) > 10  # randomized: waves
    assert admission.deferred == 200
    admission.leave(started)
    assert admission.boot_deferral() is None


def test_slow_database_work_defers_boots_until_it_is_fast_again() -> None:
    admission = gate(max_latency=5.0)
    now = time.monotonic()
    for _ in range(100):  # answers that took 10 s each: saturated
        admission.enter()
        admission.leave(now - 10)
    assert admission.latency > 5.0
    assert admission.boot_deferral() is not None

    for _ in range(200):  # fast again
        admission.leave(admission.enter())
    assert admission.latency < 0.1
    assert admission.boot_deferral() is None


def test_zero_defers_every_boot_and_a_negative_limit_none() -> None:
    assert gate(max_in_flight=0, low=5, high=5).boot_deferral() == 5
    off = gate(max_in_flight=-1, max_latency=0.0)
    for _ in range(1000):
        off.enter()
    off.latency = 100.0
    assert off.boot_deferral() is None


def test_interval_is_at_least_one_second_even_when_misconfigured() -> None:
    assert gate(max_in_flight=0, low=0, high=0).boot_deferral() == 1
    assert gate(max_in_flight=0, low=30, high=5).boot_deferral() == 30  # max below min: min


async def test_database_hops_are_counted_while_under_way(monkeypatch: pytest.MonkeyPatch) -> None:
    admission = gate()
    monkeypatch.setattr(hops, "_admission", admission)
    seen = []

    await hops.db_hop(lambda: seen.append(admission.in_flight))()

    assert seen == [1]
    assert admission.in_flight == 0


@pytest.mark.django_db(transaction=True)
async def test_saturated_process_answers_pending_without_doing_the_boot(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hops, "_admission", gate(max_in_flight=0, low=7, high=7))
    cp = await orm(ChargePoint.objects.create, tenant=tenant, identity="CP-1")
    session = ChargePointSession(
        tenant_id=tenant.pk,
        tenant_slug=tenant.slug,
        charge_point_id=cp.pk,
        identity="CP-1",
        registration_status=RegistrationStatus.ACCEPTED,
        heartbeat_interval=300,
    )
    boot = {"chargePointVendor": "Acme", "chargePointModel": "X"}
    raw = json.dumps([2, "b1", "BootNotification", boot])
    ctx = CallContext(session, "b1", "BootNotification", timezone.now(), [])

    answer = json.loads(
        await call_execute(
            ChargePointBackend(),
            InboundCall(route_for("BootNotification"), ctx, {"charge_point_vendor": "Acme"}, raw),
        )
    )

    assert answer[:2] == [3, "b1"]
    assert (answer[2]["status"], answer[2]["interval"]) == ("Pending", 7)
    stored = await orm(ChargePoint.objects.get, pk=cp.pk)
    assert (stored.vendor, stored.last_boot_at) == ("", None)  # the boot's work was not done
    assert stored.registration_status == RegistrationStatus.ACCEPTED
    assert session.registration_status == RegistrationStatus.ACCEPTED
    logged = await orm(
        lambda: list(OcppMessage.objects.filter(charge_point=cp).values_list("direction", "frame"))
    )
    assert sorted(direction for direction, _ in logged) == ["in", "out"]
