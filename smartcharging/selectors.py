"""Reads of the smartcharging app: composite schedules, site memberships and allocations."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import QuerySet
from django.utils import timezone

from chargepoints.models import ChargePoint, Connector
from smartcharging.composite import (
    ActiveTransaction,
    CompositeSchedule,
    Electrical,
    Profile,
    Purpose,
    RateUnit,
    composite_limit_at,
    composite_schedule,
    composite_total_schedule,
)
from smartcharging.models import (
    ChargingProfile,
    ChargingSite,
    ChargingSiteMembership,
    InstalledChargingProfile,
)
from smartcharging.payloads import composite_profile
from transactions.models import Transaction


def installed_profiles(
    *, charge_point: ChargePoint, connector_ids: tuple[int, ...] | None = None
) -> list[Profile]:
    """The profiles installed on ``charge_point`` (on ``connector_ids`` if given)."""
    rows = InstalledChargingProfile.objects.filter(charge_point=charge_point)
    if connector_ids is not None:
        rows = rows.filter(connector_id__in=connector_ids)
    return [
        composite_profile(cs_profile, connector_id=connector_id)
        for connector_id, cs_profile in rows.values_list("connector_id", "cs_charging_profiles")
    ]


def active_transaction(*, charge_point: ChargePoint, connector_id: int) -> ActiveTransaction | None:
    row = (
        Transaction.objects.filter(
            charge_point=charge_point, connector_id=connector_id, stopped_at=None
        )
        .values("pk", "started_at")
        .first()
    )
    return ActiveTransaction(row["pk"], row["started_at"]) if row else None


def charge_point_site(*, charge_point: ChargePoint) -> ChargingSite | None:
    membership = (
        ChargingSiteMembership.objects.filter(charge_point=charge_point)
        .select_related("site")
        .first()
    )
    return membership.site if membership else None


def site_electrical(site: ChargingSite | None) -> Electrical:
    if site is None:
        return Electrical()
    return Electrical(voltage=float(site.voltage), phases=site.phases)


def charge_point_composite_schedule(
    *,
    charge_point: ChargePoint,
    connector_id: int,
    duration: int,
    unit: RateUnit,
    start: datetime | None = None,
    electrical: Electrical | None = None,
) -> CompositeSchedule:
    """What we expect the charge point to allow on ``connector_id`` from ``start`` (now),
    computed from the profiles it accepted."""
    start = start or timezone.now().replace(microsecond=0)
    electrical = electrical or site_electrical(charge_point_site(charge_point=charge_point))
    if connector_id == 0:
        return composite_total_schedule(
            installed_profiles(charge_point=charge_point),
            transactions={
                connector: active_transaction(charge_point=charge_point, connector_id=connector)
                for connector in charge_point_connector_ids(charge_point=charge_point)
            },
            start=start,
            duration=duration,
            unit=unit,
            electrical=electrical,
        )
    return composite_schedule(
        installed_profiles(charge_point=charge_point, connector_ids=(0, connector_id)),
        connector_id=connector_id,
        start=start,
        duration=duration,
        unit=unit,
        transaction=active_transaction(charge_point=charge_point, connector_id=connector_id),
        electrical=electrical,
    )


def charge_point_connector_ids(*, charge_point: ChargePoint) -> list[int]:
    """Its connectors (not 0): those it reported a status for, or has profiles on."""
    reported = Connector.objects.filter(charge_point=charge_point, connector_id__gt=0)
    with_profiles = InstalledChargingProfile.objects.filter(
        charge_point=charge_point, connector_id__gt=0
    )
    return sorted(
        set(reported.values_list("connector_id", flat=True))
        | set(with_profiles.values_list("connector_id", flat=True))
    )


def charge_point_max_rate(
    *, charge_point: ChargePoint, unit: RateUnit, electrical: Electrical, at: datetime
) -> Decimal | None:
    """The ChargePointMaxProfile's limit in force at ``at`` (in ``unit``), if it has one."""
    profiles = [
        p
        for p in installed_profiles(charge_point=charge_point, connector_ids=(0,))
        if p.purpose == Purpose.CHARGE_POINT_MAX
    ]
    limit = composite_limit_at(profiles, at, connector_id=1, unit=unit, electrical=electrical).limit
    return None if limit is None else Decimal(repr(limit))


@dataclass(frozen=True, slots=True)
class SiteAllocation:
    charging_profile_id: int
    transaction_id: int
    charge_point: str
    connector_id: int
    limit: Decimal  # planned
    installed_limit: Decimal | None  # what the charge point accepted, if it did


def site_allocations(*, site: ChargingSite) -> list[SiteAllocation]:
    """The TxProfiles a site planned for its running sessions, and what is installed."""
    profiles = ChargingProfile.objects.filter(
        charging_site=site,
        charging_profile_purpose=Purpose.TX,
        transaction__stopped_at__isnull=True,
    ).select_related("transaction__charge_point")
    installed = dict(
        InstalledChargingProfile.objects.filter(profile__in=profiles).values_list(
            "profile_id", "cs_charging_profiles"
        )
    )
    allocations = []
    for profile in profiles:
        tx = profile.transaction
        accepted = installed.get(profile.pk)
        installed_limit = (
            Decimal(str(accepted["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"]))
            if accepted
            else None
        )
        allocations.append(
            SiteAllocation(
                charging_profile_id=profile.charging_profile_id,
                transaction_id=tx.pk,
                charge_point=tx.charge_point.identity,
                connector_id=tx.connector_id,
                limit=Decimal(str(profile.periods[0]["limit"])),
                installed_limit=installed_limit,
            )
        )
    return allocations


def site_active_transactions(*, site: ChargingSite) -> QuerySet[Transaction]:
    return Transaction.objects.filter(
        charge_point__charging_site_membership__site=site, stopped_at=None
    ).select_related("charge_point")
