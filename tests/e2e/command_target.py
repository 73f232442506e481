"""The charge point of the command tests: it answers every Central-System action of OCPP 1.6
§5 and the security extension as scripted, records the wire, and can hold its answers back.
With it, what each action sends and what the charge point answers."""

import asyncio
import contextlib
import json
from typing import Any

from ocpp.charge_point import camel_to_snake_case
from ocpp.routing import on
from ocpp.v16 import call_result
from ocpp.v16.enums import Action

from chargepoints.models import Command
from tests.async_orm import orm
from tests.ocpp_clients import Client, connected_as
from tests.waiting import ANSWER_TIMEOUT, eventually, until

# --- What each Central-System action sends, and what the charge point answers ---------------

# The 19 core actions of OCPP 1.6 §5, with payloads that use their optional fields too.
CORE_COMMANDS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "CancelReservation": ({"reservationId": 42}, {"status": "Accepted"}),
    "ChangeAvailability": ({"connectorId": 1, "type": "Inoperative"}, {"status": "Scheduled"}),
    "ChangeConfiguration": (
        {"key": "HeartbeatInterval", "value": "120"},
        {"status": "RebootRequired"},
    ),
    "ClearCache": ({}, {"status": "Rejected"}),
    "ClearChargingProfile": (
        {"id": 7, "connectorId": 1, "chargingProfilePurpose": "TxDefaultProfile", "stackLevel": 2},
        {"status": "Unknown"},
    ),
    "DataTransfer": (
        {"vendorId": "com.example", "messageId": "Ping", "data": '{"n": 1}'},
        {"status": "Accepted", "data": "pong"},
    ),
    "GetCompositeSchedule": (
        {"connectorId": 1, "duration": 3600, "chargingRateUnit": "W"},
        {
            "status": "Accepted",
            "connectorId": 1,
            "scheduleStart": "2024-05-01T10:00:00Z",
            "chargingSchedule": {
                "duration": 3600,
                "chargingRateUnit": "W",
                "chargingSchedulePeriod": [
                    {"startPeriod": 0, "limit": 7400.5, "numberPhases": 3},
                    {"startPeriod": 1800, "limit": 3700},
                ],
            },
        },
    ),
    "GetConfiguration": (
        {"key": ["HeartbeatInterval"]},
        {"configurationKey": [{"key": "HeartbeatInterval", "readonly": False, "value": "300"}]},
    ),
    "GetDiagnostics": (
        {
            "location": "ftp://diag.example.com/upload/",
            "retries": 2,
            "retryInterval": 30,
            "startTime": "2024-05-01T00:00:00Z",
            "stopTime": "2024-05-01T10:00:00Z",
        },
        {"fileName": "diagnostics-CP-1.zip"},
    ),
    "GetLocalListVersion": ({}, {"listVersion": 17}),
    "RemoteStartTransaction": (
        {
            "connectorId": 1,
            "idTag": "TAG-1",
            "chargingProfile": {
                "chargingProfileId": 1,
                "stackLevel": 0,
                "chargingProfilePurpose": "TxProfile",
                "chargingProfileKind": "Relative",
                "chargingSchedule": {
                    "chargingRateUnit": "A",
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}],
                },
            },
        },
        {"status": "Accepted"},
    ),
    "RemoteStopTransaction": ({"transactionId": 123}, {"status": "Rejected"}),
    "ReserveNow": (
        {
            "connectorId": 1,
            "expiryDate": "2030-01-01T12:00:00Z",
            "idTag": "TAG-1",
            "parentIdTag": "FLEET-1",
            "reservationId": 42,
        },
        {"status": "Occupied"},
    ),
    "Reset": ({"type": "Soft"}, {"status": "Accepted"}),
    "SendLocalList": (
        {
            "listVersion": 18,
            "updateType": "Differential",
            "localAuthorizationList": [
                {
                    "idTag": "TAG-1",
                    "idTagInfo": {"status": "Accepted", "expiryDate": "2030-01-01T00:00:00Z"},
                },
                {"idTag": "TAG-GONE"},
            ],
        },
        {"status": "VersionMismatch"},
    ),
    "SetChargingProfile": (
        {
            "connectorId": 0,
            "csChargingProfiles": {
                "chargingProfileId": 9,
                "stackLevel": 1,
                "chargingProfilePurpose": "ChargePointMaxProfile",
                "chargingProfileKind": "Recurring",
                "recurrencyKind": "Daily",
                "chargingSchedule": {
                    "chargingRateUnit": "W",
                    "startSchedule": "2024-05-01T00:00:00Z",
                    "chargingSchedulePeriod": [
                        {"startPeriod": 0, "limit": 22000},
                        {"startPeriod": 28800, "limit": 11000.5, "numberPhases": 1},
                    ],
                },
            },
        },
        {"status": "Accepted"},
    ),
    "TriggerMessage": (
        {"requestedMessage": "StatusNotification", "connectorId": 1},
        {"status": "Accepted"},
    ),
    "UnlockConnector": ({"connectorId": 2}, {"status": "Unlocked"}),
    "UpdateFirmware": (
        {
            "location": "https://fw.example.com/fw-2.0.bin",
            "retrieveDate": "2024-05-02T03:00:00Z",
            "retries": 3,
            "retryInterval": 60,
        },
        {},  # UpdateFirmware.conf has no fields
    ),
}

CERTIFICATE_HASH = {
    "hashAlgorithm": "SHA256",
    "issuerNameHash": "a1b2c3",
    "issuerKeyHash": "d4e5f6",
    "serialNumber": "0123",
}
# The security extension's Central-System actions (SPEC §4).
SECURITY_COMMANDS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "CertificateSigned": (
        {"certificateChain": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"},
        {"status": "Accepted"},
    ),
    "DeleteCertificate": ({"certificateHashData": CERTIFICATE_HASH}, {"status": "NotFound"}),
    "ExtendedTriggerMessage": (
        {"requestedMessage": "SignChargePointCertificate"},
        {"status": "Accepted"},
    ),
    "GetInstalledCertificateIds": (
        {"certificateType": "CentralSystemRootCertificate"},
        {"status": "Accepted", "certificateHashData": [CERTIFICATE_HASH]},
    ),
    "GetLog": (
        {
            "logType": "SecurityLog",
            "requestId": 3,
            "log": {
                "remoteLocation": "https://logs.example.com/upload",
                "oldestTimestamp": "2024-05-01T00:00:00Z",
            },
        },
        {"status": "Accepted", "filename": "security.log"},
    ),
    "InstallCertificate": (
        {"certificateType": "ManufacturerRootCertificate", "certificate": "-----BEGIN..."},
        {"status": "Rejected"},
    ),
    "SignedUpdateFirmware": (
        {
            "requestId": 11,
            "retries": 1,
            "firmware": {
                "location": "https://fw.example.com/fw-2.1.bin",
                "retrieveDateTime": "2024-05-02T03:00:00Z",
                "signingCertificate": "-----BEGIN CERTIFICATE-----",
                "signature": "c2lnbmF0dXJl",
            },
        },
        {"status": "Accepted"},
    ),
}
ANSWERS = {action: answer for action, (_, answer) in (CORE_COMMANDS | SECURITY_COMMANDS).items()}


# --- The charge point ---------------------------------------------------------------------------


class CommandTarget(Client):
    """A charge point that answers the Central System's CALLs as scripted and records the wire.

    Each incoming CALL is handled in a task of its own, like firmware that keeps reading its
    socket while it works on a request: a second CALL sent before the first is answered would
    be seen (``most_outstanding``), and our own CALLs get their answers meanwhile.
    """

    def __init__(self, identity: str, connection: Any) -> None:
        super().__init__(identity, connection)
        # An answer (camelCase, as on the wire) or an OCPP error to answer with, per action.
        self.answers: dict[str, dict[str, Any] | Exception] = dict(ANSWERS)
        self.calls: list[list[Any]] = []  # every CALL frame received, in order
        self.answered: dict[str, list[Any]] = {}  # message id → the frame we answered with
        self.outstanding: set[str] = set()
        self.most_outstanding = 0
        self.release = asyncio.Event()  # answers wait while this is clear
        self.release.set()
        self.answer_delay = 0.0
        self._handling: set[asyncio.Task[None]] = set()

    async def route_message(self, raw_msg: str) -> None:
        frame = json.loads(raw_msg)
        if frame[0] != 2:
            await super().route_message(raw_msg)
            return
        self.calls.append(frame)
        self.outstanding.add(frame[1])
        self.most_outstanding = max(self.most_outstanding, len(self.outstanding))
        task = asyncio.create_task(super().route_message(raw_msg))
        self._handling.add(task)
        task.add_done_callback(self._handling.discard)

    async def _send(self, message: str) -> None:
        frame = json.loads(message)
        if frame[0] in (3, 4):
            # No longer outstanding before the server can possibly see the answer.
            self.outstanding.discard(frame[1])
            self.answered[frame[1]] = frame
        await super()._send(message)

    async def calls_received(self, count: int, *, within: float = ANSWER_TIMEOUT) -> list[Any]:
        async def arrived() -> bool:
            return len(self.calls) >= count

        await until(
            arrived, within=within, what=lambda: f"got {len(self.calls)} CALLs, not {count}"
        )
        return self.calls[:count]

    def stop(self) -> None:
        for task in self._handling:
            task.cancel()

    async def _answer(self, action: str) -> Any:
        await self.release.wait()
        if self.answer_delay:
            await asyncio.sleep(self.answer_delay)
        answer = self.answers[action]
        if isinstance(answer, Exception):
            raise answer
        return getattr(call_result, action)(**camel_to_snake_case(answer))


def _answering(action: Action) -> Any:
    async def handler(self: CommandTarget, **_: Any) -> Any:
        return await self._answer(action)

    # The ocpp package routes by the handler's name, registered when @on marks it.
    handler.__name__ = f"on_{action}"
    return on(action)(handler)


# One handler per Central-System action (OCPP 1.6 §5 and the security extension).
for _action in ANSWERS:
    _handler = _answering(Action(_action))
    setattr(CommandTarget, _handler.__name__, _handler)


def online(
    url: str, identity: str, *, headers: dict[str, str] | None = None
) -> contextlib.AbstractAsyncContextManager[CommandTarget]:
    """The charge point connected; on exit, closed and seen offline by the server (so the
    server's clean-up of this connection cannot overlap the next test)."""
    return connected_as(CommandTarget, url, identity, headers=headers)


async def command_row(command_id: int) -> Command:
    return await orm(Command.objects.get, pk=command_id)


async def command_in(command_id: int, *statuses: str, within: float = ANSWER_TIMEOUT) -> Command:
    """The command once its status is one of ``statuses`` (fails after ``within``)."""

    async def probe() -> Command | None:
        command = await command_row(command_id)
        return command if command.status in statuses else None

    command = await eventually(probe, within=within)
    assert command is not None, (await command_row(command_id)).status
    return command


async def command_count() -> int:
    return await orm(Command.objects.count)
