"""What a simulated charger does after accepting UpdateFirmware or GetDiagnostics: the status
notifications of OCPP 1.6 §4.4/§4.5, one step every ``status_step_seconds``.

Firmware: at ``retrieveDate`` Downloading → Downloaded → Installing → Installed, then a soft
reboot; the next BootNotification shows the new version (``firmware_version_after``, by default
the location's file name without its last extension: ``…/wallbox-2.0.bin`` → ``wallbox-2.0``).
``firmware_outcome`` makes it fail instead (DownloadFailed, InstallationFailed).

Diagnostics: Uploading, the file PUT to ``location`` + ``fileName`` over HTTP(S) (our upload
receiver takes PUT), then Uploaded — or UploadFailed when the upload failed, the location is
not HTTP(S), or ``diagnostics_outcome`` says so.
"""

import asyncio
import contextlib
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from simulator.session import iso

if TYPE_CHECKING:
    from simulator.charge_point import SimulatedChargePoint

FIRMWARE_OUTCOMES = ("Installed", "DownloadFailed", "InstallationFailed")
DIAGNOSTICS_OUTCOMES = ("Uploaded", "UploadFailed")
UPLOAD_TIMEOUT = 30.0


def version_from_location(location: str) -> str:
    name = PurePosixPath(urlsplit(location).path).name
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return (stem or "sim-updated")[:50]


def diagnostics_file_name(cp: "SimulatedChargePoint") -> str:
    return f"{cp.identity}-diagnostics.log"[:255]


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    with contextlib.suppress(ValueError):
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None


async def _wait_until(moment: datetime | None) -> None:
    if moment is not None:
        await asyncio.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()))


def _firmware_status(cp: "SimulatedChargePoint", status: str) -> None:
    cp.firmware_status = status
    cp.submit("FirmwareStatusNotification", {"status": status})


def _diagnostics_status(cp: "SimulatedChargePoint", status: str) -> None:
    cp.diagnostics_status = status
    cp.submit("DiagnosticsStatusNotification", {"status": status})


async def firmware_update(cp: "SimulatedChargePoint", payload: dict[str, Any]) -> None:
    from simulator.central_calls import reboot

    config = cp.shared.config
    outcome = config.firmware_outcome
    await _wait_until(_parse_time(payload.get("retrieveDate")))
    cp.stats.flows["firmware"] += 1
    for status in _FIRMWARE_STEPS_BEFORE[outcome]:
        _firmware_status(cp, status)
        await asyncio.sleep(config.status_step_seconds)
    if outcome == "Installed":
        cp.firmware_version = config.firmware_version_after or version_from_location(
            str(payload.get("location", ""))
        )
    _firmware_status(cp, outcome)
    cp.firmware_status = "Idle"
    if outcome == "Installed":
        await reboot(cp, hard=False)  # delivers what is queued (Installed) first


# The statuses reported before each outcome, one step apart.
_FIRMWARE_STEPS_BEFORE = {
    "Installed": ("Downloading", "Downloaded", "Installing"),
    "DownloadFailed": ("Downloading",),
    "InstallationFailed": ("Downloading", "Downloaded", "Installing"),
}


async def diagnostics_upload(cp: "SimulatedChargePoint", payload: dict[str, Any]) -> None:
    config = cp.shared.config
    cp.stats.flows["diagnostics"] += 1
    _diagnostics_status(cp, "Uploading")
    await asyncio.sleep(config.status_step_seconds)
    uploaded = config.diagnostics_outcome == "Uploaded" and await asyncio.to_thread(
        _put_file,
        str(payload.get("location", "")),
        diagnostics_file_name(cp),
        _diagnostics_text(cp),
    )
    if not uploaded:
        cp.stats.error("diagnostics upload failed")
    _diagnostics_status(cp, "Uploaded" if uploaded else "UploadFailed")
    cp.diagnostics_status = "Idle"


def _diagnostics_text(cp: "SimulatedChargePoint") -> bytes:
    lines = [
        f"{iso()} {cp.identity} firmware {cp.firmware_version}",
        *(
            f"{iso()} connector {c.connector_id} {c.status} {c.error_code} {c.vendor_error_code}"
            for c in cp.connectors
        ),
    ]
    return ("\n".join(lines) + "\n").encode()


def _put_file(location: str, file_name: str, body: bytes) -> bool:
    """PUT ``body`` to the directory ``location`` (blocking: run in a thread)."""
    if urlsplit(location).scheme not in ("http", "https"):
        return False
    url = location if location.endswith("/") else location + "/"
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url + file_name, data=body, method="PUT", headers={"Content-Type": "text/plain"}
    )
    try:
        with urllib.request.urlopen(request, timeout=UPLOAD_TIMEOUT) as response:  # noqa: S310
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False
