"""The security log's own rules (chargepoints.security.security_log): critical types as the
whitepaper lists them, chargers' notifications flagged too, and the retention purge."""

from datetime import timedelta

import pytest
from django.utils import timezone

from chargepoints.models import ChargePoint, SecurityEvent
from chargepoints.security.security_log import security_event_log, security_events_purge
from chargepoints.services.reports import security_event_record

pytestmark = pytest.mark.django_db


def test_a_chargers_critical_event_is_flagged(cp: ChargePoint) -> None:
    for event_type in ("TamperDetectionActivated", "InvalidMessages"):
        security_event_record(
            tenant_id=cp.tenant_id,
            charge_point_id=cp.pk,
            identity=cp.identity,
            event={"type": event_type, "timestamp": "2026-01-01T10:00:00Z"},
        )
    flags = dict(SecurityEvent.objects.values_list("type", "critical"))
    assert flags == {"TamperDetectionActivated": True, "InvalidMessages": False}


def test_rows_past_the_retention_are_purged(cp: ChargePoint) -> None:
    now = timezone.now()
    old, kept = (
        security_event_log(
            tenant_id=cp.tenant_id,
            charge_point_id=cp.pk,
            identity=cp.identity,
            type="InvalidChargePointCredentials",
            at=now - timedelta(days=days),
        )
        for days in (181, 179)
    )

    assert security_events_purge(now=now) == 1
    assert list(SecurityEvent.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not SecurityEvent.objects.filter(pk=old.pk).exists()
