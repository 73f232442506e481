"""``/api/v1/``: each app contributes its routes to one router."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from csms.api.views import CurrentTenantView

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False

urlpatterns = [
    path("tenant/", CurrentTenantView.as_view(), name="api-tenant"),
    path("", include(router.urls)),
]
