"""Celery tasks of the smartcharging app: a few lines each, over the services."""

from datetime import timedelta

from celery import shared_task

from smartcharging.services.rejections import profile_rejection_retry
from smartcharging.services.sites import charging_site_rebalance, charging_sites_rebalance_overdue

OVERDUE_AFTER = timedelta(seconds=30)


@shared_task(name="smartcharging.rebalance_site")
def rebalance_site(site_id: int, generation: int | None = None) -> int:
    return len(charging_site_rebalance(site_id=site_id, generation=generation))


@shared_task(name="smartcharging.rebalance_overdue_sites")
def rebalance_overdue_sites() -> int:
    return charging_sites_rebalance_overdue(older_than=OVERDUE_AFTER)


@shared_task(name="smartcharging.retry_rejected_profile")
def retry_rejected_profile(rejection_pk: int) -> bool:
    return profile_rejection_retry(rejection_pk=rejection_pk) is not None
