"""OCPP-J 1.6 CALLERROR codes (OCPP-J §4.2.3) and the exception that carries one."""

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    NOT_IMPLEMENTED = "NotImplemented"
    NOT_SUPPORTED = "NotSupported"
    INTERNAL_ERROR = "InternalError"
    PROTOCOL_ERROR = "ProtocolError"
    SECURITY_ERROR = "SecurityError"
    FORMATION_VIOLATION = "FormationViolation"
    PROPERTY_CONSTRAINT_VIOLATION = "PropertyConstraintViolation"
    # Misspelt in OCPP-J 1.6 itself; chargers expect exactly this string.
    OCCURENCE_CONSTRAINT_VIOLATION = "OccurenceConstraintViolation"
    TYPE_CONSTRAINT_VIOLATION = "TypeConstraintViolation"
    GENERIC_ERROR = "GenericError"


class OcppError(Exception):
    """Answered as ``[4, message_id, code, description, details]``."""

    def __init__(
        self,
        code: ErrorCode,
        description: str = "",
        details: dict[str, Any] | None = None,
        *,
        message_id: str | None = None,
    ) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description
        self.details = details or {}
        self.message_id = message_id
