"""A charging profile checked against the charge point it goes to, before it is sent.

The limits come from the configuration mirror (smartcharging.charger_limits says which); one
the mirror does not hold yet is asked for once with GetConfiguration, queued ahead of the
profile, so the next profile is checked against the answer. The site's stack level is
reserved here too (smartcharging.services.sites explains the choice).
"""

from typing import Any

from django.db.models import Q
from django.db.models.functions import Lower

from chargepoints.commands.dispatch import command_dispatch
from chargepoints.models import ChargePoint, Command, CommandStatus, ConfigurationKey
from smartcharging.charger_limits import (
    LIMIT_KEYS,
    ChargerLimits,
    charger_limits_parse,
    profile_fitted,
    profiles_count_problem,
)
from smartcharging.composite import Electrical, Purpose
from smartcharging.models import ChargingProfile, ChargingSite, InstalledChargingProfile
from smartcharging.profile_rules import Problem
from smartcharging.selectors import charge_point_site, site_electrical

LIMITS_JOB = "smartcharging-limits"
# Asked already: on its way, or answered (a CALLERROR is an answer too: NotImplemented will
# not change by asking again). Only one that timed out or expired unsent is asked again.
_ANSWERED_OR_ON_ITS_WAY = (
    CommandStatus.QUEUED,
    CommandStatus.SENT,
    CommandStatus.COMPLETED,
    CommandStatus.FAILED,
)


def charger_limits_read(*, charge_point: ChargePoint) -> ChargerLimits:
    """The charge point's smart-charging limits as mirrored; the keys it never reported are
    asked for, once (a charge point that does not list them in its answer is not asked again;
    one whose GetConfiguration timed out is)."""
    rows = ConfigurationKey.objects.alias(key_lower=Lower("key")).filter(
        charge_point=charge_point, key_lower__in=[key.lower() for key in LIMIT_KEYS]
    )
    values: dict[str, str | None] = {}
    seen = set()
    for row in rows:
        seen.add(row.key.lower())
        if not row.unknown:
            values[row.key.lower()] = row.value
    missing = [key for key in LIMIT_KEYS if key.lower() not in seen]
    if missing and not (
        Command.objects.filter(
            charge_point=charge_point,
            action="GetConfiguration",
            requested_by_job=LIMITS_JOB,
            status__in=_ANSWERED_OR_ON_ITS_WAY,
        ).exists()
    ):
        command_dispatch(
            charge_point=charge_point,
            action="GetConfiguration",
            payload={"key": missing},
            requested_by_job=LIMITS_JOB,
        )
    return charger_limits_parse(values)


def charge_point_electrical(*, charge_point: ChargePoint) -> Electrical:
    """Volts and phases for W ↔ A: its site's, else the tenant's nominal voltage."""
    site = charge_point_site(charge_point=charge_point)
    if site is not None:
        return site_electrical(site)
    return Electrical(voltage=float(charge_point.tenant.nominal_voltage))


def site_stack_level(*, site: ChargingSite, limits: ChargerLimits) -> int:
    """The stack level the site's profiles use on a charge point: the highest it accepts, so
    that no TxProfile a tenant sends outranks the site's share (the site's own setting where
    the charge point has not told us its maximum)."""
    return limits.max_stack_level if limits.max_stack_level is not None else site.stack_level


def _site_owned(*, charge_point: ChargePoint, charging_profile_id: int) -> bool:
    return ChargingProfile.objects.filter(
        tenant_id=charge_point.tenant_id,
        charging_profile_id=charging_profile_id,
        charging_site__isnull=False,
    ).exists()


def profile_for_charge_point(
    *,
    charge_point: ChargePoint,
    connector_id: int,
    cs_profile: dict[str, Any],
    convert: bool,
) -> tuple[dict[str, Any], list[Problem]]:
    """``cs_profile`` as ``charge_point`` can take it on ``connector_id`` (``convert``: in the
    unit it allows), and why it cannot take it otherwise."""
    limits = charger_limits_read(charge_point=charge_point)
    fitted, problems = profile_fitted(
        cs_profile,
        limits=limits,
        electrical=charge_point_electrical(charge_point=charge_point),
        convert=convert,
    )
    profile_id = cs_profile.get("chargingProfileId")
    purpose, stack_level = cs_profile.get("chargingProfilePurpose"), cs_profile.get("stackLevel")
    installed = InstalledChargingProfile.objects.filter(charge_point=charge_point)
    replaces = installed.filter(
        Q(charging_profile_id=profile_id)
        | Q(connector_id=connector_id, charging_profile_purpose=purpose, stack_level=stack_level)
    ).exists()
    too_many = profiles_count_problem(installed=installed.count(), replaces=replaces, limits=limits)
    if too_many is not None:
        problems.append(too_many)
    site = charge_point_site(charge_point=charge_point)
    if (
        site is not None
        and purpose in (Purpose.TX, Purpose.TX_DEFAULT)
        and stack_level is not None
        and stack_level >= site_stack_level(site=site, limits=limits)
        and not _site_owned(charge_point=charge_point, charging_profile_id=profile_id or 0)
    ):
        problems.append(
            Problem(
                "stack_level",
                f"{stack_level} is reserved for the limits of site {site.name!r}: "
                f"use a stack level below {site_stack_level(site=site, limits=limits)}",
            )
        )
    return fitted, problems
