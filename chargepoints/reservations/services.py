"""Reservations (OCPP 1.6 §5.13 ReserveNow, §5.5 CancelReservation).

``requested`` until the charge point answers ReserveNow (accepted, or the refusal it gave); an
accepted reservation ends ``used`` by the StartTransaction of its idTag (or of one sharing its
parent) that names it, ``cancelled`` by an accepted CancelReservation, ``faulted`` or
``unavailable`` when its connector reports so, or ``expired`` at its expiry date (a task due at
that moment, and the beat's sweep behind it).
"""

from datetime import datetime
from functools import partial
from math import ceil
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F, Max, Q, QuerySet
from django.utils import timezone

from chargepoints.authorization.local_list import wire_datetime
from chargepoints.authorization.verdicts import id_tag_verdict, id_tags_matching
from chargepoints.commands.dispatch import command_dispatch
from chargepoints.models import (
    ChargePoint,
    RegistrationStatus,
    Reservation,
    ReservationSequence,
    ReservationStatus,
)
from chargepoints.reservations.connectors import (
    connector_count,
    connector_zero_check,
    reservation_conflict,
)
from csms.errors import ConflictError, DomainError
from csms.events import ReservationChanged, publish
from csms.ocpp.compat import INT32_MAX
from csms.tenancy.models import ApiToken

# ReserveNow.conf status → what became of the reservation (OCPP 1.6 §7.38).
_ANSWERS = {
    "Accepted": ReservationStatus.ACCEPTED,
    "Faulted": ReservationStatus.FAULTED,
    "Occupied": ReservationStatus.OCCUPIED,
    "Rejected": ReservationStatus.REJECTED,
    "Unavailable": ReservationStatus.UNAVAILABLE,
}


def _next_reservation_id(*, tenant_id: int) -> int:
    """Allocate the tenant's next reservationId; call inside the transaction that uses it."""
    if not ReservationSequence.objects.filter(tenant_id=tenant_id).exists():
        # Seeded from what exists, should reservations predate the counter.
        highest = Reservation.objects.filter(tenant_id=tenant_id).aggregate(
            highest=Max("reservation_id")
        )["highest"]
        ReservationSequence.objects.bulk_create(
            [ReservationSequence(tenant_id=tenant_id, last_value=highest or 0)],
            ignore_conflicts=True,
        )
    ReservationSequence.objects.filter(tenant_id=tenant_id).update(last_value=F("last_value") + 1)
    value = (
        ReservationSequence.objects.filter(tenant_id=tenant_id)
        .values_list("last_value", flat=True)
        .get()
    )
    if value > INT32_MAX:
        raise DomainError("No reservationId left for this tenant.")
    return value


# StatusNotification statuses that end a reservation of the connector (§5.13: the charge point
# answers a ReserveNow for such a connector Faulted/Unavailable; one it held is gone too).
_ENDED_BY_STATUS = {
    "Faulted": ReservationStatus.FAULTED,
    "Unavailable": ReservationStatus.UNAVAILABLE,
}


def reservation_create(
    *,
    charge_point: ChargePoint,
    connector_id: int,
    id_tag: str,
    expiry_date: datetime,
    requested_by_token: ApiToken | None = None,
    requested_by_user: User | None = None,
) -> Reservation:
    """Record the reservation and send ReserveNow through the outbox."""
    now = timezone.now()
    if expiry_date <= now:
        raise DomainError("expiry_date must be in the future.", code="invalid_expiry_date")
    if charge_point.registration_status != RegistrationStatus.ACCEPTED:
        raise DomainError("The charge point is not accepted.", code="not_accepted")
    verdict = id_tag_verdict(
        tenant_id=charge_point.tenant_id, id_tag=id_tag, charge_point_id=charge_point.pk
    )
    if not verdict.accepted:
        raise DomainError(
            f"idTag {id_tag!r} may not charge at {charge_point.identity} ({verdict.status}).",
            code="id_tag_not_accepted",
        )
    if connector_id == 0:
        connector_zero_check(charge_point)
    with transaction.atomic():
        # One reservation request at a time per charge point: the check below stays true.
        ChargePoint.objects.select_for_update().filter(pk=charge_point.pk).first()
        reserved = list(
            Reservation.objects.filter(
                charge_point=charge_point,
                status__in=Reservation.ACTIVE_STATUSES,
                expiry_date__gt=now,
            ).values_list("connector_id", flat=True)
        )
        # The count matters only where connector 0 is involved.
        involved = connector_id == 0 or 0 in reserved
        conflict = reservation_conflict(
            connector_id=connector_id,
            reserved=reserved,
            connectors=connector_count(charge_point) if involved else 0,
        )
        if conflict:
            raise ConflictError(f"{charge_point.identity}: {conflict}")
        reservation = Reservation.objects.create(
            reservation_id=_next_reservation_id(tenant_id=charge_point.tenant_id),
            tenant=charge_point.tenant,
            charge_point=charge_point,
            connector_id=connector_id,
            id_tag=id_tag,
            parent_id_tag=verdict.parent_id_tag,
            expiry_date=expiry_date,
        )
        payload = {
            "connectorId": connector_id,
            "expiryDate": wire_datetime(expiry_date),
            "idTag": id_tag,
            "reservationId": reservation.reservation_id,
        }
        if verdict.parent_id_tag:
            payload["parentIdTag"] = verdict.parent_id_tag
        # Not worth delivering after the reservation would have ended.
        ttl = min(settings.OCPP_COMMAND_TTL_SECONDS, ceil((expiry_date - now).total_seconds()))
        reservation.reserve_command = command_dispatch(
            charge_point=charge_point,
            action="ReserveNow",
            payload=payload,
            requested_by_token=requested_by_token,
            requested_by_user=requested_by_user,
            ttl_seconds=max(ttl, 1),
        )
        reservation.save(update_fields=["reserve_command", "updated_at"])
        publish(_changed(reservation))
        transaction.on_commit(partial(_expire_at, reservation.pk, expiry_date), robust=True)
    return reservation


def _expire_at(reservation_pk: int, expiry_date: datetime) -> None:
    """The reservation ends on our side at its expiry date, whatever the charge point says:
    a task due then (the beat's sweep catches any the broker lost)."""
    from chargepoints.tasks import expire_reservation  # the tasks import this module

    expire_reservation.apply_async((reservation_pk,), eta=expiry_date)


def reservation_cancel(
    *,
    reservation: Reservation,
    requested_by_token: ApiToken | None = None,
    requested_by_user: User | None = None,
) -> Reservation:
    """Send CancelReservation; the reservation ends ``cancelled`` when the charge point accepts."""
    with transaction.atomic():
        locked = Reservation.objects.select_for_update(of=("self",)).select_related("charge_point")
        reservation = locked.get(pk=reservation.pk)
        if not reservation.active:
            raise ConflictError(f"The reservation is {reservation.status}: nothing to cancel.")
        reservation.cancel_command = command_dispatch(
            charge_point=reservation.charge_point,
            action="CancelReservation",
            payload={"reservationId": reservation.reservation_id},
            requested_by_token=requested_by_token,
            requested_by_user=requested_by_user,
        )
        reservation.save(update_fields=["cancel_command", "updated_at"])
    return reservation


def reservations_expire(*, now: datetime | None = None, pk: int | None = None) -> int:
    """Reservations past their expiry date end ``expired`` (the charge point ends them too);
    ``pk``: only that one (its task may run early in eager mode: then nothing happens)."""
    due = Reservation.objects.filter(
        status__in=Reservation.ACTIVE_STATUSES, expiry_date__lte=now or timezone.now()
    )
    if pk is not None:
        due = due.filter(pk=pk)
    with transaction.atomic():
        return _reservations_move(due, status=ReservationStatus.EXPIRED)


def reservations_end_on_status(*, charge_point_id: int, connector_id: int, status: str) -> int:
    """A connector reported Faulted or Unavailable: its reservations end so (connector 0: the
    whole charge point's), and the connector can be reserved again once it recovers."""
    ended = _ENDED_BY_STATUS.get(status)
    if ended is None:
        return 0
    reservations = Reservation.objects.filter(
        charge_point_id=charge_point_id, status__in=Reservation.ACTIVE_STATUSES
    )
    if connector_id != 0:
        reservations = reservations.filter(connector_id=connector_id)
    return _reservations_move(reservations, status=ended)


def _changed(reservation: Reservation) -> ReservationChanged:
    return ReservationChanged(
        tenant_id=reservation.tenant_id,
        charge_point_id=reservation.charge_point_id,
        identity=reservation.charge_point.identity,
        reservation_id=reservation.reservation_id,
        connector_id=reservation.connector_id,
        id_tag=reservation.id_tag,
        status=reservation.status,
        expiry_date=reservation.expiry_date,
        transaction_id=reservation.transaction_id,
    )


def _reservations_move(reservations: QuerySet[Reservation], **changes: Any) -> int:
    """Apply ``changes`` to ``reservations`` (a filter on the status they leave) and publish
    ``ReservationChanged`` for each row moved; how many. Call inside a transaction: the rows
    are locked first, so the events are for exactly the rows this update changed."""
    ids = list(reservations.select_for_update().order_by("pk").values_list("pk", flat=True))
    if not ids:
        return 0
    reservations.filter(pk__in=ids).update(updated_at=timezone.now(), **changes)
    moved = Reservation.objects.filter(pk__in=ids).select_related("charge_point").order_by("pk")
    for reservation in moved:
        publish(_changed(reservation))
    return len(ids)


# --- What the charge point says -----------------------------------------------------------------


def reservation_answered(*, command_id: int, response: dict[str, Any] | None) -> None:
    """ReserveNow.conf: the reservation it requested is accepted or refused."""
    status = _ANSWERS.get((response or {}).get("status", ""))
    if status is not None:
        _reservations_move(
            Reservation.objects.filter(
                reserve_command_id=command_id, status=ReservationStatus.REQUESTED
            ),
            status=status,
        )


def reservation_cancel_answered(
    *, charge_point_id: int, payload: dict[str, Any], response: dict[str, Any] | None
) -> None:
    # Matched by reservationId, so a CancelReservation staff send by hand counts too.
    if (response or {}).get("status") == "Accepted":
        _reservations_move(
            Reservation.objects.filter(
                charge_point_id=charge_point_id,
                reservation_id=payload["reservationId"],
                status__in=Reservation.ACTIVE_STATUSES,
            ),
            status=ReservationStatus.CANCELLED,
        )


def _usable_for(*, charge_point_id: int, reservation_id: int, started_at: datetime) -> Q:
    """The reservation a StartTransaction names, as long as it may still be used: accepted,
    or expired by our sweep although the start (late from the charger's offline queue) came
    in time."""
    return Q(charge_point_id=charge_point_id, reservation_id=reservation_id) & (
        Q(status=ReservationStatus.ACCEPTED)
        | Q(status=ReservationStatus.EXPIRED, expiry_date__gte=started_at)
    )


def _parent_of(*, tenant_id: int, id_tag: str) -> str:
    parent = (
        id_tags_matching(tenant_id=tenant_id, id_tag=id_tag)
        .values_list("parent_id_tag", flat=True)
        .first()
    )
    return parent or ""


def reservation_start_problem(
    *, tenant_id: int, charge_point_id: int, reservation_id: int, id_tag: str, started_at: datetime
) -> str | None:
    """Why a StartTransaction naming ``reservation_id`` does not use it, or None. OCPP 1.6
    §5.13: a reservation is used by its idTag, or by one with the same parentIdTag; only an
    accepted one is held for it."""
    reservation = (
        Reservation.objects.filter(charge_point_id=charge_point_id, reservation_id=reservation_id)
        .only("status", "id_tag", "parent_id_tag", "expiry_date")
        .first()
    )
    if reservation is None:
        return f"no reservation {reservation_id} at this charge point"
    if not Reservation.objects.filter(
        _usable_for(
            charge_point_id=charge_point_id, reservation_id=reservation_id, started_at=started_at
        )
    ).exists():
        return f"reservation {reservation_id} is {reservation.status}"
    if reservation.id_tag.lower() == id_tag.lower():
        return None
    parent = _parent_of(tenant_id=tenant_id, id_tag=id_tag)
    if reservation.parent_id_tag and parent.lower() == reservation.parent_id_tag.lower():
        return None
    return f"reservation {reservation_id} is for another idTag"


def reservation_use(
    *,
    tenant_id: int,
    charge_point_id: int,
    reservation_id: int,
    transaction_id: int,
    id_tag: str,
    started_at: datetime,
) -> int:
    """A StartTransaction naming a reservation it may use ends it ``used``; otherwise the
    reservation stays (and the transactions app flagged the start)."""
    if reservation_start_problem(
        tenant_id=tenant_id,
        charge_point_id=charge_point_id,
        reservation_id=reservation_id,
        id_tag=id_tag,
        started_at=started_at,
    ):
        return 0
    return _reservations_move(
        Reservation.objects.filter(
            _usable_for(
                charge_point_id=charge_point_id,
                reservation_id=reservation_id,
                started_at=started_at,
            )
        ),
        status=ReservationStatus.USED,
        transaction_id=transaction_id,
    )
