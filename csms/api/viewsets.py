"""The one tenant-scoping mechanism every tenant API view inherits (STYLE §2).

A view names the path from its model to the tenant (``tenant_field``); the queryset is filtered
by the authenticated token's tenant before anything else sees it, so another tenant's object is
a 404 exactly like a missing one, and created objects are stamped with the caller's tenant.
"""

from django.db.models import Model, QuerySet
from rest_framework import mixins, viewsets
from rest_framework.serializers import BaseSerializer

from csms.tenancy.authentication import TenantClient
from csms.tenancy.models import Tenant


class TenantScopedMixin:
    tenant_field: str = "tenant"

    @property
    def tenant(self) -> Tenant:
        client = self.request.user  # type: ignore[attr-defined]
        assert isinstance(client, TenantClient), "tenant views need IsTenantClient"  # noqa: S101
        return client.tenant

    def get_queryset(self) -> QuerySet[Model]:
        return super().get_queryset().filter(**{self.tenant_field: self.tenant})  # type: ignore[misc]

    def get_serializer_context(self) -> dict:
        context = super().get_serializer_context()  # type: ignore[misc]
        if getattr(self, "request", None) is not None and isinstance(
            self.request.user,
            TenantClient,  # type: ignore[attr-defined]
        ):
            context["tenant"] = self.tenant
        return context

    def perform_create(self, serializer: BaseSerializer) -> None:
        if self.tenant_field == "tenant":
            serializer.save(tenant=self.tenant)
        else:
            serializer.save()


class TenantScopedViewSet(TenantScopedMixin, viewsets.GenericViewSet):
    """Base of every tenant API viewset; add the DRF mixins the resource needs."""


class TenantScopedReadOnlyViewSet(
    TenantScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    pass


class TenantScopedModelViewSet(TenantScopedMixin, viewsets.ModelViewSet):
    pass
