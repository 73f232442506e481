from django.apps import AppConfig


class CsmsConfig(AppConfig):
    """The platform itself: OCPP-J transport, API root, platform management commands."""

    name = "csms"
    verbose_name = "Central System"

    def ready(self) -> None:
        from csms import admin_lockouts  # noqa: F401 - registers its django-axes receiver
