"""Configuration drift: what a baseline wants against what a charge point reports, and whether a
ChangeConfiguration is due. Pure functions, no ORM; the apply flow
(``chargepoints.configuration.apply``) feeds them from the mirror and the apply states.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from chargepoints.configuration.catalogue import catalogue_key, configuration_values_equal


class DriftStatus(StrEnum):
    IN_SYNC = "in_sync"
    DIFFERS = "differs"
    # Not in the charge point's answer: unknown to it, or a key it does not report.
    MISSING = "missing"
    # The charge point listed the key under unknownKey.
    UNKNOWN = "unknown"
    # Differs, but the charge point reports the key read-only: no change is sent.
    READ_ONLY = "read_only"
    # The charge point accepted the desired value with RebootRequired and has not rebooted.
    REBOOT_REQUIRED = "reboot_required"


class ApplyStatus(StrEnum):
    """The last ChangeConfiguration a baseline sent for one key of one charge point."""

    PENDING = "Pending"  # queued or sent, no answer yet
    # ChangeConfiguration.conf status (OCPP 1.6 §7.8 ConfigurationStatus)
    ACCEPTED = "Accepted"
    REBOOT_REQUIRED = "RebootRequired"
    REJECTED = "Rejected"
    NOT_SUPPORTED = "NotSupported"
    FAILED = "Failed"  # a CALLERROR or no answer in time: the charge point may have seen it
    NOT_DELIVERED = "NotDelivered"  # expired before it was sent
    INVALID = "Invalid"  # refused before sending (e.g. more items than the charge point takes)


# Answers that stand until the desired value or the firmware changes.
REFUSED = frozenset({ApplyStatus.REJECTED, ApplyStatus.NOT_SUPPORTED})
# Never reached the charge point (or was never sent): try again on the next run.
NOT_ATTEMPTED = frozenset({ApplyStatus.NOT_DELIVERED, ApplyStatus.INVALID})


@dataclass(frozen=True)
class Reported:
    """One key as the charge point reported it (GetConfiguration.conf, the mirror)."""

    value: str | None
    readonly: bool | None = None
    unknown: bool = False


@dataclass(frozen=True)
class KeyDrift:
    key: str
    desired: str
    reported: str | None
    status: DriftStatus


@dataclass(frozen=True)
class Attempt:
    """The last change sent for a key: which value, its answer, on which boot and firmware."""

    value: str
    status: ApplyStatus
    boot: datetime | None
    firmware_version: str


def configuration_drift(
    *, desired: Mapping[str, str], reported: Mapping[str, Reported]
) -> dict[str, KeyDrift]:
    """Per desired key: in sync, different, or not reported. Keys match case-insensitively
    (CiString50); a standard key's values compare by meaning ("TRUE" is "true")."""
    by_lower = {key.lower(): entry for key, entry in reported.items()}
    drift: dict[str, KeyDrift] = {}
    for key, value in desired.items():
        entry = by_lower.get(key.lower())
        if entry is None:
            status = DriftStatus.MISSING
        elif entry.unknown:
            status = DriftStatus.UNKNOWN
        elif configuration_values_equal(key, value, entry.value):
            status = DriftStatus.IN_SYNC
        elif entry.readonly:
            status = DriftStatus.READ_ONLY
        else:
            status = DriftStatus.DIFFERS
        drift[key] = KeyDrift(key, value, entry.value if entry else None, status)
    return drift


def configuration_change_due(
    *, drift: KeyDrift, attempt: Attempt | None, boot: datetime | None, firmware_version: str
) -> bool:
    """Whether to send a ChangeConfiguration for this key now.

    Once per key, desired value and boot: a charge point that reports the old value again
    after accepting is not sent the change again until it reboots, so a baseline never loops.
    Rejected/NotSupported stand until the desired value or the firmware changes; RebootRequired
    is not acted on (no Reset is sent): it is surfaced, and the next boot shows the value.
    """
    if drift.status not in (DriftStatus.DIFFERS, DriftStatus.MISSING):
        return False
    if attempt is None or not configuration_values_equal(drift.key, attempt.value, drift.desired):
        return True
    if attempt.status == ApplyStatus.PENDING:
        return False
    if attempt.status in REFUSED:
        return attempt.firmware_version != firmware_version
    if attempt.status in NOT_ATTEMPTED:
        return True
    return attempt.boot != boot


def drift_with_attempt(
    drift: KeyDrift, attempt: Attempt | None, *, boot: datetime | None
) -> DriftStatus:
    """The drift as shown: a value accepted with RebootRequired in this boot is not in effect
    yet, whatever the mirror now says."""
    if (
        attempt is not None
        and attempt.status == ApplyStatus.REBOOT_REQUIRED
        and attempt.boot == boot
        and configuration_values_equal(drift.key, attempt.value, drift.desired)
    ):
        return DriftStatus.REBOOT_REQUIRED
    return drift.status


def canonical_key(key: str) -> str:
    """The catalogue's spelling of a standard key; a vendor key as given."""
    spec = catalogue_key(key)
    return spec.name if spec else key
