"""Celery tasks of the chargepoints app (scheduled by django-celery-beat, see migrations)."""

import logging
from typing import Any

from celery import Task, shared_task
from django.db import transaction

from chargepoints.authorization.local_list_sync import local_list_sync, local_list_sync_all
from chargepoints.authorization.local_list_triggers import local_list_sync_tenant
from chargepoints.commands.dispatch import command_dispatch
from chargepoints.commands.outbox import expire_due_commands
from chargepoints.configuration.apply import (
    configuration_baseline_apply,
    configuration_baseline_apply_all,
)
from chargepoints.message_log import message_log_cutoff, message_log_purge
from chargepoints.models import ChargePoint, RegistrationStatus
from chargepoints.reservations.services import reservations_expire
from chargepoints.security.certificates import certificates_renew_due
from chargepoints.security.security_log import security_events_purge

logger = logging.getLogger(__name__)


@shared_task(name="chargepoints.purge_message_log")
def purge_message_log() -> int:
    deleted = message_log_purge(before=message_log_cutoff())
    logger.info("purged %d OCPP message log rows", deleted)
    return deleted


@shared_task(name="chargepoints.expire_commands")
def expire_commands() -> int:
    """Queued commands of charge points that stayed offline past their expiry."""
    total = 0
    while expired := expire_due_commands():
        total += expired
    return total


@shared_task(bind=True, name="chargepoints.send_command")
def send_command(
    task: Task,
    charge_point_id: int,
    action: str,
    payload: dict[str, Any],
    job: str = "celery",
    ttl_seconds: int | None = None,
) -> int:
    """Queue a command from a job (delivered by whichever process holds the socket); run
    again with the same task id (a redelivery), the same command."""
    charge_point = ChargePoint.objects.get(pk=charge_point_id)
    with transaction.atomic():
        command = command_dispatch(
            charge_point=charge_point,
            action=action,
            payload=payload,
            requested_by_job=job,
            ttl_seconds=ttl_seconds,
            job_key=task.request.id or "",
        )
    return command.pk


@shared_task(name="chargepoints.sync_local_lists")
def sync_local_lists() -> int:
    """Beat: start a local-list sync on every connected charge point that supports one."""
    return local_list_sync_all()


@shared_task(name="chargepoints.sync_local_lists_of_tenant")
def sync_local_lists_of_tenant(tenant_id: int) -> int:
    """Debounced after idTag changes (authorization.local_list_triggers.local_list_sync_request)."""
    return local_list_sync_tenant(tenant_id=tenant_id)


@shared_task(name="chargepoints.sync_local_list")
def sync_local_list(charge_point_id: int) -> bool:
    """After an accepted BootNotification."""
    charge_point = ChargePoint.objects.filter(
        pk=charge_point_id, registration_status=RegistrationStatus.ACCEPTED
    ).first()
    if charge_point is None:
        return False
    local_list_sync(charge_point=charge_point)
    return True


@shared_task(name="chargepoints.expire_reservations")
def expire_reservations() -> int:
    return reservations_expire()


@shared_task(name="chargepoints.expire_reservation")
def expire_reservation(reservation_pk: int) -> int:
    """Due at one reservation's expiry date (enqueued with that ETA when it was made)."""
    return reservations_expire(pk=reservation_pk)


@shared_task(name="chargepoints.apply_configuration_baselines")
def apply_configuration_baselines(tenant_id: int | None = None) -> int:
    """Beat (every tenant) or after a baseline change (one tenant): read and correct drift."""
    return configuration_baseline_apply_all(tenant_id=tenant_id)


@shared_task(name="chargepoints.apply_configuration_baseline")
def apply_configuration_baseline(charge_point_id: int) -> bool:
    """After an accepted BootNotification."""
    charge_point = ChargePoint.objects.filter(
        pk=charge_point_id, registration_status=RegistrationStatus.ACCEPTED
    ).first()
    if charge_point is None:
        return False
    return configuration_baseline_apply(charge_point=charge_point) is not None


@shared_task(name="chargepoints.purge_security_log")
def purge_security_log() -> int:
    deleted = security_events_purge()
    logger.info("purged %d security log rows", deleted)
    return deleted


@shared_task(name="chargepoints.renew_certificates")
def renew_certificates() -> int:
    """Charge point certificates of ours that expire within CERTIFICATE_RENEWAL_DAYS: the
    charger is asked to sign a new one (ExtendedTriggerMessage SignChargePointCertificate)."""
    return certificates_renew_due()
