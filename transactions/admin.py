"""Staff admin of transactions and meter values: read only, they come from the charge points."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode

from csms.admin import LimitedInlineFormSet, ReadOnlyAdminMixin, ReadOnlyInline
from transactions.models import MeterValue, Transaction, UnmatchedTransactionMessage

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
