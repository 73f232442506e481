"""How the smartcharging app reacts to the rest of the system (registered in apps.ready)."""

from typing import Any

from chargepoints.commands.hooks import command_payload_check, command_result_hook
from chargepoints.models import Command
from csms.ocpp.context import CallContext
from smartcharging.profile_rules import remote_start_profile_problems, set_charging_profile_problems
from smartcharging.services.installations import (
    installed_profile_record,
    installed_profiles_forget_cleared,
    installed_profiles_forget_transaction,
)
from smartcharging.services.sites import charging_site_rebalance_request_for
from transactions.models import Transaction
from transactions.services import transaction_started_hooks, transaction_stopped_hooks

# --- Commands: what is refused before sending, what an answer means ----------------------------


@command_payload_check("SetChargingProfile")
def set_charging_profile_check(payload: dict[str, Any]) -> str | None:
    problems = set_charging_profile_problems(payload)
    return "; ".join(map(str, problems)) or None


@command_payload_check("RemoteStartTransaction")
def remote_start_profile_check(payload: dict[str, Any]) -> str | None:
    problems = remote_start_profile_problems(payload)
    return "; ".join(f"charging_profile.{problem}" for problem in problems) or None


@command_result_hook("SetChargingProfile")
def record_installed_profile(command: Command) -> None:
    installed_profile_record(command=command)


@command_result_hook("ClearChargingProfile")
def forget_cleared_profiles(command: Command) -> None:
    installed_profiles_forget_cleared(command=command)


# --- Transactions: sites rebalance, TxProfiles end with their transaction ----------------------


def transaction_started(tx: Transaction, ctx: CallContext) -> None:
    charging_site_rebalance_request_for(charge_point_id=tx.charge_point_id)


def transaction_stopped(tx: Transaction, ctx: CallContext) -> None:
    installed_profiles_forget_transaction(
        charge_point_id=tx.charge_point_id, connector_id=tx.connector_id, transaction_id=tx.pk
    )
    charging_site_rebalance_request_for(charge_point_id=tx.charge_point_id)


def register() -> None:
    """Idempotent: the transaction hook lists are plain lists."""
    if transaction_started not in transaction_started_hooks:
        transaction_started_hooks.append(transaction_started)
    if transaction_stopped not in transaction_stopped_hooks:
        transaction_stopped_hooks.append(transaction_stopped)
