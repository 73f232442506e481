"""What starts a Local Authorization List synchronisation (OCPP 1.6 §5.10, §5.15): idTag
changes (debounced per tenant), an accepted BootNotification. The sync itself is
``chargepoints.authorization.local_list_sync``; the beat schedule and the API call it directly.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from chargepoints.authorization.local_list_sync import local_list_sync_all
from chargepoints.models import IdTag, LocalListState, LocalListSyncRequest, RegistrationStatus
from csms.statements import rows_change, rows_select, table

# idTag edits come in bursts (imports, admin bulk edits): one sync per tenant per window.
DEBOUNCE_SECONDS = getattr(settings, "OCPP_LOCAL_LIST_DEBOUNCE_SECONDS", 10)
# A debounced task not run after this long was lost (broker down): the next change re-queues.
DEBOUNCE_LOST_AFTER_SECONDS = getattr(settings, "OCPP_LOCAL_LIST_DEBOUNCE_LOST_SECONDS", 300)
# After a boot the charge point reports its connectors first; sync a little later, and after a
# reconnect storm spread the fleet's syncs over a minute instead of all at once.
BOOT_SYNC_DELAY_SECONDS = getattr(settings, "OCPP_LOCAL_LIST_BOOT_DELAY_SECONDS", 15)
BOOT_SYNC_SPREAD_SECONDS = getattr(settings, "OCPP_LOCAL_LIST_BOOT_SPREAD_SECONDS", 60)


def local_list_sync_request(*, tenant_id: int) -> None:
    """An idTag of this tenant changed: sync its charge points soon, once per burst of changes.

    The first change of a burst marks the tenant due and enqueues the task after commit; later
    ones see the mark and do nothing. The task clears the mark before it starts, so a change
    made while it runs queues the next one.
    """
    now = timezone.now()
    LocalListSyncRequest.objects.bulk_create(
        [LocalListSyncRequest(tenant_id=tenant_id)], ignore_conflicts=True
    )
    claimed = (
        LocalListSyncRequest.objects.filter(tenant_id=tenant_id)
        .filter(Q(due_at=None) | Q(due_at__lt=now - timedelta(seconds=DEBOUNCE_LOST_AFTER_SECONDS)))
        .update(due_at=now + timedelta(seconds=DEBOUNCE_SECONDS))
    )
    if claimed:
        transaction.on_commit(lambda: _enqueue_tenant_sync(tenant_id), robust=True)


def _enqueue_tenant_sync(tenant_id: int) -> None:
    from chargepoints.tasks import sync_local_lists_of_tenant  # the tasks import this module

    sync_local_lists_of_tenant.apply_async((tenant_id,), countdown=DEBOUNCE_SECONDS)


def local_list_sync_tenant(*, tenant_id: int) -> int:
    """The debounced task's work: clear the mark, then sync the tenant's charge points."""
    LocalListSyncRequest.objects.filter(tenant_id=tenant_id).update(due_at=None)
    return local_list_sync_all(tenant_id=tenant_id)


def local_list_after_boot(
    *, tenant_id: int, charge_point_id: int, registration_status: str
) -> None:
    """After a BootNotification: a reboot may have brought local-list support (new firmware),
    so NotSupported is forgotten; an accepted charge point is synced shortly after."""
    rows_change(
        f"UPDATE {table(LocalListState)} SET not_supported = %s "  # noqa: S608
        "WHERE charge_point_id = %s AND not_supported",
        [False, charge_point_id],
    )
    if registration_status == RegistrationStatus.ACCEPTED and _boot_sync_needed(
        tenant_id=tenant_id, charge_point_id=charge_point_id
    ):
        transaction.on_commit(lambda: _enqueue_boot_sync(charge_point_id), robust=True)


def _boot_sync_needed(*, tenant_id: int, charge_point_id: int) -> bool:
    """Whether a rebooted charge point may need its list: the tenant keeps idTags in local
    lists, or we sent this charge point one before (it may have to be emptied). A tenant that
    does not use local lists pays no task per boot (thousands in a reconnect storm)."""
    # One plain statement: a reconnect storm asks thousands of times, and building two ORM
    # queries cost more than running them.
    return bool(rows_select(_BOOT_SYNC_NEEDED_SQL, [tenant_id, True, charge_point_id])[0][0])


_BOOT_SYNC_NEEDED_SQL = (
    f"SELECT EXISTS (SELECT 1 FROM {IdTag._meta.db_table} "  # noqa: S608 - table names only
    "WHERE tenant_id = %s AND in_local_list = %s) "
    f"OR EXISTS (SELECT 1 FROM {LocalListState._meta.db_table} "
    "WHERE charge_point_id = %s AND version > 0)"
)


def _enqueue_boot_sync(charge_point_id: int) -> None:
    from chargepoints.tasks import sync_local_list  # the tasks import this module

    countdown = BOOT_SYNC_DELAY_SECONDS + charge_point_id % max(BOOT_SYNC_SPREAD_SECONDS, 1)
    sync_local_list.apply_async((charge_point_id,), countdown=countdown)
