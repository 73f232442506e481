"""Liveness (``/healthz``) and readiness (``/readyz``) probes for load balancers and systemd."""

import asyncio
import time
import uuid
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import connection
from django.http import HttpRequest, JsonResponse

CHECK_TIMEOUT_SECONDS = 3.0


async def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and its event loop answers."""
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


@sync_to_async
def check_database() -> None:
    try:
        _check_database()
    finally:
        # Do not leave a broken or idle connection behind on the executor thread.
        connection.close_if_unusable_or_obsolete()


async def check_channel_layer() -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    # The default prefix: channels-redis reads all of a process's channels through one receive
    # loop per prefix, and the consumers already hold the default one.
    channel = await layer.new_channel()
    token = uuid.uuid4().hex
    await layer.send(channel, {"type": "readyz.ping", "token": token})
    message = await layer.receive(channel)
    if message.get("token") != token:
        raise RuntimeError("channel layer returned another message")


async def _run_check(check: Any) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check(), timeout=CHECK_TIMEOUT_SECONDS)
    except TimeoutError:
        result: dict[str, Any] = {"ok": False, "error": "timed out"}
    except Exception as exc:  # noqa: BLE001 - a probe reports every failure, it never raises
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}".strip()[:300]}
    else:
        result = {"ok": True}
    result["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


async def readyz(request: HttpRequest) -> JsonResponse:
    """The database and the channel layer are reachable; 503 names what is not."""
    database, channel_layer = await asyncio.gather(
        _run_check(check_database), _run_check(check_channel_layer)
    )
    checks = {"database": database, "channel_layer": channel_layer}
    ready = all(check["ok"] for check in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status=200 if ready else 503,
    )
