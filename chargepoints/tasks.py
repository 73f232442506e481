"""Celery tasks of the chargepoints app (scheduled by django-celery-beat, see migrations)."""

import logging

from celery import shared_task

from chargepoints.message_log import message_log_cutoff, message_log_purge

logger = logging.getLogger(__name__)


@shared_task(name="chargepoints.purge_message_log")
def purge_message_log() -> int:
    deleted = message_log_purge(before=message_log_cutoff())
    logger.info("purged %d OCPP message log rows", deleted)
    return deleted
