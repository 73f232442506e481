"""A charger's answer that arrives while the database is away is not dropped (issue 16 §5):
``Outbound._record`` writes it through ``database_retried``, which retries a write refused for
want of a database and gives up only after its time."""

import pytest
from django.db import InterfaceError, OperationalError

from csms.ocpp.outbound import database_retried


class FlakyWrite:
    """A write the database refuses ``refusals`` times (as during a restart), then stores."""

    def __init__(self, refusals: int, error: Exception) -> None:
        self.refusals, self.error, self.attempts = refusals, error, 0

    async def __call__(self) -> str:
        self.attempts += 1
        if self.attempts <= self.refusals:
            raise self.error
        return "stored"


@pytest.mark.parametrize("error", [OperationalError("refused"), InterfaceError("closed")])
async def test_a_write_refused_while_the_database_is_away_is_retried_until_it_is_back(
    error: Exception,
) -> None:
    write = FlakyWrite(refusals=3, error=error)

    assert await database_retried(write, what="the answer to Reset 1", within=10) == "stored"
    assert write.attempts == 4


async def test_it_gives_up_once_its_time_is_over() -> None:
    write = FlakyWrite(refusals=1000, error=OperationalError("refused"))

    with pytest.raises(OperationalError):
        await database_retried(write, what="the answer to Reset 1", within=0.5)
    assert 2 <= write.attempts < 10


async def test_any_other_error_is_raised_at_once() -> None:
    write = FlakyWrite(refusals=1, error=ValueError("a bug of ours"))

    with pytest.raises(ValueError, match="a bug of ours"):
        await database_retried(write, what="the answer to Reset 1")
    assert write.attempts == 1
