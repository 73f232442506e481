"""The charge point list that says what is wrong: worst connector status with its error code and
vendorErrorCode, the live session, compatibility absorptions, and the filters an operator starts
from ("has a faulted connector", "offline longer than N"). One query for the page: the extra
columns are subqueries, not a query per row."""

from datetime import timedelta

from django.contrib import admin
from django.db.models import Case, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.http import HttpRequest
from django.utils import timezone

from chargepoints.models import ChargePoint, ChargePointStatus, CompatAbsorption, Connector
from transactions.models import Transaction

# Worst first: what needs a person comes before what merely is (OCPP 1.6 §7.7 ChargePointStatus).
STATUS_SEVERITY = [
    ChargePointStatus.FAULTED,
    ChargePointStatus.UNAVAILABLE,
    ChargePointStatus.SUSPENDED_EVSE,
    ChargePointStatus.SUSPENDED_EV,
    ChargePointStatus.FINISHING,
    ChargePointStatus.PREPARING,
    ChargePointStatus.RESERVED,
    ChargePointStatus.CHARGING,
    ChargePointStatus.AVAILABLE,
]
NO_ERROR = "NoError"


def _worst_connector(column: str) -> Subquery:
    severity = Case(
        *(When(status=status, then=Value(rank)) for rank, status in enumerate(STATUS_SEVERITY)),
        default=Value(len(STATUS_SEVERITY)),
        output_field=IntegerField(),
    )
    return Subquery(
        Connector.objects.filter(charge_point=OuterRef("pk"))
        .annotate(severity=severity)
        .order_by("severity", "connector_id")
        .values(column)[:1]
    )


def charge_points_with_trouble(queryset: QuerySet[ChargePoint]) -> QuerySet[ChargePoint]:
    """``queryset`` annotated with what the list shows."""
    return queryset.annotate(
        worst_status=_worst_connector("status"),
        worst_error_code=_worst_connector("error_code"),
        worst_vendor_error_code=_worst_connector("vendor_error_code"),
        live_transaction_id=Subquery(
            Transaction.objects.filter(charge_point=OuterRef("pk"), stopped_at__isnull=True)
            .order_by("-started_at")
            .values("pk")[:1]
        ),
        absorptions=Subquery(
            CompatAbsorption.objects.filter(charge_point=OuterRef("pk"))
            .values("charge_point")
            .annotate(total=Sum("count"))
            .values("total")[:1]
        ),
    )


class ProblemFilter(admin.SimpleListFilter):
    title = "problem"
    parameter_name = "problem"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [
            ("faulted", "Has a faulted connector"),
            ("unavailable", "Has an unavailable connector"),
            ("error", "Reports an error code"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[ChargePoint]) -> QuerySet:
        match self.value():
            case "faulted":
                matching = Connector.objects.filter(status=ChargePointStatus.FAULTED)
            case "unavailable":
                matching = Connector.objects.filter(status=ChargePointStatus.UNAVAILABLE)
            case "error":
                matching = Connector.objects.exclude(error_code__in=["", NO_ERROR])
            case _:
                return queryset
        return queryset.filter(pk__in=matching.values("charge_point_id"))


class OfflineForFilter(admin.SimpleListFilter):
    title = "offline longer than"
    parameter_name = "offline_for"
    CHOICES = {"15m": timedelta(minutes=15), "1h": timedelta(hours=1), "1d": timedelta(days=1)}
    CHOICES["7d"] = timedelta(days=7)

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [
            ("15m", "15 minutes"),
            ("1h", "1 hour"),
            ("1d", "1 day"),
            ("7d", "7 days"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[ChargePoint]) -> QuerySet:
        span = self.CHOICES.get(self.value() or "")
        if span is None:
            return queryset
        # Never seen at all counts as offline since forever.
        before = timezone.now() - span
        return queryset.filter(connected=False).filter(
            Q(last_seen__lt=before) | Q(last_seen__isnull=True)
        )
