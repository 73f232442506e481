"""The compatibility layer: real chargers' deviations, absorbed in one place and counted.

Each absorption is named (a *quirk*) so the caller can count it per charge point. Every switch
can be turned off per tenant or per charge point; outside these cases the protocol stays strict.

Two stages, to keep well-behaved chargers on the fast path:

* :func:`clean` runs on every transaction message (StartTransaction, StopTransaction,
  MeterValues) and fixes what would pass the schema but corrupt data (a meter reading with
  surrounding spaces, an idTag with trailing control bytes, a null transactionId);
* :func:`repair` runs only after the strict schema check failed, guided by the schema itself
  (timestamps without a zone, enum values in the wrong case, numbers where strings belong, a
  ``meterValue`` object instead of a list, empty optional strings, units outside the enum;
  in the messages a charger never gives up on, integers sent as decimals or strings, meter
  readings rounded or brought into range, unknown properties dropped).

A switch repairs only the messages it names (:func:`_repairs_for`): a number where a string
belongs is absorbed in a meter value, never in a BootNotification (SPEC §4 wants its
TypeConstraintViolation). Strings no database stores (a NUL, an unpaired surrogate) are
csms.ocpp.storable's.
"""

import math
import re
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from csms.ocpp.schemas import INT32_MAX as INT32_MAX  # re-exported: where apps import it from
from csms.ocpp.schemas import INT64_MAX, INT64_MIN

Quirks = list[str]


@dataclass(frozen=True, slots=True)
class CompatSwitches:
    lenient_timestamps: bool = True
    lenient_meter_values: bool = True
    lenient_enums: bool = True
    lenient_id_tags: bool = True
    lenient_transaction_ids: bool = True
    # The messages a session's bill rests on (ANSWERED_MESSAGES) are answered whenever their
    # transaction can be identified: a CALLERROR makes the charger retry and then drop them.
    lenient_transaction_messages: bool = True
    allow_missing_subprotocol: bool = False

    @classmethod
    def merged(cls, *layers: dict[str, Any] | None) -> "CompatSwitches":
        """Code defaults, then each layer (tenant defaults, charge point overrides) on top."""
        known = {f.name for f in fields(cls)}
        values: dict[str, bool] = {}
        for layer in layers:
            values.update(
                {k: v for k, v in (layer or {}).items() if k in known and isinstance(v, bool)}
            )
        return cls(**values)

    def any_lenient(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self) if f.name.startswith("lenient"))


SWITCH_NAMES = tuple(f.name for f in fields(CompatSwitches))

ID_TAG_MAX_LENGTH = 20
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]+")
# "+02", "-0530", "+2:00" -> "+HH:MM"
_SHORT_OFFSET = re.compile(r"([+-])(\d{1,2}):?(\d{2})?$")

TRANSACTION_MESSAGES = frozenset({"StartTransaction", "StopTransaction", "MeterValues"})
# Answered whenever what identifies them can be read (OCPP 1.6 §4.7/§4.8, SPEC §4): a charger
# retries a refused one with new message ids and then drops it, and the session is never billed.
ANSWERED_MESSAGES = TRANSACTION_MESSAGES | {"SecurityEventNotification"}

# Meter registers an integer field carries, by property, and the name their quirks go by.
_METER_READINGS = {"meterStart": "meter_start", "meterStop": "meter_stop"}
# The quirks a session is flagged with (the handler passes them on): its figures are not as sent.
SESSION_FLAG_QUIRKS = frozenset(
    f"{name}_{what}" for name in _METER_READINGS.values() for what in ("rounded", "out_of_range")
)


# --- Stage 1: always, on transaction messages ---------------------------------------------------


def clean(action: str, payload: dict[str, Any], switches: CompatSwitches) -> Quirks:
    """Fix in place what passes the schema but would corrupt data; return the quirks found."""
    quirks: Quirks = []
    if action not in TRANSACTION_MESSAGES:
        return quirks
    if switches.lenient_meter_values:
        key = "meterValue" if action == "MeterValues" else "transactionData"
        _clean_meter_values(payload, key, quirks)
    if action == "StopTransaction" and switches.lenient_id_tags and "idTag" in payload:
        payload["idTag"] = _clean_id_tag(payload["idTag"], quirks)
    if action != "StartTransaction" and switches.lenient_transaction_ids:
        _clean_transaction_id(action, payload, quirks)
    return quirks


def _clean_meter_values(payload: dict[str, Any], key: str, quirks: Quirks) -> None:
    entries = payload.get(key)
    if entries is None:
        return
    if isinstance(entries, dict):
        entries = payload[key] = [entries]
        quirks.append("meter_value_object")
    if not isinstance(entries, list):
        return
    kept = []
    for entry in entries:
        if not isinstance(entry, dict):
            kept.append(entry)
            continue
        sampled = entry.get("sampledValue")
        if isinstance(sampled, dict):
            sampled = entry["sampledValue"] = [sampled]
            quirks.append("sampled_value_object")
        if sampled == []:
            quirks.append("empty_sampled_value")
            continue
        for value in sampled if isinstance(sampled, list) else ():
            if not isinstance(value, dict):
                continue
            raw = value.get("value")
            if isinstance(raw, bool):
                continue
            if isinstance(raw, int | float):
                # repr: the shortest text that reads back as the same number ("g" kept six digits).
                value["value"] = repr(raw) if isinstance(raw, float) else str(raw)
                quirks.append("sampled_value_number")
            elif isinstance(raw, str) and raw != raw.strip():
                value["value"] = raw.strip()
                quirks.append("sampled_value_whitespace")
        kept.append(entry)
    payload[key] = kept


def _clean_id_tag(id_tag: Any, quirks: Quirks) -> Any:
    if not isinstance(id_tag, str):
        return id_tag
    cleaned = _CONTROL_CHARS.sub("", id_tag).strip()
    if cleaned != id_tag:
        quirks.append("id_tag_control_chars")
    if len(cleaned) > ID_TAG_MAX_LENGTH:
        # A refused StopTransaction is retried forever while the car keeps charging: accept it.
        cleaned = cleaned[:ID_TAG_MAX_LENGTH]
        quirks.append("id_tag_too_long")
    return cleaned


def _clean_transaction_id(action: str, payload: dict[str, Any], quirks: Quirks) -> None:
    if "transactionId" not in payload:
        return
    value = payload["transactionId"]
    if value is None:
        # Required in StopTransaction, optional in MeterValues: -1 marks "none given".
        payload["transactionId"] = -1
        quirks.append("transaction_id_null")
    elif isinstance(value, int) and not isinstance(value, bool):
        payload["transactionId"] = _transaction_id_classified(value, quirks)


def _transaction_id_classified(value: int, quirks: Quirks) -> int:
    """``value`` as kept for reconciliation, with the quirk of an id that names no session."""
    if not INT64_MIN <= value <= INT64_MAX:
        # Not even a reported id can be kept (64-bit columns): -1 marks "none readable"; the
        # frame as sent stays in the message log.
        quirks.append("transaction_id_beyond_64_bits")
        return -1
    if value <= 0:
        quirks.append("transaction_id_not_positive")
    elif value > INT32_MAX:
        quirks.append("transaction_id_beyond_32_bits")
    return value


def session_flags(quirks: Quirks) -> list[str]:
    """The quirks of a transaction message its session is flagged with (e.g. a rounded meter
    reading), once each and in a stable order."""
    return sorted(SESSION_FLAG_QUIRKS.intersection(quirks))


# --- Stage 2: only after the strict schema check failed -----------------------------------------


@dataclass(frozen=True, slots=True)
class _Repairs:
    """Which repairs one message gets: each switch names the messages it repairs."""

    timestamps: bool
    enums: bool
    # numbers where strings belong, an object where a list belongs (meter values)
    shapes: bool
    # integers sent as decimals or numeric strings, meter readings rounded or brought in range
    numbers: bool
    transaction_ids: bool
    unknown_properties: bool
    lengths: bool


def _repairs_for(action: str, switches: CompatSwitches) -> _Repairs:
    answered = switches.lenient_transaction_messages and action in ANSWERED_MESSAGES
    return _Repairs(
        timestamps=switches.lenient_timestamps,
        enums=switches.lenient_enums,
        # The meter-values switch owns these in transaction messages (with it off, a number in
        # a sampled value is refused however lenient the rest).
        shapes=(switches.lenient_meter_values and action in TRANSACTION_MESSAGES)
        or (answered and action not in TRANSACTION_MESSAGES),
        numbers=answered,
        transaction_ids=switches.lenient_transaction_ids and action != "StartTransaction",
        unknown_properties=answered,
        # Only the security log's free text: a transaction message's idTag is what it is.
        lengths=answered and action == "SecurityEventNotification",
    )


def repair(
    action: str, payload: dict[str, Any], schema: dict[str, Any], switches: CompatSwitches
) -> Quirks:
    """Repair ``payload`` in place, guided by its schema; return the quirks absorbed."""
    quirks: Quirks = []
    _repair_node(payload, schema, _repairs_for(action, switches), quirks, "")
    return quirks


def _repair_node(
    node: Any, schema: dict[str, Any], repairs: _Repairs, quirks: Quirks, key: str
) -> Any:
    kind = schema.get("type")
    if kind == "object" and isinstance(node, dict):
        properties = schema.get("properties", {})
        if repairs.unknown_properties and schema.get("additionalProperties") is False:
            # Ignored, not refused: the frame as sent keeps them in the message log.
            for unknown in [name for name in node if name not in properties]:
                del node[unknown]
                quirks.append("unknown_property")
        required = set(schema.get("required", ()))
        for name, child_schema in properties.items():
            if name not in node:
                continue
            value = node[name]
            if (
                value == ""
                and name not in required
                and ("enum" in child_schema or "format" in child_schema)
                and repairs.enums
            ):
                del node[name]
                quirks.append("empty_optional_field")
                continue
            node[name] = _repair_node(value, child_schema, repairs, quirks, name)
        return node
    if kind == "array":
        if isinstance(node, dict) and repairs.shapes:
            quirks.append("object_instead_of_list")
            node = [node]
        if isinstance(node, list):
            items = schema.get("items", {})
            return [_repair_node(item, items, repairs, quirks, key) for item in node]
        return node
    if kind == "string":
        return _repair_string(node, schema, repairs, quirks)
    if kind == "integer" and repairs.numbers:
        return _repair_integer(node, schema, repairs, quirks, key)
    return node


def _repair_string(node: Any, schema: dict[str, Any], repairs: _Repairs, quirks: Quirks) -> Any:
    if isinstance(node, int | float) and not isinstance(node, bool):
        if repairs.shapes:
            quirks.append("number_as_string")
            return str(node)
        return node
    if not isinstance(node, str):
        return node
    if schema.get("format") == "date-time" and repairs.timestamps:
        return _repair_timestamp(node, quirks)
    enum = schema.get("enum")
    if enum and node not in enum and repairs.enums:
        folded = {value.casefold(): value for value in enum}
        canonical = folded.get(node.strip().casefold())
        if canonical is not None:
            quirks.append("enum_case")
            return canonical
    max_length = schema.get("maxLength")
    if repairs.lengths and max_length is not None and len(node) > max_length:
        quirks.append("string_too_long")
        return node[:max_length]
    return node


# A number as text: "12345", " 12345.0 ", "-1.5e3".
_NUMBER_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
# Beyond this many digits a number is no reading of any meter (and its int() would be costly).
_MAX_DIGITS = 40


def _repair_integer(
    node: Any, schema: dict[str, Any], repairs: _Repairs, quirks: Quirks, key: str
) -> Any:
    """An integer as the charger meant it: ``12345.0`` and ``"12345"`` are 12345; a meter
    reading that is no integer is rounded (half up), one beyond its column's range is brought
    into it, both flagging the session. Anything else is left for the schema to refuse: a
    connector or transaction id of 1.5 identifies nothing."""
    if isinstance(node, bool):
        return node
    reading = _METER_READINGS.get(key)
    low, high = schema.get("minimum", INT64_MIN), schema.get("maximum", INT64_MAX)
    if isinstance(node, int):
        number = node
    else:
        exact = _decimal_of(node)
        if exact is None:
            return node
        if exact.adjusted() > _MAX_DIGITS:  # 1e30: no reading of any meter, no id of ours
            if reading is None:
                return node
            number = high + 1 if exact > 0 else low - 1
        else:
            integral = exact.to_integral_value(rounding=ROUND_HALF_UP)
            if integral != exact and reading is None:
                return node
            number = int(integral)
            if integral != exact:
                quirks.append(f"{reading}_rounded")
        quirks.append("integer_as_string" if isinstance(node, str) else "integer_as_decimal")
        if key == "transactionId" and repairs.transaction_ids:
            return _transaction_id_classified(number, quirks)
    if reading is not None and not low <= number <= high:
        quirks.append(f"{reading}_out_of_range")
        return min(max(number, low), high)
    return number


def _decimal_of(node: Any) -> Decimal | None:
    """The exact number a float or a numeric string says, or None."""
    if isinstance(node, float):
        return Decimal(repr(node)) if math.isfinite(node) else None
    if isinstance(node, str):
        text = node.strip()
        if not _NUMBER_TEXT.fullmatch(text):
            return None
        try:
            return Decimal(text)
        except InvalidOperation:
            return None
    return None


def _repair_timestamp(value: str, quirks: Quirks) -> str:
    text = value.strip().replace(" ", "T", 1)
    if text.endswith(("z", "Z")):
        text = text[:-1] + "+00:00"
    match = _SHORT_OFFSET.search(text)
    if match and "T" in text and match.start() > text.index("T"):
        sign, hours, minutes = match.groups()
        normalised = f"{sign}{int(hours):02d}:{minutes or '00'}"
        if normalised != match.group(0):
            quirks.append("timestamp_short_offset")
        text = text[: match.start()] + normalised
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return value  # leave it to the schema check to refuse
    if parsed.tzinfo is None:
        # No zone given: OCPP timestamps are UTC (1.6 §3.7 recommends UTC everywhere).
        parsed = parsed.replace(tzinfo=UTC)
        quirks.append("timestamp_without_zone")
    return parsed.isoformat()
