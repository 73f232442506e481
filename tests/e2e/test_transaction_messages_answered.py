"""Transaction messages are answered whenever their transaction can be identified (issue 15 §1,
OCPP 1.6 §4.7/§4.8): sloppy numbers and unknown properties are absorbed, counted per charge
point and, where a figure is not as sent, flagged on the session; hostile values get an answer
too, and nothing is stored twice. Raw frames, as the chargers send them, to a real daphne.
"""

from collections.abc import Callable
from typing import Any

import pytest

from chargepoints.models import ChargePoint, IdTag, OcppMessage, SecurityEvent
from tests.async_orm import orm
from tests.e2e import charger_frames as frames
from tests.ocpp_clients import open_socket, raw_call
from transactions.models import MeterValue, Transaction, UnmatchedTransactionMessage

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

INT64_MAX = 2**63 - 1
# A transaction id the charger made up itself: no session of ours has it.
ORPHAN_ID = 2**31 - 7


async def started(url: str, **fields: Any) -> tuple[list[Any], Transaction | None]:
    """A StartTransaction on a fresh connection: its answer and the session stored for it."""
    answer = await frames.send(url, "StartTransaction", frames.start_payload(**fields))
    if answer[0] != 3:
        return answer, None
    return answer, await orm(Transaction.objects.get, pk=answer[2]["transactionId"])


async def stopped(url: str, **stop_fields: Any) -> tuple[list[Any], Transaction]:
    """A session started cleanly, then the StopTransaction ``stop_fields`` make of it (the
    transaction id is filled in unless given; ``"{id}"`` in a string is replaced by it, and a
    callable is given it: ``float`` sends it as a decimal)."""
    async with open_socket(url) as ws:
        begun = await raw_call(ws, "StartTransaction", frames.start_payload(meterStart=1000))
        tx_id = begun[2]["transactionId"]
        fields = {
            "transactionId": tx_id,
            "meterStop": 3000,
            "timestamp": frames.STAMP,
            **stop_fields,
        }
        fields = {key: with_id(value, tx_id) for key, value in fields.items()}
        answer = await raw_call(ws, "StopTransaction", fields)
    return answer, await orm(Transaction.objects.get, pk=tx_id)


def with_id(value: Any, tx_id: int) -> Any:
    if callable(value):
        return value(tx_id)
    return value.replace("{id}", str(tx_id)) if isinstance(value, str) else value


async def logged_in_frames(charge_point: ChargePoint, action: str) -> list[str]:
    return await orm(
        lambda: list(
            OcppMessage.objects.filter(
                charge_point=charge_point, direction="in", action=action
            ).values_list("frame", flat=True)
        )
    )


# --- Priority 1: sloppy numbers and unknown properties are absorbed -------------------------------


@pytest.mark.parametrize(
    ("meter_start", "stored", "quirks", "flags"),
    [
        pytest.param(12345.0, 12345, {"integer_as_decimal": 1}, [], id="integral-decimal"),
        pytest.param("12345", 12345, {"integer_as_string": 1}, [], id="numeric-string"),
        pytest.param(" 12345.0 ", 12345, {"integer_as_string": 1}, [], id="decimal-string"),
        pytest.param(
            12345.5,
            12346,
            {"integer_as_decimal": 1, "meter_start_rounded": 1},
            ["meter_start_rounded"],
            id="non-integral-reading-rounded-half-up",
        ),
        pytest.param(
            "12345.4",
            12345,
            {"integer_as_string": 1, "meter_start_rounded": 1},
            ["meter_start_rounded"],
            id="non-integral-string-rounded",
        ),
    ],
)
async def test_start_transaction_with_a_sloppy_meter_start_is_answered_and_stored(
    url: str,
    charge_point: ChargePoint,
    tag: IdTag,
    meter_start: Any,
    stored: int,
    quirks: dict[str, int],
    flags: list[str],
) -> None:
    answer, tx = await started(url, meterStart=meter_start)

    assert answer[0] == 3
    assert answer[2]["idTagInfo"] == {"status": "Accepted"}
    assert tx is not None
    assert (tx.meter_start, tx.flags) == (stored, flags)
    assert await frames.quirks_of(charge_point) == quirks


async def test_a_retried_start_with_a_rounded_meter_start_gets_the_same_transaction(
    url: str, charge_point: ChargePoint, tag: IdTag
) -> None:
    first, _ = await started(url, meterStart=100.7)
    again, _ = await started(url, meterStart=100.7)

    assert first[2]["transactionId"] == again[2]["transactionId"]
    assert await orm(Transaction.objects.count) == 1
    assert await frames.quirks_of(charge_point) == {
        "integer_as_decimal": 2,
        "meter_start_rounded": 2,
    }


@pytest.mark.parametrize(
    ("stop_fields", "meter_stop", "quirks", "flags"),
    [
        pytest.param(
            {"meterStop": 3000.0}, 3000, {"integer_as_decimal": 1}, [], id="integral-decimal"
        ),
        pytest.param(
            {"meterStop": "2999.5", "transactionId": "{id}"},
            3000,
            {"integer_as_string": 2, "meter_stop_rounded": 1},
            ["meter_stop_rounded"],
            id="strings-and-a-rounded-reading",
        ),
        pytest.param(
            {"transactionId": "{id}.0"}, 3000, {"integer_as_string": 1}, [], id="id-as-text"
        ),
        pytest.param(
            {"transactionId": float}, 3000, {"integer_as_decimal": 1}, [], id="id-as-decimal"
        ),
    ],
)
async def test_stop_transaction_with_sloppy_numbers_stops_its_session(
    url: str,
    charge_point: ChargePoint,
    tag: IdTag,
    stop_fields: dict[str, Any],
    meter_stop: int,
    quirks: dict[str, int],
    flags: list[str],
) -> None:
    answer, tx = await stopped(url, **stop_fields)

    assert answer[0] == 3
    assert answer[2] == {}
    assert (tx.meter_stop, tx.energy_wh, tx.flags) == (meter_stop, meter_stop - 1000, flags)
    assert await frames.quirks_of(charge_point) == quirks


async def test_unknown_properties_are_ignored_and_kept_in_the_message_log(
    url: str, charge_point: ChargePoint, tag: IdTag
) -> None:
    async with open_socket(url) as ws:
        begun = await raw_call(
            ws, "StartTransaction", frames.start_payload(vendorSessionRef="abc-1", meterStart=5)
        )
        tx_id = begun[2]["transactionId"]
        values = frames.meter_values_payload(
            {"value": "7", "signedMeterValue": "xyz"}, transactionId=tx_id, firmwareExtra=1
        )
        metered = await raw_call(ws, "MeterValues", values)
        ended = await raw_call(ws, "StopTransaction", frames.stop_payload(tx_id, 9, costCents=120))

    assert [begun[0], metered[0], ended[0]] == [3, 3, 3]
    tx = await orm(Transaction.objects.get, pk=tx_id)
    assert (tx.meter_start, tx.meter_stop) == (5, 9)
    assert await frames.stored_values(charge_point, "value", "transaction") == [("7", tx_id)]
    assert await frames.quirks_of(charge_point) == {"unknown_property": 4}
    for action, kept in [
        ("StartTransaction", "vendorSessionRef"),
        ("MeterValues", "signedMeterValue"),
        ("StopTransaction", "costCents"),
    ]:
        (frame,) = await logged_in_frames(charge_point, action)
        assert kept in frame


async def test_meter_values_with_a_connector_id_as_text_are_stored(
    url: str, charge_point: ChargePoint
) -> None:
    answer = await frames.send(
        url, "MeterValues", {**frames.meter_values_payload({"value": "1"}), "connectorId": "2"}
    )

    assert answer[0] == 3
    assert await frames.stored_values(charge_point, "connector_id", "value") == [(2, "1")]
    assert await frames.quirks_of(charge_point) == {"integer_as_string": 1}


async def test_security_event_with_unknown_properties_and_long_tech_info_is_stored(
    url: str, charge_point: ChargePoint
) -> None:
    answer = await frames.send(
        url,
        "SecurityEventNotification",
        {
            "type": "TamperDetectionActivated",
            "timestamp": frames.STAMP,
            "techInfo": "x" * 300,
            "seq": 4,
        },
    )

    assert answer[:3] == [3, answer[1], {}]
    event = await orm(SecurityEvent.objects.get, charge_point=charge_point)
    assert (event.type, event.tech_info) == ("TamperDetectionActivated", "x" * 255)
    assert await frames.quirks_of(charge_point) == {"unknown_property": 1, "string_too_long": 1}


@pytest.mark.parametrize(
    ("transaction_id", "code"),
    [
        pytest.param(12.5, "TypeConstraintViolation", id="non-integral"),
        pytest.param("twelve", "TypeConstraintViolation", id="not-a-number"),
        pytest.param([12], "TypeConstraintViolation", id="a-list"),
    ],
)
async def test_a_stop_whose_transaction_cannot_be_identified_is_the_only_callerror(
    url: str, charge_point: ChargePoint, tag: IdTag, transaction_id: Any, code: str
) -> None:
    answer = await frames.send(url, "StopTransaction", frames.stop_payload(transaction_id, 10))

    assert answer[0] == 4
    assert answer[2] == code
    assert await orm(UnmatchedTransactionMessage.objects.count) == 0
    assert await frames.quirks_of(charge_point) == {}


@pytest.mark.parametrize(
    ("action", "payload", "code"),
    [
        pytest.param(
            "BootNotification",
            {"chargePointVendor": 42, "chargePointModel": "M"},
            "TypeConstraintViolation",
            id="boot-number-as-vendor",
        ),
        pytest.param(
            "StatusNotification",
            {"connectorId": "1", "errorCode": "NoError", "status": "Available"},
            "TypeConstraintViolation",
            id="status-connector-as-text",
        ),
        pytest.param(
            "StatusNotification",
            {"connectorId": 1.0, "errorCode": "NoError", "status": "Available"},
            "TypeConstraintViolation",
            id="status-connector-as-decimal",
        ),
        pytest.param("Heartbeat", {"uptime": 5}, "FormationViolation", id="heartbeat-unknown-key"),
    ],
)
async def test_non_transaction_messages_stay_strict(
    url: str, charge_point: ChargePoint, action: str, payload: dict[str, Any], code: str
) -> None:
    answer = await frames.send(url, action, payload)

    assert answer[0] == 4
    assert answer[2] == code
    assert await frames.quirks_of(charge_point) == {}


async def test_the_transaction_messages_switch_off_brings_the_strict_callerror_back(
    cp_url: Callable[[str], str], make_charge_point: Callable[..., ChargePoint], tag: IdTag
) -> None:
    strict = await orm(
        make_charge_point, "STRICT", compat_overrides={"lenient_transaction_messages": False}
    )

    decimal = await frames.send(
        cp_url("STRICT"), "StartTransaction", frames.start_payload(meterStart=12345.0)
    )
    unknown = await frames.send(cp_url("STRICT"), "StartTransaction", frames.start_payload(extra=1))

    assert (decimal[0], decimal[2]) == (4, "TypeConstraintViolation")
    assert (unknown[0], unknown[2]) == (4, "FormationViolation")
    assert await orm(Transaction.objects.count) == 0
    assert await frames.quirks_of(strict) == {}


# --- Priority 2: hostile values get an answer, and nothing is stored twice ------------------------


@pytest.mark.parametrize(
    "meter_start",
    [10**30, 1e30, "1" + "0" * 30],
    ids=["beyond-64-bits", "huge-decimal", "huge-string"],
)
async def test_a_meter_start_beyond_64_bits_is_answered_and_flagged(
    url: str, charge_point: ChargePoint, tag: IdTag, meter_start: Any
) -> None:
    # It used to answer InternalError: the database refused the value.
    answer, tx = await started(url, meterStart=meter_start)

    assert answer[0] == 3
    assert tx is not None
    assert (tx.meter_start, tx.flags) == (INT64_MAX, ["meter_start_out_of_range"])
    assert (await frames.quirks_of(charge_point))["meter_start_out_of_range"] == 1


async def test_a_negative_meter_start_is_stored_and_flagged(
    url: str, charge_point: ChargePoint, tag: IdTag
) -> None:
    answer, tx = await started(url, meterStart=-500)

    assert answer[0] == 3
    assert tx is not None
    assert (tx.meter_start, tx.flags) == (-500, ["meter_start_negative"])


async def test_a_meter_stop_beyond_64_bits_stops_the_session_flagged(
    url: str, charge_point: ChargePoint, tag: IdTag
) -> None:
    answer, tx = await stopped(url, meterStop=-(10**25))

    assert answer[0] == 3
    assert tx.meter_stop == -(2**63)
    assert "meter_stop_out_of_range" in tx.flags
    assert "meter_stop_negative" in tx.flags


@pytest.mark.parametrize(
    ("timestamp", "started_at", "flags"),
    [
        ("2999-01-01T00:00:00Z", "2999-01-01T00:00:00+00:00", ["start_timestamp_in_future"]),
        # A lowercase "z" matched the schema's pattern and crashed the handler before.
        ("2024-05-01T10:00:00z", "2024-05-01T10:00:00+00:00", []),
    ],
    ids=["in-the-future", "lowercase-z"],
)
async def test_odd_timestamps_are_answered_read_and_flagged(
    url: str,
    charge_point: ChargePoint,
    tag: IdTag,
    timestamp: str,
    started_at: str,
    flags: list[str],
) -> None:
    answer, tx = await started(url, timestamp=timestamp)

    assert answer[0] == 3
    assert tx is not None
    assert (tx.started_at.isoformat(), tx.flags) == (started_at, flags)


@pytest.mark.parametrize(
    "timestamp",
    ["9999-12-31T23:59:59-01:00", "2024-05-01T10:00:60Z"],
    ids=["beyond-year-9999-in-utc", "leap-second"],
)
async def test_a_timestamp_no_datetime_holds_is_a_property_violation_not_a_crash(
    url: str, charge_point: ChargePoint, timestamp: str
) -> None:
    # Both match the RFC 3339 pattern and crashed the handler (InternalError) before.
    answer = await frames.send(
        url,
        "StatusNotification",
        {"connectorId": 1, "errorCode": "NoError", "status": "Available", "timestamp": timestamp},
    )

    assert (answer[0], answer[2]) == (4, "PropertyConstraintViolation")


@pytest.mark.parametrize("action", ["StopTransaction", "MeterValues"])
async def test_a_transaction_id_beyond_64_bits_is_answered_and_kept_for_reconciliation(
    url: str, charge_point: ChargePoint, action: str
) -> None:
    huge = 10**20
    payload = (
        frames.stop_payload(huge, 5)
        if action == "StopTransaction"
        else frames.meter_values_payload({"value": "5"}, transactionId=huge)
    )

    answer = await frames.send(url, action, payload)

    assert answer[0] == 3
    assert await frames.stored_values(
        charge_point, "value", "transaction", "reported_transaction_id"
    ) == ([] if action == "StopTransaction" else [("5", None, -1)])
    if action == "StopTransaction":
        kept = await orm(UnmatchedTransactionMessage.objects.get, charge_point=charge_point)
        assert kept.reported_transaction_id == -1
    assert await frames.quirks_of(charge_point) == {"transaction_id_beyond_64_bits": 1}


async def test_the_same_stop_twice_with_different_message_ids_is_stored_once(
    url: str, charge_point: ChargePoint, tag: IdTag
) -> None:
    async with open_socket(url) as ws:
        begun = await raw_call(ws, "StartTransaction", frames.start_payload())
        tx_id = begun[2]["transactionId"]
        data = [{"timestamp": frames.STAMP, "sampledValue": [{"value": "40"}]}]
        stop = frames.stop_payload(tx_id, 40, transactionData=data, reason="EVDisconnected")
        first = await raw_call(ws, "StopTransaction", stop, message_id="stop-1")
        second = await raw_call(ws, "StopTransaction", stop, message_id="stop-2")
        # A later copy with other figures rewrites nothing either.
        third = await raw_call(ws, "StopTransaction", {**stop, "meterStop": 99})

    assert first[2] == second[2] == third[2]
    tx = await orm(Transaction.objects.get, pk=tx_id)
    assert (tx.meter_stop, tx.stop_reason) == (40, "EVDisconnected")
    assert await orm(MeterValue.objects.filter(transaction_id=tx_id).count) == 1


async def test_a_stop_before_its_start_after_a_reconnect_is_answered_and_stored_once(
    url: str, charge_point: ChargePoint, tag: IdTag
) -> None:
    # The charger queued both while offline and sends the stop first, naming the id it made up
    # itself; then it retries both after a reconnect.
    orphan_stop = frames.stop_payload(ORPHAN_ID, 700, reason="PowerLoss")
    for _attempt in range(2):
        async with open_socket(url) as ws:
            stop = await raw_call(ws, "StopTransaction", orphan_stop)
            start = await raw_call(ws, "StartTransaction", frames.start_payload(meterStart=600))
            assert (stop[0], start[0]) == (3, 3)
            heartbeat = await raw_call(ws, "Heartbeat", {})  # the socket is still served
            assert heartbeat[0] == 3

    assert await orm(Transaction.objects.count) == 1
    unmatched = await orm(
        lambda: list(
            UnmatchedTransactionMessage.objects.values_list("action", "reported_transaction_id")
        )
    )
    assert unmatched == [("StopTransaction", ORPHAN_ID)]
