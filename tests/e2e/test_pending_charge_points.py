"""Pending charge points get what they were asked for (issue 18 §3, OCPP 1.6 §4.2.1): the
message the Central System requested with TriggerMessage is answered normally while Pending,
and a charge point that admission control answered Pending is sent nothing that a Pending one
may not be sent. The real daphne, charge points on the ``ocpp`` package."""

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from ocpp.exceptions import OCPPError
from ocpp.routing import after, on
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action

from chargepoints.models import ChargePoint, Command, CommandStatus, RegistrationStatus
from csms.tenancy.models import Tenant
from tests.async_orm import orm
from tests.http_clients import HttpApi
from tests.ocpp_clients import RecordingClient, connected_as, ocpp_url
from tests.servers import ServerProcess, daphne_running, no_crash_logged
from tests.waiting import until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


# What a charger sends for each message TriggerMessage may ask for (OCPP 1.6 §5.17).
TRIGGERED: dict[str, Any] = {
    "StatusNotification": call.StatusNotification(
        connector_id=1, error_code="NoError", status="Available"
    ),
    "Heartbeat": call.Heartbeat(),
    "MeterValues": call.MeterValues(
        connector_id=1,
        meter_value=[{"timestamp": now(), "sampledValue": [{"value": "1200"}]}],
    ),
    "DiagnosticsStatusNotification": call.DiagnosticsStatusNotification(status="Idle"),
    "FirmwareStatusNotification": call.FirmwareStatusNotification(status="Idle"),
}


class TriggeredChargePoint(RecordingClient):
    """Accepts every TriggerMessage and then sends the requested message, keeping what the
    Central System answered (or the CALLERROR it raised)."""

    def __init__(self, identity: str, connection: Any) -> None:
        super().__init__(identity, connection)
        self.triggered_answers: dict[str, Any] = {}
        self._sending: set[asyncio.Task[None]] = set()

    @on(Action.trigger_message)
    async def on_trigger_message(self, requested_message: str, **_: Any) -> Any:
        return call_result.TriggerMessage(status="Accepted")

    @after(Action.trigger_message)
    async def after_trigger_message(self, requested_message: str, **_: Any) -> None:
        task = asyncio.create_task(self._send_triggered(requested_message))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send_triggered(self, requested_message: str) -> None:
        try:
            self.triggered_answers[requested_message] = await self.ask(TRIGGERED[requested_message])
        except OCPPError as refusal:
            self.triggered_answers[requested_message] = refusal

    @on(Action.get_configuration)
    async def on_get_configuration(self, **_: Any) -> Any:
        return call_result.GetConfiguration(configuration_key=[])

    @on(Action.remote_start_transaction)
    async def on_remote_start(self, **_: Any) -> Any:
        return call_result.RemoteStartTransaction(status="Accepted")


async def boot(cp: RecordingClient) -> Any:
    return await cp.ask(call.BootNotification(charge_point_vendor="V", charge_point_model="M"))


@pytest.mark.parametrize("message", sorted(TRIGGERED))
async def test_a_pending_charge_point_is_answered_the_message_we_triggered(
    url: str, charge_point: ChargePoint, http_api: HttpApi, message: str
) -> None:
    await orm(
        ChargePoint.objects.filter(pk=charge_point.pk).update,
        registration_status=RegistrationStatus.PENDING,
    )
    async with connected_as(TriggeredChargePoint, url, "CP-1", seen_online=True) as cp:
        assert (await boot(cp)).status == "Pending"
        # Unasked, the same message is refused while Pending.
        with pytest.raises(OCPPError) as unasked:
            await cp.ask(TRIGGERED[message])

        payload: dict[str, Any] = {"requestedMessage": message}
        if message in ("StatusNotification", "MeterValues"):
            payload["connectorId"] = 1
        sent = await http_api.command("CP-1", "TriggerMessage", payload)

        async def answered() -> Any:
            return cp.triggered_answers.get(message)

        answer = await until(answered, what=lambda: f"{message} was never answered")
    assert unasked.value.code == "SecurityError"
    assert sent.body["response"] == {"status": "Accepted"}
    assert not isinstance(answer, OCPPError), answer


@pytest.fixture(scope="module")
def saturated_server(django_db_setup: None, django_db_blocker: Any) -> Iterator[ServerProcess]:
    """A daphne whose admission control answers every BootNotification Pending."""
    with daphne_running(OCPP_ADMISSION_MAX_IN_FLIGHT="0") as server:
        yield server


@pytest.fixture
def saturated_api(
    saturated_server: ServerProcess, tenant: Tenant, api_for: Callable[..., HttpApi]
) -> HttpApi:
    """The tenant API of the saturated server."""
    return api_for(tenant, server=saturated_server.ws_url)


async def test_a_charge_point_deferred_by_admission_is_sent_only_what_pending_allows(
    saturated_server: ServerProcess, saturated_api: HttpApi, charge_point: ChargePoint
) -> None:
    http_api = saturated_api
    url = ocpp_url(saturated_server.ws_url, "acme", "CP-1")
    with no_crash_logged(saturated_server):
        async with connected_as(TriggeredChargePoint, url, "CP-1", seen_online=True) as cp:
            # Accepted in our records, but told Pending by a saturated server.
            assert (await boot(cp)).status == "Pending"
            start = await http_api.post(
                "/charge-points/CP-1/commands/?wait=1",
                {"action": "RemoteStartTransaction", "payload": {"idTag": "TAG-1"}},
            )
            configuration = await http_api.command("CP-1", "GetConfiguration", {})
            await asyncio.sleep(1)  # a wrongly released RemoteStart would be on the wire now
    assert configuration.body["status"] == "completed"
    assert start.status == 202
    assert cp.actions() == ["GetConfiguration"]
    held = await orm(Command.objects.get, pk=start.body["id"])
    assert held.status == CommandStatus.QUEUED
