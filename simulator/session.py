"""What a charge point's firmware keeps: its connectors, its queue of messages, its sessions."""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from simulator.meter import MeterModel

# Messages the firmware queues while offline and retries with new message ids until answered
# (OCPP 1.6 §4.7, §9.1 TransactionMessageAttempts).
TRANSACTION_ACTIONS = frozenset({"StartTransaction", "StopTransaction", "MeterValues"})


def iso(moment: datetime | None = None) -> str:
    """An OCPP timestamp: UTC, milliseconds, ``Z``."""
    moment = moment or datetime.now(UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(slots=True, eq=False)
class Session:
    """One charging session as the charge point saw it: the ledger the checks compare with."""

    identity: str
    connector_id: int
    id_tag: str
    meter_start: int
    started_at: str
    transaction_id: int | None = None
    start_status: str = ""  # idTagInfo.status of StartTransaction.conf
    start_acked: bool = False
    start_abandoned: bool = False  # every attempt failed: the Central System never said
    meter_stop: int | None = None
    stopped_at: str = ""
    stop_acked: bool = False
    samples_sent: int = 0  # sampledValues of MeterValues and StopTransaction.transactionData
    samples_acked: int = 0

    def start_payload(self) -> dict[str, Any]:
        return {
            "connectorId": self.connector_id,
            "idTag": self.id_tag,
            "meterStart": self.meter_start,
            "timestamp": self.started_at,
        }

    def on_start_answer(self, answer: dict[str, Any] | None) -> None:
        if answer is None:
            self.start_abandoned = True
            return
        self.start_acked = True
        self.transaction_id = answer.get("transactionId")
        self.start_status = (answer.get("idTagInfo") or {}).get("status", "")


@dataclass(slots=True, eq=False)
class Connector:
    connector_id: int
    meter: MeterModel
    status: str = "Available"
    session: Session | None = None
    last_sample: float = 0.0  # monotonic time of the meter's last advance
    reservation_id: int | None = None
    available: bool = True  # ChangeAvailability
    # An injected fault (``--fault``): reported with every status until it recovers.
    error_code: str = "NoError"
    vendor_error_code: str = ""

    @property
    def faulted(self) -> bool:
        return self.error_code != "NoError"


@dataclass(slots=True, eq=False)
class Outgoing:
    """A charge-point-initiated CALL waiting in the firmware's queue.

    ``build`` makes the payload at send time, so a MeterValues or StopTransaction queued while
    offline carries the transactionId its StartTransaction got on replay.
    """

    action: str
    build: Callable[[], dict[str, Any] | None]
    persistent: bool
    future: "asyncio.Future[dict[str, Any] | None]" = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    # Runs at once with the answer (None: dropped), before anything else is sent: the
    # transactionId of a StartTransaction must be known when the next MeterValues is built
    # (future callbacks would only run after the sender moved on).
    on_answer: Callable[[dict[str, Any] | None], None] | None = None
    attempts: int = 0

    def resolve(self, answer: dict[str, Any] | None) -> None:
        if self.future.done():
            return
        if self.on_answer is not None:
            self.on_answer(answer)
        self.future.set_result(answer)
