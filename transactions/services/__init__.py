"""Services of the transactions app: StartTransaction and StopTransaction (``transactions``),
MeterValues (``meter_values``)."""

from transactions.services.meter_values import meter_values_record, meter_values_store
from transactions.services.transactions import StartOutcome, transaction_start, transaction_stop

__all__ = [
    "StartOutcome",
    "meter_values_record",
    "meter_values_store",
    "transaction_start",
    "transaction_stop",
]
