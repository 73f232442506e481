"""The bus events of a session (csms.events), built from its row in one place."""

from datetime import datetime
from typing import Any

from csms.events import TransactionReconciled, TransactionStopped
from transactions.models import Transaction


def started_fields(tx: Transaction, identity: str) -> dict[str, Any]:
    return {
        "tenant_id": tx.tenant_id,
        "charge_point_id": tx.charge_point_id,
        "identity": identity,
        "transaction_id": tx.pk,
        "connector_id": tx.connector_id,
        "id_tag": tx.id_tag,
        "id_tag_status": tx.id_tag_status,
        "meter_start": tx.meter_start,
        "started_at": tx.started_at,
        "reservation_id": tx.reservation_id,
    }


def _stopped_fields(tx: Transaction, identity: str) -> dict[str, Any]:
    if tx.stopped_at is None:
        raise ValueError(f"transaction {tx.pk} is not stopped: no stop event for it")
    return {
        **started_fields(tx, identity),
        "meter_stop": tx.meter_stop,
        "energy_wh": tx.energy_wh,
        "stopped_at": tx.stopped_at,
        "stop_reason": tx.stop_reason,
        "flags": list(tx.flags),
        "energy_source": tx.energy_source,
        "stopped_by": tx.stopped_by,
        "closed_by": tx.closed_by,
    }


def stopped_event(tx: Transaction, identity: str) -> TransactionStopped:
    return TransactionStopped(**_stopped_fields(tx, identity))


def reconciled_event(
    tx: Transaction,
    identity: str,
    *,
    server_stopped_at: datetime,
    server_meter_stop: int | None,
    server_energy_wh: int | None,
) -> TransactionReconciled:
    return TransactionReconciled(
        **_stopped_fields(tx, identity),
        server_stopped_at=server_stopped_at,
        server_meter_stop=server_meter_stop,
        server_energy_wh=server_energy_wh,
    )
