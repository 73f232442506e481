"""Staff admin of charging profiles, what charge points installed, and charging sites."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from csms.admin import ReadOnlyAdminMixin
from csms.console.pickers import TenantPickersAdminMixin
from smartcharging.models import (
    ChargingProfile,
    ChargingSite,
    ChargingSiteMembership,
    InstalledChargingProfile,
)
from smartcharging.selectors import site_allocations
from smartcharging.services.profiles import charging_profile_validate
from smartcharging.services.sites import charging_site_rebalance, charging_site_rebalance_request


class ChargingProfileAdminForm(forms.ModelForm):
    class Meta:
        model = ChargingProfile
        fields = [
            "tenant",
            "charging_profile_id",
            "name",
            "stack_level",
            "charging_profile_purpose",
            "charging_profile_kind",
            "recurrency_kind",
            "valid_from",
            "valid_to",
            "transaction",
            "duration",
            "start_schedule",
            "charging_rate_unit",
            "periods",
            "min_charging_rate",
        ]

    def _post_clean(self) -> None:
        super()._post_clean()  # the instance now carries the edited values
        if self.errors:
            return
        # The same rules as the API (OCPP schema + specification), on the edited profile.
        try:
            charging_profile_validate(self.instance)
        except ValidationError as exc:
            for field, problems in exc.message_dict.items():
                for problem in problems:
                    self.add_error(None, f"{field}: {problem}")


class InstallationInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = InstalledChargingProfile
    fields = ["charge_point", "connector_id", "installed_at", "command"]
    readonly_fields = fields
    extra = 0


@admin.register(ChargingProfile)
class ChargingProfileAdmin(admin.ModelAdmin):
    form = ChargingProfileAdminForm
    list_display = [
        "charging_profile_id",
        "tenant",
        "name",
        "charging_profile_purpose",
        "stack_level",
        "charging_profile_kind",
        "charging_rate_unit",
        "transaction",
        "charging_site",
        "updated_at",
    ]
    list_filter = ["tenant", "charging_profile_purpose", "charging_profile_kind"]
    search_fields = ["name", "=charging_profile_id"]
    raw_id_fields = ["transaction"]
    list_select_related = ["tenant", "charging_site"]
    inlines = [InstallationInline]

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # A site's TxProfiles follow its rebalancing, not hand edits.
        if isinstance(obj, ChargingProfile) and obj.charging_site_id is not None:
            return False
        return super().has_change_permission(request, obj)


@admin.register(InstalledChargingProfile)
class InstalledChargingProfileAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "charge_point",
        "connector_id",
        "charging_profile_id",
        "charging_profile_purpose",
        "stack_level",
        "transaction_id",
        "installed_at",
    ]
    list_filter = ["tenant", "charging_profile_purpose"]
    search_fields = ["charge_point__identity", "=charging_profile_id"]
    list_select_related = ["charge_point"]
    readonly_fields = [
        "tenant",
        "charge_point",
        "connector_id",
        "charging_profile_id",
        "stack_level",
        "charging_profile_purpose",
        "transaction_id",
        "cs_charging_profiles",
        "profile",
        "command",
        "installed_at",
    ]


class MembershipFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        site = self.instance
        for form in self.forms:
            charge_point = form.cleaned_data.get("charge_point")
            if charge_point is not None and charge_point.tenant_id != site.tenant_id:
                form.add_error("charge_point", "This charge point belongs to another tenant.")


class MembershipInline(TenantPickersAdminMixin, admin.TabularInline):
    model = ChargingSiteMembership
    formset = MembershipFormSet
    tenant_pickers = {"charge_point": "charge_point"}
    extra = 1


@admin.register(ChargingSite)
class ChargingSiteAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "tenant",
        "limit",
        "limit_unit",
        "min_rate",
        "phases",
        "voltage",
        "rebalanced_at",
    ]
    list_filter = ["tenant", "limit_unit"]
    search_fields = ["name"]
    inlines = [MembershipInline]
    readonly_fields = ["allocations", "rebalance_requested_at", "rebalanced_at"]
    actions = ["rebalance_now"]

    @admin.display(description="Allocations (planned / installed)")
    def allocations(self, obj: ChargingSite) -> str:
        if obj.pk is None:
            return "-"
        lines = [
            f"{a.charge_point}/{a.connector_id} tx {a.transaction_id}: {a.limit} / "
            f"{'-' if a.installed_limit is None else a.installed_limit} {obj.limit_unit}"
            for a in site_allocations(site=obj)
        ]
        return "; ".join(lines) or "no running sessions"

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        charging_site_rebalance_request(site_id=form.instance.pk)

    @admin.action(description="Rebalance now")
    def rebalance_now(self, request: HttpRequest, queryset: QuerySet[ChargingSite]) -> None:
        sent = sum(len(charging_site_rebalance(site_id=site.pk)) for site in queryset)
        self.message_user(request, f"Rebalanced; {sent} command(s) queued.", messages.SUCCESS)
