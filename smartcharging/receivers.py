"""How smart charging reacts to the rest of the system (csms.events; imported by apps.ready):
what a charge point's answers mean for its installed profiles, and the site rebalancing and
TxProfile ends that transactions bring."""

from csms.events import CommandCompleted, TransactionStarted, TransactionStopped, subscriber
from smartcharging.services.installations import (
    installed_profile_from_remote_start,
    installed_profile_record,
    installed_profiles_forget_cleared,
    installed_profiles_forget_transaction,
)
from smartcharging.services.rejections import profile_answer_record
from smartcharging.services.sites import charging_site_rebalance_request_for


@subscriber(CommandCompleted, action="SetChargingProfile", isolated=True)
def record_installed_profile(event: CommandCompleted) -> None:
    installed_profile_record(command=event)


@subscriber(CommandCompleted, action="SetChargingProfile", isolated=True)
def record_rejected_profile(event: CommandCompleted) -> None:
    profile_answer_record(command=event)


@subscriber(CommandCompleted, action="RemoteStartTransaction", isolated=True)
def record_remote_start_profile(event: CommandCompleted) -> None:
    installed_profile_from_remote_start(command=event)


@subscriber(CommandCompleted, action="ClearChargingProfile", isolated=True)
def forget_cleared_profiles(event: CommandCompleted) -> None:
    installed_profiles_forget_cleared(command=event)


@subscriber(TransactionStarted)
def transaction_started(event: TransactionStarted) -> None:
    charging_site_rebalance_request_for(charge_point_id=event.charge_point_id)


@subscriber(TransactionStopped)
def transaction_stopped(event: TransactionStopped) -> None:
    installed_profiles_forget_transaction(
        charge_point_id=event.charge_point_id,
        connector_id=event.connector_id,
        transaction_id=event.transaction_id,
    )
    charging_site_rebalance_request_for(charge_point_id=event.charge_point_id)
