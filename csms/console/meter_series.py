"""Power and energy over time from MeterValues, and a session's summary (issue 20 §2).

Only the totals are charted: the energy register and active power without a phase (OCPP 1.6
§7.45: a sampledValue without ``phase`` is the total of the meter). Values in kW/kWh are scaled to
W/Wh; signed data and other measurands are left out.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from csms.console.tiles import ACTIVE_POWER, ENERGY_REGISTER, watts_or_watt_hours
from transactions.models import MeterValue, Transaction
from transactions.selectors import sampled_totals_of

# A chart has a few hundred pixels: more points only cost bandwidth.
MAX_POINTS = 500


@dataclass(frozen=True, slots=True)
class SessionSummary:
    duration: timedelta
    energy_wh: float | None
    average_power_w: float | None
    peak_power_w: float | None

    @property
    def duration_text(self) -> str:
        """``2 d 3:04:05``: to the second, as an operator reads a session's length."""
        seconds = int(self.duration.total_seconds())
        days, rest = divmod(seconds, 86400)
        clock = f"{rest // 3600}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
        return f"{days} d {clock}" if days else clock

    @property
    def energy_kwh(self) -> float | None:
        return None if self.energy_wh is None else self.energy_wh / 1000


def _chartable(values: QuerySet[MeterValue]) -> QuerySet[MeterValue]:
    # A left-out measurand is the energy register (OCPP 1.6 §7.45 default).
    return values.filter(sampled_totals_of(ENERGY_REGISTER, ACTIVE_POWER)).order_by(
        "timestamp", "id"
    )


def _rows(values: QuerySet[MeterValue]) -> Any:
    return _chartable(values).values_list(
        "timestamp", Coalesce("measurand", Value(ENERGY_REGISTER)), "value", "unit"
    )


def _thin(points: list[dict[str, float]]) -> list[dict[str, float]]:
    if len(points) <= MAX_POINTS:
        return points
    step = len(points) / MAX_POINTS
    kept = [points[int(i * step)] for i in range(MAX_POINTS - 1)]
    return [*kept, points[-1]]  # the latest value is the one an operator looks for


def meter_series(
    values: Iterable[tuple[datetime, str, str, str]], *, energy_offset_wh: float = 0.0
) -> dict[str, list[dict[str, float]]]:
    """``{"power": [{x: ms since epoch, y: kW}], "energy": [{x, y: kWh}]}`` from rows of
    ``(timestamp, measurand, value, unit)``; the energy is counted from ``energy_offset_wh``
    (a session's meterStart) when given."""
    power: list[dict[str, float]] = []
    energy: list[dict[str, float]] = []
    for timestamp, measurand, value, unit in values:
        number = watts_or_watt_hours(value, unit)
        if number is None:
            continue
        x = timestamp.timestamp() * 1000
        if measurand == ACTIVE_POWER:
            power.append({"x": x, "y": round(number / 1000, 3)})
        else:
            energy.append({"x": x, "y": round((number - energy_offset_wh) / 1000, 3)})
    return {"power": _thin(power), "energy": _thin(energy)}


def transaction_meter_series(*, transaction: Transaction) -> dict[str, Any]:
    rows = _rows(MeterValue.objects.filter(transaction=transaction))
    return meter_series(rows, energy_offset_wh=transaction.meter_start)


def charge_point_meter_series(
    *, charge_point_id: int, hours: int = 6, now: datetime | None = None
) -> dict[str, Any]:
    """The charge point's last ``hours`` of readings, all connectors' sessions together."""
    since = (now or timezone.now()) - timedelta(hours=hours)
    rows = _rows(MeterValue.objects.filter(charge_point_id=charge_point_id, timestamp__gte=since))
    return meter_series(rows)


def session_summary(*, transaction: Transaction, now: datetime | None = None) -> SessionSummary:
    """Duration, energy so far (or in total), average and peak power of a session."""
    end = transaction.stopped_at or now or timezone.now()
    duration = max(end - transaction.started_at, timedelta(0))
    series = transaction_meter_series(transaction=transaction)
    if transaction.stopped_at is not None:
        # What the session is billed for (issue 15 §3), unknown when no evidence holds.
        energy_wh: float | None = (
            None if transaction.energy_wh is None else float(transaction.energy_wh)
        )
    elif series["energy"]:
        energy_wh = series["energy"][-1]["y"] * 1000
    else:
        energy_wh = None
    hours = duration.total_seconds() / 3600
    average = energy_wh / hours if energy_wh is not None and hours > 0 else None
    peak = max((p["y"] * 1000 for p in series["power"]), default=None)
    return SessionSummary(duration, energy_wh, average, peak)
