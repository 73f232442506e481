"""Opening and closing alerts, with plain values (the receivers, the admin and the beat task
call these; nothing here knows the event bus or any app's models).

Debounce (issue 20 §3): ``alert_raise`` opens an alert once per rule and subject; while it is
live, a repeat only counts (``occurrences``). ``alert_clear`` closes it when its condition goes
away; a *pending* alert (an offline rule's grace time) closes without a word, so a charge point
that reconnects within the threshold never notifies anyone. Every notification is sent after
commit by ``alerts_notify`` (one digest per rule and run), so a storm of openings in one second
is one mail, not thousands.
"""

from datetime import datetime, timedelta
from functools import partial

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from csms.alerts.models import Alert, AlertRule, AlertState
from csms.alerts.rules import RuleSnapshot, rules_forget

LIVE = [AlertState.PENDING, AlertState.OPEN]


def charge_point_subject(charge_point_id: int, *parts: object) -> str:
    return ":".join(["cp", str(charge_point_id), *map(str, parts)])


def _notify_after_commit(tenant_id: int) -> None:
    from csms.alerts.tasks import alerts_notify_task

    transaction.on_commit(partial(alerts_notify_task.delay, tenant_id))


def alert_raise(
    *,
    rule: RuleSnapshot,
    subject: str,
    at: datetime,
    detail: str = "",
    charge_point_id: int | None = None,
    identity: str = "",
    pending_for: timedelta | None = None,
) -> Alert | None:
    """Open (or, with ``pending_for``, arm) the alert of ``rule`` for ``subject``; the new alert,
    or None when one was live already (then only its count and time move)."""
    repeated = Alert.objects.filter(rule_id=rule.id, subject=subject, state__in=LIVE).update(
        occurrences=F("occurrences") + 1, last_event_at=at
    )
    if repeated:
        return None
    if not AlertRule.objects.filter(pk=rule.id, active=True).exists():
        # Another process's snapshot may be a few seconds old: the rule was deleted or turned
        # off meanwhile. (Raising is rare, a state change; the check costs one query then.)
        return None
    pending = pending_for is not None and pending_for > timedelta(0)
    try:
        # A savepoint: two processes raising the same condition meet at the unique constraint.
        with transaction.atomic():
            alert = Alert.objects.create(
                tenant_id=rule.tenant_id,
                rule_id=rule.id,
                kind=rule.kind,
                subject=subject,
                charge_point_id=charge_point_id,
                identity=identity,
                state=AlertState.PENDING if pending else AlertState.OPEN,
                detail=detail[:500],
                raised_at=at,
                due_at=at + pending_for if pending and pending_for else None,
                opened_at=None if pending else at,
                last_event_at=at,
            )
    except IntegrityError:
        return None
    if not pending:
        _notify_after_commit(rule.tenant_id)
    return alert


def alert_clear(
    *, rule_ids: list[int], subject: str, at: datetime, reason: str, tenant_id: int
) -> int:
    """Close the live alerts of these rules for ``subject``; how many were open (notified)."""
    if not rule_ids:
        return 0
    live = Alert.objects.filter(rule_id__in=rule_ids, subject=subject, state__in=LIVE)
    # Pending ones close silently: they were never announced, so nothing is to be taken back.
    live.filter(state=AlertState.PENDING).update(
        state=AlertState.CLOSED, closed_at=at, close_reason=reason, close_notified_at=at
    )
    closed = live.filter(state=AlertState.OPEN).update(
        state=AlertState.CLOSED, closed_at=at, close_reason=reason[:200]
    )
    if closed:
        _notify_after_commit(tenant_id)
    return closed


def alerts_close_by_staff(*, alert_ids: list[int], at: datetime, who: str) -> int:
    """Acknowledged by a person: for alerts whose condition has no "cleared" event (a failed
    command, a security event)."""
    closed = 0
    for alert in Alert.objects.filter(pk__in=alert_ids, state__in=LIVE):
        closed += alert_clear(
            rule_ids=[alert.rule_id],
            subject=alert.subject,
            at=at,
            reason=f"closed by {who}",
            tenant_id=alert.tenant_id,
        )
    return closed


def alerts_open_due(*, now: datetime | None = None) -> int:
    """Pending alerts whose grace time passed open now (the beat task, every minute)."""
    now = now or timezone.now()
    due = Alert.objects.filter(state=AlertState.PENDING, due_at__lte=now)
    tenants = set(due.values_list("tenant_id", flat=True))
    opened = due.update(state=AlertState.OPEN, opened_at=F("due_at"))
    for tenant_id in tenants:
        _notify_after_commit(tenant_id)
    return opened


def alert_rule_saved(*, rule: AlertRule) -> None:
    """After a rule was created or changed: this process sees it at once; and a deactivated
    rule's live alerts close."""
    rules_forget(rule.tenant_id)
    transaction.on_commit(partial(rules_forget, rule.tenant_id))
    if not rule.active:
        now = timezone.now()
        Alert.objects.filter(rule=rule, state=AlertState.PENDING).update(
            state=AlertState.CLOSED, closed_at=now, close_notified_at=now, close_reason="rule off"
        )
        closed = Alert.objects.filter(rule=rule, state=AlertState.OPEN).update(
            state=AlertState.CLOSED, closed_at=now, close_reason="rule turned off"
        )
        if closed:
            _notify_after_commit(rule.tenant_id)
