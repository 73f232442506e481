"""Reservations (OCPP 1.6 §5.13 ReserveNow, §5.5 CancelReservation).

``requested`` until the charge point answers ReserveNow (accepted, or the refusal it gave); an
accepted reservation ends ``used`` by the StartTransaction that names it, ``cancelled`` by an
accepted CancelReservation, or ``expired`` at its expiry date (swept by a beat task).
"""

from datetime import datetime
from math import ceil
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F, Max, Q, QuerySet
from django.utils import timezone

from chargepoints.authorization.local_list import wire_datetime
from chargepoints.authorization.verdicts import id_tag_verdict
from chargepoints.commands.dispatch import command_dispatch
from chargepoints.commands.hooks import command_result_hook
from chargepoints.models import (
    ChargePoint,
    Command,
    RegistrationStatus,
    Reservation,
    ReservationSequence,
    ReservationStatus,
)
from csms.errors import ConflictError, DomainError
from csms.ocpp.compat import INT32_MAX
from csms.ocpp.context import CallContext
from csms.tenancy.models import ApiToken
from csms.webhooks.emitters import reservation_changed_emit
from transactions.models import Transaction

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
    requested_by_user: AbstractBaseUser | None = None,
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
        reservation_changed_emit(reservation=reservation)
    return reservation


def reservation_cancel(
    *,
    reservation: Reservation,
    requested_by_token: ApiToken | None = None,
    requested_by_user: AbstractBaseUser | None = None,
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


def _reservations_move(reservations: QuerySet[Reservation], **changes: Any) -> int:
    """Apply ``changes`` to ``reservations`` (a filter on the status they leave) and emit
    ``reservation.changed`` for each row moved; how many. Call inside a transaction: the rows
    are locked first, so the events are for exactly the rows this update changed."""
    ids = list(reservations.select_for_update().order_by("pk").values_list("pk", flat=True))
    if not ids:
        return 0
    reservations.filter(pk__in=ids).update(updated_at=timezone.now(), **changes)
    moved = Reservation.objects.filter(pk__in=ids).select_related("charge_point").order_by("pk")
    for reservation in moved:
        reservation_changed_emit(reservation=reservation)
    return len(ids)


# --- What the charge point says -----------------------------------------------------------------


@command_result_hook("ReserveNow")
def reservation_answered(command: Command) -> None:
    status = _ANSWERS.get((command.response or {}).get("status", ""))
    if status is not None:
        _reservations_move(
            Reservation.objects.filter(
                reserve_command_id=command.pk, status=ReservationStatus.REQUESTED
            ),
            status=status,
        )


@command_result_hook("CancelReservation")
def reservation_cancel_answered(command: Command) -> None:
    # Matched by reservationId, so a CancelReservation staff send by hand counts too.
    if (command.response or {}).get("status") == "Accepted":
        _reservations_move(
            Reservation.objects.filter(
                charge_point_id=command.charge_point_id,
                reservation_id=command.payload.get("reservationId"),
                status__in=Reservation.ACTIVE_STATUSES,
            ),
            status=ReservationStatus.CANCELLED,
        )


def reservation_used_by(tx: Transaction, ctx: CallContext) -> None:
    """transaction_started hook: a StartTransaction naming a reservation ends it (OCPP 1.6
    §5.13). It may arrive late from the charge point's offline queue, after the sweep marked
    the reservation expired although the transaction began in time."""
    if tx.reservation_id is None:
        return
    _reservations_move(
        Reservation.objects.filter(
            Q(status__in=Reservation.ACTIVE_STATUSES)
            | Q(status=ReservationStatus.EXPIRED, expiry_date__gte=tx.started_at),
            charge_point_id=tx.charge_point_id,
            reservation_id=tx.reservation_id,
        ),
        status=ReservationStatus.USED,
        transaction=tx,
    )
