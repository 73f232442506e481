"""Staff admin of charge points and their connectors (CPO staff see every tenant). The charge
point page gathers what the other admin modules add: commands, configuration, local-list sync."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode

from chargepoints.admin.authorization import sync_local_list
from chargepoints.admin.charge_point_list import (
    NO_ERROR,
    OfflineForFilter,
    ProblemFilter,
    charge_points_with_trouble,
)
from chargepoints.admin.commands import ChargePointCommandsAdminMixin, CommandInline
from chargepoints.admin.configuration import ChargePointConfigurationAdminMixin
from chargepoints.admin.console import ChargePointConsoleAdminMixin
from chargepoints.admin.imports import CsvImportAdminMixin
from chargepoints.admin.security import ChargePointSecurityActionsMixin
from chargepoints.api.charge_points import CHARGE_POINT_IMPORT
from chargepoints.models import (
    BOOT_REPORTED_FIELDS,
    ChargePoint,
    Connector,
    ConnectorStatusChange,
    OcppMessage,
    RegistrationStatus,
)
from chargepoints.passwords import password_problem
from chargepoints.services.charge_points import charge_point_registration_set, charge_point_update
from csms.admin import LimitedInlineFormSet, ReadOnlyAdminMixin, ReadOnlyInline
from csms.ocpp.compat import SWITCH_NAMES

MESSAGE_LOG_INLINE_LIMIT = 20


FRAME_EXCERPT_LENGTH = 200


class ChargePointAdminForm(forms.ModelForm):
    # The hash is never shown; a new password replaces it through the service.
    password = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="HTTP Basic password, 16-40 printable ASCII characters. "
        "Leave empty to keep the current one.",
    )
    remove_password = forms.BooleanField(
        required=False, help_text="Let the charge point connect without Basic auth."
    )

    class Meta:
        model = ChargePoint
        fields = [
            "tenant",
            "identity",
            "name",
            "registration_status",
            "heartbeat_interval",
            "compat_overrides",
            "security_profile",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "security_profile" in self.fields:
            # Optional on the form (a charge point made without one starts at 0).
            self.fields["security_profile"].required = False

    def clean_security_profile(self) -> int:
        value = self.cleaned_data.get("security_profile")
        return int(value) if value not in (None, "") else 0

    def clean_password(self) -> str:
        raw: str = self.cleaned_data.get("password") or ""
        if raw and (problem := password_problem(raw)):
            raise forms.ValidationError(f"Password {problem}.")
        return raw

    def clean_compat_overrides(self) -> dict[str, Any]:
        # An emptied JSON box comes back as None; the column is NOT NULL.
        value = self.cleaned_data.get("compat_overrides")
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise forms.ValidationError("Must be a JSON object of switch names to true/false.")
        # The compat layer ignores what it does not know: catch typos here instead.
        unknown = sorted(set(value) - set(SWITCH_NAMES))
        if unknown:
            raise forms.ValidationError(
                f"Unknown switch(es) {', '.join(unknown)}; known: {', '.join(SWITCH_NAMES)}."
            )
        if not all(isinstance(v, bool) for v in value.values()):
            raise forms.ValidationError("Switch values must be true or false.")
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("password") and cleaned.get("remove_password"):
            raise forms.ValidationError("Either set a new password or remove it, not both.")
        return cleaned


class ConnectorInline(ReadOnlyInline):
    model = Connector
    fields = ["connector_id", "status", "error_code", "info", "status_timestamp", "updated_at"]
    ordering = ["connector_id"]


class MessageLogFormSet(LimitedInlineFormSet):
    limit = MESSAGE_LOG_INLINE_LIMIT


class OcppMessageInline(ReadOnlyInline):
    model = OcppMessage
    formset = MessageLogFormSet
    fields = ["created_at", "direction", "message_type", "action", "message_id", "frame_excerpt"]
    verbose_name_plural = f"Message log (newest {MESSAGE_LOG_INLINE_LIMIT})"

    @admin.display(description="frame")
    def frame_excerpt(self, obj: OcppMessage) -> str:
        if len(obj.frame) <= FRAME_EXCERPT_LENGTH:
            return obj.frame
        return obj.frame[:FRAME_EXCERPT_LENGTH] + "…"


@admin.register(ChargePoint)
class ChargePointAdmin(
    CsvImportAdminMixin,
    ChargePointConsoleAdminMixin,
    ChargePointConfigurationAdminMixin,
    ChargePointCommandsAdminMixin,
    ChargePointSecurityActionsMixin,
    admin.ModelAdmin,
):
    form = ChargePointAdminForm
    import_kind = CHARGE_POINT_IMPORT
    list_display = [
        "identity",
        "tenant",
        "registration_status",
        "connected",
        "last_seen",
        "worst_connector",
        "error",
        "live_session",
        "firmware_version",
        "compat_absorptions",
        "console_link",
    ]
    list_filter = ["tenant", ProblemFilter, OfflineForFilter, "registration_status", "connected"]
    search_fields = ["identity", "serial_number", "charge_box_serial_number", "meter_serial_number"]
    list_select_related = ["tenant"]
    actions = [
        "accept_registration",
        "reject_registration",
        *ChargePointCommandsAdminMixin.command_actions,
        sync_local_list,
        *ChargePointSecurityActionsMixin.security_actions,
    ]
    inlines = [ConnectorInline, CommandInline, OcppMessageInline]
    readonly_fields = [
        "has_password",
        "security_profile_pending",
        "message_log",
        "connected",
        "connected_at",
        "last_seen",
        "channel_name",
        *BOOT_REPORTED_FIELDS,
        "created_at",
        "updated_at",
    ]
    _main = ["tenant", "identity", "name", "registration_status", "heartbeat_interval"]
    # The profile set here is what the charger already uses (registering a profile-3 charger
    # with a factory certificate, say); raising it on a live charger is the "raise security
    # profile" command, which checks the prerequisites and waits for the reconnect.
    _security = ["security_profile", "password", "remove_password"]

    class Media:
        css = {"all": ["console/console.css"]}  # the list's status colours

    def get_queryset(self, request: HttpRequest) -> QuerySet[ChargePoint]:
        return charge_points_with_trouble(super().get_queryset(request))

    @admin.display(description="worst connector", ordering="worst_status")
    def worst_connector(self, obj: ChargePoint) -> str:
        status = getattr(obj, "worst_status", None) or ""
        return format_html('<span class="status-{}">{}</span>', status, status or "—")

    @admin.display(description="error (vendor)")
    def error(self, obj: ChargePoint) -> str:
        code = getattr(obj, "worst_error_code", None) or ""
        vendor = getattr(obj, "worst_vendor_error_code", None) or ""
        if code in ("", NO_ERROR) and not vendor:
            return ""
        return f"{code} ({vendor})" if vendor else code

    @admin.display(description="live session", ordering="live_transaction_id")
    def live_session(self, obj: ChargePoint) -> str:
        transaction_id = getattr(obj, "live_transaction_id", None)
        if transaction_id is None:
            return ""
        url = reverse("admin:transactions_transaction_change", args=[transaction_id])
        return format_html('<a href="{}">#{}</a>', url, transaction_id)

    @admin.display(description="compat absorptions", ordering="absorptions")
    def compat_absorptions(self, obj: ChargePoint) -> str:
        total = getattr(obj, "absorptions", None)
        if not total:
            return ""
        url = reverse("admin:chargepoints_compatabsorption_changelist")
        query = urlencode({"charge_point__id__exact": obj.pk})
        return format_html('<a href="{}?{}">{}</a>', url, query, total)

    @admin.display(description="console")
    def console_link(self, obj: ChargePoint) -> str:
        url = reverse("admin:chargepoints_chargepoint_console", args=[obj.pk])
        return format_html('<a href="{}">operate</a>', url)

    def get_fieldsets(self, request: HttpRequest, obj: ChargePoint | None = None) -> list[Any]:
        if obj is None:
            return [
                (None, {"fields": self._main}),
                ("Security", {"fields": self._security}),
                ("Compatibility", {"fields": ["compat_overrides"]}),
            ]
        return [
            (None, {"fields": self._main}),
            (
                "Security",
                {"fields": ["has_password", "security_profile_pending", *self._security]},
            ),
            ("Compatibility", {"fields": ["compat_overrides"]}),
            (
                "Presence",
                {
                    "fields": [
                        "connected",
                        "connected_at",
                        "last_seen",
                        "channel_name",
                        "message_log",
                    ]
                },
            ),
            (
                "BootNotification",
                {
                    "fields": [
                        "vendor",
                        "model",
                        "serial_number",
                        "charge_box_serial_number",
                        "firmware_version",
                        "iccid",
                        "imsi",
                        "meter_type",
                        "meter_serial_number",
                        "last_boot_at",
                    ]
                },
            ),
            ("Record", {"fields": ["created_at", "updated_at"]}),
        ]

    def get_readonly_fields(
        self, request: HttpRequest, obj: ChargePoint | None = None
    ) -> list[str]:
        if obj is None:
            return list(self.readonly_fields)
        # Moving a charge point to another tenant or renaming it would orphan its history and
        # break its OCPP-J URL.
        return ["tenant", "identity", *self.readonly_fields]

    def get_inlines(self, request: HttpRequest, obj: ChargePoint | None = None) -> list[Any]:
        return list(self.inlines) if obj is not None else []

    @admin.display(description="message log")
    def message_log(self, obj: ChargePoint) -> str:
        url = reverse("admin:chargepoints_ocppmessage_changelist")
        query = urlencode({"charge_point__id__exact": obj.pk})
        return format_html('<a href="{}?{}">Full message log of {}</a>', url, query, obj.identity)

    def save_model(
        self, request: HttpRequest, obj: ChargePoint, form: ChargePointAdminForm, change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        password = form.cleaned_data.get("password")
        if password or form.cleaned_data.get("remove_password"):
            charge_point_update(charge_point=obj, password=password or "")

    @admin.action(description="Accept registration of selected charge points")
    def accept_registration(self, request: HttpRequest, queryset: QuerySet[ChargePoint]) -> None:
        self._set_registration(request, queryset, RegistrationStatus.ACCEPTED)

    @admin.action(description="Reject registration of selected charge points")
    def reject_registration(self, request: HttpRequest, queryset: QuerySet[ChargePoint]) -> None:
        self._set_registration(request, queryset, RegistrationStatus.REJECTED)

    def _set_registration(
        self, request: HttpRequest, queryset: QuerySet[ChargePoint], status: str
    ) -> None:
        count = charge_point_registration_set(
            charge_point_ids=queryset.values_list("pk", flat=True), registration_status=status
        )
        self.message_user(request, f"{count} charge point(s) now {status}.", messages.SUCCESS)


@admin.register(Connector)
class ConnectorAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "charge_point",
        "connector_id",
        "charge_point__tenant",
        "status",
        "error_code",
        "info",
        "status_timestamp",
        "updated_at",
    ]
    list_filter = ["status", "charge_point__tenant"]
    search_fields = ["charge_point__identity"]
    list_select_related = ["charge_point__tenant"]


@admin.register(ConnectorStatusChange)
class ConnectorStatusChangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "received_at",
        "charge_point",
        "charge_point__tenant",
        "connector_id",
        "status",
        "error_code",
        "info",
        "timestamp",
    ]
    list_filter = ["status", "charge_point__tenant"]
    search_fields = ["charge_point__identity"]
    list_select_related = ["charge_point__tenant"]
    show_full_result_count = False
