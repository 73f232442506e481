"""``/uploads/``: the diagnostics upload receiver (no API token; the URL is the credential)."""

from django.urls import path

from firmware.uploads import diagnostics_upload

urlpatterns = [
    # GetDiagnostics.location is a directory: charge points PUT/POST to it or to a file in it.
    path("diagnostics/<str:token>/", diagnostics_upload, name="diagnostics-upload"),
    path("diagnostics/<str:token>", diagnostics_upload),
    path("diagnostics/<str:token>/<path:file_name>", diagnostics_upload),
]
