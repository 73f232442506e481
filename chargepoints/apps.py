from django.apps import AppConfig


class ChargePointsConfig(AppConfig):
    name = "chargepoints"

    def ready(self) -> None:
        # Registers the OCPP actions it answers and the command result hooks it keeps.
        from chargepoints import configuration, handlers, hooks  # noqa: F401

        hooks.register()
