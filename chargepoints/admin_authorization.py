"""Admin of charge point groups, local-list states and reservations (imported by
``chargepoints.admin``). Writes go through the same services as the API."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from chargepoints.authorization.groups import charge_point_group_update
from chargepoints.authorization.id_tags import id_tag_limits_set
from chargepoints.authorization.local_list_sync import local_list_sync, local_list_sync_request
from chargepoints.models import ChargePoint, ChargePointGroup, IdTag, LocalListState, Reservation
from chargepoints.reservations.services import reservation_cancel
from csms.admin import ReadOnlyAdminMixin
from csms.errors import DomainError


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
class ChargePointGroupAdmin(admin.ModelAdmin):
    form = ChargePointGroupAdminForm
    list_display = ["name", "tenant", "created_at"]
    list_filter = ["tenant"]
    search_fields = ["name", "members__identity"]
    list_select_related = ["tenant"]
    filter_horizontal = ["members"]

    def save_related(
        self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool
    ) -> None:
        group: ChargePointGroup = form.instance
        charge_point_group_update(group=group, charge_points=form.cleaned_data["members"])
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)


# --- IdTag limits (the IdTag admin's form and save, see chargepoints.admin) ----------------------


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


class IdTagLimitsAdminMixin:
    """Mixed into IdTagAdmin: the limits go through the idTag service's rule (restricted when
    any remains), and a change reaches the local lists."""

    form = IdTagAdminForm
    filter_horizontal = ["allowed_charge_points", "allowed_groups"]

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
        was_local = form.initial.get("in_local_list", False)
        if tag.in_local_list or was_local:
            local_list_sync_request(tenant_id=tag.tenant_id)

    def delete_model(self, request: HttpRequest, obj: IdTag) -> None:
        super().delete_model(request, obj)  # type: ignore[misc]
        if obj.in_local_list:
            local_list_sync_request(tenant_id=obj.tenant_id)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[IdTag]) -> None:
        tenants = set(queryset.filter(in_local_list=True).values_list("tenant_id", flat=True))
        super().delete_queryset(request, queryset)  # type: ignore[misc]
        for tenant_id in tenants:
            local_list_sync_request(tenant_id=tenant_id)


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


# --- Reservations -------------------------------------------------------------------------------


@admin.register(Reservation)
class ReservationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "reservation_id",
        "tenant",
        "charge_point",
        "connector_id",
        "id_tag",
        "status",
        "expiry_date",
        "created_at",
    ]
    list_filter = ["status", "tenant"]
    search_fields = ["charge_point__identity", "id_tag", "reservation_id"]
    list_select_related = ["tenant", "charge_point"]
    actions = ["cancel_reservations"]
    readonly_fields = [
        "tenant",
        "charge_point",
        "connector_id",
        "id_tag",
        "parent_id_tag",
        "expiry_date",
        "reservation_id",
        "status",
        "reserve_command",
        "cancel_command",
        "transaction",
        "created_at",
        "updated_at",
    ]

    @admin.action(description="Cancel selected reservations (CancelReservation)")
    def cancel_reservations(self, request: HttpRequest, queryset: QuerySet[Reservation]) -> None:
        sent = 0
        for reservation in queryset.filter(status__in=Reservation.ACTIVE_STATUSES):
            try:
                reservation_cancel(reservation=reservation, requested_by_user=request.user)
            except DomainError as exc:
                self.message_user(request, f"{reservation}: {exc.message}", messages.WARNING)
            else:
                sent += 1
        self.message_user(request, f"CancelReservation sent for {sent} reservation(s).")
