"""The pipeline's pure stages: admitting a CALL, the request handlers see, the answer."""

from typing import Any

import pytest

from csms.ocpp import router, schemas
from csms.ocpp.compat import CompatSwitches
from csms.ocpp.context import CallContext, ChargePointSession
from csms.ocpp.errors import ErrorCode, OcppError
from csms.ocpp.frames import Call
from csms.ocpp.pipeline import call_admit, request_validate, response_payload
from csms.ocpp.router import (
    CHARGE_POINT_ACTIONS,
    ocpp_action,
    to_camel,
    to_snake,
)
from tests.csms.ocpp.compat_switches import ALL_OFF

STAMP = "2024-05-01T10:00:00Z"
CENTRAL_SYSTEM_ACTIONS = sorted(schemas.request_actions() - CHARGE_POINT_ACTIONS)


def session(status: str = "Accepted") -> ChargePointSession:
    return ChargePointSession(
        tenant_id=1,
        tenant_slug="acme",
        charge_point_id=1,
        identity="CP-1",
        registration_status=status,
        heartbeat_interval=300,
    )


def refusal(action: str, status: str = "Accepted") -> str:
    with pytest.raises(OcppError) as error:
        call_admit(Call("m1", action, {}), session(status))
    return error.value.code


def schema_keys() -> set[str]:
    keys: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            keys.update(node.get("properties", {}))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for name in schemas.schema_names():
        walk(schemas.load_schema(name))
    return keys


# --- call_admit -----------------------------------------------------------------------------------


@pytest.mark.parametrize("action", sorted(CHARGE_POINT_ACTIONS))
def test_every_charge_point_action_has_a_handler(action: str) -> None:
    route = call_admit(Call("m1", action, {}), session())
    assert route.action == action
    assert callable(route.handler)


def test_charge_point_actions_are_10_core_and_4_security_extension_ones() -> None:
    assert len(CHARGE_POINT_ACTIONS) == 14
    assert CHARGE_POINT_ACTIONS.issubset(schemas.request_actions())


@pytest.mark.parametrize("action", ["FlyToTheMoon", "heartbeat", "", "BootNotificationResponse"])
def test_unknown_action_is_not_implemented(action: str) -> None:
    assert refusal(action) == ErrorCode.NOT_IMPLEMENTED


@pytest.mark.parametrize("action", CENTRAL_SYSTEM_ACTIONS)
def test_central_system_action_sent_by_a_charge_point_is_not_supported(action: str) -> None:
    assert refusal(action) == ErrorCode.NOT_SUPPORTED


def test_known_action_without_a_handler_is_not_supported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(router._routes, "DataTransfer")
    assert refusal("DataTransfer") == ErrorCode.NOT_SUPPORTED


@pytest.mark.parametrize("status", ["Pending", "Rejected"])
def test_before_acceptance_only_boot_notification_is_admitted(status: str) -> None:
    assert call_admit(Call("m1", "BootNotification", {}), session(status)).action == (
        "BootNotification"
    )
    for action in sorted(CHARGE_POINT_ACTIONS - {"BootNotification"}):
        assert refusal(action, status) == ErrorCode.SECURITY_ERROR, action


def test_unknown_action_is_not_implemented_even_before_acceptance() -> None:
    assert refusal("FlyToTheMoon", "Pending") == ErrorCode.NOT_IMPLEMENTED


# --- Registering handlers -------------------------------------------------------------------------


def answer(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    return {}


def other_answer(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    return {}


def test_one_handler_per_action(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(router, "_routes", {})
    ocpp_action("Heartbeat")(answer)
    ocpp_action("Heartbeat")(answer)  # re-importing a module registers the same function again
    with pytest.raises(ValueError, match="already handled"):
        ocpp_action("Heartbeat")(other_answer)
    assert router.route_for("Heartbeat").handler is answer


def test_only_charge_point_actions_can_be_handled() -> None:
    with pytest.raises(ValueError, match="not an action a charge point sends"):
        ocpp_action("Reset")


# --- request_validate ----------------------------------------------------------------------------


def test_a_valid_request_reaches_the_handler_in_snake_case_with_no_quirks() -> None:
    payload = {"chargePointVendor": "V", "chargePointModel": "M", "chargeBoxSerialNumber": "S"}
    request, quirks = request_validate("BootNotification", payload, CompatSwitches())
    assert request == {
        "charge_point_vendor": "V",
        "charge_point_model": "M",
        "charge_box_serial_number": "S",
    }
    assert quirks == []


def test_a_repairable_request_reaches_the_handler_repaired_with_its_quirks() -> None:
    payload = {"connectorId": 1, "idTag": "T", "meterStart": 0, "timestamp": "2024-05-01T10:00:00"}
    request, quirks = request_validate("StartTransaction", payload, CompatSwitches())
    assert request["timestamp"] == "2024-05-01T10:00:00+00:00"
    assert quirks == ["timestamp_without_zone"]


def test_clean_and_repair_quirks_add_up() -> None:
    payload = {
        "transactionId": None,
        "meterStop": 1,
        "timestamp": "2024-05-01T10:00:00",
        "idTag": "TAG\x00",
    }
    request, quirks = request_validate("StopTransaction", payload, CompatSwitches())
    assert (request["transaction_id"], request["id_tag"]) == (-1, "TAG")
    assert sorted(quirks) == [
        "id_tag_control_chars",
        "timestamp_without_zone",
        "transaction_id_null",
    ]


def test_a_value_outside_an_open_enum_is_counted_as_such() -> None:
    payload = {
        "connectorId": 1,
        "meterValue": [{"timestamp": STAMP, "sampledValue": [{"value": "50", "unit": "Hz"}]}],
    }
    request, quirks = request_validate("MeterValues", payload, CompatSwitches())
    assert request["meter_value"][0]["sampled_value"][0]["unit"] == "Hz"
    assert quirks == ["open_enum_value"]


@pytest.mark.parametrize(
    ("switches", "code"),
    [
        (CompatSwitches(), ErrorCode.PROPERTY_CONSTRAINT_VIOLATION),
        (CompatSwitches(lenient_enums=False), ErrorCode.PROPERTY_CONSTRAINT_VIOLATION),
    ],
)
def test_an_unrepairable_request_gets_the_strict_error(switches: CompatSwitches, code: str) -> None:
    payload = {"connectorId": 1, "errorCode": "NoError", "status": "Exploded"}
    with pytest.raises(OcppError) as error:
        request_validate("StatusNotification", payload, switches)
    assert error.value.code == code


def test_with_every_switch_off_the_strict_error_comes_back() -> None:
    payload = {"connectorId": 1, "errorCode": "noerror", "status": "Available"}
    with pytest.raises(OcppError) as error:
        request_validate("StatusNotification", payload, ALL_OFF)
    assert error.value.code == ErrorCode.PROPERTY_CONSTRAINT_VIOLATION


def test_meter_values_whose_every_entry_was_empty_are_admitted_with_nothing_in_them() -> None:
    payload = {
        "connectorId": 1,
        "transactionId": 5,
        "meterValue": [{"timestamp": STAMP, "sampledValue": []}],
    }
    request, quirks = request_validate("MeterValues", payload, CompatSwitches())
    assert request == {"connector_id": 1, "transaction_id": 5, "meter_value": []}
    assert quirks == ["empty_sampled_value"]


def test_meter_values_whose_every_entry_was_empty_still_have_the_rest_checked() -> None:
    payload = {"connectorId": "one", "meterValue": [{"timestamp": STAMP, "sampledValue": []}]}
    with pytest.raises(OcppError) as error:
        request_validate("MeterValues", payload, CompatSwitches())
    assert error.value.code == ErrorCode.TYPE_CONSTRAINT_VIOLATION


def test_meter_values_sent_with_no_entry_at_all_stay_refused() -> None:
    with pytest.raises(OcppError) as error:
        request_validate("MeterValues", {"connectorId": 1, "meterValue": []}, CompatSwitches())
    assert error.value.code == ErrorCode.OCCURENCE_CONSTRAINT_VIOLATION


def test_empty_sampled_values_are_refused_when_meter_values_are_strict() -> None:
    payload = {"connectorId": 1, "meterValue": [{"timestamp": STAMP, "sampledValue": []}]}
    with pytest.raises(OcppError) as error:
        request_validate("MeterValues", payload, CompatSwitches(lenient_meter_values=False))
    assert error.value.code == ErrorCode.OCCURENCE_CONSTRAINT_VIOLATION


# --- response_payload -----------------------------------------------------------------------------


def test_the_answer_is_camel_cased_without_empty_optionals() -> None:
    result = {
        "transaction_id": 7,
        "id_tag_info": {"status": "Accepted", "parent_id_tag": "P", "expiry_date": None},
    }
    assert response_payload("StartTransaction", result) == {
        "transactionId": 7,
        "idTagInfo": {"status": "Accepted", "parentIdTag": "P"},
    }


def test_an_answer_that_breaks_its_schema_is_an_internal_error() -> None:
    with pytest.raises(OcppError) as error:
        response_payload("BootNotification", {"status": "Maybe", "current_time": STAMP})
    assert error.value.code == ErrorCode.INTERNAL_ERROR
    assert "Maybe" not in error.value.description


# --- camelCase on the wire, snake_case inside -----------------------------------------------------


def test_every_key_of_the_16_schemas_survives_the_roundtrip() -> None:
    keys = schema_keys()
    assert len(keys) > 80
    for key in keys:
        assert to_camel(to_snake({key: 1})) == {key: 1}, key


def test_conversion_reaches_nested_lists_and_leaves_values_alone() -> None:
    wire = {
        "meterValue": [{"sampledValue": [{"value": "camelCase", "unitOfMeasure": "Wh"}]}],
        "idTag": "ABC_def",
    }
    inside = to_snake(wire)
    assert inside == {
        "meter_value": [{"sampled_value": [{"value": "camelCase", "unit_of_measure": "Wh"}]}],
        "id_tag": "ABC_def",
    }
    assert to_camel(inside) == wire


def test_to_camel_drops_none_values() -> None:
    assert to_camel({"status": "Accepted", "data": None}) == {"status": "Accepted"}
