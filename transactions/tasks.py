"""Celery tasks of the transactions app: a few lines each, over the services."""

from celery import shared_task

from transactions.services import zombie_sessions_close


@shared_task(name="transactions.close_zombie_sessions", ignore_result=True)
def close_zombie_sessions_task() -> None:
    """Beat, every five minutes: the tenants' closing rules (off unless a tenant sets them)."""
    zombie_sessions_close()
