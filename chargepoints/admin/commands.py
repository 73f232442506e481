"""Commands in the admin: quick actions on the charge point list, a "Send a command" page per
charge point, the command history inline, and the outbox itself. All of them go through
``command_dispatch`` like the API and the jobs."""

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from chargepoints.commands.dispatch import (
    CENTRAL_SYSTEM_ACTIONS,
    CommandRejectedError,
    command_dispatch,
)
from chargepoints.configuration.mirror import configuration_key_change
from chargepoints.models import ChargePoint, Command
from csms.admin import LimitedInlineFormSet, ReadOnlyAdminMixin

# Messages TriggerMessage can ask for (OCPP 1.6 §7.45 MessageTrigger).
TRIGGERABLE = [
    "BootNotification",
    "DiagnosticsStatusNotification",
    "FirmwareStatusNotification",
    "Heartbeat",
    "MeterValues",
    "StatusNotification",
]
GUIDED_ACTIONS = [
    ("Reset", "Reset"),
    ("UnlockConnector", "Unlock a connector"),
    ("ChangeAvailability", "Change availability"),
    ("ClearCache", "Clear the authorization cache"),
    ("TriggerMessage", "Trigger a message"),
    ("GetConfiguration", "Get the configuration"),
    ("ChangeConfiguration", "Change a configuration key"),
]
OTHER = "other"


class SendCommandForm(forms.Form):
    action = forms.ChoiceField(
        choices=[*GUIDED_ACTIONS, (OTHER, "Another action (JSON payload below)")]
    )
    reset_type = forms.ChoiceField(choices=[("Soft", "Soft"), ("Hard", "Hard")], required=False)
    connector_id = forms.IntegerField(min_value=0, required=False, help_text="0 = whole charger")
    availability = forms.ChoiceField(
        choices=[("Operative", "Operative"), ("Inoperative", "Inoperative")], required=False
    )
    requested_message = forms.ChoiceField(choices=[(m, m) for m in TRIGGERABLE], required=False)
    key = forms.CharField(max_length=50, required=False, help_text="Configuration key")
    value = forms.CharField(max_length=500, required=False, help_text="New value")
    force = forms.BooleanField(
        required=False,
        label="Force",
        help_text="Change configuration: send the value as given, unchecked by the catalogue "
        "and by what the charge point reported (vendor values); recorded with your name",
    )
    other_action = forms.ChoiceField(
        choices=[("", "—"), *((a, a) for a in sorted(CENTRAL_SYSTEM_ACTIONS))], required=False
    )
    payload = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6, "cols": 80}),
        required=False,
        help_text="JSON object, for another action (validated against the OCPP 1.6 schema)",
    )

    def action_and_payload(self) -> tuple[str, dict[str, Any]]:
        data = self.cleaned_data
        action = data["action"]
        connector = data.get("connector_id")
        if action == "Reset":
            return action, {"type": data.get("reset_type") or "Soft"}
        if action == "UnlockConnector":
            return action, {"connectorId": connector or 1}
        if action == "ChangeAvailability":
            return action, {
                "connectorId": connector or 0,
                "type": data.get("availability") or "Operative",
            }
        if action == "ClearCache":
            return action, {}
        if action == "TriggerMessage":
            payload: dict[str, Any] = {"requestedMessage": data.get("requested_message")}
            if connector is not None:
                payload["connectorId"] = connector
            return action, payload
        if action == "GetConfiguration":
            return action, {"key": [data["key"]]} if data.get("key") else {}
        if action == "ChangeConfiguration":
            return action, {"key": data.get("key") or "", "value": data.get("value") or ""}
        try:
            payload = json.loads(data.get("payload") or "{}")
        except ValueError as exc:
            raise forms.ValidationError(f"Payload is not JSON: {exc}") from exc
        return data.get("other_action") or "", payload


class CommandInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Command
    formset = LimitedInlineFormSet
    fields = [
        "action",
        "status",
        "payload",
        "forced",
        "response",
        "error_code",
        "created_at",
        "completed_at",
    ]
    readonly_fields = fields
    extra = 0
    max_num = 0
    show_change_link = True
    verbose_name_plural = "Commands (newest first)"


class ChargePointCommandsAdminMixin:
    """Mixed into ChargePointAdmin."""

    change_form_template = "admin/chargepoints/chargepoint/change_form.html"

    def get_urls(self) -> list[URLPattern]:
        custom = [
            path(
                "<int:object_id>/send-command/",
                self.admin_site.admin_view(self.send_command_view),  # type: ignore[attr-defined]
                name="chargepoints_chargepoint_send_command",
            )
        ]
        return custom + super().get_urls()  # type: ignore[misc]

    def send_command_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        charge_point = get_object_or_404(ChargePoint, pk=object_id)
        if not self.has_change_permission(request, charge_point):  # type: ignore[attr-defined]
            return HttpResponseRedirect(reverse("admin:index"))
        form = SendCommandForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                action, payload = form.action_and_payload()
                with transaction.atomic():
                    if action == "ChangeConfiguration":  # what the charge point reported too
                        command = configuration_key_change(
                            charge_point=charge_point,
                            **payload,
                            force=form.cleaned_data.get("force") or False,
                            requested_by_user=request.user,
                        )
                    else:
                        command = command_dispatch(
                            charge_point=charge_point,
                            action=action,
                            payload=payload,
                            requested_by_user=request.user,
                        )
            except (CommandRejectedError, forms.ValidationError) as exc:
                form.add_error(None, getattr(exc, "message", None) or str(exc))
            else:
                messages.success(request, f"{action} queued for {charge_point.identity}.")
                return HttpResponseRedirect(
                    reverse("admin:chargepoints_command_change", args=[command.pk])
                )
        context = {
            **self.admin_site.each_context(request),  # type: ignore[attr-defined]
            "title": f"Send a command to {charge_point.identity}",
            "form": form,
            "charge_point": charge_point,
            "opts": ChargePoint._meta,
        }
        return TemplateResponse(request, "admin/chargepoints/send_command.html", context)

    def _dispatch_to_each(
        self, request: HttpRequest, queryset: QuerySet[ChargePoint], action: str, payload: dict
    ) -> None:
        queued = 0
        for charge_point in queryset:
            with transaction.atomic():
                command_dispatch(
                    charge_point=charge_point,
                    action=action,
                    payload=payload,
                    requested_by_user=request.user,
                )
            queued += 1
        self.message_user(request, f"{action} queued for {queued} charge point(s).")  # type: ignore[attr-defined]

    @admin.action(description="Reset (soft)")
    def reset_soft(self, request: HttpRequest, queryset: QuerySet[ChargePoint]) -> None:
        self._dispatch_to_each(request, queryset, "Reset", {"type": "Soft"})

    @admin.action(description="Reset (hard)")
    def reset_hard(self, request: HttpRequest, queryset: QuerySet[ChargePoint]) -> None:
        self._dispatch_to_each(request, queryset, "Reset", {"type": "Hard"})

    @admin.action(description="Clear the authorization cache")
    def clear_cache(self, request: HttpRequest, queryset: QuerySet[ChargePoint]) -> None:
        self._dispatch_to_each(request, queryset, "ClearCache", {})

    @admin.action(description="Get the configuration")
    def get_configuration(self, request: HttpRequest, queryset: QuerySet[ChargePoint]) -> None:
        self._dispatch_to_each(request, queryset, "GetConfiguration", {})

    @admin.action(description="Trigger a StatusNotification")
    def trigger_status(self, request: HttpRequest, queryset: QuerySet[ChargePoint]) -> None:
        self._dispatch_to_each(
            request, queryset, "TriggerMessage", {"requestedMessage": "StatusNotification"}
        )

    command_actions = [
        "reset_soft",
        "reset_hard",
        "clear_cache",
        "get_configuration",
        "trigger_status",
    ]


@admin.register(Command)
class CommandAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "charge_point",
        "action",
        "status",
        "forced",
        "created_at",
        "completed_at",
    ]
    list_filter = ["status", "action", "forced", "charge_point__tenant"]
    search_fields = ["charge_point__identity", "action", "message_id"]
    list_select_related = ["charge_point"]
    readonly_fields = [
        "tenant",
        "charge_point",
        "action",
        "payload",
        "status",
        "message_id",
        "response",
        "error_code",
        "error_description",
        "error_details",
        "requested_by_user",
        "requested_by_token",
        "requested_by_job",
        "forced",
        "created_at",
        "sent_at",
        "completed_at",
        "expires_at",
    ]
