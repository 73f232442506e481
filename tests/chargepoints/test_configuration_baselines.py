"""Configuration baselines: stored entries checked like any change, the most specific baseline
wins, and the apply flow chained through command answers (once per key and boot)."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from chargepoints.configuration.apply import BASELINE_JOB, configuration_baseline_apply
from chargepoints.configuration.baselines import (
    BaselineError,
    configuration_baseline_create,
    configuration_baseline_update,
    configuration_desired,
)
from chargepoints.handlers import boot_notification
from chargepoints.models import (
    ChargePoint,
    Command,
    CommandStatus,
    ConfigurationApplyState,
    ConfigurationKey,
)
from chargepoints.tasks import apply_configuration_baselines
from csms.tenancy.models import Tenant
from tests.charge_point_calls import Answer, call_context, configuration_answer
from tests.factories import ChargePointFactory, CommandFactory, ConfigurationBaselineFactory

pytestmark = pytest.mark.django_db


# What the charge point reports before any baseline is applied.
REPORTED = [
    {"key": "HeartbeatInterval", "readonly": False, "value": "300"},
    {"key": "MeterValueSampleInterval", "readonly": False, "value": "60"},
    {"key": "ConnectionTimeOut", "readonly": False, "value": "90"},
    {"key": "LocalPreAuthorize", "readonly": False, "value": "TRUE"},
    {"key": "NumberOfConnectors", "readonly": True, "value": "2"},
]
WANTED = {
    "HeartbeatInterval": "120",  # answered Accepted
    "MeterValueSampleInterval": "30",  # answered RebootRequired
    "ConnectionTimeOut": "45",  # answered Rejected
    "LocalPreAuthorize": "true",  # already so
    "AcmeLed": "off",  # not reported: sent, answered NotSupported
}
ANSWERS = {
    "HeartbeatInterval": "Accepted",
    "MeterValueSampleInterval": "RebootRequired",
    "ConnectionTimeOut": "Rejected",
    "AcmeLed": "NotSupported",
}


def entries(values: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": key, "value": value} for key, value in values.items()]


@pytest.fixture
def charge_point(tenant: Tenant) -> ChargePoint:
    return ChargePointFactory(
        tenant=tenant,
        identity="CP-1",
        vendor="Acme",
        model="Wallbox 22",
        connected=True,
        firmware_version="1.0.0",
        last_boot_at=timezone.now() - timedelta(hours=1),
    )


@pytest.fixture
def baseline(tenant: Tenant, charge_point: ChargePoint) -> Any:
    return configuration_baseline_create(tenant=tenant, name="Fleet", entries=entries(WANTED))


def queued(charge_point: ChargePoint, action: str) -> list[Command]:
    return list(
        Command.objects.filter(
            charge_point=charge_point, action=action, status=CommandStatus.QUEUED
        ).order_by("id")
    )


def run(charge_point: ChargePoint, answer: Answer, reported: list[dict[str, Any]]) -> list[str]:
    """One run: the read is answered with ``reported``, each change as in ANSWERS. Returns the
    keys that were sent."""
    read = configuration_baseline_apply(charge_point=charge_point)
    assert read is not None
    assert (read.action, read.payload, read.requested_by) == (
        "GetConfiguration",
        {},
        f"job:{BASELINE_JOB}",
    )
    answer(read, {"configurationKey": reported})
    sent = []
    for change in queued(charge_point, "ChangeConfiguration"):
        sent.append(change.payload["key"])
        answer(change, {"status": ANSWERS.get(change.payload["key"], "Accepted")})
    return sent


def states(charge_point: ChargePoint) -> dict[str, str]:
    return dict(
        ConfigurationApplyState.objects.filter(charge_point=charge_point).values_list(
            "key", "status"
        )
    )


def reboot(charge_point: ChargePoint, *, firmware: str = "1.0.0") -> None:
    ctx = call_context(charge_point, "BootNotification")
    boot_notification(
        ctx,
        {
            "charge_point_vendor": "Acme",
            "charge_point_model": "Wallbox 22",
            "firmware_version": firmware,
        },
    )
    charge_point.refresh_from_db()


# --- Entries are checked when stored -----------------------------------------------------------


def test_entries_are_stored_in_the_catalogues_spelling(tenant: Tenant) -> None:
    baseline = configuration_baseline_create(
        tenant=tenant,
        name="Fleet",
        entries=entries({"heartbeatinterval": "120", "LOCALPREAUTHORIZE": "TRUE", "AcmeX": "Y"}),
    )

    assert dict(baseline.entries.values_list("key", "value")) == {
        "HeartbeatInterval": "120",
        "LocalPreAuthorize": "true",
        "AcmeX": "Y",
    }


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"NumberOfConnectors": "2"}, "NumberOfConnectors is read-only (OCPP 1.6 §9.1)"),
        ({"HeartbeatInterval": "often"}, "HeartbeatInterval: must be an integer, not 'often'"),
        (
            {"MeterValuesSampledData": "Voltage,Pressure"},
            "MeterValuesSampledData: 'Pressure' is not a measurand (optionally with a phase, "
            "e.g. Voltage.L1)",
        ),
        (
            {"AuthorizationKey": "0123456789abcdef0123"},
            "AuthorizationKey is a per-charge-point secret: change it on the charge point, "
            "not in a baseline.",
        ),
        ({"": "1"}, "A key must be 1-50 characters."),
    ],
)
def test_invalid_entries_are_refused_and_nothing_is_stored(
    tenant: Tenant, values: dict[str, str], message: str
) -> None:
    with pytest.raises(BaselineError) as refused:
        configuration_baseline_create(tenant=tenant, name="Fleet", entries=entries(values))

    assert refused.value.message == message
    assert not tenant.configuration_baselines.exists()


def test_a_key_twice_in_any_case_is_refused(tenant: Tenant) -> None:
    twice = [{"key": "AcmeLed", "value": "on"}, {"key": "acmeled", "value": "off"}]

    with pytest.raises(BaselineError, match="listed twice"):
        configuration_baseline_create(tenant=tenant, name="Fleet", entries=twice)


def test_one_baseline_per_scope_and_a_model_needs_its_vendor(tenant: Tenant) -> None:
    configuration_baseline_create(tenant=tenant, name="A", vendor="Acme")

    with pytest.raises(BaselineError, match="already has a baseline"):
        configuration_baseline_create(tenant=tenant, name="B", vendor="ACME")
    with pytest.raises(BaselineError, match="names its vendor"):
        configuration_baseline_create(tenant=tenant, name="C", model="Wallbox 22")


def test_most_specific_enabled_baseline_of_the_tenant_wins(
    tenant: Tenant, other_tenant: Tenant, charge_point: ChargePoint
) -> None:
    ConfigurationBaselineFactory(tenant=tenant, entries={"HeartbeatInterval": "100", "A": "1"})
    ConfigurationBaselineFactory(tenant=tenant, vendor="ACME", entries={"HeartbeatInterval": "200"})
    ConfigurationBaselineFactory(
        tenant=tenant, vendor="acme", model="wallbox 22", entries={"A": "3"}
    )
    ConfigurationBaselineFactory(tenant=tenant, vendor="Other", entries={"B": "x"})
    ConfigurationBaselineFactory(
        tenant=tenant, vendor="Acme", model="Other", enabled=True, entries={"C": "x"}
    )
    ConfigurationBaselineFactory(tenant=other_tenant, entries={"D": "x"})

    desired = configuration_desired(charge_point=charge_point)

    assert {key: d.value for key, d in desired.items()} == {"HeartbeatInterval": "200", "A": "3"}


def test_disabled_baselines_do_not_apply(tenant: Tenant, charge_point: ChargePoint) -> None:
    ConfigurationBaselineFactory(tenant=tenant, enabled=False, entries={"HeartbeatInterval": "1"})

    assert configuration_desired(charge_point=charge_point) == {}
    assert configuration_baseline_apply(charge_point=charge_point) is None
    assert not Command.objects.exists()


# --- The apply flow ----------------------------------------------------------------------------


def test_a_run_changes_only_the_keys_that_differ_and_records_each_answer(
    charge_point: ChargePoint, baseline: Any, answer: Answer
) -> None:
    sent = run(charge_point, answer, REPORTED)

    assert sorted(sent) == [
        "AcmeLed",
        "ConnectionTimeOut",
        "HeartbeatInterval",
        "MeterValueSampleInterval",
    ]
    assert [
        c.payload for c in Command.objects.filter(action="ChangeConfiguration").order_by("id")
    ] == [{"key": key, "value": WANTED[key]} for key in sent]
    assert states(charge_point) == ANSWERS
    state = ConfigurationApplyState.objects.get(key="MeterValueSampleInterval")
    assert (state.boot_at, state.firmware_version) == (charge_point.last_boot_at, "1.0.0")
    assert state.answered_at is not None
    assert all(
        c.requested_by == f"job:{BASELINE_JOB}"
        for c in Command.objects.filter(charge_point=charge_point)
    )


def test_no_second_change_for_a_key_in_the_same_boot(
    charge_point: ChargePoint, baseline: Any, answer: Answer
) -> None:
    run(charge_point, answer, REPORTED)
    # The charge point reports its old values again: nothing is sent twice in this boot.
    assert run(charge_point, answer, REPORTED) == []
    assert run(charge_point, answer, REPORTED) == []
    assert Command.objects.filter(action="ChangeConfiguration").count() == 4


def test_after_a_reboot_accepted_keys_may_go_again_but_refused_ones_do_not(
    charge_point: ChargePoint, baseline: Any, answer: Answer
) -> None:
    run(charge_point, answer, REPORTED)
    reboot(charge_point)

    # MeterValueSampleInterval took effect with the reboot; HeartbeatInterval was reset.
    after = [dict(e) for e in REPORTED]
    after[1]["value"] = "30"
    assert run(charge_point, answer, after) == ["HeartbeatInterval"]

    reboot(charge_point, firmware="1.1.0")  # new firmware: the refusals are tried again
    assert sorted(run(charge_point, answer, after)) == [
        "AcmeLed",
        "ConnectionTimeOut",
        "HeartbeatInterval",
    ]


def test_a_new_baseline_value_is_sent_in_the_same_boot(
    charge_point: ChargePoint, baseline: Any, answer: Answer
) -> None:
    run(charge_point, answer, REPORTED)

    configuration_baseline_update(
        baseline=baseline, entries=entries({**WANTED, "ConnectionTimeOut": "60"})
    )

    assert run(charge_point, answer, REPORTED) == ["ConnectionTimeOut"]
    assert ConfigurationApplyState.objects.get(key="ConnectionTimeOut").value == "60"


def test_reported_read_only_and_unknown_keys_are_not_sent(
    tenant: Tenant, charge_point: ChargePoint, answer: Answer
) -> None:
    configuration_baseline_create(
        tenant=tenant, name="F", entries=entries({"AcmeLed": "off", "AcmeMode": "eco"})
    )
    read = configuration_baseline_apply(charge_point=charge_point)
    assert read is not None

    answer(
        read,
        {
            "configurationKey": [{"key": "AcmeLed", "readonly": True, "value": "on"}],
            "unknownKey": ["AcmeMode"],
        },
    )

    assert queued(charge_point, "ChangeConfiguration") == []
    assert not ConfigurationApplyState.objects.exists()


def test_a_list_longer_than_the_charge_point_takes_is_not_sent(
    tenant: Tenant, charge_point: ChargePoint, answer: Answer
) -> None:
    configuration_baseline_create(
        tenant=tenant, name="F", entries=entries({"MeterValuesSampledData": "Voltage,SoC"})
    )
    read = configuration_baseline_apply(charge_point=charge_point)
    assert read is not None

    answer(
        read,
        configuration_answer(
            {"MeterValuesSampledData": "Voltage", "MeterValuesSampledDataMaxLength": "1"},
            readonly={"MeterValuesSampledDataMaxLength"},
        ),
    )

    assert queued(charge_point, "ChangeConfiguration") == []
    state = ConfigurationApplyState.objects.get()
    assert (state.status, state.error) == (
        "Invalid",
        "MeterValuesSampledData: lists 2 items; the charge point takes at most 1 "
        "(MeterValuesSampledDataMaxLength)",
    )


def test_one_read_at_a_time(charge_point: ChargePoint, baseline: Any) -> None:
    assert configuration_baseline_apply(charge_point=charge_point) is not None
    assert configuration_baseline_apply(charge_point=charge_point) is None
    assert len(queued(charge_point, "GetConfiguration")) == 1


def test_a_read_sent_by_hand_only_fills_the_mirror(
    charge_point: ChargePoint, baseline: Any, answer: Answer
) -> None:
    by_hand = CommandFactory(charge_point=charge_point, action="GetConfiguration", payload={})

    answer(by_hand, {"configurationKey": REPORTED})

    assert queued(charge_point, "ChangeConfiguration") == []
    assert ConfigurationKey.objects.filter(charge_point=charge_point).count() == len(REPORTED)


def test_undelivered_changes_are_tried_again_and_failed_ones_wait_for_a_reboot(
    charge_point: ChargePoint,
    baseline: Any,
    answer: Answer,
    answer_error: Callable[[Command, str], Command],
) -> None:
    read = configuration_baseline_apply(charge_point=charge_point)
    assert read is not None
    answer(read, {"configurationKey": REPORTED})
    changes = {c.payload["key"]: c for c in queued(charge_point, "ChangeConfiguration")}
    answer_error(changes["HeartbeatInterval"], "InternalError")
    answer_error(changes["AcmeLed"], "NotImplemented")
    recorded = ConfigurationApplyState.objects.filter(key__in=["HeartbeatInterval", "AcmeLed"])
    assert {(s.key, s.status, s.error) for s in recorded} == {
        ("HeartbeatInterval", "Failed", "InternalError: InternalError"),
        ("AcmeLed", "NotSupported", "NotImplemented: NotImplemented"),
    }
    Command.objects.filter(pk__in=[c.pk for c in changes.values()], status="queued").update(
        status=CommandStatus.EXPIRED
    )

    sent = run(charge_point, answer, REPORTED)

    # Expired ones never reached the charge point; the failed one did (maybe), the
    # NotImplemented one means the charge point cannot.
    assert sorted(sent) == ["ConnectionTimeOut", "MeterValueSampleInterval"]


# --- Triggers -----------------------------------------------------------------------------------


def test_an_accepted_boot_applies_the_baselines(
    charge_point: ChargePoint,
    baseline: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        reboot(charge_point)

    read = Command.objects.get(action="GetConfiguration")
    assert read.requested_by == f"job:{BASELINE_JOB}"


def test_a_pending_boot_does_not(
    charge_point: ChargePoint, baseline: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ctx = call_context(charge_point, "BootNotification", registration_status="Pending")
    ChargePoint.objects.filter(pk=charge_point.pk).update(registration_status="Pending")

    with django_capture_on_commit_callbacks(execute=True):
        boot_notification(ctx, {"charge_point_vendor": "Acme", "charge_point_model": "Wallbox 22"})

    assert not Command.objects.filter(action="GetConfiguration").exists()


def test_a_boot_in_a_tenant_without_baselines_enqueues_nothing(
    charge_point: ChargePoint, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        reboot(charge_point)

    assert not [c for c in callbacks if c.__qualname__.startswith("configuration_after_boot")]
    assert not Command.objects.filter(action="GetConfiguration").exists()


def test_a_baseline_change_applies_the_tenants_baselines(
    tenant: Tenant, charge_point: ChargePoint, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        configuration_baseline_create(tenant=tenant, name="F", entries=entries({"A": "1"}))

    assert Command.objects.get().action == "GetConfiguration"


def test_the_beat_task_reads_connected_accepted_charge_points_with_a_baseline(
    tenant: Tenant, other_tenant: Tenant, charge_point: ChargePoint, baseline: Any
) -> None:
    ChargePointFactory(tenant=tenant, identity="OFFLINE", connected=False)
    ChargePointFactory(
        tenant=tenant, identity="PENDING", connected=True, registration_status="Pending"
    )
    ChargePointFactory(tenant=other_tenant, identity="NO-BASELINE", connected=True)

    assert apply_configuration_baselines() == 1
    assert [c.charge_point.identity for c in Command.objects.all()] == ["CP-1"]
    assert apply_configuration_baselines() == 0  # the read is still under way


def test_the_beat_schedule_is_created_by_a_data_migration() -> None:
    task = PeriodicTask.objects.get(task="chargepoints.apply_configuration_baselines")

    assert task.enabled
    assert task.interval is not None
