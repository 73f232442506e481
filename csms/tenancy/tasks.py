"""Beat tasks of tenancy: housekeeping of the API's idempotency keys."""

import logging

from celery import shared_task

from csms.tenancy.idempotency import idempotency_keys_purge

logger = logging.getLogger(__name__)


@shared_task(name="tenancy.purge_idempotency_keys")
def purge_idempotency_keys() -> int:
    deleted = idempotency_keys_purge()
    logger.info("purged %d expired idempotency keys", deleted)
    return deleted
