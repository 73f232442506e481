"""Fixtures of the firmware tests (two tenants, as always: tests/conftest.py)."""

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction as db_transaction
from django.test import override_settings

from chargepoints.handlers import boot_notification
from chargepoints.models import ChargePoint, Command
from csms.tenancy.models import Tenant
from firmware.handlers import diagnostics_status_notification, firmware_status_notification
from tests import charge_point_calls
from tests.charge_point_calls import call_context
from tests.factories import ChargePointFactory


@pytest.fixture
def media_root(tmp_path: Path) -> Iterator[Path]:
    """Uploaded files go to a directory of this test only."""
    with override_settings(MEDIA_ROOT=str(tmp_path / "media")):
        yield tmp_path / "media"


@pytest.fixture
def fleet(tenant: Tenant) -> Callable[..., list[ChargePoint]]:
    """``fleet(n)``: n charge points CP-01… of tenant acme on firmware 1.0."""

    def make(count: int, *, tenant: Tenant = tenant, **fields: Any) -> list[ChargePoint]:
        fields.setdefault("firmware_version", "1.0")
        return [
            ChargePointFactory(tenant=tenant, identity=f"CP-{n:02d}", **fields)
            for n in range(1, count + 1)
        ]

    return make


def firmware_status(station: ChargePoint, status: str, at: datetime | None = None) -> None:
    """The charge point sends FirmwareStatusNotification (one transaction, like the consumer)."""
    with db_transaction.atomic():
        answer = firmware_status_notification(
            call_context(station, "FirmwareStatusNotification", at=at), {"status": status}
        )
    assert answer == {}


def diagnostics_status(station: ChargePoint, status: str, at: datetime | None = None) -> None:
    with db_transaction.atomic():
        answer = diagnostics_status_notification(
            call_context(station, "DiagnosticsStatusNotification", at=at), {"status": status}
        )
    assert answer == {}


def boot(station: ChargePoint, firmware_version: str, at: datetime | None = None) -> str:
    """The charge point boots reporting ``firmware_version``; the registration status."""
    payload = {
        "charge_point_vendor": station.vendor or "Acme",
        "charge_point_model": station.model or "Wallbox 22",
        "firmware_version": firmware_version,
    }
    with db_transaction.atomic():
        answer = boot_notification(call_context(station, "BootNotification", at=at), payload)
    return answer["status"]


def answer_error(command: Command, code: str = "InternalError") -> Command:
    """The charge point answers with a CALLERROR whose description the firmware tests read back
    (``last_error``)."""
    return charge_point_calls.answer_error(command, code, description="boom")


def commands(station: ChargePoint, action: str) -> list[Command]:
    return list(Command.objects.filter(charge_point=station, action=action).order_by("id"))
