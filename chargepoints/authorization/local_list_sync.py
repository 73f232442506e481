"""Local Authorization List synchronisation (OCPP 1.6 §5.10, §5.15), chained through the outbox.

A sync sends GetLocalListVersion; its answer (the ``CommandCompleted`` event, inside the
completing transaction) decides between a Differential update with the changes since the
version we last sent and a Full one, and dispatches the first SendLocalList; each accepted
SendLocalList records what the charge point now holds and dispatches the next chunk. Nothing
waits: every step is a ``command_dispatch`` written in the same transaction as the state it
advances.

What starts a sync (idTag changes, boots) is ``chargepoints.authorization.local_list_triggers``;
the beat schedule (``chargepoints.sync_local_lists``) and the API call :func:`local_list_sync`.
"""

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from chargepoints.authorization import local_list
from chargepoints.authorization.verdicts import (
    AuthorizationStatus,
    cache_expiry,
    id_tag_status,
    id_tags_allowed_at,
)
from chargepoints.commands.dispatch import command_dispatch
from chargepoints.models import (
    ChargePoint,
    CommandStatus,
    ConfigurationKey,
    IdTag,
    LocalListResult,
    LocalListState,
    RegistrationStatus,
)
from csms.events import CommandFailed
from csms.tenancy.models import ApiToken, Tenant

logger = logging.getLogger(__name__)

SYNC_JOB = "local-list-sync"
# Configuration keys of the LocalAuthListManagement profile (OCPP 1.6 §9.1).
SEND_MAX_LENGTH_KEY = "SendLocalListMaxLength"
LIST_MAX_LENGTH_KEY = "LocalAuthListMaxLength"
# Entries per SendLocalList when the charge point never told us its SendLocalListMaxLength.
DEFAULT_SEND_MAX_LENGTH = getattr(settings, "OCPP_LOCAL_LIST_DEFAULT_CHUNK", 20)
# A sync's commands are worth sending only for a while; the next trigger starts afresh.
SYNC_COMMAND_TTL_SECONDS = getattr(settings, "OCPP_LOCAL_LIST_COMMAND_TTL_SECONDS", 600)
_ANSWER_RESULTS = {
    "Failed": LocalListResult.FAILED,
    "VersionMismatch": LocalListResult.VERSION_MISMATCH,
    "NotSupported": LocalListResult.NOT_SUPPORTED,
}
# CALLERROR codes meaning the charge point lacks the LocalAuthListManagement profile.
_UNSUPPORTED_ERRORS = frozenset({"NotSupported", "NotImplemented"})


# --- Selectors ----------------------------------------------------------------------------------


def local_list_desired(
    *, charge_point: ChargePoint, held: local_list.LocalList | None = None
) -> dict[str, Any]:
    """The tenant's idTags marked for local lists that may charge at this charge point, an
    Accepted one's expiryDate capped by the tenant's authorization-cache lifetime. ``held``:
    what the charge point holds, whose capped entries are kept while still fresh."""
    now = timezone.now()
    lifetime = (
        Tenant.objects.filter(pk=charge_point.tenant_id)
        .values_list("authorization_cache_lifetime", flat=True)
        .first()
    )
    tags = (
        IdTag.objects.filter(tenant_id=charge_point.tenant_id, in_local_list=True)
        .filter(id_tags_allowed_at(charge_point_id=charge_point.pk))
        .only("id_tag", "status", "expiry_date", "parent_id_tag")
    )
    desired = {}
    for tag in tags:
        status = id_tag_status(tag, now)
        expiry = tag.expiry_date
        if status == AuthorizationStatus.ACCEPTED:
            expiry = cache_expiry(expiry_date=expiry, cache_lifetime=lifetime, now=now)
        info = local_list.id_tag_info(
            status=status, expiry_date=expiry, parent_id_tag=tag.parent_id_tag
        )
        desired[tag.id_tag] = _held_while_fresh(
            info, (held or {}).get(tag.id_tag), lifetime=lifetime, now=now
        )
    return desired


def _held_while_fresh(
    info: dict[str, Any], held: dict[str, Any] | None, *, lifetime: int | None, now: datetime
) -> dict[str, Any]:
    """The entry the charge point holds instead of ``info`` when only the capped expiryDate
    moved on and the held one is neither later than allowed nor past half the lifetime: a
    sync would otherwise rewrite every entry of the list each time it runs."""
    if lifetime is None or held is None or "expiryDate" not in info or "expiryDate" not in held:
        return info
    if {**held, "expiryDate": None} != {**info, "expiryDate": None}:
        return info
    held_expiry = datetime.fromisoformat(held["expiryDate"])
    wanted = datetime.fromisoformat(info["expiryDate"])
    fresh = now + timedelta(seconds=lifetime / 2) < held_expiry <= wanted
    return held if fresh else info


def local_list_limits(*, charge_point_id: int) -> tuple[int, int | None]:
    """(entries per SendLocalList, entries the list may hold) from the configuration mirror."""
    values = dict(
        ConfigurationKey.objects.filter(
            charge_point_id=charge_point_id,
            key__in=(SEND_MAX_LENGTH_KEY, LIST_MAX_LENGTH_KEY),
            unknown=False,
        ).values_list("key", "value")
    )

    def positive(key: str) -> int | None:
        try:
            value = int(values.get(key) or "")
        except ValueError:
            return None
        return value if value > 0 else None

    return positive(SEND_MAX_LENGTH_KEY) or DEFAULT_SEND_MAX_LENGTH, positive(LIST_MAX_LENGTH_KEY)


# --- Starting a sync ----------------------------------------------------------------------------


def _locked_state(charge_point_id: int) -> LocalListState:
    LocalListState.objects.bulk_create(
        [LocalListState(charge_point_id=charge_point_id)], ignore_conflicts=True
    )
    return (
        LocalListState.objects.select_for_update(of=("self",))
        .select_related("command")
        .get(charge_point_id=charge_point_id)
    )


def _settle_lost_command(state: LocalListState) -> None:
    """The sync's command ended without an answer to act on (CALLERROR, time-out, expiry):
    record why. Done when its ``CommandFailed`` is published, and again by the next sync should
    that not have been recorded."""
    command = state.command
    if command is None or command.status == CommandStatus.COMPLETED:
        return
    _lost_command_record(
        state, action=command.action, status=command.status, error_code=command.error_code
    )


def _lost_command_record(
    state: LocalListState, *, action: str, status: str, error_code: str
) -> None:
    """Why the sync ended; a CALLERROR NotSupported/NotImplemented means no local list."""
    state.last_result = LocalListResult.NOT_DELIVERED
    state.last_error = f"{action} {status}: {error_code}".strip(": ")
    if error_code in _UNSUPPORTED_ERRORS:
        state.not_supported = True
        state.last_result = LocalListResult.NOT_SUPPORTED


def local_list_sync(
    *,
    charge_point: ChargePoint,
    force: bool = False,
    requested_by_token: ApiToken | None = None,
    requested_by_user: User | None = None,
) -> LocalListState:
    """Start a sync unless one is under way. A charge point that answered NotSupported is
    left alone until it boots again, unless ``force`` (staff or the API asked)."""
    with transaction.atomic():
        state = _locked_state(charge_point.pk)
        if state.command is not None and not state.command.finished:
            return state
        _settle_lost_command(state)
        state.command = None
        state.plan = {}
        if not state.not_supported or force:
            state.command = command_dispatch(
                charge_point=charge_point,
                action="GetLocalListVersion",
                payload={},
                requested_by_token=requested_by_token,
                requested_by_user=requested_by_user,
                requested_by_job="" if requested_by_token or requested_by_user else SYNC_JOB,
                ttl_seconds=SYNC_COMMAND_TTL_SECONDS,
            )
            state.last_attempt_at = timezone.now()
        state.save()
    return state


def local_list_sync_all(*, tenant_id: int | None = None) -> int:
    """Start a sync on every connected, accepted charge point (of one tenant) that has not
    said NotSupported and may need a list: its tenant keeps idTags in local lists, or it was
    sent one (which may have to be emptied), the rule a boot follows. Tenants that do not use
    local lists get no GetLocalListVersion on every charger every hour. Returns how many were
    looked at."""
    uses_local_lists = Q(
        tenant__in=IdTag.objects.filter(in_local_list=True).values("tenant_id")
    ) | Q(local_list_state__version__gt=0)
    charge_points = (
        ChargePoint.objects.filter(connected=True, registration_status=RegistrationStatus.ACCEPTED)
        .filter(uses_local_lists)
        .exclude(local_list_state__not_supported=True)
    )
    if tenant_id is not None:
        charge_points = charge_points.filter(tenant_id=tenant_id)
    count = 0
    for charge_point in charge_points.only("pk", "tenant_id").iterator(chunk_size=500):
        local_list_sync(charge_point=charge_point)
        count += 1
    return count


# --- The steps: what the answers mean (chargepoints.receivers) ------------------------------------


def _state_awaiting(*, charge_point_id: int, command_id: int) -> LocalListState | None:
    """The sync this answer belongs to (none: someone sent the command by hand)."""
    return (
        LocalListState.objects.select_for_update()
        .filter(charge_point_id=charge_point_id, command_id=command_id)
        .first()
    )


def _send(state: LocalListState, charge_point: ChargePoint, payload: dict[str, Any]) -> None:
    state.command = command_dispatch(
        charge_point=charge_point,
        action="SendLocalList",
        payload=payload,
        requested_by_job=SYNC_JOB,
        ttl_seconds=SYNC_COMMAND_TTL_SECONDS,
    )


def _finish(state: LocalListState, result: str, *, error: str = "") -> None:
    state.command = None
    state.plan = {}
    state.last_result = result
    state.last_error = error
    if result in (LocalListResult.ACCEPTED, LocalListResult.UP_TO_DATE):
        state.last_synced_at = timezone.now()
        state.not_supported = False
    if result == LocalListResult.NOT_SUPPORTED:
        state.not_supported = True


def _start_update(
    state: LocalListState, charge_point: ChargePoint, *, reported_version: int, full: bool
) -> None:
    """Plan the SendLocalLists from the desired list and send the first one."""
    chunk_size, list_max = local_list_limits(charge_point_id=charge_point.pk)
    desired, state.truncated = local_list.local_list_fit(
        local_list_desired(charge_point=charge_point, held=state.entries), max_length=list_max
    )
    update_type, messages = local_list.local_list_messages(
        held=state.entries,
        held_version=state.version,
        reported_version=reported_version,
        desired=desired,
        chunk_size=chunk_size,
        full=full,
    )
    if not messages:
        _finish(state, LocalListResult.UP_TO_DATE)
        return
    state.plan = {
        "reported_version": reported_version,
        "full": update_type == local_list.FULL,
        "pending": messages[1:],
    }
    _send(state, charge_point, messages[0])


def local_list_version_answered(
    *, charge_point_id: int, command_id: int, response: dict[str, Any] | None
) -> None:
    """GetLocalListVersion.conf: plan the updates from the version the charge point holds."""
    state = _state_awaiting(charge_point_id=charge_point_id, command_id=command_id)
    if state is None:
        return
    reported = (response or {}).get("listVersion", 0)
    if reported == local_list.VERSION_NOT_SUPPORTED:
        _finish(state, LocalListResult.NOT_SUPPORTED)
    else:
        charge_point = ChargePoint.objects.get(pk=charge_point_id)
        _start_update(state, charge_point, reported_version=reported, full=False)
    state.save()


def local_list_update_answered(
    *,
    charge_point_id: int,
    command_id: int,
    payload: dict[str, Any],
    response: dict[str, Any] | None,
) -> None:
    """SendLocalList.conf: record what the charge point now holds, send the next chunk."""
    status = (response or {}).get("status", "")
    state = _state_awaiting(charge_point_id=charge_point_id, command_id=command_id)
    if state is None:
        if status == "Accepted":
            # A list sent by hand: what the charge point holds is no longer what we recorded,
            # so the next sync sends the full list.
            LocalListState.objects.filter(charge_point_id=charge_point_id).update(
                version=0, entries={}
            )
        return
    if status == "Accepted":
        state.entries = local_list.local_list_apply(
            state.entries,
            update_type=payload["updateType"],
            entries=payload.get("localAuthorizationList") or (),
        )
        state.version = payload["listVersion"]
        pending = state.plan.get("pending") or []
        if pending:
            state.plan = {**state.plan, "pending": pending[1:]}
            _send(state, ChargePoint.objects.get(pk=charge_point_id), pending[0])
        else:
            _finish(state, LocalListResult.ACCEPTED)
    elif status in ("Failed", "VersionMismatch") and not state.plan.get("full"):
        # OCPP 1.6 §5.15: after Failed or VersionMismatch on a Differential update, send the
        # full list.
        _start_update(
            state,
            ChargePoint.objects.get(pk=charge_point_id),
            reported_version=state.plan.get("reported_version", 0),
            full=True,
        )
    else:
        _finish(state, _ANSWER_RESULTS.get(status, LocalListResult.FAILED))
    state.save()


def local_list_command_lost(*, command: CommandFailed) -> None:
    """The sync's command brought no answer: the sync ends now, with why, so the state shows
    it and the next trigger starts afresh (no retry here: a charge point that refused or
    stayed away would be asked in a loop)."""
    state = _state_awaiting(charge_point_id=command.charge_point_id, command_id=command.command_id)
    if state is None:
        return
    _lost_command_record(
        state, action=command.action, status=command.status, error_code=command.error_code
    )
    state.command = None
    state.plan = {}
    state.save()
