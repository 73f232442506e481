"""``/api/v1/``: each app contributes its routes to one router."""

from typing import Any

from django.urls import include, path
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework.routers import DefaultRouter

from chargepoints.api import ChargePointViewSet, IdTagViewSet
from chargepoints.command_api import (
    ChargePointCommandsView,
    ChargePointConfigurationView,
    CommandViewSet,
)
from csms.api.views import CurrentTenantView
from transactions.api import TransactionViewSet


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
router.register("transactions", TransactionViewSet, basename="transaction")
router.register("commands", CommandViewSet, basename="command")

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
    path("", include(router.urls)),
]
