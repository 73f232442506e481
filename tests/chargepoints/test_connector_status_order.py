"""StatusNotification (issue 15 §3): an older report never overwrites the current status; the
history keeps every report."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from chargepoints.models import ChargePoint, Connector, ConnectorStatusChange
from chargepoints.services.connectors import connector_status_record

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def report(cp: ChargePoint, status: str, at: datetime | None) -> None:
    payload = {"connector_id": 1, "status": status, "error_code": "NoError"}
    if at is not None:
        payload["timestamp"] = at.isoformat()
    connector_status_record(
        tenant_id=cp.tenant_id, charge_point_id=cp.pk, identity=cp.identity, report=payload
    )


def current(cp: ChargePoint) -> tuple[str, datetime | None]:
    connector = Connector.objects.get(charge_point=cp, connector_id=1)
    return connector.status, connector.status_timestamp


def history(cp: ChargePoint) -> list[str]:
    return list(
        ConnectorStatusChange.objects.filter(charge_point=cp)
        .order_by("id")
        .values_list("status", flat=True)
    )


def test_an_older_report_is_history_only(cp: ChargePoint) -> None:
    report(cp, "Charging", T0 + timedelta(minutes=10))

    report(cp, "Preparing", T0 + timedelta(minutes=5))

    assert current(cp) == ("Charging", T0 + timedelta(minutes=10))
    assert history(cp) == ["Charging", "Preparing"]


def test_a_newer_or_equal_report_is_the_current_status(cp: ChargePoint) -> None:
    report(cp, "Charging", T0)
    report(cp, "SuspendedEV", T0)
    report(cp, "Finishing", T0 + timedelta(minutes=1))

    assert current(cp) == ("Finishing", T0 + timedelta(minutes=1))


def test_a_report_without_a_timestamp_takes_effect_on_arrival(cp: ChargePoint) -> None:
    report(cp, "Charging", T0)
    before = timezone.now()

    report(cp, "Available", None)

    status, at = current(cp)
    assert status == "Available"
    assert at is not None and at >= before


def test_a_clock_running_ahead_cannot_hold_the_status_against_later_reports(
    cp: ChargePoint,
) -> None:
    report(cp, "Charging", timezone.now() + timedelta(days=365))

    report(cp, "Available", timezone.now() + timedelta(seconds=1))

    assert current(cp)[0] == "Available"
