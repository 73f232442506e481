"""Reads of the firmware app (tenant passed explicitly wherever a tenant's data is read)."""

from collections.abc import Iterable

from django.db.models import Count, Q, QuerySet

from chargepoints.models import ChargePoint
from csms.tenancy.models import Tenant
from firmware.models import FirmwareJob, FirmwareJobStatus


def charge_points_targeted(
    *,
    tenant: Tenant,
    identities: Iterable[str] | None = None,
    vendor: str = "",
    model: str = "",
    firmware_version: str = "",
) -> QuerySet[ChargePoint]:
    """The tenant's charge points a campaign targets: an explicit list, narrowed by the filter
    (vendor, model, current firmware version; each exact, empty = any)."""
    queryset = ChargePoint.objects.filter(tenant=tenant)
    if identities is not None:
        queryset = queryset.filter(identity__in=list(identities))
    if vendor:
        queryset = queryset.filter(vendor=vendor)
    if model:
        queryset = queryset.filter(model=model)
    if firmware_version:
        queryset = queryset.filter(firmware_version=firmware_version)
    return queryset.order_by("identity")


def unknown_identities(*, tenant: Tenant, identities: Iterable[str]) -> list[str]:
    wanted = set(identities)
    known = set(
        ChargePoint.objects.filter(tenant=tenant, identity__in=wanted).values_list(
            "identity", flat=True
        )
    )
    return sorted(wanted - known)


def empty_summary() -> dict[str, int]:
    return dict.fromkeys(FirmwareJobStatus.values, 0)


def firmware_update_summaries(*, campaign_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Jobs per status (every status present, zeros included) and ``total``, per campaign: one
    query for a whole page of campaigns."""
    summaries: dict[int, dict[str, int]] = {}
    ids = list(campaign_ids)
    for campaign_id in ids:
        summaries[campaign_id] = {**empty_summary(), "total": 0}
    rows = (
        FirmwareJob.objects.filter(campaign_id__in=ids)
        .values("campaign_id", "status")
        .annotate(count=Count("id"))
        .order_by()
    )
    for row in rows:
        summary = summaries[row["campaign_id"]]
        summary[row["status"]] = row["count"]
        summary["total"] += row["count"]
    return summaries


def firmware_update_outcomes(*, campaign_id: int) -> tuple[int, int]:
    """(failed, succeeded) among the campaign's finished jobs (for the failure-rate stop)."""
    counts = FirmwareJob.objects.filter(campaign_id=campaign_id).aggregate(
        failed=Count("id", filter=Q(status__in=FirmwareJob.FAILURES)),
        succeeded=Count("id", filter=Q(status=FirmwareJobStatus.VERIFIED)),
    )
    return counts["failed"], counts["succeeded"]
