"""§3 alerts: debounced (open once, close when cleared, a grace time for offline, no flood),
delivered as e-mail digests and webhook events, listed in the admin and the API."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from csms.alerts.models import Alert, AlertKind, AlertRule, AlertState
from csms.alerts.rules import rules_of
from csms.alerts.services import alert_clear, alert_raise, alert_rule_saved, alerts_open_due
from csms.tenancy.models import Tenant
from csms.webhooks.models import Event, WebhookEndpoint

pytestmark = pytest.mark.django_db
AT = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def _clear(rule: Any, subject: str, *, reason: str = "Available") -> int:
    return alert_clear(
        rule_ids=[rule.id], subject=subject, at=AT, reason=reason, tenant_id=rule.tenant_id
    )


def _snapshot(rule: AlertRule) -> Any:
    return next(r for r in rules_of(rule.tenant_id, rule.kind) if r.id == rule.pk)


def test_an_alert_opens_once_and_repeats_only_count(
    make_rule: Callable[..., AlertRule], django_capture_on_commit_callbacks: Any
) -> None:
    rule = _snapshot(make_rule())
    with django_capture_on_commit_callbacks(execute=True):
        first = alert_raise(rule=rule, subject="cp:1:connector:2", at=AT, identity="CP-1")
        for n in range(5):
            again = alert_raise(rule=rule, subject="cp:1:connector:2", at=AT + timedelta(seconds=n))
            assert again is None
    alert = Alert.objects.get()
    assert first is not None and alert.pk == first.pk
    assert (alert.state, alert.occurrences) == (AlertState.OPEN, 6)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ops@example.com", "oncall@example.com"]
    assert "1 opened, 0 closed" in mail.outbox[0].subject and "CP-1" in mail.outbox[0].body


def test_clearing_closes_it_and_says_so_once(
    make_rule: Callable[..., AlertRule], django_capture_on_commit_callbacks: Any
) -> None:
    rule = _snapshot(make_rule())
    with django_capture_on_commit_callbacks(execute=True):
        alert_raise(rule=rule, subject="cp:1:connector:2", at=AT)
    with django_capture_on_commit_callbacks(execute=True):
        assert _clear(rule, "cp:1:connector:2") == 1
        assert _clear(rule, "cp:1:connector:2") == 0  # nothing live any more
    alert = Alert.objects.get()
    assert (alert.state, alert.close_reason) == (AlertState.CLOSED, "Available")
    assert [m.subject.split(": ")[-1] for m in mail.outbox] == [
        "1 opened, 0 closed",
        "0 opened, 1 closed",
    ]
    # The same fault again is a new alert.
    with django_capture_on_commit_callbacks(execute=True):
        assert alert_raise(rule=rule, subject="cp:1:connector:2", at=AT) is not None
    assert Alert.objects.filter(state=AlertState.OPEN).count() == 1


def test_offline_waits_its_grace_time_and_a_quick_reconnect_says_nothing(
    make_rule: Callable[..., AlertRule], django_capture_on_commit_callbacks: Any
) -> None:
    rule = _snapshot(make_rule(AlertKind.OFFLINE, threshold_minutes=10))
    with django_capture_on_commit_callbacks(execute=True):
        # A reconnect storm: 300 charge points away and back within a minute.
        for n in range(300):
            alert_raise(rule=rule, subject=f"cp:{n}", at=AT, pending_for=timedelta(minutes=10))
        for n in range(300):
            alert_clear(
                rule_ids=[rule.id],
                subject=f"cp:{n}",
                at=AT + timedelta(seconds=40),
                reason="reconnected",
                tenant_id=rule.tenant_id,
            )
        assert alerts_open_due(now=AT + timedelta(hours=1)) == 0
    assert not mail.outbox and not Alert.objects.filter(state__in=["pending", "open"]).exists()


def test_a_long_outage_opens_many_alerts_in_one_digest(
    make_rule: Callable[..., AlertRule],
    django_capture_on_commit_callbacks: Any,
    settings: Any,
) -> None:
    settings.ALERTS_DIGEST_MAX_LISTED = 10
    rule = _snapshot(make_rule(AlertKind.OFFLINE, threshold_minutes=10))
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(200):
            alert_raise(
                rule=rule,
                subject=f"cp:{n}",
                identity=f"CP-{n}",
                at=AT,
                pending_for=timedelta(minutes=10),
            )
    assert not mail.outbox  # still within the grace time
    with django_capture_on_commit_callbacks(execute=True):
        assert alerts_open_due(now=AT + timedelta(minutes=9)) == 0
        assert alerts_open_due(now=AT + timedelta(minutes=10)) == 200
    assert len(mail.outbox) == 1  # one digest, not 200 mails
    assert (
        "200 opened" in mail.outbox[0].subject and "... and 190 more opened" in mail.outbox[0].body
    )
    assert (
        Alert.objects.filter(state=AlertState.OPEN, opened_at=AT + timedelta(minutes=10)).count()
        == 200
    )


def test_alerts_are_webhook_events(
    tenant: Tenant, make_rule: Callable[..., AlertRule], django_capture_on_commit_callbacks: Any
) -> None:
    WebhookEndpoint.objects.create(
        tenant=tenant,
        url="https://hooks.example.com/csms",
        secret="whsec_x",
        event_types=["alert.opened", "alert.closed"],
    )
    rule = _snapshot(make_rule())
    with django_capture_on_commit_callbacks(execute=True):
        alert_raise(
            rule=rule, subject="cp:7:connector:1", identity="CP-7", at=AT, detail="GroundFailure"
        )
    with django_capture_on_commit_callbacks(execute=True):
        _clear(rule, "cp:7:connector:1")
    events = list(Event.objects.order_by("created_at", "type"))
    assert [e.type for e in events] == ["alert.opened", "alert.closed"]
    assert events[0].data["charge_point"] == "CP-7" and events[0].data["detail"] == "GroundFailure"
    assert events[1].data["state"] == "closed" and events[1].data["close_reason"] == "Available"


def test_turning_a_rule_off_closes_its_alerts(
    make_rule: Callable[..., AlertRule], django_capture_on_commit_callbacks: Any
) -> None:
    rule = make_rule()
    with django_capture_on_commit_callbacks(execute=True):
        alert_raise(rule=_snapshot(rule), subject="cp:1:connector:1", at=AT)
        rule.active = False
        rule.save()
        alert_rule_saved(rule=rule)
    assert Alert.objects.get().state == AlertState.CLOSED
    assert rules_of(rule.tenant_id, rule.kind) == []


def test_api_lists_only_the_tenants_alerts(
    tenant: Tenant,
    other_tenant: Tenant,
    make_rule: Callable[..., AlertRule],
    api: APIClient,
) -> None:
    mine = _snapshot(make_rule())
    theirs = _snapshot(make_rule(tenant=other_tenant))
    alert_raise(rule=mine, subject="cp:1:connector:1", identity="CP-MINE", at=AT)
    alert_raise(rule=theirs, subject="cp:2:connector:1", identity="CP-THEIRS", at=AT)
    listing = api.get("/api/v1/alerts/").json()
    assert listing["count"] == 1
    assert listing["results"][0]["charge_point"] == "CP-MINE"
    assert (
        listing["results"][0]["state"] == "open"
        and listing["results"][0]["kind"] == "connector_faulted"
    )
    theirs_id = Alert.objects.get(identity="CP-THEIRS").pk
    assert api.get(f"/api/v1/alerts/{theirs_id}/").status_code == 404
    assert api.get("/api/v1/alerts/", {"state": "closed"}).json()["count"] == 0
    assert api.get("/api/v1/alerts/", {"charge_point": "CP-MINE"}).json()["count"] == 1


def test_admin_lists_alerts_and_closes_acknowledged_ones(
    tenant: Tenant, make_rule: Callable[..., AlertRule], admin_client: Client
) -> None:
    rule = _snapshot(make_rule(AlertKind.SECURITY_EVENT))
    alert = alert_raise(
        rule=rule, subject="cp:1:security:TamperDetectionActivated", identity="CP-1", at=AT
    )
    assert alert is not None
    url = reverse("admin:alerts_alert_changelist")
    page = admin_client.get(url, {"state__exact": "open"})
    assert b"CP-1" in page.content and b"Security event of a critical type" in page.content
    admin_client.post(url, {"action": "close_selected", "_selected_action": [alert.pk]})
    alert.refresh_from_db()
    assert alert.state == AlertState.CLOSED and alert.close_reason == "closed by admin"


def test_a_rule_deleted_meanwhile_raises_nothing(make_rule: Callable[..., AlertRule]) -> None:
    rule = make_rule()
    snapshot = _snapshot(rule)  # as another process still holds it for a few seconds
    rule.delete()
    assert alert_raise(rule=snapshot, subject="cp:1:connector:1", at=AT) is None
    assert not Alert.objects.exists()
