"""Small builders for composite-schedule inputs (plain dataclasses, no database)."""

from datetime import UTC, datetime, timedelta

from smartcharging.composite import (
    ActiveTransaction,
    Kind,
    Period,
    Profile,
    Purpose,
    RateUnit,
    Recurrency,
    Schedule,
)

T0 = datetime(2024, 5, 6, 8, 0, tzinfo=UTC)  # a Monday


def at(seconds: float = 0, *, base: datetime = T0) -> datetime:
    return base + timedelta(seconds=seconds)


def profile(
    *periods: tuple[int, float] | tuple[int, float, int],
    purpose: Purpose = Purpose.TX_DEFAULT,
    stack_level: int = 0,
    kind: Kind = Kind.ABSOLUTE,
    connector_id: int = 0,
    unit: RateUnit = RateUnit.AMPERE,
    start_schedule: datetime | None = T0,
    duration: int | None = None,
    recurrency_kind: Recurrency | None = None,
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
    transaction_id: int | None = None,
    charging_profile_id: int = 1,
) -> Profile:
    return Profile(
        charging_profile_id=charging_profile_id,
        stack_level=stack_level,
        purpose=purpose,
        kind=kind,
        connector_id=connector_id,
        recurrency_kind=recurrency_kind,
        valid_from=valid_from,
        valid_to=valid_to,
        transaction_id=transaction_id,
        schedule=Schedule(
            charging_rate_unit=unit,
            periods=tuple(Period(*p) for p in periods),
            duration=duration,
            start_schedule=None if kind == Kind.RELATIVE else start_schedule,
        ),
    )


def transaction(started_at: datetime = T0, transaction_id: int = 42) -> ActiveTransaction:
    return ActiveTransaction(transaction_id, started_at)
