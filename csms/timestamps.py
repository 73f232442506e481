"""OCPP timestamps as the services receive them.

A neutral core module: the chargepoints and transactions services both read timestamps from
OCPP payloads, and neither should import the other's services for it. (It would sit with the
protocol layer's values in ``csms/ocpp/``, but that package is being reshaped separately.)
"""

from datetime import datetime


def parse_timestamp(value: str | None) -> datetime | None:
    """An OCPP timestamp, already schema-checked (and repaired by the compat layer)."""
    if not value:
        return None
    return datetime.fromisoformat(value)


def parse_required_timestamp(value: str) -> datetime:
    """A timestamp the schema requires (never empty once validated)."""
    return datetime.fromisoformat(value)
