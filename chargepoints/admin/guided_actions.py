"""Guided actions on a charge point's console page: one small form per action, each with only
its own fields, each building the payload of its OCPP 1.6 request (§5). They are sent through
``command_dispatch`` like every other command; the page then shows what the charger answered."""

from typing import Any, ClassVar

from django import forms

from chargepoints.admin.commands import TRIGGERABLE
from chargepoints.models import ChargePoint, IdTag
from csms.console.pickers import TenantPickerSelect
from transactions.models import Transaction


class GuidedActionForm(forms.Form):
    action: ClassVar[str]
    title: ClassVar[str]
    help: ClassVar[str] = ""

    def __init__(self, *args: Any, charge_point: ChargePoint, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.charge_point = charge_point

    def payload(self) -> dict[str, Any]:
        return {}


def _connector_field(*, minimum: int, initial: int | None, help_text: str) -> forms.IntegerField:
    return forms.IntegerField(min_value=minimum, initial=initial, help_text=help_text)


class ResetForm(GuidedActionForm):
    action, title = "Reset", "Reset"
    help = "Soft: the charger stops sessions and restarts its software; hard: a reboot (§5.14)."
    type = forms.ChoiceField(choices=[("Soft", "Soft"), ("Hard", "Hard")])

    def payload(self) -> dict[str, Any]:
        return {"type": self.cleaned_data["type"]}


class UnlockConnectorForm(GuidedActionForm):
    action, title = "UnlockConnector", "Unlock a connector"
    help = "Releases a stuck cable; a session on it is stopped first (§5.18)."
    connector_id = _connector_field(minimum=1, initial=1, help_text="")

    def payload(self) -> dict[str, Any]:
        return {"connectorId": self.cleaned_data["connector_id"]}


class ChangeAvailabilityForm(GuidedActionForm):
    action, title = "ChangeAvailability", "Change availability"
    help = "Connector 0 is the whole charger; Scheduled: after the running session (§5.2)."
    connector_id = _connector_field(minimum=0, initial=0, help_text="0 = the whole charger")
    type = forms.ChoiceField(
        choices=[("Inoperative", "Inoperative"), ("Operative", "Operative")], label="Make"
    )

    def payload(self) -> dict[str, Any]:
        return {"connectorId": self.cleaned_data["connector_id"], "type": self.cleaned_data["type"]}


class RemoteStartForm(GuidedActionForm):
    action, title = "RemoteStartTransaction", "Remote start"
    help = "Starts a session for an idTag of this charge point's tenant (§5.11)."
    id_tag = forms.CharField(max_length=20, label="idTag")
    connector_id = forms.IntegerField(
        min_value=1, required=False, help_text="Empty: the charger chooses"
    )

    def __init__(self, *args: Any, charge_point: ChargePoint, **kwargs: Any) -> None:
        super().__init__(*args, charge_point=charge_point, **kwargs)
        # Only this tenant's idTags are offered (and accepted below).
        self.fields["id_tag"].widget = TenantPickerSelect(
            kind="id_tag", tenant_id=charge_point.tenant_id
        )

    def clean_id_tag(self) -> str:
        id_tag: str = self.cleaned_data["id_tag"]
        if not IdTag.objects.filter(
            tenant_id=self.charge_point.tenant_id, id_tag__iexact=id_tag
        ).exists():
            raise forms.ValidationError(f"No idTag {id_tag} in this tenant.")
        return id_tag

    def payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"idTag": self.cleaned_data["id_tag"]}
        if self.cleaned_data.get("connector_id"):
            payload["connectorId"] = self.cleaned_data["connector_id"]
        return payload


class RemoteStopForm(GuidedActionForm):
    action, title = "RemoteStopTransaction", "Remote stop"
    help = "Asks the charger to stop a live session (§5.12); it then sends StopTransaction."
    transaction_id = forms.TypedChoiceField(coerce=int, label="Session")

    def __init__(self, *args: Any, charge_point: ChargePoint, **kwargs: Any) -> None:
        super().__init__(*args, charge_point=charge_point, **kwargs)
        live = Transaction.objects.filter(
            charge_point=charge_point, stopped_at__isnull=True
        ).order_by("connector_id")
        self.fields["transaction_id"].choices = [
            (t.pk, f"#{t.pk} on connector {t.connector_id} ({t.id_tag})") for t in live
        ]

    @property
    def has_live_session(self) -> bool:
        return bool(self.fields["transaction_id"].choices)

    def payload(self) -> dict[str, Any]:
        return {"transactionId": self.cleaned_data["transaction_id"]}


class TriggerMessageForm(GuidedActionForm):
    action, title = "TriggerMessage", "Trigger a message"
    help = "Asks the charger to send one of its messages now (§5.17)."
    requested_message = forms.ChoiceField(choices=[(m, m) for m in TRIGGERABLE])
    connector_id = forms.IntegerField(min_value=0, required=False, help_text="Optional")

    def payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"requestedMessage": self.cleaned_data["requested_message"]}
        if self.cleaned_data.get("connector_id") is not None:
            payload["connectorId"] = self.cleaned_data["connector_id"]
        return payload


class ClearCacheForm(GuidedActionForm):
    action, title = "ClearCache", "Clear the authorization cache"
    help = "The charger forgets the idTags it cached (§5.4); the local list stays."


class FetchConfigurationForm(GuidedActionForm):
    action, title = "GetConfiguration", "Fetch the configuration now"
    help = "GetConfiguration of every key (§5.8): the mirror is refreshed with the answer."


GUIDED_ACTIONS: dict[str, type[GuidedActionForm]] = {
    "reset": ResetForm,
    "unlock": UnlockConnectorForm,
    "availability": ChangeAvailabilityForm,
    "remote-start": RemoteStartForm,
    "remote-stop": RemoteStopForm,
    "trigger": TriggerMessageForm,
    "clear-cache": ClearCacheForm,
    "fetch-configuration": FetchConfigurationForm,
}
