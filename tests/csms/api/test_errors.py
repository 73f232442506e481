"""One JSON error shape for every 4xx and 5xx of the API (SPEC §3.3, issue 20 §4), including
unknown /api/ paths, and the OpenAPI document naming it on every operation."""

import re
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from chargepoints.models import ChargePoint
from csms.tenancy.models import Tenant
from tests.factories import ChargePointFactory

pytestmark = pytest.mark.django_db

ERROR_KEYS = {"type", "code", "detail", "errors"}


def assert_error_shape(response: Any, status: int, *, kind: str = "client_error") -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == ERROR_KEYS, body
    assert body["type"] == kind
    assert isinstance(body["code"], str) and body["code"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["errors"], body
    for error in body["errors"]:
        assert set(error) == {"attr", "code", "detail"}
        assert error["attr"] is None or isinstance(error["attr"], str)
    return body


def schema_operations(api: APIClient) -> list[tuple[str, str]]:
    paths = api.get("/api/schema/?format=json").json()["paths"]
    return [
        (path, method)
        for path, operations in paths.items()
        for method in operations
        if method in ("get", "post", "patch", "put", "delete")
    ]


def concrete(path: str) -> str:
    """A path of the schema with every parameter filled with something that exists nowhere
    (of the shape its route takes: events are named by UUID)."""
    nowhere = "00000000-0000-0000-0000-000000000000" if "/events/" in path else "999999"
    return re.sub(r"\{[^}]+\}", nowhere, path)


# --- Every route ---------------------------------------------------------------------------------


def test_every_operation_without_a_token_answers_401_in_the_error_shape(api: APIClient) -> None:
    anonymous = APIClient()
    operations = schema_operations(api)
    assert len(operations) > 40  # the whole API, not a few routes

    for path, method in operations:
        response = getattr(anonymous, method)(concrete(path), {}, format="json")
        body = assert_error_shape(response, 401)
        assert body["code"] == "not_authenticated", (method, path)


def test_every_operation_on_a_missing_object_answers_404_in_the_error_shape(
    api: APIClient,
) -> None:
    for path, method in schema_operations(api):
        if "{" not in path:
            continue
        response = getattr(api, method)(concrete(path), {}, format="json")
        # A POST/PATCH may be refused for its body before the object is looked up.
        assert response.status_code in (400, 404), (method, path, response.content)
        kind = "validation_error" if response.json().get("type") == "validation_error" else None
        assert_error_shape(response, response.status_code, kind=kind or "client_error")


@pytest.mark.parametrize(
    "path",
    ["/api/v1/nope/", "/api/v1/charge-points/CP-1/nope/", "/api/v2/", "/api/v1/transactions/x/"],
)
def test_unknown_api_paths_answer_404_in_the_error_shape(api: APIClient, path: str) -> None:
    body = assert_error_shape(api.get(path), 404)
    assert body == {
        "type": "client_error",
        "code": "not_found",
        "detail": "No such API endpoint.",
        "errors": [{"attr": None, "code": "not_found", "detail": "No such API endpoint."}],
    }
    assert_error_shape(APIClient().post(path, {}, format="json"), 404)


def test_pages_outside_the_api_keep_their_html_404(client: Client) -> None:
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


# --- Each kind of error --------------------------------------------------------------------------


def test_a_validation_error_names_each_field(api: APIClient, tenant: Tenant) -> None:
    ChargePointFactory(tenant=tenant, identity="CP-1")

    response = api.post(
        "/api/v1/charge-points/", {"identity": "CP-1", "heartbeat_interval": 1}, format="json"
    )

    body = assert_error_shape(response, 400, kind="validation_error")
    assert body["code"] == "invalid"
    by_attr = {error["attr"]: error for error in body["errors"]}
    assert set(by_attr) == {"identity", "heartbeat_interval"}
    assert by_attr["identity"]["detail"] == "A charge point with this identity already exists."
    assert by_attr["heartbeat_interval"]["code"] == "min_value"
    assert "identity: A charge point with this identity already exists." in body["detail"]


def test_nested_validation_errors_have_dotted_paths(api: APIClient) -> None:
    response = api.post(
        "/api/v1/configuration-baselines/",
        {"name": "B", "entries": [{"key": "HeartbeatInterval", "value": "1"}, {"key": ""}]},
        format="json",
    )

    body = assert_error_shape(response, 400, kind="validation_error")
    attrs = {error["attr"] for error in body["errors"]}
    assert "entries.1.key" in attrs


def test_a_domain_error_keeps_its_detail_and_code(api: APIClient, tenant: Tenant) -> None:
    ChargePointFactory(tenant=tenant, identity="CP-1")

    response = api.post(
        "/api/v1/charge-points/CP-1/commands/",
        {"action": "Reset", "payload": {"type": "Sideways"}},
        format="json",
    )

    body = assert_error_shape(response, 400)
    assert body["code"] == "invalid_payload"
    assert body["detail"].startswith("PropertyConstraintViolation")
    assert body["errors"] == [{"attr": None, "code": "invalid_payload", "detail": body["detail"]}]


def test_a_malformed_body_and_a_wrong_method_answer_in_the_error_shape(api: APIClient) -> None:
    malformed = api.generic(
        "POST", "/api/v1/id-tags/", "{not json", content_type="application/json"
    )
    wrong_method = api.put("/api/v1/charge-points/", {}, format="json")

    assert assert_error_shape(malformed, 400)["code"] == "parse_error"
    assert assert_error_shape(wrong_method, 405)["code"] == "method_not_allowed"


def test_a_bad_token_answers_401_with_its_challenge() -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer csms_nope_nope")

    response = client.get("/api/v1/charge-points/")

    assert assert_error_shape(response, 401)["code"] == "authentication_failed"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_crash_answers_500_in_the_error_shape_without_a_traceback(
    api: APIClient, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    ChargePointFactory(tenant=tenant, identity="CP-1")

    def crash(self: Any, instance: ChargePoint) -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(
        "chargepoints.api.charge_points.ChargePointSerializer.to_representation", crash
    )
    response = api.get("/api/v1/charge-points/CP-1/")

    body = assert_error_shape(response, 500, kind="server_error")
    assert body["detail"] == "Internal server error."
    assert b"secret internals" not in response.content
    assert b"Traceback" not in response.content


# --- The OpenAPI document ------------------------------------------------------------------------


def test_the_openapi_document_names_the_error_shape_on_every_operation(api: APIClient) -> None:
    document = api.get("/api/schema/?format=json").json()
    error = document["components"]["schemas"]["Error"]
    assert set(error["required"]) == ERROR_KEYS

    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            errors = {code: r for code, r in responses.items() if code[0] in "45"}
            assert {"401", "429", "500"} <= set(errors), (method, path)
            for code, response in errors.items():
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, code)
            if "{" in path:
                assert "404" in errors, (method, path)
            if method in ("post", "patch"):
                assert "400" in errors, (method, path)
            assert "Retry-After" in responses["429"]["headers"]
