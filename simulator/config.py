"""How a simulated fleet behaves, and what its charge points share."""

import asyncio
import base64
import itertools
import secrets
from dataclasses import dataclass, field
from urllib.parse import quote

from simulator.answers import AnswerBook
from simulator.faults import Fault
from simulator.stats import Stats

DEFAULT_URL = "ws://127.0.0.1:8000/ocpp/{tenant}/"


@dataclass(frozen=True)
class FleetConfig:
    # Where: one URL per server process; charge point i uses urls[i % len(urls)]. The identity
    # is appended (or replaces ``{identity}``).
    urls: tuple[str, ...] = (DEFAULT_URL.format(tenant="sim"),)
    count: int = 10
    prefix: str = "SIM-"
    start_index: int = 0
    # Exact identities (``--identity CP-0001``): charge point i is identities[i - start_index].
    identities: tuple[str, ...] = ()
    id_tag_prefix: str = "SIMTAG-"
    connectors: int = 2
    password: str | None = None  # HTTP Basic auth (security profile 1/2)
    # Share of the fleet that runs charging sessions on its own (autonomous mode).
    charging_share: float = 0.3
    meter_interval: float = 60.0  # MeterValueSampleInterval, seconds
    session_seconds: tuple[float, float] = (1800.0, 5400.0)
    idle_seconds: tuple[float, float] = (300.0, 1800.0)
    # None: the interval the Central System gives in BootNotification.conf.
    heartbeat_interval: float | None = None
    ramp_seconds: float = 10.0  # connects are spread (jittered) over this long
    call_timeout: float = 30.0  # a charger's message time-out
    connect_timeout: float = 30.0
    reconnect_delay: tuple[float, float] = (1.0, 5.0)
    max_reconnect_delay: float = 60.0
    # Many firmwares boot on every reconnect; others only after a reboot.
    boot_on_reconnect: bool = True
    boot_retry_seconds: float = 30.0  # a BootNotification that got no answer
    reboot_seconds: float = 2.0  # Reset: how long the reboot takes
    # TransactionMessageAttempts / TransactionMessageRetryInterval (OCPP 1.6 §9.1)
    tx_attempts: int = 3
    tx_retry_interval: float = 10.0
    # What a charger reports after UpdateFirmware / GetDiagnostics, one status per step.
    firmware_outcome: str = "Installed"  # or DownloadFailed, InstallationFailed
    firmware_version_after: str = ""  # "": the location's file name without its extension
    diagnostics_outcome: str = "Uploaded"  # or UploadFailed
    status_step_seconds: float = 1.0
    faults: tuple[Fault, ...] = ()  # injected into every charge point of the fleet
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.identities and len(self.identities) != self.count:
            raise ValueError("count must equal the number of identities")

    def identity(self, index: int) -> str:
        if self.identities:
            return self.identities[index - self.start_index]
        return f"{self.prefix}{index:05d}"

    def id_tag(self, index: int) -> str:
        return f"{self.id_tag_prefix}{index:05d}"[:20]

    def url(self, index: int) -> str:
        base = self.urls[index % len(self.urls)]
        identity = quote(self.identity(index), safe="")
        if "{identity}" in base:
            return base.replace("{identity}", identity)
        return base.rstrip("/") + "/" + identity

    def authorization(self, identity: str, password: str | None) -> dict[str, str]:
        if not password:
            return {}
        token = base64.b64encode(f"{identity}:{password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}


@dataclass(eq=False)
class Shared:
    """What the charge points of one fleet share: settings, counters, answers, the storm gate."""

    config: FleetConfig
    stats: Stats = field(default_factory=Stats)
    answers: AnswerBook = field(default_factory=AnswerBook)
    # Closed during a storm's outage: disconnected charge points wait here to reconnect.
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    stopping: bool = False
    # Every charging session begun, for checks against the Central System's database.
    ledger: list = field(default_factory=list)
    _ids: itertools.count = field(default_factory=itertools.count)
    _run: str = field(default_factory=lambda: secrets.token_hex(3))

    def __post_init__(self) -> None:
        self.gate.set()

    def message_id(self) -> str:
        """Unique per fleet and run: a retried message gets a new one (as firmware does)."""
        return f"{self._run}-{next(self._ids)}"
