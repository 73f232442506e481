"""A charger that answers a Central-System CALL and closes its socket right after (as they do
after a Reset or an AuthorizationKey change): the answer is always recorded (issue 16 §6).

200 times, over four charge points at once: a command is queued, the charger connects, takes
the CALL, sends its CALLRESULT and closes at once. Every command ends ``completed`` with the
charger's answer: none ``failed`` as "closed before the charge point answered", none left
``sent``.
"""

import asyncio
import json
from collections import Counter
from collections.abc import Callable

import pytest

from chargepoints.commands.dispatch import command_dispatch
from chargepoints.models import ChargePoint, Command, CommandStatus
from chargepoints.services.charge_points import charge_point_create
from csms.tenancy.models import Tenant
from tests.async_orm import orm
from tests.faults.figures import figures_keep
from tests.ocpp_clients import open_socket, recv_json
from tests.waiting import until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

REPEATS = 200
CHARGE_POINTS = 4
COMMANDS = [
    ("ClearCache", {}),
    ("ClearChargingProfile", {"id": 7}),
]


def _queue(identity: str, number: int) -> int:
    action, payload = COMMANDS[number % len(COMMANDS)]
    charge_point = ChargePoint.objects.get(identity=identity)
    return command_dispatch(charge_point=charge_point, action=action, payload=payload).pk


async def _answer_and_close(url: str, identity: str, rounds: int) -> None:
    for number in range(rounds):
        await orm(_queue, identity, number)
        async with open_socket(url) as ws:
            frame = await recv_json(ws)
            assert frame[0] == 2, frame
            await ws.send(json.dumps([3, frame[1], {"status": "Accepted"}]))
        # the async with closed the socket right after the answer went out


def _statuses(identities: list[str]) -> Counter[str]:
    return Counter(
        Command.objects.filter(charge_point__identity__in=identities).values_list(
            "status", flat=True
        )
    )


async def test_an_answer_followed_by_a_close_is_always_recorded(
    cp_url: Callable[[str], str], tenant: Tenant
) -> None:
    identities = [f"CP-A{number}" for number in range(CHARGE_POINTS)]
    for identity in identities:
        await orm(charge_point_create, tenant=tenant, identity=identity)
    rounds = REPEATS // CHARGE_POINTS
    await asyncio.gather(
        *(_answer_and_close(cp_url(identity), identity, rounds) for identity in identities)
    )

    async def settled() -> bool:
        statuses = await orm(_statuses, identities)
        return not statuses[CommandStatus.SENT] and not statuses[CommandStatus.QUEUED]

    await until(settled, within=10, what=lambda: "commands still sent or queued")
    statuses = await orm(_statuses, identities)
    responses = await orm(
        lambda: list(
            Command.objects.filter(charge_point__identity__in=identities).values_list(
                "response", flat=True
            )
        )
    )
    figures_keep("answer_then_close", dict(statuses))
    assert statuses == Counter({CommandStatus.COMPLETED: REPEATS})
    assert responses == [{"status": "Accepted"}] * REPEATS
