"""Reads of the chargepoints app that the API and the admin show (writes are in ``services``
and in the subject packages)."""

from collections.abc import Iterable
from datetime import datetime

from django.utils import timezone

from chargepoints.models import (
    ChargePoint,
    ChargePointStatus,
    LocalListState,
    Reservation,
    ReservationStatus,
)

# What the connector reports that a reservation shows through (it is free otherwise).
_SHOWN_AS_RESERVED = frozenset({"", ChargePointStatus.AVAILABLE, ChargePointStatus.RESERVED})


def reserved_connector_ids(
    reservations: Iterable[Reservation], *, now: datetime | None = None
) -> set[int]:
    """Connectors held by an accepted, unexpired reservation (0: the charge point as a whole)."""
    now = now or timezone.now()
    return {
        r.connector_id
        for r in reservations
        if r.status == ReservationStatus.ACCEPTED and r.expiry_date > now
    }


def connector_shown_status(reported: str, *, reserved: bool) -> str:
    """A reserved connector reads Reserved until it reports something that outranks it."""
    return ChargePointStatus.RESERVED if reserved and reported in _SHOWN_AS_RESERVED else reported


def local_list_state_of(charge_point: ChargePoint) -> LocalListState:
    """Its state, or the state of a charge point never synced (version 0, empty)."""
    try:
        return charge_point.local_list_state
    except LocalListState.DoesNotExist:
        return LocalListState(charge_point=charge_point)


def charge_point_is_connected(*, charge_point_id: int) -> bool:
    """Whether a daphne process holds the charge point's socket now (its presence row)."""
    return ChargePoint.objects.filter(pk=charge_point_id, connected=True).exists()
