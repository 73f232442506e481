"""Staff admin of transactions and meter values: read only, they come from the charge points;
staff can close a session the charger never stopped, export sessions as CSV, and set a tenant's
session closing rules."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode

from chargepoints.admin.guided_actions import RemoteStopForm
from csms.admin import LimitedInlineFormSet, ReadOnlyAdminMixin, ReadOnlyInline
from csms.console.meter_series import session_summary, transaction_meter_series
from csms.csv_streaming import csv_stream_response
from csms.errors import DomainError
from transactions.exports import TRANSACTION_HEADER, transaction_cells, transaction_export_rows
from transactions.models import (
    MeterValue,
    SessionClosingRules,
    Transaction,
    UnmatchedTransactionMessage,
)
from transactions.services import transaction_close

METER_VALUE_INLINE_LIMIT = 50


class ActiveFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("active", "Active"), ("stopped", "Stopped")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Transaction]) -> QuerySet:
        if self.value() == "active":
            return queryset.filter(stopped_at__isnull=True)
        if self.value() == "stopped":
            return queryset.filter(stopped_at__isnull=False)
        return queryset


class MeterValueFormSet(LimitedInlineFormSet):
    limit = METER_VALUE_INLINE_LIMIT


class MeterValueInline(ReadOnlyInline):
    model = MeterValue
    formset = MeterValueFormSet
    fields = ["timestamp", "measurand", "phase", "location", "unit", "context", "format", "value"]
    verbose_name_plural = f"Meter values (first {METER_VALUE_INLINE_LIMIT})"


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "tenant",
        "charge_point",
        "connector_id",
        "id_tag",
        "id_tag_status",
        "started_at",
        "stopped_at",
        "energy_wh",
        "stop_reason",
    ]
    list_filter = ["tenant", ActiveFilter, "stop_reason", "stopped_by", "energy_source"]
    search_fields = ["id_tag", "charge_point__identity"]
    list_select_related = ["tenant", "charge_point"]
    readonly_fields = ["all_meter_values"]
    actions = ["export_as_csv", "close_on_server"]
    inlines = [MeterValueInline]
    change_form_template = "admin/transactions/transaction/change_form.html"

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path(
                "<int:object_id>/meter-values.json",
                wrap(self.meter_series_view),
                name="transactions_transaction_meter_series",
            ),
            path(
                "<int:object_id>/close/",
                wrap(self.close_view),
                name="transactions_transaction_close",
            ),
            *super().get_urls(),
        ]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        session = Transaction.objects.filter(pk=object_id).select_related("charge_point").first()
        if session is not None:
            extra_context = {
                **(extra_context or {}),
                "session": session,
                "summary": session_summary(transaction=session),
                "stop_form": RemoteStopForm(charge_point=session.charge_point, prefix="remote-stop")
                if session.active
                else None,
                "can_close_on_server": session.active,
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def meter_series_view(self, request: HttpRequest, object_id: int) -> JsonResponse:
        session = get_object_or_404(Transaction, pk=object_id)
        if not self.has_view_permission(request, session):
            return JsonResponse({"detail": "not allowed"}, status=403)
        return JsonResponse(transaction_meter_series(transaction=session))

    def close_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """The session page's "Close on the server" (issue 15 §2)."""
        session = get_object_or_404(Transaction, pk=object_id)
        page = reverse("admin:transactions_transaction_change", args=[session.pk])
        if request.method != "POST":
            return HttpResponseRedirect(page)
        if not request.user.has_perm("transactions.change_transaction"):
            return HttpResponseRedirect(page)
        try:
            transaction_close(
                transaction=session,
                reason=request.POST.get("reason") or "",
                closed_by=_staff(request),
            )
        except DomainError as refused:
            messages.error(request, f"Session {session.pk} not closed: {refused.message}")
        else:
            messages.success(request, f"Session {session.pk} closed on the server.")
        return HttpResponseRedirect(page)

    @admin.action(description="Export selected sessions as CSV")
    def export_as_csv(self, request: HttpRequest, queryset: QuerySet[Transaction]) -> HttpResponse:
        return csv_stream_response(
            request=request,
            rows=transaction_export_rows(queryset.order_by("-started_at", "-id")),
            header=TRANSACTION_HEADER,
            to_cells=transaction_cells,
            filename="transactions.csv",
        )

    @admin.action(description="Close selected sessions on the server")
    def close_on_server(self, request: HttpRequest, queryset: QuerySet[Transaction]) -> None:
        # The change permission, checked here: the mixin keeps every form read only.
        if not request.user.has_perm("transactions.change_transaction"):
            messages.error(request, "Closing sessions needs the change permission.")
            return
        closed, skipped = 0, 0
        for session in queryset.filter(stopped_at__isnull=True):
            try:
                transaction_close(
                    transaction=session, reason="Closed by staff", closed_by=_staff(request)
                )
            except DomainError:
                skipped += 1  # stopped meanwhile
            else:
                closed += 1
        messages.success(request, f"{closed} session(s) closed on the server, {skipped} skipped.")

    @admin.display(description="meter values")
    def all_meter_values(self, obj: Transaction) -> str:
        url = reverse("admin:transactions_metervalue_changelist")
        query = urlencode({"transaction__id__exact": obj.pk})
        return format_html(
            '<a href="{}?{}">All meter values of transaction {}</a>', url, query, obj.pk
        )


def _staff(request: HttpRequest) -> str:
    return f"staff:{request.user.get_username()}"


@admin.register(SessionClosingRules)
class SessionClosingRulesAdmin(admin.ModelAdmin):
    list_display = ["tenant", "available_minutes", "silent_hours", "updated_at"]
    list_select_related = ["tenant"]
    autocomplete_fields = ["tenant"]


@admin.register(MeterValue)
class MeterValueAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "timestamp",
        "charge_point",
        "transaction_id",
        "connector_id",
        "measurand",
        "phase",
        "location",
        "value",
        "unit",
        "context",
    ]
    list_filter = ["measurand", "context", "charge_point__tenant"]
    search_fields = ["charge_point__identity"]
    list_select_related = ["charge_point"]
    show_full_result_count = False


@admin.register(UnmatchedTransactionMessage)
class UnmatchedTransactionMessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "received_at",
        "charge_point",
        "charge_point__tenant",
        "action",
        "reported_transaction_id",
        "reason",
    ]
    list_filter = ["action", "charge_point__tenant"]
    search_fields = ["charge_point__identity"]
    list_select_related = ["charge_point__tenant"]
