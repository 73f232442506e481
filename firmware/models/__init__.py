"""Models of the firmware app, one module per entity family."""

from firmware.models.diagnostics import (
    DiagnosticsRequest,
    DiagnosticsRequestStatus,
    DiagnosticsSchedule,
    LogType,
)
from firmware.models.firmware_updates import (
    FirmwareJob,
    FirmwareJobStatus,
    FirmwareUpdate,
    FirmwareUpdateStatus,
)
from firmware.models.reports import StatusReport, StatusReportKind

__all__ = [
    "DiagnosticsRequest",
    "DiagnosticsRequestStatus",
    "DiagnosticsSchedule",
    "FirmwareJob",
    "FirmwareJobStatus",
    "FirmwareUpdate",
    "FirmwareUpdateStatus",
    "LogType",
    "StatusReport",
    "StatusReportKind",
]
