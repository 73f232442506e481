"""What the command dispatch asks the security rules before a command is queued (one place for
every entry point: the API, the admin, the raw commands API, jobs):

* ChangeConfiguration(AuthorizationKey) begins a rotation (``rotation``) and its value is sealed
  (``csms.secrets_at_rest``): the stored payload shows it masked;
* ChangeConfiguration(SecurityProfile) must meet the raise's prerequisites and is kept pending
  (``profile_upgrades``).
"""

import json
from collections.abc import Callable
from typing import Any

from chargepoints.models import ChargePoint, Command
from chargepoints.security.profile_upgrades import (
    SECURITY_PROFILE_KEY,
    SecurityProfileError,
    security_profile_raise_check,
    security_profile_requested,
)
from chargepoints.security.rotation import AUTHORIZATION_KEY, rotation_begin
from csms.ocpp.frames import redacted_payload
from csms.secrets_at_rest import secret_seal, secret_unseal

SEALED_PURPOSE = "command payload"
AfterQueued = Callable[[Command], None]


def command_security_prepare(
    *, charge_point: ChargePoint, action: str, payload: dict[str, Any]
) -> tuple[dict[str, Any], str, AfterQueued | None]:
    """The payload to store, the sealed one (or ""), and what to do once the row exists."""
    stored = redacted_payload(action, payload)
    sealed = "" if stored is payload else secret_seal(json.dumps(payload), purpose=SEALED_PURPOSE)
    if action != "ChangeConfiguration":
        return stored, sealed, None
    key = payload.get("key")
    if key == AUTHORIZATION_KEY:
        password = payload["value"]
        return (
            stored,
            sealed,
            lambda command: rotation_begin(
                charge_point=charge_point, command=command, password=password
            ),
        )
    if key == SECURITY_PROFILE_KEY:
        try:
            profile = int(payload["value"])
        except ValueError:
            raise SecurityProfileError("SecurityProfile is 0, 1, 2 or 3.") from None
        security_profile_raise_check(charge_point=charge_point, profile=profile)
        return (
            stored,
            sealed,
            lambda command: security_profile_requested(
                charge_point_id=command.charge_point_id, profile=profile
            ),
        )
    return stored, sealed, None


def command_payload_to_send(*, payload: dict[str, Any], sealed: str) -> dict[str, Any]:
    """The payload as the charger must receive it (the sealed one when there is one)."""
    if not sealed:
        return payload
    opened: dict[str, Any] = json.loads(secret_unseal(sealed, purpose=SEALED_PURPOSE))
    return opened
