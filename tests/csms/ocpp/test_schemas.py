"""Schema validation with the official 1.6 schemas, answered with OCPP-J **1.6** error codes."""

from typing import Any

import pytest

from csms.ocpp import schemas
from csms.ocpp.errors import ErrorCode, OcppError

STAMP = "2024-05-01T10:00:00Z"


def code_for(action: str, payload: dict[str, Any], **options: Any) -> str:
    with pytest.raises(OcppError) as error:
        schemas.validate(action, payload, **options)
    return error.value.code


def meter_values(**sampled: Any) -> dict[str, Any]:
    return {"connectorId": 1, "meterValue": [{"timestamp": STAMP, "sampledValue": [sampled]}]}


def test_error_codes_are_the_ocpp_j_16_names() -> None:
    # OCPP-J 1.6 §4.2.3, including its misspelling; never the 2.0 names the ocpp package raises.
    assert {code.value for code in ErrorCode} == {
        "NotImplemented",
        "NotSupported",
        "InternalError",
        "ProtocolError",
        "SecurityError",
        "FormationViolation",
        "PropertyConstraintViolation",
        "OccurenceConstraintViolation",
        "TypeConstraintViolation",
        "GenericError",
    }


@pytest.mark.parametrize(
    ("action", "payload", "code"),
    [
        (
            "StatusNotification",
            {"connectorId": "1", "errorCode": "NoError", "status": "Available"},
            "TypeConstraintViolation",
        ),
        ("Authorize", {"idTag": 5}, "TypeConstraintViolation"),
        ("BootNotification", {"chargePointVendor": "V"}, "OccurenceConstraintViolation"),
        ("MeterValues", {"connectorId": 1, "meterValue": []}, "OccurenceConstraintViolation"),
        ("Heartbeat", {"unexpected": True}, "FormationViolation"),
        ("Authorize", {"idTag": "T" * 21}, "PropertyConstraintViolation"),
        (
            "StatusNotification",
            {"connectorId": 1, "errorCode": "NoError", "status": "Exploded"},
            "PropertyConstraintViolation",
        ),
        (
            "StartTransaction",
            {"connectorId": 1, "idTag": "T", "meterStart": 0, "timestamp": "yesterday"},
            "PropertyConstraintViolation",
        ),
    ],
    ids=[
        "type_string_for_integer",
        "type_number_for_string",
        "required",
        "min_items",
        "additional_property",
        "max_length",
        "enum",
        "date_time_format",
    ],
)
def test_schema_failures_map_to_16_codes(action: str, payload: dict[str, Any], code: str) -> None:
    assert code_for(action, payload) == code


def test_valid_payloads_pass() -> None:
    schemas.validate("Heartbeat", {})
    schemas.validate("BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"})
    schemas.validate("MeterValues", meter_values(value="1", unit="Celsius"))
    schemas.validate(
        "BootNotification",
        {"status": "Accepted", "currentTime": STAMP, "interval": 300},
        response=True,
    )


def test_a_response_is_checked_against_the_response_schema() -> None:
    assert code_for("Heartbeat", {}, response=True) == "OccurenceConstraintViolation"


def test_the_description_speaks_of_the_payload_and_is_short() -> None:
    with pytest.raises(OcppError) as error:
        schemas.validate("BootNotification", {"chargePointVendor": "V"})
    assert error.value.description.startswith("payload")
    assert "chargePointModel" in error.value.description
    assert len(error.value.description) <= 200


def test_units_and_measurands_outside_the_enum_pass_only_the_lenient_variant() -> None:
    for payload in (meter_values(value="1", unit="Hz"), meter_values(value="1", measurand="X.Y")):
        assert code_for("MeterValues", payload) == "PropertyConstraintViolation"
        schemas.validate("MeterValues", payload, lenient=True)


def test_the_lenient_variant_keeps_every_other_enum() -> None:
    assert code_for("MeterValues", meter_values(value="1", phase="L4"), lenient=True) == (
        "PropertyConstraintViolation"
    )
    assert (
        code_for(
            "StatusNotification",
            {"connectorId": 1, "errorCode": "NoError", "status": "available"},
            lenient=True,
        )
        == "PropertyConstraintViolation"
    )


def test_the_lenient_variant_leaves_the_official_schema_untouched() -> None:
    schemas.validate("MeterValues", meter_values(value="1", unit="Hz"), lenient=True)
    sampled = schemas.load_schema("MeterValues")["properties"]["meterValue"]["items"]["properties"][
        "sampledValue"
    ]["items"]["properties"]
    assert "Wh" in sampled["unit"]["enum"]
    assert "Hz" not in sampled["unit"]["enum"]


def test_request_actions_cover_both_directions_and_the_security_extension() -> None:
    actions = schemas.request_actions()
    assert {
        "BootNotification",
        "StartTransaction",
        "RemoteStartTransaction",
        "SetChargingProfile",
        "TriggerMessage",
        "SecurityEventNotification",
        "SignCertificate",
        "SignedFirmwareStatusNotification",
        "LogStatusNotification",
        "InstallCertificate",
        "DeleteCertificate",
        "GetInstalledCertificateIds",
        "CertificateSigned",
        "ExtendedTriggerMessage",
        "GetLog",
        "SignedUpdateFirmware",
    } <= actions
    assert not any(action.endswith("Response") for action in actions)
    # 1.6 core (28 request schemas) plus the security extension (11).
    assert len(actions) == 39


def test_has_schema() -> None:
    assert schemas.has_schema("BootNotification")
    assert schemas.has_schema("BootNotification", response=True)
    assert not schemas.has_schema("FlyToTheMoon")
    assert not schemas.has_schema("BootNotificationResponse", response=True)


# --- Bounds and instants (issue 16 §5) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "payload"),
    [
        ("StatusNotification", {"connectorId": -1, "errorCode": "NoError", "status": "Available"}),
        (
            "StatusNotification",
            {"connectorId": 2**31, "errorCode": "NoError", "status": "Available"},
        ),
        ("LogStatusNotification", {"status": "Idle", "requestId": 2**31}),
        ("StopTransaction", {"transactionId": 10**20, "meterStop": 1, "timestamp": STAMP}),
        (
            "StartTransaction",
            {"connectorId": 1, "idTag": "T", "meterStart": 2**63, "timestamp": STAMP},
        ),
        (
            "StartTransaction",
            {
                "connectorId": 1,
                "idTag": "T",
                "meterStart": 0,
                "timestamp": STAMP,
                "reservationId": -(2**31) - 1,
            },
        ),
    ],
)
def test_integers_beyond_their_columns_are_property_violations(
    action: str, payload: dict[str, Any]
) -> None:
    assert code_for(action, payload) == "PropertyConstraintViolation"


@pytest.mark.parametrize(
    ("action", "payload"),
    [
        ("StatusNotification", {"connectorId": 0, "errorCode": "NoError", "status": "Available"}),
        (
            "StatusNotification",
            {"connectorId": 2**31 - 1, "errorCode": "NoError", "status": "Available"},
        ),
        ("StopTransaction", {"transactionId": 2**40, "meterStop": -(2**63), "timestamp": STAMP}),
        (
            "MeterValues",
            {
                "connectorId": 1,
                "transactionId": -1,
                "meterValue": [{"timestamp": STAMP, "sampledValue": [{"value": "1"}]}],
            },
        ),
    ],
)
def test_integers_within_their_columns_pass(action: str, payload: dict[str, Any]) -> None:
    schemas.validate(action, payload)


def test_responses_keep_the_official_schemas_unbounded() -> None:
    assert schemas.checked_schema("StartTransactionResponse") == schemas.load_schema(
        "StartTransactionResponse"
    )
    assert "maximum" not in schemas.load_schema("StartTransaction")["properties"]["meterStart"]


@pytest.mark.parametrize(
    ("value", "readable"),
    [
        ("2024-05-01T10:00:00Z", True),
        ("2024-05-01T10:00:00.123456789+05:30", True),
        ("2024-05-01T15:30:00+0530", True),
        ("2024-05-01T10:00:60Z", False),
        ("2024-05-01T10:00:00z", False),
        ("9999-12-31T23:59:59-01:00", False),
        ("0001-01-01T00:00:00+01:00", False),
        ("2023-02-29T10:00:00Z", False),
        ("yesterday", False),
    ],
)
def test_a_date_time_is_an_instant_a_datetime_holds(value: str, readable: bool) -> None:
    assert schemas.is_date_time(value) is readable
