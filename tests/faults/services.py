"""Private Redis and PostgreSQL servers for the fault-injection tests: ours to stop, kill and
restart, never the machine's shared ones.

Each runs as a child process of the test (the server binary itself, so its pid is the
server's), on a port of the range reserved for them, with its data under a temporary
directory; the fixture that started it stops it by that pid.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# The ports private servers of this suite may take (the rest of the machine keeps its own).
PRIVATE_PORTS = range(9130, 9140)
START_TIMEOUT = 30.0


def private_port() -> int:
    """A free port of :data:`PRIVATE_PORTS`."""
    for port in PRIVATE_PORTS:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.fail(f"no free port in {PRIVATE_PORTS.start}-{PRIVATE_PORTS.stop - 1}")


def accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _wait_listening(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not accepts_connections(port):
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(
                f"server on {port} did not start:\n{log.read_text(errors='replace')[-3000:]}"
            )
        time.sleep(0.05)


def _stop(process: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


# --- Redis --------------------------------------------------------------------------------------


@dataclass
class PrivateRedis:
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                [
                    shutil.which("redis-server") or "redis-server",
                    *("--port", str(self.port), "--bind", "127.0.0.1"),
                    *("--save", "", "--appendonly", "no"),
                ],
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        _wait_listening(self.process, self.port, self.log)

    def stop(self) -> None:
        """Gone at once, as a crashed or restarting Redis is (its data with it)."""
        _stop(self.process, signal.SIGKILL)


@contextlib.contextmanager
def private_redis(directory: Path) -> Iterator[PrivateRedis]:
    redis = PrivateRedis(private_port(), directory / "redis.log")
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


# --- PostgreSQL ---------------------------------------------------------------------------------


def postgres_bin(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return str(found[-1]) if found else shutil.which(name) or name


def _as_postgres() -> dict[str, str]:
    """PostgreSQL refuses to run as root: as root, run it as the postgres user."""
    return {"user": "postgres"} if os.geteuid() == 0 else {}


@dataclass
class PrivatePostgres:
    port: int
    directory: Path
    database: str = "csms_faults"
    process: subprocess.Popen[bytes] | None = field(default=None)

    @property
    def data(self) -> Path:
        return self.directory / "data"

    @property
    def log(self) -> Path:
        return self.directory / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{self.database}"

    def initialise(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        subprocess.run(
            [postgres_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust"],
            check=True,
            capture_output=True,
            **_as_postgres(),  # type: ignore[arg-type]
        )

    def start(self) -> None:
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                [
                    postgres_bin("postgres"),
                    *("-D", str(self.data), "-p", str(self.port), "-h", "127.0.0.1"),
                    *("-k", str(self.directory), "-c", "fsync=off"),
                ],
                stdout=output,
                stderr=subprocess.STDOUT,
                **_as_postgres(),  # type: ignore[arg-type]
            )
        _wait_listening(self.process, self.port, self.log)
        deadline = time.monotonic() + START_TIMEOUT
        while self.psql("SELECT 1", database="postgres", check=False).returncode != 0:
            if time.monotonic() > deadline:
                pytest.fail(f"postgres did not accept queries:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        """A fast shutdown (SIGINT): every session cut, as in a restart or a fail-over."""
        _stop(self.process, signal.SIGINT)

    def psql(
        self, sql: str, *, database: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                postgres_bin("psql"),
                *("-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"),
                *("-d", database or self.database, "-tAqc", sql),
            ],
            check=check,
            capture_output=True,
            text=True,
        )

    def scalar(self, sql: str) -> str:
        return self.psql(sql).stdout.strip()

    def load_copy_of(self, source_url_parts: dict[str, str]) -> None:
        """This database: a copy (schema and rows) of the test database."""
        self.psql(f'CREATE DATABASE "{self.database}"', database="postgres")
        dump = subprocess.run(
            [
                postgres_bin("pg_dump"),
                *("-h", source_url_parts["host"], "-p", source_url_parts["port"]),
                *("-U", source_url_parts["user"], "--no-owner", source_url_parts["name"]),
            ],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [
                postgres_bin("psql"),
                *("-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"),
                *("-d", self.database, "-q", "-v", "ON_ERROR_STOP=1"),
            ],
            input=dump.stdout,
            check=True,
            capture_output=True,
        )


@contextlib.contextmanager
def private_postgres(directory: Path) -> Iterator[PrivatePostgres]:
    postgres = PrivatePostgres(private_port(), directory / "pg")
    postgres.initialise()
    postgres.start()
    try:
        yield postgres
    finally:
        postgres.stop()
