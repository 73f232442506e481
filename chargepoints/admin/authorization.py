"""Staff admin of who may charge where: idTags and their limits, charge point groups, and the
local-list state of each charge point. Writes go through the same services as the API."""

from typing import Any

from django import forms
from django.contrib import admin
from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from chargepoints.admin.imports import CsvImportAdminMixin
from chargepoints.api.id_tags import ID_TAG_IMPORT
from chargepoints.authorization.groups import charge_point_group_update
from chargepoints.authorization.id_tags import id_tag_delete, id_tag_limits_set, id_tag_update
from chargepoints.authorization.local_list_sync import local_list_sync
from chargepoints.authorization.local_list_triggers import local_list_sync_request
from chargepoints.authorization.revocations import id_tag_changed
from chargepoints.authorization.verdicts import AuthorizationStatus, id_tag_status
from chargepoints.models import ChargePoint, ChargePointGroup, IdTag, IdTagStatus, LocalListState
from csms.admin import ReadOnlyAdminMixin
from csms.console.pickers import TenantPickersAdminMixin


def _same_tenant(cleaned: dict[str, Any], *relations: str) -> None:
    tenant = cleaned.get("tenant")
    if tenant is None:
        return
    for relation in relations:
        foreign = [obj for obj in cleaned.get(relation) or () if obj.tenant_id != tenant.pk]
        if foreign:
            raise forms.ValidationError(
                f"{relation.replace('_', ' ').capitalize()} of another tenant: "
                + ", ".join(map(str, foreign))
            )


# --- Charge point groups ------------------------------------------------------------------------


class ChargePointGroupAdminForm(forms.ModelForm):
    class Meta:
        model = ChargePointGroup
        fields = ["tenant", "name", "members"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        _same_tenant(cleaned, "members")
        return cleaned


@admin.register(ChargePointGroup)
class ChargePointGroupAdmin(TenantPickersAdminMixin, admin.ModelAdmin):
    form = ChargePointGroupAdminForm
    list_display = ["name", "tenant", "created_at"]
    list_filter = ["tenant"]
    search_fields = ["name", "members__identity"]
    list_select_related = ["tenant"]
    tenant_pickers = {"members": "charge_point"}

    def save_related(
        self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool
    ) -> None:
        group: ChargePointGroup = form.instance
        charge_point_group_update(group=group, charge_points=form.cleaned_data["members"])
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)


# --- IdTags ------------------------------------------------------------------------------------


class IdTagAdminForm(forms.ModelForm):
    class Meta:
        model = IdTag
        fields = [
            "tenant",
            "id_tag",
            "status",
            "expiry_date",
            "parent_id_tag",
            "in_local_list",
            "max_active_transactions",
            "allowed_charge_points",
            "allowed_groups",
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        _same_tenant(cleaned, "allowed_charge_points", "allowed_groups")
        return cleaned


@admin.register(IdTag)
class IdTagAdmin(CsvImportAdminMixin, TenantPickersAdminMixin, admin.ModelAdmin):
    """The limits go through the idTag service's rule (restricted when any remains), and a
    change reaches the local lists."""

    import_kind = ID_TAG_IMPORT

    form = IdTagAdminForm
    list_display = [
        "id_tag",
        "tenant",
        "status",
        "expiry_date",
        "parent_id_tag",
        "in_local_list",
        "max_active_transactions",
        "restricted",
    ]
    list_filter = ["tenant", "status", "in_local_list", "restricted"]
    search_fields = ["id_tag", "parent_id_tag"]
    list_select_related = ["tenant"]
    readonly_fields = ["restricted", "created_at", "updated_at"]
    tenant_pickers = {
        "allowed_charge_points": "charge_point",
        "allowed_groups": "charge_point_group",
    }

    actions = ["block_selected"]

    def save_related(
        self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool
    ) -> None:
        tag: IdTag = form.instance
        with transaction.atomic():
            id_tag_limits_set(
                tag=tag,
                charge_points=form.cleaned_data["allowed_charge_points"],
                groups=form.cleaned_data["allowed_groups"],
            )
            if change:
                before = IdTag(
                    status=form.initial.get("status", IdTagStatus.ACCEPTED),
                    expiry_date=form.initial.get("expiry_date"),
                )
                was_accepted = id_tag_status(before, timezone.now()) == AuthorizationStatus.ACCEPTED
                id_tag_changed(tag=tag, was_accepted=was_accepted)
        was_local = form.initial.get("in_local_list", False)
        if tag.in_local_list or was_local:
            local_list_sync_request(tenant_id=tag.tenant_id)

    def delete_model(self, request: HttpRequest, obj: IdTag) -> None:
        id_tag_delete(tag=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[IdTag]) -> None:
        # One by one through the service: each deleted tag is withdrawn where it was cached.
        for tag in queryset:
            id_tag_delete(tag=tag)

    @admin.action(description="Block the selected idTags (chargers that cached them are told)")
    def block_selected(self, request: HttpRequest, queryset: QuerySet[IdTag]) -> None:
        for tag in queryset.exclude(status=IdTagStatus.BLOCKED):
            id_tag_update(tag=tag, status=IdTagStatus.BLOCKED)


# --- Local lists --------------------------------------------------------------------------------


@admin.action(description="Synchronise the local authorization list")
def sync_local_list(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Model]
) -> None:
    """Action of the charge point and local-list pages; tries NotSupported ones too."""
    if queryset.model is LocalListState:
        queryset = ChargePoint.objects.filter(local_list_state__in=queryset)
    count = 0
    for charge_point in queryset:
        local_list_sync(charge_point=charge_point, force=True, requested_by_user=request.user)
        count += 1
    modeladmin.message_user(request, f"Local-list sync started for {count} charge point(s).")


@admin.register(LocalListState)
class LocalListStateAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "charge_point",
        "charge_point__tenant",
        "version",
        "size",
        "truncated",
        "not_supported",
        "last_result",
        "last_synced_at",
    ]
    list_filter = ["last_result", "not_supported", "charge_point__tenant"]
    search_fields = ["charge_point__identity"]
    list_select_related = ["charge_point__tenant"]
    actions = [sync_local_list]
    readonly_fields = [
        "charge_point",
        "version",
        "size",
        "entries",
        "truncated",
        "not_supported",
        "last_result",
        "last_error",
        "last_attempt_at",
        "last_synced_at",
        "command",
        "plan",
    ]
