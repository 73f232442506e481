"""Local-list synchronisation: the steps chained through command answers, and its triggers."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from rest_framework.test import APIClient

from chargepoints.authorization.id_tags import id_tag_create, id_tag_delete, id_tag_update
from chargepoints.authorization.local_list_sync import local_list_sync, local_list_sync_all
from chargepoints.commands.dispatch import command_dispatch
from chargepoints.commands.outbox import expire_due_commands, outbox_fail
from chargepoints.handlers import boot_notification
from chargepoints.models import (
    ChargePoint,
    Command,
    CommandStatus,
    ConfigurationKey,
    IdTag,
    LocalListState,
    LocalListSyncRequest,
)
from chargepoints.tasks import sync_local_lists
from csms.tenancy.models import Tenant
from tests.charge_point_calls import Answer, call_context
from tests.factories import (
    ChargePointFactory,
    ChargePointGroupFactory,
    CommandFactory,
    IdTagFactory,
)

pytestmark = pytest.mark.django_db

EXPIRY = datetime(2031, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def charge_point(tenant: Tenant) -> ChargePoint:
    return ChargePointFactory(tenant=tenant, identity="CP-1", connected=True)


@pytest.fixture
def local_tags(tenant: Tenant, other_tenant: Tenant, charge_point: ChargePoint) -> None:
    IdTagFactory(
        tenant=tenant,
        id_tag="TAG-A",
        in_local_list=True,
        parent_id_tag="FLEET",
        expiry_date=EXPIRY,
    )
    IdTagFactory(tenant=tenant, id_tag="TAG-B", in_local_list=True, status="Blocked")
    IdTagFactory(tenant=tenant, id_tag="TAG-NOT-LOCAL")
    IdTagFactory(tenant=other_tenant, id_tag="TAG-FOREIGN", in_local_list=True)
    elsewhere = IdTagFactory(tenant=tenant, id_tag="TAG-ELSEWHERE", in_local_list=True)
    elsewhere.restricted = True
    elsewhere.save()
    elsewhere.allowed_charge_points.set([ChargePointFactory(tenant=tenant)])


def tag_a_entry(status: str) -> dict[str, Any]:
    """TAG-A of ``local_tags`` as SendLocalList carries it."""
    return {
        "idTag": "TAG-A",
        "idTagInfo": {
            "status": status,
            "expiryDate": "2031-05-01T12:00:00Z",
            "parentIdTag": "FLEET",
        },
    }


def pending(charge_point: ChargePoint) -> Command:
    """The one command the sync waits for (only one is ever queued at a time)."""
    queued = list(Command.objects.filter(charge_point=charge_point, status=CommandStatus.QUEUED))
    assert len(queued) == 1, [(c.action, c.payload) for c in queued]
    return queued[0]


def state_of(charge_point: ChargePoint) -> LocalListState:
    return LocalListState.objects.get(charge_point=charge_point)


def full_sync(charge_point: ChargePoint, answer: Answer, *, reported: int = 0) -> None:
    local_list_sync(charge_point=charge_point)
    answer(pending(charge_point), {"listVersion": reported})
    while queued := Command.objects.filter(charge_point=charge_point, status="queued").first():
        answer(queued, {"status": "Accepted"})


# --- Full, then Differential --------------------------------------------------------------------


def test_first_sync_asks_the_version_then_sends_the_full_list(
    charge_point: ChargePoint, local_tags: None, answer: Answer
) -> None:
    local_list_sync(charge_point=charge_point)
    version = pending(charge_point)
    assert (version.action, version.payload) == ("GetLocalListVersion", {})
    assert state_of(charge_point).command == version

    answer(version, {"listVersion": 0})
    send = pending(charge_point)

    assert send.action == "SendLocalList"
    assert send.payload == {
        "listVersion": 1,
        "updateType": "Full",
        "localAuthorizationList": [
            tag_a_entry("Accepted"),
            {"idTag": "TAG-B", "idTagInfo": {"status": "Blocked"}},
        ],
    }

    answer(send, {"status": "Accepted"})
    state = state_of(charge_point)
    assert (state.version, state.size, state.last_result) == (1, 2, "Accepted")
    assert state.last_synced_at is not None
    assert state.command is None
    assert not Command.objects.filter(status=CommandStatus.QUEUED).exists()


def test_next_sync_sends_only_the_changes_with_removals_as_entries_without_id_tag_info(
    tenant: Tenant, charge_point: ChargePoint, local_tags: None, answer: Answer
) -> None:
    full_sync(charge_point, answer)
    id_tag_update(tag=IdTag.objects.get(id_tag="TAG-A"), status="Blocked")
    id_tag_delete(tag=IdTag.objects.get(id_tag="TAG-B"))
    IdTagFactory(tenant=tenant, id_tag="TAG-C", in_local_list=True)

    local_list_sync(charge_point=charge_point)
    answer(pending(charge_point), {"listVersion": 1})
    send = pending(charge_point)

    assert send.payload == {
        "listVersion": 2,
        "updateType": "Differential",
        "localAuthorizationList": [
            {"idTag": "TAG-B"},
            tag_a_entry("Blocked"),
            {"idTag": "TAG-C", "idTagInfo": {"status": "Accepted"}},
        ],
    }
    answer(send, {"status": "Accepted"})
    state = state_of(charge_point)
    assert state.version == 2
    assert sorted(state.entries) == ["TAG-A", "TAG-C"]


def test_unchanged_list_in_step_sends_nothing_and_reads_up_to_date(
    charge_point: ChargePoint, local_tags: None, answer: Answer
) -> None:
    full_sync(charge_point, answer)

    local_list_sync(charge_point=charge_point)
    answer(pending(charge_point), {"listVersion": 1})

    assert not Command.objects.filter(status=CommandStatus.QUEUED).exists()
    assert state_of(charge_point).last_result == "UpToDate"


def test_a_charge_point_on_another_version_gets_the_full_list(
    charge_point: ChargePoint, local_tags: None, answer: Answer
) -> None:
    full_sync(charge_point, answer)

    local_list_sync(charge_point=charge_point)
    answer(pending(charge_point), {"listVersion": 9})  # someone else sent it a list

    send = pending(charge_point)
    assert (send.payload["updateType"], send.payload["listVersion"]) == ("Full", 10)
    assert len(send.payload["localAuthorizationList"]) == 2


@pytest.mark.parametrize("refusal", ["VersionMismatch", "Failed"])
def test_refused_differential_update_is_followed_by_the_full_list(
    tenant: Tenant, charge_point: ChargePoint, local_tags: None, answer: Answer, refusal: str
) -> None:
    full_sync(charge_point, answer)
    IdTagFactory(tenant=tenant, id_tag="TAG-C", in_local_list=True)
    local_list_sync(charge_point=charge_point)
    answer(pending(charge_point), {"listVersion": 1})
    differential = pending(charge_point)
    assert differential.payload["updateType"] == "Differential"

    answer(differential, {"status": refusal})
    full = pending(charge_point)

    assert full.payload["updateType"] == "Full"
    assert full.payload["listVersion"] == 2
    assert [e["idTag"] for e in full.payload["localAuthorizationList"]] == [
        "TAG-A",
        "TAG-B",
        "TAG-C",
    ]
    answer(full, {"status": "Accepted"})
    state = state_of(charge_point)
    assert (state.version, state.size, state.last_result) == (2, 3, "Accepted")


def test_refused_full_update_ends_the_sync_with_that_result(
    charge_point: ChargePoint, local_tags: None, answer: Answer
) -> None:
    local_list_sync(charge_point=charge_point)
    answer(pending(charge_point), {"listVersion": 0})

    answer(pending(charge_point), {"status": "Failed"})

    assert not Command.objects.filter(status=CommandStatus.QUEUED).exists()
    state = state_of(charge_point)
    assert (state.version, state.size, state.last_result) == (0, 0, "Failed")
    assert state.command is None


def test_list_sent_by_hand_makes_the_next_sync_full(
    charge_point: ChargePoint, local_tags: None, answer: Answer
) -> None:
    full_sync(charge_point, answer)
    by_hand = CommandFactory(
        charge_point=charge_point,
        action="SendLocalList",
        payload={"listVersion": 1, "updateType": "Full", "localAuthorizationList": []},
        expires_at=EXPIRY,
    )
    answer(by_hand, {"status": "Accepted"})

    local_list_sync(charge_point=charge_point)
    answer(pending(charge_point), {"listVersion": 1})

    assert pending(charge_point).payload["updateType"] == "Full"


# --- Limits of the charge point -----------------------------------------------------------------


def test_list_is_sent_in_chunks_of_send_local_list_max_length(
    tenant: Tenant, charge_point: ChargePoint, answer: Answer
) -> None:
    ConfigurationKey.objects.create(
        charge_point=charge_point, key="SendLocalListMaxLength", value="2"
    )
    for n in range(5):
        IdTagFactory(tenant=tenant, id_tag=f"T{n}", in_local_list=True)
    local_list_sync(charge_point=charge_point)
    answer(pending(charge_point), {"listVersion": 0})

    sent = []
    while queued := Command.objects.filter(status=CommandStatus.QUEUED).first():
        sent.append(queued.payload)
        assert len(queued.payload["localAuthorizationList"]) <= 2
        answer(queued, {"status": "Accepted"})

    assert [(m["listVersion"], m["updateType"]) for m in sent] == [
        (1, "Full"),
        (2, "Differential"),
        (3, "Differential"),
    ]
    state = state_of(charge_point)
    assert (state.version, state.size, state.last_result) == (3, 5, "Accepted")
    assert sorted(state.entries) == [f"T{n}" for n in range(5)]


def test_list_longer_than_local_auth_list_max_length_is_truncated_and_recorded(
    tenant: Tenant, charge_point: ChargePoint, answer: Answer, api: APIClient
) -> None:
    ConfigurationKey.objects.create(
        charge_point=charge_point, key="LocalAuthListMaxLength", value="3"
    )
    for n in range(5):
        IdTagFactory(tenant=tenant, id_tag=f"T{n}", in_local_list=True)

    full_sync(charge_point, answer)

    state = state_of(charge_point)
    assert sorted(state.entries) == ["T0", "T1", "T2"]
    assert state.truncated == 2
    assert api.get("/api/v1/charge-points/CP-1/").json()["local_list"]["truncated"] == 2


# --- NotSupported -------------------------------------------------------------------------------


def test_not_supported_stops_automatic_syncs_until_the_charge_point_boots(
    charge_point: ChargePoint,
    local_tags: None,
    answer: Answer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    local_list_sync(charge_point=charge_point)
    answer(pending(charge_point), {"listVersion": 0})
    answer(pending(charge_point), {"status": "NotSupported"})
    state = state_of(charge_point)
    assert (state.not_supported, state.last_result) == (True, "NotSupported")

    local_list_sync(charge_point=charge_point)
    assert local_list_sync_all() == 0
    assert not Command.objects.filter(status=CommandStatus.QUEUED).exists()

    with django_capture_on_commit_callbacks(execute=True):
        boot_notification(
            call_context(charge_point, "BootNotification"),
            {"charge_point_vendor": "V", "charge_point_model": "M"},
        )

    assert state_of(charge_point).not_supported is False
    assert pending(charge_point).action == "GetLocalListVersion"  # synced after the boot


def test_list_version_minus_one_means_not_supported(
    charge_point: ChargePoint, local_tags: None, answer: Answer
) -> None:
    local_list_sync(charge_point=charge_point)
    answer(pending(charge_point), {"listVersion": -1})

    assert state_of(charge_point).not_supported is True
    assert not Command.objects.filter(status=CommandStatus.QUEUED).exists()


def test_call_error_not_implemented_is_recorded_as_not_supported_by_the_next_trigger(
    charge_point: ChargePoint, answer_error: Callable[[Command, str], Command]
) -> None:
    local_list_sync(charge_point=charge_point)
    answer_error(pending(charge_point), "NotImplemented")

    local_list_sync(charge_point=charge_point)

    state = state_of(charge_point)
    assert (state.not_supported, state.last_result) == (True, "NotSupported")
    assert "NotImplemented" in state.last_error
    assert Command.objects.count() == 1


def test_forced_sync_tries_a_not_supported_charge_point_anyway(
    charge_point: ChargePoint, answer: Answer
) -> None:
    LocalListState.objects.create(charge_point=charge_point, not_supported=True)

    local_list_sync(charge_point=charge_point, force=True)
    answer(pending(charge_point), {"listVersion": 0})

    state = state_of(charge_point)
    assert (state.not_supported, state.last_result) == (False, "UpToDate")


def test_pending_boot_clears_not_supported_but_starts_no_sync(
    charge_point: ChargePoint, django_capture_on_commit_callbacks: Any
) -> None:
    ChargePoint.objects.filter(pk=charge_point.pk).update(registration_status="Pending")
    LocalListState.objects.create(charge_point=charge_point, not_supported=True)

    with django_capture_on_commit_callbacks(execute=True):
        boot_notification(
            call_context(charge_point, "BootNotification"),
            {"charge_point_vendor": "V", "charge_point_model": "M"},
        )

    assert state_of(charge_point).not_supported is False
    assert not Command.objects.exists()


def test_a_boot_starts_no_sync_for_a_tenant_without_local_lists(
    charge_point: ChargePoint, django_capture_on_commit_callbacks: Any
) -> None:
    IdTagFactory(tenant=charge_point.tenant, in_local_list=False)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        boot_notification(
            call_context(charge_point, "BootNotification"),
            {"charge_point_vendor": "V", "charge_point_model": "M"},
        )

    assert callbacks == []  # no task queued per boot (thousands in a reconnect storm)
    assert not Command.objects.exists()


def test_a_boot_syncs_a_charge_point_that_holds_a_list_we_sent(
    charge_point: ChargePoint, django_capture_on_commit_callbacks: Any
) -> None:
    # The tenant stopped using local lists: the list we sent must still be emptied.
    LocalListState.objects.create(charge_point=charge_point, version=3)

    with django_capture_on_commit_callbacks(execute=True):
        boot_notification(
            call_context(charge_point, "BootNotification"),
            {"charge_point_vendor": "V", "charge_point_model": "M"},
        )

    assert pending(charge_point).action == "GetLocalListVersion"


# --- One sync at a time -------------------------------------------------------------------------


def test_a_sync_under_way_is_not_started_twice(
    charge_point: ChargePoint, local_tags: None, answer: Answer
) -> None:
    local_list_sync(charge_point=charge_point)
    local_list_sync(charge_point=charge_point)
    answer(pending(charge_point), {"listVersion": 0})
    local_list_sync(charge_point=charge_point)

    assert Command.objects.filter(action="GetLocalListVersion").count() == 1
    assert pending(charge_point).action == "SendLocalList"


def test_a_sync_whose_command_timed_out_is_recorded_and_started_again(
    charge_point: ChargePoint,
) -> None:
    local_list_sync(charge_point=charge_point)
    Command.objects.update(status=CommandStatus.TIMEOUT, error_code="Timeout")

    local_list_sync(charge_point=charge_point)

    assert state_of(charge_point).last_result == "NotDelivered"
    assert pending(charge_point).action == "GetLocalListVersion"


def version_call_error(
    charge_point: ChargePoint, answer_error: Callable[[Command, str], Command], code: str
) -> LocalListState:
    """A sync whose GetLocalListVersion the charge point answers with CALLERROR ``code``."""
    local_list_sync(charge_point=charge_point)
    answer_error(pending(charge_point), code)
    return state_of(charge_point)


def send_local_list_queued(charge_point: ChargePoint, answer: Answer) -> Command:
    """A sync's SendLocalList, queued after the charge point reported list version 0."""
    local_list_sync(charge_point=charge_point)
    answer(pending(charge_point), {"listVersion": 0})
    return pending(charge_point)


def test_a_call_error_ends_the_sync_at_once_with_why(
    charge_point: ChargePoint, answer_error: Callable[[Command, str], Command]
) -> None:
    state = version_call_error(charge_point, answer_error, "InternalError")

    assert (state.last_result, state.command, state.plan) == ("NotDelivered", None, {})
    assert state.last_error == "GetLocalListVersion failed: InternalError"
    assert not state.not_supported
    assert not Command.objects.filter(status=CommandStatus.QUEUED).exists()  # no retry loop


def test_a_call_error_not_implemented_is_not_supported_at_once(
    charge_point: ChargePoint, answer_error: Callable[[Command, str], Command]
) -> None:
    state = version_call_error(charge_point, answer_error, "NotImplemented")

    assert (state.not_supported, state.last_result, state.command) == (True, "NotSupported", None)


def test_an_expired_send_local_list_ends_the_sync_and_the_next_one_starts_afresh(
    charge_point: ChargePoint, local_tags: None, answer: Answer
) -> None:
    send = send_local_list_queued(charge_point, answer)
    Command.objects.filter(pk=send.pk).update(expires_at=timezone.now())

    expire_due_commands()

    state = state_of(charge_point)
    assert (state.last_result, state.command, state.plan) == ("NotDelivered", None, {})
    assert state.last_error == "SendLocalList expired"
    local_list_sync(charge_point=charge_point)
    assert pending(charge_point).action == "GetLocalListVersion"


def test_a_timed_out_send_local_list_is_recorded_at_once(
    charge_point: ChargePoint, local_tags: None, answer: Answer
) -> None:
    send = send_local_list_queued(charge_point, answer)
    Command.objects.filter(pk=send.pk).update(status=CommandStatus.SENT)

    outbox_fail(command_id=send.pk, status=CommandStatus.TIMEOUT, code="Timeout", description="")

    state = state_of(charge_point)
    assert (state.last_result, state.last_error) == (
        "NotDelivered",
        "SendLocalList timeout: Timeout",
    )
    assert state.command is None


def test_a_failed_command_sent_by_hand_leaves_the_sync_alone(
    charge_point: ChargePoint, answer_error: Callable[[Command, str], Command]
) -> None:
    local_list_sync(charge_point=charge_point)
    by_hand = command_dispatch(charge_point=charge_point, action="GetLocalListVersion", payload={})

    answer_error(by_hand, "InternalError")

    state = state_of(charge_point)
    assert state.command is not None and state.command.status == CommandStatus.QUEUED
    assert state.last_result == ""


# --- Triggers -----------------------------------------------------------------------------------


def test_id_tag_changes_request_one_debounced_sync_of_the_tenant(
    tenant: Tenant,
    charge_point: ChargePoint,
    django_capture_on_commit_callbacks: Any,
) -> None:
    offline = ChargePointFactory(tenant=tenant, connected=False)
    with django_capture_on_commit_callbacks() as callbacks:
        tag = id_tag_create(tenant=tenant, id_tag="TAG-1", in_local_list=True)
        id_tag_update(tag=tag, status="Blocked")
        id_tag_create(tenant=tenant, id_tag="TAG-2", in_local_list=True)
    assert len(callbacks) == 1
    assert LocalListSyncRequest.objects.get(tenant=tenant).due_at is not None

    callbacks[0]()  # the task, run eagerly

    assert LocalListSyncRequest.objects.get(tenant=tenant).due_at is None
    assert pending(charge_point).action == "GetLocalListVersion"
    assert not Command.objects.filter(charge_point=offline).exists()


def test_changes_to_tags_outside_the_local_list_request_nothing(
    tenant: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        tag = id_tag_create(tenant=tenant, id_tag="TAG-1")
        id_tag_update(tag=tag, status="Blocked")
        id_tag_delete(tag=tag)

    assert callbacks == []


def test_a_lost_debounced_task_does_not_block_later_requests(
    tenant: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    LocalListSyncRequest.objects.create(
        tenant=tenant, due_at=datetime.now(UTC) - timedelta(hours=1)
    )

    with django_capture_on_commit_callbacks() as callbacks:
        id_tag_create(tenant=tenant, id_tag="TAG-1", in_local_list=True)

    assert len(callbacks) == 1


def test_beat_schedule_is_created_by_a_data_migration() -> None:
    task = PeriodicTask.objects.get(task="chargepoints.sync_local_lists")

    assert task.enabled
    assert task.interval is not None


def test_beat_task_syncs_connected_accepted_charge_points(
    tenant: Tenant, other_tenant: Tenant, charge_point: ChargePoint, answer: Answer
) -> None:
    # The other tenant keeps no idTag in local lists: only a charger once sent one is asked
    # (its list may have to be emptied), not every charger every hour.
    theirs = ChargePointFactory(tenant=other_tenant, connected=True)
    LocalListState.objects.create(charge_point=theirs, version=3)
    ChargePointFactory(tenant=other_tenant, connected=True)
    ChargePointFactory(tenant=tenant, connected=False)
    ChargePointFactory(tenant=tenant, connected=True, registration_status="Pending")
    IdTagFactory(tenant=tenant, id_tag="MINE", in_local_list=True)

    assert sync_local_lists.delay().get() == 2

    assert {c.charge_point for c in Command.objects.all()} == {charge_point, theirs}
    answer(pending(charge_point), {"listVersion": 0})
    assert pending(charge_point).payload["localAuthorizationList"] == [
        {"idTag": "MINE", "idTagInfo": {"status": "Accepted"}}
    ]


def test_local_list_of_a_charge_point_holds_only_tags_allowed_there(
    tenant: Tenant, charge_point: ChargePoint, answer: Answer
) -> None:
    depot = ChargePointGroupFactory(tenant=tenant, members=[charge_point])
    elsewhere = ChargePointGroupFactory(tenant=tenant)
    for value, groups in (("VIA-GROUP", [depot]), ("NOT-HERE", [elsewhere]), ("ANYWHERE", [])):
        id_tag_create(tenant=tenant, id_tag=value, in_local_list=True, allowed_groups=groups)

    full_sync(charge_point, answer)

    assert sorted(state_of(charge_point).entries) == ["ANYWHERE", "VIA-GROUP"]


# --- API ----------------------------------------------------------------------------------------


def test_api_forces_a_sync_and_shows_its_state_on_the_charge_point(
    api: APIClient, charge_point: ChargePoint, local_tags: None, answer: Answer
) -> None:
    before = api.get("/api/v1/charge-points/CP-1/").json()["local_list"]
    assert (before["version"], before["size"], before["last_result"]) == (0, 0, "")

    started = api.post("/api/v1/charge-points/CP-1/local-list/sync/")

    assert started.status_code == 202
    assert started.json()["in_progress"] is True
    command = pending(charge_point)
    assert started.json()["command"] == command.pk
    assert command.requested_by_token_id is not None
    answer(command, {"listVersion": 0})
    answer(pending(charge_point), {"status": "Accepted"})

    shown = api.get("/api/v1/charge-points/CP-1/").json()["local_list"]
    assert (shown["version"], shown["size"], shown["last_result"]) == (1, 2, "Accepted")
    assert shown["in_progress"] is False
    assert shown["last_synced_at"] is not None
    assert shown["not_supported"] is False


def test_another_tenants_charge_point_cannot_be_synced(
    other_api: APIClient, charge_point: ChargePoint
) -> None:
    response = other_api.post("/api/v1/charge-points/CP-1/local-list/sync/")

    assert response.status_code == 404
    assert not Command.objects.exists()
    assert not LocalListState.objects.exists()
