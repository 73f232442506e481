"""OCPP-J framing: ``[2,id,action,payload]``, ``[3,id,payload]``, ``[4,id,code,desc,details]``."""

import json
import re
from dataclasses import dataclass, field
from typing import Any, NoReturn

from csms.ocpp.errors import ErrorCode, OcppError
from csms.ocpp.storable import has_unstorable, wire_json

CALL, CALLRESULT, CALLERROR = 2, 3, 4
UNKNOWN_MESSAGE_ID = "-1"  # OCPP-J §4.2.3: when no message id can be read
MAX_MESSAGE_ID_LENGTH = 36
# The message id at the head of a CALL that cannot be parsed (too big, not JSON), so that its
# CALLERROR still names it.
_LEADING_MESSAGE_ID = re.compile(r'^\s*\[\s*2\s*,\s*"([^"\\]{1,36})"')


@dataclass(frozen=True, slots=True)
class Call:
    message_id: str
    action: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CallResult:
    message_id: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CallError:
    message_id: str
    code: str
    description: str = ""
    details: dict[str, Any] = field(default_factory=dict)


Frame = Call | CallResult | CallError


def _readable_message_id(message: Any) -> str:
    if isinstance(message, list) and len(message) > 1 and isinstance(message[1], str):
        return message[1][:MAX_MESSAGE_ID_LENGTH]
    return UNKNOWN_MESSAGE_ID


def leading_message_id(text: str) -> str:
    """The message id a frame starts with, as far as it can be read without parsing it."""
    match = _LEADING_MESSAGE_ID.match(text)
    return match.group(1) if match else UNKNOWN_MESSAGE_ID


def _no_constant(name: str) -> NoReturn:
    # Python's json reads NaN and Infinity, which JSON (RFC 8259) does not have.
    raise ValueError(f"{name} is not JSON")


def parse_frame(text: str) -> Frame:
    """Parse one text frame or raise :class:`OcppError` naming the message id if readable."""
    try:
        message = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        # A raw NUL (or any control character) in a string is no JSON either: refused here, the
        # message id named if the frame starts like a message.
        raise OcppError(
            ErrorCode.FORMATION_VIOLATION,
            "Frame is not valid JSON",
            message_id=leading_message_id(text),
        ) from exc
    if not isinstance(message, list) or len(message) < 3:
        raise OcppError(
            ErrorCode.FORMATION_VIOLATION,
            "Frame must be a JSON array [MessageTypeId, UniqueId, ...]",
            message_id=_readable_message_id(message),
        )
    message_type, message_id = message[0], message[1]
    if not isinstance(message_id, str) or not message_id:
        raise OcppError(
            ErrorCode.FORMATION_VIOLATION,
            "UniqueId must be a non-empty string",
            message_id=UNKNOWN_MESSAGE_ID,
        )
    if len(message_id) > MAX_MESSAGE_ID_LENGTH:
        raise OcppError(
            ErrorCode.FORMATION_VIOLATION,
            f"UniqueId longer than {MAX_MESSAGE_ID_LENGTH} characters",
            message_id=message_id[:MAX_MESSAGE_ID_LENGTH],
        )
    if has_unstorable(message_id):
        # Echoed back as sent (the answer escapes it), so the charger can match its CALLERROR.
        raise OcppError(
            ErrorCode.FORMATION_VIOLATION,
            "UniqueId holds a NUL character or an unpaired surrogate",
            message_id=message_id,
        )
    if message_type == CALL:
        if len(message) != 4 or not isinstance(message[2], str):
            raise OcppError(
                ErrorCode.FORMATION_VIOLATION,
                "CALL must be [2, UniqueId, Action, Payload]",
                message_id=message_id,
            )
        if not isinstance(message[3], dict):
            raise OcppError(
                ErrorCode.FORMATION_VIOLATION,
                "CALL payload must be a JSON object",
                message_id=message_id,
            )
        return Call(message_id, message[2], message[3])
    if message_type == CALLRESULT:
        if len(message) != 3 or not isinstance(message[2], dict):
            raise OcppError(
                ErrorCode.FORMATION_VIOLATION,
                "CALLRESULT must be [3, UniqueId, Payload]",
                message_id=message_id,
            )
        return CallResult(message_id, message[2])
    if message_type == CALLERROR:
        if len(message) < 4 or not isinstance(message[2], str):
            raise OcppError(
                ErrorCode.FORMATION_VIOLATION,
                "CALLERROR must be [4, UniqueId, ErrorCode, Description, Details]",
                message_id=message_id,
            )
        description = message[3] if isinstance(message[3], str) else str(message[3])
        details = message[4] if len(message) > 4 and isinstance(message[4], dict) else {}
        return CallError(message_id, message[2], description, details)
    raise OcppError(
        ErrorCode.PROTOCOL_ERROR,
        f"Unknown MessageTypeId {message_type!r}",
        message_id=message_id,
    )


# Configuration keys whose values are secrets (security whitepaper: the Basic-auth password).
SECRET_CONFIGURATION_KEYS = frozenset({"AuthorizationKey"})
REDACTED = "********"


def redacted_payload(action: str, payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` as it may be kept in logs and shown to people: secrets masked."""
    if action == "ChangeConfiguration" and payload.get("key") in SECRET_CONFIGURATION_KEYS:
        return {**payload, "value": REDACTED}
    return payload


def redacted_response(action: str, payload: dict[str, Any]) -> dict[str, Any]:
    """A charge point's answer to ``action`` as it may be kept and shown: a GetConfiguration
    answer that reports a secret key's value (some firmwares report AuthorizationKey, which
    the whitepaper makes write-only) has it masked."""
    if action != "GetConfiguration":
        return payload
    entries = payload.get("configurationKey")
    if not isinstance(entries, list) or not any(
        isinstance(entry, dict)
        and entry.get("key") in SECRET_CONFIGURATION_KEYS
        and entry.get("value")
        for entry in entries
    ):
        return payload
    return {
        **payload,
        "configurationKey": [
            {**entry, "value": REDACTED}
            if isinstance(entry, dict)
            and entry.get("key") in SECRET_CONFIGURATION_KEYS
            and entry.get("value")
            else entry
            for entry in entries
        ],
    }


def _dumps(message: list[Any]) -> str:
    return wire_json(message)


def call_frame(message_id: str, action: str, payload: dict[str, Any]) -> str:
    return _dumps([CALL, message_id, action, payload])


def result_frame(message_id: str, payload: dict[str, Any]) -> str:
    return _dumps([CALLRESULT, message_id, payload])


def error_frame(
    message_id: str, code: str, description: str = "", details: dict[str, Any] | None = None
) -> str:
    return _dumps([CALLERROR, message_id, code, description, details or {}])
