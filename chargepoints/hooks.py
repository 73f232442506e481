"""How the chargepoints app reacts to boots and transactions (registered in apps.ready).

Command result hooks register on import of their modules (local_list_sync, reservations,
configuration_apply).
"""

from chargepoints.configuration.apply import configuration_after_boot
from chargepoints.local_list_sync import local_list_after_boot
from chargepoints.reservations import reservation_used_by
from chargepoints.services import charge_point_booted_hooks
from transactions.services import transaction_started_hooks


def register() -> None:
    """Idempotent: the hook lists are plain lists."""
    if local_list_after_boot not in charge_point_booted_hooks:
        charge_point_booted_hooks.append(local_list_after_boot)
    if configuration_after_boot not in charge_point_booted_hooks:
        charge_point_booted_hooks.append(configuration_after_boot)
    if reservation_used_by not in transaction_started_hooks:
        transaction_started_hooks.append(reservation_used_by)
