from django.apps import AppConfig


class FirmwareConfig(AppConfig):
    name = "firmware"

    def ready(self) -> None:
        from chargepoints.services.charge_points import charge_point_booted_hooks
        from firmware import handlers  # registers the OCPP actions it answers
        from firmware.services import diagnostics, firmware_updates  # noqa: F401 - result hooks

        if handlers.verify_firmware_on_boot not in charge_point_booted_hooks:
            charge_point_booted_hooks.append(handlers.verify_firmware_on_boot)
