"""Server processes the tests run on loopback: daphne on the test database, Celery workers, any
command that listens on ports (nginx, daphne with TLS endpoints). Each is a subprocess stopped by
its pid, with its output in a log file the test can read."""

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 30.0
PR_SET_PDEATHSIG = 1  # linux/prctl.h
CRASH = "Traceback (most recent call last)"

# Looked up here, not in the forked child (no dynamic loading between fork and exec).
_prctl = ctypes.CDLL(None).prctl if sys.platform.startswith("linux") else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url() -> str:
    """A DATABASE_URL naming the database pytest-django set up (its test_ name, not NAME)."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    auth = db["USER"] or ""
    if db.get("PASSWORD"):
        auth += f":{db['PASSWORD']}"
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{auth}@{host}:{port}/{db['NAME']}"


def server_env(**extra: str) -> dict[str, str]:
    """The environment of this test run, pointed at the test database."""
    env = dict(os.environ)
    env["DATABASE_URL"] = database_url()
    env.setdefault("SECRET_KEY", "tests-only-not-secret")
    env["DJANGO_SETTINGS_MODULE"] = "csms.settings"
    env.update(extra)
    return env


def _die_with_this_process() -> None:
    """Runs in the child before exec: if pytest is killed, the kernel stops the server too."""
    if _prctl is not None:
        _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass(frozen=True)
class ServerProcess:
    """A process the test started: its pid's handle, its first port, its output."""

    process: subprocess.Popen[bytes]
    port: int | None
    log_path: Path

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def poll(self) -> int | None:
        """Its exit status, None while it runs."""
        return self.process.poll()

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def log_since(self, offset: int) -> str:
        with self.log_path.open("rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")

    def log_tail(self, size: int = 5000) -> str:
        return self.log_since(max(0, self.log_size() - size))

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM (a warm shutdown), SIGKILL if it is still running after ``timeout``."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


@contextlib.contextmanager
def no_crash_logged(server: ServerProcess) -> Iterator[None]:
    """Fails the test if ``server`` logged a traceback meanwhile (a handler's exception is
    answered as InternalError and would otherwise go unseen)."""
    offset = server.log_size()
    yield
    output = server.log_since(offset)
    if CRASH in output:
        pytest.fail(f"the server logged an exception during this test:\n{output[-5000:]}")


def server_start(
    command: list[str], *, env: dict[str, str], ports: list[int], log: Path
) -> ServerProcess:
    """Run ``command`` from the repository root (daphne finds our Twisted plugin there) and
    wait until it listens on every one of ``ports``."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_this_process,
        )
    server = ServerProcess(process, ports[0] if ports else None, log)
    deadline = time.monotonic() + START_TIMEOUT
    for port in ports:
        while True:
            if process.poll() is not None:
                pytest.fail(f"{command[0]} exited with {process.returncode}:\n{server.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    server.stop()
                    pytest.fail(f"{command[0]} did not listen on {port}:\n{server.log_tail()}")
                time.sleep(0.05)
    return server


@contextlib.contextmanager
def running(
    command: list[str], *, env: dict[str, str], ports: list[int], log: Path
) -> Iterator[ServerProcess]:
    """``server_start`` until the block ends, then stopped by its pid."""
    server = server_start(command, env=env, ports=ports, log=log)
    try:
        yield server
    finally:
        server.stop()


def daphne_command(port: int, application: str = "csms.asgi:application") -> list[str]:
    return [
        str(Path(sys.executable).parent / "daphne"),
        *("-b", "127.0.0.1", "-p", str(port)),
        *("--access-log", os.devnull),
        application,
    ]


def daphne_start(log_dir: Path, **env: str) -> ServerProcess:
    """daphne serving ``csms.asgi`` on the test database, with ``env`` overrides (settings)."""
    port = free_port()
    return server_start(
        daphne_command(port),
        env=server_env(**({"LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"} | env)),
        ports=[port],
        log=log_dir / f"daphne-{port}.log",
    )


@contextlib.contextmanager
def daphne_running(**env: str) -> Iterator[ServerProcess]:
    """``daphne_start`` until the block ends; its log in a directory of its own."""
    with tempfile.TemporaryDirectory(prefix="csms-daphne-") as tmp:
        server = daphne_start(Path(tmp), **env)
        try:
            yield server
        finally:
            # Stopped before pytest-django drops the test database its fixture depends on.
            server.stop()


@contextlib.contextmanager
def celery_worker_running(*options: str, **env: str) -> Iterator[ServerProcess]:
    """A real Celery worker (``--pool=solo``) on this run's broker and test database."""
    command = [sys.executable, "-m", "celery", "-A", "csms", "worker", "--pool=solo"]
    with tempfile.TemporaryDirectory(prefix="csms-celery-") as tmp:
        worker = server_start(
            [*command, "-l", "WARNING", *options],
            env=server_env(**env),
            ports=[],
            log=Path(tmp) / "celery.log",
        )
        try:
            yield worker
        finally:
            worker.stop(timeout=30)
