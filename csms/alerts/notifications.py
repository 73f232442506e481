"""Telling people: an e-mail digest per rule and run, and a webhook event per alert.

Run by a Celery task after the commit that opened or closed alerts. The alerts to announce are
claimed in one short transaction (their ``*_notified_at`` set, so a second run at the same time
finds nothing); the mails are sent after it, outside any transaction (network I/O).
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from csms.alerts.models import Alert, AlertRule, AlertState
from csms.tenancy.models import Tenant
from csms.webhooks.event_types import EventType
from csms.webhooks.services.events import event_emit

logger = logging.getLogger(__name__)


@dataclass
class Digest:
    rule: AlertRule
    opened: list[Alert] = field(default_factory=list)
    closed: list[Alert] = field(default_factory=list)


def alert_webhook_data(alert: Alert) -> dict[str, object]:
    return {
        "id": alert.pk,
        "rule": alert.rule_id,
        "kind": alert.kind,
        "subject": alert.subject,
        "charge_point": alert.identity or None,
        "state": alert.state,
        "detail": alert.detail,
        "occurrences": alert.occurrences,
        "raised_at": alert.raised_at,
        "opened_at": alert.opened_at,
        "closed_at": alert.closed_at,
        "close_reason": alert.close_reason,
    }


def _claim(*, tenant_id: int, now: datetime) -> dict[int, Digest]:
    to_open = Q(opened_at__isnull=False, open_notified_at__isnull=True)
    to_close = Q(state=AlertState.CLOSED, opened_at__isnull=False, close_notified_at__isnull=True)
    digests: dict[int, Digest] = {}
    with transaction.atomic():
        alerts = list(
            Alert.objects.select_for_update()
            .filter(Q(tenant_id=tenant_id) & (to_open | to_close))
            .select_related("rule")
            .order_by("pk")
        )
        for alert in alerts:
            digest = digests.setdefault(alert.rule_id, Digest(alert.rule))
            if alert.open_notified_at is None:
                digest.opened.append(alert)
                event_emit(
                    tenant_id=tenant_id,
                    type=EventType.ALERT_OPENED,
                    data=alert_webhook_data(alert),
                    charge_point_id=alert.charge_point_id,
                    now=now,
                )
            if alert.state == AlertState.CLOSED:
                digest.closed.append(alert)
                event_emit(
                    tenant_id=tenant_id,
                    type=EventType.ALERT_CLOSED,
                    data=alert_webhook_data(alert),
                    charge_point_id=alert.charge_point_id,
                    now=now,
                )
        ids = [alert.pk for alert in alerts]
        Alert.objects.filter(pk__in=ids, open_notified_at__isnull=True).update(open_notified_at=now)
        Alert.objects.filter(pk__in=ids, state=AlertState.CLOSED).update(close_notified_at=now)
    return digests


def _lines(alerts: list[Alert], verb: str) -> list[str]:
    listed = settings.ALERTS_DIGEST_MAX_LISTED
    lines = [
        f"- {verb}: {alert.get_kind_display()} - {alert.identity or alert.subject}"
        + (f" ({alert.detail})" if alert.detail else "")
        for alert in alerts[:listed]
    ]
    if len(alerts) > listed:
        lines.append(f"- ... and {len(alerts) - listed} more {verb}")
    return lines


def alerts_notify(*, tenant_id: int, now: datetime | None = None) -> int:
    """Announce the tenant's alerts opened or closed since the last run; the mails sent."""
    now = now or timezone.now()
    digests = _claim(tenant_id=tenant_id, now=now)
    tenant_name = Tenant.objects.filter(pk=tenant_id).values_list("name", flat=True).first()
    sent = 0
    for digest in digests.values():
        recipients = digest.rule.recipients
        if not recipients or not (digest.opened or digest.closed):
            continue
        subject = (
            f"[CSMS] {tenant_name}: {digest.rule.name}: "
            f"{len(digest.opened)} opened, {len(digest.closed)} closed"
        )
        body = "\n".join(
            [
                f"Alert rule '{digest.rule.name}' of {tenant_name}:",
                "",
                *_lines(digest.opened, "opened"),
                *_lines(digest.closed, "closed"),
            ]
        )
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
        except Exception:
            # The alerts stay visible in the admin and the API; the next mail is not blocked.
            logger.exception("alert digest of rule %s could not be sent", digest.rule.pk)
        else:
            sent += 1
    return sent
