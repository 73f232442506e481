"""Basic-auth brute force, bounded (issue 19 §1): failed handshakes are counted per identity and
per source address in a sliding window; past a threshold every further attempt is refused —
even with the right password — until a cool-down ends, and the lockout is a security event.

The counters are rows (``BasicAuthFailures``), so every daphne process sees the same ones; the
handshake reads whether a lockout is on in its one statement (``ocpp_backend``), and only a
failure writes. Only wrong credentials count: a charger that sends none gets its refusal but
cannot lock anybody out, and an unknown identity (404) is no password guess.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from chargepoints.models import BasicAuthFailures, FailureScope
from chargepoints.security.security_log import CentralSystemEvent, security_event_log


@dataclass(frozen=True)
class FailureSubject:
    """Who failed: the charge point (tenant and identity) and where the attempt came from."""

    tenant_id: int
    tenant_slug: str
    charge_point_id: int | None
    identity: str
    source: str

    @property
    def identity_key(self) -> str:
        return identity_key(self.tenant_slug, self.identity)


def identity_key(tenant_slug: str, identity: str) -> str:
    return f"{tenant_slug}/{identity}"


def basic_auth_failure_record(*, subject: FailureSubject, now: datetime | None = None) -> bool:
    """Count a failed attempt for the identity and the source; True if one of them is locked
    out from now on (each lockout is logged once, when it starts)."""
    now = now or timezone.now()
    limits = (
        (FailureScope.IDENTITY, subject.identity_key, settings.OCPP_BASIC_AUTH_IDENTITY_LIMIT),
        (FailureScope.SOURCE, subject.source, settings.OCPP_BASIC_AUTH_SOURCE_LIMIT),
    )
    locked = False
    for scope, key, limit in limits:
        if not key:
            continue  # no address known (a Unix socket): nothing to count by
        if _count(scope=scope, key=key, limit=limit, now=now):
            locked = True
            security_event_log(
                tenant_id=subject.tenant_id,
                charge_point_id=subject.charge_point_id,
                identity=subject.identity,
                type=CentralSystemEvent.BRUTE_FORCE_LOCKOUT,
                tech_info=(
                    f"{limit} failed Basic-auth handshakes per {scope} {key} within "
                    f"{settings.OCPP_BASIC_AUTH_WINDOW_SECONDS} s: refused for "
                    f"{settings.OCPP_BASIC_AUTH_LOCKOUT_SECONDS} s"
                ),
                source_address=subject.source,
                at=now,
            )
    return locked


def _count(*, scope: str, key: str, limit: int, now: datetime) -> bool:
    """One more failure of ``key``; True if this one starts a lockout."""
    window = timedelta(seconds=settings.OCPP_BASIC_AUTH_WINDOW_SECONDS)
    with transaction.atomic():
        row = BasicAuthFailures.objects.select_for_update().filter(scope=scope, key=key).first()
        if row is None:
            try:
                with transaction.atomic():
                    row = BasicAuthFailures.objects.create(
                        scope=scope, key=key, failures=0, window_started_at=now
                    )
            except IntegrityError:  # another process counted the first failure meanwhile
                row = BasicAuthFailures.objects.select_for_update().get(scope=scope, key=key)
        if row.locked_until is not None and row.locked_until > now:
            return False  # already locked: attempts during a lockout are refused, not counted
        if now - row.window_started_at > window:
            row.failures, row.window_started_at, row.locked_until = 0, now, None
        row.failures += 1
        starts = row.failures >= limit
        if starts:
            row.locked_until = now + timedelta(seconds=settings.OCPP_BASIC_AUTH_LOCKOUT_SECONDS)
            # The next window starts after the cool-down: ten fresh guesses, not one.
            row.failures = 0
            row.window_started_at = row.locked_until
        row.save(update_fields=["failures", "window_started_at", "locked_until"])
    return starts


def basic_auth_lockout_clear(*, tenant_slug: str, identity: str) -> int:
    """Staff lift an identity's lockout (after fixing a charger's password, say)."""
    return BasicAuthFailures.objects.filter(
        scope=FailureScope.IDENTITY, key=identity_key(tenant_slug, identity)
    ).delete()[0]
