"""Services of the transactions app: StartTransaction and StopTransaction (``transactions``),
MeterValues (``meter_values``), sessions closed on the server and the tenants' closing rules
(``closing``), the energy a stopped session is billed for (``settlement``)."""

from transactions.services.closing import transaction_close, zombie_sessions_close
from transactions.services.meter_values import meter_values_record, meter_values_store
from transactions.services.transactions import StartOutcome, transaction_start, transaction_stop

__all__ = [
    "StartOutcome",
    "meter_values_record",
    "meter_values_store",
    "transaction_close",
    "transaction_start",
    "transaction_stop",
    "zombie_sessions_close",
]
