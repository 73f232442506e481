"""The meter of a connector and the vehicle plugged into it: what MeterValues report.

Pure and deterministic for a given ``random.Random``: power follows the vehicle's charging
curve (flat up to 80 % state of charge, then tapering), is capped by the charger, the vehicle
and any charging-profile limit, and the energy register integrates it. Current per phase and
voltage are derived from power, so a report is physically consistent.
"""

import random
from dataclasses import dataclass
from typing import Any

# Above this state of charge a battery takes less and less power (constant-voltage phase).
TAPER_FROM_SOC = 80.0
# At 100 % the vehicle still draws this share of its maximum (balancing), then stops.
TAPER_FLOOR = 0.05
# Integration step: power changes with the state of charge, so long gaps are split.
MAX_STEP_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class ChargerKind:
    name: str
    phases: int  # 0: DC
    max_power_w: float
    voltage_v: float

    @property
    def is_dc(self) -> bool:
        return self.phases == 0


AC_3_PHASE = ChargerKind("AC 11 kW", 3, 11_000.0, 230.0)
AC_1_PHASE = ChargerKind("AC 7.4 kW", 1, 7_360.0, 230.0)
DC_FAST = ChargerKind("DC 50 kW", 0, 50_000.0, 400.0)
# A fleet's mix: mostly three-phase AC wallboxes, some single-phase, a few fast chargers.
FLEET_MIX: tuple[tuple[ChargerKind, float], ...] = (
    (AC_3_PHASE, 0.7),
    (AC_1_PHASE, 0.2),
    (DC_FAST, 0.1),
)


def kind_for(rng: random.Random) -> ChargerKind:
    kinds, weights = zip(*FLEET_MIX, strict=True)
    return rng.choices(kinds, weights)[0]


@dataclass(slots=True)
class Vehicle:
    capacity_wh: float
    soc: float  # percent
    max_ac_power_w: float  # on-board charger
    max_dc_power_w: float

    @classmethod
    def arriving(cls, rng: random.Random) -> "Vehicle":
        """A typical vehicle plugging in: 40-100 kWh, 10-60 % full."""
        return cls(
            capacity_wh=rng.choice((40_000.0, 58_000.0, 77_000.0, 100_000.0)),
            soc=rng.uniform(10.0, 60.0),
            max_ac_power_w=rng.choice((7_400.0, 11_000.0, 11_000.0)),
            max_dc_power_w=rng.choice((50_000.0, 100_000.0)),
        )


def taper(soc: float) -> float:
    """Share of its maximum power a battery accepts at ``soc`` percent."""
    if soc >= 100.0:
        return 0.0
    if soc <= TAPER_FROM_SOC:
        return 1.0
    left = (100.0 - soc) / (100.0 - TAPER_FROM_SOC)
    return TAPER_FLOOR + (1.0 - TAPER_FLOOR) * left


class MeterModel:
    """One connector's energy meter (its register survives sessions) and the current vehicle."""

    def __init__(self, kind: ChargerKind, rng: random.Random, *, register_wh: float = 0.0) -> None:
        self.kind = kind
        self.rng = rng
        self.register_wh = register_wh
        self.vehicle: Vehicle | None = None
        # A charging-profile limit in W (SetChargingProfile), None when unlimited.
        self.limit_w: float | None = None

    @property
    def register(self) -> int:
        """The register as reported: whole Wh, never decreasing."""
        return int(self.register_wh)

    def plug_in(self, vehicle: Vehicle) -> None:
        self.vehicle = vehicle

    def unplug(self) -> None:
        self.vehicle = None

    def power_w(self) -> float:
        vehicle = self.vehicle
        if vehicle is None:
            return 0.0
        vehicle_max = vehicle.max_dc_power_w if self.kind.is_dc else vehicle.max_ac_power_w
        cap = min(self.kind.max_power_w, vehicle_max)
        if self.limit_w is not None:
            cap = min(cap, max(self.limit_w, 0.0))
        return cap * taper(vehicle.soc)

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of charging pass."""
        remaining = max(seconds, 0.0)
        while remaining > 0 and self.vehicle is not None:
            step = min(remaining, MAX_STEP_SECONDS)
            energy_wh = self.power_w() * step / 3600.0
            self.register_wh += energy_wh
            self.vehicle.soc = min(
                100.0, self.vehicle.soc + energy_wh / self.vehicle.capacity_wh * 100
            )
            remaining -= step

    def voltage(self) -> float:
        base = self.kind.voltage_v
        if self.kind.is_dc and self.vehicle is not None:
            # A DC charger follows the battery's voltage, which rises with its charge.
            base = 350.0 + self.vehicle.soc * 0.5
        return base + self.rng.uniform(-2.0, 2.0)

    def sampled_values(self, context: str = "Sample.Periodic") -> list[dict[str, Any]]:
        """``sampledValue`` entries (OCPP 1.6 §7.45) for the meter as it is now."""
        power = self.power_w()
        values: list[dict[str, Any]] = [
            _sample(str(self.register), context, "Energy.Active.Import.Register", "Wh"),
            _sample(str(round(power)), context, "Power.Active.Import", "W"),
        ]
        if self.kind.is_dc:
            volts = self.voltage()
            values.append(_sample(f"{power / volts:.1f}", context, "Current.Import", "A"))
            values.append(_sample(f"{volts:.1f}", context, "Voltage", "V"))
        else:
            phases = ("L1", "L2", "L3")[: self.kind.phases]
            voltages = [self.voltage() for _ in phases]
            for phase, volts in zip(phases, voltages, strict=True):
                amps = power / self.kind.phases / volts
                values.append(_sample(f"{amps:.2f}", context, "Current.Import", "A", phase=phase))
            for phase, volts in zip(phases, voltages, strict=True):
                values.append(_sample(f"{volts:.1f}", context, "Voltage", "V", phase=f"{phase}-N"))
        if self.vehicle is not None:
            values.append(
                _sample(str(int(self.vehicle.soc)), context, "SoC", "Percent", location="EV")
            )
        return values


def _sample(
    value: str,
    context: str,
    measurand: str,
    unit: str,
    *,
    phase: str | None = None,
    location: str = "Outlet",
) -> dict[str, Any]:
    sample = {
        "value": value,
        "context": context,
        "measurand": measurand,
        "location": location,
        "unit": unit,
    }
    if phase is not None:
        sample["phase"] = phase
    return sample
