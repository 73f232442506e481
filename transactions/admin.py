"""Staff admin of transactions and meter values: read only, they come from the charge points."""

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
from transactions import services as transaction_services
from transactions.models import MeterValue, Transaction, UnmatchedTransactionMessage

# HOOK (issue 15, W15): the server-side close of a session. Until ``transaction_close`` is on
# main, the session page offers the guided Remote stop only; once it is, the page shows "Close
# on the server" too. The integrator replaces this lookup with a plain import at merge time.
SERVER_CLOSE_SERVICE = getattr(transaction_services, "transaction_close", None)

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
    list_filter = ["tenant", ActiveFilter, "stop_reason"]
    search_fields = ["id_tag", "charge_point__identity"]
    list_select_related = ["tenant", "charge_point"]
    readonly_fields = ["energy_wh", "all_meter_values"]
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
                "can_close_on_server": SERVER_CLOSE_SERVICE is not None and session.active,
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def meter_series_view(self, request: HttpRequest, object_id: int) -> JsonResponse:
        session = get_object_or_404(Transaction, pk=object_id)
        if not self.has_view_permission(request, session):
            return JsonResponse({"detail": "not allowed"}, status=403)
        return JsonResponse(transaction_meter_series(transaction=session))

    def close_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """The stop/close action of issue 15: the server-side close service (see the HOOK)."""
        session = get_object_or_404(Transaction, pk=object_id)
        page = reverse("admin:transactions_transaction_change", args=[session.pk])
        if request.method != "POST" or SERVER_CLOSE_SERVICE is None:
            return HttpResponseRedirect(page)
        if not request.user.has_perm("transactions.change_transaction"):
            return HttpResponseRedirect(page)
        SERVER_CLOSE_SERVICE(transaction=session, reason=request.POST.get("reason") or "Other")
        messages.success(request, f"Session {session.pk} closed on the server.")
        return HttpResponseRedirect(page)

    @admin.display(description="energy (Wh)")
    def energy_wh(self, obj: Transaction) -> int | None:
        return obj.energy_wh

    @admin.display(description="meter values")
    def all_meter_values(self, obj: Transaction) -> str:
        url = reverse("admin:transactions_metervalue_changelist")
        query = urlencode({"transaction__id__exact": obj.pk})
        return format_html(
            '<a href="{}?{}">All meter values of transaction {}</a>', url, query, obj.pk
        )


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
