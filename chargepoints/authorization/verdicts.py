"""The one rule set for idTagInfo (SPEC §4), used by Authorize and StartTransaction alike."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone

from chargepoints.models import ChargePointGroup, IdTag, IdTagStatus
from csms.statements import aware, rows_select, table
from csms.tenancy.models import Tenant


class AuthorizationStatus:
    # OCPP 1.6 §7.2
    ACCEPTED = "Accepted"
    BLOCKED = "Blocked"
    EXPIRED = "Expired"
    INVALID = "Invalid"
    CONCURRENT_TX = "ConcurrentTx"


@dataclass(frozen=True, slots=True)
class IdTagVerdict:
    status: str
    parent_id_tag: str = ""
    expiry_date: datetime | None = None
    max_active_transactions: int = 1

    @property
    def accepted(self) -> bool:
        return self.status == AuthorizationStatus.ACCEPTED

    def as_id_tag_info(self) -> dict[str, Any]:
        """``idTagInfo`` with snake_case keys (the protocol layer camelCases it)."""
        info: dict[str, Any] = {"status": self.status}
        if self.parent_id_tag:
            info["parent_id_tag"] = self.parent_id_tag
        if self.expiry_date is not None:
            info["expiry_date"] = self.expiry_date.isoformat()
        return info


def id_tag_status(tag: IdTag, now: datetime) -> str:
    """What a known idTag reads as: Blocked, else Expired past its expiry date, else Accepted."""
    return _status_of(tag.status, tag.expiry_date, now)


def _status_of(status: str, expiry_date: datetime | None, now: datetime) -> str:
    if status == IdTagStatus.BLOCKED:
        return AuthorizationStatus.BLOCKED
    if expiry_date is not None and expiry_date <= now:
        return AuthorizationStatus.EXPIRED
    return AuthorizationStatus.ACCEPTED


def cache_expiry(
    *, expiry_date: datetime | None, cache_lifetime: int | None, now: datetime
) -> datetime | None:
    """The expiryDate of an Accepted idTagInfo: the tag's own, capped at ``now`` plus the
    tenant's authorization-cache lifetime. A charge point keeps a cached or listed Accepted
    entry until its expiryDate (OCPP 1.6 §3.5, §7.29), so the cap is how long a card blocked
    while the charge point cannot hear of it still charges there."""
    if cache_lifetime is None:
        return expiry_date
    capped = now + timedelta(seconds=cache_lifetime)
    return capped if expiry_date is None else min(expiry_date, capped)


def id_tags_matching(*, tenant_id: int, id_tag: str) -> QuerySet[IdTag]:
    """IdToken is a case-insensitive string (OCPP 1.6 §7.28 CiString20); this lookup matches
    the functional unique index on ``(tenant, LOWER(id_tag))``."""
    return IdTag.objects.alias(id_tag_lower=Lower("id_tag")).filter(
        tenant_id=tenant_id, id_tag_lower=id_tag.lower()
    )


def id_tags_allowed_at(*, charge_point_id: int) -> Q:
    """May charge here: an unrestricted idTag, or one allowed at this charge point or at a
    group it belongs to."""
    in_allowed_group = ChargePointGroup.objects.filter(
        allowed_id_tags=OuterRef("pk"), members=charge_point_id
    )
    allowed_charge_point = IdTag.allowed_charge_points.through.objects.filter(
        idtag_id=OuterRef("pk"), chargepoint_id=charge_point_id
    )
    return Q(restricted=False) | Q(Exists(allowed_charge_point)) | Q(Exists(in_allowed_group))


def id_tag_verdict(
    *,
    tenant_id: int,
    id_tag: str,
    charge_point_id: int | None = None,
    now: datetime | None = None,
) -> IdTagVerdict:
    """Accepted, Blocked, Expired or Invalid for ``id_tag`` in this tenant, at this charge point
    (an idTag that may not charge there is unknown there: Invalid). One prepared statement; a
    second query only for a restricted idTag (Authorize, StartTransaction and StopTransaction
    of every session ask: as an ORM query the lookup cost eight times its run to build, and the
    allowed-here subqueries ten times more)."""
    found = rows_select(_lookup_statement(), [tenant_id, id_tag.lower()])
    if not found:
        return IdTagVerdict(AuthorizationStatus.INVALID)
    pk, status, expiry_date, parent_id_tag, max_active, restricted, cache_lifetime = found[0]
    if (
        restricted
        and charge_point_id is not None
        and not IdTag.objects.filter(pk=pk)
        .filter(id_tags_allowed_at(charge_point_id=charge_point_id))
        .exists()
    ):
        return IdTagVerdict(AuthorizationStatus.INVALID)
    now = now or timezone.now()
    expiry = None if expiry_date is None else aware(expiry_date)
    verdict_status = _status_of(status, expiry, now)
    if verdict_status == AuthorizationStatus.ACCEPTED:
        expiry = cache_expiry(expiry_date=expiry, cache_lifetime=cache_lifetime, now=now)
    return IdTagVerdict(
        status=verdict_status,
        parent_id_tag=parent_id_tag,
        expiry_date=expiry,
        max_active_transactions=max_active,
    )


@cache
def _lookup_statement() -> str:
    """The idTag (case-insensitive, as :func:`id_tags_matching`: the functional unique index on
    ``(tenant, LOWER(id_tag))``) with what its verdict needs, its tenant's cache lifetime."""
    tags, tenants = table(IdTag), table(Tenant)
    return (
        f"SELECT t.id, t.status, t.expiry_date, t.parent_id_tag, t.max_active_transactions, "  # noqa: S608
        f"t.restricted, n.authorization_cache_lifetime FROM {tags} t "
        f"JOIN {tenants} n ON n.id = t.tenant_id "
        "WHERE t.tenant_id = %s AND LOWER(t.id_tag) = %s LIMIT 1"
    )


def with_concurrency(verdict: IdTagVerdict, *, active_elsewhere: int) -> IdTagVerdict:
    """ConcurrentTx, only ever for StartTransaction (OCPP 1.6 §7.2): the idTag already has
    its allowed number of active transactions on other connectors."""
    if verdict.accepted and active_elsewhere >= verdict.max_active_transactions:
        return IdTagVerdict(
            AuthorizationStatus.CONCURRENT_TX,
            parent_id_tag=verdict.parent_id_tag,
            expiry_date=verdict.expiry_date,
            max_active_transactions=verdict.max_active_transactions,
        )
    return verdict
