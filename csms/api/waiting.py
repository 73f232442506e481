"""``?wait=N`` on a request that sends a command to a charge point: how long to wait for its
answer, how the OpenAPI document says so, and the answer once it came or the time ran out.

The views that use it are async: waiting for a charge point must not hold the thread that sync
views and ORM work share under ASGI (PERFORMANCE.md), so only the reads run in a thread.
"""

from collections.abc import Callable
from typing import Any, TypeVar, cast

from asgiref.sync import sync_to_async
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from chargepoints.commands.waiting import command_wait
from chargepoints.models import Command
from chargepoints.selectors import charge_point_is_connected

MAX_WAIT_SECONDS = 60

WAIT_PARAMETER = OpenApiParameter(
    "wait",
    float,
    description=f"Seconds (≤ {MAX_WAIT_SECONDS}) to wait for the charge point's answer",
)

Subject = TypeVar("Subject")


def wait_seconds(request: Request) -> float:
    """The `?wait=` of a request that sends a command: 0-60 seconds, else 400."""
    raw = request.query_params.get("wait", "0")
    try:
        wait = float(raw)
    except ValueError:
        raise ValidationError({"wait": "must be a number of seconds"}) from None
    if not 0 <= wait <= MAX_WAIT_SECONDS:
        raise ValidationError({"wait": f"must be between 0 and {MAX_WAIT_SECONDS}"})
    return wait


async def answer_after_wait(
    subject: Subject,
    *,
    wait: float,
    command_of: Callable[[Subject], Command | None],
    represent: Callable[[Subject], Any],
    reread: Callable[[], Subject] | None = None,
    done: int = status.HTTP_201_CREATED,
) -> Response:
    """Wait up to ``wait`` seconds for the charge point to answer the command of ``subject``
    (not at all once it has, or while the charge point is offline), then answer ``subject`` as
    it is then: ``done`` if the command finished, 202 while the charge point has not answered.

    After a wait, ``reread`` reads the subject again (the receivers of its answer ran in the
    transaction that finished the command); without one the subject is the command itself, as
    the wait last read it. ``represent`` and ``reread`` run in a thread.
    """
    command = command_of(subject)
    if (
        wait
        and command is not None
        and not command.finished
        # An offline charge point cannot answer within the wait: 202 now, not after it.
        and await sync_to_async(charge_point_is_connected)(charge_point_id=command.charge_point_id)
    ):
        waited = await command_wait(command_id=command.pk, timeout=wait)
        subject = await sync_to_async(reread)() if reread else cast(Subject, waited)
        command = command_of(subject)
    data = await sync_to_async(represent)(subject)
    finished = command is not None and command.finished
    return Response(data, status=done if finished else status.HTTP_202_ACCEPTED)
