"""Staff admin of what charge points report: compatibility absorptions,
security events, DataTransfer messages and certificate signing requests (read only); the
message log has its own module, ``message_log``."""

from django.contrib import admin

from chargepoints.models import (
    CertificateSigningRequest,
    CompatAbsorption,
    DataTransferMessage,
    SecurityEvent,
)
from csms.admin import ReadOnlyAdminMixin


@admin.register(CompatAbsorption)
class CompatAbsorptionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "charge_point",
        "charge_point__tenant",
        "quirk",
        "count",
        "first_seen",
        "last_seen",
    ]
    list_filter = ["quirk", "charge_point__tenant"]
    search_fields = ["charge_point__identity", "quirk"]
    list_select_related = ["charge_point__tenant"]


@admin.register(SecurityEvent)
class SecurityEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "timestamp",
        "tenant",
        "identity",
        "type",
        "critical",
        "tech_info",
        "source_address",
        "reported_by_charge_point",
    ]
    list_filter = ["tenant", "critical", "reported_by_charge_point", "type"]
    search_fields = ["identity", "type", "tech_info", "source_address"]
    date_hierarchy = "timestamp"
    list_select_related = ["tenant"]


@admin.register(DataTransferMessage)
class DataTransferMessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "received_at",
        "charge_point",
        "charge_point__tenant",
        "vendor_id",
        "message_id",
        "answer_status",
    ]
    list_filter = ["answer_status", "charge_point__tenant"]
    search_fields = ["charge_point__identity", "vendor_id", "message_id"]
    list_select_related = ["charge_point__tenant"]


@admin.register(CertificateSigningRequest)
class CertificateSigningRequestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["received_at", "charge_point", "charge_point__tenant", "status"]
    list_filter = ["status", "charge_point__tenant"]
    search_fields = ["charge_point__identity"]
    list_select_related = ["charge_point__tenant"]
