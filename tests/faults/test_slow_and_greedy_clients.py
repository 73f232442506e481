"""Slow and greedy clients are bounded (issue 16 §8): a handshake whose headers trickle in is
dropped at its deadline, a flooding charger gets CALLERRORs and then its socket closed (its
flood kept out of the message log), and a forged X-Forwarded-For is not believed."""

import asyncio
import json
import socket
import time
from collections.abc import Iterator

import pytest

from chargepoints.models import ChargePoint, OcppMessage
from csms.tenancy.models import Tenant
from tests.async_orm import orm
from tests.faults.figures import figures_keep
from tests.ocpp_clients import ocpp_url, open_socket, refused_status
from tests.servers import ServerProcess, daphne_running

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LIMITS = {
    "HTTP_HEADERS_TIMEOUT_SECONDS": "1",
    "OCPP_FRAME_RATE": "20",
    "OCPP_FRAME_BURST": "20",
    "OCPP_FRAME_FLOOD_REFUSALS": "100",
}


@pytest.fixture(scope="module")
def bounded_server(django_db_setup: None) -> Iterator[ServerProcess]:
    """daphne with tight limits (a 1 s header deadline, 20 frames/s)."""
    with daphne_running(**LIMITS) as server:
        yield server


def _slowloris(port: int) -> float:
    """Seconds until the server dropped a handshake sent a byte every 0.2 s."""
    request = b"GET /ocpp/acme/CP-1 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n" + b"X" * 200
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        for byte in request:
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            sock.settimeout(0.2)
            try:
                if sock.recv(1) == b"":
                    break
            except TimeoutError:
                continue
            except OSError:
                break
            if time.monotonic() - started > 10:
                break
    return time.monotonic() - started


async def test_a_handshake_whose_headers_trickle_in_is_dropped_at_its_deadline(
    bounded_server: ServerProcess,
) -> None:
    held = await asyncio.gather(
        *(asyncio.to_thread(_slowloris, bounded_server.port or 0) for _ in range(20))
    )
    figures_keep("slowloris", {"sockets": len(held), "held_at_most_s": round(max(held), 2)})
    assert max(held) < 3


async def test_a_flooding_charger_gets_errors_then_is_disconnected_and_fills_no_log(
    bounded_server: ServerProcess, tenant: Tenant, charge_point: ChargePoint
) -> None:
    url = ocpp_url(bounded_server.ws_url, tenant.slug, charge_point.identity)
    answers: list[list[object]] = []
    sent = 0
    started = time.monotonic()
    async with open_socket(url) as ws:
        with pytest.raises(Exception):  # noqa: B017 - the server closes the socket (4008)
            for number in range(5000):
                await ws.send(json.dumps([2, f"flood-{number}", "Heartbeat", {}]))
                sent += 1
            while True:
                answers.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
        close_code = ws.close_code
        flooded_for = time.monotonic() - started
    await asyncio.sleep(0.5)  # the answered frames' log rows are written after the answer
    codes = [answer[2] if answer[0] == 4 else "ok" for answer in answers]
    logged = await orm(OcppMessage.objects.filter(charge_point=charge_point).count)
    figures_keep(
        "frame_flood",
        {
            "sent": sent,
            "answered_ok": codes.count("ok"),
            "refused": codes.count("GenericError"),
            "close_code": close_code,
            "message_log_rows": logged,
            "flooded_for_s": round(flooded_for, 2),
        },
    )
    assert close_code == 4008
    assert codes.count("GenericError") > 0
    # Only the frames within the rate were handled and logged (two rows each): the bucket
    # and what it refilled while the flood lasted, not the thousands sent.
    admitted = int(LIMITS["OCPP_FRAME_BURST"]) + float(LIMITS["OCPP_FRAME_RATE"]) * flooded_for
    assert logged <= 2 * (admitted + 1)


async def test_a_forged_x_forwarded_for_is_not_believed(
    bounded_server: ServerProcess, tenant: Tenant
) -> None:
    offset = bounded_server.log_size()
    url = ocpp_url(bounded_server.ws_url, tenant.slug, "CP-NOBODY")
    status = await refused_status(url, additional_headers={"X-Forwarded-For": "203.0.113.66"})
    await asyncio.sleep(0.3)
    log = bounded_server.log_since(offset)
    assert status == 404
    assert "refused acme/CP-NOBODY from 127.0.0.1" in log, log
    assert "203.0.113.66" not in log
