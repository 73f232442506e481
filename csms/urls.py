from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from csms import health
from csms.metrics import views as metrics_views

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # Prometheus (restricted: csms.metrics.access).
    path("metrics", metrics_views.metrics, name="metrics"),
    # The console's fragments and data (tiles, charts, pickers): before the admin's catch-all.
    path("admin/console/", include("csms.console.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("csms.api.urls")),
    # Diagnostics upload receiver (firmware app): charge points upload here, no API token.
    path("uploads/", include("firmware.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

admin.site.site_header = "CSMS — Central System administration"
admin.site.site_title = "CSMS admin"
admin.site.index_title = "Operations"

# Unknown /api/ paths and crashes outside DRF views answer in the API's one error shape.
handler404 = "csms.api.exceptions.not_found"
handler500 = "csms.api.exceptions.server_error"
