"""Action routing: each app registers the handlers of the actions it answers.

A handler is a plain synchronous function ``(ctx, payload) -> response``. It runs in a worker
thread inside one database transaction, receives the validated request with snake_case keys and
returns the response with snake_case keys; the protocol layer does the rest (camelCase, the
response schema, the frame). Raising :class:`~csms.ocpp.errors.OcppError` answers a CALLERROR.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from csms.ocpp.context import CallContext

# Actions a charge point may send (OCPP 1.6 core profiles and the security extension).
CHARGE_POINT_ACTIONS = frozenset(
    {
        "Authorize",
        "BootNotification",
        "DataTransfer",
        "DiagnosticsStatusNotification",
        "FirmwareStatusNotification",
        "Heartbeat",
        "MeterValues",
        "StartTransaction",
        "StatusNotification",
        "StopTransaction",
        "LogStatusNotification",
        "SecurityEventNotification",
        "SignCertificate",
        "SignedFirmwareStatusNotification",
    }
)


Handler = Callable[[CallContext, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Route:
    action: str
    handler: Handler


_routes: dict[str, Route] = {}


def ocpp_action(action: str) -> Callable[[Handler], Handler]:
    """Register ``handler`` as the answer to ``action`` (one handler per action)."""
    if action not in CHARGE_POINT_ACTIONS:
        raise ValueError(f"{action} is not an action a charge point sends")

    def register(handler: Handler) -> Handler:
        existing = _routes.get(action)
        if existing is not None and existing.handler is not handler:
            raise ValueError(f"{action} already handled by {existing.handler.__qualname__}")
        _routes[action] = Route(action, handler)
        return handler

    return register


def route_for(action: str) -> Route | None:
    return _routes.get(action)


# --- camelCase on the wire, snake_case inside ---------------------------------------------------

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


@lru_cache(maxsize=1024)  # the same few dozen keys, in every frame
def _snake(key: str) -> str:
    return _CAMEL_BOUNDARY.sub("_", key).lower()


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def to_snake(value: Any) -> Any:
    if isinstance(value, dict):
        return {_snake(k): to_snake(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_snake(v) for v in value]
    return value


def to_camel(value: Any) -> Any:
    if isinstance(value, dict):
        return {_camel(k): to_camel(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [to_camel(v) for v in value]
    return value
