"""Liveness (``/healthz``) and readiness (``/readyz``) probes for load balancers and systemd."""

import asyncio
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
from channels.layers import get_channel_layer
from django.db import connection
from django.http import HttpRequest, JsonResponse

from csms.ocpp.layer_inbox import local_inboxes
from csms.ocpp.outbound import outbound_counts

# /readyz answers within a second, under load too (issue 16 §7): each check is bounded, and
# the database check runs in threads of its own, not on the one thread that sync views and the
# ORM share under ASGI (it queued behind the API there and took more than 5 s under load).
CHECK_TIMEOUT_SECONDS = 0.8
_probe_threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="readyz")


async def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and its event loop answers."""
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    """A fresh connection and ``SELECT 1``: can the database take a connection now? Not the
    pool's: an exhausted pool under load is not an outage, and a probe must not wait for one."""
    settings_dict = connection.settings_dict
    if settings_dict["ENGINE"] == "django.db.backends.postgresql":
        with psycopg.connect(
            dbname=settings_dict["NAME"],
            user=settings_dict["USER"] or None,
            password=settings_dict["PASSWORD"] or None,
            host=settings_dict["HOST"] or None,
            port=settings_dict["PORT"] or None,
            connect_timeout=max(1, int(CHECK_TIMEOUT_SECONDS + 0.5)),
        ) as probe:
            probe.execute("SELECT 1").fetchone()
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    connection.close()


async def check_database() -> None:
    await asyncio.get_running_loop().run_in_executor(_probe_threads, _check_database)


async def check_channel_layer() -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    # A channel of the layer's own prefix, read by its receive(): the OCPP consumers' events
    # go through a reader of their own (csms.ocpp.layer_inbox), which never holds that loop.
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


def _ocpp_counts() -> dict[str, int]:
    return {"consumers": len(local_inboxes), **outbound_counts()}


async def readyz(request: HttpRequest) -> JsonResponse:
    """The database and the channel layer are reachable; 503 names what is not. Also what
    this process serves: its OCPP connections and their outbox tasks (none may outlive its
    connection: issue 16 §1)."""
    database, channel_layer = await asyncio.gather(
        _run_check(check_database), _run_check(check_channel_layer)
    )
    checks = {"database": database, "channel_layer": channel_layer}
    ready = all(check["ok"] for check in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks, "ocpp": _ocpp_counts()},
        status=200 if ready else 503,
    )
