"""The standard OCPP 1.6 configuration keys: chapter 9 of the specification (Core §9.1,
LocalAuthListManagement §9.2, Reservation §9.3, SmartCharging §9.4) and the keys of the OCPP 1.6
Security Whitepaper. One declaration per key; what ChangeConfiguration requests from the API,
the admin, the commands API and baselines are checked against before anything is sent.

Keys are CiString50 (§7.7 KeyValue, §5.3 ChangeConfiguration): looked up case-insensitively.
Vendor-specific keys are not in the catalogue and pass unchecked. Pure: no ORM.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from chargepoints.configuration.types import (
    BooleanValue,
    IntegerValue,
    ListValue,
    StringValue,
    ValueType,
)


class Profile(StrEnum):
    CORE = "Core"
    LOCAL_AUTH_LIST_MANAGEMENT = "LocalAuthListManagement"
    RESERVATION = "Reservation"
    SMART_CHARGING = "SmartCharging"
    SECURITY = "Security"


# Where each profile's keys are specified.
PROFILE_SOURCES = {
    Profile.CORE: "OCPP 1.6 §9.1",
    Profile.LOCAL_AUTH_LIST_MANAGEMENT: "OCPP 1.6 §9.2",
    Profile.RESERVATION: "OCPP 1.6 §9.3",
    Profile.SMART_CHARGING: "OCPP 1.6 §9.4",
    Profile.SECURITY: "OCPP 1.6 Security Whitepaper",
}


class Access(StrEnum):
    READ = "R"
    READ_WRITE = "RW"
    # §9.1.3 AuthorizeRemoteTxRequests: "R or RW. Choice is up to Charge Point implementation."
    READ_OR_READ_WRITE = "R/RW"
    WRITE = "W"  # AuthorizationKey: write-only, never reported back


@dataclass(frozen=True)
class ConfigKeySpec:
    name: str
    profile: Profile
    # Required of every charge point that supports the profile.
    required: bool
    access: Access
    type: ValueType
    meaning: str
    unit: str = ""

    @property
    def writable(self) -> bool:
        return self.access != Access.READ

    @property
    def source(self) -> str:
        return PROFILE_SOURCES[self.profile]

    def describe(self) -> dict[str, Any]:
        """The declaration as the catalogue API shows it."""
        return {
            "key": self.name,
            "profile": str(self.profile),
            "source": self.source,
            "required": self.required,
            "access": str(self.access),
            "writable": self.writable,
            "type": self.type.kind,
            "unit": self.unit,
            "meaning": self.meaning,
            **self.type.describe(),
        }


CORE, LOCAL_LIST, RESERVATION, SMART, SECURITY = (
    Profile.CORE,
    Profile.LOCAL_AUTH_LIST_MANAGEMENT,
    Profile.RESERVATION,
    Profile.SMART_CHARGING,
    Profile.SECURITY,
)
R, RW, W = Access.READ, Access.READ_WRITE, Access.WRITE
BOOLEAN = BooleanValue()
COUNT = IntegerValue()  # a non-negative integer
SECONDS, TIMES = "seconds", "times"


def _measurands(max_length_key: str) -> ListValue:
    return ListValue("measurand", max_length_key=max_length_key)


_DECLARATIONS = (
    # --- Core profile (§9.1) ---
    ConfigKeySpec(
        "AllowOfflineTxForUnknownId", CORE, False, RW, BOOLEAN,
        "If present, the charge point supports Unknown Offline Authorization; true enables it.",
    ),
    ConfigKeySpec(
        "AuthorizationCacheEnabled", CORE, False, RW, BOOLEAN,
        "If present, the charge point has an Authorization Cache; true enables it.",
    ),
    ConfigKeySpec(
        "AuthorizeRemoteTxRequests", CORE, True, Access.READ_OR_READ_WRITE, BOOLEAN,
        "Whether a RemoteStartTransaction is authorized first, like a local start.",
    ),
    ConfigKeySpec(
        "BlinkRepeat", CORE, False, RW, COUNT,
        "Number of times to blink the charge point's lighting when signalling.", TIMES,
    ),
    ConfigKeySpec(
        "ClockAlignedDataInterval", CORE, True, RW, COUNT,
        "Size of the clock-aligned meter data interval; 0 sends no clock-aligned data.", SECONDS,
    ),
    ConfigKeySpec(
        "ConnectionTimeOut", CORE, True, RW, COUNT,
        "From Preparing until an incipient transaction is cancelled if no cable is plugged in.",
        SECONDS,
    ),
    ConfigKeySpec(
        "ConnectorPhaseRotation", CORE, True, RW,
        ListValue("phase_rotation", max_length_key="ConnectorPhaseRotationMaxLength"),
        "Phase rotation per connector relative to its meter (or the grid), e.g. 0.RST, 1.RTS.",
    ),
    ConfigKeySpec(
        "ConnectorPhaseRotationMaxLength", CORE, False, R, COUNT,
        "Maximum number of items in ConnectorPhaseRotation.",
    ),
    ConfigKeySpec(
        "GetConfigurationMaxKeys", CORE, True, R, COUNT,
        "Maximum number of keys requested in one GetConfiguration.req.",
    ),
    ConfigKeySpec(
        "HeartbeatInterval", CORE, True, RW, COUNT,
        "Inactivity (no OCPP exchange) after which the charge point sends a Heartbeat.", SECONDS,
    ),
    ConfigKeySpec(
        "LightIntensity", CORE, False, RW, IntegerValue(maximum=100),
        "Percentage of maximum intensity at which to illuminate the charge point's lighting.",
        "percent",
    ),
    ConfigKeySpec(
        "LocalAuthorizeOffline", CORE, True, RW, BOOLEAN,
        "Whether, offline, the charge point starts transactions for locally-authorized ids.",
    ),
    ConfigKeySpec(
        "LocalPreAuthorize", CORE, True, RW, BOOLEAN,
        "Whether, online, locally-authorized ids start at once without waiting for Authorize.",
    ),
    ConfigKeySpec(
        "MaxEnergyOnInvalidId", CORE, False, RW, COUNT,
        "Maximum energy delivered when an id is invalidated after the transaction started.",
        "Wh",
    ),
    ConfigKeySpec(
        "MeterValuesAlignedData", CORE, True, RW, _measurands("MeterValuesAlignedDataMaxLength"),
        "Clock-aligned measurands in MeterValues.req, every ClockAlignedDataInterval.",
    ),
    ConfigKeySpec(
        "MeterValuesAlignedDataMaxLength", CORE, False, R, COUNT,
        "Maximum number of items in MeterValuesAlignedData.",
    ),
    ConfigKeySpec(
        "MeterValuesSampledData", CORE, True, RW, _measurands("MeterValuesSampledDataMaxLength"),
        "Sampled measurands in MeterValues.req, every MeterValueSampleInterval "
        "(default Energy.Active.Import.Register).",
    ),
    ConfigKeySpec(
        "MeterValuesSampledDataMaxLength", CORE, False, R, COUNT,
        "Maximum number of items in MeterValuesSampledData.",
    ),
    ConfigKeySpec(
        "MeterValueSampleInterval", CORE, True, RW, COUNT,
        "Interval between samples of meter data sent in MeterValues; 0 sends no samples.",
        SECONDS,
    ),
    ConfigKeySpec(
        "MinimumStatusDuration", CORE, False, RW, COUNT,
        "How long a status must be stable before a StatusNotification.req is sent.", SECONDS,
    ),
    ConfigKeySpec(
        "NumberOfConnectors", CORE, True, R, COUNT,
        "The number of physical charging connectors of the charge point.",
    ),
    ConfigKeySpec(
        "ResetRetries", CORE, True, RW, COUNT,
        "Number of times to retry an unsuccessful reset of the charge point.", TIMES,
    ),
    ConfigKeySpec(
        "StopTransactionOnEVSideDisconnect", CORE, True, RW, BOOLEAN,
        "Whether the transaction stops when the cable is unplugged from the EV.",
    ),
    ConfigKeySpec(
        "StopTransactionOnInvalidId", CORE, True, RW, BOOLEAN,
        "Whether a transaction stops when StartTransaction.conf does not accept its idTag.",
    ),
    ConfigKeySpec(
        "StopTxnAlignedData", CORE, True, RW, _measurands("StopTxnAlignedDataMaxLength"),
        "Clock-aligned measurands in StopTransaction.req transactionData.",
    ),
    ConfigKeySpec(
        "StopTxnAlignedDataMaxLength", CORE, False, R, COUNT,
        "Maximum number of items in StopTxnAlignedData.",
    ),
    ConfigKeySpec(
        "StopTxnSampledData", CORE, True, RW, _measurands("StopTxnSampledDataMaxLength"),
        "Sampled measurands in StopTransaction.req transactionData, every "
        "MeterValueSampleInterval from the start of the session.",
    ),
    ConfigKeySpec(
        "StopTxnSampledDataMaxLength", CORE, False, R, COUNT,
        "Maximum number of items in StopTxnSampledData.",
    ),
    ConfigKeySpec(
        "SupportedFeatureProfiles", CORE, True, R,
        ListValue("feature_profile", max_length_key="SupportedFeatureProfilesMaxLength"),
        "The feature profiles the charge point supports.",
    ),
    ConfigKeySpec(
        "SupportedFeatureProfilesMaxLength", CORE, False, R, COUNT,
        "Maximum number of items in SupportedFeatureProfiles.",
    ),
    ConfigKeySpec(
        "TransactionMessageAttempts", CORE, True, RW, COUNT,
        "How often a transaction message is tried when the Central System fails to process it.",
        TIMES,
    ),
    ConfigKeySpec(
        "TransactionMessageRetryInterval", CORE, True, RW, COUNT,
        "Wait before resubmitting a transaction message the Central System failed to process.",
        SECONDS,
    ),
    ConfigKeySpec(
        "UnlockConnectorOnEVSideDisconnect", CORE, True, RW, BOOLEAN,
        "Whether the cable is unlocked at the charge point when it is unplugged at the EV.",
    ),
    ConfigKeySpec(
        "WebSocketPingInterval", CORE, False, RW, COUNT,
        "Seconds between WebSocket pings from the charge point; 0 disables them.", SECONDS,
    ),
    # --- LocalAuthListManagement profile (§9.2) ---
    ConfigKeySpec(
        "LocalAuthListEnabled", LOCAL_LIST, True, RW, BOOLEAN,
        "Whether the Local Authorization List is enabled.",
    ),
    ConfigKeySpec(
        "LocalAuthListMaxLength", LOCAL_LIST, True, R, COUNT,
        "Maximum number of identifications the Local Authorization List can hold.",
    ),
    ConfigKeySpec(
        "SendLocalListMaxLength", LOCAL_LIST, True, R, COUNT,
        "Maximum number of identifications in one SendLocalList.req.",
    ),
    # --- Reservation profile (§9.3) ---
    ConfigKeySpec(
        "ReserveConnectorZeroSupported", RESERVATION, False, R, BOOLEAN,
        "If present and true, the charge point supports reservations of connector 0.",
    ),
    # --- SmartCharging profile (§9.4) ---
    ConfigKeySpec(
        "ChargeProfileMaxStackLevel", SMART, True, R, COUNT,
        "Maximum stackLevel of a ChargingProfile (and installed profiles per purpose).",
    ),
    ConfigKeySpec(
        "ChargingScheduleAllowedChargingRateUnit", SMART, True, R,
        ListValue("charging_rate_unit"),
        "The quantities a ChargingSchedule may use: Current and/or Power.",
    ),
    ConfigKeySpec(
        "ChargingScheduleMaxPeriods", SMART, True, R, COUNT,
        "Maximum number of periods in one ChargingSchedule.",
    ),
    ConfigKeySpec(
        "ConnectorSwitch3to1PhaseSupported", SMART, False, R, BOOLEAN,
        "If present and true, the charge point can switch from 3 to 1 phase during a transaction.",
    ),
    ConfigKeySpec(
        "MaxChargingProfilesInstalled", SMART, True, R, COUNT,
        "Maximum number of charging profiles installed at a time.",
    ),
    # --- Security Whitepaper ---
    ConfigKeySpec(
        "AdditionalRootCertificateCheck", SECURITY, False, R, BOOLEAN,
        "If true, only one CentralSystemRootCertificate (plus a temporary fallback) may be "
        "installed.",
    ),
    ConfigKeySpec(
        "AuthorizationKey", SECURITY, False, W, StringValue(max_length=40),
        "HTTP Basic password of security profiles 1 and 2 (16-40 characters); write-only.",
    ),
    ConfigKeySpec(
        "CertificateSignedMaxChainSize", SECURITY, False, R, IntegerValue(maximum=10000),
        "Maximum size of CertificateSigned.req certificateChain (at most 10,000).",
        "characters",
    ),
    ConfigKeySpec(
        "CertificateStoreMaxLength", SECURITY, False, R, COUNT,
        "Maximum number of Root/CA certificates that can be installed.",
    ),
    ConfigKeySpec(
        "CpoName", SECURITY, False, RW, StringValue(),
        "The CPO name as used in the charge point certificate (and its SignCertificate CSR).",
    ),
    ConfigKeySpec(
        "SecurityProfile", SECURITY, False, RW,
        IntegerValue(maximum=3, only_increase=True, key="SecurityProfile"),
        "The security profile in use (0-3); can only be increased.",
    ),
)  # fmt: skip

CATALOGUE: dict[str, ConfigKeySpec] = {spec.name: spec for spec in _DECLARATIONS}
_BY_LOWER_NAME = {name.lower(): spec for name, spec in CATALOGUE.items()}


def catalogue_key(key: str) -> ConfigKeySpec | None:
    """The declaration of a standard key (any case); None for a vendor-specific key."""
    return _BY_LOWER_NAME.get(key.lower())


def configuration_value_problem(
    key: str, value: str, *, reported: Mapping[str, str | None] | None = None
) -> str | None:
    """Why ``value`` is not a valid value of ``key`` (None if it is, or if the key is not a
    standard one). ``reported``: what the charge point reported, keys lower-cased, for checks
    that depend on it (a list's MaxLength key, SecurityProfile only going up)."""
    spec = catalogue_key(key)
    if spec is None:
        return None
    problem = spec.type.problem(value, reported=reported or {})
    return f"{spec.name}: {problem}" if problem else None


def configuration_change_problem(
    key: str, value: str, *, reported: Mapping[str, str | None] | None = None
) -> str | None:
    """Why a ChangeConfiguration of ``key`` to ``value`` is refused before it is sent."""
    spec = catalogue_key(key)
    if spec is not None and not spec.writable:
        return f"{spec.name} is read-only ({spec.source})"
    return configuration_value_problem(key, value, reported=reported)


def configuration_values_equal(key: str, first: str | None, second: str | None) -> bool:
    """Whether two values of ``key`` mean the same (a vendor key's compare as strings)."""
    if first is None or second is None:
        return first is second
    spec = catalogue_key(key)
    if spec is None:
        return first == second
    return spec.type.canonical(first) == spec.type.canonical(second)
