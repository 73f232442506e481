"""Fair shares of a site's power or current among its charging sessions: pure, no ORM.

Max-min fairness ("water filling"): every admitted session gets the same share, except those
whose own limit is lower, which get their own limit and leave the rest to the others. A
session that cannot get ``min_rate`` (the least a car can charge with, e.g. 6 A for IEC 61851)
gets 0 and waits: sessions are admitted first come, first served, as many as the capacity
carries at the minimum rate. Everything is computed in whole tenths, the step OCPP allows for a
limit, so the shares never add up to more than the capacity through rounding.
"""

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

TENTH = Decimal("0.1")


@dataclass(frozen=True, slots=True)
class ShareRequest:
    key: Hashable  # the transaction
    started_at: datetime  # earlier sessions are admitted first
    max_rate: Decimal | None = None  # the connector's own limit; None: only the site limits


def _tenths(value: Decimal, rounding: str) -> int:
    return int((value / TENTH).to_integral_value(rounding=rounding))


def fair_shares(
    *, capacity: Decimal, min_rate: Decimal, requests: Sequence[ShareRequest]
) -> dict[Hashable, Decimal]:
    """Each request's share (a multiple of 0.1; 0 for the ones that must wait)."""
    if capacity < 0 or min_rate < 0:
        raise ValueError("capacity and min_rate must not be negative")
    capacity_t = _tenths(capacity, ROUND_FLOOR)
    min_t = _tenths(min_rate, ROUND_CEILING)
    shares = {request.key: 0 for request in requests}
    ordered = sorted(requests, key=lambda r: (r.started_at, str(r.key)))
    caps = {
        r.key: None if r.max_rate is None else _tenths(max(r.max_rate, Decimal(0)), ROUND_FLOOR)
        for r in ordered
    }
    # A connector whose own limit is below the minimum can never charge.
    eligible = [r for r in ordered if caps[r.key] is None or caps[r.key] >= max(min_t, 1)]
    room = capacity_t // min_t if min_t else len(eligible)
    admitted = eligible[:room] if capacity_t else []
    # Water filling: the lowest caps are served first, each to at most an equal split of what
    # is left; what they leave goes to the rest.
    remaining = capacity_t
    by_cap = sorted(admitted, key=lambda r: float("inf") if caps[r.key] is None else caps[r.key])
    for index, request in enumerate(by_cap):
        equal_split = remaining // (len(by_cap) - index)
        cap = caps[request.key]
        share = equal_split if cap is None else min(cap, equal_split)
        shares[request.key] = share
        remaining -= share
    return {key: Decimal(share) * TENTH for key, share in shares.items()}
