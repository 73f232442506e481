from django.apps import AppConfig


class ChargePointsConfig(AppConfig):
    name = "chargepoints"

    def ready(self) -> None:
        # The OCPP actions it answers, the command payload checks it owns (registered on import
        # of the configuration mirror), and how it reacts to events (csms.events).
        from chargepoints import handlers, receivers  # noqa: F401
        from chargepoints.configuration import mirror  # noqa: F401
