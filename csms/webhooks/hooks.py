"""Events from the other apps' hook lists (registered in apps.ready, idempotently)."""

from chargepoints.services.charge_points import charge_point_booted_hooks
from csms.webhooks.emitters import (
    charge_point_booted_emit,
    transaction_started_emit,
    transaction_stopped_emit,
)
from transactions.services import transaction_started_hooks, transaction_stopped_hooks


def register() -> None:
    for hooks, hook in (
        (charge_point_booted_hooks, charge_point_booted_emit),
        (transaction_started_hooks, transaction_started_emit),
        (transaction_stopped_hooks, transaction_stopped_emit),
    ):
        if hook not in hooks:
            hooks.append(hook)
