"""Staff admin of diagnostics: requests (with the file to download) and schedules (whose timing
lives in a django-celery-beat PeriodicTask, edited on its own admin page)."""

from pathlib import PurePosixPath
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import FileResponse, Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from csms.console.pickers import TenantPickersAdminMixin
from firmware.models import DiagnosticsRequest, DiagnosticsSchedule
from firmware.services.diagnostics import diagnostics_request_create, upload_location_problem
from firmware.services.diagnostics_schedules import (
    diagnostics_schedule_create,
    diagnostics_schedule_delete,
    diagnostics_schedule_update,
)

REQUEST_FIELDS = [
    "charge_point",
    "log_type",
    "start_time",
    "stop_time",
    "retries",
    "retry_interval",
    "location",
    "max_attempts",
    "attempt_interval",
]


def _location_error(form: forms.ModelForm) -> None:
    location = form.cleaned_data.get("location") or ""
    if location and (problem := upload_location_problem(location)):
        form.add_error("location", f"The location {problem}.")


class DiagnosticsRequestAddForm(forms.ModelForm):
    class Meta:
        model = DiagnosticsRequest
        fields = REQUEST_FIELDS

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        _location_error(self)
        start, stop = data.get("start_time"), data.get("stop_time")
        if start and stop and stop <= start:
            self.add_error("stop_time", "Must be after the start time.")
        return data


@admin.register(DiagnosticsRequest)
class DiagnosticsRequestAdmin(admin.ModelAdmin):
    list_display = ["id", "charge_point", "tenant", "status", "created_at", "download"]
    list_filter = ["status", "tenant"]
    search_fields = ["charge_point__identity", "file_name"]
    list_select_related = ["charge_point", "tenant"]
    # The request's tenant is its charge point's: an autocomplete, not a select of every
    # charge point of every tenant (fleets of 10,000).
    autocomplete_fields = ["charge_point"]
    readonly_fields = [
        "tenant",
        *REQUEST_FIELDS,
        "status",
        "schedule",
        "attempts",
        "command",
        "file_name",
        "download",
        "file_size",
        "received_at",
        "last_status",
        "last_error",
        "dispatched_at",
        "last_heard_at",
        "next_attempt_at",
        "requested_by_user",
        "requested_by_token",
        "created_at",
        "finished_at",
    ]

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<int:object_id>/file/",
                self.admin_site.admin_view(self.file_view),
                name="firmware_diagnosticsrequest_file",
            ),
            *super().get_urls(),
        ]

    def file_view(self, request: HttpRequest, object_id: int) -> FileResponse:
        diagnostics = get_object_or_404(DiagnosticsRequest, pk=object_id)
        if not self.has_view_permission(request, diagnostics) or not diagnostics.file:
            raise Http404("No file")
        return FileResponse(
            diagnostics.file.open("rb"),
            as_attachment=True,
            filename=PurePosixPath(diagnostics.file.name).name,
        )

    @admin.display(description="File")
    def download(self, diagnostics: DiagnosticsRequest) -> str:
        if not diagnostics.file:
            return "—"
        url = reverse("admin:firmware_diagnosticsrequest_file", args=[diagnostics.pk])
        name = PurePosixPath(diagnostics.file.name).name
        return format_html('<a href="{}">{}</a> ({} bytes)', url, name, diagnostics.file_size)

    def get_form(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> type[ModelForm]:
        if obj is None:
            kwargs["form"] = DiagnosticsRequestAddForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return list(self.readonly_fields) if obj is not None else REQUEST_FIELDS

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:
        data = {k: v for k, v in form.cleaned_data.items() if v is not None}
        charge_point = data.pop("charge_point")
        created = diagnostics_request_create(
            tenant=charge_point.tenant,
            charge_point=charge_point,
            requested_by_user=request.user,
            **data,
        )
        obj.pk = created.pk
        obj._state.adding = False


class DiagnosticsScheduleForm(forms.ModelForm):
    crontab = forms.CharField(
        required=False,
        help_text="minute hour day month weekday, in UTC (e.g. '30 2 * * *': daily at 02:30).",
    )
    every_hours = forms.IntegerField(required=False, min_value=1, help_text="Or: every N hours.")

    class Meta:
        model = DiagnosticsSchedule
        fields = ["tenant", "name", "charge_points", "window_hours", "location", "max_attempts"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        _location_error(self)
        tenant, members = data.get("tenant"), data.get("charge_points")
        if tenant and members and any(cp.tenant_id != tenant.pk for cp in members):
            self.add_error("charge_points", "Choose charge points of the tenant only.")
        if self.instance.pk is None and bool(data.get("crontab")) == bool(data.get("every_hours")):
            raise forms.ValidationError("Give either a crontab or an interval in hours.")
        return data


@admin.register(DiagnosticsSchedule)
class DiagnosticsScheduleAdmin(TenantPickersAdminMixin, admin.ModelAdmin):
    form = DiagnosticsScheduleForm
    list_display = ["name", "tenant", "timing", "enabled", "created_at"]
    list_filter = ["tenant"]
    list_select_related = ["tenant", "periodic_task"]
    tenant_pickers = {"charge_points": "charge_point"}

    @admin.display(description="Timing (edit it on the periodic task)")
    def timing(self, schedule: DiagnosticsSchedule) -> str:
        task = schedule.periodic_task
        if task is None:
            return "—"
        url = reverse("admin:django_celery_beat_periodictask_change", args=[task.pk])
        return format_html('<a href="{}">{}</a>', url, task.crontab or task.interval)

    @admin.display(boolean=True)
    def enabled(self, schedule: DiagnosticsSchedule) -> bool:
        return bool(schedule.periodic_task and schedule.periodic_task.enabled)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fields = ["tenant", "name", "charge_points", "window_hours", "location", "max_attempts"]
        return [*fields, "timing"] if obj is not None else [*fields, "crontab", "every_hours"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["tenant", "timing"] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:
        data = form.cleaned_data
        options = {f: data.get(f) for f in ("window_hours", "location", "max_attempts")}
        if change:
            diagnostics_schedule_update(
                schedule=obj,
                name=data["name"],
                charge_points=list(data["charge_points"]),
                **options,
            )
        else:
            created = diagnostics_schedule_create(
                tenant=data["tenant"],
                name=data["name"],
                charge_points=list(data["charge_points"]),
                crontab=data.get("crontab") or "",
                every_hours=data.get("every_hours"),
                **{k: v for k, v in options.items() if v is not None},
            )
            obj.pk = created.pk
            obj._state.adding = False

    def save_related(
        self, request: HttpRequest, form: ModelForm, formsets: Any, change: bool
    ) -> None:
        # The members were set by the service.
        return None

    def delete_model(self, request: HttpRequest, obj: DiagnosticsSchedule) -> None:
        diagnostics_schedule_delete(schedule=obj)

    def delete_queryset(
        self, request: HttpRequest, queryset: QuerySet[DiagnosticsSchedule]
    ) -> None:
        for schedule in queryset:
            diagnostics_schedule_delete(schedule=schedule)
