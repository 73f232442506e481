"""Composite charging schedules (OCPP 1.6 §3.13), as a pure function: no ORM, no clock.

The inputs are the profiles installed on a charge point (plain dataclasses), the connector, a
time window and, if one is running there, the connector's transaction. At every instant:

* per purpose, among the profiles *in force* at that instant (inside validFrom/validTo and inside
  their schedule), the one with the highest stack level wins (§3.13.2 "stacking": when a higher
  one's schedule has run out, the next lower one applies again);
* a TxProfile overrides the TxDefaultProfile (§3.13.1);
* the ChargePointMaxProfile caps the result (§3.13.1: "limits the power or current of the
  entire Charge Point").

A TxDefaultProfile installed on connector 0 is the default of every connector; one installed on
the connector itself wins a tie in stack level. Limits are converted to the requested unit
(P = U · I · phases) and rounded *down* to the 0.1 the OCPP schema allows, so a composite limit
never exceeds a limit it was computed from.
"""

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum


class Purpose(StrEnum):
    CHARGE_POINT_MAX = "ChargePointMaxProfile"
    TX_DEFAULT = "TxDefaultProfile"
    TX = "TxProfile"


class Kind(StrEnum):
    ABSOLUTE = "Absolute"
    RECURRING = "Recurring"
    RELATIVE = "Relative"


class Recurrency(StrEnum):
    DAILY = "Daily"
    WEEKLY = "Weekly"


class RateUnit(StrEnum):
    AMPERE = "A"
    WATT = "W"


RECURRENCE = {Recurrency.DAILY: timedelta(days=1), Recurrency.WEEKLY: timedelta(days=7)}
DEFAULT_VOLTAGE = 230.0
# OCPP 1.6 §7.13 ChargingSchedulePeriod.numberPhases: "When omitted, 3 phases is assumed."
DEFAULT_PHASES = 3
LIMIT_STEP = Decimal("0.1")


@dataclass(frozen=True, slots=True)
class Period:
    start_period: int  # seconds from the start of the schedule
    limit: float
    number_phases: int | None = None


@dataclass(frozen=True, slots=True)
class Schedule:
    charging_rate_unit: RateUnit
    periods: tuple[Period, ...]
    duration: int | None = None
    start_schedule: datetime | None = None
    min_charging_rate: float | None = None


@dataclass(frozen=True, slots=True)
class Profile:
    """A charging profile as installed on ``connector_id`` of a charge point."""

    charging_profile_id: int
    stack_level: int
    purpose: Purpose
    kind: Kind
    schedule: Schedule
    connector_id: int = 0
    recurrency_kind: Recurrency | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    transaction_id: int | None = None


@dataclass(frozen=True, slots=True)
class ActiveTransaction:
    transaction_id: int
    started_at: datetime


@dataclass(frozen=True, slots=True)
class Electrical:
    """How to convert between A and W: P = voltage · I · phases."""

    voltage: float = DEFAULT_VOLTAGE
    phases: int = DEFAULT_PHASES


@dataclass(frozen=True, slots=True)
class CompositePeriod:
    start_period: int
    limit: float | None  # None: no installed profile limits this period
    number_phases: int | None = None


@dataclass(frozen=True, slots=True)
class CompositeSchedule:
    connector_id: int
    start: datetime
    duration: int
    charging_rate_unit: RateUnit
    periods: tuple[CompositePeriod, ...]

    def limit_at(self, offset: float) -> float | None:
        """The composite limit ``offset`` seconds after ``start``."""
        current = self.periods[0]
        for period in self.periods:
            if period.start_period > offset:
                break
            current = period
        return current.limit


# --- Conversion -----------------------------------------------------------------------------


def convert_limit(
    limit: float,
    *,
    from_unit: RateUnit,
    to_unit: RateUnit,
    number_phases: int | None,
    electrical: Electrical,
) -> float:
    """``limit`` in ``to_unit`` (exact, unrounded)."""
    if from_unit == to_unit:
        return limit
    phases = number_phases or electrical.phases
    if from_unit == RateUnit.AMPERE:
        return limit * electrical.voltage * phases
    return limit / (electrical.voltage * phases)


def floor_to_step(value: float) -> float:
    """Round down to 0.1 (the schema's multipleOf), ignoring float noise below 1e-6."""
    denoised = Decimal(repr(value)).quantize(Decimal("0.000001"))
    return float(denoised.quantize(LIMIT_STEP, rounding=ROUND_FLOOR))


# --- One profile at one instant -------------------------------------------------------------


def _anchor(
    profile: Profile, *, transaction: ActiveTransaction | None, window_start: datetime
) -> datetime:
    """Where the schedule's period offsets count from."""
    if profile.kind != Kind.RELATIVE and profile.schedule.start_schedule is not None:
        return profile.schedule.start_schedule
    # Relative (and an Absolute profile without startSchedule, OCPP 1.6 §7.13: "If absent the
    # schedule will be relative to start of charging"): from the transaction's start, or, with
    # no transaction running, as if charging started at the window's start.
    return transaction.started_at if transaction is not None else window_start


def _recurrence(profile: Profile) -> timedelta | None:
    if profile.kind != Kind.RECURRING or profile.recurrency_kind is None:
        return None
    return RECURRENCE[profile.recurrency_kind]


def applies_to(
    profile: Profile, *, connector_id: int, transaction: ActiveTransaction | None
) -> bool:
    """Whether ``profile`` has a say on ``connector_id`` at all."""
    if profile.purpose == Purpose.CHARGE_POINT_MAX:
        return profile.connector_id == 0
    if connector_id == 0:
        return False  # connector 0 is the charge point as a whole: only its max profile
    if profile.purpose == Purpose.TX_DEFAULT:
        return profile.connector_id in (0, connector_id)
    # TxProfile: only for the connector's running transaction (OCPP 1.6 §3.13.1).
    if profile.connector_id != connector_id or transaction is None:
        return False
    return profile.transaction_id in (None, transaction.transaction_id)


def profile_period_at(
    profile: Profile,
    at: datetime,
    *,
    transaction: ActiveTransaction | None,
    window_start: datetime,
) -> Period | None:
    """The period of ``profile`` in force at ``at``, or None if the profile is not in force."""
    if profile.valid_from is not None and at < profile.valid_from:
        return None
    if profile.valid_to is not None and at >= profile.valid_to:
        return None
    offset = at - _anchor(profile, transaction=transaction, window_start=window_start)
    if offset < timedelta(0):
        return None
    recurrence = _recurrence(profile)
    if recurrence is not None:
        offset %= recurrence  # the schedule restarts at every recurrence
    schedule = profile.schedule
    if schedule.duration is not None and offset >= timedelta(seconds=schedule.duration):
        return None
    current = None
    for period in schedule.periods:
        if timedelta(seconds=period.start_period) > offset:
            break
        current = period
    return current


# --- The composite --------------------------------------------------------------------------


def _breakpoints(
    profile: Profile,
    *,
    transaction: ActiveTransaction | None,
    window_start: datetime,
    window_end: datetime,
) -> Iterator[datetime]:
    """Every instant in the window at which ``profile`` may change its say."""
    if profile.valid_from is not None:
        yield profile.valid_from
    if profile.valid_to is not None:
        yield profile.valid_to
    anchor = _anchor(profile, transaction=transaction, window_start=window_start)
    offsets = [timedelta(seconds=p.start_period) for p in profile.schedule.periods]
    if profile.schedule.duration is not None:
        offsets.append(timedelta(seconds=profile.schedule.duration))
    recurrence = _recurrence(profile)
    if recurrence is None:
        starts = [anchor]
    else:
        first = max(0, (window_start - anchor) // recurrence)
        last = max(0, (window_end - anchor) // recurrence + 1)
        starts = [anchor + k * recurrence for k in range(first, last + 1)]
    for start in starts:
        for offset in offsets:
            yield start + offset


def _winner(
    candidates: Iterable[Profile],
    at: datetime,
    *,
    transaction: ActiveTransaction | None,
    window_start: datetime,
) -> tuple[Profile, Period] | None:
    best: tuple[Profile, Period] | None = None
    for profile in candidates:
        period = profile_period_at(profile, at, transaction=transaction, window_start=window_start)
        if period is None:
            continue
        rank = (profile.stack_level, profile.connector_id != 0)
        if best is None or rank > (best[0].stack_level, best[0].connector_id != 0):
            best = (profile, period)
    return best


def composite_limit_at(
    profiles: Iterable[Profile],
    at: datetime,
    *,
    connector_id: int,
    unit: RateUnit,
    transaction: ActiveTransaction | None = None,
    electrical: Electrical = Electrical(),
    window_start: datetime | None = None,
    capped: bool = True,
) -> CompositePeriod:
    """The composite limit (unrounded, in ``unit``) at one instant; ``start_period`` is 0.
    ``capped=False`` leaves the ChargePointMaxProfile out (the connector's own say)."""
    window_start = window_start or at
    relevant = [
        p for p in profiles if applies_to(p, connector_id=connector_id, transaction=transaction)
    ]
    by_purpose = {purpose: [p for p in relevant if p.purpose == purpose] for purpose in Purpose}
    kwargs = {"transaction": transaction, "window_start": window_start}
    chosen = _winner(by_purpose[Purpose.TX], at, **kwargs) or _winner(
        by_purpose[Purpose.TX_DEFAULT], at, **kwargs
    )
    cap = _winner(by_purpose[Purpose.CHARGE_POINT_MAX], at, **kwargs) if capped else None
    best: CompositePeriod | None = None
    for winner in (chosen, cap):
        if winner is None:
            continue
        profile, period = winner
        limit = convert_limit(
            period.limit,
            from_unit=profile.schedule.charging_rate_unit,
            to_unit=unit,
            number_phases=period.number_phases,
            electrical=electrical,
        )
        if best is None or best.limit is None or limit < best.limit:
            best = CompositePeriod(0, limit, period.number_phases)
    return best or CompositePeriod(0, None)


def _instants(
    profiles: Iterable[Profile],
    *,
    transactions: dict[int, ActiveTransaction | None],
    start: datetime,
    end: datetime,
) -> list[datetime]:
    """The window's start and every instant in it at which one of ``profiles`` may change its
    say on one of the connectors (``transactions`` by connector)."""
    instants = {start}
    for profile in profiles:
        for connector_id, transaction in transactions.items():
            if not applies_to(profile, connector_id=connector_id, transaction=transaction):
                continue
            for moment in _breakpoints(
                profile, transaction=transaction, window_start=start, window_end=end
            ):
                if start <= moment < end:
                    instants.add(moment)
    return sorted(instants)


def _whole_second_periods(
    instants: list[datetime],
    limit_at: Callable[[datetime], CompositePeriod],
    *,
    start: datetime,
    duration: int,
) -> tuple[CompositePeriod, ...]:
    """Periods on whole seconds from ``start`` (OCPP startPeriod is an integer).

    A change between two whole seconds takes effect from the next whole second, and the
    second it falls in takes the lowest limit in force during that second: a TxProfile that
    starts half a second into the window (the charger's clock a little ahead) raises the limit
    from second 1, and a lower limit is never late. So the schedule never allows more than a
    profile does at any instant, and never less for longer than a second."""
    second = timedelta(seconds=1)
    offsets: set[int] = set()
    for moment in instants:
        exact = (moment - start) / second
        offsets.add(int(exact))
        if exact != int(exact) and int(exact) + 1 < duration:
            offsets.add(int(exact) + 1)
    periods: list[CompositePeriod] = []
    for offset in sorted(offsets):
        at = start + offset * second
        inside = instants[bisect_right(instants, at) : bisect_left(instants, at + second)]
        during = [limit_at(at), *(limit_at(moment) for moment in inside)]
        lowest = min(during, key=_limit_order)
        period = CompositePeriod(
            offset,
            None if lowest.limit is None else floor_to_step(lowest.limit),
            lowest.number_phases,
        )
        if periods and (periods[-1].limit, periods[-1].number_phases) == (
            period.limit,
            period.number_phases,
        ):
            continue
        periods.append(period)
    return tuple(periods)


def composite_schedule(
    profiles: Iterable[Profile],
    *,
    connector_id: int,
    start: datetime,
    duration: int,
    unit: RateUnit,
    transaction: ActiveTransaction | None = None,
    electrical: Electrical = Electrical(),
) -> CompositeSchedule:
    """The composite schedule of ``connector_id`` for ``duration`` seconds from ``start``
    (for connector 0, the charge point's total: :func:`composite_total_schedule`)."""
    if duration <= 0:
        raise ValueError("duration must be positive")
    end = start + timedelta(seconds=duration)
    relevant = [
        p for p in profiles if applies_to(p, connector_id=connector_id, transaction=transaction)
    ]

    def limit_at(moment: datetime) -> CompositePeriod:
        return composite_limit_at(
            relevant,
            moment,
            connector_id=connector_id,
            unit=unit,
            transaction=transaction,
            electrical=electrical,
            window_start=start,
        )

    instants = _instants(relevant, transactions={connector_id: transaction}, start=start, end=end)
    periods = _whole_second_periods(instants, limit_at, start=start, duration=duration)
    return CompositeSchedule(connector_id, start, duration, unit, periods)


def composite_total_schedule(
    profiles: Iterable[Profile],
    *,
    transactions: dict[int, ActiveTransaction | None],
    start: datetime,
    duration: int,
    unit: RateUnit,
    electrical: Electrical = Electrical(),
) -> CompositeSchedule:
    """Connector 0: the charge point's total expected draw (OCPP 1.6 §3.13.1, §5.7), the sum
    of its connectors' own limits (``transactions``: each connector and its running
    transaction) capped by the ChargePointMaxProfile. A connector nothing limits makes the
    sum unlimited, so only the ChargePointMaxProfile can bound the total then."""
    if duration <= 0:
        raise ValueError("duration must be positive")
    profiles = list(profiles)
    end = start + timedelta(seconds=duration)
    cap_only = [p for p in profiles if p.purpose == Purpose.CHARGE_POINT_MAX]

    def limit_at(moment: datetime) -> CompositePeriod:
        total: float | None = 0.0
        for connector_id, transaction in transactions.items():
            own = composite_limit_at(
                profiles,
                moment,
                connector_id=connector_id,
                unit=unit,
                transaction=transaction,
                electrical=electrical,
                window_start=start,
                capped=False,
            )
            total = None if total is None or own.limit is None else total + own.limit
        cap = composite_limit_at(
            cap_only, moment, connector_id=0, unit=unit, electrical=electrical, window_start=start
        )
        if not transactions:
            return cap
        if cap.limit is not None and (total is None or cap.limit < total):
            return cap
        return CompositePeriod(0, total)

    instants = _instants(profiles, transactions={0: None, **transactions}, start=start, end=end)
    periods = _whole_second_periods(instants, limit_at, start=start, duration=duration)
    return CompositeSchedule(0, start, duration, unit, periods)


def _limit_order(period: CompositePeriod) -> float:
    return float("inf") if period.limit is None else period.limit
