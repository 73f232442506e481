"""Browser tests' machinery: daphne serving the admin with its static files, Debian's headless
Chromium driven by selenium, and a simulated charger running in a thread of its own (selenium
blocks; the charger must answer the server meanwhile)."""

import asyncio
import contextlib
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Coroutine, Iterator
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from django.conf import settings
from ocpp.routing import on
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

from tests.ocpp_clients import Client, open_socket
from tests.servers import ServerProcess, daphne_running, server_env

BASE_DIR = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ARTIFACTS = BASE_DIR / "var" / "test-artifacts" / "console"
T = TypeVar("T")

# The machine's network is closed: no first-run, sync, component or QUIC traffic either.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1600,1000",
]


def browser_available() -> bool:
    return Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()


@contextlib.contextmanager
def console_daphne() -> Iterator[ServerProcess]:
    """daphne on the test database with the static files the pages load (the production stack
    serves them from STATIC_ROOT, so they are collected there first)."""
    with tempfile.TemporaryDirectory(prefix="csms-console-static-") as static_root:
        # Plain http on 127.0.0.1: a Secure session cookie would never be sent back.
        env = {"STATIC_ROOT": static_root, "SECURE_COOKIES": "false"}
        if not settings.EMBEDDED:
            subprocess.run(
                [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
                cwd=BASE_DIR,
                env=server_env(**env),
                check=True,
                timeout=120,
            )
        with daphne_running(**env) as server:
            yield server


def http_url_of(server: ServerProcess) -> str:
    return f"http://127.0.0.1:{server.port}"


@contextlib.contextmanager
def chromium() -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    with tempfile.TemporaryDirectory(prefix="csms-chromium-") as profile:
        for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]:
            options.add_argument(flag)
        # An explicit driver path: selenium's manager is never asked to fetch one.
        driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
        driver.set_page_load_timeout(30)
        try:
            yield driver
        finally:
            driver.quit()


def screenshot(driver: WebDriver, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


# --- A simulated charger --------------------------------------------------------------------------


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class Charger(Client):
    """Answers what the console sends; a Remote stop is accepted, then the session stopped as
    firmware does (StopTransaction with reason Remote, OCPP 1.6 §5.12)."""

    remote_stops: list[int]

    @on(Action.remote_stop_transaction)
    async def on_remote_stop(self, transaction_id: int, **_: Any) -> Any:
        self.remote_stops.append(transaction_id)
        return call_result.RemoteStopTransaction(status="Accepted")


class ChargerThread:
    """A charger on its own event loop: ``do(coroutine)`` runs it there and waits."""

    def __init__(self, url: str, identity: str) -> None:
        self.url, self.identity = url, identity
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.client: Charger | None = None
        self._socket: Any = None
        self._reader: asyncio.Task[Any] | None = None

    def do(self, coroutine: Coroutine[Any, Any, T], timeout: float = 15) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        return future.result(timeout)

    async def _connect(self) -> None:
        self._socket = await open_socket(self.url).__aenter__()
        self.client = Charger(self.identity, self._socket, response_timeout=10)
        self.client.remote_stops = []
        self._reader = asyncio.create_task(self.client.start())

    def connect(self) -> Charger:
        self.do(self._connect())
        assert self.client is not None
        return self.client

    def ask(self, payload: Any) -> Any:
        assert self.client is not None
        return self.do(self.client.call(payload, suppress=False))

    async def _close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        if self._socket is not None:
            await self._socket.close()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.do(self._close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


def boot_and_report(charger: ChargerThread, *, status: str = "Available", **error: str) -> None:
    charger.ask(call.BootNotification(charge_point_vendor="Acme", charge_point_model="Wallbox 22"))
    charger.ask(
        call.StatusNotification(
            connector_id=1,
            status=status,
            error_code=error.get("error_code", "NoError"),
            vendor_error_code=error.get("vendor_error_code"),
            timestamp=iso(datetime.now(UTC)),
        )
    )
