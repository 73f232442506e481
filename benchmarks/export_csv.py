"""Issue 15 §4 "Must show": the CSV export of a million sessions streams at constant memory.

    .venv/bin/python -m benchmarks.export_csv [--sessions 1000000] [--keep]

Recreates the ``csms_bench_billing`` database (PostgreSQL), inserts ``--sessions`` stopped
sessions of one tenant in one statement, starts one daphne process as ``manage.py serve``
does (production settings: DEBUG off, the connection pool), and downloads
``GET /api/v1/transactions/export.csv`` over HTTP twice: a tenth of the sessions (a
``started_before`` filter) and all of them, reading the body as it comes without keeping it.
It prints the rows, bytes, time and throughput of each, and the server's peak resident memory
(``VmHWM``) before and after each download: constant memory means the full export raises the
peak no more than the tenth did. Every process it starts is stopped by its pid.
"""

import argparse
import os
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BENCH_ENV = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/csms_bench_billing",
    "REDIS_URL": "redis://127.0.0.1:6379/6",
    "CHANNEL_PREFIX": "csms-billing-bench",
    "SECRET_KEY": "bench-only-not-secret",
    "LOG_LEVEL": "WARNING",
    "DJANGO_SETTINGS_MODULE": "csms.settings",
}
for _key, _value in BENCH_ENV.items():
    os.environ.setdefault(_key, _value)

from benchmarks import stack  # noqa: E402

TENANT = "bench-billing"
T0 = datetime(2025, 1, 1, tzinfo=UTC)
CHARGE_POINTS = 200
READ_SIZE = 1 << 16
# Never through a proxy from the environment: the server is on loopback.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def prepare(sessions: int) -> str:
    """A fresh database with ``sessions`` stopped sessions over CHARGE_POINTS charge points of
    one tenant (the sessions in one INSERT ... SELECT); the tenant's API token."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from chargepoints.models import ChargePoint
    from csms.tenancy.services import api_token_issue, tenant_create_or_update

    call_command("migrate", "--noinput", verbosity=0)
    tenant, _ = tenant_create_or_update(slug=TENANT, name="Billing benchmark")
    ChargePoint.objects.bulk_create(
        ChargePoint(tenant=tenant, identity=f"CP-{n}") for n in range(CHARGE_POINTS)
    )
    first_cp = ChargePoint.objects.filter(tenant=tenant).order_by("pk").first()
    assert first_cp is not None
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO transactions_transaction (tenant_id, charge_point_id, connector_id, "
            "id_tag, id_tag_status, parent_id_tag, meter_start, started_at, meter_stop, "
            "stopped_at, stop_reason, stop_id_tag, flags, energy_wh, energy_source, stopped_by, "
            "closed_by, close_reason, created_at, updated_at) "
            "SELECT %s, %s + n %% %s, 1 + n %% 2, 'CARD-' || (n %% 5000), 'Accepted', 'FLEET', "
            "n * 10, %s + n * interval '1 second', n * 10 + 7000 + n %% 997, "
            "%s + n * interval '1 second' + interval '45 minutes', 'EVDisconnected', '', "
            "CASE WHEN n %% 100 = 0 THEN '[\"meter_stop_rounded\"]'::jsonb "
            "ELSE '[]'::jsonb END, "
            "7000 + n %% 997, 'meter_stop', 'charge_point', '', '', now(), now() "
            "FROM generate_series(1, %s) AS n",
            [tenant.pk, first_cp.pk, CHARGE_POINTS, T0, T0, sessions],
        )
        cursor.execute("ANALYZE transactions_transaction")
    token = api_token_issue(tenant=tenant).raw
    connection.close()
    return token


def peak_rss_kib(pid: int) -> int:
    """The process's resident-memory high-water mark so far (``VmHWM``), in KiB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM")


def download(base_url: str, token: str, query: str) -> tuple[int, int, float]:
    """Rows, bytes and seconds of one export, read as it streams (nothing kept)."""
    request = urllib.request.Request(  # noqa: S310 - loopback URL built here
        f"{base_url}/api/v1/transactions/export.csv{query}",
        headers={"Authorization": f"Bearer {token}"},
    )
    began = time.perf_counter()
    size = lines = 0
    with _opener.open(request, timeout=3600) as response:
        assert response.status == 200, response.status
        while chunk := response.read(READ_SIZE):
            size += len(chunk)
            lines += chunk.count(b"\n")
    return lines - 1, size, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    url = os.environ["DATABASE_URL"]
    stack.database_recreate(url)
    began = time.perf_counter()
    token = prepare(args.sessions)
    print(f"prepared {args.sessions:,} sessions in {time.perf_counter() - began:.0f} s")

    log_dir = Path(tempfile.mkdtemp(prefix="export-csv-bench-"))
    server = stack.Stack(log_dir=log_dir, count=1)
    try:
        server.start()
        (daphne,) = server.servers
        # Warm up: the code paths loaded, the pool's connections open.
        download(daphne.http_url, token, f"?started_before={T0.isoformat()}".replace("+", "%2B"))
        tenth = T0 + timedelta(seconds=args.sessions // 10)
        runs = [
            ("a tenth", f"?started_before={tenth.isoformat()}".replace("+", "%2B")),
            ("all", ""),
        ]
        print(
            f"{'export':>8} {'rows':>10} {'MB':>8} {'s':>7} {'rows/s':>9} {'MB/s':>6} "
            f"{'peak RSS before':>16} {'after':>8}"
        )
        for name, query in runs:
            before = peak_rss_kib(daphne.pid)
            rows, size, seconds = download(daphne.http_url, token, query)
            after = peak_rss_kib(daphne.pid)
            print(
                f"{name:>8} {rows:>10,} {size / 1e6:>8.1f} {seconds:>7.1f} "
                f"{rows / seconds:>9,.0f} {size / 1e6 / seconds:>6.1f} "
                f"{before / 1024:>13.1f} MiB {after / 1024:>4.1f} MiB"
            )
        if server.crashed():
            raise SystemExit(f"the server logged a crash: {server.crashed()}")
    finally:
        server.stop()
        if not args.keep:
            import psycopg

            maintenance = url.rsplit("/", 1)[0] + "/postgres"
            with psycopg.connect(maintenance, autocommit=True) as conn:
                conn.execute('DROP DATABASE IF EXISTS "csms_bench_billing" WITH (FORCE)')


if __name__ == "__main__":
    main()
