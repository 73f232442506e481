from importlib.util import find_spec

from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "csms.alerts"
    label = "alerts"
    verbose_name = "Alerts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # HOOK (issue 14 §2, H4): the receivers subscribe on the event bus, csms/events.py.
        # Until the bus is on main there is nothing to subscribe to; once it is, they register
        # here with no further change (the integrator may then make this a plain import).
        if find_spec("csms.events") is not None:
            from csms.alerts import receivers  # noqa: F401 - registers the bus subscribers
