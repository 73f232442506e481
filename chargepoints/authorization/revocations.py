"""An idTag we stop accepting reaches the charge points that may still accept it on their own.

A charge point with ``LocalPreAuthorize``/``LocalAuthorizeOffline`` answers a card from its
Authorization Cache or its Local Authorization List without asking us (OCPP 1.6 §3.5), until
the entry's expiryDate. So when a tag is blocked, expires or is deleted, every charge point of
the tenant where it authorized within the cache lifetime is told: a Differential SendLocalList
where the tag is in the list it holds (the local-list sync), else ClearCache (§5.4). Both go
through the outbox: an offline charge point gets them when it connects. Each such charge point
is an :class:`IdTagRevocation` until its answer confirms it.
"""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models.functions import Lower
from django.utils import timezone

from chargepoints.authorization.local_list_sync import local_list_sync
from chargepoints.authorization.verdicts import AuthorizationStatus, id_tag_status
from chargepoints.commands.dispatch import command_dispatch
from chargepoints.models import (
    ChargePoint,
    Command,
    CommandStatus,
    IdTag,
    IdTagRevocation,
    LocalListState,
    MessageDirection,
    OcppMessage,
    RevocationMethod,
)
from csms.tenancy.models import Tenant
from transactions.models import Transaction

REVOCATION_JOB = "id-tag-revocation"
# A ClearCache is worth delivering to a charge point that comes back within a week; one that
# stays away longer has been offline past any sensible cache lifetime.
CLEAR_CACHE_TTL_SECONDS = getattr(settings, "OCPP_CLEAR_CACHE_TTL_SECONDS", 7 * 24 * 3600)


def id_tag_accepted_now(tag: IdTag) -> bool:
    return id_tag_status(tag, timezone.now()) == AuthorizationStatus.ACCEPTED


def id_tag_changed(*, tag: IdTag, was_accepted: bool) -> list[IdTagRevocation]:
    """After an edit (API, admin, bulk): a tag that was Accepted and no longer is (blocked,
    or given an expiry date in the past) is withdrawn."""
    if was_accepted and not id_tag_accepted_now(tag):
        return id_tag_withdraw(tenant_id=tag.tenant_id, id_tag=tag.id_tag)
    return []


def id_tag_cached_at(*, tenant_id: int, id_tag: str, since: datetime | None) -> set[int]:
    """The tenant's charge points where ``id_tag`` was answered since ``since`` (None: ever):
    a StartTransaction stored there, or an Authorize in the message log (the only record of
    one; its retention bounds how far back this sees)."""
    sessions = Transaction.objects.alias(id_tag_lower=Lower("id_tag")).filter(
        tenant_id=tenant_id, id_tag_lower=id_tag.lower()
    )
    authorizations = OcppMessage.objects.filter(
        charge_point__tenant_id=tenant_id,
        direction=MessageDirection.IN,
        action="Authorize",
        frame__icontains=f'"{id_tag}"',
    )
    if since is not None:
        sessions = sessions.filter(started_at__gte=since)
        authorizations = authorizations.filter(created_at__gte=since)
    return set(sessions.values_list("charge_point_id", flat=True).distinct()) | set(
        authorizations.values_list("charge_point_id", flat=True).distinct()
    )


def _holds_in_local_list(state: LocalListState | None, id_tag: str) -> bool:
    return state is not None and any(tag.lower() == id_tag.lower() for tag in state.entries)


def id_tag_withdraw(*, tenant_id: int, id_tag: str) -> list[IdTagRevocation]:
    """``id_tag`` is no longer Accepted (blocked, expired, deleted): tell every charge point
    that may have it cached or listed. Call in the transaction of the change."""
    lifetime = (
        Tenant.objects.filter(pk=tenant_id)
        .values_list("authorization_cache_lifetime", flat=True)
        .first()
    )
    now = timezone.now()
    since = now - timedelta(seconds=lifetime) if lifetime else None
    # A tag in a charge point's local list is accepted there offline whatever its history.
    listed = LocalListState.objects.filter(
        charge_point__tenant_id=tenant_id, entries__has_key=id_tag
    ).values_list("charge_point_id", flat=True)
    charge_point_ids = id_tag_cached_at(tenant_id=tenant_id, id_tag=id_tag, since=since) | set(
        listed
    )
    if not charge_point_ids:
        return []
    states = {
        state.charge_point_id: state
        for state in LocalListState.objects.filter(charge_point_id__in=charge_point_ids)
    }
    revocations = []
    for charge_point in ChargePoint.objects.filter(
        pk__in=charge_point_ids, tenant_id=tenant_id
    ).order_by("pk"):
        if _holds_in_local_list(states.get(charge_point.pk), id_tag):
            # The sync sends the changed entry as a Differential update (§5.15).
            command = local_list_sync(charge_point=charge_point, force=True).command
            method = RevocationMethod.LOCAL_LIST
        else:
            command = _clear_cache(charge_point)
            method = RevocationMethod.CLEAR_CACHE
        revocations.append(
            IdTagRevocation(
                tenant_id=tenant_id,
                id_tag=id_tag,
                charge_point=charge_point,
                method=method,
                command=command,
            )
        )
    return IdTagRevocation.objects.bulk_create(revocations)


def _clear_cache(charge_point: ChargePoint) -> Command:
    """One ClearCache on its way per charge point: tags revoked meanwhile share it."""
    queued = (
        Command.objects.filter(
            charge_point=charge_point, action="ClearCache", status=CommandStatus.QUEUED
        )
        .order_by("-pk")
        .first()
    )
    return queued or command_dispatch(
        charge_point=charge_point,
        action="ClearCache",
        payload={},
        requested_by_job=REVOCATION_JOB,
        ttl_seconds=CLEAR_CACHE_TTL_SECONDS,
    )


def id_tag_revocations_pending(*, tenant_id: int, id_tags: list[str]) -> dict[str, list[str]]:
    """Per idTag (lower-cased), the identities of the charge points that have yet to confirm
    they forgot it: one query for a page of tags."""
    rows = (
        IdTagRevocation.objects.annotate(id_tag_lower=Lower("id_tag"))
        .filter(
            tenant_id=tenant_id,
            id_tag_lower__in=[id_tag.lower() for id_tag in id_tags],
            confirmed_at=None,
        )
        .order_by("charge_point__identity")
        .values_list("id_tag_lower", "charge_point__identity")
        .distinct()
    )
    pending: dict[str, list[str]] = {}
    for id_tag_lower, identity in rows:
        pending.setdefault(id_tag_lower, []).append(identity)
    return pending


# --- What the answers confirm (chargepoints.receivers) --------------------------------------------


def revocations_confirm_cleared(
    *, charge_point_id: int, command_id: int, response: dict[str, Any] | None
) -> int:
    """ClearCache.conf Accepted: the cache is empty (a Rejected one stays pending). It
    confirms the revocations it was queued for, and older ones; not those queued after it."""
    if (response or {}).get("status") != "Accepted":
        return 0
    return IdTagRevocation.objects.filter(
        charge_point_id=charge_point_id,
        method=RevocationMethod.CLEAR_CACHE,
        command_id__lte=command_id,
        confirmed_at=None,
    ).update(confirmed_at=timezone.now())


def revocations_confirm_listed(
    *, charge_point_id: int, payload: dict[str, Any], response: dict[str, Any] | None
) -> int:
    """SendLocalList.conf Accepted: a Full list, or a Differential one naming the tag,
    replaced what the charge point held for it."""
    if (response or {}).get("status") != "Accepted":
        return 0
    pending = IdTagRevocation.objects.filter(
        charge_point_id=charge_point_id,
        method=RevocationMethod.LOCAL_LIST,
        confirmed_at=None,
    )
    if payload.get("updateType") != "Full":
        named = [entry["idTag"].lower() for entry in payload.get("localAuthorizationList") or ()]
        pending = pending.alias(id_tag_lower=Lower("id_tag")).filter(id_tag_lower__in=named)
    return pending.update(confirmed_at=timezone.now())
