"""Drift and "is a change due": pure functions, with properties that keep baselines from
looping."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from chargepoints.configuration.drift import (
    ApplyStatus,
    Attempt,
    DriftStatus,
    KeyDrift,
    Reported,
    configuration_change_due,
    configuration_drift,
    drift_with_attempt,
)

BOOT = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
NEXT_BOOT = BOOT + timedelta(days=1)
FIRMWARE = "1.0.0"


def test_drift_of_each_kind() -> None:
    drift = configuration_drift(
        desired={
            "HeartbeatInterval": "300",
            "LocalPreAuthorize": "true",
            "MeterValueSampleInterval": "30",
            "ConnectionTimeOut": "60",
            "AcmeLed": "on",
            "AcmeMode": "eco",
        },
        reported={
            "heartbeatinterval": Reported("0300", readonly=False),  # same number, other case
            "LocalPreAuthorize": Reported("TRUE", readonly=False),
            "MeterValueSampleInterval": Reported("60", readonly=False),
            "ConnectionTimeOut": Reported("90", readonly=True),
            "AcmeMode": Reported(None, unknown=True),
        },
    )

    assert {key: d.status for key, d in drift.items()} == {
        "HeartbeatInterval": DriftStatus.IN_SYNC,
        "LocalPreAuthorize": DriftStatus.IN_SYNC,
        "MeterValueSampleInterval": DriftStatus.DIFFERS,
        "ConnectionTimeOut": DriftStatus.READ_ONLY,
        "AcmeLed": DriftStatus.MISSING,
        "AcmeMode": DriftStatus.UNKNOWN,
    }
    assert drift["MeterValueSampleInterval"] == KeyDrift(
        "MeterValueSampleInterval", "30", "60", DriftStatus.DIFFERS
    )


def differs(desired: str = "30") -> KeyDrift:
    return KeyDrift("MeterValueSampleInterval", desired, "60", DriftStatus.DIFFERS)


def attempt(status: ApplyStatus, *, value: str = "30", boot: datetime = BOOT) -> Attempt:
    return Attempt(value=value, status=status, boot=boot, firmware_version=FIRMWARE)


def due(
    drift: KeyDrift, last: Attempt | None, *, boot: datetime = BOOT, fw: str = FIRMWARE
) -> bool:
    return configuration_change_due(drift=drift, attempt=last, boot=boot, firmware_version=fw)


def test_a_differing_key_never_tried_is_due() -> None:
    assert due(differs(), None)
    assert due(KeyDrift("AcmeLed", "on", None, DriftStatus.MISSING), None)


def test_in_sync_read_only_and_unknown_keys_are_never_due() -> None:
    for status in (DriftStatus.IN_SYNC, DriftStatus.READ_ONLY, DriftStatus.UNKNOWN):
        assert not due(KeyDrift("HeartbeatInterval", "300", "60", status), None)


def test_once_per_boot_for_accepted_reboot_required_and_failed() -> None:
    for status in (ApplyStatus.ACCEPTED, ApplyStatus.REBOOT_REQUIRED, ApplyStatus.FAILED):
        assert not due(differs(), attempt(status))
        assert due(differs(), attempt(status), boot=NEXT_BOOT)


def test_refused_until_the_value_or_the_firmware_changes() -> None:
    for status in (ApplyStatus.REJECTED, ApplyStatus.NOT_SUPPORTED):
        assert not due(differs(), attempt(status))
        assert not due(differs(), attempt(status), boot=NEXT_BOOT)
        assert due(differs(), attempt(status), fw="1.1.0")
        assert due(differs("45"), attempt(status))


def test_pending_waits_and_undelivered_is_tried_again() -> None:
    assert not due(differs(), attempt(ApplyStatus.PENDING), boot=NEXT_BOOT)
    assert due(differs(), attempt(ApplyStatus.NOT_DELIVERED))
    assert due(differs(), attempt(ApplyStatus.INVALID))


def test_a_new_desired_value_is_due_at_once() -> None:
    assert due(differs("45"), attempt(ApplyStatus.ACCEPTED, value="30"))
    # The same value written differently is not new.
    assert not due(differs("030"), attempt(ApplyStatus.ACCEPTED, value="30"))


def test_reboot_required_shows_until_the_charge_point_reboots() -> None:
    in_sync = KeyDrift("MeterValueSampleInterval", "30", "30", DriftStatus.IN_SYNC)
    last = attempt(ApplyStatus.REBOOT_REQUIRED)

    assert drift_with_attempt(in_sync, last, boot=BOOT) == DriftStatus.REBOOT_REQUIRED
    assert drift_with_attempt(in_sync, last, boot=NEXT_BOOT) == DriftStatus.IN_SYNC
    assert drift_with_attempt(in_sync, attempt(ApplyStatus.ACCEPTED), boot=BOOT) == (
        DriftStatus.IN_SYNC
    )


answered = st.sampled_from(
    [s for s in ApplyStatus if s not in (ApplyStatus.NOT_DELIVERED, ApplyStatus.INVALID)]
)


@given(status=answered, runs=st.integers(min_value=1, max_value=20))
def test_no_change_is_sent_twice_for_one_key_value_and_boot(status: ApplyStatus, runs: int) -> None:
    """However often the beat runs in one boot, a key that reached the charge point once is
    not sent again (the loop a baseline must never get into)."""
    last = attempt(status)
    assert not any(due(differs(), last) for _ in range(runs))


@given(
    status=st.sampled_from([ApplyStatus.REJECTED, ApplyStatus.NOT_SUPPORTED]),
    boots=st.lists(st.integers(min_value=1, max_value=1000), min_size=1, max_size=10),
)
def test_refusals_outlive_any_number_of_boots(status: ApplyStatus, boots: list[int]) -> None:
    last = attempt(status)
    assert not any(due(differs(), last, boot=BOOT + timedelta(hours=h)) for h in boots)
