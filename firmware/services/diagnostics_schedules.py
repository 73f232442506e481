"""Scheduled diagnostics: a group of charge points, a django-celery-beat PeriodicTask that runs
:func:`diagnostics_schedule_run` (its timing edited by staff in the admin)."""

import json
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask
from django_celery_beat.validators import crontab_validator

from chargepoints.models import ChargePoint
from csms.errors import DomainError
from csms.tenancy.models import Tenant
from firmware.models import DiagnosticsRequest, DiagnosticsSchedule
from firmware.services.diagnostics import diagnostics_request_create, upload_location_problem

RUN_TASK = "firmware.run_diagnostics_schedule"


def _crontab(expression: str) -> CrontabSchedule:
    try:
        crontab_validator(expression)
    except ValidationError as exc:
        raise DomainError(f"Invalid crontab {expression!r}: {exc.messages[0]}") from exc
    fields = expression.split()
    if len(fields) != 5:
        raise DomainError("A crontab has five fields: minute hour day month weekday.")
    minute, hour, day_of_month, month_of_year, day_of_week = fields
    schedule, _ = CrontabSchedule.objects.get_or_create(
        minute=minute,
        hour=hour,
        day_of_month=day_of_month,
        month_of_year=month_of_year,
        day_of_week=day_of_week,
        timezone="UTC",
    )
    return schedule


def diagnostics_schedule_create(
    *,
    tenant: Tenant,
    name: str,
    charge_points: list[ChargePoint],
    crontab: str = "",
    every_hours: int | None = None,
    **options: Any,
) -> DiagnosticsSchedule:
    """The schedule and its PeriodicTask (a crontab in UTC, or every N hours)."""
    if not charge_points:
        raise DomainError("A schedule needs at least one charge point.")
    if any(cp.tenant_id != tenant.pk for cp in charge_points):
        raise DomainError("Every charge point must belong to the schedule's tenant.")
    if bool(crontab) == bool(every_hours):
        raise DomainError("Give either a crontab or an interval in hours.")
    location = options.get("location") or ""
    if location and (problem := upload_location_problem(location)):
        raise DomainError(f"location {problem}.", code="invalid_location")
    with transaction.atomic():
        if DiagnosticsSchedule.objects.filter(tenant=tenant, name=name).exists():
            raise DomainError("A schedule with this name exists.", code="duplicate")
        schedule = DiagnosticsSchedule.objects.create(tenant=tenant, name=name, **options)
        schedule.charge_points.set(charge_points)
        timing: dict[str, Any] = (
            {"crontab": _crontab(crontab)}
            if crontab
            else {
                "interval": IntervalSchedule.objects.get_or_create(
                    every=every_hours, period=IntervalSchedule.HOURS
                )[0]
            }
        )
        schedule.periodic_task = PeriodicTask.objects.create(
            name=f"Diagnostics of {tenant.slug}: {name} (#{schedule.pk})"[:200],
            task=RUN_TASK,
            kwargs=json.dumps({"schedule_id": schedule.pk}),
            description="GetDiagnostics for the charge points of a diagnostics schedule.",
            **timing,
        )
        schedule.save(update_fields=["periodic_task"])
    return schedule


def diagnostics_schedule_delete(*, schedule: DiagnosticsSchedule) -> None:
    with transaction.atomic():
        if schedule.periodic_task_id:
            PeriodicTask.objects.filter(pk=schedule.periodic_task_id).delete()
        schedule.delete()


def diagnostics_schedule_run(
    *, schedule_id: int, now: datetime | None = None
) -> list[DiagnosticsRequest]:
    """One run: a request per charge point of the group that has none open already."""
    now = now or timezone.now()
    schedule = DiagnosticsSchedule.objects.select_related("tenant").filter(pk=schedule_id).first()
    if schedule is None:
        return []
    busy = set(
        DiagnosticsRequest.objects.filter(
            charge_point__in=schedule.charge_points.all(), finished_at__isnull=True
        ).values_list("charge_point_id", flat=True)
    )
    start_time = now - timedelta(hours=schedule.window_hours) if schedule.window_hours else None
    return [
        diagnostics_request_create(
            tenant=schedule.tenant,
            charge_point=charge_point,
            start_time=start_time,
            stop_time=now if start_time else None,
            location=schedule.location,
            max_attempts=schedule.max_attempts,
            schedule=schedule,
        )
        for charge_point in schedule.charge_points.order_by("identity")
        if charge_point.pk not in busy
    ]


def diagnostics_schedule_update(
    *,
    schedule: DiagnosticsSchedule,
    charge_points: list[ChargePoint] | None = None,
    **changes: Any,
) -> DiagnosticsSchedule:
    """Change the group or the request options; the timing is the PeriodicTask's."""
    if charge_points is not None and any(
        cp.tenant_id != schedule.tenant_id for cp in charge_points
    ):
        raise DomainError("Every charge point must belong to the schedule's tenant.")
    location = changes.get("location") or ""
    if location and (problem := upload_location_problem(location)):
        raise DomainError(f"location {problem}.", code="invalid_location")
    with transaction.atomic():
        for field, value in changes.items():
            setattr(schedule, field, value)
        if changes:
            schedule.save(update_fields=list(changes))
        if charge_points is not None:
            schedule.charge_points.set(charge_points)
    return schedule
