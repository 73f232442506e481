"""Staff admin of alert rules (per tenant) and of the alerts they opened."""

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from csms.admin import ReadOnlyAdminMixin
from csms.alerts.models import Alert, AlertKind, AlertRule, AlertState
from csms.alerts.rules import rules_forget
from csms.alerts.services import alert_rule_saved, alerts_close_by_staff


class AlertRuleForm(forms.ModelForm):
    class Meta:
        model = AlertRule
        fields = [
            "tenant",
            "name",
            "kind",
            "threshold_minutes",
            "command_actions",
            "security_event_types",
            "email_recipients",
            "active",
        ]
        help_texts = {
            "threshold_minutes": "Offline rules: minutes away before the alert opens.",
            "command_actions": 'Command rules: a JSON list of actions, e.g. ["Reset"]; [] = all.',
            "security_event_types": "Security rules: a JSON list of types; [] = the critical ones.",
        }

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        for name in ("command_actions", "security_event_types"):
            value = cleaned.get(name)
            if value is None:
                cleaned[name] = []
            elif not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                self.add_error(name, "A JSON list of names.")
        if cleaned.get("kind") == AlertKind.OFFLINE and not cleaned.get("threshold_minutes"):
            self.add_error("threshold_minutes", "An offline rule needs at least one minute.")
        for address in AlertRule(email_recipients=cleaned.get("email_recipients") or "").recipients:
            try:
                forms.EmailField().clean(address)
            except forms.ValidationError:
                self.add_error("email_recipients", f"Not an e-mail address: {address}")
        return cleaned


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    form = AlertRuleForm
    list_display = ["name", "tenant", "kind", "threshold_minutes", "email_recipients", "active"]
    list_filter = ["tenant", "kind", "active"]
    search_fields = ["name"]
    list_select_related = ["tenant"]

    def save_model(
        self, request: HttpRequest, obj: AlertRule, form: forms.Form, change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        alert_rule_saved(rule=obj)

    def delete_model(self, request: HttpRequest, obj: AlertRule) -> None:
        super().delete_model(request, obj)
        rules_forget(obj.tenant_id)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[AlertRule]) -> None:
        tenants = set(queryset.values_list("tenant_id", flat=True))
        super().delete_queryset(request, queryset)
        for tenant_id in tenants:
            rules_forget(tenant_id)


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "raised_at",
        "tenant",
        "kind",
        "charge_point_link",
        "state",
        "detail",
        "occurrences",
        "opened_at",
        "closed_at",
        "close_reason",
    ]
    list_filter = ["state", "kind", "tenant", "rule"]
    search_fields = ["identity", "subject", "detail"]
    list_select_related = ["tenant"]
    actions = ["close_selected"]

    def has_change_permission(self, request: HttpRequest, obj: Alert | None = None) -> bool:
        # Nothing of an alert is edited; closing it is the action below.
        return False

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        if not request.user.has_perm("alerts.view_alert"):
            actions.pop("close_selected", None)
        return actions

    @admin.display(description="charge point", ordering="identity")
    def charge_point_link(self, obj: Alert) -> str:
        if obj.charge_point_id is None:
            return obj.identity
        url = reverse("admin:chargepoints_chargepoint_console", args=[obj.charge_point_id])
        return format_html('<a href="{}">{}</a>', url, obj.identity or obj.charge_point_id)

    @admin.action(description="Close the selected alerts (acknowledged)")
    def close_selected(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        live = list(queryset.exclude(state=AlertState.CLOSED).values_list("pk", flat=True))
        closed = alerts_close_by_staff(
            alert_ids=live, at=timezone.now(), who=request.user.get_username()
        )
        self.message_user(request, f"{closed} alert(s) closed.", messages.SUCCESS)
