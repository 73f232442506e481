"""Console endpoints, mounted under ``/admin/console/`` (before the admin's own catch-all)."""

from django.urls import path

from csms.console import views

app_name = "console"
urlpatterns = [
    path("tiles/", views.fleet_tiles_fragment, name="tiles"),
    path("pick/<slug:kind>/", views.picker, name="pick"),
]
