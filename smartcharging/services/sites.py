"""Charging sites: members, and the fair shares of their limit pushed as TxProfiles.

Where the shares go: a TxProfile per session at the highest stack level the charge point
accepts (its ChargeProfileMaxStackLevel; the site's ``stack_level`` until it told us), a level
the API refuses to tenants' own TxProfiles on site members, so no profile a tenant sends can
outrank or replace the site's share by accident (OCPP 1.6 §3.13.2: the highest stack level
wins). Not a ChargePointMaxProfile: that caps the charge point as a whole, equally whether one
or all of its connectors charge, while the shares are per session. Each member also holds a
TxDefaultProfile at that level with the site's ``session_default_rate``: a session is capped
from its first second, before the rebalance its start requested has sent its share.

A transaction starting or stopping at a site *requests* a rebalance (inside its database
transaction); after commit a Celery task runs it a moment later. Requests are debounced: each
bumps the site's generation and a task only works for the newest one, so a burst of starts
costs one rebalance. A rebalance is idempotent: it computes the shares from the sessions running
now and sends SetChargingProfile only where the charge point has not already accepted (or been
sent) exactly that profile.
"""

import logging
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from chargepoints.models import ChargePoint, Command, CommandStatus
from csms.statements import rows_select, table
from csms.tenancy.models import Tenant
from smartcharging.composite import Electrical, Kind, Purpose, RateUnit
from smartcharging.fair_share import ShareRequest, fair_shares
from smartcharging.models import (
    ChargingProfile,
    ChargingSite,
    ChargingSiteMembership,
    InstalledChargingProfile,
)
from smartcharging.payloads import set_charging_profile_payload
from smartcharging.selectors import charge_point_max_rate, site_active_transactions, site_electrical
from smartcharging.services.charger_limits import (
    charger_limits_read,
    profile_for_charge_point,
    site_stack_level,
)
from smartcharging.services.profiles import (
    SYSTEM,
    Requester,
    charging_profile_clear,
    charging_profile_save_new,
)
from smartcharging.services.rejections import site_sessions_given_up
from transactions.models import Transaction

logger = logging.getLogger(__name__)

# Seconds between a transaction starting/stopping and the rebalance it triggers: a burst of
# starts (a fleet plugging in) is handled once, and the charge point has had its
# StartTransaction.conf (and so knows the transactionId) before its TxProfile arrives.
DEFAULT_REBALANCE_DELAY_SECONDS = 2.0
SITE_FIELDS = frozenset(
    {
        "name",
        "limit_unit",
        "limit",
        "min_rate",
        "connector_max_rate",
        "session_default_rate",
        "phases",
        "voltage",
        "stack_level",
    }
)
PENDING = (CommandStatus.QUEUED, CommandStatus.SENT)


def _rebalance_delay() -> float:
    return getattr(
        settings, "SMARTCHARGING_REBALANCE_DELAY_SECONDS", DEFAULT_REBALANCE_DELAY_SECONDS
    )


# --- The site itself ----------------------------------------------------------------------------


def _set_members(*, site: ChargingSite, charge_points: list[ChargePoint]) -> None:
    taken = (
        ChargingSiteMembership.objects.filter(charge_point__in=charge_points)
        .exclude(site=site)
        .select_related("charge_point", "site")
    )
    if taken:
        names = ", ".join(f"{m.charge_point.identity} ({m.site.name})" for m in taken)
        raise ValidationError({"charge_points": [f"already in another site: {names}"]})
    if any(cp.tenant_id != site.tenant_id for cp in charge_points):
        raise ValueError("charge points of another tenant")
    ChargingSiteMembership.objects.filter(site=site).exclude(
        charge_point__in=charge_points
    ).delete()
    ChargingSiteMembership.objects.bulk_create(
        [ChargingSiteMembership(site=site, charge_point=cp) for cp in charge_points],
        ignore_conflicts=True,
    )


def charging_site_create(
    *, tenant: Tenant, fields: dict[str, Any], charge_points: list[ChargePoint]
) -> ChargingSite:
    site = ChargingSite(tenant=tenant, **_site_fields(fields))
    site.full_clean(exclude=["tenant"])
    site.save()
    _set_members(site=site, charge_points=charge_points)
    charging_site_rebalance_request(site_id=site.pk)
    return site


def charging_site_update(
    *,
    site: ChargingSite,
    fields: dict[str, Any],
    charge_points: list[ChargePoint] | None = None,
) -> ChargingSite:
    for name, value in _site_fields(fields).items():
        setattr(site, name, value)
    site.full_clean(exclude=["tenant"])
    site.save()
    if charge_points is not None:
        _set_members(site=site, charge_points=charge_points)
    charging_site_rebalance_request(site_id=site.pk)
    return site


def charging_site_delete(*, site: ChargingSite, requester: Requester = SYSTEM) -> list[Command]:
    """Delete a site and lift the limits it set on sessions still running and the default it
    set on its members."""
    default = _default_profile(site)
    commands = [
        charging_profile_clear(
            charge_point=membership.charge_point,
            charging_profile_id=default.charging_profile_id,
            requester=requester,
        )
        for membership in site.memberships.select_related("charge_point")
        if default is not None
    ]
    commands += [
        charging_profile_clear(
            charge_point=profile.transaction.charge_point,
            charging_profile_id=profile.charging_profile_id,
            requester=requester,
        )
        for profile in ChargingProfile.objects.filter(
            charging_site=site, transaction__isnull=False, transaction__stopped_at__isnull=True
        ).select_related("transaction__charge_point")
        if profile.transaction is not None
    ]
    site.delete()
    return commands


def _site_fields(fields: dict[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - SITE_FIELDS
    if unknown:
        raise ValueError(f"not site fields: {sorted(unknown)}")
    return fields


# --- Requests (debounce) ------------------------------------------------------------------------


def charging_site_rebalance_request(*, site_id: int) -> None:
    """Ask for a rebalance after the current transaction commits (call inside it)."""
    ChargingSite.objects.filter(pk=site_id).update(
        rebalance_generation=F("rebalance_generation") + 1, rebalance_requested_at=timezone.now()
    )
    # robust: a broker hiccup must not turn a stored StartTransaction into an error answer;
    # the periodic sweep picks the request up.
    transaction.on_commit(partial(_enqueue_rebalance, site_id), robust=True)


def charging_site_rebalance_request_for(*, charge_point_id: int) -> None:
    # Every StartTransaction and StopTransaction asks: a prepared statement (csms.statements),
    # at most one row (one site per charge point).
    found = rows_select(
        f"SELECT site_id FROM {table(ChargingSiteMembership)} WHERE charge_point_id = %s",  # noqa: S608
        [charge_point_id],
    )
    if found:
        charging_site_rebalance_request(site_id=found[0][0])


def _enqueue_rebalance(site_id: int) -> None:
    from smartcharging.tasks import rebalance_site  # tasks import this module

    generation = (
        ChargingSite.objects.filter(pk=site_id)
        .values_list("rebalance_generation", flat=True)
        .first()
    )
    if generation is not None:
        rebalance_site.apply_async((site_id, generation), countdown=_rebalance_delay())


def charging_sites_rebalance_overdue(*, older_than: timedelta) -> int:
    """Run requests whose task was lost (broker down, worker restarted)."""
    overdue = ChargingSite.objects.filter(
        rebalanced_generation__lt=F("rebalance_generation"),
        rebalance_requested_at__lt=timezone.now() - older_than,
    ).values_list("pk", flat=True)
    count = 0
    for site_id in list(overdue):
        charging_site_rebalance(site_id=site_id)
        count += 1
    return count


# --- The rebalance ------------------------------------------------------------------------------


def _own_limit(
    *,
    site: ChargingSite,
    charge_point: ChargePoint,
    unit: RateUnit,
    electrical: Electrical,
    at: datetime,
) -> Decimal | None:
    """The most a connector of ``charge_point`` can take: the site's per-connector limit and
    the charge point's own ChargePointMaxProfile, whichever is lower."""
    limits = [
        limit
        for limit in (
            site.connector_max_rate,
            charge_point_max_rate(
                charge_point=charge_point, unit=unit, electrical=electrical, at=at
            ),
        )
        if limit is not None
    ]
    return min(limits) if limits else None


def charging_site_rebalance(*, site_id: int, generation: int | None = None) -> list[Command]:
    """Share the site's limit among its running sessions and push what changed."""
    with transaction.atomic():
        site = ChargingSite.objects.select_for_update().filter(pk=site_id).first()
        if site is None:
            return []
        if generation is not None and generation < site.rebalance_generation:
            return []  # debounced: the task of a newer request follows
        now = timezone.now()
        unit, electrical = RateUnit(site.limit_unit), site_electrical(site)
        running = list(site_active_transactions(site=site))
        # A session whose share its charge point refused for good runs on the site's default;
        # the others share what that leaves.
        given_up = site_sessions_given_up(tenant_id=site.tenant_id, charging_site_id=site.pk)
        sessions = [tx for tx in running if tx.pk not in given_up]
        capacity = max(
            Decimal(0), site.limit - _default_rate(site) * (len(running) - len(sessions))
        )
        commands = _push_defaults(site=site)
        own_limits: dict[int, Decimal | None] = {}
        for tx in sessions:
            if tx.charge_point_id not in own_limits:
                own_limits[tx.charge_point_id] = _own_limit(
                    site=site,
                    charge_point=tx.charge_point,
                    unit=unit,
                    electrical=electrical,
                    at=now,
                )
        shares = fair_shares(
            capacity=capacity,
            min_rate=site.min_rate,
            requests=[
                ShareRequest(tx.pk, tx.started_at, own_limits[tx.charge_point_id])
                for tx in sessions
            ],
        )
        commands += _retire_profiles(site=site, running=running)
        current = {
            profile.transaction_id: profile
            for profile in ChargingProfile.objects.filter(
                charging_site=site, transaction__in=sessions
            )
        }

        def change(tx: Transaction) -> Decimal:
            profile = current.get(tx.pk)
            before = Decimal(str(profile.periods[0]["limit"])) if profile else Decimal(0)
            return shares[tx.pk] - before

        # Lower limits go out before higher ones, so the site is not overdrawn in between.
        for tx in sorted(sessions, key=change):
            command = _push_share(site=site, tx=tx, limit=shares[tx.pk], profile=current.get(tx.pk))
            if command is not None:
                commands.append(command)
        site.rebalanced_generation = site.rebalance_generation
        site.rebalanced_at = now
        site.save(update_fields=["rebalanced_generation", "rebalanced_at"])
    logger.info(
        "site %s rebalanced: %d sessions, %d commands", site_id, len(sessions), len(commands)
    )
    return commands


def _retire_profiles(*, site: ChargingSite, running: list[Transaction]) -> list[Command]:
    """Forget the profiles of ended sessions (the charge point discarded them) and clear the
    ones of sessions whose charge point left the site."""
    shares = ChargingProfile.objects.filter(charging_site=site, charging_profile_purpose=Purpose.TX)
    shares.filter(transaction__stopped_at__isnull=False).delete()
    shares.filter(transaction__isnull=True).delete()
    left = shares.exclude(transaction__in=running)
    commands = [
        charging_profile_clear(
            charge_point=profile.transaction.charge_point,
            charging_profile_id=profile.charging_profile_id,
            requester=Requester(job=f"charging-site:{site.pk}"),
        )
        for profile in left.select_related("transaction__charge_point")
        if profile.transaction is not None
    ]
    left.delete()
    return commands


def _default_rate(site: ChargingSite) -> Decimal:
    return site.session_default_rate if site.session_default_rate is not None else site.min_rate


def _default_profile(site: ChargingSite) -> ChargingProfile | None:
    return ChargingProfile.objects.filter(
        charging_site=site, charging_profile_purpose=Purpose.TX_DEFAULT
    ).first()


def _push_defaults(*, site: ChargingSite) -> list[Command]:
    """Every member holds the site's TxDefaultProfile (connector 0: all its connectors): a
    session starts capped at the default, not unlimited, until its share arrives."""
    periods = [
        {"start_period": 0, "limit": float(_default_rate(site)), "number_phases": site.phases}
    ]
    profile = _default_profile(site)
    if profile is None:
        profile = ChargingProfile(
            tenant=site.tenant,
            charging_site=site,
            name=f"{site.name}: session default",
            stack_level=site.stack_level,
            charging_profile_purpose=Purpose.TX_DEFAULT,
            # Relative: counted from each session's start, no end.
            charging_profile_kind=Kind.RELATIVE,
            charging_rate_unit=site.limit_unit,
            periods=periods,
        )
        charging_profile_save_new(profile)
    elif (profile.periods, profile.charging_rate_unit) != (periods, site.limit_unit):
        profile.periods, profile.charging_rate_unit = periods, site.limit_unit
        profile.save(update_fields=["periods", "charging_rate_unit", "updated_at"])
    commands = []
    for charge_point in ChargePoint.objects.filter(charging_site_membership__site=site):
        command = _push(site=site, charge_point=charge_point, profile=profile, connector_id=0)
        if command is not None:
            commands.append(command)
    return commands


def _push(
    *, site: ChargingSite, charge_point: ChargePoint, profile: ChargingProfile, connector_id: int
) -> Command | None:
    """Send ``profile`` at the site's stack level on this charge point, in the unit it takes,
    unless it has it already (or it is on its way)."""
    limits = charger_limits_read(charge_point=charge_point)
    profile.stack_level = site_stack_level(site=site, limits=limits)
    payload = set_charging_profile_payload(profile=profile, connector_id=connector_id)
    payload["csChargingProfiles"], problems = profile_for_charge_point(
        charge_point=charge_point,
        connector_id=connector_id,
        cs_profile=payload["csChargingProfiles"],
        convert=True,
    )
    if problems:
        logger.warning(
            "site %s: %s cannot take profile %s: %s",
            site.pk,
            charge_point.identity,
            profile.charging_profile_id,
            "; ".join(map(str, problems)),
        )
        return None
    if _already_sent(charge_point=charge_point, payload=payload):
        return None
    return Requester(job=f"charging-site:{site.pk}").dispatch(
        charge_point=charge_point, action="SetChargingProfile", payload=payload
    )


def _push_share(
    *, site: ChargingSite, tx: Transaction, limit: Decimal, profile: ChargingProfile | None
) -> Command | None:
    periods = [{"start_period": 0, "limit": float(limit), "number_phases": site.phases}]
    if profile is None:
        profile = ChargingProfile(
            tenant_id=site.tenant_id,
            charging_site=site,
            transaction=tx,
            name=f"{site.name}: transaction {tx.pk}",
            stack_level=site.stack_level,
            charging_profile_purpose=Purpose.TX,
            # Relative, one period, no duration: the limit holds for the whole session.
            charging_profile_kind=Kind.RELATIVE,
            charging_rate_unit=site.limit_unit,
            periods=periods,
        )
        profile.tenant = site.tenant
        charging_profile_save_new(profile)
    elif (profile.periods, profile.charging_rate_unit) != (periods, site.limit_unit):
        profile.periods = periods
        profile.charging_rate_unit = site.limit_unit
        profile.save(update_fields=["periods", "charging_rate_unit", "updated_at"])
    command = _push(
        site=site, charge_point=tx.charge_point, profile=profile, connector_id=tx.connector_id
    )
    stack_level = profile.stack_level  # the level _push sent it at, on this charge point
    ChargingProfile.objects.filter(pk=profile.pk).exclude(stack_level=stack_level).update(
        stack_level=stack_level
    )
    return command


def _already_sent(*, charge_point: ChargePoint, payload: dict[str, Any]) -> bool:
    """The charge point has accepted exactly this, or it is the last one on its way.

    Only the newest command for the profile counts: an older one still queued would be
    overwritten by whatever was queued after it.
    """
    cs_profile = payload["csChargingProfiles"]
    profile_id = cs_profile["chargingProfileId"]
    latest = (
        Command.objects.filter(
            charge_point=charge_point,
            action="SetChargingProfile",
            payload__csChargingProfiles__chargingProfileId=profile_id,
        )
        .order_by("-id")
        .values("status", "payload")
        .first()
    )
    if latest is not None and latest["status"] in PENDING:
        return bool(latest["payload"] == payload)
    installed = InstalledChargingProfile.objects.filter(
        charge_point=charge_point,
        connector_id=payload["connectorId"],
        charging_profile_id=profile_id,
    ).values_list("cs_charging_profiles", flat=True)
    return any(accepted == cs_profile for accepted in installed)
