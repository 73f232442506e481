from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "csms.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        # Boot and transaction events come from the other apps' hook lists.
        from csms.webhooks import hooks
        from csms.webhooks.services import events  # noqa: F401 - connects the cache's signals

        hooks.register()
