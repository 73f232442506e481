"""The meter model behind simulated MeterValues: physically consistent, schema-valid."""

import random

import pytest

from csms.ocpp import schemas
from simulator.meter import AC_1_PHASE, AC_3_PHASE, DC_FAST, MeterModel, Vehicle, taper


def vehicle(soc: float = 20.0, capacity_wh: float = 100_000.0) -> Vehicle:
    return Vehicle(capacity_wh=capacity_wh, soc=soc, max_ac_power_w=11_000, max_dc_power_w=100_000)


def by_measurand(values: list[dict], measurand: str) -> list[dict]:
    return [v for v in values if v["measurand"] == measurand]


def test_an_hour_at_full_power_adds_its_energy_to_the_register() -> None:
    meter = MeterModel(AC_3_PHASE, random.Random(1), register_wh=5_000)
    meter.plug_in(vehicle(soc=20))

    meter.advance(3600)

    # 11 kW for an hour, all of it below the 80 % taper.
    assert meter.register_wh == pytest.approx(5_000 + 11_000)
    assert meter.vehicle is not None
    assert meter.vehicle.soc == pytest.approx(31.0)


def test_register_never_decreases_and_soc_stops_at_full() -> None:
    meter = MeterModel(DC_FAST, random.Random(2))
    meter.plug_in(vehicle(soc=60, capacity_wh=40_000))
    readings = []
    for _ in range(200):
        meter.advance(60)
        readings.append(meter.register)

    assert readings == sorted(readings)
    assert meter.vehicle is not None
    assert meter.vehicle.soc <= 100.0
    assert meter.power_w() < 0.2 * DC_FAST.max_power_w  # tapered near full


def test_power_tapers_above_eighty_percent() -> None:
    assert taper(50) == 1.0
    assert taper(80) == 1.0
    assert 0.05 < taper(90) < 1.0
    assert taper(95) < taper(90)
    assert taper(100) == 0.0


def test_charging_profile_limit_caps_power_and_no_vehicle_draws_nothing() -> None:
    meter = MeterModel(AC_3_PHASE, random.Random(3))
    assert meter.power_w() == 0.0

    meter.plug_in(vehicle())
    meter.limit_w = 4_000

    assert meter.power_w() == 4_000


def test_three_phase_sample_has_current_and_voltage_per_phase_consistent_with_power() -> None:
    meter = MeterModel(AC_3_PHASE, random.Random(4), register_wh=1234.9)
    meter.plug_in(vehicle())

    values = meter.sampled_values()

    assert by_measurand(values, "Energy.Active.Import.Register")[0]["value"] == "1234"
    power = float(by_measurand(values, "Power.Active.Import")[0]["value"])
    currents = by_measurand(values, "Current.Import")
    voltages = by_measurand(values, "Voltage")
    assert [c["phase"] for c in currents] == ["L1", "L2", "L3"]
    assert [v["phase"] for v in voltages] == ["L1-N", "L2-N", "L3-N"]
    delivered = sum(
        float(c["value"]) * float(v["value"]) for c, v in zip(currents, voltages, strict=True)
    )
    assert delivered == pytest.approx(power, rel=0.01)
    soc = by_measurand(values, "SoC")[0]
    assert (soc["unit"], soc["location"]) == ("Percent", "EV")


@pytest.mark.parametrize("kind", [AC_3_PHASE, AC_1_PHASE, DC_FAST])
def test_every_sample_is_a_valid_meter_values_request(kind: object) -> None:
    meter = MeterModel(kind, random.Random(5))  # type: ignore[arg-type]
    meter.plug_in(vehicle())
    meter.advance(600)

    payload = {
        "connectorId": 1,
        "transactionId": 7,
        "meterValue": [
            {"timestamp": "2026-01-01T00:00:00.000Z", "sampledValue": meter.sampled_values()}
        ],
    }

    schemas.validate("MeterValues", payload)  # raises OcppError if not


def test_dc_sample_reports_no_phases() -> None:
    meter = MeterModel(DC_FAST, random.Random(6))
    meter.plug_in(vehicle())

    values = meter.sampled_values()

    assert all("phase" not in value for value in values)
    assert len(by_measurand(values, "Current.Import")) == 1
