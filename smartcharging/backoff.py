"""When a rejected charging profile is sent again: pure, property-tested."""


def retry_delays(*, retries: int, base_seconds: float, cap_seconds: float = 3600.0) -> list[float]:
    """Seconds to wait before each retry: ``base``, then doubling, never above ``cap``.

    A charger that rejects a profile may do so for a passing reason (a profile slot freed a
    moment later, a reboot under way); doubling gives it time without flooding the outbox of
    one that will never accept."""
    if retries < 0 or base_seconds < 0:
        raise ValueError("retries and base_seconds must not be negative")
    return [min(base_seconds * 2**attempt, cap_seconds) for attempt in range(retries)]
