"""When to retry a failed delivery: exponential backoff with jitter (pure, no ORM).

The delay after the n-th failed attempt is ``base * factor ** (n - 1)``, capped, then spread by
``± jitter`` so the retries of many deliveries that failed together (a receiver outage) do not
come back as one burst. With the default settings ten attempts span about a day.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 10
    base: float = 15.0
    factor: float = 3.0
    max_delay: float = 36000.0
    jitter: float = 0.2

    @classmethod
    def from_settings(cls) -> "RetryPolicy":
        return cls(
            max_attempts=settings.WEBHOOKS_MAX_ATTEMPTS,
            base=settings.WEBHOOKS_RETRY_BASE_SECONDS,
            factor=settings.WEBHOOKS_RETRY_FACTOR,
            max_delay=settings.WEBHOOKS_RETRY_MAX_DELAY_SECONDS,
            jitter=settings.WEBHOOKS_RETRY_JITTER,
        )


def nominal_delay(policy: RetryPolicy, failed_attempts: int) -> float:
    """Seconds to wait after ``failed_attempts`` failures, before jitter."""
    if failed_attempts < 1:
        raise ValueError("failed_attempts counts from 1")
    # Capped before it can overflow a float for absurd attempt counts.
    exponent = min(failed_attempts - 1, 64)
    return min(policy.base * policy.factor**exponent, policy.max_delay)


def retry_delay(
    policy: RetryPolicy,
    failed_attempts: int,
    *,
    rand: Callable[[], float] = random.random,
) -> float | None:
    """Seconds until the next attempt after ``failed_attempts`` failures; None: give up.

    ``rand`` returns a number in [0, 1) (injectable for tests).
    """
    if failed_attempts >= policy.max_attempts:
        return None
    delay = nominal_delay(policy, failed_attempts)
    return delay * (1 - policy.jitter + 2 * policy.jitter * rand())


def retry_schedule(policy: RetryPolicy) -> list[float]:
    """The nominal delays between all attempts (``max_attempts - 1`` of them)."""
    return [nominal_delay(policy, n) for n in range(1, policy.max_attempts)]
