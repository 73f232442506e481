"""The upgrade API's and admin's one call: raise a charge point's security profile."""

from django.contrib.auth.models import User

from chargepoints.commands.dispatch import command_dispatch
from chargepoints.models import ChargePoint, Command
from chargepoints.security.profile_upgrades import SECURITY_PROFILE_KEY
from csms.tenancy.models import ApiToken


def security_profile_upgrade(
    *,
    charge_point: ChargePoint,
    profile: int,
    requested_by_user: User | None = None,
    requested_by_token: ApiToken | None = None,
) -> Command:
    """ChangeConfiguration(SecurityProfile) through the outbox; ``command_dispatch`` checks the
    prerequisites (chargepoints.security.profile_upgrades) and keeps the raise pending."""
    return command_dispatch(
        charge_point=charge_point,
        action="ChangeConfiguration",
        payload={"key": SECURITY_PROFILE_KEY, "value": str(profile)},
        requested_by_user=requested_by_user,
        requested_by_token=requested_by_token,
    )
