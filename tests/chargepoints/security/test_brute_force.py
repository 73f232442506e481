"""Failed Basic-auth attempts counted per identity and per source within a window
(chargepoints.security.brute_force), with the clock given."""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from chargepoints.models import BasicAuthFailures, ChargePoint, SecurityEvent
from chargepoints.security.brute_force import FailureSubject, basic_auth_failure_record

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _limits(settings: Any) -> None:
    settings.OCPP_BASIC_AUTH_IDENTITY_LIMIT = 3
    settings.OCPP_BASIC_AUTH_SOURCE_LIMIT = 4
    settings.OCPP_BASIC_AUTH_WINDOW_SECONDS = 300
    settings.OCPP_BASIC_AUTH_LOCKOUT_SECONDS = 900


def failing(cp: ChargePoint, source: str = "10.0.0.1") -> FailureSubject:
    return FailureSubject(cp.tenant_id, cp.tenant.slug, cp.pk, cp.identity, source)


def test_failures_spread_wider_than_the_window_never_lock(cp: ChargePoint) -> None:
    start = timezone.now()
    for minutes in (0, 4, 10, 14, 20):  # never three within five minutes
        assert not basic_auth_failure_record(
            subject=failing(cp), now=start + timedelta(minutes=minutes)
        )
    assert not SecurityEvent.objects.exists()


def test_the_limit_within_the_window_locks_for_the_cool_down(cp: ChargePoint) -> None:
    start = timezone.now()
    results = [
        basic_auth_failure_record(subject=failing(cp), now=start + timedelta(seconds=s))
        for s in (0, 60, 120)
    ]
    assert results == [False, False, True]
    identity = BasicAuthFailures.objects.get(scope="identity")
    assert identity.locked_until == start + timedelta(seconds=120 + 900)
    # Attempts during the lockout are not counted again, and logged once (another address,
    # so that the source's own count stays below its limit).
    later = start + timedelta(minutes=5)
    assert not basic_auth_failure_record(subject=failing(cp, "10.0.0.2"), now=later)
    assert BasicAuthFailures.objects.get(scope="identity").failures == 0
    assert SecurityEvent.objects.filter(type="BasicAuthLockout").count() == 1


def test_sources_are_counted_apart_from_identities(cp: ChargePoint, other_cp: ChargePoint) -> None:
    now = timezone.now()
    for charge_point in (cp, other_cp, cp, other_cp):
        locked = basic_auth_failure_record(subject=failing(charge_point), now=now)
    assert locked  # the fourth failure from 10.0.0.1 locks the source
    assert BasicAuthFailures.objects.get(scope="source", key="10.0.0.1").locked_until
    assert not BasicAuthFailures.objects.filter(scope="identity", locked_until__isnull=False)
    # The same charge point from elsewhere: its identity's third failure locks the identity,
    # the new address itself is not locked.
    assert basic_auth_failure_record(subject=failing(cp, "10.0.0.2"), now=now)
    assert BasicAuthFailures.objects.get(scope="source", key="10.0.0.2").locked_until is None
