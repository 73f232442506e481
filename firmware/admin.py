"""Staff admin of firmware, diagnostics and log status reports (read only)."""

from django.contrib import admin

from csms.admin import ReadOnlyAdminMixin
from firmware.models import StatusReport


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
