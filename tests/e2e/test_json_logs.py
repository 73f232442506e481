"""``LOG_FORMAT=json``: a real daphne writes one JSON object per line, and every line of an OCPP
connection's work names its charge point, its tenant and the message it is about."""

import json
from collections.abc import Iterator
from typing import Any

import pytest

from chargepoints.models import ChargePoint
from csms.tenancy.models import Tenant
from tests.ocpp_clients import ocpp_url, open_socket, raw_call, recv_json, refused_status
from tests.servers import ServerProcess, daphne_running, no_crash_logged
from tests.waiting import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def json_server(django_db_setup: None) -> Iterator[ServerProcess]:
    with daphne_running(LOG_FORMAT="json", LOG_LEVEL="INFO") as server:
        yield server


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every line of ``text`` as JSON (fails on a line that is not)."""
    records = []
    for line in text.splitlines():
        if line.strip():
            try:
                records.append(json.loads(line))
            except ValueError:
                pytest.fail(f"not a JSON log line: {line!r}")
    return records


async def test_every_line_is_json_and_ocpp_lines_name_charge_point_tenant_and_message(
    json_server: ServerProcess, charge_point: ChargePoint, tenant: Tenant
) -> None:
    offset = json_server.log_size()
    with no_crash_logged(json_server):
        async with open_socket(ocpp_url(json_server.ws_url, tenant.slug, "CP-1")) as ws:
            # An action nobody sends: answered NotImplemented, and logged at INFO.
            answer = await raw_call(ws, "NoSuchAction", {}, message_id="msg-404")
            assert answer[2] == "NotImplemented"
            # Not a frame at all: its message id cannot be read ("-1").
            await ws.send("this is not json")
            assert (await recv_json(ws))[2] == "FormationViolation"
        # An identity the tenant does not know: refused, on the security log.
        assert await refused_status(ocpp_url(json_server.ws_url, tenant.slug, "STRANGER")) == 404

        async def logged() -> list[dict[str, Any]]:
            records = json_lines(json_server.log_since(offset))
            return records if any("STRANGER" in r["message"] for r in records) else []

        records = await eventually(logged)
    assert records, json_server.log_since(offset)
    for record in records:
        assert {"time", "level", "logger", "message"} <= record.keys()

    (refused_call,) = [r for r in records if "NoSuchAction" in r["message"]]
    assert refused_call["logger"] == "csms.ocpp.pipeline"
    assert refused_call["level"] == "INFO"
    assert (refused_call["tenant"], refused_call["charge_point"]) == ("acme", "CP-1")
    assert refused_call["message_id"] == "msg-404"

    (not_json,) = [r for r in records if "FormationViolation" in r["message"]]
    assert (not_json["charge_point"], not_json["message_id"]) == ("CP-1", "-1")

    (stranger,) = [r for r in records if "STRANGER" in r["message"]]
    assert stranger["logger"] == "csms.security"
    assert (stranger["tenant"], stranger["charge_point"]) == ("acme", "STRANGER")
    assert stranger["message_id"] is None  # refused before any frame
