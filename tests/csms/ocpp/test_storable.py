"""Strings no database stores and no socket sends as UTF-8 (csms.ocpp.storable): refused in a
payload, mended in a message answered whenever it can be identified, escaped in the message log
and on the wire."""

import json
from typing import Any

import pytest

from csms.ocpp.errors import ErrorCode, OcppError
from csms.ocpp.storable import (
    has_unstorable,
    log_text,
    may_carry_unstorable,
    payload_strings_checked,
    wire_json,
)
from tests.csms.ocpp.compat_switches import ALL_OFF, ON


@pytest.mark.parametrize(
    ("text", "unstorable"),
    [("plain", False), ("é ✓ 😀", False), ("a\x00", True), ("\ud800", True), ("x\udfff", True)],
)
def test_a_nul_or_an_unpaired_surrogate_is_unstorable(text: str, unstorable: bool) -> None:
    assert has_unstorable(text) is unstorable


def test_only_frames_with_escapes_or_non_ascii_text_are_searched() -> None:
    assert not may_carry_unstorable('[2,"1","Heartbeat",{}]')
    assert may_carry_unstorable('[2,"1","DataTransfer",{"vendorId":"\\u0000"}]')
    assert may_carry_unstorable('[2,"1","DataTransfer",{"vendorId":"é"}]')


def test_a_poisoned_string_in_another_message_is_a_property_violation() -> None:
    payload = {"connectorId": 1, "errorCode": "NoError", "status": "Available", "info": "a\x00"}
    with pytest.raises(OcppError) as error:
        payload_strings_checked("StatusNotification", payload, ON)
    assert error.value.code == ErrorCode.PROPERTY_CONSTRAINT_VIOLATION
    assert "payload.info" in error.value.description


def test_a_poisoned_key_is_refused_with_its_path_mended() -> None:
    with pytest.raises(OcppError) as error:
        payload_strings_checked("DataTransfer", {"vendorId": "V", "k\ud800": 1}, ON)
    assert "payload.k\ufffd" in error.value.description
    assert not has_unstorable(error.value.description)  # sendable as it is


def test_an_answered_message_is_mended_and_counted() -> None:
    payload: dict[str, Any] = {
        "connectorId": 1,
        "idTag": "TAG\x00",
        "meterStart": 0,
        "timestamp": "2024-05-01T10:00:00Z",
        "extra\x00": ["\ud83d"],
    }
    assert payload_strings_checked("StartTransaction", payload, ON) == ["unstorable_characters"] * 3
    assert payload["idTag"] == "TAG\ufffd"
    assert payload["extra\ufffd"] == ["\ufffd"]


def test_an_answered_message_is_refused_when_its_switch_is_off() -> None:
    payload = {"type": "T\x00", "timestamp": "2024-05-01T10:00:00Z"}
    with pytest.raises(OcppError):
        payload_strings_checked("SecurityEventNotification", payload, ALL_OFF)


def test_clean_payloads_are_left_as_they_are() -> None:
    payload = {"chargePointVendor": "Vé", "chargePointModel": "M"}
    assert payload_strings_checked("BootNotification", payload, ON) == []
    assert payload == {"chargePointVendor": "Vé", "chargePointModel": "M"}


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ('[2,"a","Heartbeat",{}]', '[2,"a","Heartbeat",{}]'),
        ('[2,"a\x00"]', '[2,"a\\u0000"]'),
        ("é\ud800", "é\\ud800"),
    ],
)
def test_the_message_log_keeps_a_poison_frame_escaped(text: str, kept: str) -> None:
    assert log_text(text) == kept
    kept.encode()


def test_wire_json_keeps_non_ascii_and_escapes_a_lone_surrogate() -> None:
    assert wire_json([3, "é", {}]) == '[3,"é",{}]'
    sent = wire_json([4, "a\ud800", "FormationViolation", "", {}])
    assert sent == '[4,"a\\ud800","FormationViolation","",{}]'
    assert json.loads(sent)[1] == "a\ud800"
    assert wire_json([4, "a\x00", "X", "", {}]) == '[4,"a\\u0000","X","",{}]'
