from django.apps import AppConfig


class TransactionsConfig(AppConfig):
    name = "transactions"

    def ready(self) -> None:
        from transactions import handlers  # noqa: F401 - registers the OCPP actions it answers
