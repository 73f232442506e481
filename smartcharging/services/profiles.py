"""Charging profiles: create, change, delete, install (SetChargingProfile), clear.

Every install and clear goes through the command outbox; what a charge point has *installed*
changes only when it answers Accepted (smartcharging.services.installations).
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max

from chargepoints.commands.dispatch import command_dispatch
from chargepoints.models import ChargePoint, Command
from csms.ocpp import schemas
from csms.ocpp.errors import OcppError
from csms.tenancy.models import ApiToken, Tenant
from smartcharging.composite import Purpose
from smartcharging.models import ChargingProfile, InstalledChargingProfile
from smartcharging.payloads import set_charging_profile_payload
from smartcharging.profile_rules import Problem, charging_profile_problems, connector_problems
from smartcharging.services.charger_limits import profile_for_charge_point
from transactions.models import Transaction

ID_ATTEMPTS = 5
PROFILE_FIELDS = frozenset(
    {
        "charging_profile_id",
        "name",
        "stack_level",
        "charging_profile_purpose",
        "charging_profile_kind",
        "recurrency_kind",
        "valid_from",
        "valid_to",
        "transaction",
        "duration",
        "start_schedule",
        "charging_rate_unit",
        "periods",
        "min_charging_rate",
    }
)


@dataclass(frozen=True, slots=True)
class Requester:
    """Who asks, recorded on the commands sent on their behalf."""

    token: ApiToken | None = None
    user: User | None = None
    job: str = ""

    def dispatch(
        self, *, charge_point: ChargePoint, action: str, payload: dict[str, Any]
    ) -> Command:
        return command_dispatch(
            charge_point=charge_point,
            action=action,
            payload=payload,
            requested_by_token=self.token,
            requested_by_user=self.user,
            requested_by_job=self.job,
        )


# No token or user: the system itself (a job name is set where one applies).
SYSTEM = Requester()


def _invalid(problems: list[Problem]) -> ValidationError:
    errors: dict[str, list[str]] = {}
    for problem in problems:
        errors.setdefault(problem.field, []).append(problem.message)
    return ValidationError(errors)


def _normalised_periods(periods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "start_period": int(p["start_period"]),
            "limit": float(Decimal(str(p["limit"])).quantize(Decimal("0.1"))),
            "number_phases": p.get("number_phases"),
        }
        for p in periods
    ]


def charging_profile_validate(profile: ChargingProfile) -> None:
    """The official schema and the specification's rules, on the payload we would send."""
    connector_id = 0 if profile.charging_profile_purpose == Purpose.CHARGE_POINT_MAX else 1
    payload = set_charging_profile_payload(profile=profile, connector_id=connector_id)
    if payload["csChargingProfiles"]["chargingProfileId"] is None:
        payload["csChargingProfiles"]["chargingProfileId"] = 1  # allocated when saved
    problems = charging_profile_problems(payload["csChargingProfiles"], strict=True)
    if problems:
        raise _invalid(problems)
    try:
        schemas.validate("SetChargingProfile", payload)
    except OcppError as exc:
        raise ValidationError({"non_field_errors": [exc.description]}) from exc
    if profile.charging_profile_purpose == Purpose.TX:
        if profile.transaction is None:
            raise _invalid([Problem("transaction_id", "a TxProfile needs an active transaction")])
        if profile.transaction.tenant_id != profile.tenant_id:
            raise _invalid([Problem("transaction_id", "no such transaction")])
        if not profile.transaction.active:
            raise _invalid(
                [Problem("transaction_id", f"transaction {profile.transaction.pk} has ended")]
            )


def charging_profile_next_id(*, tenant: Tenant) -> int:
    highest = ChargingProfile.objects.filter(tenant=tenant).aggregate(Max("charging_profile_id"))
    return (highest["charging_profile_id__max"] or 0) + 1


def charging_profile_save_new(profile: ChargingProfile) -> None:
    """Save a new profile under the next free chargingProfileId, retrying if another request
    took it meanwhile (the unique constraint decides)."""
    for attempt in range(ID_ATTEMPTS):
        profile.charging_profile_id = charging_profile_next_id(tenant=profile.tenant)
        try:
            with transaction.atomic():
                profile.save()
            return
        except IntegrityError:
            if attempt == ID_ATTEMPTS - 1:
                raise


def active_transaction_on(*, charge_point: ChargePoint, connector_id: int) -> Transaction | None:
    return Transaction.objects.filter(
        charge_point=charge_point, connector_id=connector_id, stopped_at=None
    ).first()


def charging_profile_create(
    *,
    tenant: Tenant,
    fields: dict[str, Any],
    install_on: tuple[ChargePoint, int] | None = None,
    requester: Requester = SYSTEM,
) -> tuple[ChargingProfile, Command | None]:
    """Create a profile and, with ``install_on=(charge_point, connector_id)``, install it.

    A TxProfile needs an active transaction: the one named, or the one running on the
    connector it is installed on (OCPP 1.6 §3.13.1).
    """
    unknown = set(fields) - PROFILE_FIELDS
    if unknown:
        raise ValueError(f"not profile fields: {sorted(unknown)}")
    profile = ChargingProfile(tenant=tenant, **{**fields, "charging_profile_id": None})
    profile.periods = _normalised_periods(profile.periods)
    if (
        profile.charging_profile_purpose == Purpose.TX
        and profile.transaction is None
        and install_on is not None
    ):
        profile.transaction = active_transaction_on(
            charge_point=install_on[0], connector_id=install_on[1]
        )
        if profile.transaction is None:
            raise _invalid(
                [Problem("install.connector_id", "no transaction is active on this connector")]
            )
    charging_profile_validate(profile)
    if fields.get("charging_profile_id") is None:
        charging_profile_save_new(profile)
    else:
        profile.charging_profile_id = fields["charging_profile_id"]
        try:
            with transaction.atomic():
                profile.save()
        except IntegrityError:
            raise _invalid(
                [Problem("charging_profile_id", "a profile with this id exists")]
            ) from None
    command = None
    if install_on is not None:
        command = charging_profile_install(
            profile=profile,
            charge_point=install_on[0],
            connector_id=install_on[1],
            requester=requester,
        )
    return profile, command


def charging_profile_update(
    *, profile: ChargingProfile, fields: dict[str, Any], requester: Requester = SYSTEM
) -> tuple[ChargingProfile, list[Command]]:
    """Change a profile and send it again wherever it is installed (same id: it replaces)."""
    if "charging_profile_id" in fields and fields["charging_profile_id"] != (
        profile.charging_profile_id
    ):
        raise _invalid([Problem("charging_profile_id", "cannot be changed")])
    _refuse_site_managed(profile)
    for name, value in fields.items():
        if name not in PROFILE_FIELDS:
            raise ValueError(f"not a profile field: {name}")
        setattr(profile, name, value)
    profile.periods = _normalised_periods(profile.periods)
    charging_profile_validate(profile)
    profile.save()
    return profile, _reinstall(profile=profile, requester=requester)


def _reinstall(*, profile: ChargingProfile, requester: Requester) -> list[Command]:
    installations = InstalledChargingProfile.objects.filter(profile=profile).select_related(
        "charge_point"
    )
    return [
        charging_profile_install(
            profile=profile,
            charge_point=installed.charge_point,
            connector_id=installed.connector_id,
            requester=requester,
        )
        for installed in installations
    ]


def _refuse_site_managed(profile: ChargingProfile) -> None:
    if profile.charging_site_id is not None:
        raise ValidationError(
            {"non_field_errors": ["This profile is managed by its charging site."]}
        )


def charging_profile_delete(
    *, profile: ChargingProfile, requester: Requester = SYSTEM
) -> list[Command]:
    """Delete a profile; ClearChargingProfile (by id) goes to every charge point that has it.

    What is installed stays recorded (without the link to the deleted profile) until each
    charge point confirms the clear.
    """
    _refuse_site_managed(profile)
    charge_points = ChargePoint.objects.filter(
        installed_charging_profiles__profile=profile
    ).distinct()
    commands = [
        charging_profile_clear(
            charge_point=charge_point,
            charging_profile_id=profile.charging_profile_id,
            requester=requester,
        )
        for charge_point in charge_points
    ]
    profile.delete()
    return commands


def charging_profile_install(
    *,
    profile: ChargingProfile,
    charge_point: ChargePoint,
    connector_id: int,
    requester: Requester = SYSTEM,
) -> Command:
    """Send SetChargingProfile for ``profile`` to ``connector_id`` of ``charge_point``."""
    if charge_point.tenant_id != profile.tenant_id:
        raise ValueError("profile and charge point belong to different tenants")
    problems = connector_problems(
        purpose=profile.charging_profile_purpose, connector_id=connector_id
    )
    if problems:
        raise _invalid(problems)
    if profile.charging_profile_purpose == Purpose.TX:
        active = active_transaction_on(charge_point=charge_point, connector_id=connector_id)
        if active is None:
            raise _invalid([Problem("connector_id", "no transaction is active on this connector")])
        if profile.transaction_id != active.pk:
            raise _invalid(
                [
                    Problem(
                        "connector_id",
                        f"the active transaction here is {active.pk}, "
                        f"the profile is for {profile.transaction_id}",
                    )
                ]
            )
    payload = set_charging_profile_payload(profile=profile, connector_id=connector_id)
    # In the unit the charge point takes; refused with the reason where it cannot take it.
    payload["csChargingProfiles"], problems = profile_for_charge_point(
        charge_point=charge_point,
        connector_id=connector_id,
        cs_profile=payload["csChargingProfiles"],
        convert=True,
    )
    if problems:
        raise _invalid(problems)
    return requester.dispatch(
        charge_point=charge_point, action="SetChargingProfile", payload=payload
    )


def charging_profile_clear(
    *,
    charge_point: ChargePoint,
    charging_profile_id: int | None = None,
    connector_id: int | None = None,
    purpose: str | None = None,
    stack_level: int | None = None,
    requester: Requester = SYSTEM,
) -> Command:
    """Send ClearChargingProfile: one profile by id, or every one matching the criteria."""
    criteria: dict[str, Any] = {
        "id": charging_profile_id,
        "connectorId": connector_id,
        "chargingProfilePurpose": purpose,
        "stackLevel": stack_level,
    }
    return requester.dispatch(
        charge_point=charge_point,
        action="ClearChargingProfile",
        payload={key: value for key, value in criteria.items() if value is not None},
    )
