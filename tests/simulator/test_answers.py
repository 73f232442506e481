"""Configured and default answers of simulated charge points to Central-System calls."""

import random

import pytest

from csms.ocpp import schemas
from simulator import central_calls
from simulator.answers import CENTRAL_SYSTEM_ACTIONS, STATIC_ANSWERS, AnswerBook
from simulator.charge_point import SimulatedChargePoint
from simulator.config import FleetConfig, Shared
from simulator.session import Session


def charge_point(answers: AnswerBook | None = None) -> SimulatedChargePoint:
    shared = Shared(FleetConfig(connectors=2), answers=answers or AnswerBook())
    return SimulatedChargePoint(shared, 0, random.Random(1))


def test_every_central_system_action_has_a_schema_valid_default() -> None:
    assert set(STATIC_ANSWERS) == CENTRAL_SYSTEM_ACTIONS
    for action, payload in STATIC_ANSWERS.items():
        schemas.validate(action, payload, response=True)


def test_specs_give_a_status_a_payload_or_a_call_error() -> None:
    book = AnswerBook.parse(
        [
            "Reset=Rejected",
            'GetLocalListVersion={"listVersion": 4}',
            "UnlockConnector=!NotSupported:No actuator",
        ]
    )

    assert book.configured("Reset").frame("m1") == [3, "m1", {"status": "Rejected"}]
    assert book.configured("GetLocalListVersion").frame("m2") == [3, "m2", {"listVersion": 4}]
    assert book.configured("UnlockConnector").frame("m3") == [
        4,
        "m3",
        "NotSupported",
        "No actuator",
        {},
    ]
    assert book.configured("ClearCache") is None


def test_answers_file_and_later_specs_win() -> None:
    book = AnswerBook.parse(
        ["Reset=Accepted"], '{"Reset": "Rejected", "DataTransfer": {"status": "Accepted"}}'
    )

    assert book.configured("Reset").payload == {"status": "Accepted"}
    assert book.configured("DataTransfer").payload == {"status": "Accepted"}


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("Heartbeat=Accepted", "not a Central-System-initiated"),
        ("Reset=Maybe", "Reset"),
        ("Reset=!Oops", "not an OCPP-J 1.6 error code"),
        ("Reset={not json", "invalid JSON"),
        ("Reset", "expected ACTION=ANSWER"),
    ],
)
def test_invalid_specs_are_refused_up_front(spec: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        AnswerBook.parse([spec])


def test_configured_answer_wins_over_the_charge_points_own() -> None:
    cp = charge_point(AnswerBook.parse(["GetConfiguration=!NotSupported"]))

    answer = central_calls.answer(cp, "GetConfiguration", {})

    assert answer.error_code == "NotSupported"


def test_get_configuration_reports_known_keys_and_lists_unknown_ones() -> None:
    cp = charge_point()

    answer = central_calls.answer(
        cp, "GetConfiguration", {"key": ["HeartbeatInterval", "NumberOfConnectors", "Nope"]}
    )

    assert answer.payload == {
        "configurationKey": [
            {"key": "HeartbeatInterval", "readonly": False, "value": "300"},
            {"key": "NumberOfConnectors", "readonly": True, "value": "2"},
        ],
        "unknownKey": ["Nope"],
    }
    everything = central_calls.answer(cp, "GetConfiguration", {}).payload
    assert "AuthorizationKey" not in {entry["key"] for entry in everything["configurationKey"]}
    schemas.validate("GetConfiguration", everything, response=True)


@pytest.mark.parametrize(
    ("key", "value", "status"),
    [
        ("HeartbeatInterval", "120", "Accepted"),
        ("HeartbeatInterval", "soon", "Rejected"),
        ("NumberOfConnectors", "4", "Rejected"),
        ("NoSuchKey", "1", "NotSupported"),
    ],
)
def test_change_configuration_statuses(key: str, value: str, status: str) -> None:
    cp = charge_point()

    answer = central_calls.answer(cp, "ChangeConfiguration", {"key": key, "value": value})

    assert answer.payload == {"status": status}


def test_accepted_heartbeat_interval_change_takes_effect() -> None:
    cp = charge_point()
    payload = {"key": "HeartbeatInterval", "value": "120"}

    central_calls.after_answer(
        cp, "ChangeConfiguration", payload, central_calls.answer(cp, "ChangeConfiguration", payload)
    )

    assert cp.heartbeat_interval == 120.0
    assert cp.configuration["HeartbeatInterval"] == ("120", False)


def test_remote_stop_only_for_a_running_transaction_and_trigger_only_known_messages() -> None:
    cp = charge_point()
    cp.connectors[0].session = Session("SIM-00000", 1, "T", 0, "2026-01-01T00:00:00Z", 42)

    assert (
        central_calls.answer(cp, "RemoteStopTransaction", {"transactionId": 42}).status
        == "Accepted"
    )
    assert (
        central_calls.answer(cp, "RemoteStopTransaction", {"transactionId": 7}).status == "Rejected"
    )
    assert (
        central_calls.answer(cp, "RemoteStartTransaction", {"idTag": "T", "connectorId": 1}).status
        == "Rejected"
    )
    assert central_calls.answer(cp, "RemoteStartTransaction", {"idTag": "T"}).status == "Accepted"
    assert (
        central_calls.answer(
            cp,
            "ReserveNow",
            {
                "connectorId": 1,
                "expiryDate": "2030-01-01T00:00:00Z",
                "idTag": "T",
                "reservationId": 1,
            },
        ).status
        == "Occupied"
    )
    assert (
        central_calls.answer(cp, "TriggerMessage", {"requestedMessage": "Heartbeat"}).status
        == "Accepted"
    )
    assert (
        central_calls.answer(
            cp, "TriggerMessage", {"requestedMessage": "Heartbeat", "connectorId": 9}
        ).status
        == "Rejected"
    )


def test_unknown_action_is_not_implemented() -> None:
    answer = central_calls.answer(charge_point(), "MakeCoffee", {})

    assert answer.error_code == "NotImplemented"
