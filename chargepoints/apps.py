from django.apps import AppConfig


class ChargePointsConfig(AppConfig):
    name = "chargepoints"

    def ready(self) -> None:
        # Registers the OCPP actions it answers and the command result hooks it keeps.
        from chargepoints import handlers, hooks  # noqa: F401
        from chargepoints.configuration import mirror  # noqa: F401

        hooks.register()
