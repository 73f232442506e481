"""The stack the benchmark measures: PostgreSQL, Redis and daphne processes, and their costs.

Production-like: the settings module as deployed (DEBUG off, a SECRET_KEY, PostgreSQL with the
connection pool, channels-redis), daphne started with the flags ``manage.py serve`` uses, one
process per core. Every process started here is stopped by its pid (``Stack.stop``), and dies
with the benchmark if that is killed (PR_SET_PDEATHSIG).
"""

import contextlib
import ctypes
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
BENCH_ENV = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/csms_bench",
    "REDIS_URL": "redis://127.0.0.1:6379/11",
    "SECRET_KEY": "bench-only-not-secret",
    "CHANNEL_PREFIX": "csms_bench",
    "LOG_LEVEL": "WARNING",
    "DJANGO_SETTINGS_MODULE": "csms.settings",
    # Scenario 2 sends its commands back to back with one token, far above the API's per-token
    # rate limit (6000/min): it measures round trips, not the throttle.
    "API_RATE_LIMIT": "1000000/min",
}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
PR_SET_PDEATHSIG = 1
_prctl = ctypes.CDLL(None).prctl if sys.platform.startswith("linux") else None


def environment() -> dict[str, str]:
    """The benchmark's settings, unless the caller's environment says otherwise."""
    for key, value in BENCH_ENV.items():
        os.environ.setdefault(key, value)
    return {key: os.environ[key] for key in BENCH_ENV}


def raise_open_files_limit() -> int:
    """10,000 sockets in the generator (and thousands per server process): soft limit = hard."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def database_recreate(url: str) -> None:
    """A fresh benchmark database: figures do not depend on what an earlier run left."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name.startswith("csms_bench"):
        raise SystemExit(f"refusing to drop {name!r}: the benchmark only drops csms_bench*")
    maintenance = parts._replace(path="/postgres").geturl()
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def redis_flush(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


# --- Process metrics ------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as handle:
        return int(handle.read().split()[1]) * PAGE_SIZE


def total_cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            total += cpu_seconds(pid)
    return total


def total_rss(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            total += rss_bytes(pid)
    return total


def postgres_backend_pids(database: str) -> list[int]:
    """The PostgreSQL backends serving ``database`` (their CPU is the stack's too)."""
    import psycopg

    url = os.environ["DATABASE_URL"]
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [database],
        ).fetchall()
    return [row[0] for row in rows]


# --- daphne ---------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    if _prctl is not None:
        _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Daphne:
    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Stack:
    """``count`` daphne processes on fixed ports (a restart reuses them)."""

    log_dir: Path
    count: int = 2
    env: dict[str, str] = field(default_factory=dict)
    servers: list[Daphne] = field(default_factory=list)

    def start(self) -> None:
        from csms.management.commands.serve import daphne_command

        if not self.servers:
            self.servers = [
                Daphne(port, self.log_dir / f"daphne-{index + 1}.log")
                for index, port in enumerate(free_port() for _ in range(self.count))
            ]
        for server in self.servers:
            with server.log_path.open("ab") as log:
                server.process = subprocess.Popen(
                    daphne_command(host="127.0.0.1", port=server.port, backlog=4096),
                    cwd=ROOT,
                    env={**os.environ, **self.env, "PYTHONUNBUFFERED": "1"},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    preexec_fn=_die_with_parent,
                )
        for server in self.servers:
            self._wait_listening(server)

    def _wait_listening(self, server: Daphne) -> None:
        deadline = time.monotonic() + 60
        while True:
            assert server.process is not None
            if server.process.poll() is not None:
                raise SystemExit(
                    f"daphne on {server.port} exited with {server.process.returncode}; "
                    f"see {server.log_path}"
                )
            try:
                with socket.create_connection(("127.0.0.1", server.port), timeout=0.2):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"daphne on {server.port} did not listen in time") from None
                time.sleep(0.05)

    @property
    def pids(self) -> list[int]:
        return [s.pid for s in self.servers if s.process is not None and s.process.poll() is None]

    def stop(self, *, kill: bool = False) -> None:
        """Stop every server process by its pid (SIGTERM, or SIGKILL for a crash)."""
        for server in self.servers:
            if server.process is not None and server.process.poll() is None:
                if kill:
                    server.process.kill()
                else:
                    server.process.terminate()
        for server in self.servers:
            if server.process is None:
                continue
            try:
                server.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait(timeout=5)

    def crashed(self) -> list[str]:
        """Logs with tracebacks (a benchmark with crashes proves nothing)."""
        return [
            str(server.log_path)
            for server in self.servers
            if server.log_path.exists()
            and "Traceback (most recent call last)" in server.log_path.read_text(errors="replace")
        ]
