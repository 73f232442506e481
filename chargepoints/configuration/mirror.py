"""The configuration mirror, kept from GetConfiguration and ChangeConfiguration answers, and
the checks a ChangeConfiguration passes before it is sent (the catalogue, what the charge point
reported)."""

from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from chargepoints.commands.dispatch import CommandRejectedError, command_dispatch
from chargepoints.commands.payload_checks import command_payload_check
from chargepoints.configuration.catalogue import configuration_change_problem
from chargepoints.models import ChargePoint, Command, ConfigurationKey
from chargepoints.passwords import password_problem
from csms.ocpp.frames import redacted_payload
from csms.tenancy.models import ApiToken

# Security whitepaper: the Basic-auth password of security profiles 1/2.
AUTHORIZATION_KEY = "AuthorizationKey"
# Values the mirror never shows in clear.
SECRET_KEYS = frozenset({AUTHORIZATION_KEY})
MASKED_VALUE = "********"


def _mirror_value(key: str, value: str | None) -> str | None:
    return MASKED_VALUE if key in SECRET_KEYS and value else value


@command_payload_check("ChangeConfiguration")
def authorization_key_is_a_valid_password(payload: dict[str, Any]) -> str | None:
    if payload.get("key") != AUTHORIZATION_KEY:
        return None
    problem = password_problem(payload.get("value", ""))
    return f"AuthorizationKey {problem}" if problem else None


@command_payload_check("ChangeConfiguration", forceable=True)
def change_is_valid_by_the_catalogue(payload: dict[str, Any]) -> str | None:
    # Every entry point (API, admin, commands API, jobs): standard keys checked, vendor-specific
    # ones passed through.
    return configuration_change_problem(payload["key"], payload["value"])


class ConfigurationChangeError(CommandRejectedError):
    code = "invalid_configuration"


def configuration_mirror_by_key(*, charge_point_id: int) -> dict[str, ConfigurationKey]:
    """The mirror of a charge point, by lower-cased key (keys are CiString50)."""
    rows = ConfigurationKey.objects.filter(charge_point_id=charge_point_id)
    return {row.key.lower(): row for row in rows}


def configuration_change_check(*, charge_point: ChargePoint, key: str, value: str) -> None:
    """Refuse (ConfigurationChangeError) a change the catalogue or what the charge point
    reported says cannot work: a key it reported as unknown, a read-only key, a list longer than
    its MaxLength key allows."""
    mirror = configuration_mirror_by_key(charge_point_id=charge_point.pk)
    row = mirror.get(key.lower())
    if row is not None and row.unknown:
        # It said so itself (GetConfiguration unknownKey, or ChangeConfiguration NotSupported):
        # sending it again would only get NotSupported back.
        raise ConfigurationChangeError(
            f"{row.key} is unknown to this charge point (it reported so); "
            "send it with force to try anyway.",
            code="unknown_configuration_key",
        )
    if row is not None and row.readonly:
        raise ConfigurationChangeError(f"{row.key} is read-only on this charge point.")
    reported = {lower: row.value for lower, row in mirror.items() if not row.unknown}
    if problem := configuration_change_problem(key, value, reported=reported):
        raise ConfigurationChangeError(problem)


def configuration_key_change(
    *,
    charge_point: ChargePoint,
    key: str,
    value: str,
    requested_by_token: ApiToken | None = None,
    requested_by_user: User | None = None,
    force: bool = False,
) -> Command:
    """Checked, then queued in the outbox like any command (the caller's transaction).

    ``force`` sends the value as given, for vendor values the catalogue and the mirror cannot
    judge (issue 20 §6): only the official schema and the AuthorizationKey password rule still
    apply; the command records that it was forced and by whom. What the charge point answers
    (Rejected, NotSupported) is kept in the mirror like any answer."""
    if not force:
        configuration_change_check(charge_point=charge_point, key=key, value=value)
    return command_dispatch(
        charge_point=charge_point,
        action="ChangeConfiguration",
        payload={"key": key, "value": value},
        requested_by_token=requested_by_token,
        requested_by_user=requested_by_user,
        force=force,
    )


def configuration_mirror_read(*, charge_point_id: int, response: dict[str, Any] | None) -> None:
    """A GetConfiguration answer: the keys it reports, and those it does not know."""
    now = timezone.now()
    response = response or {}
    for entry in response.get("configurationKey") or ():
        key = entry["key"]
        ConfigurationKey.objects.update_or_create(
            charge_point_id=charge_point_id,
            key=key,
            defaults={
                "value": _mirror_value(key, entry.get("value")),
                "readonly": entry.get("readonly"),
                "unknown": False,
                "last_read_at": now,
            },
        )
    for key in response.get("unknownKey") or ():
        ConfigurationKey.objects.update_or_create(
            charge_point_id=charge_point_id,
            key=key,
            defaults={"unknown": True, "last_read_at": now},
        )


def configuration_mirror_change(
    *,
    charge_point_id: int,
    command_id: int,
    payload: dict[str, Any],
    response: dict[str, Any] | None,
) -> None:
    """A ChangeConfiguration answer: the mirror shows the value the charge point took."""
    key, value = payload["key"], payload["value"]
    status = (response or {}).get("status", "")
    changed = status in ("Accepted", "RebootRequired")
    defaults: dict[str, Any] = {"last_change_status": status, "last_changed_at": timezone.now()}
    if changed:
        defaults["value"] = _mirror_value(key, value)
    if status == "NotSupported":
        defaults["unknown"] = True
    ConfigurationKey.objects.update_or_create(
        charge_point_id=charge_point_id, key=key, defaults=defaults
    )
    # Once answered, the command row no longer needs the secret: keep it masked.
    masked = redacted_payload("ChangeConfiguration", payload)
    if masked is not payload:
        Command.objects.filter(pk=command_id).update(payload=masked)
    # The new AuthorizationKey itself is chargepoints.security.rotation's: kept pending beside
    # the old password from the moment the command was queued.
