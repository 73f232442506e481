"""Admission control seen from the fleet: a saturated daphne answers BootNotification Pending
with its interval, and the simulated charge points honour it (and a registration Pending too).
The decision itself is tested in tests/csms/ocpp/test_admission.py."""

import asyncio
import itertools
from collections.abc import Callable, Iterator

import pytest

from chargepoints.models import ChargePoint, OcppMessage, RegistrationStatus
from simulator.fleet import Fleet
from tests.async_orm import orm
from tests.servers import ServerProcess, daphne_running

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def saturated_server(django_db_setup: None) -> Iterator[ServerProcess]:
    """A daphne that defers every boot for one second."""
    with daphne_running(
        OCPP_ADMISSION_MAX_IN_FLIGHT="0",
        OCPP_ADMISSION_RETRY_MIN_SECONDS="1",
        OCPP_ADMISSION_RETRY_MAX_SECONDS="1",
    ) as server:
        yield server


@pytest.fixture(scope="module")
def quick_retry_server(django_db_setup: None) -> Iterator[ServerProcess]:
    """A daphne that tells Pending charge points to boot again after one second."""
    with daphne_running(OCPP_BOOT_RETRY_INTERVAL="1") as server:
        yield server


def boots_logged(identity: str) -> list[tuple[str, object]]:
    return list(
        OcppMessage.objects.filter(charge_point__identity=identity, direction="in")
        .order_by("created_at")
        .values_list("action", "created_at")
    )


async def test_deferred_charge_point_waits_the_interval_and_sends_nothing_else(
    saturated_server: ServerProcess, fleet_of: Callable[..., Fleet]
) -> None:
    fleet = await fleet_of(saturated_server.ws_url, count=1)
    await fleet.start()
    try:
        await fleet.wait_until(lambda: fleet.stats.pending_boots >= 3, within=10)
    finally:
        await fleet.stop()

    cp = fleet.charge_points[0]
    assert not cp.online and fleet.stats.booted == 0
    frames = await orm(boots_logged, cp.identity)
    assert [action for action, _ in frames] == ["BootNotification"] * len(frames)
    assert len(frames) >= 3
    gaps = [(b - a).total_seconds() for (_, a), (_, b) in itertools.pairwise(frames)]
    assert min(gaps) >= 0.95  # the interval given (1 s), honoured
    stored = await orm(ChargePoint.objects.get, identity=cp.identity)
    assert stored.registration_status == RegistrationStatus.ACCEPTED


async def test_pending_registration_is_retried_after_its_interval_until_accepted(
    quick_retry_server: ServerProcess, fleet_of: Callable[..., Fleet]
) -> None:
    fleet = await fleet_of(quick_retry_server.ws_url, count=1)
    identity = fleet.charge_points[0].identity
    await orm(
        ChargePoint.objects.filter(identity=identity).update,
        registration_status=RegistrationStatus.PENDING,
    )
    await fleet.start()
    try:
        assert await fleet.wait_until(lambda: fleet.stats.pending_boots >= 1, within=10)
        await asyncio.sleep(0.2)
        assert not fleet.charge_points[0].online
        await orm(
            ChargePoint.objects.filter(identity=identity).update,
            registration_status=RegistrationStatus.ACCEPTED,
        )
        booted = await fleet.wait_until(fleet.settled, within=10)
    finally:
        await fleet.stop()

    assert booted, fleet.summary()
    actions = [action for action, _ in await orm(boots_logged, identity)]
    first_other = next(i for i, action in enumerate(actions) if action != "BootNotification")
    assert first_other >= 2  # booted again (after the interval) before anything else
    assert actions[first_other] == "StatusNotification"
