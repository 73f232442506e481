"""Vendor-specific DataTransfer (OCPP 1.6 §4.3): a registry of handlers by vendorId (and
messageId), and the service that answers, records and publishes a DataTransfer.req."""

from collections.abc import Callable
from dataclasses import dataclass

from chargepoints.models import DataTransferMessage
from csms.events import DataTransferReceived, publish


@dataclass(frozen=True, slots=True)
class DataTransferAnswer:
    status: str  # Accepted | Rejected | UnknownMessageId | UnknownVendorId
    data: str | None = None


# (charge point id, messageId, data) -> the answer.
VendorHandler = Callable[[int, str | None, str | None], DataTransferAnswer]

_vendors: dict[str, dict[str | None, VendorHandler]] = {}


def data_transfer_handler(
    vendor_id: str, message_id: str | None = None
) -> Callable[[VendorHandler], VendorHandler]:
    """Register a handler for ``vendor_id`` (and ``message_id``; None = any message)."""

    def register(handler: VendorHandler) -> VendorHandler:
        _vendors.setdefault(vendor_id, {})[message_id] = handler
        return handler

    return register


def data_transfer_answer(
    *, charge_point_id: int, vendor_id: str, message_id: str | None, data: str | None
) -> DataTransferAnswer:
    handlers = _vendors.get(vendor_id)
    if handlers is None:
        return DataTransferAnswer("UnknownVendorId")
    handler = handlers.get(message_id) or handlers.get(None)
    if handler is None:
        return DataTransferAnswer("UnknownMessageId")
    return handler(charge_point_id, message_id, data)


def data_transfer_receive(
    *,
    tenant_id: int,
    charge_point_id: int,
    identity: str,
    vendor_id: str,
    message_id: str | None,
    data: str | None,
) -> DataTransferAnswer:
    """A DataTransfer.req from a charge point: answered by its vendor's handler, kept, and
    published."""
    answer = data_transfer_answer(
        charge_point_id=charge_point_id, vendor_id=vendor_id, message_id=message_id, data=data
    )
    DataTransferMessage.objects.create(
        charge_point_id=charge_point_id,
        vendor_id=vendor_id,
        message_id=message_id or "",
        data=data or "",
        answer_status=answer.status,
        answer_data=answer.data or "",
    )
    publish(
        DataTransferReceived(
            tenant_id=tenant_id,
            charge_point_id=charge_point_id,
            identity=identity,
            vendor_id=vendor_id,
            message_id=message_id,
            data=data,
            answer_status=answer.status,
        )
    )
    return answer
