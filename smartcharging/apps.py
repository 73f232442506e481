from django.apps import AppConfig


class SmartChargingConfig(AppConfig):
    name = "smartcharging"

    def ready(self) -> None:
        # Command payload checks and result hooks register on import; transaction hooks here.
        from smartcharging import hooks

        hooks.register()
