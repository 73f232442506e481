"""Database queries per OCPP frame, and frames per second through a real daphne.

    .venv/bin/python benchmarks/ocpp_hot_path.py [--clients 50] [--frames 200]

Uses DATABASE_URL / REDIS_URL like the server (PostgreSQL + Redis for production figures);
without them, a throw-away SQLite database under /tmp. Prints two tables.
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csms.settings")
os.environ.setdefault("SECRET_KEY", "bench-only")
if "DATABASE_URL" not in os.environ:
    os.environ["CSMS_VAR_DIR"] = tempfile.mkdtemp(prefix="csms-bench-")

import django  # noqa: E402

django.setup()

import websockets  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from chargepoints import connection as backend  # noqa: E402
from chargepoints.models import ChargePoint, IdTag  # noqa: E402
from csms.ocpp import protocol  # noqa: E402
from csms.ocpp.frames import Call  # noqa: E402
from csms.ocpp.router import CallContext  # noqa: E402
from csms.tenancy.models import Tenant  # noqa: E402
from transactions.models import Transaction  # noqa: E402

TENANT = "bench"


def now_iso() -> str:
    return timezone.now().isoformat()


def meter_values(transaction_id: int) -> dict:
    return {
        "connectorId": 1,
        "transactionId": transaction_id,
        "meterValue": [
            {
                "timestamp": now_iso(),
                "sampledValue": [
                    {
                        "value": str(time.perf_counter_ns()),
                        "measurand": "Energy.Active.Import.Register",
                        "unit": "Wh",
                    },
                    {"value": "7200", "measurand": "Power.Active.Import", "unit": "W"},
                    {"value": "16.0", "measurand": "Current.Import", "phase": "L1", "unit": "A"},
                ],
            }
        ],
    }


def status(connector: int = 1) -> dict:
    return {
        "connectorId": connector,
        "errorCode": "NoError",
        "status": "Charging",
        "timestamp": now_iso(),
    }


def setup_data(count: int) -> Tenant:
    call_command("migrate", verbosity=0)
    tenant, _ = Tenant.objects.get_or_create(slug=TENANT, defaults={"name": "Bench"})
    existing = set(ChargePoint.objects.filter(tenant=tenant).values_list("identity", flat=True))
    ChargePoint.objects.bulk_create(
        ChargePoint(tenant=tenant, identity=f"B{i:05d}")
        for i in range(count)
        if f"B{i:05d}" not in existing
    )
    IdTag.objects.get_or_create(tenant=tenant, id_tag="BENCH")
    return tenant


def queries_per_frame(tenant: Tenant) -> list[tuple[str, int]]:
    cp = ChargePoint.objects.get(tenant=tenant, identity="B00000")
    session, _ = backend.open_session(
        tenant_slug=TENANT,
        identity=cp.identity,
        authorization=None,
        channel_name="bench!x",
        client="",
    )

    def run(action: str, payload: dict) -> int:
        call = Call(uuid.uuid4().hex[:20], action, payload)
        route = protocol.admit_call(call, session)
        snake, quirks = protocol.validated_request(action, dict(payload), session.switches)
        ctx = CallContext(session, call.message_id, action, timezone.now(), quirks)
        with CaptureQueriesContext(connection) as captured:
            answer = backend.handle_call(
                route, ctx, snake, json.dumps([2, call.message_id, action, payload])
            )
        assert answer.startswith("[3"), answer
        if os.environ.get("BENCH_SHOW_SQL"):
            print(action, *(q["sql"][:120] for q in captured.captured_queries), sep="\n  ")
        # Statements that touch data; BEGIN/COMMIT/SAVEPOINT are transaction control.
        return sum(
            not q["sql"].startswith(("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE"))
            for q in captured.captured_queries
        )

    run("Heartbeat", {})  # warm (first frame may write last_seen)
    start = {"connectorId": 1, "idTag": "BENCH", "meterStart": 0, "timestamp": now_iso()}
    run("StatusNotification", status())  # the first one creates the connector
    rows = [
        ("Heartbeat", run("Heartbeat", {})),
        ("StatusNotification", run("StatusNotification", status())),
        ("StartTransaction", run("StartTransaction", start)),
    ]
    tx = Transaction.objects.filter(charge_point=cp).latest("pk")
    rows.append(("MeterValues", run("MeterValues", meter_values(tx.pk))))
    rows.append(
        (
            "StopTransaction",
            run(
                "StopTransaction", {"transactionId": tx.pk, "meterStop": 10, "timestamp": now_iso()}
            ),
        )
    )
    backend.close_session(session=session, channel_name="bench!x")
    return rows


async def client(url: str, identity: str, frames: int, latencies: dict[str, list[float]]) -> None:
    async with websockets.connect(
        f"{url}/ocpp/{TENANT}/{identity}", subprotocols=["ocpp1.6"]
    ) as ws:

        async def call(action: str, payload: dict) -> dict:
            message_id = uuid.uuid4().hex[:20]
            started = time.perf_counter()
            await ws.send(json.dumps([2, message_id, action, payload]))
            answer = json.loads(await ws.recv())
            latencies.setdefault(action, []).append((time.perf_counter() - started) * 1000)
            assert answer[0] == 3, answer
            return answer[2]

        await call("BootNotification", {"chargePointVendor": "Bench", "chargePointModel": "B1"})
        await call("StatusNotification", status())
        tx = await call(
            "StartTransaction",
            {"connectorId": 1, "idTag": "BENCH", "meterStart": 0, "timestamp": now_iso()},
        )
        for i in range(frames):
            kind = i % 10
            if kind < 5:
                await call("MeterValues", meter_values(tx["transactionId"]))
            elif kind < 8:
                await call("Heartbeat", {})
            else:
                await call("StatusNotification", status())
        await call(
            "StopTransaction",
            {"transactionId": tx["transactionId"], "meterStop": 1000, "timestamp": now_iso()},
        )


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def throughput(
    url: str, clients: int, frames: int
) -> tuple[float, int, dict[str, list[float]]]:
    latencies: dict[str, list[float]] = {}
    started = time.perf_counter()
    await asyncio.gather(*(client(url, f"B{i:05d}", frames, latencies) for i in range(clients)))
    elapsed = time.perf_counter() - started
    total = sum(len(v) for v in latencies.values())
    return total / elapsed, total, latencies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--port", type=int, default=8799)
    args = parser.parse_args()
    tenant = setup_data(max(args.clients, 1))
    db = connection.settings_dict["ENGINE"].rsplit(".", 1)[-1]
    print(
        f"database: {db}; channel layer: {'redis' if os.environ.get('REDIS_URL') else 'in-memory'}"
    )
    print(f"\n{'frame (steady state)':<22}{'queries':>8}")
    for action, count in queries_per_frame(tenant):
        print(f"{action:<22}{count:>8}")
    connection.close()

    daphne = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "daphne"),
            "-p",
            str(args.port),
            "--websocket_timeout",
            "-1",
            "--access-log",
            os.devnull,
            "csms.asgi:application",
        ],
        cwd=ROOT,
        env={**os.environ, "LOG_LEVEL": "WARNING"},
    )
    try:
        time.sleep(3)
        rate, total, latencies = asyncio.run(
            throughput(f"ws://127.0.0.1:{args.port}", args.clients, args.frames)
        )
    finally:
        daphne.terminate()
        daphne.wait(timeout=10)
    print(f"\n{args.clients} charge points, {total} frames: {rate:,.0f} frames/s")
    print("(each simulated charge point waits for every answer before its next frame)")
    print(f"{'action':<20}{'n':>7}{'p50 ms':>9}{'p99 ms':>9}")
    for action, values in sorted(latencies.items()):
        p50, p99 = statistics.median(values), percentile(values, 0.99)
        print(f"{action:<20}{len(values):>7}{p50:>9.1f}{p99:>9.1f}")


if __name__ == "__main__":
    main()
