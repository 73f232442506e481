from django.apps import AppConfig


class FirmwareConfig(AppConfig):
    name = "firmware"

    def ready(self) -> None:
        from firmware import handlers  # noqa: F401 - registers the OCPP actions it answers
