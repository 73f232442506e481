"""Vendor-specific DataTransfer: a registry of handlers by vendorId (and messageId)."""

from collections.abc import Callable
from dataclasses import dataclass

from csms.ocpp.context import CallContext


@dataclass(frozen=True, slots=True)
class DataTransferAnswer:
    status: str  # Accepted | Rejected | UnknownMessageId | UnknownVendorId
    data: str | None = None


VendorHandler = Callable[[CallContext, str | None, str | None], DataTransferAnswer]

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
    ctx: CallContext, *, vendor_id: str, message_id: str | None, data: str | None
) -> DataTransferAnswer:
    handlers = _vendors.get(vendor_id)
    if handlers is None:
        return DataTransferAnswer("UnknownVendorId")
    handler = handlers.get(message_id) or handlers.get(None)
    if handler is None:
        return DataTransferAnswer("UnknownMessageId")
    return handler(ctx, message_id, data)
