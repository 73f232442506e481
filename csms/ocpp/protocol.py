"""The protocol steps around a handler: admit, clean, validate, convert, answer.

Pure functions on plain data, run on the event loop (precompiled validators are cheaper there
than a thread hop, see PERFORMANCE.md); the handler itself runs where the backend puts it.
"""

from typing import Any

from csms.ocpp import compat, schemas
from csms.ocpp.errors import ErrorCode, OcppError
from csms.ocpp.frames import Call
from csms.ocpp.router import CHARGE_POINT_ACTIONS, ChargePointSession, Route, route_for, to_camel
from csms.ocpp.router import to_snake as _to_snake

# While Pending or Rejected, a charge point may only boot (OCPP 1.6 §4.2.1).
ALLOWED_BEFORE_ACCEPTANCE = frozenset({"BootNotification"})
# Stands in for meter values the compat layer removed, only to schema-check the rest.
_NOTHING_SAMPLED = {"timestamp": "1970-01-01T00:00:00Z", "sampledValue": [{"value": ""}]}


def admit_call(call: Call, session: ChargePointSession) -> Route:
    """The route for ``call``, or the CALLERROR it deserves (unknown, unsupported, not yet)."""
    if call.action not in CHARGE_POINT_ACTIONS:
        if call.action in schemas.request_actions():
            # A Central-System-initiated action sent the wrong way round.
            raise OcppError(ErrorCode.NOT_SUPPORTED, f"{call.action} is not sent by a charge point")
        raise OcppError(ErrorCode.NOT_IMPLEMENTED, f"Unknown action {call.action!r}")
    route = route_for(call.action)
    if route is None:
        raise OcppError(ErrorCode.NOT_SUPPORTED, f"{call.action} is not supported")
    if not session.accepted and call.action not in ALLOWED_BEFORE_ACCEPTANCE:
        raise OcppError(
            ErrorCode.SECURITY_ERROR,
            f"Charge point is {session.registration_status}: only BootNotification is answered",
        )
    return route


def validated_request(
    action: str, payload: dict[str, Any], switches: compat.CompatSwitches
) -> tuple[dict[str, Any], list[str]]:
    """The request as handlers see it (snake_case) and the quirks absorbed to get there."""
    quirks = compat.clean(action, payload, switches)
    if (
        action == "MeterValues"
        and payload.get("meterValue") == []
        and "empty_sampled_value" in quirks
    ):
        # Every entry had an empty sampledValue and was cleaned away: nothing to store, but a
        # transaction message is answered, never refused (OCPP 1.6 §4.7). Check the rest.
        schemas.validate(action, {**payload, "meterValue": [_NOTHING_SAMPLED]})
        return _to_snake(payload), quirks
    try:
        schemas.validate(action, payload)
    except OcppError as strict_error:
        if not switches.any_lenient():
            raise
        repaired = compat.repair(action, payload, schemas.load_schema(action), switches)
        try:
            schemas.validate(action, payload, lenient=switches.lenient_enums)
        except OcppError:
            raise strict_error from None
        quirks.extend(repaired or ["open_enum_value"])
    return _to_snake(payload), quirks


def response_payload(action: str, result: dict[str, Any]) -> dict[str, Any]:
    """camelCase ``result`` and hold it to the response schema: a bad answer is our bug."""
    payload = to_camel(result)
    try:
        schemas.validate(action, payload, response=True)
    except OcppError as exc:
        raise OcppError(
            ErrorCode.INTERNAL_ERROR, "The Central System could not build a valid answer"
        ) from exc
    return payload
