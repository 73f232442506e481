"""The value types of OCPP 1.6 configuration keys (OCPP 1.6 §9) and how a value is checked.

Every value travels as a string (ChangeConfiguration.req ``value``, CiString500). A type says
which strings are valid, how two valid strings compare (``"TRUE"`` equals ``"true"``, ``"060"``
equals ``"60"``, a comma-separated list ignores order and blanks around items) and describes
itself for the catalogue API. Pure: no ORM.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar, Protocol

from csms.ocpp import schemas

# Integers of the catalogue are 32-bit on every charge point we know of.
MAX_INTEGER = 2**31 - 1
_INTEGER = re.compile(r"-?[0-9]+")


class ValueType(Protocol):
    kind: ClassVar[str]

    def problem(self, value: str, *, reported: Mapping[str, str | None]) -> str | None: ...

    def canonical(self, value: str) -> str: ...

    def describe(self) -> dict[str, Any]: ...


def _reported_int(reported: Mapping[str, str | None], key: str | None) -> int | None:
    """An integer the charge point reported for ``key`` (keys looked up lower-cased)."""
    if not key:
        return None
    raw = reported.get(key.lower())
    if raw is None or not _INTEGER.fullmatch(raw.strip()):
        return None
    return int(raw)


@dataclass(frozen=True)
class BooleanValue:
    kind: ClassVar[str] = "boolean"

    def problem(self, value: str, *, reported: Mapping[str, str | None]) -> str | None:
        # OCPP 1.6 §9: "true" or "false"; charge points compare case-insensitively.
        if value.lower() in ("true", "false"):
            return None
        return f'must be "true" or "false", not {value!r}'

    def canonical(self, value: str) -> str:
        return value.lower()

    def describe(self) -> dict[str, Any]:
        return {}


@dataclass(frozen=True)
class IntegerValue:
    kind: ClassVar[str] = "integer"
    minimum: int = 0
    maximum: int = MAX_INTEGER
    # Security whitepaper: SecurityProfile "can only be increased to a higher level".
    only_increase: bool = False
    key: str = ""  # set for only_increase: where the current value is reported

    def problem(self, value: str, *, reported: Mapping[str, str | None]) -> str | None:
        if not _INTEGER.fullmatch(value):
            return f"must be an integer, not {value!r}"
        number = int(value)
        if not self.minimum <= number <= self.maximum:
            if self.maximum == MAX_INTEGER:
                return f"must be {self.minimum} or more, not {number}"
            return f"must be between {self.minimum} and {self.maximum}, not {number}"
        current = _reported_int(reported, self.key) if self.only_increase else None
        if current is not None and number < current:
            return f"can only be increased (the charge point reports {current})"
        return None

    def canonical(self, value: str) -> str:
        return str(int(value)) if _INTEGER.fullmatch(value.strip()) else value

    def describe(self) -> dict[str, Any]:
        return {"minimum": self.minimum, "maximum": self.maximum}


@dataclass(frozen=True)
class StringValue:
    kind: ClassVar[str] = "string"
    max_length: int = 500  # ChangeConfiguration.req value: CiString500

    def problem(self, value: str, *, reported: Mapping[str, str | None]) -> str | None:
        if len(value) > self.max_length:
            return f"must be at most {self.max_length} characters"
        return None

    def canonical(self, value: str) -> str:
        return value

    def describe(self) -> dict[str, Any]:
        return {"max_length": self.max_length}


# --- Comma-separated lists (CSL) ----------------------------------------------------------------


@cache
def _meter_value_enum(field: str) -> tuple[str, ...]:
    """The 1.6 enum of a sampledValue field, from the official MeterValues schema."""
    sampled = schemas.load_schema("MeterValues")["properties"]["meterValue"]["items"]
    return tuple(sampled["properties"]["sampledValue"]["items"]["properties"][field]["enum"])


def measurands() -> tuple[str, ...]:
    return _meter_value_enum("measurand")


def phases() -> tuple[str, ...]:
    return _meter_value_enum("phase")


# §9.1.29 SupportedFeatureProfiles
FEATURE_PROFILES = (
    "Core",
    "FirmwareManagement",
    "LocalAuthListManagement",
    "Reservation",
    "SmartCharging",
    "RemoteTrigger",
)
# §9.4 ChargingScheduleAllowedChargingRateUnit
CHARGING_RATE_UNITS = ("Current", "Power")
# §9.1.7 ConnectorPhaseRotation, per connector: "0.RST, 1.RST, 2.RTS"
PHASE_ROTATIONS = ("NotApplicable", "Unknown", "RST", "RTS", "SRT", "STR", "TRS", "TSR")


def _measurand_item(item: str) -> str | None:
    # §9.1.17: "Where applicable, the Measurand is combined with the optional phase; for
    # instance: Voltage.L1". Phases hold no dots, so the last dot separates them.
    if item in measurands():
        return None
    measurand, _, phase = item.rpartition(".")
    if measurand in measurands() and phase in phases():
        return None
    return f"{item!r} is not a measurand (optionally with a phase, e.g. Voltage.L1)"


def _phase_rotation_item(item: str) -> str | None:
    connector, _, rotation = item.partition(".")
    if connector.isdigit() and rotation in PHASE_ROTATIONS:
        return None
    rotations = ", ".join(PHASE_ROTATIONS)
    return f"{item!r} is not <connectorId>.<rotation> with a rotation of {rotations}"


def _one_of(choices: tuple[str, ...]) -> Callable[[str], str | None]:
    def check(item: str) -> str | None:
        return None if item in choices else f"{item!r} is not one of {', '.join(choices)}"

    return check


# What the items of a list are: (how one is checked, the choices to show in the catalogue).
LIST_ITEMS: dict[str, tuple[Callable[[str], str | None], Callable[[], tuple[str, ...]]]] = {
    "measurand": (_measurand_item, measurands),
    "phase_rotation": (_phase_rotation_item, lambda: PHASE_ROTATIONS),
    "feature_profile": (_one_of(FEATURE_PROFILES), lambda: FEATURE_PROFILES),
    "charging_rate_unit": (_one_of(CHARGING_RATE_UNITS), lambda: CHARGING_RATE_UNITS),
}


def list_items(value: str) -> list[str]:
    """The items of a CSL; blanks around items are not part of them ("0.RST, 1.RST")."""
    return [item.strip() for item in value.split(",")] if value.strip() else []


@dataclass(frozen=True)
class ListValue:
    kind: ClassVar[str] = "csl"
    item: str  # a key of LIST_ITEMS
    # The read-only key in which the charge point says how many items it takes (§9.1).
    max_length_key: str | None = None

    def problem(self, value: str, *, reported: Mapping[str, str | None]) -> str | None:
        items = list_items(value)
        if "" in items:
            return "is a comma-separated list with an empty item"
        check, _choices = LIST_ITEMS[self.item]
        for item in items:
            if problem := check(item):
                return problem
        limit = _reported_int(reported, self.max_length_key)
        if limit is not None and len(items) > limit:
            return (
                f"lists {len(items)} items; the charge point takes at most {limit} "
                f"({self.max_length_key})"
            )
        return None

    def canonical(self, value: str) -> str:
        return ",".join(sorted(list_items(value)))

    def describe(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "choices": list(LIST_ITEMS[self.item][1]()),
            "max_length_key": self.max_length_key,
        }
