"""The fleet at a glance: counts per tenant and in total, each a link to the filtered list.

A handful of grouped queries whatever the fleet's size (no query per charge point or tenant):
the admin index polls this every few seconds.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Count, OuterRef, Q, Subquery, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from chargepoints.models import (
    ChargePoint,
    ChargePointStatus,
    Command,
    CommandStatus,
    Connector,
    RegistrationStatus,
    SecurityEvent,
)
from csms.alerts.models import Alert, AlertState
from csms.tenancy.models import Tenant
from csms.webhooks.models import Delivery, DeliveryStatus
from transactions.models import MeterValue, Transaction
from transactions.selectors import sampled_totals_of

ENERGY_REGISTER = "Energy.Active.Import.Register"
ACTIVE_POWER = "Power.Active.Import"
FAILING_COMMAND_STATUSES = (CommandStatus.FAILED, CommandStatus.TIMEOUT, CommandStatus.EXPIRED)
# Connector statuses in the order the tiles show them (OCPP 1.6 §7.7).
CONNECTOR_STATUSES = [choice.value for choice in ChargePointStatus]
RECENT = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Tile:
    key: str
    label: str
    value: str
    url: str
    # "bad" / "warn" colour a tile that needs someone's attention; "" is neutral.
    tone: str = ""


@dataclass(slots=True)
class FleetTiles:
    """The tiles of one tenant, or of the whole fleet (``tenant_id`` None)."""

    tenant_id: int | None
    name: str
    tiles: list[Tile] = field(default_factory=list)
    connector_tiles: list[Tile] = field(default_factory=list)

    def value_of(self, key: str) -> str:
        return next((t.value for t in [*self.tiles, *self.connector_tiles] if t.key == key), "")


@dataclass(slots=True)
class _Counts:
    charge_points: int = 0
    online: int = 0
    pending: int = 0
    faulted: int = 0
    unavailable: int = 0
    connectors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    live_sessions: int = 0
    live_energy_wh: float = 0.0
    live_power_w: float = 0.0
    energy_today_wh: int = 0
    energy_week_wh: int = 0
    failing_commands: int = 0
    security_events: int = 0
    webhook_backlog: int = 0
    open_alerts: int = 0

    def add(self, other: "_Counts") -> None:
        for name in self.__slots__:
            if name == "connectors":
                for status, n in other.connectors.items():
                    self.connectors[status] += n
            else:
                setattr(self, name, getattr(self, name) + getattr(other, name))


def fleet_tiles(*, now: datetime | None = None) -> list[FleetTiles]:
    """The whole fleet first, then every tenant by name."""
    now = now or timezone.now()
    tenants = list(Tenant.objects.order_by("name").values_list("pk", "name"))
    counts: dict[int, _Counts] = defaultdict(_Counts)
    _count_charge_points(counts)
    _count_connectors(counts)
    _count_sessions(counts, now=now)
    _count_trouble(counts, now=now)
    total = _Counts()
    for tenant_id, _name in tenants:
        total.add(counts[tenant_id])
    return [
        _tiles_of(None, "All tenants", total, now=now),
        *(_tiles_of(pk, name, counts[pk], now=now) for pk, name in tenants),
    ]


# --- Counting -------------------------------------------------------------------------------------


def _count_charge_points(counts: dict[int, _Counts]) -> None:
    rows = ChargePoint.objects.values("tenant_id").annotate(
        total=Count("pk"),
        online=Count("pk", filter=Q(connected=True)),
        pending=Count("pk", filter=Q(registration_status=RegistrationStatus.PENDING)),
    )
    for row in rows:
        c = counts[row["tenant_id"]]
        c.charge_points, c.online, c.pending = row["total"], row["online"], row["pending"]
    for status, attribute in (
        (ChargePointStatus.FAULTED, "faulted"),
        (ChargePointStatus.UNAVAILABLE, "unavailable"),
    ):
        per_tenant = (
            Connector.objects.filter(status=status)
            .values("charge_point__tenant_id")
            .annotate(n=Count("charge_point_id", distinct=True))
        )
        for faulty in per_tenant:
            setattr(counts[faulty["charge_point__tenant_id"]], attribute, faulty["n"])


def _count_connectors(counts: dict[int, _Counts]) -> None:
    # Connector 0 is the charge point itself (OCPP 1.6 §4.9), not a place to plug in.
    rows = (
        Connector.objects.filter(connector_id__gt=0)
        .values("charge_point__tenant_id", "status")
        .annotate(n=Count("pk"))
    )
    for row in rows:
        counts[row["charge_point__tenant_id"]].connectors[row["status"] or "unknown"] += row["n"]


def _latest(measurand: str, column: str) -> Subquery:
    return Subquery(
        MeterValue.objects.filter(sampled_totals_of(measurand), transaction=OuterRef("pk"))
        .order_by("-timestamp", "-id")
        .values(column)[:1]
    )


def _count_sessions(counts: dict[int, _Counts], *, now: datetime) -> None:
    live = Transaction.objects.filter(stopped_at__isnull=True).annotate(
        energy_value=_latest(ENERGY_REGISTER, "value"),
        energy_unit=_latest(ENERGY_REGISTER, "unit"),
        power_value=_latest(ACTIVE_POWER, "value"),
        power_unit=_latest(ACTIVE_POWER, "unit"),
    )
    for row in live.values(
        "tenant_id", "meter_start", "energy_value", "energy_unit", "power_value", "power_unit"
    ):
        c = counts[row["tenant_id"]]
        c.live_sessions += 1
        register = watts_or_watt_hours(row["energy_value"], row["energy_unit"])
        if register is not None:
            c.live_energy_wh += max(0.0, register - row["meter_start"])
        power = watts_or_watt_hours(row["power_value"], row["power_unit"])
        if power is not None:
            c.live_power_w += power
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    week = today - timedelta(days=today.weekday())
    # The energy the sessions are billed for (issue 15 §3: from the best evidence, never
    # negative), not meterStop - meterStart.
    ended = (
        Transaction.objects.filter(stopped_at__gte=week, energy_wh__isnull=False)
        .values("tenant_id")
        .annotate(
            week_wh=Sum("energy_wh"),
            today_wh=Sum("energy_wh", filter=Q(stopped_at__gte=today)),
        )
    )
    for totals in ended:
        c = counts[totals["tenant_id"]]
        c.energy_week_wh, c.energy_today_wh = totals["week_wh"] or 0, totals["today_wh"] or 0


def _count_trouble(counts: dict[int, _Counts], *, now: datetime) -> None:
    since = now - RECENT
    for row in (
        Command.objects.filter(status__in=FAILING_COMMAND_STATUSES, created_at__gte=since)
        .values("tenant_id")
        .annotate(n=Count("pk"))
    ):
        counts[row["tenant_id"]].failing_commands = row["n"]
    for row in (
        SecurityEvent.objects.filter(timestamp__gte=since)
        .values("tenant_id")
        .annotate(n=Count("pk"))
    ):
        counts[row["tenant_id"]].security_events = row["n"]
    for backlog in (
        Delivery.objects.filter(status=DeliveryStatus.PENDING)
        .values("endpoint__tenant_id")
        .annotate(n=Count("pk"))
    ):
        counts[backlog["endpoint__tenant_id"]].webhook_backlog = backlog["n"]
    for row in (
        Alert.objects.filter(state=AlertState.OPEN).values("tenant_id").annotate(n=Count("pk"))
    ):
        counts[row["tenant_id"]].open_alerts = row["n"]


def watts_or_watt_hours(value: str | None, unit: str | None) -> float | None:
    """A sampled value in W or Wh (OCPP 1.6 §7.45 UnitOfMeasure: W/kW, Wh/kWh); None when it is
    not a plain number (signed data) or in another unit."""
    if value is None:
        return None
    try:
        number = float(Decimal(value))
    except (InvalidOperation, ValueError):
        return None
    factor = {"W": 1.0, "Wh": 1.0, "kW": 1000.0, "kWh": 1000.0}.get(unit or "Wh")
    return None if factor is None else number * factor


# --- Tiles ----------------------------------------------------------------------------------------


def _changelist(model: str, tenant_id: int | None, tenant_param: str, **query: Any) -> str:
    if tenant_id is not None:
        query[tenant_param] = tenant_id
    url = reverse(f"admin:{model}_changelist")
    return f"{url}?{urlencode(query)}" if query else url


def kwh(wh: float) -> str:
    return f"{wh / 1000:.1f} kWh"


def _tiles_of(tenant_id: int | None, name: str, c: _Counts, *, now: datetime) -> FleetTiles:
    def cp(**query: Any) -> str:
        return _changelist("chargepoints_chargepoint", tenant_id, "tenant__id__exact", **query)

    def tx(**query: Any) -> str:
        return _changelist("transactions_transaction", tenant_id, "tenant__id__exact", **query)

    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    week = today - timedelta(days=today.weekday())
    since = (now - RECENT).replace(microsecond=0)
    result = FleetTiles(tenant_id=tenant_id, name=name)
    result.tiles = [
        Tile(
            "open_alerts",
            "open alerts",
            str(c.open_alerts),
            _changelist(
                "alerts_alert", tenant_id, "tenant__id__exact", state__exact=AlertState.OPEN
            ),
            _bad(c.open_alerts),
        ),
        Tile("online", "online", str(c.online), cp(connected__exact=1)),
        Tile(
            "offline",
            "offline",
            str(c.charge_points - c.online),
            cp(connected__exact=0),
            "warn" if c.charge_points - c.online else "",
        ),
        Tile("faulted", "faulted", str(c.faulted), cp(problem="faulted"), _bad(c.faulted)),
        Tile(
            "pending",
            "pending",
            str(c.pending),
            cp(registration_status__exact=RegistrationStatus.PENDING),
            "warn" if c.pending else "",
        ),
        Tile(
            "unavailable",
            "unavailable",
            str(c.unavailable),
            cp(problem="unavailable"),
            "warn" if c.unavailable else "",
        ),
        Tile("live_sessions", "live sessions", str(c.live_sessions), tx(state="active")),
        Tile("live_energy", "energy so far", kwh(c.live_energy_wh), tx(state="active")),
        Tile("live_power", "power now", f"{c.live_power_w / 1000:.1f} kW", tx(state="active")),
        Tile(
            "energy_today",
            "energy today",
            kwh(c.energy_today_wh),
            tx(stopped_at__gte=today.isoformat()),
        ),
        Tile(
            "energy_week",
            "energy this week",
            kwh(c.energy_week_wh),
            tx(stopped_at__gte=week.isoformat()),
        ),
        Tile(
            "failing_commands",
            "commands failing (24 h)",
            str(c.failing_commands),
            _changelist(
                "chargepoints_command",
                tenant_id,
                "charge_point__tenant__id__exact",
                status__in=",".join(FAILING_COMMAND_STATUSES),
                created_at__gte=since.isoformat(),
            ),
            _bad(c.failing_commands),
        ),
        Tile(
            "security_events",
            "security events (24 h)",
            str(c.security_events),
            _changelist(
                "chargepoints_securityevent",
                tenant_id,
                "tenant__id__exact",
                timestamp__gte=since.isoformat(),
            ),
            "warn" if c.security_events else "",
        ),
        Tile(
            "webhook_backlog",
            "webhook backlog",
            str(c.webhook_backlog),
            _changelist(
                "webhooks_delivery",
                tenant_id,
                "endpoint__tenant__id__exact",
                status__exact=DeliveryStatus.PENDING,
            ),
            "warn" if c.webhook_backlog else "",
        ),
    ]
    result.connector_tiles = [
        Tile(
            f"connectors_{status}",
            status,
            str(c.connectors.get(status, 0)),
            _changelist(
                "chargepoints_connector",
                tenant_id,
                "charge_point__tenant__id__exact",
                status__exact=status,
            ),
            _bad(c.connectors.get(status, 0)) if status == ChargePointStatus.FAULTED else "",
        )
        for status in CONNECTOR_STATUSES
    ]
    return result


def _bad(n: int) -> str:
    return "bad" if n else ""
