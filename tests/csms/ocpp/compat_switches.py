"""The compatibility layer's switches as the tests set them: the default, and every one off."""

from dataclasses import fields

from csms.ocpp.compat import CompatSwitches

ON = CompatSwitches()
# Every lenient_* switch, as CompatSwitches.any_lenient counts them.
ALL_OFF = CompatSwitches(
    **{switch.name: False for switch in fields(CompatSwitches) if switch.name.startswith("lenient")}
)
