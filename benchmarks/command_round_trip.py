"""Command round trips across processes: API (process 2) → charge point (on process 1) → API.

    .venv/bin/python benchmarks/command_round_trip.py [--charge-points 200] [--commands 300]
        [--concurrency 1] [--first http://… --second http://…]

Production set-up: PostgreSQL + Redis (defaults below, overridable through the environment;
the database ``csms_bench`` is created and migrated if missing). Starts two daphne processes
with the flags ``manage.py serve`` uses, connects N charge points to the first (most of them
idle), then times M ``POST …/commands/?wait=10`` against the second, each to the next charge
point in turn; each is a full round trip: the row is written by process 2, the wake-up crosses
Redis, process 1 sends the CALL, the charge point answers, process 1 stores it and wakes the
waiter in process 2. Prints median, p90, p99 and max in ms. With ``--first/--second`` it targets
running servers (on the same database) instead of starting its own. Every process it started is
stopped by its pid on the way out.
"""

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/csms_bench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/11")
os.environ.setdefault("SECRET_KEY", "bench")
os.environ.setdefault("CHANNEL_PREFIX", "csms_bench")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csms.settings")

import psycopg  # noqa: E402
import websockets  # noqa: E402

TENANT = "bench"
ACTION = "TriggerMessage"
PAYLOAD = {"requestedMessage": "Heartbeat"}
ANSWER = {"status": "Accepted"}
WAIT = 10


def database_ensure(url: str) -> None:
    """Create the benchmark's database if it does not exist yet."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    maintenance = parts._replace(path="/postgres").geturl()
    with psycopg.connect(maintenance, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def data_setup(count: int) -> tuple[str, list[str]]:
    """Migrate; the tenant, ``count`` charge points and an API token. No commands left over."""
    import django

    django.setup()
    from django.core.management import call_command

    from chargepoints.models import ChargePoint, Command
    from csms.tenancy.models import Tenant
    from csms.tenancy.services import api_token_issue

    call_command("migrate", verbosity=0)
    tenant, _ = Tenant.objects.get_or_create(slug=TENANT, defaults={"name": "Bench"})
    identities = [f"RT{i:05d}" for i in range(count)]
    existing = set(ChargePoint.objects.filter(tenant=tenant).values_list("identity", flat=True))
    ChargePoint.objects.bulk_create(
        ChargePoint(tenant=tenant, identity=identity)
        for identity in identities
        if identity not in existing
    )
    # Presence left behind by an earlier run that was killed, and its commands.
    ChargePoint.objects.filter(tenant=tenant).update(connected=False, channel_name="")
    Command.objects.filter(tenant=tenant).delete()
    return api_token_issue(tenant=tenant, label="benchmark").raw, identities


# --- Servers --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def daphne_processes(count: int, log_dir: Path) -> Iterator[list[str]]:
    """``count`` daphne processes as ``make run`` starts them; their base URLs."""
    from csms.management.commands.serve import daphne_command

    processes: list[subprocess.Popen[bytes]] = []
    urls = []
    try:
        for index in range(count):
            port = free_port()
            with (log_dir / f"daphne-{index + 1}.log").open("wb") as log:
                processes.append(
                    subprocess.Popen(
                        daphne_command(host="127.0.0.1", port=port, backlog=2048),
                        cwd=ROOT,
                        env=dict(os.environ),
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
            urls.append(f"http://127.0.0.1:{port}")
        for process, url in zip(processes, urls, strict=True):
            wait_listening(process, url)
        yield urls
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def wait_listening(process: subprocess.Popen[bytes], url: str) -> None:
    parts = urlsplit(url)
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise SystemExit(f"daphne ({url}) exited with {process.returncode}")
        try:
            with socket.create_connection((parts.hostname, parts.port), timeout=0.2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"daphne ({url}) did not listen in time") from None
            time.sleep(0.05)


# --- Charge points ----------------------------------------------------------------------------


async def charge_point(url: str, connected: asyncio.Event, stop: asyncio.Event) -> None:
    """Answer every CALL at once; otherwise idle."""
    async with websockets.connect(
        url, subprotocols=["ocpp1.6"], open_timeout=30, ping_interval=None, compression=None
    ) as ws:
        connected.set()
        reader = asyncio.create_task(_answer_calls(ws))
        await stop.wait()
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader


async def _answer_calls(ws: Any) -> None:
    async for raw in ws:
        frame = json.loads(raw)
        if frame[0] == 2:
            await ws.send(json.dumps([3, frame[1], ANSWER]))


# --- The API ------------------------------------------------------------------------------------


class Api:
    """One keep-alive HTTP connection (used from one thread at a time)."""

    def __init__(self, base_url: str, token: str) -> None:
        parts = urlsplit(base_url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def command(self, identity: str) -> tuple[float, int, str]:
        body = json.dumps({"action": ACTION, "payload": PAYLOAD})
        started = time.perf_counter()
        self.connection.request(
            "POST", f"/api/v1/charge-points/{identity}/commands/?wait={WAIT}", body, self.headers
        )
        response = self.connection.getresponse()
        data = json.loads(response.read())
        elapsed = time.perf_counter() - started
        return elapsed, response.status, data.get("status", "")


async def round_trips(
    api_url: str, token: str, identities: list[str], commands: int, concurrency: int
) -> tuple[list[float], list[str]]:
    latencies: list[float] = []
    failures: list[str] = []
    queue: asyncio.Queue[str] = asyncio.Queue()
    for index in range(commands):
        queue.put_nowait(identities[index % len(identities)])

    async def worker() -> None:
        api = Api(api_url, token)
        try:
            while not queue.empty():
                identity = queue.get_nowait()
                elapsed, status, state = await asyncio.to_thread(api.command, identity)
                if status == 201 and state == "completed":
                    latencies.append(elapsed)
                else:
                    failures.append(f"{identity}: HTTP {status} {state}")
        finally:
            api.connection.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, failures


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, round(share * len(ordered) + 0.5))
    return ordered[min(rank, len(ordered)) - 1]


async def fleet_connect(base_url: str, identities: list[str], stop: asyncio.Event) -> list[Any]:
    """Connect the charge points in batches of 50; their tasks (they end when ``stop`` is set)."""
    ws_base = "ws" + base_url.removeprefix("http")
    clients = []
    started = time.perf_counter()
    for batch in range(0, len(identities), 50):
        events = []
        for identity in identities[batch : batch + 50]:
            event = asyncio.Event()
            events.append(event)
            url = f"{ws_base}/ocpp/{TENANT}/{identity}"
            clients.append(asyncio.create_task(charge_point(url, event, stop)))
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in events)), 60)
    elapsed = time.perf_counter() - started
    print(f"{len(identities)} charge points connected to {base_url} in {elapsed:.1f} s")
    return clients


async def run(
    args: argparse.Namespace, first: str, second: str, token: str, ids: list[str]
) -> None:
    targets, bystanders = ids[: args.charge_points], ids[args.charge_points :]
    stop = asyncio.Event()
    clients = []
    try:
        clients += await fleet_connect(first, targets, stop)
        if bystanders:  # the API process holds sockets too, as in a mixed deployment
            clients += await fleet_connect(second, bystanders, stop)
        # Warm-up: connection pools, schema caches, code paths.
        await round_trips(second, token, targets, min(20, args.commands), 1)
        started = time.perf_counter()
        latencies, failures = await round_trips(
            second, token, targets, args.commands, args.concurrency
        )
        wall = time.perf_counter() - started
    finally:
        stop.set()
        await asyncio.gather(*clients, return_exceptions=True)

    ms = [value * 1000 for value in latencies]
    print(
        f"{args.commands} round trips {ACTION} via {second} (API, process 2) → charge point on "
        f"{first} (process 1), concurrency {args.concurrency}, ?wait={WAIT}"
    )
    print(f"completed {len(ms)}, failed {len(failures)}; {len(ms) / wall:.0f} commands/s")
    for failure in failures[:10]:
        print("  failed:", failure)
    if ms:
        print(
            f"median {statistics.median(ms):.1f} ms  p90 {percentile(ms, 0.90):.1f} ms  "
            f"p99 {percentile(ms, 0.99):.1f} ms  max {max(ms):.1f} ms  "
            f"(mean {statistics.fmean(ms):.1f} ms, min {min(ms):.1f} ms)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--charge-points", type=int, default=200)
    parser.add_argument("--commands", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=1, help="API calls in flight")
    parser.add_argument(
        "--second-charge-points",
        type=int,
        default=0,
        help="idle charge points connected to process 2 (the API process) as well",
    )
    parser.add_argument("--first", help="base URL of a running process 1 (charge points)")
    parser.add_argument("--second", help="base URL of a running process 2 (API)")
    args = parser.parse_args()
    if bool(args.first) != bool(args.second):
        parser.error("--first and --second go together")
    if not os.environ["DATABASE_URL"].startswith("postgres"):
        parser.error("this benchmark measures the production set-up: PostgreSQL + Redis")

    database_ensure(os.environ["DATABASE_URL"])
    token, identities = data_setup(args.charge_points + args.second_charge_points)
    print(
        f"database {urlsplit(os.environ['DATABASE_URL']).path[1:]}, redis {os.environ['REDIS_URL']}"
    )
    if args.first:
        asyncio.run(run(args, args.first, args.second, token, identities))
        return
    with (
        tempfile.TemporaryDirectory(prefix="csms-bench-") as tmp,
        daphne_processes(2, Path(tmp)) as (first, second),
    ):
        asyncio.run(run(args, first, second, token, identities))


if __name__ == "__main__":
    main()
