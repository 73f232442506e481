"""The compatibility layer: real chargers' deviations, absorbed in one place and counted.

Each absorption is named (a *quirk*) so the caller can count it per charge point. Every switch
can be turned off per tenant or per charge point; outside these cases the protocol stays strict.

Two stages, to keep well-behaved chargers on the fast path:

* :func:`clean` runs on every transaction message (StartTransaction, StopTransaction,
  MeterValues) and fixes what would pass the schema but corrupt data (a meter reading with
  surrounding spaces, an idTag with trailing control bytes, a null transactionId);
* :func:`repair` runs only after the strict schema check failed, guided by the schema itself
  (timestamps without a zone, enum values in the wrong case, numbers where strings belong, a
  ``meterValue`` object instead of a list, empty optional strings, units outside the enum).
"""

import re
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

Quirks = list[str]


@dataclass(frozen=True, slots=True)
class CompatSwitches:
    lenient_timestamps: bool = True
    lenient_meter_values: bool = True
    lenient_enums: bool = True
    lenient_id_tags: bool = True
    lenient_transaction_ids: bool = True
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
INT32_MAX = 2**31 - 1
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]+")
# "+02", "-0530", "+2:00" -> "+HH:MM"
_SHORT_OFFSET = re.compile(r"([+-])(\d{1,2}):?(\d{2})?$")

TRANSACTION_MESSAGES = frozenset({"StartTransaction", "StopTransaction", "MeterValues"})


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
                value["value"] = format(raw, "g") if isinstance(raw, float) else str(raw)
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
        if value <= 0:
            quirks.append("transaction_id_not_positive")
        elif value > INT32_MAX:
            quirks.append("transaction_id_beyond_32_bits")


# --- Stage 2: only after the strict schema check failed -----------------------------------------


def repair(
    action: str, payload: dict[str, Any], schema: dict[str, Any], switches: CompatSwitches
) -> Quirks:
    """Repair ``payload`` in place, guided by its schema; return the quirks absorbed."""
    quirks: Quirks = []
    _repair_node(payload, schema, switches, quirks)
    return quirks


def _repair_node(
    node: Any, schema: dict[str, Any], switches: CompatSwitches, quirks: Quirks
) -> Any:
    kind = schema.get("type")
    if kind == "object" and isinstance(node, dict):
        required = set(schema.get("required", ()))
        for key, child_schema in schema.get("properties", {}).items():
            if key not in node:
                continue
            value = node[key]
            if (
                value == ""
                and key not in required
                and ("enum" in child_schema or "format" in child_schema)
                and switches.lenient_enums
            ):
                del node[key]
                quirks.append("empty_optional_field")
                continue
            node[key] = _repair_node(value, child_schema, switches, quirks)
        return node
    if kind == "array":
        if isinstance(node, dict) and switches.lenient_meter_values:
            quirks.append("object_instead_of_list")
            node = [node]
        if isinstance(node, list):
            items = schema.get("items", {})
            return [_repair_node(item, items, switches, quirks) for item in node]
        return node
    if kind == "string":
        if isinstance(node, int | float) and not isinstance(node, bool):
            if switches.lenient_meter_values:
                quirks.append("number_as_string")
                return str(node)
            return node
        if not isinstance(node, str):
            return node
        if schema.get("format") == "date-time" and switches.lenient_timestamps:
            return _repair_timestamp(node, quirks)
        enum = schema.get("enum")
        if enum and node not in enum and switches.lenient_enums:
            folded = {value.casefold(): value for value in enum}
            canonical = folded.get(node.strip().casefold())
            if canonical is not None:
                quirks.append("enum_case")
                return canonical
        return node
    return node


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
