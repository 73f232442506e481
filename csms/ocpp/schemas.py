"""The official OCPP 1.6 JSON schemas (from the ``ocpp`` package), compiled once each.

fastjsonschema generates Python code per schema: measured by ``benchmarks/schema_validation.py``
it validates a MeterValues request roughly an order of magnitude faster than jsonschema's
Draft4Validator, which matters on the per-frame hot path.
"""

import copy
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

import fastjsonschema
from fastjsonschema.draft04 import CodeGeneratorDraft04

from csms.ocpp.errors import ErrorCode, OcppError

Validator = Callable[[Any], Any]

# Our 1.6 names for schema rules (OCPP-J §4.2.3). The ``ocpp`` package raises 2.0 names such
# as FormatViolation; a 1.6 charger expects these.
_RULE_TO_CODE = {
    "type": ErrorCode.TYPE_CONSTRAINT_VIOLATION,
    "required": ErrorCode.OCCURENCE_CONSTRAINT_VIOLATION,
    "minItems": ErrorCode.OCCURENCE_CONSTRAINT_VIOLATION,
    "maxItems": ErrorCode.OCCURENCE_CONSTRAINT_VIOLATION,
    "additionalProperties": ErrorCode.FORMATION_VIOLATION,
    "maxLength": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
    "minLength": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
    "enum": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
    "format": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
    "minimum": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
    "maximum": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
    "multipleOf": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
    "pattern": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
}

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

# The official schemas bound no integer, but every integer a charge point sends ends in a
# column: an out-of-range one must be refused by validation (PropertyConstraintViolation), not
# by the database as an InternalError. Connector ids are never negative; meter registers and
# the transaction ids a charger reports are kept in 64-bit columns; the rest in 32-bit ones.
_INTEGER_BOUNDS = {
    "connectorId": (0, INT32_MAX),
    "meterStart": (INT64_MIN, INT64_MAX),
    "meterStop": (INT64_MIN, INT64_MAX),
    "transactionId": (INT64_MIN, INT64_MAX),
}
_DEFAULT_INTEGER_BOUNDS = (INT32_MIN, INT32_MAX)

# fastjsonschema's own RFC 3339 pattern, and then the instant itself: a leap second ("…:60"),
# a lowercase "z" or an instant beyond year 9999 once in UTC match the pattern but no
# datetime reads them: each used to reach a handler and crash it.
_DATE_TIME_SHAPE = re.compile(CodeGeneratorDraft04.FORMAT_REGEXS["date-time"])

# Measurands and units outside the 1.6 enums that real meters report (``Celsius``, ``Hz``):
# the lenient variant of a schema accepts any string there, and the value is kept as given.
_OPEN_ENUM_PROPERTIES = frozenset({"unit", "measurand"})


def _schema_dir() -> Any:
    return resources.files("ocpp.v16").joinpath("schemas")


@cache
def schema_names() -> frozenset[str]:
    return frozenset(
        entry.name.removesuffix(".json")
        for entry in _schema_dir().iterdir()
        if entry.name.endswith(".json")
    )


def request_actions() -> frozenset[str]:
    """Every action with a request schema (both directions, core and security extension)."""
    return frozenset(name for name in schema_names() if not name.endswith("Response"))


@cache
def load_schema(name: str) -> dict[str, Any]:
    with _schema_dir().joinpath(f"{name}.json").open(encoding="utf-8") as handle:
        schema: dict[str, Any] = json.load(handle)
    return schema


def _property_schemas(node: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every ``(name, schema)`` of every ``properties`` in a schema, however deeply nested."""
    if isinstance(node, dict):
        for name, child in node.get("properties", {}).items():
            if isinstance(child, dict):
                yield name, child
        for value in node.values():
            yield from _property_schemas(value)
    elif isinstance(node, list):
        for value in node:
            yield from _property_schemas(value)


def _open_enums(node: Any) -> Any:
    for name, child in _property_schemas(node):
        if name in _OPEN_ENUM_PROPERTIES:
            child.pop("enum", None)
    return node


def _bound_integers(node: Any) -> None:
    for name, child in _property_schemas(node):
        if child.get("type") == "integer":
            low, high = _INTEGER_BOUNDS.get(name, _DEFAULT_INTEGER_BOUNDS)
            child.setdefault("minimum", low)
            child.setdefault("maximum", high)


@cache
def checked_schema(name: str) -> dict[str, Any]:
    """The official schema ``name`` as we check it: a request's integers bounded by the columns
    they are stored in (responses are the official schemas as they are)."""
    if name.endswith("Response"):
        return load_schema(name)
    schema = copy.deepcopy(load_schema(name))
    _bound_integers(schema)
    return schema


def is_date_time(value: str) -> bool:
    """An RFC 3339 date-time that is also an instant a datetime (and so the database) holds."""
    if not _DATE_TIME_SHAPE.match(value):
        return False
    try:
        datetime.fromisoformat(value).astimezone(UTC)
    except (ValueError, OverflowError):
        return False
    return True


@cache
def _compiled(name: str, lenient: bool) -> Validator:
    schema = checked_schema(name)
    if lenient:
        schema = _open_enums(copy.deepcopy(schema))
    validator: Validator = fastjsonschema.compile(schema, formats={"date-time": is_date_time})
    return validator


def _schema_name(action: str, *, response: bool) -> str:
    return f"{action}Response" if response else action


def has_schema(action: str, *, response: bool = False) -> bool:
    return _schema_name(action, response=response) in schema_names()


def validate(
    action: str, payload: dict[str, Any], *, response: bool = False, lenient: bool = False
) -> None:
    """Raise :class:`OcppError` with the OCPP 1.6 code if ``payload`` breaks the schema."""
    validator = _compiled(_schema_name(action, response=response), lenient)
    try:
        validator(payload)
    except fastjsonschema.JsonSchemaValueException as exc:
        code = _RULE_TO_CODE.get(exc.rule or "", ErrorCode.FORMATION_VIOLATION)
        raise OcppError(code, exc.message.replace("data", "payload", 1)[:200]) from exc


def warm_up() -> None:
    """Compile every schema now (at process start) rather than on a charger's first frame."""
    for name in schema_names():
        _compiled(name, False)
