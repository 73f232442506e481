from django.apps import AppConfig


class SmartChargingConfig(AppConfig):
    name = "smartcharging"

    def ready(self) -> None:
        # The command payload checks it owns, and how it reacts to events (csms.events).
        from smartcharging import command_checks, receivers  # noqa: F401
