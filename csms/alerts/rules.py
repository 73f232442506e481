"""Which rules of a tenant watch what: a per-process snapshot, so that an event of a tenant
without rules costs no query.

``rules_of(tenant_id, kind)`` reloads a tenant's snapshot once it is older than
``ALERTS_RULES_CACHE_SECONDS``; ``rules_known(tenant_id, kind)`` never queries: it answers the
bus's ``listens`` question for ConnectorStatusChanged on the StatusNotification hot path, from
the snapshot the charge point's own ChargePointConnected event refreshed when it connected to
this process. A rule saved through the admin or the API is seen at once by that process and
within the cache time by the others.
"""

import time
from dataclasses import dataclass

from django.conf import settings

from csms.alerts.models import CRITICAL_SECURITY_EVENTS, AlertKind, AlertRule


@dataclass(frozen=True, slots=True)
class RuleSnapshot:
    id: int
    tenant_id: int
    kind: str
    threshold_minutes: int
    command_actions: tuple[str, ...]
    security_event_types: tuple[str, ...]

    def watches_action(self, action: str) -> bool:
        return not self.command_actions or action in self.command_actions

    def watches_security_event(self, event_type: str) -> bool:
        return event_type in (self.security_event_types or CRITICAL_SECURITY_EVENTS)


_snapshots: dict[int, tuple[float, list[RuleSnapshot]]] = {}


def _load(tenant_id: int) -> list[RuleSnapshot]:
    rules = [
        RuleSnapshot(
            id=rule.pk,
            tenant_id=rule.tenant_id,
            kind=rule.kind,
            threshold_minutes=rule.threshold_minutes,
            command_actions=tuple(rule.command_actions or ()),
            security_event_types=tuple(rule.security_event_types or ()),
        )
        for rule in AlertRule.objects.filter(tenant_id=tenant_id, active=True).order_by("pk")
    ]
    _snapshots[tenant_id] = (time.monotonic(), rules)
    return rules


def rules_of(tenant_id: int, kind: AlertKind | str) -> list[RuleSnapshot]:
    cached = _snapshots.get(tenant_id)
    if cached is None or time.monotonic() - cached[0] > settings.ALERTS_RULES_CACHE_SECONDS:
        rules = _load(tenant_id)
    else:
        rules = cached[1]
    return [rule for rule in rules if rule.kind == kind]


def rules_known(tenant_id: int, kind: AlertKind | str) -> bool:
    cached = _snapshots.get(tenant_id)
    return cached is not None and any(rule.kind == kind for rule in cached[1])


def rules_forget(tenant_id: int | None = None) -> None:
    """Drop the snapshot (of one tenant, or all): after a rule changed, and between tests."""
    if tenant_id is None:
        _snapshots.clear()
    else:
        _snapshots.pop(tenant_id, None)
