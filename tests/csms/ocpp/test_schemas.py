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
