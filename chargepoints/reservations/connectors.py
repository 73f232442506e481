"""Which connectors a reservation may take (OCPP 1.6 §5.13, §9.3): connector 0 only where the
charge point says it supports it (asked once with GetConfiguration when not known), and never
more connectors reserved, singles and "any" together, than the charge point has."""

from chargepoints.commands.dispatch import command_dispatch
from chargepoints.models import ChargePoint, Command, CommandStatus, ConfigurationKey, Connector
from csms.errors import DomainError

# OCPP 1.6 §9.3 (Reservation profile): whether ReserveNow may name connector 0.
CONNECTOR_ZERO_KEY = "ReserveConnectorZeroSupported"
NUMBER_OF_CONNECTORS_KEY = "NumberOfConnectors"
RESERVATIONS_JOB = "reservations"


def _mirrored(charge_point_id: int, key: str) -> ConfigurationKey | None:
    return ConfigurationKey.objects.filter(charge_point_id=charge_point_id, key__iexact=key).first()


def connector_zero_check(charge_point: ChargePoint) -> None:
    """ReserveNow on connector 0 only where the charge point says it supports it; not known
    yet: it is asked (once) and the reservation refused until it answered."""
    mirrored = _mirrored(charge_point.pk, CONNECTOR_ZERO_KEY)
    if mirrored is not None and not mirrored.unknown and mirrored.value is not None:
        if mirrored.value.strip().lower() == "true":
            return
        raise DomainError(
            f"{charge_point.identity} does not support reserving connector 0 "
            f"({CONNECTOR_ZERO_KEY} is {mirrored.value}).",
            code="connector_zero_not_supported",
        )
    if mirrored is not None and mirrored.unknown:
        raise DomainError(
            f"{charge_point.identity} does not know {CONNECTOR_ZERO_KEY}: connector 0 cannot "
            "be reserved there.",
            code="connector_zero_not_supported",
        )
    asking = Command.objects.filter(
        charge_point=charge_point,
        action="GetConfiguration",
        status__in=(CommandStatus.QUEUED, CommandStatus.SENT),
        requested_by_job=RESERVATIONS_JOB,
    )
    if not asking.exists():
        command_dispatch(
            charge_point=charge_point,
            action="GetConfiguration",
            payload={"key": [CONNECTOR_ZERO_KEY, NUMBER_OF_CONNECTORS_KEY]},
            requested_by_job=RESERVATIONS_JOB,
        )
    raise DomainError(
        f"Whether {charge_point.identity} supports reserving connector 0 is not known yet: it "
        "was asked (GetConfiguration); try again once it answered.",
        code="connector_zero_unknown",
    )


def connector_count(charge_point: ChargePoint) -> int:
    """Connectors the charge point has: its NumberOfConnectors, else those it reported."""
    mirrored = _mirrored(charge_point.pk, NUMBER_OF_CONNECTORS_KEY)
    if mirrored is not None and mirrored.value and mirrored.value.strip().isdigit():
        return int(mirrored.value)
    return Connector.objects.filter(charge_point=charge_point, connector_id__gt=0).count()


def reservation_conflict(*, connector_id: int, reserved: list[int], connectors: int) -> str | None:
    """Why a new reservation of ``connector_id`` conflicts with the active ones (their
    connector ids, 0 for "any"), or None. OCPP 1.6 §5.13: a connector-0 reservation keeps one
    connector available for its idTag at any time, so reservations of single connectors and
    of connector 0 together never take more connectors than there are. With the count
    unknown (0), connector 0 and single connectors exclude each other."""
    singles = {c for c in reserved if c != 0}
    anywhere = sum(1 for c in reserved if c == 0)
    if connector_id != 0 and connector_id in singles:
        return f"Connector {connector_id} is already reserved."
    taken = singles | ({connector_id} if connector_id else set())
    needed = anywhere + (1 if connector_id == 0 else 0)
    if connectors:
        if connectors - len(taken) < needed:
            return "Every connector is reserved (a reservation of connector 0 holds one free)."
        return None
    if needed and taken:
        return "Reservations of connector 0 and of single connectors exclude each other here."
    return None
