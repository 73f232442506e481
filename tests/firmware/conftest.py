"""Fixtures of the firmware tests (two tenants, as always: tests/conftest.py)."""

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction as db_transaction
from django.test import override_settings
from django.utils import timezone

from chargepoints.commands.outbox import outbox_complete, outbox_fail
from chargepoints.handlers import boot_notification
from chargepoints.models import ChargePoint, Command, CommandStatus
from csms.ocpp.context import CallContext, ChargePointSession
from csms.tenancy.models import Tenant
from firmware.handlers import diagnostics_status_notification, firmware_status_notification

# The e2e fixtures (a real daphne on the test database), for tests/firmware/test_e2e_*.
from tests.e2e.conftest import (  # noqa: F401
    charge_point,
    cp_url,
    daphne_server,
    make_charge_point,
    ocpp_server,
)
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


def call_context(station: ChargePoint, action: str, at: datetime | None = None) -> CallContext:
    """What the OCPP layer hands a handler of ``action`` from ``station``."""
    session = ChargePointSession(
        tenant_id=station.tenant_id,
        tenant_slug=station.tenant.slug,
        charge_point_id=station.pk,
        identity=station.identity,
        registration_status="Accepted",
        heartbeat_interval=300,
    )
    return CallContext(session, "m-1", action, at or timezone.now(), [])


def firmware_status(station: ChargePoint, status: str, at: datetime | None = None) -> None:
    """The charge point sends FirmwareStatusNotification (one transaction, like the consumer)."""
    with db_transaction.atomic():
        answer = firmware_status_notification(
            call_context(station, "FirmwareStatusNotification", at), {"status": status}
        )
    assert answer == {}


def diagnostics_status(station: ChargePoint, status: str, at: datetime | None = None) -> None:
    with db_transaction.atomic():
        answer = diagnostics_status_notification(
            call_context(station, "DiagnosticsStatusNotification", at), {"status": status}
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
        answer = boot_notification(call_context(station, "BootNotification", at), payload)
    return answer["status"]


def answer(command: Command, response: dict[str, Any]) -> Command:
    """The charge point answers a command: the outbox's own completion path (result hooks
    included)."""
    Command.objects.filter(pk=command.pk).update(status=CommandStatus.SENT, sent_at=timezone.now())
    with db_transaction.atomic():
        outbox_complete(command_id=command.pk, response=response)
    return Command.objects.get(pk=command.pk)


def answer_error(command: Command, code: str = "InternalError") -> Command:
    Command.objects.filter(pk=command.pk).update(status=CommandStatus.SENT, sent_at=timezone.now())
    outbox_fail(command_id=command.pk, status=CommandStatus.FAILED, code=code, description="boom")
    return Command.objects.get(pk=command.pk)


def commands(station: ChargePoint, action: str) -> list[Command]:
    return list(Command.objects.filter(charge_point=station, action=action).order_by("id"))
