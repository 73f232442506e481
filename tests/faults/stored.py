"""What the server stored of a fleet's sessions, to hold against what it acknowledged."""

from collections import Counter
from typing import Any

from tests.faults.fleet import Fleet
from transactions.models import MeterValue


def stored_values(identities: list[str]) -> dict[str, list[int]]:
    """Every stored meter value of these charge points (as the fleet numbered them)."""
    rows = MeterValue.objects.filter(charge_point__identity__in=identities).values_list(
        "charge_point__identity", "value"
    )
    stored: dict[str, list[int]] = {identity: [] for identity in identities}
    for identity, value in rows:
        stored[identity].append(int(value))
    return stored


def reconcile(fleet: Fleet, stored: dict[str, list[int]]) -> dict[str, Any]:
    """acknowledged, stored, acknowledged but missing, stored twice."""
    missing = duplicates = 0
    for charger in fleet.chargers:
        rows = stored[charger.identity]
        missing += len(set(charger.acknowledged) - set(rows))
        duplicates += sum(count - 1 for count in Counter(rows).values())
    return {
        "acknowledged": fleet.acknowledged,
        "stored": sum(len(rows) for rows in stored.values()),
        "acknowledged_not_stored": missing,
        "duplicates": duplicates,
    }
