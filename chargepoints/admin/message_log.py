"""The message log as an operator reads it (issue 20 §2): timestamps to the millisecond,
CALL/RESULT/ERROR as words, the frame pretty-printed, filters by action, kind and time, and a
CALL beside its answer on each message's page."""

import json
from datetime import timedelta

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from chargepoints.models import OcppMessage
from csms.admin import ReadOnlyAdminMixin

# OCPP-J §4.1: the MessageTypeId of a frame.
MESSAGE_KINDS = {2: "CALL", 3: "RESULT", 4: "ERROR"}
# A CALL's answer comes within the call time-out; looking this far around it keeps the lookup
# on the (charge_point, created_at) index instead of scanning the charge point's whole log.
ANSWER_WINDOW = timedelta(minutes=10)


def milliseconds(moment: object) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] if moment else ""  # type: ignore[attr-defined]


def pretty_frame(frame: str) -> str:
    try:
        return json.dumps(json.loads(frame), indent=2, ensure_ascii=False)
    except ValueError:
        return frame  # kept verbatim: a frame we could not parse is shown as it came


def message_counterpart(message: OcppMessage) -> OcppMessage | None:
    """The answer of a CALL, or the CALL a RESULT/ERROR answers (same charge point and id,
    the other direction)."""
    if not message.message_id or message.message_type not in MESSAGE_KINDS:
        return None
    wanted = [3, 4] if message.message_type == 2 else [2]
    return (
        OcppMessage.objects.filter(
            charge_point_id=message.charge_point_id,
            message_id=message.message_id,
            message_type__in=wanted,
            created_at__gte=message.created_at - ANSWER_WINDOW,
            created_at__lte=message.created_at + ANSWER_WINDOW,
        )
        .exclude(direction=message.direction)
        .order_by("created_at")
        .first()
    )


class MessageKindFilter(admin.SimpleListFilter):
    title = "kind"
    parameter_name = "kind"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(word, word) for word in MESSAGE_KINDS.values()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[OcppMessage]) -> QuerySet:
        kinds = {word: number for number, word in MESSAGE_KINDS.items()}
        number = kinds.get(self.value() or "")
        return queryset if number is None else queryset.filter(message_type=number)


@admin.register(OcppMessage)
class OcppMessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    change_list_template = "admin/chargepoints/ocppmessage/change_list.html"
    list_display = [
        "timestamp",
        "charge_point",
        "charge_point__tenant",
        "direction",
        "kind",
        "action",
        "message_id",
        "frame_excerpt",
    ]
    list_filter = ["direction", MessageKindFilter, "action", "charge_point__tenant"]
    search_fields = ["charge_point__identity", "message_id"]
    list_select_related = ["charge_point__tenant"]
    # The log is the biggest table: no COUNT(*) of all of it on every page.
    show_full_result_count = False
    fields = [
        "timestamp",
        "charge_point",
        "direction",
        "kind",
        "action",
        "message_id",
        "pretty",
        "exchange",
    ]
    readonly_fields = fields

    @admin.display(description="time (UTC)", ordering="created_at")
    def timestamp(self, obj: OcppMessage) -> str:
        return milliseconds(obj.created_at)

    @admin.display(description="kind", ordering="message_type")
    def kind(self, obj: OcppMessage) -> str:
        return MESSAGE_KINDS.get(obj.message_type or 0, "unparsed")

    @admin.display(description="frame")
    def frame_excerpt(self, obj: OcppMessage) -> str:
        return obj.frame if len(obj.frame) <= 120 else obj.frame[:120] + "…"

    @admin.display(description="frame")
    def pretty(self, obj: OcppMessage) -> str:
        return format_html('<pre class="frame">{}</pre>', pretty_frame(obj.frame))

    @admin.display(description="CALL and answer")
    def exchange(self, obj: OcppMessage) -> str:
        other = message_counterpart(obj)
        if other is None:
            return "No answer in the log." if obj.message_type == 2 else ""
        call, answer = (obj, other) if obj.message_type == 2 else (other, obj)
        took = (answer.created_at - call.created_at).total_seconds() * 1000
        cells = format_html_join(
            "",
            '<div data-kind="{}"><p><a href="{}">{} {}</a> · {}</p><pre class="frame">{}</pre>'
            "</div>",
            (
                (
                    self.kind(m),
                    reverse("admin:chargepoints_ocppmessage_change", args=[m.pk]),
                    self.kind(m),
                    m.get_direction_display(),
                    milliseconds(m.created_at),
                    pretty_frame(m.frame),
                )
                for m in (call, answer)
            ),
        )
        return format_html(
            '<div class="exchange">{}</div><p>answered in {} ms</p>', cells, f"{took:.0f}"
        )
