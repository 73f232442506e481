"""Rejected SetChargingProfile answers: recorded, sent again with backoff, given up with an
event; a site's share that cannot be installed is left to the other sessions.

OCPP 1.6 §5.16: a charge point answers Rejected when it cannot take a profile now. Most such
refusals pass (a profile slot, a transaction not started yet), so the same request goes out
again after ``smartcharging.backoff.retry_delays``; after the last retry the refusal is
published (``ChargingProfileRejected``: the webhook ``charging_profile.rejected``) and, for a
site's share, the site rebalances without counting on it.
"""

from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from chargepoints.commands.dispatch import command_dispatch
from chargepoints.models import ChargePoint, Command
from csms.events import ChargingProfileRejected, CommandCompleted, publish
from smartcharging.backoff import retry_delays
from smartcharging.models import ChargingProfile, ChargingProfileRejection

REJECTED = "Rejected"
RETRY_JOB = "charging-profile-retry"


def _delays() -> list[float]:
    return retry_delays(
        retries=settings.SMARTCHARGING_PROFILE_RETRIES,
        base_seconds=settings.SMARTCHARGING_PROFILE_RETRY_BASE_SECONDS,
    )


def profile_answer_record(*, command: CommandCompleted) -> ChargingProfileRejection | None:
    """SetChargingProfile.conf: Accepted ends any rejection of the profile on that connector;
    Rejected is recorded and retried, or given up after the last retry."""
    status = (command.response or {}).get("status")
    connector_id = command.payload["connectorId"]
    cs_profile = command.payload["csChargingProfiles"]
    key = {
        "charge_point_id": command.charge_point_id,
        "connector_id": connector_id,
        "charging_profile_id": cs_profile["chargingProfileId"],
    }
    if status != REJECTED:
        ChargingProfileRejection.objects.filter(**key).delete()
        return None
    ChargingProfileRejection.objects.bulk_create(
        [ChargingProfileRejection(tenant_id=command.tenant_id, payload=command.payload, **key)],
        ignore_conflicts=True,
    )
    rejection = ChargingProfileRejection.objects.select_for_update().get(**key)
    if rejection.payload != command.payload or rejection.given_up_at is not None:
        # A new version of the profile (a rebalance changed the share): its own tries.
        rejection.payload, rejection.attempts, rejection.given_up_at = command.payload, 0, None
    rejection.attempts += 1
    rejection.last_command_id = command.command_id
    delays = _delays()
    now = timezone.now()
    if rejection.attempts <= len(delays):
        delay = delays[rejection.attempts - 1]
        rejection.next_attempt_at = now + timedelta(seconds=delay)
        transaction.on_commit(partial(_enqueue_retry, rejection.pk, delay), robust=True)
    else:
        rejection.next_attempt_at = None
        rejection.given_up_at = now
        _give_up(rejection, command=command)
    rejection.save()
    return rejection


def _enqueue_retry(rejection_pk: int, delay: float) -> None:
    from smartcharging.tasks import retry_rejected_profile  # the tasks import this module

    retry_rejected_profile.apply_async((rejection_pk,), countdown=delay)


def _give_up(rejection: ChargingProfileRejection, *, command: CommandCompleted) -> None:
    cs_profile = rejection.payload["csChargingProfiles"]
    site_id = (
        ChargingProfile.objects.filter(
            tenant_id=rejection.tenant_id, charging_profile_id=rejection.charging_profile_id
        )
        .values_list("charging_site_id", flat=True)
        .first()
    )
    publish(
        ChargingProfileRejected(
            tenant_id=rejection.tenant_id,
            charge_point_id=rejection.charge_point_id,
            identity=command.identity,
            connector_id=rejection.connector_id,
            charging_profile_id=rejection.charging_profile_id,
            charging_profile_purpose=cs_profile["chargingProfilePurpose"],
            transaction_id=cs_profile.get("transactionId"),
            charging_site_id=site_id,
            attempts=rejection.attempts,
        )
    )
    if site_id is not None:
        from smartcharging.services.sites import charging_site_rebalance_request

        charging_site_rebalance_request(site_id=site_id)


def profile_rejection_retry(*, rejection_pk: int) -> Command | None:
    """The retry's turn: the same SetChargingProfile again, unless it was accepted, given up,
    or another one for the profile was sent since (that one has its own answer)."""
    with transaction.atomic():
        rejection = (
            ChargingProfileRejection.objects.select_for_update()
            .select_related("charge_point")
            .filter(pk=rejection_pk, given_up_at=None)
            .first()
        )
        if rejection is None:
            return None
        newer = Command.objects.filter(
            charge_point_id=rejection.charge_point_id,
            action="SetChargingProfile",
            pk__gt=rejection.last_command_id or 0,
            payload__csChargingProfiles__chargingProfileId=rejection.charging_profile_id,
            payload__connectorId=rejection.connector_id,
        )
        if newer.exists():
            return None
        charge_point: ChargePoint = rejection.charge_point
        return command_dispatch(
            charge_point=charge_point,
            action="SetChargingProfile",
            payload=rejection.payload,
            requested_by_job=RETRY_JOB,
        )


def site_sessions_given_up(*, tenant_id: int, charging_site_id: int) -> set[int]:
    """Transactions whose share of the site a charge point refused for good."""
    return set(
        ChargingProfile.objects.filter(
            tenant_id=tenant_id,
            charging_site_id=charging_site_id,
            transaction__isnull=False,
            charging_profile_id__in=ChargingProfileRejection.objects.filter(
                tenant_id=tenant_id, given_up_at__isnull=False
            ).values("charging_profile_id"),
        ).values_list("transaction_id", flat=True)
    )
