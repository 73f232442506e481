from django.apps import AppConfig


class FirmwareConfig(AppConfig):
    name = "firmware"

    def ready(self) -> None:
        # The OCPP actions it answers, and how it reacts to events (csms.events).
        from firmware import handlers, receivers  # noqa: F401
