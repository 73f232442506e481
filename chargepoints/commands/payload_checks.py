"""Checks beyond the schema that a command's payload must pass before it is queued, by action,
registered by the apps that own the action (an AuthorizationKey must be a valid password, a
charging profile must make sense).

A registry of the command dispatch, not events of the bus (csms.events): a check is asked a
question before anything happens — may this payload be sent? — and its answer refuses the
request at once (HTTP 400, nothing stored). An event says what already happened, and its
subscribers react; none of them can veto it. Registered on import of the owning apps' modules
(``apps.ready``).
"""

from collections.abc import Callable
from typing import Any

PayloadCheck = Callable[[dict[str, Any]], str | None]
# (check, forceable) by action
_payload_checks: dict[str, list[tuple[PayloadCheck, bool]]] = {}
# (charge point, payload): for what depends on the charge point it goes to (what it reported
# in its configuration, what it has installed). Typed Any: this registry imports no models.
ChargePointCheck = Callable[[Any, dict[str, Any]], str | None]
_charge_point_checks: dict[str, list[ChargePointCheck]] = {}


def command_payload_check(
    action: str, *, forceable: bool = False
) -> Callable[[PayloadCheck], PayloadCheck]:
    """Register ``check``: it returns why a valid-by-schema payload is still refused, or None.

    A ``forceable`` check is a judgement an operator may overrule with ``force`` (our catalogue
    of standard values knows less than the charger's vendor); the others guard what must never
    be sent (an AuthorizationKey that is no valid password, a profile that cannot work).
    """

    def register(check: PayloadCheck) -> PayloadCheck:
        _payload_checks.setdefault(action, []).append((check, forceable))
        return check

    return register


def payload_checks_for(action: str, *, forced: bool = False) -> list[PayloadCheck]:
    """The checks a payload of ``action`` passes; with ``forced`` the forceable ones are left
    out."""
    return [
        check for check, forceable in _payload_checks.get(action, []) if not (forced and forceable)
    ]


def command_charge_point_check(action: str) -> Callable[[ChargePointCheck], ChargePointCheck]:
    """Register ``check(charge_point, payload)``, asked after the payload checks passed."""

    def register(check: ChargePointCheck) -> ChargePointCheck:
        _charge_point_checks.setdefault(action, []).append(check)
        return check

    return register


def charge_point_checks_for(action: str) -> list[ChargePointCheck]:
    return _charge_point_checks.get(action, [])
