"""What each charge point has installed, kept from its answers (never from our intentions)."""

from typing import Any

from django.db.models import Q
from django.utils import timezone

from csms.events import CommandCompleted
from csms.statements import rows_change, table
from smartcharging.composite import Purpose
from smartcharging.models import ChargingProfile, InstalledChargingProfile

ACCEPTED = "Accepted"


def installed_profile_record(*, command: CommandCompleted) -> InstalledChargingProfile | None:
    """A SetChargingProfile the charge point accepted."""
    if (command.response or {}).get("status") != ACCEPTED:
        return None
    return _installed_replace(
        command=command,
        connector_id=command.payload["connectorId"],
        cs_profile=command.payload["csChargingProfiles"],
    )


def installed_profile_from_remote_start(
    *, command: CommandCompleted
) -> InstalledChargingProfile | None:
    """A RemoteStartTransaction with a chargingProfile that the charge point accepted: it
    installs that TxProfile for the transaction it starts (OCPP 1.6 §5.11), so it counts as
    installed from now on, and ends with the session (``installed_profiles_forget_transaction``
    removes a connector's TxProfile without a transactionId). Without a connectorId the
    charge point picks the connector: nothing is recorded then, as we cannot say where."""
    cs_profile = command.payload.get("chargingProfile")
    connector_id = command.payload.get("connectorId")
    if (command.response or {}).get("status") != ACCEPTED or cs_profile is None:
        return None
    if not connector_id:
        return None
    return _installed_replace(command=command, connector_id=connector_id, cs_profile=cs_profile)


def _installed_replace(
    *, command: CommandCompleted, connector_id: int, cs_profile: dict[str, Any]
) -> InstalledChargingProfile:
    """The new profile replaces any with the same id on the charge point, or with the same
    purpose and stack level on the same connector (OCPP 1.6 §5.16.1)."""
    profile_id = cs_profile["chargingProfileId"]
    purpose, stack_level = cs_profile["chargingProfilePurpose"], cs_profile["stackLevel"]
    InstalledChargingProfile.objects.filter(charge_point_id=command.charge_point_id).filter(
        Q(charging_profile_id=profile_id)
        | Q(
            connector_id=connector_id,
            charging_profile_purpose=purpose,
            stack_level=stack_level,
        )
    ).delete()
    return InstalledChargingProfile.objects.create(
        tenant_id=command.tenant_id,
        charge_point_id=command.charge_point_id,
        connector_id=connector_id,
        charging_profile_id=profile_id,
        stack_level=stack_level,
        charging_profile_purpose=purpose,
        transaction_id=cs_profile.get("transactionId"),
        cs_charging_profiles=cs_profile,
        profile=ChargingProfile.objects.filter(
            tenant_id=command.tenant_id, charging_profile_id=profile_id
        ).first(),
        command_id=command.command_id,
        installed_at=command.completed_at or timezone.now(),
    )


def clear_criteria(payload: dict[str, Any]) -> Q:
    """The installed profiles a ClearChargingProfile.req names (OCPP 1.6 §5.4): the one with
    ``id`` if given, else all matching every criterion given (none given: all of them)."""
    if payload.get("id") is not None:
        return Q(charging_profile_id=payload["id"])
    criteria = Q()
    if payload.get("connectorId") is not None:
        criteria &= Q(connector_id=payload["connectorId"])
    if payload.get("chargingProfilePurpose") is not None:
        criteria &= Q(charging_profile_purpose=payload["chargingProfilePurpose"])
    if payload.get("stackLevel") is not None:
        criteria &= Q(stack_level=payload["stackLevel"])
    return criteria


def installed_profiles_forget_cleared(*, command: CommandCompleted) -> int:
    """A ClearChargingProfile the charge point accepted removes what it named."""
    if (command.response or {}).get("status") != ACCEPTED:
        return 0
    deleted, _ = (
        InstalledChargingProfile.objects.filter(charge_point_id=command.charge_point_id)
        .filter(clear_criteria(command.payload))
        .delete()
    )
    return deleted


def installed_profiles_forget_transaction(
    *, charge_point_id: int, connector_id: int, transaction_id: int
) -> int:
    """A TxProfile lives as long as its transaction (OCPP 1.6 §3.13.1): the charge point
    discards it when the transaction stops."""
    # A prepared statement: every StopTransaction runs it, and the ORM's delete (collector and
    # query) cost ten times the statement (nothing cascades from an installed profile).
    return rows_change(
        f"DELETE FROM {table(InstalledChargingProfile)} "  # noqa: S608
        "WHERE charge_point_id = %s AND connector_id = %s AND charging_profile_purpose = %s "
        "AND (transaction_id = %s OR transaction_id IS NULL)",
        [charge_point_id, connector_id, Purpose.TX.value, transaction_id],
    )
