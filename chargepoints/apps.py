from django.apps import AppConfig


class ChargePointsConfig(AppConfig):
    name = "chargepoints"

    def ready(self) -> None:
        from chargepoints import handlers  # noqa: F401 - registers the OCPP actions it answers
