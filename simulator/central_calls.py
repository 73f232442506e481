"""Answers to Central-System calls, and what a charge point does after answering.

A configured answer (:class:`~simulator.answers.AnswerBook`) always wins; otherwise the
stateful actions are answered from the charge point's state and the rest with the defaults.
Whatever was answered, an ``Accepted`` (or ``Unlocked``) has its effect: a reset reboots,
a remote start starts a session, a charging profile limits the power, and so on.
"""

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from simulator import charging, status_flows
from simulator.answers import STATEFUL, Answer
from simulator.session import Connector, iso

if TYPE_CHECKING:
    from simulator.charge_point import SimulatedChargePoint

TRIGGERABLE = frozenset(
    {
        "BootNotification",
        "DiagnosticsStatusNotification",
        "FirmwareStatusNotification",
        "Heartbeat",
        "MeterValues",
        "StatusNotification",
    }
)
# Keys a charger accepts but never reports (the Basic-auth password, security whitepaper).
WRITE_ONLY = frozenset({"AuthorizationKey"})


def _seconds(value: float) -> str:
    """Whole seconds, as configuration keys hold them (a sped-up simulation rounds up)."""
    return str(max(1, round(value)))


def initial_configuration(cp: "SimulatedChargePoint") -> dict[str, tuple[str, bool]]:
    """OCPP 1.6 §9.1 core keys: ``key → (value, readonly)``."""
    config = cp.shared.config
    return {
        "AuthorizeRemoteTxRequests": ("false", False),
        "ClockAlignedDataInterval": ("0", False),
        "ConnectionTimeOut": ("60", False),
        "GetConfigurationMaxKeys": ("50", True),
        "HeartbeatInterval": (_seconds(config.heartbeat_interval or 300), False),
        "LocalAuthorizeOffline": ("true", False),
        "LocalPreAuthorize": ("false", False),
        "MeterValuesAlignedData": ("Energy.Active.Import.Register", False),
        "MeterValuesSampledData": (
            "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage,SoC",
            False,
        ),
        "MeterValueSampleInterval": (_seconds(config.meter_interval), False),
        "NumberOfConnectors": (str(len(cp.connectors)), True),
        "ResetRetries": ("1", False),
        "StopTransactionOnEVSideDisconnect": ("true", False),
        "StopTransactionOnInvalidId": ("true", False),
        "SupportedFeatureProfiles": (
            "Core,FirmwareManagement,LocalAuthListManagement,Reservation,SmartCharging,"
            "RemoteTrigger",
            True,
        ),
        "TransactionMessageAttempts": (str(config.tx_attempts), False),
        "TransactionMessageRetryInterval": (_seconds(config.tx_retry_interval), False),
        "UnlockConnectorOnEVSideDisconnect": ("true", False),
        "WebSocketPingInterval": ("0", False),
        "LocalAuthListEnabled": ("true", False),
        "LocalAuthListMaxLength": ("1000", True),
        "SendLocalListMaxLength": ("100", True),
        "ChargeProfileMaxStackLevel": ("10", True),
        "ChargingScheduleAllowedChargingRateUnit": ("Current,Power", True),
        "ChargingScheduleMaxPeriods": ("24", True),
        "MaxChargingProfilesInstalled": ("10", True),
    }


def answer(cp: "SimulatedChargePoint", action: str, payload: dict[str, Any]) -> Answer:
    configured = cp.shared.answers.configured(action)
    if configured is not None:
        return configured
    if action in STATEFUL:
        try:
            return _STATEFUL_ANSWERS[action](cp, payload)
        except (KeyError, TypeError, ValueError):
            return Answer(error_code="FormationViolation", error_description="Malformed request")
    return cp.shared.answers.default(action)


def _connector(cp: "SimulatedChargePoint", connector_id: Any) -> Connector | None:
    for connector in cp.connectors:
        if connector.connector_id == connector_id:
            return connector
    return None


def _with_transaction(cp: "SimulatedChargePoint", transaction_id: Any) -> Connector | None:
    for connector in cp.connectors:
        if connector.session is not None and connector.session.transaction_id == transaction_id:
            return connector
    return None


def _get_configuration(cp: "SimulatedChargePoint", payload: dict[str, Any]) -> Answer:
    wanted = payload.get("key") or [key for key in cp.configuration if key not in WRITE_ONLY]
    known = [key for key in wanted if key in cp.configuration and key not in WRITE_ONLY]
    return Answer(
        {
            "configurationKey": [
                {
                    "key": key,
                    "readonly": cp.configuration[key][1],
                    "value": cp.configuration[key][0],
                }
                for key in known
            ],
            "unknownKey": [key for key in wanted if key not in known],
        }
    )


def _change_configuration(cp: "SimulatedChargePoint", payload: dict[str, Any]) -> Answer:
    key, value = payload["key"], payload["value"]
    if key in WRITE_ONLY:
        return Answer({"status": "Accepted"})
    if key not in cp.configuration:
        return Answer({"status": "NotSupported"})
    current, readonly = cp.configuration[key]
    if readonly:
        return Answer({"status": "Rejected"})
    if current.isdigit() and not value.isdigit():
        return Answer({"status": "Rejected"})
    return Answer({"status": "Accepted"})


def _remote_start(cp: "SimulatedChargePoint", payload: dict[str, Any]) -> Answer:
    free = charging.free_connector(cp, payload.get("connectorId"))
    return Answer({"status": "Accepted" if free is not None else "Rejected"})


def _remote_stop(cp: "SimulatedChargePoint", payload: dict[str, Any]) -> Answer:
    found = _with_transaction(cp, payload["transactionId"])
    return Answer({"status": "Accepted" if found is not None else "Rejected"})


def _reserve_now(cp: "SimulatedChargePoint", payload: dict[str, Any]) -> Answer:
    connector_id = payload["connectorId"]
    if connector_id == 0:
        connector = charging.free_connector(cp)
        status = "Accepted" if connector is not None else "Occupied"
    else:
        connector = _connector(cp, connector_id)
        if connector is None:
            status = "Rejected"
        elif not connector.available:
            status = "Unavailable"
        elif connector.session is not None or connector.reservation_id is not None:
            status = "Occupied"
        else:
            status = "Accepted"
    return Answer({"status": status})


def _cancel_reservation(cp: "SimulatedChargePoint", payload: dict[str, Any]) -> Answer:
    known = any(c.reservation_id == payload["reservationId"] for c in cp.connectors)
    return Answer({"status": "Accepted" if known else "Rejected"})


def _trigger_message(cp: "SimulatedChargePoint", payload: dict[str, Any]) -> Answer:
    if payload["requestedMessage"] not in TRIGGERABLE:
        return Answer({"status": "NotImplemented"})
    connector_id = payload.get("connectorId")
    if connector_id not in (None, 0) and _connector(cp, connector_id) is None:
        return Answer({"status": "Rejected"})
    return Answer({"status": "Accepted"})


def _local_list_version(cp: "SimulatedChargePoint", payload: dict[str, Any]) -> Answer:
    return Answer({"listVersion": cp.local_list_version})


def _get_diagnostics(cp: "SimulatedChargePoint", payload: dict[str, Any]) -> Answer:
    str(payload["location"])  # required: a request without one is malformed
    return Answer({"fileName": status_flows.diagnostics_file_name(cp)})


_STATEFUL_ANSWERS = {
    "CancelReservation": _cancel_reservation,
    "ChangeConfiguration": _change_configuration,
    "GetConfiguration": _get_configuration,
    "GetDiagnostics": _get_diagnostics,
    "GetLocalListVersion": _local_list_version,
    "RemoteStartTransaction": _remote_start,
    "RemoteStopTransaction": _remote_stop,
    "ReserveNow": _reserve_now,
    "TriggerMessage": _trigger_message,
}


# --- Effects --------------------------------------------------------------------------------------


def after_answer(
    cp: "SimulatedChargePoint", action: str, payload: dict[str, Any], answer: Answer
) -> None:
    status = answer.status
    effect = _EFFECTS.get(action)
    if effect is not None and status in ("Accepted", "Unlocked", None):
        try:
            effect(cp, payload)
        except (KeyError, TypeError, ValueError, IndexError):
            cp.stats.error(f"could not apply {action}")


def _reset(cp: "SimulatedChargePoint", payload: dict[str, Any]) -> None:
    cp.spawn(reboot(cp, hard=payload.get("type") == "Hard"))


async def reboot(cp: "SimulatedChargePoint", *, hard: bool) -> None:
    """Stop every session (reason Soft/HardReset), then reboot: reconnect and boot again."""
    for connector in cp.connectors:
        charging.end(cp, connector, "HardReset" if hard else "SoftReset")
    if not hard:  # a soft reset delivers its StopTransactions first; a hard one after boot
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(cp.flushed(), cp.shared.config.call_timeout)
    cp.needs_boot = True
    cp.rebooting = True
    if hard:
        cp.abort()
    else:
        await cp.close()


def _remote_start_effect(cp: "SimulatedChargePoint", payload: dict[str, Any]) -> None:
    connector = charging.free_connector(cp, payload.get("connectorId"))
    if connector is None:
        return
    authorize = cp.configuration["AuthorizeRemoteTxRequests"][0] == "true"
    cp.spawn(charging.charge(cp, connector, id_tag=payload["idTag"], authorize=authorize))


def _remote_stop_effect(cp: "SimulatedChargePoint", payload: dict[str, Any]) -> None:
    connector = _with_transaction(cp, payload["transactionId"])
    if connector is not None:
        charging.end(cp, connector, "Remote")


def _change_configuration_effect(cp: "SimulatedChargePoint", payload: dict[str, Any]) -> None:
    key, value = payload["key"], payload["value"]
    if key == "AuthorizationKey":
        cp.password = value  # Basic auth from the next connection on (security profile 1/2)
        return
    if key not in cp.configuration or cp.configuration[key][1]:
        return
    cp.configuration[key] = (value, False)
    if key == "HeartbeatInterval" and value.isdigit() and int(value) > 0:
        cp.heartbeat_interval = float(value)
    elif key == "MeterValueSampleInterval" and value.isdigit() and int(value) > 0:
        cp.meter_interval = float(value)


def _trigger_effect(cp: "SimulatedChargePoint", payload: dict[str, Any]) -> None:
    requested = payload["requestedMessage"]
    connector_id = payload.get("connectorId")
    connectors = [c for c in cp.connectors if connector_id in (None, 0, c.connector_id)]
    if requested == "BootNotification":
        cp.submit("BootNotification", cp.boot_payload())
    elif requested == "Heartbeat":
        cp.submit("Heartbeat", {})
    elif requested == "StatusNotification":
        if connector_id in (None, 0):
            cp.submit("StatusNotification", charging.status_payload(0, "Available"))
        for connector in connectors:
            cp.submit("StatusNotification", charging.connector_status_payload(connector))
    elif requested == "MeterValues":
        for connector in connectors:
            register = {
                "value": str(connector.meter.register),
                "context": "Trigger",
                "measurand": "Energy.Active.Import.Register",
                "unit": "Wh",
            }
            cp.submit(
                "MeterValues",
                {
                    "connectorId": connector.connector_id,
                    "meterValue": [{"timestamp": iso(), "sampledValue": [register]}],
                },
            )
    elif requested == "DiagnosticsStatusNotification":
        cp.submit("DiagnosticsStatusNotification", {"status": cp.diagnostics_status})
    elif requested == "FirmwareStatusNotification":
        cp.submit("FirmwareStatusNotification", {"status": cp.firmware_status})


def _profile_limit_w(cp: "SimulatedChargePoint", profile: dict[str, Any]) -> float:
    schedule = profile["chargingSchedule"]
    periods = sorted(schedule["chargingSchedulePeriod"], key=lambda p: p["startPeriod"])
    limit = float(periods[0]["limit"])
    if schedule["chargingRateUnit"] == "W":
        return limit
    phases = periods[0].get("numberPhases") or max(cp.kind.phases, 1)
    return limit * cp.kind.voltage_v * phases


def _set_charging_profile(cp: "SimulatedChargePoint", payload: dict[str, Any]) -> None:
    limit = _profile_limit_w(cp, payload["csChargingProfiles"])
    for connector in cp.connectors:
        if payload["connectorId"] in (0, connector.connector_id):
            connector.meter.limit_w = limit


def _clear_charging_profile(cp: "SimulatedChargePoint", payload: dict[str, Any]) -> None:
    for connector in cp.connectors:
        if payload.get("connectorId") in (None, 0, connector.connector_id):
            connector.meter.limit_w = None


def _unlock(cp: "SimulatedChargePoint", payload: dict[str, Any]) -> None:
    connector = _connector(cp, payload["connectorId"])
    if connector is not None:
        charging.end(cp, connector, "UnlockCommand")


def _reserve(cp: "SimulatedChargePoint", payload: dict[str, Any]) -> None:
    connector_id = payload["connectorId"]
    connector = charging.free_connector(cp) if connector_id == 0 else _connector(cp, connector_id)
    if connector is not None and connector.session is None:
        connector.reservation_id = payload["reservationId"]
        charging.set_status(cp, connector, "Reserved")


def _cancel_reservation_effect(cp: "SimulatedChargePoint", payload: dict[str, Any]) -> None:
    for connector in cp.connectors:
        if connector.reservation_id == payload["reservationId"]:
            connector.reservation_id = None
            charging.set_status(cp, connector, "Available")


def _send_local_list(cp: "SimulatedChargePoint", payload: dict[str, Any]) -> None:
    cp.local_list_version = payload["listVersion"]


def _update_firmware(cp: "SimulatedChargePoint", payload: dict[str, Any]) -> None:
    cp.spawn(status_flows.firmware_update(cp, payload))


def _get_diagnostics_effect(cp: "SimulatedChargePoint", payload: dict[str, Any]) -> None:
    cp.spawn(status_flows.diagnostics_upload(cp, payload))


def _change_availability(cp: "SimulatedChargePoint", payload: dict[str, Any]) -> None:
    operative = payload["type"] == "Operative"
    for connector in cp.connectors:
        if payload["connectorId"] in (0, connector.connector_id):
            connector.available = operative
            if connector.session is None and not connector.faulted:
                charging.set_status(cp, connector, "Available" if operative else "Unavailable")


_EFFECTS = {
    "CancelReservation": _cancel_reservation_effect,
    "ChangeAvailability": _change_availability,
    "ChangeConfiguration": _change_configuration_effect,
    "ClearChargingProfile": _clear_charging_profile,
    "GetDiagnostics": _get_diagnostics_effect,
    "RemoteStartTransaction": _remote_start_effect,
    "RemoteStopTransaction": _remote_stop_effect,
    "ReserveNow": _reserve,
    "Reset": _reset,
    "SendLocalList": _send_local_list,
    "SetChargingProfile": _set_charging_profile,
    "TriggerMessage": _trigger_effect,
    "UnlockConnector": _unlock,
    "UpdateFirmware": _update_firmware,
}
