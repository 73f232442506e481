from typing import TYPE_CHECKING

from rest_framework.permissions import BasePermission

from csms.tenancy.authentication import TenantClient

if TYPE_CHECKING:  # rest_framework.views imports this module through api_settings
    from rest_framework.request import Request
    from rest_framework.views import APIView


class IsTenantClient(BasePermission):
    """Only requests authenticated by a tenant's API token."""

    def has_permission(self, request: "Request", view: "APIView") -> bool:
        return isinstance(request.user, TenantClient)
