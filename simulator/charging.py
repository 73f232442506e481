"""Charging sessions: Authorize → StartTransaction → MeterValues → StopTransaction.

Functions on a :class:`~simulator.charge_point.SimulatedChargePoint`, used by its own
autonomous loop, by a load driver (one step at a time) and by Central-System calls
(RemoteStart/Stop, Reset, UnlockConnector).
"""

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from simulator.meter import Vehicle
from simulator.session import Connector, Session, iso

if TYPE_CHECKING:
    from simulator.charge_point import SimulatedChargePoint


def status_payload(
    connector_id: int, status: str, error_code: str = "NoError", vendor_error_code: str = ""
) -> dict[str, Any]:
    payload = {
        "connectorId": connector_id,
        "errorCode": error_code,
        "status": status,
        "timestamp": iso(),
    }
    if vendor_error_code:
        payload["vendorErrorCode"] = vendor_error_code
    return payload


def connector_status_payload(connector: Connector) -> dict[str, Any]:
    """The connector's StatusNotification as it stands, its fault included."""
    return status_payload(
        connector.connector_id, connector.status, connector.error_code, connector.vendor_error_code
    )


def set_status(cp: "SimulatedChargePoint", connector: Connector, status: str) -> None:
    connector.status = status
    cp.submit("StatusNotification", connector_status_payload(connector))


def free_connector(cp: "SimulatedChargePoint", connector_id: int | None = None) -> Connector | None:
    """The connector to charge on: the one asked for if free, else the first free one."""
    for connector in cp.connectors:
        if connector_id not in (None, 0, connector.connector_id):
            continue
        if (
            connector.session is None
            and connector.available
            and not connector.faulted
            and connector.reservation_id is None
        ):
            return connector
    return None


async def begin(
    cp: "SimulatedChargePoint",
    connector: Connector,
    *,
    id_tag: str | None = None,
    authorize: bool = True,
) -> Session | None:
    """A driver plugs in and presents a tag; None if the Central System refused it."""
    if connector.session is not None:
        return None
    tag = id_tag or cp.id_tag
    set_status(cp, connector, "Preparing")
    if authorize:
        answer = await cp.submit("Authorize", {"idTag": tag})
        # None: offline or unanswered, so the charger authorizes locally (LocalAuthorizeOffline).
        status = ((answer or {}).get("idTagInfo") or {}).get("status", "Accepted")
        if status != "Accepted":
            cp.stats.refusals[f"Authorize {status}"] += 1
            set_status(cp, connector, "Available")
            return None
        if connector.session is not None:  # a remote start won the race meanwhile
            return None
    return open_session(cp, connector, tag)


def open_session(
    cp: "SimulatedChargePoint", connector: Connector, id_tag: str, *, at: datetime | None = None
) -> Session:
    """StartTransaction (queued: it survives a disconnect) and the connector charging."""
    connector.meter.plug_in(Vehicle.arriving(cp.rng))
    connector.last_sample = time.monotonic()
    session = Session(
        identity=cp.identity,
        connector_id=connector.connector_id,
        id_tag=id_tag,
        meter_start=connector.meter.register,
        started_at=iso(at),
    )
    connector.session = session
    cp.shared.ledger.append(session)
    cp.submit(
        "StartTransaction",
        session.start_payload,
        persistent=True,
        on_answer=session.on_start_answer,
    )
    set_status(cp, connector, "Charging")
    return session


def _advance(connector: Connector, seconds: float | None) -> None:
    now = time.monotonic()
    elapsed = now - connector.last_sample if seconds is None else seconds
    connector.meter.advance(elapsed)
    connector.last_sample = now


def meter_tick(
    cp: "SimulatedChargePoint",
    connector: Connector,
    *,
    seconds: float | None = None,
    at: datetime | None = None,
) -> "asyncio.Future[dict[str, Any] | None] | None":
    """A periodic MeterValues of the running session (queued: it survives a disconnect)."""
    session = connector.session
    if session is None:
        return None
    _advance(connector, seconds)
    sampled = connector.meter.sampled_values()
    timestamp = iso(at)
    session.samples_sent += len(sampled)

    def build() -> dict[str, Any]:
        payload: dict[str, Any] = {
            "connectorId": connector.connector_id,
            "meterValue": [{"timestamp": timestamp, "sampledValue": sampled}],
        }
        if session.transaction_id is not None:
            payload["transactionId"] = session.transaction_id
        return payload

    def acked(answer: dict[str, Any] | None) -> None:
        if answer is not None:
            session.samples_acked += len(sampled)

    return cp.submit("MeterValues", build, persistent=True, on_answer=acked)


def end(
    cp: "SimulatedChargePoint",
    connector: Connector,
    reason: str = "EVDisconnected",
    *,
    seconds: float | None = None,
    at: datetime | None = None,
    final_status: str = "Available",
) -> "asyncio.Future[dict[str, Any] | None] | None":
    """StopTransaction with the final register (queued) and the connector free again (or
    ``final_status``: a fault goes from Charging straight to Faulted)."""
    session = connector.session
    if session is None:
        return None
    _advance(connector, seconds)
    connector.session = None
    session.meter_stop = connector.meter.register
    session.stopped_at = iso(at)
    final = {
        "value": str(session.meter_stop),
        "context": "Transaction.End",
        "measurand": "Energy.Active.Import.Register",
        "unit": "Wh",
    }
    session.samples_sent += 1
    if final_status == "Available":
        set_status(cp, connector, "Finishing")

    def build() -> dict[str, Any] | None:
        if session.transaction_id is None:
            return None  # its StartTransaction was never answered: nothing to stop
        return {
            "transactionId": session.transaction_id,
            "idTag": session.id_tag,
            "meterStop": session.meter_stop,
            "timestamp": session.stopped_at,
            "reason": reason,
            "transactionData": [{"timestamp": session.stopped_at, "sampledValue": [final]}],
        }

    def acked(answer: dict[str, Any] | None) -> None:
        if answer is not None:
            session.stop_acked = True
            session.samples_acked += 1

    future = cp.submit("StopTransaction", build, persistent=True, on_answer=acked)
    connector.meter.unplug()
    set_status(cp, connector, final_status)
    return future


def charge_offline(cp: "SimulatedChargePoint", *, samples: int, interval: float) -> Session | None:
    """A whole session that happened while the charger was offline: StartTransaction,
    ``samples`` MeterValues ``interval`` seconds apart and StopTransaction, back-dated and
    queued for replay (the firmware's transaction queue after an outage)."""
    connector = free_connector(cp)
    if connector is None:
        return None
    began = datetime.now(UTC) - timedelta(seconds=(samples + 1) * interval)
    session = open_session(cp, connector, cp.id_tag, at=began)
    for number in range(1, samples + 1):
        meter_tick(cp, connector, seconds=interval, at=began + timedelta(seconds=number * interval))
    end(
        cp,
        connector,
        "Local",
        seconds=interval,
        at=began + timedelta(seconds=(samples + 1) * interval),
    )
    return session


async def autonomous(cp: "SimulatedChargePoint") -> None:
    """Sessions one after another on the first connector, while the fleet runs."""
    config = cp.shared.config
    connector = cp.connectors[0]
    # The first arrival comes anywhere in one idle period, so a fleet does not start at once.
    await asyncio.sleep(cp.rng.uniform(0, config.idle_seconds[1]))
    while not cp.shared.stopping:
        if free_connector(cp, 1) is connector:
            await charge(cp, connector)
        await asyncio.sleep(cp.rng.uniform(*config.idle_seconds))


async def charge(
    cp: "SimulatedChargePoint",
    connector: Connector,
    *,
    id_tag: str | None = None,
    authorize: bool = True,
) -> None:
    """A whole session: begin, MeterValues every sample interval, end after a session's
    duration unless something else (a remote stop, a reset) ended it first."""
    session = await begin(cp, connector, id_tag=id_tag, authorize=authorize)
    if session is None:
        return
    ends = time.monotonic() + cp.rng.uniform(*cp.shared.config.session_seconds)
    while connector.session is session:
        left = ends - time.monotonic()
        if left <= 0:
            end(cp, connector)
            return
        await asyncio.sleep(min(cp.meter_interval, left))
        if connector.session is session and time.monotonic() < ends:
            meter_tick(cp, connector)
