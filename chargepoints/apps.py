from django.apps import AppConfig


class ChargePointsConfig(AppConfig):
    name = "chargepoints"

    def ready(self) -> None:
        # The OCPP actions it answers; the command payload checks and result hooks register on
        # import of their modules (configuration mirror and baselines, local-list sync,
        # reservations).
        from chargepoints import handlers  # noqa: F401
        from chargepoints.authorization.local_list_sync import local_list_after_boot
        from chargepoints.configuration import mirror  # noqa: F401
        from chargepoints.configuration.apply import configuration_after_boot
        from chargepoints.reservations.services import reservation_used_by
        from chargepoints.services.charge_points import charge_point_booted_hooks
        from transactions.services import transaction_started_hooks

        # How it reacts to boots and transactions. Idempotent: the hook lists are plain lists.
        for hooks, hook in (
            (charge_point_booted_hooks, local_list_after_boot),
            (charge_point_booted_hooks, configuration_after_boot),
            (transaction_started_hooks, reservation_used_by),
        ):
            if hook not in hooks:
                hooks.append(hook)
