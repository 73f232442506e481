"""Charging sites: fair shares pushed as TxProfiles when sessions start and stop."""

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from chargepoints.models import ChargePoint, Command, CommandStatus, ConfigurationKey
from csms.tenancy.models import Tenant
from smartcharging.charger_limits import LIMIT_KEYS
from smartcharging.models import ChargingProfile, ChargingSite, ChargingSiteMembership
from smartcharging.services.sites import charging_site_rebalance
from smartcharging.tasks import rebalance_overdue_sites
from tests.charge_point_calls import answer as answer_command
from tests.factories import ChargePointFactory
from tests.smartcharging.helpers import set_profile
from transactions.models import Transaction
from transactions.services import transaction_close, transaction_start, transaction_stop

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 1, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def stations(tenant: Tenant) -> list[ChargePoint]:
    return [ChargePointFactory(tenant=tenant, identity=f"CP-{name}") for name in "ABC"]


@pytest.fixture
def site(tenant: Tenant, stations: list[ChargePoint]) -> ChargingSite:
    site = ChargingSite.objects.create(
        tenant=tenant, name="Depot", limit_unit="A", limit=Decimal(32), min_rate=Decimal(6)
    )
    for station in stations:
        ChargingSiteMembership.objects.create(site=site, charge_point=station)
        # The members reported no smart-charging limits (nothing to ask them)...
        for key in LIMIT_KEYS:
            ConfigurationKey.objects.create(charge_point=station, key=key, unknown=True)
    # ... and hold the site's session default already: these tests are about the shares (the
    # default itself: test_every_member_holds_the_session_default).
    charging_site_rebalance(site_id=site.pk)
    for command in Command.objects.order_by("id"):
        answer_command(command, {"status": "Accepted"})
    Command.objects.all().delete()
    return site


def shares() -> Any:
    """The site's TxProfile commands (its sessions' shares)."""
    return Command.objects.filter(
        action="SetChargingProfile",
        payload__csChargingProfiles__chargingProfilePurpose="TxProfile",
    )


def test_every_member_holds_the_session_default(
    tenant: Tenant, stations: list[ChargePoint]
) -> None:
    site = ChargingSite.objects.create(
        tenant=tenant,
        name="Yard",
        limit_unit="A",
        limit=Decimal(32),
        min_rate=Decimal(6),
        session_default_rate=Decimal(8),
    )
    for station in stations[:2]:
        ChargingSiteMembership.objects.create(site=site, charge_point=station)
        ConfigurationKey.objects.create(
            charge_point=station, key="ChargeProfileMaxStackLevel", value="4"
        )

    commands = charging_site_rebalance(site_id=site.pk)

    assert [(c.charge_point.identity, c.payload["connectorId"]) for c in commands] == [
        ("CP-A", 0),
        ("CP-B", 0),
    ]
    profile = commands[0].payload["csChargingProfiles"]
    assert (profile["chargingProfilePurpose"], profile["stackLevel"]) == ("TxDefaultProfile", 4)
    assert profile["chargingSchedule"]["chargingSchedulePeriod"] == [
        {"startPeriod": 0, "limit": 8.0, "numberPhases": 3}
    ]
    for command in commands:
        answer_command(command, {"status": "Accepted"})
    assert charging_site_rebalance(site_id=site.pk) == []  # installed: nothing again


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks: Any) -> Callable[[], Any]:
    """Run what is queued for after commit (the debounced rebalance task, eager in tests)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def start(run_on_commit: Callable[[], Any]) -> Callable[..., Transaction]:
    minutes = iter(range(1000))

    def start(station: ChargePoint, connector_id: int = 1) -> Transaction:
        with run_on_commit():
            outcome = transaction_start(
                tenant_id=station.tenant_id,
                charge_point_id=station.pk,
                identity=station.identity,
                connector_id=connector_id,
                id_tag="TAG",
                meter_start=0,
                timestamp=(T0 + timedelta(minutes=next(minutes))).isoformat(),
            )
        return outcome.transaction

    return start


@pytest.fixture
def stop(run_on_commit: Callable[[], Any]) -> Callable[[Transaction], None]:
    def stop(tx: Transaction) -> None:
        with run_on_commit():
            transaction_stop(
                tenant_id=tx.charge_point.tenant_id,
                charge_point_id=tx.charge_point.pk,
                identity=tx.charge_point.identity,
                payload={
                    "transaction_id": tx.pk,
                    "meter_stop": 5000,
                    "timestamp": (T0 + timedelta(hours=5)).isoformat(),
                },
            )

    return stop


@pytest.fixture
def pushed() -> Iterator[Callable[[], list[tuple[str, int, float]]]]:
    """Each call: the SetChargingProfile commands queued since the last call, in order, as
    (identity, transactionId, limit)."""
    seen: set[int] = set()

    def new() -> list[tuple[str, int, float]]:
        commands = (
            shares().filter(requested_by_job__startswith="charging-site:").exclude(pk__in=seen)
        )
        out = []
        for command in commands.order_by("id").select_related("charge_point"):
            seen.add(command.pk)
            profile = command.payload["csChargingProfiles"]
            limit = profile["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"]
            out.append((command.charge_point.identity, profile["transactionId"], limit))
        return out

    yield new


def test_a_session_at_a_site_gets_a_tx_profile_with_its_share(
    site: ChargingSite, stations: list[ChargePoint], start: Callable[..., Transaction]
) -> None:
    tx = start(stations[0], connector_id=2)

    command = shares().get()
    profile = ChargingProfile.objects.get(charging_site=site, charging_profile_purpose="TxProfile")
    assert (command.charge_point, command.action) == (stations[0], "SetChargingProfile")
    assert command.requested_by == f"job:charging-site:{site.pk}"
    assert command.payload == {
        "connectorId": 2,
        "csChargingProfiles": {
            "chargingProfileId": profile.charging_profile_id,
            "stackLevel": 0,
            "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Relative",
            "transactionId": tx.pk,
            "chargingSchedule": {
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 32.0, "numberPhases": 3}],
            },
        },
    }
    assert profile.transaction == tx


def test_shares_are_redistributed_as_sessions_start_and_stop(
    site: ChargingSite,
    stations: list[ChargePoint],
    start: Callable[..., Transaction],
    stop: Callable[[Transaction], None],
    pushed: Callable[[], list],
) -> None:
    a = start(stations[0])
    assert pushed() == [("CP-A", a.pk, 32.0)]

    b = start(stations[1])
    # The lower limit goes out first.
    assert pushed() == [("CP-A", a.pk, 16.0), ("CP-B", b.pk, 16.0)]

    c = start(stations[2])
    assert sorted(pushed()) == [("CP-A", a.pk, 10.6), ("CP-B", b.pk, 10.7), ("CP-C", c.pk, 10.7)]

    stop(a)
    assert sorted(pushed()) == [("CP-B", b.pk, 16.0), ("CP-C", c.pk, 16.0)]
    assert not ChargingProfile.objects.filter(transaction=a).exists()

    stop(b)
    assert pushed() == [("CP-C", c.pk, 32.0)]


def test_sessions_that_cannot_get_the_minimum_wait_with_zero(
    site: ChargingSite,
    stations: list[ChargePoint],
    start: Callable[..., Transaction],
    stop: Callable[[Transaction], None],
    pushed: Callable[[], list],
) -> None:
    site.limit = Decimal(12)
    site.save()
    a, b = start(stations[0]), start(stations[1])
    pushed()

    c = start(stations[2])
    assert pushed() == [("CP-C", c.pk, 0.0)]

    stop(a)
    assert sorted(pushed()) == [("CP-C", c.pk, 6.0)]
    assert site.charging_profiles.get(transaction=b).periods[0]["limit"] == 6.0


def test_a_rebalance_sends_nothing_that_is_already_installed_or_on_its_way(
    site: ChargingSite,
    stations: list[ChargePoint],
    start: Callable[..., Transaction],
    answer: Callable[..., Command],
) -> None:
    start(stations[0])
    start(stations[1])
    assert charging_site_rebalance(site_id=site.pk) == []  # queued: on its way

    for command in Command.objects.order_by("id"):  # delivered in order, one at a time
        answer(command, {"status": "Accepted"})
    assert charging_site_rebalance(site_id=site.pk) == []  # installed

    Command.objects.all().delete()
    assert charging_site_rebalance(site_id=site.pk) == []


def test_an_older_share_accepted_last_is_corrected(
    site: ChargingSite,
    stations: list[ChargePoint],
    start: Callable[..., Transaction],
    answer: Callable[..., Command],
    pushed: Callable[[], list],
) -> None:
    a = start(stations[0])
    start(stations[1])
    pushed()
    for command in Command.objects.order_by("-id"):  # the 32 A one lands last
        answer(command, {"status": "Accepted"})

    charging_site_rebalance(site_id=site.pk)

    assert pushed() == [("CP-A", a.pk, 16.0)]


def test_a_share_the_charge_point_did_not_take_is_sent_again(
    site: ChargingSite,
    stations: list[ChargePoint],
    start: Callable[..., Transaction],
    answer: Callable[..., Command],
) -> None:
    start(stations[0])
    refused = answer(shares().get(), {"status": "Rejected"})

    (again,) = charging_site_rebalance(site_id=site.pk)

    assert again.payload == refused.payload
    Command.objects.filter(pk=again.pk).update(status=CommandStatus.EXPIRED)
    assert len(charging_site_rebalance(site_id=site.pk)) == 1


def test_a_stale_request_is_debounced(
    site: ChargingSite, stations: list[ChargePoint], start: Callable[..., Transaction]
) -> None:
    start(stations[0])
    Command.objects.all().delete()
    ChargingProfile.objects.filter(charging_profile_purpose="TxProfile").delete()
    site.refresh_from_db()

    assert charging_site_rebalance(site_id=site.pk, generation=site.rebalance_generation - 1) == []
    assert not ChargingProfile.objects.filter(charging_profile_purpose="TxProfile").exists()
    assert len(charging_site_rebalance(site_id=site.pk, generation=site.rebalance_generation)) == 1
    site.refresh_from_db()
    assert site.rebalanced_generation == site.rebalance_generation


def test_a_burst_of_starts_is_rebalanced_once_by_the_newest_request(
    site: ChargingSite, stations: list[ChargePoint], run_on_commit: Callable[[], Any]
) -> None:
    with run_on_commit():
        for minute, station in enumerate(stations):
            transaction_start(
                tenant_id=station.tenant_id,
                charge_point_id=station.pk,
                identity=station.identity,
                connector_id=1,
                id_tag="TAG",
                meter_start=0,
                timestamp=(T0 + timedelta(minutes=minute)).isoformat(),
            )

    assert shares().count() == 3  # one per session, none superseded
    assert sorted(
        c.payload["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"]
        for c in shares()
    ) == [10.6, 10.7, 10.7]


def test_a_charge_points_own_maximum_caps_its_share(
    site: ChargingSite,
    stations: list[ChargePoint],
    start: Callable[..., Transaction],
    answer: Callable[..., Command],
    pushed: Callable[[], list],
) -> None:
    answer(
        set_profile(
            stations[0], profile_id=900, connector_id=0, purpose="ChargePointMaxProfile", limit=10
        ),
        {"status": "Accepted"},
    )
    site.connector_max_rate = Decimal(20)
    site.save()
    pushed()

    a, b = start(stations[0]), start(stations[1])

    assert pushed()[-2:] == [("CP-A", a.pk, 10.0), ("CP-B", b.pk, 20.0)]


def test_a_site_in_watts_shares_power(
    site: ChargingSite,
    stations: list[ChargePoint],
    start: Callable[..., Transaction],
    pushed: Callable[[], list],
) -> None:
    site.limit_unit, site.limit, site.min_rate, site.phases = "W", Decimal(22000), Decimal(4140), 3
    site.save()

    a, b = start(stations[0]), start(stations[1])

    assert pushed()[-2:] == [("CP-A", a.pk, 11000.0), ("CP-B", b.pk, 11000.0)]
    assert (
        shares().last().payload["csChargingProfiles"]["chargingSchedule"]["chargingRateUnit"] == "W"
    )


def test_a_charge_point_outside_any_site_gets_nothing(
    tenant: Tenant, start: Callable[..., Transaction]
) -> None:
    start(ChargePointFactory(tenant=tenant, identity="LONER"))

    assert Command.objects.count() == 0


def test_a_charge_point_leaving_the_site_has_its_limit_lifted(
    site: ChargingSite,
    stations: list[ChargePoint],
    start: Callable[..., Transaction],
    pushed: Callable[[], list],
) -> None:
    a, b = start(stations[0]), start(stations[1])
    profile_b = ChargingProfile.objects.get(transaction=b)
    pushed()
    ChargingSiteMembership.objects.filter(charge_point=stations[1]).delete()

    charging_site_rebalance(site_id=site.pk)

    clear = Command.objects.get(action="ClearChargingProfile")
    assert (clear.charge_point, clear.payload) == (
        stations[1],
        {"id": profile_b.charging_profile_id},
    )
    assert pushed() == [("CP-A", a.pk, 32.0)]


def test_overdue_requests_are_swept_up(
    site: ChargingSite, stations: list[ChargePoint], start: Callable[..., Transaction]
) -> None:
    start(stations[0])
    Command.objects.all().delete()
    ChargingProfile.objects.filter(charging_profile_purpose="TxProfile").delete()
    ChargingSite.objects.filter(pk=site.pk).update(
        rebalance_generation=site.rebalance_generation + 5,
        rebalance_requested_at=timezone.now() - timedelta(minutes=5),
    )

    assert rebalance_overdue_sites() == 1
    assert Command.objects.count() == 1
    assert rebalance_overdue_sites() == 0


def test_the_overdue_sweep_is_scheduled_by_a_data_migration() -> None:
    task = PeriodicTask.objects.get(task="smartcharging.rebalance_overdue_sites")

    assert task.enabled
    assert (task.interval.every, task.interval.period) == (1, "minutes")


def test_a_session_closed_on_the_server_gives_its_share_back(
    site: ChargingSite,
    stations: list[ChargePoint],
    start: Callable[..., Transaction],
    run_on_commit: Callable[[], Any],
    pushed: Callable[[], list],
) -> None:
    # Issue 15 §2: a zombie keeps no share of the site's limit once it is closed.
    zombie = start(stations[0])
    live = start(stations[1])
    pushed()

    with run_on_commit():
        transaction_close(transaction=zombie, reason="zombie")

    assert pushed() == [("CP-B", live.pk, 32.0)]
    assert not ChargingProfile.objects.filter(transaction=zombie).exists()
