"""What the OpenAPI document says beyond what drf-spectacular reads from the views: the error
shape on every operation, ``Idempotency-Key`` on every POST, operations grouped by resource,
and the command payloads as the official OCPP 1.6 request schemas, with an example per action.

A postprocessing hook (``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``), so that operations
other apps add are described the same way without a decorator of their own.
"""

import copy
from datetime import UTC, datetime
from typing import Any

from csms.ocpp import schemas

ERROR_COMPONENT = "Error"
_ERROR_REF = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}
_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Every 4xx and 5xx answer of the API.",
    "required": ["type", "code", "detail", "errors"],
    "properties": {
        "type": {"type": "string", "enum": ["validation_error", "client_error", "server_error"]},
        "code": {"type": "string", "description": "What went wrong, for programs."},
        "detail": {"type": "string", "description": "What went wrong, for people."},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["attr", "code", "detail"],
                "properties": {
                    "attr": {
                        "type": "string",
                        "nullable": True,
                        "description": "Dotted path of the field; null: the whole request.",
                    },
                    "code": {"type": "string"},
                    "detail": {"type": "string"},
                },
            },
        },
    },
}
_ERROR_DESCRIPTIONS = {
    "400": "Invalid input (nothing was changed)",
    "401": "No token, or an invalid or revoked one",
    "403": "Not allowed for this token",
    "404": "No such object in the token's tenant",
    "409": "Conflict: the object's state, or an Idempotency-Key reused with another body",
    "429": "Too many requests for this token; see the Retry-After header (seconds)",
    "500": "Internal server error",
}
IDEMPOTENCY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Repeating a request with the same key and body returns the first answer "
    "(with Idempotent-Replayed: true) instead of doing it again; the same key with another "
    "body is a 409. Keys are kept per token for a day.",
    "schema": {"type": "string", "maxLength": 255},
}
_RETRY_AFTER_HEADER = {
    "Retry-After": {
        "description": "Seconds until a request is allowed",
        "schema": {"type": "integer"},
    }
}

# Operations are grouped by the resource they act on: a nested collection under a charge point
# is its own resource (its commands, its configuration), the typed command endpoints are
# commands.
_NESTED_TAGS = {
    "commands": "commands",
    "remote-start": "commands",
    "remote-stop": "commands",
    "reset": "commands",
    "unlock": "commands",
    "change-availability": "commands",
    "configuration": "configuration",
    "charging-profiles": "charging-profiles",
    "clear-charging-profiles": "charging-profiles",
    "composite-schedule": "charging-profiles",
    "local-list": "id-tags",
    "meter-values": "transactions",
}
TAGS = [
    {"name": "charge-points", "description": "Charge points, addressed by their OCPP identity"},
    {"name": "commands", "description": "Commands sent to charge points and their answers"},
    {"name": "configuration", "description": "Configuration keys, the catalogue, baselines"},
    {"name": "id-tags", "description": "idTags and local authorization lists"},
    {"name": "transactions", "description": "Charging sessions and their meter values"},
    {"name": "reservations", "description": "Reservations (ReserveNow, CancelReservation)"},
    {"name": "charging-profiles", "description": "Smart charging profiles and schedules"},
]


def _tag_of(path: str) -> str | None:
    parts = [part for part in path.split("/") if part]
    if parts[:2] != ["api", "v1"] or len(parts) < 3:
        return None
    resource = parts[2]
    for part in parts[3:]:
        if not part.startswith("{") and part in _NESTED_TAGS:
            return _NESTED_TAGS[part]
    if resource in ("configuration-baselines", "configuration-keys"):
        return "configuration"
    return resource


# --- The command payloads: the official schemas --------------------------------------------------

# Keys of JSON Schema draft 4 that OpenAPI 3.0 has no place for.
_NOT_OPENAPI = frozenset({"$schema", "$id", "id", "javaType", "additionalItems", "definitions"})


def _inline(node: Any, definitions: dict[str, Any]) -> Any:
    """``node`` with its ``#/definitions/…`` references replaced by what they name."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/definitions/"):
            return _inline(definitions[ref.removeprefix("#/definitions/")], definitions)
        return {
            key: _inline(value, definitions)
            if key != "properties"
            else _inline_properties(value, definitions)
            for key, value in node.items()
            if key not in _NOT_OPENAPI
        }
    if isinstance(node, list):
        return [_inline(item, definitions) for item in node]
    return node


def _inline_properties(properties: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    # Property names are data, not schema keywords: a property may be called "id".
    return {name: _inline(schema, definitions) for name, schema in properties.items()}


def ocpp_request_schema(action: str) -> dict[str, Any]:
    """The official OCPP 1.6 request schema of ``action`` (from the ``ocpp`` package) as an
    OpenAPI 3.0 schema object."""
    official = copy.deepcopy(schemas.load_schema(action))
    return dict(_inline(official, official.get("definitions", {})))


def ocpp_request_example(schema: dict[str, Any]) -> Any:
    """A payload that the schema accepts, built from it: its required properties only, the
    first of each enum, short strings, integers within their bounds."""
    kind = schema.get("type")
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "object":
        properties = schema.get("properties", {})
        return {
            name: ocpp_request_example(properties[name])
            for name in schema.get("required", [])
            if name in properties
        }
    if kind == "array":
        count = max(1, schema.get("minItems", 1))
        return [ocpp_request_example(schema.get("items", {})) for _ in range(count)]
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return max(1.0, float(schema.get("minimum", 1)))
    if kind == "boolean":
        return True
    if kind == "string":
        if schema.get("format") == "date-time":
            return datetime(2030, 1, 1, tzinfo=UTC).isoformat().replace("+00:00", "Z")
        if schema.get("format") == "uri":
            return "https://files.example.com/firmware.bin"
        return "ABC123"[: schema.get("maxLength", 6)]
    return {}


def _command_request_schemas(
    actions: list[str], components: dict[str, Any], base: dict[str, Any]
) -> dict[str, Any]:
    """``CommandRequest`` as one variant per action (discriminated by ``action``), each with
    the official payload schema."""
    variants, mapping = [], {}
    for action in actions:
        payload_name = f"Ocpp{action}Request"
        components[payload_name] = ocpp_request_schema(action)
        variant_name = f"{action}CommandRequest"
        properties = copy.deepcopy(base.get("properties", {}))
        properties["action"] = {"type": "string", "enum": [action]}
        properties["payload"] = {"$ref": f"#/components/schemas/{payload_name}"}
        components[variant_name] = {
            "type": "object",
            "required": ["action", "payload"],
            "properties": properties,
        }
        variants.append({"$ref": f"#/components/schemas/{variant_name}"})
        mapping[action] = f"#/components/schemas/{variant_name}"
    return {
        "oneOf": variants,
        "discriminator": {"propertyName": "action", "mapping": mapping},
        "description": "Any Central-System-initiated OCPP 1.6 action; the payload is checked "
        "against the official request schema of that action (400 if it does not fit).",
    }


def _describe_commands(result: dict[str, Any], actions: list[str]) -> None:
    components = result.setdefault("components", {}).setdefault("schemas", {})
    for name in ("CommandRequest", "CommandRequestRequest"):
        if name in components:
            components[name] = _command_request_schemas(actions, components, components[name])
    examples = {
        action: {
            "summary": action,
            "value": {
                "action": action,
                "payload": ocpp_request_example(ocpp_request_schema(action)),
            },
        }
        for action in actions
    }
    operation = result["paths"].get("/api/v1/charge-points/{identity}/commands/", {}).get("post")
    if operation:
        for content in operation.get("requestBody", {}).get("content", {}).values():
            content["examples"] = examples


# --- The hook ------------------------------------------------------------------------------------


def _error_codes(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    codes = ["500"]
    if any("bearerAuth" in requirement for requirement in operation.get("security", [])):
        codes += ["401", "403", "429"]
    if "{" in path:
        codes.append("404")
    if operation.get("requestBody") or operation.get("parameters"):
        codes.append("400")
    if method in ("post", "patch", "put", "delete"):
        codes += ["400", "409"]
    return sorted(set(codes))


def postprocess(result: dict[str, Any], generator: Any, request: Any, public: bool) -> Any:
    """drf-spectacular postprocessing hook: see the module docstring."""
    from chargepoints.commands.dispatch import CENTRAL_SYSTEM_ACTIONS

    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_COMPONENT] = _ERROR_SCHEMA
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            tag = _tag_of(path)
            if tag:
                operation["tags"] = [tag]
            responses = operation["responses"]
            for code in _error_codes(path, method, operation):
                response = responses.setdefault(code, {"description": _ERROR_DESCRIPTIONS[code]})
                response["content"] = {"application/json": {"schema": _ERROR_REF}}
                if code == "429":
                    response["headers"] = _RETRY_AFTER_HEADER
            if method == "post" and path.startswith("/api/v1/"):
                parameters = operation.setdefault("parameters", [])
                if not any(p.get("name") == "Idempotency-Key" for p in parameters):
                    parameters.append(IDEMPOTENCY_PARAMETER)
    _describe_commands(result, sorted(CENTRAL_SYSTEM_ACTIONS))
    known = {tag["name"] for tag in TAGS}
    used = {
        tag
        for operations in result.get("paths", {}).values()
        for operation in operations.values()
        if isinstance(operation, dict)
        for tag in operation.get("tags", [])
    }
    result["tags"] = [tag for tag in TAGS if tag["name"] in used] + [
        {"name": name} for name in sorted(used - known)
    ]
    return result
