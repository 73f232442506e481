"""Real chargers' deviations, sent as the raw frames they send; what is stored afterwards.

Each absorbed deviation is counted per charge point (CompatAbsorption), and each switch turned
off (tenant defaults, charge point overrides) brings the strict CALLERROR back.
"""

from collections.abc import Callable
from typing import Any

import pytest

from chargepoints.models import ChargePoint, Connector, IdTag
from csms.tenancy.models import Tenant
from tests.async_orm import orm
from tests.e2e.charger_frames import (
    STAMP,
    T0,
    meter_values_payload,
    quirks_of,
    send,
    start_payload,
    stop_payload,
    stored_values,
)
from tests.ocpp_clients import open_socket, raw_call
from transactions.models import Transaction, UnmatchedTransactionMessage

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# --- Timestamps -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timestamp", "quirk"),
    [
        ("2024-05-01T10:00:00", "timestamp_without_zone"),
        ("2024-05-01 10:00:00", "timestamp_without_zone"),
        ("2024-05-01T10:00:00.250", "timestamp_without_zone"),
        ("2024-05-01T12:00:00+02", "timestamp_short_offset"),
        ("2024-05-01T12:00:00+2:00", "timestamp_short_offset"),
        ("2024-05-01T07:00:00-03", "timestamp_short_offset"),
    ],
)
async def test_lenient_timestamp_is_stored_as_the_instant_it_says(
    url: str, charge_point: ChargePoint, tag: IdTag, timestamp: str, quirk: str
) -> None:
    answer = await send(url, "StartTransaction", start_payload(timestamp=timestamp))

    assert answer[0] == 3
    tx = await orm(Transaction.objects.get, pk=answer[2]["transactionId"])
    expected = T0.replace(microsecond=250_000) if ".250" in timestamp else T0
    assert tx.started_at == expected
    assert (await quirks_of(charge_point)).get(quirk) == 1


async def test_four_digit_offset_is_stored_as_the_instant_it_says(
    url: str, charge_point: ChargePoint
) -> None:
    # "+0530" is valid RFC 3339-ish for the schema's date-time: no repair needed, still read right.
    answer = await send(
        url,
        "StatusNotification",
        {
            "connectorId": 1,
            "errorCode": "NoError",
            "status": "Available",
            "timestamp": "2024-05-01T15:30:00+0530",
        },
    )
    assert answer[0] == 3
    connector = await orm(Connector.objects.get, charge_point=charge_point, connector_id=1)
    assert connector.status_timestamp == T0


# --- Meter values ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "columns", "stored", "quirks"),
    [
        pytest.param(
            meter_values_payload({"value": 1234.5}, {"value": 42, "measurand": "Voltage"}),
            ("value",),
            [("1234.5",), ("42",)],
            {"sampled_value_number": 2},
            id="a-number-is-stored-as-text",
        ),
        pytest.param(
            meter_values_payload({"value": "  12.5 \t"}),
            ("value",),
            [("12.5",)],
            {"sampled_value_whitespace": 1},
            id="surrounding-spaces-are-trimmed",
        ),
        pytest.param(
            {
                "connectorId": 2,
                "meterValue": {"timestamp": STAMP, "sampledValue": {"value": "99", "unit": "kWh"}},
            },
            ("connector_id", "value", "unit", "timestamp"),
            [(2, "99", "kWh", T0)],
            {"meter_value_object": 1, "sampled_value_object": 1},
            id="an-object-instead-of-a-list-is-stored",
        ),
        pytest.param(
            {
                "connectorId": 1,
                "meterValue": [
                    {"timestamp": STAMP, "sampledValue": []},
                    {"timestamp": "2024-05-01T10:01:00Z", "sampledValue": [{"value": "5"}]},
                ],
            },
            ("value",),
            [("5",)],
            {"empty_sampled_value": 1},
            id="an-empty-sampled-value-is-skipped-and-the-rest-stored",
        ),
        pytest.param(
            # "Hz" is not in the 1.6 unit enum ("Hertz" is); "Current.Import.L1" is no 1.6
            # measurand.
            meter_values_payload(
                {"value": "50.01", "measurand": "Frequency", "unit": "Hz"},
                {"value": "16", "measurand": "Current.Import.L1", "unit": "A"},
            ),
            ("value", "measurand", "unit"),
            [("50.01", "Frequency", "Hz"), ("16", "Current.Import.L1", "A")],
            {"open_enum_value": 1},
            id="units-and-measurands-outside-the-enum-are-kept-as-given",
        ),
        pytest.param(
            meter_values_payload(
                {"value": "31", "measurand": "Temperature", "unit": "Celsius"},
                {"value": "32", "measurand": "Temperature", "unit": "Celcius", "location": "Body"},
            ),
            ("unit",),
            [("Celsius",), ("Celcius",)],
            {},
            id="both-spellings-of-celsius-are-in-the-enum-and-need-no-absorbing",
        ),
    ],
)
async def test_sloppy_meter_values_are_stored_and_the_absorptions_counted(
    url: str,
    charge_point: ChargePoint,
    payload: dict[str, Any],
    columns: tuple[str, ...],
    stored: list[tuple[Any, ...]],
    quirks: dict[str, int],
) -> None:
    answer = await send(url, "MeterValues", payload)

    assert answer[0] == 3
    assert await stored_values(charge_point, *columns) == stored
    assert (await quirks_of(charge_point)) == quirks


async def test_meter_values_with_only_an_empty_sampled_value_are_answered(
    url: str, charge_point: ChargePoint
) -> None:
    # A CALLERROR here would make the charger retry this transaction message forever.
    answer = await send(
        url,
        "MeterValues",
        {"connectorId": 1, "meterValue": [{"timestamp": STAMP, "sampledValue": []}]},
    )

    assert answer[:3] == [3, answer[1], {}]
    assert await stored_values(charge_point, "value") == []
    assert (await quirks_of(charge_point)) == {"empty_sampled_value": 1}


async def test_phase_outside_the_enum_stays_strict(url: str, charge_point: ChargePoint) -> None:
    answer = await send(url, "MeterValues", meter_values_payload({"value": "1", "phase": "L4"}))

    assert answer[0] == 4
    assert answer[2] == "PropertyConstraintViolation"
    assert await stored_values(charge_point, "value") == []


# --- StopTransaction idTag ------------------------------------------------------------------------


async def test_stop_transaction_id_tag_longer_than_20_characters_is_truncated(
    url: str, charge_point: ChargePoint, tag: IdTag
) -> None:
    long_tag = "0123456789ABCDEFGHIJ-EXTRA"
    async with open_socket(url) as ws:
        started = await raw_call(ws, "StartTransaction", start_payload())
        tx_id = started[2]["transactionId"]
        answer = await raw_call(ws, "StopTransaction", stop_payload(tx_id, 10, idTag=long_tag))

    assert answer[0] == 3
    assert answer[2] == {"idTagInfo": {"status": "Invalid"}}
    tx = await orm(Transaction.objects.get, pk=tx_id)
    assert tx.stop_id_tag == long_tag[:20]
    assert tx.meter_stop == 10
    assert (await quirks_of(charge_point)) == {"id_tag_too_long": 1}


async def test_stop_transaction_id_tag_with_trailing_control_bytes_is_cleaned(
    url: str, charge_point: ChargePoint, tag: IdTag
) -> None:
    async with open_socket(url) as ws:
        started = await raw_call(ws, "StartTransaction", start_payload())
        tx_id = started[2]["transactionId"]
        answer = await raw_call(
            ws, "StopTransaction", stop_payload(tx_id, 10, idTag="TAG-OK\r\n\x00")
        )

    assert answer[2] == {"idTagInfo": {"status": "Accepted"}}
    tx = await orm(Transaction.objects.get, pk=tx_id)
    assert tx.stop_id_tag == "TAG-OK"
    assert (await quirks_of(charge_point)) == {"id_tag_control_chars": 1}


# --- Transaction ids that name no transaction -----------------------------------------------------

# What a charger sent, what is kept as the reported id, the quirk counted.
odd_transaction_ids = pytest.mark.parametrize(
    ("sent", "kept", "quirk"),
    [
        (-1, -1, "transaction_id_not_positive"),
        (0, 0, "transaction_id_not_positive"),
        (None, -1, "transaction_id_null"),
        (2**32 + 5, 2**32 + 5, "transaction_id_beyond_32_bits"),
    ],
    ids=["minus_one", "zero", "null", "64_bit"],
)


@odd_transaction_ids
async def test_stop_transaction_with_an_odd_transaction_id_is_answered_and_kept(
    url: str, charge_point: ChargePoint, sent: int | None, kept: int, quirk: str
) -> None:
    answer = await send(
        url,
        "StopTransaction",
        stop_payload(
            sent, 777, transactionData=[{"timestamp": STAMP, "sampledValue": [{"value": "777"}]}]
        ),
    )

    assert answer[0] == 3
    assert answer[2] == {}
    unmatched = await orm(UnmatchedTransactionMessage.objects.get, charge_point=charge_point)
    assert (unmatched.action, unmatched.reported_transaction_id) == ("StopTransaction", kept)
    assert unmatched.payload["meter_stop"] == 777
    assert await stored_values(charge_point, "value", "transaction", "reported_transaction_id") == [
        ("777", None, kept)
    ]
    assert (await quirks_of(charge_point)) == {quirk: 1}


@odd_transaction_ids
async def test_meter_values_with_an_odd_transaction_id_are_stored_for_reconciliation(
    url: str, charge_point: ChargePoint, sent: int | None, kept: int, quirk: str
) -> None:
    answer = await send(
        url, "MeterValues", meter_values_payload({"value": "123"}, transactionId=sent)
    )

    assert answer[0] == 3
    assert await stored_values(charge_point, "value", "transaction", "reported_transaction_id") == [
        ("123", None, kept)
    ]
    assert (await quirks_of(charge_point)) == {quirk: 1}


# --- Enums and empty optional fields --------------------------------------------------------------


async def test_enum_values_in_the_wrong_case_are_stored_canonically(
    url: str, charge_point: ChargePoint
) -> None:
    answer = await send(
        url,
        "StatusNotification",
        {"connectorId": 1, "errorCode": "noerror", "status": "available", "timestamp": STAMP},
    )

    assert answer[0] == 3
    connector = await orm(Connector.objects.get, charge_point=charge_point, connector_id=1)
    assert (connector.status, connector.error_code) == ("Available", "NoError")
    assert set(await quirks_of(charge_point)) == {"enum_case"}


async def test_stop_reason_in_the_wrong_case_and_empty_optional_fields(
    url: str, charge_point: ChargePoint, tag: IdTag
) -> None:
    async with open_socket(url) as ws:
        first = await raw_call(ws, "StartTransaction", start_payload(connectorId=1))
        second = await raw_call(ws, "StartTransaction", start_payload(connectorId=2))
        await raw_call(
            ws,
            "StopTransaction",
            stop_payload(first[2]["transactionId"], 5, reason="evdisconnected"),
        )
        await raw_call(
            ws, "StopTransaction", stop_payload(second[2]["transactionId"], 5, reason="")
        )

    reasons = await orm(
        lambda: list(Transaction.objects.order_by("connector_id").values_list("stop_reason"))
    )
    assert reasons == [("EVDisconnected",), ("Local",)]
    assert (await quirks_of(charge_point)) == {"enum_case": 1, "empty_optional_field": 1}


# --- Counting -------------------------------------------------------------------------------------


async def test_absorptions_are_counted_per_charge_point(
    cp_url: Callable[[str], str], make_charge_point: Callable[..., ChargePoint]
) -> None:
    cp_a = await orm(make_charge_point, "CP-A")
    cp_b = await orm(make_charge_point, "CP-B")
    zoneless = {
        "connectorId": 1,
        "errorCode": "NoError",
        "status": "Available",
        "timestamp": "2024-05-01T10:00:00",
    }
    async with open_socket(cp_url("CP-A")) as ws:
        await raw_call(ws, "StatusNotification", zoneless)
        await raw_call(ws, "StatusNotification", {**zoneless, "status": "Preparing"})
    async with open_socket(cp_url("CP-A")) as ws:  # counts survive reconnects
        await raw_call(ws, "StatusNotification", {**zoneless, "status": "Charging"})
    async with open_socket(cp_url("CP-B")) as ws:
        await raw_call(ws, "StatusNotification", zoneless)

    assert await quirks_of(cp_a) == {"timestamp_without_zone": 3}
    assert await quirks_of(cp_b) == {"timestamp_without_zone": 1}


# --- Switches off: the strict CALLERROR comes back ------------------------------------------------

STRICT_CASES = [
    (
        {"lenient_timestamps": False},
        "StartTransaction",
        start_payload(timestamp="2024-05-01T10:00:00"),
        "PropertyConstraintViolation",
    ),
    (
        {"lenient_enums": False},
        "StatusNotification",
        {"connectorId": 1, "errorCode": "NoError", "status": "available"},
        "PropertyConstraintViolation",
    ),
    (
        {"lenient_enums": False},
        "MeterValues",
        meter_values_payload({"value": "50", "unit": "Hz"}),
        "PropertyConstraintViolation",
    ),
    (
        {"lenient_meter_values": False},
        "MeterValues",
        meter_values_payload({"value": 1.5}),
        "TypeConstraintViolation",
    ),
    (
        {"lenient_meter_values": False},
        "MeterValues",
        {"connectorId": 1, "meterValue": {"timestamp": STAMP, "sampledValue": [{"value": "1"}]}},
        "TypeConstraintViolation",
    ),
    (
        {"lenient_id_tags": False},
        "StopTransaction",
        {"transactionId": 1, "meterStop": 1, "timestamp": STAMP, "idTag": "X" * 25},
        "PropertyConstraintViolation",
    ),
    (
        {"lenient_transaction_ids": False},
        "StopTransaction",
        {"transactionId": None, "meterStop": 1, "timestamp": STAMP},
        "TypeConstraintViolation",
    ),
    (
        {
            "lenient_timestamps": False,
            "lenient_meter_values": False,
            "lenient_enums": False,
            "lenient_id_tags": False,
            "lenient_transaction_ids": False,
            "lenient_transaction_messages": False,
        },
        "StartTransaction",
        start_payload(timestamp="2024-05-01T10:00:00"),
        "PropertyConstraintViolation",
    ),
]
STRICT_IDS = [
    "timestamps",
    "enums",
    "open_enums",
    "meter_value_number",
    "meter_value_object",
    "id_tags",
    "transaction_ids",
    "all_off",
]


@pytest.mark.parametrize(("switches", "action", "payload", "code"), STRICT_CASES, ids=STRICT_IDS)
async def test_switch_off_in_the_charge_points_overrides_brings_the_callerror_back(
    cp_url: Callable[[str], str],
    make_charge_point: Callable[..., ChargePoint],
    switches: dict[str, bool],
    action: str,
    payload: dict[str, Any],
    code: str,
) -> None:
    strict = await orm(make_charge_point, "STRICT", compat_overrides=switches)

    answer = await send(cp_url("STRICT"), action, payload)

    assert answer[0] == 4
    assert answer[2] == code
    assert await quirks_of(strict) == {}
    assert await orm(Transaction.objects.count) == 0
    assert await stored_values(strict, "value") == []


@pytest.mark.parametrize(("switches", "action", "payload", "code"), STRICT_CASES, ids=STRICT_IDS)
async def test_switch_off_in_the_tenant_defaults_brings_the_callerror_back(
    cp_url: Callable[[str], str],
    tenant: Tenant,
    charge_point: ChargePoint,
    switches: dict[str, bool],
    action: str,
    payload: dict[str, Any],
    code: str,
) -> None:
    await orm(Tenant.objects.filter(pk=tenant.pk).update, compat_defaults=switches)

    answer = await send(cp_url(charge_point.identity), action, payload)

    assert answer[0] == 4
    assert answer[2] == code


async def test_charge_point_override_turns_a_tenant_switch_back_on(
    cp_url: Callable[[str], str],
    tenant: Tenant,
    make_charge_point: Callable[..., ChargePoint],
) -> None:
    await orm(Tenant.objects.filter(pk=tenant.pk).update, compat_defaults={"lenient_enums": False})
    await orm(make_charge_point, "STRICT")
    lenient = await orm(make_charge_point, "LENIENT", compat_overrides={"lenient_enums": True})
    lowercase = {"connectorId": 1, "errorCode": "NoError", "status": "available"}

    assert (await send(cp_url("STRICT"), "StatusNotification", lowercase))[2] == (
        "PropertyConstraintViolation"
    )
    assert (await send(cp_url("LENIENT"), "StatusNotification", lowercase))[0] == 3
    connector = await orm(Connector.objects.get, charge_point=lenient, connector_id=1)
    assert connector.status == "Available"
