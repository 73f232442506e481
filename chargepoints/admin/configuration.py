"""Configuration in the admin: baselines (entries checked against the catalogue like the API),
the mirror of every charge point's keys, the baselines' apply state (RebootRequired answers
surface here), and a "Configuration" page per charge point with the drift."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from chargepoints.configuration.apply import configuration_baseline_apply
from chargepoints.configuration.baselines import (
    BaselineError,
    configuration_baseline_entry_clean,
    configuration_baselines_changed,
)
from chargepoints.configuration.catalogue import catalogue_key
from chargepoints.configuration.overview import configuration_overview
from chargepoints.models import (
    ChargePoint,
    ConfigurationApplyState,
    ConfigurationBaseline,
    ConfigurationBaselineEntry,
    ConfigurationKey,
)
from csms.admin import ReadOnlyAdminMixin

# --- Baselines ----------------------------------------------------------------------------------


class BaselineEntryForm(forms.ModelForm):
    class Meta:
        model = ConfigurationBaselineEntry
        fields = ["key", "value"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("key") and not cleaned.get("DELETE"):
            try:
                cleaned["key"], cleaned["value"] = configuration_baseline_entry_clean(
                    key=cleaned["key"], value=cleaned.get("value") or ""
                )
            except BaselineError as exc:
                raise forms.ValidationError(exc.message) from exc
            self.instance.key, self.instance.value = cleaned["key"], cleaned["value"]
        return cleaned


class BaselineEntryFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        seen: set[str] = set()
        for form in self.forms:
            key = (getattr(form, "cleaned_data", None) or {}).get("key")
            if not key or form.cleaned_data.get("DELETE"):
                continue
            if key.lower() in seen:
                raise forms.ValidationError(f"{key} is listed twice.")
            seen.add(key.lower())


class ConfigurationBaselineEntryInline(admin.TabularInline):
    model = ConfigurationBaselineEntry
    form = BaselineEntryForm
    formset = BaselineEntryFormSet
    extra = 3
    fields = ["key", "value", "meaning"]
    readonly_fields = ["meaning"]

    @admin.display(description="catalogue")
    def meaning(self, obj: ConfigurationBaselineEntry) -> str:
        spec = catalogue_key(obj.key) if obj.key else None
        if spec is None:
            return "vendor-specific" if obj.key else ""
        return f"{spec.type.kind} {spec.unit}: {spec.meaning}".replace("  ", " ")


@admin.register(ConfigurationBaseline)
class ConfigurationBaselineAdmin(admin.ModelAdmin):
    list_display = ["name", "tenant", "vendor", "model", "enabled", "entry_count", "updated_at"]
    list_filter = ["tenant", "enabled"]
    search_fields = ["name", "vendor", "model"]
    list_select_related = ["tenant"]
    inlines = [ConfigurationBaselineEntryInline]
    readonly_fields = ["created_at", "updated_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ConfigurationBaseline]:
        return super().get_queryset(request).annotate(entry_total=Count("entries"))

    @admin.display(description="entries", ordering="entry_total")
    def entry_count(self, obj: ConfigurationBaseline) -> int:
        return obj.entry_total  # type: ignore[attr-defined]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if form.instance.enabled:
            configuration_baselines_changed(tenant_id=form.instance.tenant_id)


# --- What charge points report, and what the baselines did ---------------------------------------


@admin.register(ConfigurationKey)
class ConfigurationKeyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "charge_point",
        "key",
        "value",
        "readonly",
        "unknown",
        "profile",
        "access",
        "last_read_at",
        "last_change_status",
    ]
    list_filter = ["unknown", "readonly", "last_change_status", "charge_point__tenant"]
    search_fields = ["charge_point__identity", "key"]
    list_select_related = ["charge_point"]

    @admin.display(description="profile")
    def profile(self, obj: ConfigurationKey) -> str:
        spec = catalogue_key(obj.key)
        return str(spec.profile) if spec else "vendor-specific"

    @admin.display(description="access (catalogue)")
    def access(self, obj: ConfigurationKey) -> str:
        spec = catalogue_key(obj.key)
        return str(spec.access) if spec else ""


@admin.register(ConfigurationApplyState)
class ConfigurationApplyStateAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "charge_point",
        "key",
        "value",
        "status",
        "error",
        "firmware_version",
        "attempted_at",
        "answered_at",
    ]
    list_filter = ["status", "charge_point__tenant"]
    search_fields = ["charge_point__identity", "key"]
    list_select_related = ["charge_point"]


# --- A charge point's configuration page ---------------------------------------------------------


class ChargePointConfigurationAdminMixin:
    """Mixed into ChargePointAdmin: ``<id>/configuration/`` shows the mirror with catalogue
    metadata and drift, and applies the baselines on demand."""

    def get_urls(self) -> list[URLPattern]:
        custom = [
            path(
                "<int:object_id>/configuration/",
                self.admin_site.admin_view(self.configuration_view),  # type: ignore[attr-defined]
                name="chargepoints_chargepoint_configuration",
            )
        ]
        return custom + super().get_urls()  # type: ignore[misc]

    def configuration_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        charge_point = get_object_or_404(ChargePoint, pk=object_id)
        if not self.has_view_permission(request, charge_point):  # type: ignore[attr-defined]
            return HttpResponseRedirect(reverse("admin:index"))
        if request.method == "POST":
            if not self.has_change_permission(request, charge_point):  # type: ignore[attr-defined]
                return HttpResponseRedirect(reverse("admin:index"))
            started = configuration_baseline_apply(charge_point=charge_point)
            if started:
                messages.success(request, "GetConfiguration queued; drifted keys follow.")
            else:
                messages.warning(request, "No baseline applies, or a run is under way.")
            return HttpResponseRedirect(request.path)
        context = {
            **self.admin_site.each_context(request),  # type: ignore[attr-defined]
            "title": f"Configuration of {charge_point.identity}",
            "charge_point": charge_point,
            "rows": configuration_overview(charge_point=charge_point),
            "opts": ChargePoint._meta,
        }
        return TemplateResponse(request, "admin/chargepoints/configuration.html", context)
