"""The webhook subscribers of the other apps' workflows (reservations, charging profiles,
firmware jobs, diagnostics) and of the charge points' other reports (DataTransfer, security
events): the same rules as ``csms.webhooks.receivers``, whose ``listening`` they use.
"""

from csms.events import (
    ChargingProfileRejected,
    DataTransferReceived,
    DiagnosticsUploaded,
    FirmwareStatusChanged,
    ReservationChanged,
    SecurityEventReceived,
    SecurityEventRecorded,
    subscriber,
)
from csms.webhooks.event_types import EventType
from csms.webhooks.receivers import listening
from csms.webhooks.services.events import event_emit

# --- Other apps' workflows and other reports ----------------------------------------------------


@subscriber(ReservationChanged, listens=listening(EventType.RESERVATION_CHANGED))
def reservation_changed(event: ReservationChanged) -> None:
    event_emit(
        tenant_id=event.tenant_id,
        type=EventType.RESERVATION_CHANGED,
        data={
            "reservation_id": event.reservation_id,
            "charge_point": event.identity,
            "connector_id": event.connector_id,
            "id_tag": event.id_tag,
            "status": event.status,
            "expiry_date": event.expiry_date,
            "transaction_id": event.transaction_id,
        },
        charge_point_id=event.charge_point_id,
    )


@subscriber(ChargingProfileRejected, listens=listening(EventType.CHARGING_PROFILE_REJECTED))
def charging_profile_rejected(event: ChargingProfileRejected) -> None:
    event_emit(
        tenant_id=event.tenant_id,
        type=EventType.CHARGING_PROFILE_REJECTED,
        data={
            "charge_point": event.identity,
            "connector_id": event.connector_id,
            "charging_profile_id": event.charging_profile_id,
            "charging_profile_purpose": event.charging_profile_purpose,
            "transaction_id": event.transaction_id,
            "charging_site_id": event.charging_site_id,
            "attempts": event.attempts,
        },
        charge_point_id=event.charge_point_id,
    )


@subscriber(FirmwareStatusChanged, listens=listening(EventType.FIRMWARE_JOB_STATUS_CHANGED))
def firmware_status_changed(event: FirmwareStatusChanged) -> None:
    event_emit(
        tenant_id=event.tenant_id,
        type=EventType.FIRMWARE_JOB_STATUS_CHANGED,
        data={
            "firmware_update_id": event.firmware_update_id,
            "charge_point": event.identity,
            "status": event.status,
            "previous_status": event.previous_status,
            "last_status": event.last_status,
            "error": event.error,
        },
        charge_point_id=event.charge_point_id,
    )


@subscriber(DiagnosticsUploaded, listens=listening(EventType.DIAGNOSTICS_UPLOADED))
def diagnostics_uploaded(event: DiagnosticsUploaded) -> None:
    event_emit(
        tenant_id=event.tenant_id,
        type=EventType.DIAGNOSTICS_UPLOADED,
        data={
            "diagnostics_request_id": event.diagnostics_request_id,
            "charge_point": event.identity,
            "status": event.status,
            "file_name": event.file_name,
            "file_size": event.file_size,
            # Empty: this platform's receiver holds the file (as in the REST API).
            "location": event.location,
        },
        charge_point_id=event.charge_point_id,
    )


@subscriber(DataTransferReceived, listens=listening(EventType.DATA_TRANSFER_RECEIVED))
def data_transfer_received(event: DataTransferReceived) -> None:
    event_emit(
        tenant_id=event.tenant_id,
        type=EventType.DATA_TRANSFER_RECEIVED,
        data={
            "charge_point": event.identity,
            "vendor_id": event.vendor_id,
            "message_id": event.message_id or "",
            "data": event.data or "",
            "answer_status": event.answer_status,
        },
        charge_point_id=event.charge_point_id,
    )


@subscriber(SecurityEventRecorded, listens=listening(EventType.SECURITY_EVENT_RECORDED))
def security_event_recorded(event: SecurityEventRecorded) -> None:
    event_emit(
        tenant_id=event.tenant_id,
        type=EventType.SECURITY_EVENT_RECORDED,
        data={
            "charge_point": event.identity,
            "type": event.type,
            "critical": event.critical,
            "timestamp": event.timestamp,
            "tech_info": event.tech_info,
            "source_address": event.source_address,
        },
        charge_point_id=event.charge_point_id,
    )


@subscriber(SecurityEventReceived, listens=listening(EventType.SECURITY_EVENT_RECEIVED))
def security_event_received(event: SecurityEventReceived) -> None:
    event_emit(
        tenant_id=event.tenant_id,
        type=EventType.SECURITY_EVENT_RECEIVED,
        data={
            "charge_point": event.identity,
            "type": event.type,
            "timestamp": event.timestamp,
            "tech_info": event.tech_info,
        },
        charge_point_id=event.charge_point_id,
    )
