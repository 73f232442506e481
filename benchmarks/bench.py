"""``make bench``: the performance goals of issue 9, measured on this machine.

    .venv/bin/python -m benchmarks.bench [--scale 0.1] [--no-doc]

Recreates the ``csms_bench`` database (PostgreSQL) and flushes Redis database 11, provisions
10,000 charge points, starts one daphne process per core as ``manage.py serve`` does, drives
them with the simulator (``simulator``, one asyncio process) and prints one table:
scenario, figure, goal, result. ``docs/benchmarks.md`` gets the table, the details and the
machine's description. ``--scale`` shrinks every count for a quick trial (not a measurement).
Every process it starts is stopped by its pid, also on failure.
"""

import argparse
import asyncio
import os
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import stack  # noqa: E402

stack.environment()  # before Django reads its settings
import django  # noqa: E402

django.setup()

from benchmarks import report  # noqa: E402
from benchmarks.hot_path import queries_per_frame  # noqa: E402
from benchmarks.scenarios import (  # noqa: E402
    PREFIX,
    TENANT,
    Bench,
    command_round_trip,
    connections_held,
    reconnect_storm,
    throughput,
)

FLEET = 10_000


def prepare(scale: float) -> tuple[str, str, str, list[str]]:
    """A fresh database with the fleet provisioned; the API token, the PostgreSQL and Redis
    versions, and the statements per inbound CALL (Markdown)."""
    env = stack.environment()
    stack.database_recreate(env["DATABASE_URL"])
    stack.redis_flush(env["REDIS_URL"])
    import redis
    from django.core.management import call_command
    from django.db import connection, connections

    from csms.tenancy.services import api_token_issue
    from simulator.config import FleetConfig
    from simulator.provision import fleet_provision

    call_command("migrate", verbosity=0)
    fleet = FleetConfig(count=max(10, int(FLEET * scale)), prefix=PREFIX, id_tag_prefix="BTAG-")
    provisioned = fleet_provision(tenant_slug=TENANT, config=fleet)
    token = api_token_issue(tenant=provisioned.tenant, label="bench").raw
    # One more charge point, outside the simulated fleet, for the statement counts.
    probe = replace(fleet, prefix="PROBE-", id_tag_prefix="PTAG-", count=1)
    fleet_provision(tenant_slug=TENANT, config=probe)
    statements = queries_per_frame(
        tenant_slug=TENANT, identity=probe.identity(0), id_tag=probe.id_tag(0)
    )
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = f"PostgreSQL {cursor.fetchone()[0]}"
    connections.close_all()
    client = redis.Redis.from_url(env["REDIS_URL"])
    try:
        redis_version = client.info("server")["redis_version"]
    finally:
        client.close()
    hot_path = [
        "### Statements per inbound CALL",
        "",
        "What one call costs the database when it is handled alone (a batch shares its "
        "transaction and its message-log insert); BEGIN/COMMIT not counted.",
        "",
        "| action | statements |",
        "| --- | ---: |",
        *(f"| {action} | {count} |" for action, count in statements),
        "",
    ]
    return token, postgres, redis_version, hot_path


async def run(bench: Bench) -> None:
    try:
        await connections_held(bench)
        await command_round_trip(bench)
        await throughput(bench)
        await reconnect_storm(bench)
    finally:
        for fleet in bench.fleets:
            await fleet.stop()


def settings_lines(servers: int) -> list[str]:
    from django.conf import settings

    pool = settings.DATABASES["default"].get("OPTIONS", {}).get("pool", {})
    return [
        f"* stack: {servers} daphne processes (`manage.py serve` flags: ping interval "
        f"{settings.OCPP_WEBSOCKET_PING_INTERVAL} s, no WebSocket time-out, backlog 4096), "
        f"PostgreSQL with psycopg's pool (max {pool.get('max_size')} per process), "
        "channels-redis; no Celery worker (nothing in the measured paths waits for one); "
        "generator: one asyncio process on the same machine",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="shrink every count (trials)")
    parser.add_argument("--no-doc", action="store_true", help="do not write docs/benchmarks.md")
    args = parser.parse_args()
    started = time.monotonic()
    stack.raise_open_files_limit()
    load_before = report.load_average()
    if os.getloadavg()[0] > 1:
        print(f"warning: load average {load_before}: figures will be disturbed", flush=True)
    token, postgres, redis_version, hot_path = prepare(args.scale)
    logs = ROOT / "var" / "bench"
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True)
    servers = stack.Stack(logs, count=max(2, os.cpu_count() or 2))
    bench = Bench(servers, token, scale=args.scale)
    try:
        servers.start()
        asyncio.run(run(bench))
    finally:
        servers.stop()
        for path in servers.crashed():
            print(f"the server logged a traceback: see {path}", flush=True)
    minutes = (time.monotonic() - started) / 60
    print()
    print("\n".join(report.table(bench.rows)))
    print(f"\n{minutes:.1f} min; load average before {load_before}, after {report.load_average()}")
    if not args.no_doc and args.scale >= 1:
        report.write_doc(
            rows=bench.rows,
            details=[*bench.details, *hot_path],
            machine_lines=report.machine(postgres, redis_version),
            settings_lines=settings_lines(len(servers.servers)),
            load_before=load_before,
            load_after=report.load_average(),
            minutes=minutes,
        )
        print(f"written to {report.DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
