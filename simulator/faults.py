"""Faults an operator injects into a simulated fleet: a connector that faults and recovers, a
reboot, an outage of the charger's network.

Spec syntax (``--fault``, repeatable), times in seconds after the fleet started::

    30:faulted:1:GroundFailure        connector 1 reports Faulted with that errorCode
    30:faulted:1:OtherError:E-042     … and a vendorErrorCode
    60:recover:1                      connector 1 is Available again (errorCode NoError)
    90:reboot                         a soft reset: sessions stopped, reconnect, boot
    120:offline:20                    the socket drops (no close handshake), 20 s away

A faulted connector ends its session (reason ``Other``) and takes no new one until it
recovers; a fault while offline is reported with the statuses after the next boot.
"""

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ocpp.v16.enums import ChargePointErrorCode

if TYPE_CHECKING:
    from simulator.charge_point import SimulatedChargePoint

KINDS = ("faulted", "recover", "reboot", "offline")
ERROR_CODES = frozenset(code.value for code in ChargePointErrorCode) - {"NoError"}


@dataclass(frozen=True, slots=True)
class Fault:
    at: float  # seconds after the fleet started
    kind: str
    connector_id: int = 1
    error_code: str = "OtherError"
    vendor_error_code: str = ""
    seconds: float = 0.0  # offline: how long


def parse_fault(text: str) -> Fault:
    """``AT:KIND[:ARGS]`` (see the module docstring); ValueError says what is wrong."""
    at_text, _, rest = text.partition(":")
    kind, *args = rest.split(":") if rest else [""]
    try:
        at = float(at_text)
    except ValueError:
        raise ValueError(f"{text!r}: AT must be seconds") from None
    if at < 0:
        raise ValueError(f"{text!r}: AT must be >= 0")
    if kind not in KINDS:
        raise ValueError(f"{text!r}: KIND must be one of {', '.join(KINDS)}")
    if kind in ("faulted", "recover"):
        if len(args) > (3 if kind == "faulted" else 1):
            raise ValueError(f"{text!r}: too many fields")
        connector_id = _positive_int(args[0], text) if args else 1
        error_code = args[1] if len(args) > 1 else "OtherError"
        if kind == "faulted" and error_code not in ERROR_CODES:
            raise ValueError(f"{text!r}: errorCode must be one of {', '.join(sorted(ERROR_CODES))}")
        vendor_error_code = args[2] if len(args) > 2 else ""
        if len(vendor_error_code) > 50:  # CiString50Type
            raise ValueError(f"{text!r}: vendorErrorCode is at most 50 characters")
        return Fault(at, kind, connector_id, error_code, vendor_error_code)
    if kind == "offline":
        if len(args) != 1:
            raise ValueError(f"{text!r}: offline needs SECONDS")
        try:
            seconds = float(args[0])
        except ValueError:
            raise ValueError(f"{text!r}: SECONDS must be a number") from None
        if seconds <= 0:
            raise ValueError(f"{text!r}: SECONDS must be > 0")
        return Fault(at, kind, seconds=seconds)
    if args:
        raise ValueError(f"{text!r}: reboot takes no fields")
    return Fault(at, kind)


def _positive_int(text: str, spec: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{spec!r}: CONNECTOR must be a connector number (1, 2, …)")
    return int(text)


async def faults_run(cp: "SimulatedChargePoint", faults: tuple[Fault, ...]) -> None:
    """Apply ``faults`` to ``cp`` at their times (measured from now)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    for fault in sorted(faults, key=lambda fault: fault.at):
        await asyncio.sleep(max(0.0, started + fault.at - loop.time()))
        await fault_apply(cp, fault)


async def fault_apply(cp: "SimulatedChargePoint", fault: Fault) -> None:
    from simulator import central_calls, charging

    cp.stats.faults[fault.kind] += 1
    if fault.kind == "reboot":
        await central_calls.reboot(cp, hard=False)
        return
    if fault.kind == "offline":
        cp.go_offline(fault.seconds)
        return
    connector = next((c for c in cp.connectors if c.connector_id == fault.connector_id), None)
    if connector is None:
        cp.stats.error(f"fault on unknown connector {fault.connector_id}")
        return
    if fault.kind == "faulted":
        connector.error_code = fault.error_code
        connector.vendor_error_code = fault.vendor_error_code
        if charging.end(cp, connector, "Other", final_status="Faulted") is None:
            charging.set_status(cp, connector, "Faulted")  # no session was running
    else:
        connector.error_code, connector.vendor_error_code = "NoError", ""
        charging.set_status(cp, connector, "Available" if connector.available else "Unavailable")
