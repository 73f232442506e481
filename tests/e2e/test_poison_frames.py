"""A poison frame costs one CALLERROR, never the connection (issue 16 §5): a NUL or an unpaired
surrogate in the UniqueId or in a string, a raw NUL in the frame, numbers no column holds.

Each test sends the frame on a socket, reads the answer, then proves the same socket is still
served (a Heartbeat answered) and reads the message log: the frame is there, escaped.
"""

import json
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection

from chargepoints.models import ChargePoint, IdTag, OcppMessage
from tests.async_orm import orm
from tests.e2e.charger_frames import quirks_of, start_payload
from tests.ocpp_clients import open_socket, raw_call, recv_json
from tests.waiting import eventually
from transactions.models import Transaction

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


async def answer_to(ws: ClientConnection, text: str) -> list[Any]:
    """Send ``text`` as it is; the answer, and the proof that the socket is still served."""
    await ws.send(text)
    answer = await recv_json(ws)
    assert (await raw_call(ws, "Heartbeat", {}))[0] == 3
    return answer


async def logged(charge_point: ChargePoint, count: int) -> list[tuple[str, str, str]]:
    """The first ``count`` message-log rows (a CALLERROR's are written after it was sent)."""

    async def rows() -> list[tuple[str, str, str]]:
        found = await orm(
            lambda: list(
                OcppMessage.objects.filter(charge_point=charge_point)
                .order_by("id")
                .values_list("direction", "message_id", "frame")[:count]
            )
        )
        return found if len(found) == count else []

    return await eventually(rows) or []


@pytest.mark.parametrize(
    ("escaped_id", "message_id"),
    [("ab\\u0000c", "ab\x00c"), ("ab\\ud800c", "ab\ud800c")],
    ids=["nul", "lone-surrogate"],
)
async def test_a_poisoned_unique_id_gets_its_callerror_and_the_socket_stays_up(
    url: str, charge_point: ChargePoint, escaped_id: str, message_id: str
) -> None:
    text = f'[2,"{escaped_id}","Heartbeat",{{}}]'
    async with open_socket(url) as ws:
        answer = await answer_to(ws, text)

    # The charger gets its own id back (JSON-escaped on the wire) to match the error to.
    assert answer[:3] == [4, message_id, "FormationViolation"]
    rows = await logged(charge_point, 2)
    assert rows[0] == ("in", escaped_id, text)
    assert rows[1][0] == "out"
    assert escaped_id in rows[1][2]


async def test_a_raw_nul_in_the_frame_gets_a_callerror_naming_its_id(
    url: str, charge_point: ChargePoint
) -> None:
    text = '[2,"raw-nul","DataTransfer",{"vendorId":"V\x00"}]'
    async with open_socket(url) as ws:
        answer = await answer_to(ws, text)

    assert answer[:3] == [4, "raw-nul", "FormationViolation"]
    rows = await logged(charge_point, 2)
    assert rows[0][0] == "in"
    assert rows[0][2] == text.replace("\x00", "\\u0000")


@pytest.mark.parametrize(
    ("action", "payload"),
    [
        pytest.param(
            "StatusNotification",
            '{"connectorId":1,"errorCode":"NoError","status":"Available","info":"a\\u0000b"}',
            id="nul-in-status-info",
        ),
        pytest.param(
            "BootNotification",
            '{"chargePointVendor":"V\\udc00","chargePointModel":"M"}',
            id="surrogate-in-boot-vendor",
        ),
        pytest.param(
            "DataTransfer", '{"vendorId":"V","data":"\\ud83d"}', id="half-an-emoji-in-data"
        ),
        pytest.param("Authorize", '{"idTag":"TAG\\u0000"}', id="nul-in-authorize-id-tag"),
    ],
)
async def test_a_poisoned_string_in_another_message_is_a_property_violation(
    url: str, charge_point: ChargePoint, action: str, payload: str
) -> None:
    async with open_socket(url) as ws:
        answer = await answer_to(ws, f'[2,"p-1","{action}",{payload}]')

    assert answer[:3] == [4, "p-1", "PropertyConstraintViolation"]
    assert (await logged(charge_point, 1))[0][2].endswith(f"{payload}]")


async def test_a_poisoned_id_tag_in_a_start_is_answered_invalid_and_stored_mended(
    url: str, charge_point: ChargePoint, tag: IdTag
) -> None:
    # "TAG-OK" with a NUL must not authorize as TAG-OK; nor may the session be refused.
    payload = json.dumps(start_payload(idTag="TAG-OK\x00"))
    async with open_socket(url) as ws:
        answer = await answer_to(ws, f'[2,"s-1","StartTransaction",{payload}]')

    assert answer[0] == 3
    assert answer[2]["idTagInfo"] == {"status": "Invalid"}
    tx = await orm(Transaction.objects.get, pk=answer[2]["transactionId"])
    assert tx.id_tag == "TAG-OK\ufffd"
    assert await quirks_of(charge_point) == {"unstorable_characters": 1}


def status_on(connector_id: int) -> dict[str, Any]:
    return {"connectorId": connector_id, "errorCode": "NoError", "status": "Available"}


OUT_OF_RANGE = {
    "connector-minus-one": ("StatusNotification", status_on(-1)),
    "connector-2-31": ("StatusNotification", status_on(2**31)),
    "request-id-1e20": ("LogStatusNotification", {"status": "Uploading", "requestId": 10**20}),
    "request-id-negative-2-40": (
        "SignedFirmwareStatusNotification",
        {"status": "Downloading", "requestId": -(2**40)},
    ),
    "meter-values-connector-minus-one": (
        "MeterValues",
        {
            "connectorId": -1,
            "meterValue": [{"timestamp": "2024-05-01T10:00:00Z", "sampledValue": [{"value": "1"}]}],
        },
    ),
}


@pytest.mark.parametrize(("action", "payload"), OUT_OF_RANGE.values(), ids=OUT_OF_RANGE.keys())
async def test_an_out_of_range_number_is_a_property_violation_not_an_internal_error(
    url: str, charge_point: ChargePoint, action: str, payload: dict[str, Any]
) -> None:
    async with open_socket(url) as ws:
        answer = await answer_to(ws, json.dumps([2, "r-1", action, payload]))

    assert answer[:3] == [4, "r-1", "PropertyConstraintViolation"]


async def test_many_poison_frames_in_a_row_cost_one_callerror_each(
    url: str, charge_point: ChargePoint
) -> None:
    poison = [
        '[2,"a\\u0000","Heartbeat",{}]',
        '[2,"b","Heartbeat",{"x":"\x00"}]',
        '[2,"c","BootNotification",{"chargePointVendor":"\\ud800","chargePointModel":"M"}]',
        '[2,"d","StatusNotification",{"connectorId":-1,"errorCode":"NoError","status":"Available"}]',
        '[2,"e","Heartbeat",NaN]',
        '[2,"f","StartTransaction",{"connectorId":1,"idTag":"T","meterStart":Infinity,"timestamp":"2024-05-01T10:00:00Z"}]',
    ]
    async with open_socket(url) as ws:
        for text in poison:
            await ws.send(text)
        answers = [await recv_json(ws) for _ in poison]
        assert (await raw_call(ws, "Heartbeat", {}))[0] == 3

    assert [answer[0] for answer in answers] == [4] * len(poison)
    assert [answer[1] for answer in answers] == ["a\x00", "b", "c", "d", "e", "f"]
    assert len(await logged(charge_point, 2 * len(poison) + 2)) == 2 * len(poison) + 2
