"""The energy a session is billed for, from the best evidence (issue 15 §3). Pure: no ORM.

The order of evidence:

1. ``meterStop - meterStart``, when both are figures we trust (as sent, or only rounded by the
   compatibility layer) and the stop is not below the start;
2. otherwise the session's ``Energy.Active.Import.Register`` readings (Transaction.Begin,
   Sample.Periodic, Transaction.End, ...; Wh or kWh), walked in time order so that a meter that
   went backwards, a register that rolled over and a meter replaced mid-session each count what
   was really delivered;
3. otherwise nothing: ``energy_wh`` stays unknown (``None``), never a guess and never negative.

When both kinds of evidence exist and disagree by more than a tolerance the session is flagged
``energy_mismatch``: the figure billed is still the start/stop one (it is what the charger
signed off at the end), a human decides.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# What each reading of a register is worth to us; OCPP 1.6 §7.45 defaults.
ENERGY_REGISTER = "Energy.Active.Import.Register"
DEFAULT_UNIT = "Wh"
UNIT_FACTORS = {"Wh": Decimal(1), "kWh": Decimal(1000)}
# A register reading beyond this many Wh (a terawatt-hour) is not a meter's: ignored.
PLAUSIBLE_WH = Decimal(10) ** 12
INT64_MAX = 2**63 - 1

# Figures disagree when they differ by more than this: a meter's own resolution (kWh registers
# with one decimal move in 100 Wh steps), or 2 % of the energy for long sessions.
TOLERANCE_WH = Decimal(100)
TOLERANCE_SHARE = Decimal("0.02")

# A drop to below this share of the previous reading, with no rollover boundary near, is a new
# meter (replaced mid-session); a smaller drop is the same meter going backwards (a glitch, or a
# correction), and only energy above the highest reading seen counts again.
REPLACED_BELOW_SHARE = Decimal("0.1")
# Where registers roll over: decimal digit counts of a display, and binary counters.
_ROLLOVER_MODULI = sorted(
    {Decimal(10) ** digits for digits in range(3, 13)}
    | {Decimal(2) ** bits for bits in (16, 24, 31, 32, 40)}
)
# A reading within this share under a boundary, followed by one within it above zero, rolled.
_ROLLOVER_SHARE = Decimal("0.1")

# The flags this module sets (a recomputation drops the earlier ones first).
ENERGY_MISMATCH = "energy_mismatch"
REGISTER_WENT_BACKWARDS = "register_went_backwards"
REGISTER_ROLLOVER = "register_rollover"
METER_REPLACED = "meter_replaced"
ENERGY_FLAGS = frozenset(
    {ENERGY_MISMATCH, REGISTER_WENT_BACKWARDS, REGISTER_ROLLOVER, METER_REPLACED}
)

SOURCE_METER_STOP = "meter_stop"
SOURCE_REGISTER = "register"
SOURCE_NONE = "none"


TRANSACTION_BEGIN = "Transaction.Begin"
TRANSACTION_END = "Transaction.End"


@dataclass(frozen=True, slots=True)
class RegisterReading:
    timestamp: datetime
    wh: Decimal
    # The sampledValue's context (None: left out, Sample.Periodic by §7.45)
    context: str | None = None


@dataclass(frozen=True, slots=True)
class RegisterEnergy:
    """What the register readings say: energy delivered between the first and the last."""

    wh: Decimal
    first: Decimal
    last: Decimal
    anomalies: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EnergyChoice:
    energy_wh: int | None
    source: str
    flags: tuple[str, ...]


def reading_wh(value: str, unit: str | None) -> Decimal | None:
    """A register's sampled ``value`` in Wh, or None when it is no usable number (signed data,
    NaN, an unknown unit, a figure no meter shows)."""
    factor = UNIT_FACTORS.get(unit or DEFAULT_UNIT)
    if factor is None:
        return None
    try:
        number = Decimal(value.strip())
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite():
        return None
    wh = number * factor
    if abs(wh) > PLAUSIBLE_WH:
        return None
    return wh


def _rollover_modulus(previous: Decimal, current: Decimal) -> Decimal | None:
    """The boundary the register crossed going from ``previous`` down to ``current``, if it
    looks like one: ``previous`` just under it and ``current`` just above zero."""
    for modulus in _ROLLOVER_MODULI:
        if modulus > previous:
            near_top = previous >= modulus * (1 - _ROLLOVER_SHARE)
            near_zero = Decimal(0) <= current < modulus * _ROLLOVER_SHARE
            return modulus if near_top and near_zero else None
    return None


def register_energy(readings: Iterable[RegisterReading]) -> RegisterEnergy | None:
    """The energy the readings show, walked in time order (ties: in the order given); None with
    fewer than two readings."""
    ordered = sorted(readings, key=lambda r: r.timestamp)
    if len(ordered) < 2:
        return None
    total = Decimal(0)
    anomalies: list[str] = []
    # The highest reading of the current meter: after a glitch downwards, only what goes past it
    # is new energy.
    high = ordered[0].wh
    for reading in ordered[1:]:
        current = reading.wh
        if current >= high:
            total += current - high
            high = current
            continue
        modulus = _rollover_modulus(high, current)
        if modulus is not None:
            total += modulus - high + current
            high = current
            _note(anomalies, REGISTER_ROLLOVER)
        elif current < high * REPLACED_BELOW_SHARE:
            # A new meter counts from its own reading: nothing is known of the gap.
            high = current
            _note(anomalies, METER_REPLACED)
        else:
            _note(anomalies, REGISTER_WENT_BACKWARDS)
    return RegisterEnergy(total, ordered[0].wh, ordered[-1].wh, tuple(anomalies))


def _note(anomalies: list[str], flag: str) -> None:
    if flag not in anomalies:
        anomalies.append(flag)


def _tolerance(wh: Decimal) -> Decimal:
    return max(TOLERANCE_WH, abs(wh) * TOLERANCE_SHARE)


def _whole_wh(wh: Decimal) -> int:
    return min(int(wh.to_integral_value(rounding=ROUND_HALF_UP)), INT64_MAX)


def _disagree(
    *,
    meter_start: int,
    meter_stop: int,
    readings: Sequence[RegisterReading],
    registers: RegisterEnergy,
) -> bool:
    """Whether the register readings contradict ``meterStop - meterStart``: they saw more energy
    than it, or the meter's reading at the start (Transaction.Begin) or at the end
    (Transaction.End) is not the figure the start or stop carried. Fewer Wh in periodic samples
    is no contradiction (they need not span the session), nor is their absolute level: a
    register may count from another origin than meterStart."""
    energy = Decimal(meter_stop - meter_start)
    tolerance = _tolerance(energy)
    if registers.wh > energy + tolerance:
        return True
    ordered = sorted(readings, key=lambda r: r.timestamp)
    begin = next((r.wh for r in ordered if r.context == TRANSACTION_BEGIN), None)
    end = next((r.wh for r in reversed(ordered) if r.context == TRANSACTION_END), None)
    return (begin is not None and abs(begin - meter_start) > tolerance) or (
        end is not None and abs(end - meter_stop) > tolerance
    )


def session_energy(
    *,
    meter_start: int,
    meter_stop: int | None,
    readings: Sequence[RegisterReading],
    start_stop_trusted: bool = True,
) -> EnergyChoice:
    """The energy of a stopped session and the evidence it rests on.

    ``start_stop_trusted`` is False when the compatibility layer had to bring a figure into
    range (it is not what the meter said); a rounded figure is still the meter's."""
    registers = register_energy(readings)
    if start_stop_trusted and meter_stop is not None and 0 <= meter_start <= meter_stop:
        flags = (
            (ENERGY_MISMATCH,)
            if registers is not None
            and _disagree(
                meter_start=meter_start,
                meter_stop=meter_stop,
                readings=readings,
                registers=registers,
            )
            else ()
        )
        return EnergyChoice(meter_stop - meter_start, SOURCE_METER_STOP, flags)
    if registers is not None:
        return EnergyChoice(_whole_wh(registers.wh), SOURCE_REGISTER, registers.anomalies)
    return EnergyChoice(None, SOURCE_NONE, ())


def last_register_wh(readings: Sequence[RegisterReading]) -> int | None:
    """The latest reading, in whole Wh (a session closed without the charger's meterStop); None
    without one, or for a negative one (no meter's register)."""
    if not readings:
        return None
    latest = max(readings, key=lambda r: r.timestamp).wh
    return _whole_wh(latest) if latest >= 0 else None
