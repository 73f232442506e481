from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "csms.alerts"
    label = "alerts"
    verbose_name = "Alerts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from csms.alerts import receivers  # noqa: F401 - registers the bus subscribers
