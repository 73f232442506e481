"""Celery tasks of the alerts: a few lines each, over the services."""

from celery import shared_task

from csms.alerts.notifications import alerts_notify
from csms.alerts.services import alerts_open_due


@shared_task(name="alerts.notify", ignore_result=True)
def alerts_notify_task(tenant_id: int) -> None:
    alerts_notify(tenant_id=tenant_id)


@shared_task(name="alerts.open_due", ignore_result=True)
def alerts_open_due_task() -> None:
    """Beat, every minute: offline alerts whose grace time passed."""
    alerts_open_due()
