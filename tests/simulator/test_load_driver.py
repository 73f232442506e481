"""The benchmark's load driver (simulator.load) against our real daphne: the realistic mix
at a chosen rate, every answered call stored."""

import random
from collections.abc import Callable

import pytest

from chargepoints.models import OcppMessage
from csms.tenancy.models import Tenant
from simulator.fleet import Fleet
from simulator.load import RateDriver
from tests.async_orm import orm
from transactions.models import Transaction

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


async def test_the_driver_offers_the_mix_keeps_its_charging_share_and_everything_is_stored(
    ocpp_server: str, tenant: Tenant, fleet_of: Callable[..., Fleet]
) -> None:
    fleet = await fleet_of(ocpp_server, charging_share=0.0)
    await fleet.start()
    try:
        assert await fleet.wait_until(fleet.settled, within=20), fleet.summary()
        driver = RateDriver(fleet.charge_points, random.Random(1), charging_share=0.4)
        await driver.warm_up(rate=20, within=20)
        charging_after_warm_up = driver.charging_count
        result = await driver.run(rate=20, seconds=3)
        await driver.drain(10)
    finally:
        await fleet.stop()

    assert charging_after_warm_up == driver.target_charging == 2  # 40 % of 5
    assert driver.charging_in_flight == 0 and not driver.in_flight  # drained
    assert driver.charging_count == len(driver.charging)
    assert result.offered >= 50 and result.skipped <= result.offered // 2
    assert fleet.stats.errors == {}, fleet.summary()
    assert fleet.stats.answered["MeterValues"] > 0 and fleet.stats.answered["Heartbeat"] > 0
    logged = await orm(
        OcppMessage.objects.filter(
            charge_point__tenant=tenant, direction="in", message_type=2
        ).count
    )
    assert logged == sum(fleet.stats.answered.values())
    started = await orm(Transaction.objects.filter(tenant=tenant).count)
    assert started == sum(s.start_acked for s in fleet.ledger)
