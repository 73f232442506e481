"""OCPP-J framing (OCPP-J §4): what parses, and the CALLERROR every malformed frame deserves."""

import json

import pytest

from csms.ocpp.errors import ErrorCode, OcppError
from csms.ocpp.frames import (
    Call,
    CallError,
    CallResult,
    call_frame,
    error_frame,
    parse_frame,
    result_frame,
)


def refused(text: str) -> OcppError:
    with pytest.raises(OcppError) as error:
        parse_frame(text)
    return error.value


def test_call_parses() -> None:
    assert parse_frame('[2, "m1", "Heartbeat", {}]') == Call("m1", "Heartbeat", {})


def test_call_result_parses() -> None:
    assert parse_frame('[3, "m1", {"currentTime": "x"}]') == CallResult("m1", {"currentTime": "x"})


def test_call_error_parses_with_and_without_details() -> None:
    assert parse_frame('[4, "m1", "GenericError", "boom", {"a": 1}]') == CallError(
        "m1", "GenericError", "boom", {"a": 1}
    )
    assert parse_frame('[4, "m1", "GenericError", "boom"]') == CallError(
        "m1", "GenericError", "boom", {}
    )


def test_call_error_with_odd_description_and_details_is_still_read() -> None:
    # Answers to our own CALLs: read what can be read rather than lose the outcome.
    assert parse_frame('[4, "m1", "GenericError", 42, "not a dict"]') == CallError(
        "m1", "GenericError", "42", {}
    )


@pytest.mark.parametrize(
    "text",
    ["", "not json", "[2, 'single', 'quotes', {}]", "[" * 100_000],
    ids=["empty", "words", "single_quotes", "too_deep"],
)
def test_unparsable_text_is_a_formation_violation_with_id_minus_one(text: str) -> None:
    error = refused(text)
    assert (error.code, error.message_id) == (ErrorCode.FORMATION_VIOLATION, "-1")


@pytest.mark.parametrize("text", ['{"a": 1}', '"text"', "5", "null", "[]", "[2]"])
def test_not_a_frame_array_is_a_formation_violation_with_id_minus_one(text: str) -> None:
    error = refused(text)
    assert (error.code, error.message_id) == (ErrorCode.FORMATION_VIOLATION, "-1")


def test_too_short_frame_names_its_readable_message_id() -> None:
    error = refused('[2, "abc"]')
    assert (error.code, error.message_id) == (ErrorCode.FORMATION_VIOLATION, "abc")


@pytest.mark.parametrize("message_id", ["7", "null", '""', "{}"])
def test_message_id_that_is_not_a_non_empty_string_is_refused(message_id: str) -> None:
    error = refused(f'[2, {message_id}, "Heartbeat", {{}}]')
    assert (error.code, error.message_id) == (ErrorCode.FORMATION_VIOLATION, "-1")


def test_message_id_longer_than_36_characters_is_refused_naming_its_start() -> None:
    error = refused(json.dumps([2, "x" * 37, "Heartbeat", {}]))
    assert (error.code, error.message_id) == (ErrorCode.FORMATION_VIOLATION, "x" * 36)


def test_message_id_of_36_characters_is_fine() -> None:
    assert parse_frame(json.dumps([2, "x" * 36, "Heartbeat", {}])).message_id == "x" * 36


@pytest.mark.parametrize(
    "text",
    [
        '[2, "m1", "Heartbeat"]',
        '[2, "m1", "Heartbeat", {}, {}]',
        '[2, "m1", 5, {}]',
        '[2, "m1", "Heartbeat", []]',
        '[2, "m1", "Heartbeat", null]',
        '[3, "m1", {}, {}]',
        '[3, "m1", []]',
        '[4, "m1", 5, "x", {}]',
        '[4, "m1", "GenericError"]',
    ],
)
def test_malformed_frame_of_a_known_type_is_a_formation_violation_naming_its_id(text: str) -> None:
    error = refused(text)
    assert (error.code, error.message_id) == (ErrorCode.FORMATION_VIOLATION, "m1")


@pytest.mark.parametrize("message_type", ["1", "5", "0", '"2"', "null"])
def test_unknown_message_type_is_a_protocol_error_naming_its_id(message_type: str) -> None:
    error = refused(f'[{message_type}, "m1", "Heartbeat", {{}}]')
    assert (error.code, error.message_id) == (ErrorCode.PROTOCOL_ERROR, "m1")


def test_frames_are_built_as_compact_json_keeping_non_ascii() -> None:
    assert call_frame("m1", "DataTransfer", {"vendorId": "Säule"}) == (
        '[2,"m1","DataTransfer",{"vendorId":"Säule"}]'
    )
    assert result_frame("m1", {}) == '[3,"m1",{}]'
    assert error_frame("m1", ErrorCode.NOT_IMPLEMENTED) == '[4,"m1","NotImplemented","",{}]'
    assert error_frame("m1", "GenericError", "why", {"k": 1}) == (
        '[4,"m1","GenericError","why",{"k":1}]'
    )


def test_built_frames_parse_back() -> None:
    payload = {"connectorId": 1, "meterValue": [{"timestamp": "t", "sampledValue": []}]}
    assert parse_frame(call_frame("m1", "MeterValues", payload)) == Call(
        "m1", "MeterValues", payload
    )
    assert parse_frame(result_frame("m2", {"status": "Accepted"})) == CallResult(
        "m2", {"status": "Accepted"}
    )
    assert parse_frame(error_frame("m3", "InternalError", "x")) == CallError(
        "m3", "InternalError", "x", {}
    )


# --- Poison frames (issue 16 §5) ------------------------------------------------------------------


@pytest.mark.parametrize("message_id", ["a\x00b", "a\ud800", "\udfff"])
def test_a_unique_id_with_a_nul_or_a_lone_surrogate_is_refused_naming_it(message_id: str) -> None:
    error = refused(json.dumps([2, message_id, "Heartbeat", {}]))
    assert (error.code, error.message_id) == (ErrorCode.FORMATION_VIOLATION, message_id)


@pytest.mark.parametrize(
    "text",
    ['[2,"m-7","DataTransfer",{"vendorId":"V\x00"}]', '[2, "m-7", "Heartbeat", {'],
    ids=["raw-nul", "truncated"],
)
def test_unparsable_text_that_starts_like_a_call_is_refused_naming_its_id(text: str) -> None:
    # Issue 16 §5: a CALLERROR wherever an id can be read (it was "-1" for any unparsable text).
    error = refused(text)
    assert (error.code, error.message_id) == (ErrorCode.FORMATION_VIOLATION, "m-7")
    assert refused('{"x": "\x00"}').message_id == "-1"


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_no_json(constant: str) -> None:
    error = refused(f'[2,"m-8","MeterValues",{{"connectorId":{constant}}}]')
    assert (error.code, error.message_id) == (ErrorCode.FORMATION_VIOLATION, "m-8")


def test_an_error_frame_naming_a_lone_surrogate_is_sendable() -> None:
    frame = error_frame("a\ud800", "FormationViolation", "UniqueId")
    frame.encode()
    assert json.loads(frame)[1] == "a\ud800"
