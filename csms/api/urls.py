"""``/api/v1/``: each app contributes its routes to one router."""

from typing import Any

from django.urls import include, path
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework.routers import DefaultRouter

from chargepoints.api.charge_points import ChargePointViewSet
from chargepoints.api.commands import ChargePointCommandsView, CommandViewSet
from chargepoints.api.configuration import (
    ChargePointConfigurationView,
    ConfigurationBaselineViewSet,
    ConfigurationKeyCatalogueViewSet,
)
from chargepoints.api.groups import ChargePointGroupViewSet
from chargepoints.api.id_tags import IdTagViewSet
from chargepoints.api.local_list import LocalListSyncView
from chargepoints.api.reservations import ReservationDetailView, ReservationListView
from chargepoints.api.security import (
    CertificateAuthorityViewSet,
    ChargePointCertificatesView,
    SecurityEventViewSet,
    SecurityProfileUpgradeView,
)
from chargepoints.api.typed_commands import TYPED_COMMAND_VIEWS
from csms.alerts.api.views import AlertViewSet
from csms.api.views import CurrentTenantView
from csms.webhooks.api.views import EventViewSet, WebhookEndpointViewSet
from firmware.api.diagnostics import DiagnosticsRequestViewSet
from firmware.api.firmware_updates import FirmwareUpdateViewSet
from smartcharging.api.views import (
    ChargePointChargingProfilesView,
    ChargePointClearChargingProfilesView,
    ChargingProfileViewSet,
    ChargingSiteViewSet,
    CompositeScheduleView,
)
from transactions.api.exports import (
    EnergyReportView,
    TransactionExportView,
    TransactionMeterValuesExportView,
)
from transactions.api.views import TransactionViewSet


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Describes the tenant token in the OpenAPI document (registered on import)."""

    target_class = "csms.tenancy.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return build_bearer_security_scheme_object(
            header_name="Authorization",
            token_prefix="Bearer",  # noqa: S106 - the scheme's name, not a secret
        )


router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("charge-points", ChargePointViewSet, basename="charge-point")
router.register("id-tags", IdTagViewSet, basename="id-tag")
router.register("charge-point-groups", ChargePointGroupViewSet, basename="charge-point-group")
router.register("transactions", TransactionViewSet, basename="transaction")
router.register("commands", CommandViewSet, basename="command")
router.register("firmware-updates", FirmwareUpdateViewSet, basename="firmware-update")
router.register("diagnostics-requests", DiagnosticsRequestViewSet, basename="diagnostics-request")
router.register("charging-profiles", ChargingProfileViewSet, basename="charging-profile")
router.register("charging-sites", ChargingSiteViewSet, basename="charging-site")
router.register("webhooks", WebhookEndpointViewSet, basename="webhook")
router.register("events", EventViewSet, basename="event")
router.register("alerts", AlertViewSet, basename="alert")
router.register("security-events", SecurityEventViewSet, basename="security-event")
router.register(
    "certificate-authorities", CertificateAuthorityViewSet, basename="certificate-authority"
)
router.register(
    "configuration-baselines", ConfigurationBaselineViewSet, basename="configuration-baseline"
)
router.register(
    "configuration-keys", ConfigurationKeyCatalogueViewSet, basename="configuration-key"
)

urlpatterns = [
    path("tenant/", CurrentTenantView.as_view(), name="api-tenant"),
    path(
        "charge-points/<str:identity>/commands/",
        ChargePointCommandsView.as_view(),
        name="charge-point-commands",
    ),
    path(
        "charge-points/<str:identity>/configuration/",
        ChargePointConfigurationView.as_view(),
        name="charge-point-configuration",
    ),
    path(
        "charge-points/<str:identity>/composite-schedule/",
        CompositeScheduleView.as_view(),
        name="charge-point-composite-schedule",
    ),
    path(
        "charge-points/<str:identity>/charging-profiles/",
        ChargePointChargingProfilesView.as_view(),
        name="charge-point-charging-profiles",
    ),
    path(
        "charge-points/<str:identity>/clear-charging-profiles/",
        ChargePointClearChargingProfilesView.as_view(),
        name="charge-point-clear-charging-profiles",
    ),
    path(
        "charge-points/<str:identity>/local-list/sync/",
        LocalListSyncView.as_view(),
        name="charge-point-local-list-sync",
    ),
    # Before the router: "export.csv" is no transaction id.
    path("transactions/export.csv", TransactionExportView.as_view(), name="transaction-export"),
    path(
        "transactions/<int:pk>/meter-values/export.csv",
        TransactionMeterValuesExportView.as_view(),
        name="transaction-meter-values-export",
    ),
    path("reports/energy/", EnergyReportView.as_view(), name="energy-report"),
    *(
        path(
            f"charge-points/<str:identity>/{name}/",
            view.as_view(),
            name=f"charge-point-{name}",
        )
        for name, view in TYPED_COMMAND_VIEWS.items()
    ),
    path(
        "charge-points/<str:identity>/security-profile/",
        SecurityProfileUpgradeView.as_view(),
        name="charge-point-security-profile",
    ),
    path(
        "charge-points/<str:identity>/certificates/",
        ChargePointCertificatesView.as_view(),
        name="charge-point-certificates",
    ),
    path("reservations/", ReservationListView.as_view(), name="reservation-list"),
    path("reservations/<int:pk>/", ReservationDetailView.as_view(), name="reservation-detail"),
    path("", include(router.urls)),
]
