"""Models of the chargepoints app, one module per subject; every model is importable from here
(``from chargepoints.models import ChargePoint``), which also registers them with Django."""

from chargepoints.models.authorization import (
    ChargePointGroup,
    IdTag,
    IdTagRevocation,
    IdTagStatus,
    LocalListResult,
    LocalListState,
    LocalListSyncRequest,
    RevocationMethod,
)
from chargepoints.models.charge_points import (
    BOOT_REPORTED_FIELDS,
    ChargePoint,
    ChargePointStatus,
    CompatAbsorption,
    Connector,
    ConnectorStatusChange,
    RegistrationStatus,
    SecurityProfile,
)
from chargepoints.models.commands import Command, CommandStatus
from chargepoints.models.configuration import (
    ConfigurationApplyState,
    ConfigurationBaseline,
    ConfigurationBaselineEntry,
    ConfigurationKey,
)
from chargepoints.models.messages import MessageDirection, OcppMessage
from chargepoints.models.reports import (
    CertificateSigningRequest,
    CertificateSigningRequestStatus,
    DataTransferMessage,
    SecurityEvent,
)
from chargepoints.models.reservations import Reservation, ReservationSequence, ReservationStatus
from chargepoints.models.security import (
    AuthorityRole,
    AuthorizationKeyRotation,
    BasicAuthFailures,
    CertificateAuthority,
    ChargePointCertificate,
    FailureScope,
    InstalledCertificate,
    RotationStatus,
)

__all__ = [
    "BOOT_REPORTED_FIELDS",
    "AuthorityRole",
    "AuthorizationKeyRotation",
    "BasicAuthFailures",
    "CertificateAuthority",
    "CertificateSigningRequest",
    "CertificateSigningRequestStatus",
    "ChargePoint",
    "ChargePointCertificate",
    "ChargePointGroup",
    "ChargePointStatus",
    "Command",
    "CommandStatus",
    "CompatAbsorption",
    "ConfigurationApplyState",
    "ConfigurationBaseline",
    "ConfigurationBaselineEntry",
    "ConfigurationKey",
    "Connector",
    "ConnectorStatusChange",
    "DataTransferMessage",
    "FailureScope",
    "IdTag",
    "IdTagRevocation",
    "IdTagStatus",
    "InstalledCertificate",
    "LocalListResult",
    "LocalListState",
    "LocalListSyncRequest",
    "MessageDirection",
    "OcppMessage",
    "RegistrationStatus",
    "Reservation",
    "ReservationSequence",
    "ReservationStatus",
    "RevocationMethod",
    "RotationStatus",
    "SecurityEvent",
    "SecurityProfile",
]
