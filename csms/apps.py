from django.apps import AppConfig


class CsmsConfig(AppConfig):
    """The platform itself: OCPP-J transport, API root, platform management commands."""

    name = "csms"
    verbose_name = "Central System"
