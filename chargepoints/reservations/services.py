"""Reservations (OCPP 1.6 §5.13 ReserveNow, §5.5 CancelReservation).

``requested`` until the charge point answers ReserveNow (accepted, or the refusal it gave); an
accepted reservation ends ``used`` by the StartTransaction that names it, ``cancelled`` by an
accepted CancelReservation, or ``expired`` at its expiry date (swept by a beat task).
"""

from datetime import datetime
from math import ceil
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F, Max, Q, QuerySet
from django.utils import timezone

from chargepoints.authorization.local_list import wire_datetime
from chargepoints.authorization.verdicts import id_tag_verdict
from chargepoints.commands.dispatch import command_dispatch
from chargepoints.models import (
    ChargePoint,
    RegistrationStatus,
    Reservation,
    ReservationSequence,
    ReservationStatus,
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
    with transaction.atomic():
        # One reservation request at a time per charge point: the check below stays true.
        ChargePoint.objects.select_for_update().filter(pk=charge_point.pk).first()
        if Reservation.objects.filter(
            charge_point=charge_point,
            connector_id=connector_id,
            status__in=Reservation.ACTIVE_STATUSES,
            expiry_date__gt=now,
        ).exists():
            raise ConflictError(
                f"Connector {connector_id} of {charge_point.identity} is already reserved."
            )
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
    return reservation


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


def reservations_expire(*, now: datetime | None = None) -> int:
    """Reservations past their expiry date end ``expired`` (the charge point ends them too)."""
    with transaction.atomic():
        return _reservations_move(
            Reservation.objects.filter(
                status__in=Reservation.ACTIVE_STATUSES, expiry_date__lte=now or timezone.now()
            ),
            status=ReservationStatus.EXPIRED,
        )


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


def reservation_use(
    *, charge_point_id: int, reservation_id: int, transaction_id: int, started_at: datetime
) -> None:
    """A StartTransaction naming a reservation ends it (OCPP 1.6 §5.13). It may arrive late
    from the charge point's offline queue, after the sweep marked the reservation expired
    although the transaction began in time."""
    _reservations_move(
        Reservation.objects.filter(
            Q(status__in=Reservation.ACTIVE_STATUSES)
            | Q(status=ReservationStatus.EXPIRED, expiry_date__gte=started_at),
            charge_point_id=charge_point_id,
            reservation_id=reservation_id,
        ),
        status=ReservationStatus.USED,
        transaction_id=transaction_id,
    )
