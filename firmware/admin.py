"""Staff admin of firmware campaigns, their jobs, and status reports. Every write goes through
:mod:`firmware.services` like the API and the beat tasks (diagnostics: ``admin_diagnostics``)."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

from chargepoints.models import ChargePoint
from csms.admin import LimitedInlineFormSet, ReadOnlyAdminMixin, ReadOnlyInline
from csms.console.pickers import TenantPickerSelectMultiple
from csms.errors import DomainError
from firmware import admin_diagnostics  # noqa: F401 - registers the diagnostics admin
from firmware.models import FirmwareJob, FirmwareUpdate, StatusReport
from firmware.selectors import charge_points_targeted, firmware_update_summaries
from firmware.services.firmware_updates import (
    TUNABLE,
    download_location_problem,
    firmware_update_cancel,
    firmware_update_create,
    firmware_update_pause,
    firmware_update_resume,
    firmware_update_tune,
)

OPTION_FIELDS = [
    "name",
    "signed",
    "signing_certificate",
    "signature",
    "retrieve_date",
    "retries",
    "retry_interval",
    "max_attempts",
    "attempt_interval",
    "batch_size",
    "max_in_flight",
    "batch_pause",
    "failure_threshold",
    "starts_at",
    "expires_at",
    "quiet_after",
    "status_timeout",
]
TARGET_FIELDS = ["filter_vendor", "filter_model", "filter_firmware_version"]


@admin.register(StatusReport)
class StatusReportAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "received_at",
        "charge_point",
        "charge_point__tenant",
        "kind",
        "status",
        "request_id",
    ]
    list_filter = ["kind", "status", "charge_point__tenant"]
    search_fields = ["charge_point__identity"]
    list_select_related = ["charge_point__tenant"]


class FirmwareUpdateAddForm(forms.ModelForm):
    target_charge_points = forms.ModelMultipleChoiceField(
        queryset=ChargePoint.objects.select_related("tenant").order_by("tenant__slug", "identity"),
        required=False,
        widget=TenantPickerSelectMultiple(kind="charge_point"),
        help_text="Explicit targets (of the chosen tenant); the filter fields narrow them. "
        "Leave empty to target every charge point matching the filter.",
    )

    class Meta:
        model = FirmwareUpdate
        fields = ["tenant", "location", "firmware_version", *TARGET_FIELDS, *OPTION_FIELDS]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        tenant, chosen = data.get("tenant"), data.get("target_charge_points")
        problem = download_location_problem(data.get("location") or "")
        if problem:
            self.add_error("location", f"The location {problem}.")
        if tenant is None:
            return data
        if chosen and any(cp.tenant_id != tenant.pk for cp in chosen):
            self.add_error("target_charge_points", "Choose charge points of the tenant only.")
        elif not chosen and not any(data.get(field) for field in TARGET_FIELDS):
            raise forms.ValidationError("Choose charge points, or fill in a filter.")
        elif not charge_points_targeted(
            tenant=tenant,
            identities=[cp.identity for cp in chosen] if chosen else None,
            vendor=data.get("filter_vendor") or "",
            model=data.get("filter_model") or "",
            firmware_version=data.get("filter_firmware_version") or "",
        ).exists():
            raise forms.ValidationError("No charge point matches these targets.")
        return data


class FirmwareJobInline(ReadOnlyInline):
    model = FirmwareJob
    formset = type("FirmwareJobFormSet", (LimitedInlineFormSet,), {"limit": 100})
    fields = [
        "charge_point",
        "batch",
        "status",
        "attempts",
        "last_status",
        "last_error",
        "dispatched_at",
        "last_heard_at",
        "next_attempt_at",
        "finished_at",
    ]
    verbose_name_plural = "Jobs (the first 100; all of them under Firmware jobs)"


@admin.register(FirmwareUpdate)
class FirmwareUpdateAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "tenant",
        "firmware_version",
        "status",
        "progress",
        "current_batch",
        "created_at",
    ]
    list_filter = ["status", "tenant"]
    search_fields = ["name", "firmware_version", "jobs__charge_point__identity"]
    list_select_related = ["tenant"]
    inlines = [FirmwareJobInline]
    actions = ["pause", "resume", "cancel"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[FirmwareUpdate]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                jobs_total=Count("jobs"),
                jobs_verified=Count("jobs", filter=Q(jobs__status="verified")),
                jobs_failed=Count("jobs", filter=Q(jobs__status__in=FirmwareJob.FAILURES)),
            )
        )

    @admin.display(description="verified / failed / total")
    def progress(self, campaign: FirmwareUpdate) -> str:
        return f"{campaign.jobs_verified} / {campaign.jobs_failed} / {campaign.jobs_total}"

    @admin.display(description="Jobs per status")
    def summary(self, campaign: FirmwareUpdate) -> str:
        counts = firmware_update_summaries(campaign_ids=[campaign.pk])[campaign.pk]
        jobs_url = reverse("admin:firmware_firmwarejob_changelist")
        return format_html_join(
            ", ",
            '<a href="{}?{}">{}: {}</a>',
            (
                (jobs_url, urlencode({"campaign__id__exact": campaign.pk, "status": s}), s, n)
                for s, n in counts.items()
                if n and s != "total"
            ),
        ) or format_html("{}", "no jobs")

    def get_form(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> type[ModelForm]:
        if obj is None:
            kwargs["form"] = FirmwareUpdateAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return list(FirmwareUpdateAddForm.base_fields)
        return [
            "tenant",
            "status",
            "summary",
            "location",
            "firmware_version",
            *TARGET_FIELDS,
            *OPTION_FIELDS,
            "current_batch",
            "batch_finished_at",
            "created_by_user",
            "created_by_token",
            "created_at",
            "finished_at",
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return []
        return [field for field in self.get_fields(request, obj) if field not in TUNABLE]

    def get_inlines(self, request: HttpRequest, obj: Any) -> list[Any]:
        return self.inlines if obj is not None else []

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:
        data = form.cleaned_data
        if change:
            changed = {f: data[f] for f in form.changed_data if f in TUNABLE}
            firmware_update_tune(campaign=obj, **changed)
            return
        chosen = data.get("target_charge_points")
        created = firmware_update_create(
            tenant=data["tenant"],
            location=data["location"],
            firmware_version=data["firmware_version"],
            charge_point_identities=[cp.identity for cp in chosen] if chosen else None,
            created_by_user=request.user,
            **{field: data[field] for field in TARGET_FIELDS},
            **{field: data[field] for field in OPTION_FIELDS if data.get(field) is not None},
        )
        obj.pk = created.pk
        obj._state.adding = False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A campaign is history: cancel it instead.
        return False

    def _each(self, request: HttpRequest, queryset: QuerySet, service: Any, verb: str) -> None:
        done = 0
        for campaign in queryset:
            try:
                service(campaign=campaign)
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{campaign}: {exc.message}", messages.WARNING)
        if done:
            self.message_user(request, f"{verb} {done} campaign(s).")

    @admin.action(description="Pause the selected campaigns")
    def pause(self, request: HttpRequest, queryset: QuerySet[FirmwareUpdate]) -> None:
        self._each(request, queryset, firmware_update_pause, "Paused")

    @admin.action(description="Resume the selected campaigns")
    def resume(self, request: HttpRequest, queryset: QuerySet[FirmwareUpdate]) -> None:
        self._each(request, queryset, firmware_update_resume, "Resumed")

    @admin.action(description="Cancel the selected campaigns")
    def cancel(self, request: HttpRequest, queryset: QuerySet[FirmwareUpdate]) -> None:
        self._each(request, queryset, firmware_update_cancel, "Cancelled")


@admin.register(FirmwareJob)
class FirmwareJobAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "charge_point",
        "campaign",
        "batch",
        "status",
        "attempts",
        "last_status",
        "last_heard_at",
        "last_error",
    ]
    list_filter = ["status", "campaign__tenant", "campaign"]
    search_fields = ["charge_point__identity"]
    list_select_related = ["charge_point", "campaign"]
