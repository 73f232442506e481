"""A charge point's console page (issue 20 §2): presence, connectors with live status, the
current session, recent errors, a power/energy chart, configuration with "fetch now", and the
guided actions, each a small form whose outcome appears when the charger answers.

The page polls two fragments with htmx (the live panel, and each sent command until it is
final); the chart reads ``meter-values.json``. Commands go through ``command_dispatch``.
"""

from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from chargepoints.admin.charge_point_list import NO_ERROR
from chargepoints.admin.guided_actions import GUIDED_ACTIONS, GuidedActionForm
from chargepoints.commands.dispatch import CommandRejectedError, command_dispatch
from chargepoints.models import (
    ChargePoint,
    Command,
    CommandStatus,
    ConfigurationKey,
    ConnectorStatusChange,
)
from chargepoints.selectors import connector_shown_status, reserved_connector_ids
from csms.console.meter_series import charge_point_meter_series, session_summary
from transactions.models import Transaction

RECENT_ERRORS = 10


def _live_context(charge_point: ChargePoint) -> dict[str, Any]:
    reserved = reserved_connector_ids(charge_point.reservations.all())
    connectors = [
        {
            "connector": c,
            "status": connector_shown_status(c.status, reserved=c.connector_id in reserved),
        }
        for c in charge_point.connectors.order_by("connector_id")
    ]
    sessions = [
        {"transaction": t, "summary": session_summary(transaction=t)}
        for t in Transaction.objects.filter(
            charge_point=charge_point, stopped_at__isnull=True
        ).order_by("connector_id")
    ]
    return {"charge_point": charge_point, "connectors": connectors, "sessions": sessions}


def command_outcome(command: Command) -> dict[str, Any]:
    """What to show of a command: its state and, once answered, the charger's word."""
    answer = ""
    if command.status == CommandStatus.COMPLETED:
        answer = str((command.response or {}).get("status", "answered"))
    elif command.status == CommandStatus.FAILED:
        answer = command.error_code or "failed"
    return {"command": command, "answer": answer, "final": command.finished}


class ChargePointConsoleAdminMixin:
    """Mixed into ChargePointAdmin: ``<id>/console/`` and the fragments it polls."""

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view  # type: ignore[attr-defined]
        custom = [
            path("<int:object_id>/console/", wrap(self.console_view), name=_name("console")),
            path(
                "<int:object_id>/console/live/",
                wrap(self.console_live_view),
                name=_name("console_live"),
            ),
            path(
                "<int:object_id>/console/meter-values.json",
                wrap(self.console_meter_values_view),
                name=_name("console_meter_values"),
            ),
            path(
                "<int:object_id>/console/action/<slug:action>/",
                wrap(self.console_action_view),
                name=_name("console_action"),
            ),
            path(
                "<int:object_id>/console/command/<int:command_id>/",
                wrap(self.console_command_view),
                name=_name("console_command"),
            ),
        ]
        return custom + super().get_urls()  # type: ignore[misc]

    def _viewable(self, request: HttpRequest, object_id: int) -> ChargePoint:
        charge_point = get_object_or_404(ChargePoint.objects.select_related("tenant"), pk=object_id)
        if not self.has_view_permission(request, charge_point):  # type: ignore[attr-defined]
            raise Http404
        return charge_point

    def console_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        charge_point = self._viewable(request, object_id)
        forms = {
            slug: form_class(charge_point=charge_point, prefix=slug)
            for slug, form_class in GUIDED_ACTIONS.items()
        }
        media = self.media  # type: ignore[attr-defined]
        for form in forms.values():
            media += form.media
        context = {
            **self.admin_site.each_context(request),  # type: ignore[attr-defined]
            **_live_context(charge_point),
            "title": f"Console of {charge_point.identity}",
            "opts": ChargePoint._meta,
            "media": media,
            "configuration_form": forms.pop("fetch-configuration"),
            "guided_forms": forms,
            "configuration_keys": ConfigurationKey.objects.filter(charge_point=charge_point)
            .order_by("key")
            .values("key", "value", "readonly", "unknown", "last_read_at")[:15],
            "configuration_key_count": ConfigurationKey.objects.filter(
                charge_point=charge_point
            ).count(),
            "status_errors": ConnectorStatusChange.objects.filter(charge_point=charge_point)
            .exclude(error_code__in=["", NO_ERROR])
            .order_by("-received_at", "-id")[:RECENT_ERRORS],
            "failed_commands": Command.objects.filter(
                charge_point=charge_point,
                status__in=[CommandStatus.FAILED, CommandStatus.TIMEOUT, CommandStatus.EXPIRED],
            ).order_by("-created_at", "-id")[:RECENT_ERRORS],
            "can_change": self.has_change_permission(request, charge_point),  # type: ignore[attr-defined]
        }
        return TemplateResponse(request, "admin/chargepoints/console/page.html", context)

    def console_live_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        charge_point = self._viewable(request, object_id)
        return TemplateResponse(
            request, "admin/chargepoints/console/live.html", _live_context(charge_point)
        )

    def console_meter_values_view(self, request: HttpRequest, object_id: int) -> JsonResponse:
        charge_point = self._viewable(request, object_id)
        return JsonResponse(charge_point_meter_series(charge_point_id=charge_point.pk))

    def console_action_view(self, request: HttpRequest, object_id: int, action: str) -> Any:
        charge_point = self._viewable(request, object_id)
        form_class = GUIDED_ACTIONS.get(action)
        if form_class is None or request.method != "POST":
            raise Http404
        if not self.has_change_permission(request, charge_point):  # type: ignore[attr-defined]
            return HttpResponse("Not allowed to operate this charge point.", status=403)
        form: GuidedActionForm = form_class(request.POST, charge_point=charge_point, prefix=action)
        htmx = request.headers.get("HX-Request") == "true"
        command: Command | None = None
        if form.is_valid():
            try:
                with transaction.atomic():
                    command = command_dispatch(
                        charge_point=charge_point,
                        action=form.action,
                        payload=form.payload(),
                        requested_by_user=request.user,
                    )
            except CommandRejectedError as exc:
                form.add_error(None, exc.message)
        if not htmx:  # a page without scripts: back to the console, with a message
            if command is not None:
                messages.success(request, f"{form.action} sent to {charge_point.identity}.")
            else:
                messages.error(request, f"{form.action}: {form.errors.as_text()}")
            next_url = request.POST.get("next") or reverse(
                "admin:chargepoints_chargepoint_console", args=[charge_point.pk]
            )
            return HttpResponseRedirect(next_url)
        if command is None:
            return TemplateResponse(
                request, "admin/chargepoints/console/form_errors.html", {"form": form}
            )
        return TemplateResponse(
            request, "admin/chargepoints/console/outcome.html", command_outcome(command)
        )

    def console_command_view(
        self, request: HttpRequest, object_id: int, command_id: int
    ) -> HttpResponse:
        charge_point = self._viewable(request, object_id)
        command = get_object_or_404(Command, pk=command_id, charge_point=charge_point)
        return TemplateResponse(
            request, "admin/chargepoints/console/outcome.html", command_outcome(command)
        )


def _name(view: str) -> str:
    return f"chargepoints_chargepoint_{view}"
