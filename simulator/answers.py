"""What the simulated charge points answer to Central-System calls, and how to configure it.

Every Central-System-initiated action of OCPP 1.6 (core and security extension) has a sensible
default. Some defaults depend on the charge point's state (GetConfiguration reads its
configuration, RemoteStopTransaction knows its transactions…); the charge point computes those
itself unless an answer was configured. Configured answers come from ``--answer`` options or a
JSON file and are checked against the official response schemas up front, so a typo fails at
start rather than as a CALLERROR from the Central System hours later.

Spec syntax, one per action::

    Reset=Rejected                         a status
    GetLocalListVersion={"listVersion": 4}  a whole payload (JSON)
    Reset=!NotSupported                    a CALLERROR code
    Reset=!NotSupported:Not while charging  a CALLERROR code and description
"""

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from csms.ocpp import schemas
from csms.ocpp.errors import ErrorCode, OcppError
from csms.ocpp.router import CHARGE_POINT_ACTIONS

# DataTransfer goes both ways (OCPP 1.6 §4.3, §5.6).
CENTRAL_SYSTEM_ACTIONS = frozenset(
    (schemas.request_actions() - CHARGE_POINT_ACTIONS) | {"DataTransfer"}
)

# Answers that need no state. The charge point overrides those in STATEFUL.
STATIC_ANSWERS: dict[str, dict[str, Any]] = {
    "CancelReservation": {"status": "Accepted"},
    "CertificateSigned": {"status": "Rejected"},
    "ChangeAvailability": {"status": "Accepted"},
    "ChangeConfiguration": {"status": "Accepted"},
    "ClearCache": {"status": "Accepted"},
    "ClearChargingProfile": {"status": "Accepted"},
    "DataTransfer": {"status": "UnknownVendorId"},
    "DeleteCertificate": {"status": "NotFound"},
    "ExtendedTriggerMessage": {"status": "Accepted"},
    "GetCompositeSchedule": {"status": "Rejected"},
    "GetConfiguration": {"configurationKey": [], "unknownKey": []},
    "GetDiagnostics": {},
    "GetInstalledCertificateIds": {"status": "NotFound"},
    "GetLocalListVersion": {"listVersion": 0},
    "GetLog": {"status": "Rejected"},
    "InstallCertificate": {"status": "Rejected"},
    "RemoteStartTransaction": {"status": "Accepted"},
    "RemoteStopTransaction": {"status": "Rejected"},
    "ReserveNow": {"status": "Accepted"},
    "Reset": {"status": "Accepted"},
    "SendLocalList": {"status": "Accepted"},
    "SetChargingProfile": {"status": "Accepted"},
    "SignedUpdateFirmware": {"status": "Rejected"},
    "TriggerMessage": {"status": "Accepted"},
    "UnlockConnector": {"status": "Unlocked"},
    "UpdateFirmware": {},
}
# Answers a charge point derives from its own state when none was configured.
STATEFUL = frozenset(
    {
        "CancelReservation",
        "ChangeConfiguration",
        "GetConfiguration",
        "GetDiagnostics",
        "GetLocalListVersion",
        "RemoteStartTransaction",
        "RemoteStopTransaction",
        "ReserveNow",
        "TriggerMessage",
    }
)


@dataclass(frozen=True, slots=True)
class Answer:
    """A CALLRESULT payload, or a CALLERROR code and description."""

    payload: dict[str, Any] | None = None
    error_code: str | None = None
    error_description: str = ""

    @property
    def is_error(self) -> bool:
        return self.error_code is not None

    @property
    def status(self) -> str | None:
        return (self.payload or {}).get("status")

    def frame(self, message_id: str) -> list[Any]:
        if self.error_code is not None:
            return [4, message_id, self.error_code, self.error_description, {}]
        return [3, message_id, self.payload or {}]


_ERROR_CODES = frozenset(code.value for code in ErrorCode)
NOT_IMPLEMENTED = Answer(error_code=ErrorCode.NOT_IMPLEMENTED, error_description="Unknown action")


class AnswerBook:
    """Configured answers by action; the defaults for everything else."""

    def __init__(self, configured: Mapping[str, Answer] | None = None) -> None:
        self._configured = dict(configured or {})

    def configured(self, action: str) -> Answer | None:
        return self._configured.get(action)

    def default(self, action: str) -> Answer:
        payload = STATIC_ANSWERS.get(action)
        if payload is None:
            return NOT_IMPLEMENTED
        return Answer(dict(payload))

    @classmethod
    def parse(cls, specs: Iterable[str] = (), file_content: str | None = None) -> "AnswerBook":
        """From ``ACTION=ANSWER`` specs and/or a JSON object ``{action: answer}``; later
        entries win. Raises ``ValueError`` naming what is wrong."""
        configured: dict[str, Answer] = {}
        if file_content:
            document = json.loads(file_content)
            if not isinstance(document, dict):
                raise ValueError("an answers file holds a JSON object {action: answer}")
            for action, value in document.items():
                text = value if isinstance(value, str) else json.dumps(value)
                configured[action] = parse_answer(action, text)
        for spec in specs:
            action, separator, text = spec.partition("=")
            if not separator:
                raise ValueError(f"{spec!r}: expected ACTION=ANSWER")
            configured[action.strip()] = parse_answer(action.strip(), text.strip())
        return cls(configured)


def parse_answer(action: str, text: str) -> Answer:
    if action not in CENTRAL_SYSTEM_ACTIONS:
        raise ValueError(f"{action!r} is not a Central-System-initiated OCPP 1.6 action")
    if text.startswith("!"):
        code, _, description = text[1:].partition(":")
        if code not in _ERROR_CODES:
            raise ValueError(f"{action}: {code!r} is not an OCPP-J 1.6 error code")
        return Answer(error_code=code, error_description=description)
    if text.startswith("{"):
        try:
            payload = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"{action}: invalid JSON ({exc})") from None
    else:
        payload = {"status": text}
    try:
        schemas.validate(action, payload, response=True)
    except OcppError as exc:
        raise ValueError(f"{action}: {exc.description}") from None
    return Answer(payload)
