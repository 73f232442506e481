from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "csms.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        # Every domain event an integrator can subscribe to, from the event bus (csms.events).
        from csms.webhooks import receivers, workflow_receivers  # noqa: F401
