"""The OpenAPI document (issue 20 §4): the command payloads as the official OCPP 1.6 request
schemas with an example per action, operations grouped by resource."""

import pytest
from rest_framework.test import APIClient

from chargepoints.commands.dispatch import CENTRAL_SYSTEM_ACTIONS
from csms.api.openapi import ocpp_request_example, ocpp_request_schema
from csms.ocpp import schemas

pytestmark = pytest.mark.django_db


@pytest.fixture
def document(api: APIClient) -> dict:
    response = api.get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


@pytest.mark.parametrize("action", sorted(CENTRAL_SYSTEM_ACTIONS))
def test_each_actions_example_passes_its_official_schema(action: str) -> None:
    example = ocpp_request_example(ocpp_request_schema(action))

    schemas.validate(action, example)  # raises if the schema refuses it


def test_the_command_request_is_one_variant_per_action_with_the_official_schema(
    document: dict,
) -> None:
    components = document["components"]["schemas"]
    request = components["CommandRequestRequest"]
    mapping = request["discriminator"]["mapping"]

    assert request["discriminator"]["propertyName"] == "action"
    assert set(mapping) == CENTRAL_SYSTEM_ACTIONS
    reset = components["ResetCommandRequest"]
    assert reset["properties"]["action"] == {"type": "string", "enum": ["Reset"]}
    payload = components[reset["properties"]["payload"]["$ref"].rsplit("/", 1)[-1]]
    official = schemas.load_schema("Reset")
    assert payload["properties"] == official["properties"]
    assert payload["required"] == official["required"]
    # The security extension's schemas have definitions: inlined, no dangling references.
    assert "$ref" not in str(components["OcppSignedUpdateFirmwareRequest"])
    assert "$schema" not in str(components["OcppResetRequest"])


def test_the_commands_endpoint_has_an_example_per_action(document: dict) -> None:
    operation = document["paths"]["/api/v1/charge-points/{identity}/commands/"]["post"]
    examples = operation["requestBody"]["content"]["application/json"]["examples"]

    assert set(examples) == CENTRAL_SYSTEM_ACTIONS
    assert examples["Reset"]["value"] == {"action": "Reset", "payload": {"type": "Hard"}}


def test_operations_are_grouped_by_resource(document: dict) -> None:
    def tags(path: str, method: str = "get") -> list[str]:
        return document["paths"][path][method]["tags"]

    assert tags("/api/v1/charge-points/") == ["charge-points"]
    assert tags("/api/v1/charge-points/{identity}/commands/", "post") == ["commands"]
    assert tags("/api/v1/commands/") == ["commands"]
    assert tags("/api/v1/charge-points/{identity}/configuration/") == ["configuration"]
    assert tags("/api/v1/configuration-keys/") == ["configuration"]
    assert tags("/api/v1/transactions/{id}/meter-values/") == ["transactions"]
    assert {tag["name"] for tag in document["tags"]} >= {"charge-points", "commands", "id-tags"}
    for operations in document["paths"].values():
        for operation in operations.values():
            assert len(operation["tags"]) == 1


def test_the_document_is_valid_openapi_3(document: dict) -> None:
    from drf_spectacular.validation import validate_schema

    validate_schema(document)  # raises on anything the OpenAPI 3 schema refuses
