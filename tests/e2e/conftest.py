"""End-to-end fixtures: a real daphne process on the test database.

The server is a subprocess, so tests commit their rows (``transaction=True``) for it to see,
and read what it wrote through the ORM after it answered (``tests.e2e.clients.orm``).
"""

import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings

from chargepoints.models import ChargePoint
from chargepoints.services.charge_points import charge_point_create
from csms.tenancy.models import Tenant
from tests.e2e.clients import ocpp_url
from tests.e2e.live_server import LiveServer

BASE_DIR = Path(__file__).resolve().parents[2]
SERVER_START_TIMEOUT = 30.0
PR_SET_PDEATHSIG = 1  # linux/prctl.h


# --- The server ---------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _test_database_url() -> str:
    """The URL of the database pytest-django created, for the server process."""
    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{Path(database['NAME']).resolve()}"
    # pytest-django has renamed NAME to the test database ("test_" + NAME): swap the path.
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"/{database['NAME']}"))


# Looked up here, not in the forked child (no dynamic loading between fork and exec).
_prctl = ctypes.CDLL(None).prctl if sys.platform.startswith("linux") else None


def _die_with_this_process() -> None:
    """Runs in the child before exec: if pytest is killed, the kernel stops daphne too."""
    if _prctl is not None:
        _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@pytest.fixture(scope="session")
def daphne_server(django_db_setup: None, django_db_blocker: Any) -> Iterator[LiveServer]:
    """daphne serving ``csms.asgi:application`` on the test database, for the whole session."""
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "csms.settings",
        "DATABASE_URL": _test_database_url(),
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        str(Path(sys.executable).parent / "daphne"),
        "-b",
        "127.0.0.1",
        "-p",
        str(port),
        "--access-log",
        os.devnull,
        "csms.asgi:application",
    ]
    with tempfile.TemporaryDirectory(prefix="csms-e2e-") as tmp:
        server = LiveServer(f"ws://127.0.0.1:{port}", Path(tmp) / "daphne.log")
        with server.log_path.open("wb") as log:
            process = subprocess.Popen(
                command,
                cwd=BASE_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_this_process,
            )
        try:
            deadline = time.monotonic() + SERVER_START_TIMEOUT
            while True:
                if process.poll() is not None:
                    pytest.fail(f"daphne exited with {process.returncode}:\n{server.log_tail()}")
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        pytest.fail(f"daphne did not listen in time:\n{server.log_tail()}")
                    time.sleep(0.05)
            yield server
        finally:
            # Stopped (by its pid) before pytest-django drops the test database, which this
            # fixture depends on.
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=5)


def _wait_for_disconnects(within: float = 5.0) -> None:
    """Let the server finish with this test's sockets before its rows are flushed.

    A consumer handles its events in order and clears presence on the last one (the close),
    so once no charge point is connected no write of this test (say, the message-log rows of
    a CALLERROR, written after the answer) can land on the next test's empty tables.
    """
    deadline = time.monotonic() + within
    while ChargePoint.objects.filter(connected=True).exists() and time.monotonic() < deadline:
        time.sleep(0.02)


@pytest.fixture
def ocpp_server(daphne_server: LiveServer, django_db_blocker: Any) -> Iterator[str]:
    """``ws://127.0.0.1:PORT``; the test fails if the server logged a crash meanwhile (a
    handler's exception is answered as InternalError and would otherwise go unseen)."""
    offset = daphne_server.log_size()
    yield daphne_server.url
    with django_db_blocker.unblock():
        _wait_for_disconnects()
    output = daphne_server.log_since(offset)
    if "Traceback (most recent call last)" in output:
        pytest.fail(f"the server logged an exception during this test:\n{output[-5000:]}")


# --- Data ---------------------------------------------------------------------------------------


@pytest.fixture
def make_charge_point(tenant: Tenant) -> Callable[..., ChargePoint]:
    def make(identity: str = "CP-1", *, tenant: Tenant = tenant, **fields: Any) -> ChargePoint:
        return charge_point_create(tenant=tenant, identity=identity, **fields)

    return make


@pytest.fixture
def charge_point(make_charge_point: Callable[..., ChargePoint]) -> ChargePoint:
    """An Accepted charge point of tenant ``acme`` (the shared ``tenant`` fixture)."""
    return make_charge_point("CP-1")


@pytest.fixture
def cp_url(ocpp_server: str, tenant: Tenant) -> Callable[[str], str]:
    """The OCPP URL of an identity under tenant ``acme``."""

    def url(identity: str) -> str:
        return ocpp_url(ocpp_server, tenant.slug, identity)

    return url
