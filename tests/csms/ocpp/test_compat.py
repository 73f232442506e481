"""The compatibility layer's pure functions: switches, clean (stage 1) and repair (stage 2)."""

import copy
from typing import Any

import pytest

from csms.ocpp import schemas
from csms.ocpp.compat import CompatSwitches, clean, repair, session_flags
from csms.ocpp.errors import OcppError
from tests.csms.ocpp.compat_switches import ALL_OFF, ON

STAMP = "2024-05-01T10:00:00Z"
UTC_STAMP = "2024-05-01T10:00:00+00:00"  # as repair writes every timestamp it reads


def repaired(
    action: str, payload: dict[str, Any], switches: CompatSwitches = ON
) -> tuple[dict[str, Any], list[str]]:
    quirks = repair(action, payload, schemas.load_schema(action), switches)
    return payload, quirks


# --- Switches -------------------------------------------------------------------------------------


def test_switch_defaults_are_lenient_except_the_missing_subprotocol() -> None:
    switches = CompatSwitches.merged(None, None)
    assert switches == CompatSwitches()
    assert switches.any_lenient()
    assert not switches.allow_missing_subprotocol


def test_charge_point_overrides_win_over_tenant_defaults() -> None:
    switches = CompatSwitches.merged(
        {"lenient_enums": False, "lenient_timestamps": False},
        {"lenient_enums": True, "allow_missing_subprotocol": True},
    )
    assert switches.lenient_enums
    assert not switches.lenient_timestamps
    assert switches.allow_missing_subprotocol


def test_unknown_switches_and_non_boolean_values_are_ignored() -> None:
    switches = CompatSwitches.merged(
        {"lenient_enums": "no", "made_up": False, "lenient_timestamps": 0}
    )
    assert switches == CompatSwitches()


def test_any_lenient_is_false_only_when_every_lenient_switch_is_off() -> None:
    assert not ALL_OFF.any_lenient()
    assert not CompatSwitches.merged(
        dict.fromkeys(
            (
                "lenient_timestamps",
                "lenient_meter_values",
                "lenient_enums",
                "lenient_id_tags",
                "lenient_transaction_ids",
                "lenient_transaction_messages",
            ),
            False,
        ),
        {"allow_missing_subprotocol": True},
    ).any_lenient()


# --- clean: meter values --------------------------------------------------------------------------


def test_clean_leaves_other_actions_alone() -> None:
    payload = {"connectorId": 1, "errorCode": "NoError", "status": "Available", "info": " x "}
    before = copy.deepcopy(payload)
    assert clean("StatusNotification", payload, ON) == []
    assert payload == before


@pytest.mark.parametrize(
    ("raw", "stored", "quirk"),
    [
        (42, "42", "sampled_value_number"),
        (1234.5, "1234.5", "sampled_value_number"),
        (0.1, "0.1", "sampled_value_number"),
        (" 12.5\t", "12.5", "sampled_value_whitespace"),
        ("12.5", "12.5", None),
    ],
)
def test_clean_makes_sampled_values_plain_text(raw: Any, stored: str, quirk: str | None) -> None:
    payload = {
        "connectorId": 1,
        "meterValue": [{"timestamp": STAMP, "sampledValue": [{"value": raw}]}],
    }
    quirks = clean("MeterValues", payload, ON)
    assert payload["meterValue"][0]["sampledValue"][0]["value"] == stored
    assert quirks == ([quirk] if quirk else [])


def test_clean_leaves_a_boolean_value_for_the_schema_to_refuse() -> None:
    payload = {
        "connectorId": 1,
        "meterValue": [{"timestamp": STAMP, "sampledValue": [{"value": True}]}],
    }
    assert clean("MeterValues", payload, ON) == []
    assert payload["meterValue"][0]["sampledValue"][0]["value"] is True


def test_clean_wraps_objects_in_lists() -> None:
    payload = {"connectorId": 1, "meterValue": {"timestamp": STAMP, "sampledValue": {"value": "1"}}}
    quirks = clean("MeterValues", payload, ON)
    assert payload["meterValue"] == [{"timestamp": STAMP, "sampledValue": [{"value": "1"}]}]
    assert quirks == ["meter_value_object", "sampled_value_object"]


def test_clean_drops_entries_with_an_empty_sampled_value() -> None:
    keep = {"timestamp": STAMP, "sampledValue": [{"value": "1"}]}
    payload = {"connectorId": 1, "meterValue": [{"timestamp": STAMP, "sampledValue": []}, keep]}
    assert clean("MeterValues", payload, ON) == ["empty_sampled_value"]
    assert payload["meterValue"] == [keep]


def test_clean_treats_stop_transaction_data_like_meter_values() -> None:
    payload = {
        "transactionId": 5,
        "meterStop": 1,
        "timestamp": STAMP,
        "transactionData": {"timestamp": STAMP, "sampledValue": [{"value": 7}]},
    }
    quirks = clean("StopTransaction", payload, ON)
    assert payload["transactionData"] == [{"timestamp": STAMP, "sampledValue": [{"value": "7"}]}]
    assert quirks == ["meter_value_object", "sampled_value_number"]


def test_clean_of_meter_values_is_off_with_its_switch() -> None:
    payload = {"connectorId": 1, "meterValue": {"timestamp": STAMP, "sampledValue": [{"value": 1}]}}
    before = copy.deepcopy(payload)
    switches = CompatSwitches(lenient_meter_values=False)
    assert clean("MeterValues", payload, switches) == []
    assert payload == before


# --- clean: idTag and transactionId ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "cleaned", "quirks"),
    [
        ("TAG-1\r\n\x00", "TAG-1", ["id_tag_control_chars"]),
        ("\x02TAG-1\x03", "TAG-1", ["id_tag_control_chars"]),
        ("0123456789ABCDEFGHIJKLMNOP", "0123456789ABCDEFGHIJ", ["id_tag_too_long"]),
        (
            "0123456789ABCDEFGHIJKL\x00",
            "0123456789ABCDEFGHIJ",
            ["id_tag_control_chars", "id_tag_too_long"],
        ),
        ("TAG-1", "TAG-1", []),
    ],
)
def test_clean_fixes_the_stop_transaction_id_tag(raw: str, cleaned: str, quirks: list[str]) -> None:
    payload = {"transactionId": 5, "meterStop": 1, "timestamp": STAMP, "idTag": raw}
    assert clean("StopTransaction", payload, ON) == quirks
    assert payload["idTag"] == cleaned


def test_clean_never_touches_the_start_transaction_id_tag() -> None:
    payload = {"connectorId": 1, "idTag": "TAG\x00", "meterStart": 0, "timestamp": STAMP}
    assert clean("StartTransaction", payload, ON) == []
    assert payload["idTag"] == "TAG\x00"


def test_clean_of_id_tags_is_off_with_its_switch() -> None:
    payload = {"transactionId": 5, "meterStop": 1, "timestamp": STAMP, "idTag": "T" * 30}
    assert clean("StopTransaction", payload, CompatSwitches(lenient_id_tags=False)) == []
    assert payload["idTag"] == "T" * 30


@pytest.mark.parametrize(
    ("action", "sent", "kept", "quirk"),
    [
        ("StopTransaction", None, -1, "transaction_id_null"),
        ("MeterValues", None, -1, "transaction_id_null"),
        ("StopTransaction", -1, -1, "transaction_id_not_positive"),
        ("StopTransaction", 0, 0, "transaction_id_not_positive"),
        ("MeterValues", 2**31, 2**31, "transaction_id_beyond_32_bits"),
        ("StopTransaction", 2**31 - 1, 2**31 - 1, None),
    ],
)
def test_clean_flags_transaction_ids_that_name_no_transaction(
    action: str, sent: int | None, kept: int, quirk: str | None
) -> None:
    payload: dict[str, Any] = {"transactionId": sent}
    assert clean(action, payload, ON) == ([quirk] if quirk else [])
    assert payload["transactionId"] == kept


def test_absent_transaction_id_stays_absent() -> None:
    payload: dict[str, Any] = {"connectorId": 1, "meterValue": []}
    clean("MeterValues", payload, ON)
    assert "transactionId" not in payload


def test_null_transaction_id_is_left_for_the_schema_when_its_switch_is_off() -> None:
    payload: dict[str, Any] = {"transactionId": None}
    assert clean("StopTransaction", payload, CompatSwitches(lenient_transaction_ids=False)) == []
    assert payload["transactionId"] is None


# --- repair: timestamps ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "fixed", "quirks"),
    [
        ("2024-05-01T10:00:00", "2024-05-01T10:00:00+00:00", ["timestamp_without_zone"]),
        ("2024-05-01 10:00:00", "2024-05-01T10:00:00+00:00", ["timestamp_without_zone"]),
        ("2024-05-01T10:00:00.5", "2024-05-01T10:00:00.500000+00:00", ["timestamp_without_zone"]),
        ("2024-05-01T12:00:00+02", "2024-05-01T12:00:00+02:00", ["timestamp_short_offset"]),
        ("2024-05-01T12:00:00+2:00", "2024-05-01T12:00:00+02:00", ["timestamp_short_offset"]),
        ("2024-05-01T15:30:00+0530", "2024-05-01T15:30:00+05:30", ["timestamp_short_offset"]),
        ("2024-05-01T05:00:00-05", "2024-05-01T05:00:00-05:00", ["timestamp_short_offset"]),
        ("2024-05-01T10:00:00z", "2024-05-01T10:00:00+00:00", []),
        (" 2024-05-01T10:00:00Z ", "2024-05-01T10:00:00+00:00", []),
    ],
)
def test_repair_reads_lenient_timestamps(sent: str, fixed: str, quirks: list[str]) -> None:
    payload, found = repaired(
        "StatusNotification",
        {"connectorId": 1, "errorCode": "NoError", "status": "Available", "timestamp": sent},
    )
    assert payload["timestamp"] == fixed
    assert found == quirks
    schemas.validate("StatusNotification", payload)


@pytest.mark.parametrize(
    ("action", "message", "switches", "field", "value"),
    [
        pytest.param(
            "StatusNotification",
            {"connectorId": 1, "errorCode": "NoError", "status": "Available", "timestamp": "soon"},
            ON,
            "timestamp",
            "soon",
            id="an-unreadable-timestamp-for-the-schema-to-refuse",
        ),
        pytest.param(
            "StartTransaction",
            {"connectorId": 1, "idTag": "T", "meterStart": 0, "timestamp": "2024-05-01T10:00:00"},
            CompatSwitches(lenient_timestamps=False),
            "timestamp",
            "2024-05-01T10:00:00",
            id="timestamps-with-their-switch-off",
        ),
        pytest.param(
            "StatusNotification",
            {"connectorId": 1, "errorCode": "NoError", "status": "Exploded"},
            ON,
            "status",
            "Exploded",
            id="an-unknown-enum-value-for-the-schema-to-refuse",
        ),
        # Issue 16 §5: the meter-values switch once turned numbers into strings in every message.
        pytest.param(
            "BootNotification",
            {"chargePointVendor": 7, "chargePointModel": "M"},
            ON,
            "chargePointVendor",
            7,
            id="a-number-in-a-boot-notification-for-the-schema-to-refuse",
        ),
        pytest.param(
            "StatusNotification",
            {"connectorId": "1", "errorCode": "NoError", "status": "Available"},
            ON,
            "connectorId",
            "1",
            id="a-string-where-the-schema-wants-a-number",
        ),
    ],
)
def test_repair_leaves_the_field_as_it_is(
    action: str, message: dict[str, Any], switches: CompatSwitches, field: str, value: Any
) -> None:
    payload, found = repaired(action, message, switches)
    assert payload[field] == value
    assert found == []


def test_repair_reaches_timestamps_nested_in_lists() -> None:
    payload, found = repaired(
        "MeterValues",
        {
            "connectorId": 1,
            "meterValue": [
                {"timestamp": "2024-05-01T10:00:00", "sampledValue": [{"value": "1"}]},
                {"timestamp": "2024-05-01T10:01:00", "sampledValue": [{"value": "2"}]},
            ],
        },
    )
    assert [entry["timestamp"] for entry in payload["meterValue"]] == [
        "2024-05-01T10:00:00+00:00",
        "2024-05-01T10:01:00+00:00",
    ]
    assert found == ["timestamp_without_zone", "timestamp_without_zone"]


# --- repair: enums, types, shapes -----------------------------------------------------------------


def test_repair_canonicalises_enum_case() -> None:
    payload, found = repaired(
        "StatusNotification", {"connectorId": 1, "errorCode": "noerror", "status": " AVAILABLE "}
    )
    assert (payload["errorCode"], payload["status"]) == ("NoError", "Available")
    assert found == ["enum_case", "enum_case"]


def test_repair_removes_empty_optional_enum_and_date_fields_only() -> None:
    payload, found = repaired(
        "StopTransaction",
        {"transactionId": 1, "meterStop": 1, "timestamp": UTC_STAMP, "reason": "", "idTag": ""},
    )
    # reason (an enum) goes; idTag (a plain string) stays: "" is a valid string.
    assert payload == {"transactionId": 1, "meterStop": 1, "timestamp": UTC_STAMP, "idTag": ""}
    assert found == ["empty_optional_field"]


def test_repair_keeps_an_empty_required_field_for_the_schema_to_refuse() -> None:
    payload, _ = repaired(
        "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": ""}
    )
    assert payload["status"] == ""


def test_repair_of_enums_is_off_with_its_switch() -> None:
    payload, found = repaired(
        "StatusNotification",
        {"connectorId": 1, "errorCode": "noerror", "status": "available", "info": ""},
        CompatSwitches(lenient_enums=False),
    )
    assert (payload["errorCode"], payload["status"]) == ("noerror", "available")
    assert found == []


def test_repair_turns_numbers_into_strings_where_a_transaction_message_wants_a_string() -> None:
    payload, found = repaired(
        "StartTransaction", {"connectorId": 1, "idTag": 7, "meterStart": 0, "timestamp": STAMP}
    )
    assert payload["idTag"] == "7"
    assert found == ["number_as_string"]


def test_repair_wraps_an_object_where_the_schema_wants_a_list() -> None:
    payload, found = repaired(
        "StopTransaction",
        {
            "transactionId": 1,
            "meterStop": 1,
            "timestamp": STAMP,
            "transactionData": {"timestamp": STAMP, "sampledValue": [{"value": "1"}]},
        },
    )
    assert isinstance(payload["transactionData"], list)
    assert found == ["object_instead_of_list"]


def test_repair_with_every_switch_off_changes_nothing() -> None:
    payload = {
        "connectorId": 1,
        "meterValue": {"timestamp": "2024-05-01T10:00:00", "sampledValue": [{"value": 5}]},
    }
    before = copy.deepcopy(payload)
    assert repaired("MeterValues", payload, ALL_OFF)[1] == []
    assert payload == before


# --- repair: the messages answered whenever they can be identified --------------------------------

INT64_MAX = 2**63 - 1


def start(meter_start: Any) -> dict[str, Any]:
    return {"connectorId": 1, "idTag": "T", "meterStart": meter_start, "timestamp": STAMP}


def checked(action: str, payload: dict[str, Any], switches: CompatSwitches = ON) -> list[str]:
    """Repair as the pipeline does (guided by the bounded schema), then the lenient check."""
    quirks = repair(action, payload, schemas.checked_schema(action), switches)
    schemas.validate(action, payload, lenient=True)
    return quirks


@pytest.mark.parametrize(
    ("sent", "kept", "quirks"),
    [
        (12345.0, 12345, ["integer_as_decimal"]),
        ("12345", 12345, ["integer_as_string"]),
        ("\t12345.000 ", 12345, ["integer_as_string"]),
        ("1.2345e4", 12345, ["integer_as_string"]),
        (12345.5, 12346, ["meter_start_rounded", "integer_as_decimal"]),
        (-12345.5, -12346, ["meter_start_rounded", "integer_as_decimal"]),
        ("0.4", 0, ["meter_start_rounded", "integer_as_string"]),
        ("1e-90", 0, ["meter_start_rounded", "integer_as_string"]),
        (10**30, INT64_MAX, ["meter_start_out_of_range"]),
        (-(10**30), -(2**63), ["meter_start_out_of_range"]),
        (1e300, INT64_MAX, ["integer_as_decimal", "meter_start_out_of_range"]),
        ("9" * 400, INT64_MAX, ["integer_as_string", "meter_start_out_of_range"]),
        ("1e999999999", INT64_MAX, ["integer_as_string", "meter_start_out_of_range"]),
    ],
)
def test_repair_reads_a_sloppy_meter_start(sent: Any, kept: int, quirks: list[str]) -> None:
    payload = start(sent)
    assert checked("StartTransaction", payload) == quirks
    assert payload["meterStart"] == kept


@pytest.mark.parametrize("sent", ["twelve", "", "0x10", "1,5", True, None, [1], {"v": 1}])
def test_repair_leaves_a_meter_start_that_is_no_number_for_the_schema(sent: Any) -> None:
    payload = start(sent)
    with pytest.raises(OcppError):
        checked("StartTransaction", payload)
    assert payload["meterStart"] == sent


@pytest.mark.parametrize(
    ("sent", "kept", "quirks"),
    [
        (17.0, 17, ["integer_as_decimal"]),
        ("17", 17, ["integer_as_string"]),
        ("-1", -1, ["integer_as_string", "transaction_id_not_positive"]),
        ("4294967296", 2**32, ["integer_as_string", "transaction_id_beyond_32_bits"]),
        (1e20, -1, ["integer_as_decimal", "transaction_id_beyond_64_bits"]),
    ],
)
def test_repair_reads_a_sloppy_transaction_id(sent: Any, kept: int, quirks: list[str]) -> None:
    payload = {"transactionId": sent, "meterStop": 5, "timestamp": STAMP}
    assert checked("StopTransaction", payload) == quirks
    assert payload["transactionId"] == kept


@pytest.mark.parametrize("sent", [17.5, "17.5", "1e60", 2**70])
def test_repair_never_guesses_an_id_or_a_connector(sent: Any) -> None:
    # A transaction or connector that cannot be identified is the one CALLERROR left.
    stop = {"transactionId": sent, "meterStop": 5, "timestamp": STAMP}
    values = {
        "connectorId": sent,
        "meterValue": [{"timestamp": STAMP, "sampledValue": [{"value": "1"}]}],
    }
    for action, payload in [("StopTransaction", stop), ("MeterValues", values)]:
        with pytest.raises(OcppError):
            checked(action, payload)


def test_repair_drops_unknown_properties_of_answered_messages_at_every_level() -> None:
    payload = {
        "connectorId": 1,
        "vendorExtra": {"a": 1},
        "meterValue": [
            {"timestamp": STAMP, "seq": 4, "sampledValue": [{"value": "1", "signature": "s"}]}
        ],
    }
    assert checked("MeterValues", payload) == ["unknown_property"] * 3
    assert payload == {
        "connectorId": 1,
        "meterValue": [{"timestamp": UTC_STAMP, "sampledValue": [{"value": "1"}]}],
    }


@pytest.mark.parametrize(
    ("action", "payload"),
    [
        ("Heartbeat", {"uptime": 5}),
        ("BootNotification", {"chargePointVendor": "V", "chargePointModel": "M", "x": 1}),
        ("StatusNotification", {"connectorId": 1.0, "errorCode": "NoError", "status": "Available"}),
        ("Authorize", {"idTag": "T", "extra": True}),
    ],
)
def test_repair_leaves_other_messages_strict(action: str, payload: dict[str, Any]) -> None:
    before = copy.deepcopy(payload)
    assert repaired(action, payload)[1] == []
    assert payload == before


def test_repair_truncates_the_free_text_of_a_security_event_only() -> None:
    payload = {"type": "T" * 60, "timestamp": STAMP, "techInfo": "i" * 300}
    assert checked("SecurityEventNotification", payload) == ["string_too_long"] * 2
    assert (len(payload["type"]), len(payload["techInfo"])) == (50, 255)
    long_tag = start(0) | {"idTag": "X" * 25}
    assert repaired("StartTransaction", long_tag)[1] == []
    assert long_tag["idTag"] == "X" * 25


def test_repair_of_answered_messages_is_off_with_its_switch() -> None:
    payload = {**start(12345.5), "timestamp": UTC_STAMP, "extra": 1}
    before = copy.deepcopy(payload)
    assert (
        repaired("StartTransaction", payload, CompatSwitches(lenient_transaction_messages=False))[1]
        == []
    )
    assert payload == before


def test_session_flags_are_the_quirks_that_changed_a_figure() -> None:
    quirks = ["integer_as_decimal", "meter_stop_rounded", "unknown_property", "meter_stop_rounded"]
    assert session_flags(quirks) == ["meter_stop_rounded"]
    assert session_flags(["meter_start_out_of_range", "timestamp_without_zone"]) == [
        "meter_start_out_of_range"
    ]


def test_repair_reads_a_lowercase_t_and_z_in_a_timestamp() -> None:
    payload, found = repaired(
        "StatusNotification",
        {
            "connectorId": 1,
            "errorCode": "NoError",
            "status": "Available",
            "timestamp": "2024-05-01t10:00:00z",
        },
    )
    assert payload["timestamp"] == UTC_STAMP
    assert found == []
