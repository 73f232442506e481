"""The compatibility layer's switches as the tests set them: the default, and every one off."""

from csms.ocpp.compat import CompatSwitches

ON = CompatSwitches()
ALL_OFF = CompatSwitches(
    lenient_timestamps=False,
    lenient_meter_values=False,
    lenient_enums=False,
    lenient_id_tags=False,
    lenient_transaction_ids=False,
    lenient_transaction_messages=False,
)
