"""The app side of the OCPP path: the statements the protocol layer runs, nothing else.

:class:`ChargePointBackend` is what ``csms.routing`` gives the consumer (it satisfies
:class:`csms.ocpp.backend.OcppBackend`). Every member is plain synchronous database work; the
protocol layer decides where it runs (csms.ocpp.execution). Three groups:

* the handshake and presence: the handshake's one statement (tenant, charge point, waiting
  commands), authentication, registration of an unknown charge point as Pending, presence on
  open and close, the refresh when staff change a registration;
* the message log of the OCPP path: an inbound CALL's rows, its quirk counters and
  ``last_seen`` are written inside the CALL's (or its batch's) transaction, beside the
  handler's writes, so an answered transaction message is always stored (OCPP 1.6 §4.7); the
  frames answered without a handler are logged on their own;
* the outbox of Central-System-initiated calls: thin calls into ``chargepoints.commands.outbox``.
"""

import json
import logging
import time
from datetime import datetime
from functools import cache

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from chargepoints.commands import outbox
from chargepoints.handshake_read import handshake_read
from chargepoints.message_log import LogRow, message_log_write
from chargepoints.models import (
    ChargePoint,
    CompatAbsorption,
    MessageDirection,
    RegistrationStatus,
)
from chargepoints.security.authorities import charge_point_ca_certificates
from chargepoints.security.handshake_auth import (
    HandshakeSubject,
    Refused,
    handshake_authenticate,
    required_profile,
)
from chargepoints.security.handshake_refusals import (
    client_address,
    handshake_refuse,
    refusal_unregistered,
)
from chargepoints.security.profile_upgrades import security_profile_reached
from chargepoints.security.rotation import rotation_adopt
from chargepoints.security.security_log import CentralSystemEvent
from csms.events import ChargePointConnected, ChargePointDisconnected, publish
from csms.ocpp.backend import ConnectionRefusedError
from csms.ocpp.compat import CompatSwitches
from csms.ocpp.context import CallContext, ChargePointSession
from csms.statements import rows_change, table
from csms.tenancy.models import UnknownChargePointPolicy
from csms.tls.extension import TlsExtension

logger = logging.getLogger(__name__)
security_log = logging.getLogger("csms.security")

_IN, _OUT = MessageDirection.IN.value, MessageDirection.OUT.value


# --- Handshake and presence ---------------------------------------------------------------------


def open_session(
    *,
    tenant_slug: str,
    identity: str,
    authorization: bytes | None,
    channel_name: str,
    client: str,
    subprotocol_offered: bool = True,
    tls: TlsExtension | None = None,
) -> tuple[ChargePointSession, str]:
    """Authenticate a handshake and register presence; the channel it took over, if any.

    A refusal changes nothing but the security log (and the brute-force counters).
    """
    source = client_address(client)
    found = handshake_read(tenant_slug=tenant_slug, identity=identity, source=source)
    if found is None:
        security_log.warning("refused %s/%s from %s: unknown tenant", tenant_slug, identity, client)
        raise ConnectionRefusedError(404, "Unknown tenant")
    switches = CompatSwitches.merged(found.tenant_compat_defaults, found.compat_overrides)
    if not subprotocol_offered and not switches.allow_missing_subprotocol:
        # SPEC §3.2: only a charge point with the compatibility switch may omit it.
        security_log.info(
            "refused %s/%s from %s: no subprotocol offered", tenant_slug, identity, client
        )
        raise ConnectionRefusedError(400, "Subprotocol ocpp1.6 required")
    charge_point_id = found.charge_point_id
    registration_status = found.registration_status
    if charge_point_id is None:
        if found.unknown_charge_point_policy != UnknownChargePointPolicy.PENDING:
            handshake_refuse(
                found,
                None,
                identity,
                source,
                Refused(
                    "Unknown charge point",
                    CentralSystemEvent.UNKNOWN_CHARGE_POINT,
                    "no charge point of this identity (the tenant refuses unknown ones)",
                    count_as_failure=False,
                    status=404,
                ),
                tenant_slug=tenant_slug,
            )
        if found.tenant_minimum_profile >= 1:
            # A new charge point has no password and no certificate of ours yet: under a
            # minimum profile it could only be refused, after its row was written.
            handshake_refuse(
                found,
                None,
                identity,
                source,
                refusal_unregistered(found.tenant_minimum_profile),
                tenant_slug=tenant_slug,
            )
        registered = _register_pending(tenant_id=found.tenant_id, identity=identity)
        charge_point_id, registration_status = registered.pk, registered.registration_status
        logger.info("auto-registered %s/%s as Pending", tenant_slug, identity)
    verdict = handshake_authenticate(
        HandshakeSubject(
            tenant_id=found.tenant_id,
            tenant_slug=tenant_slug,
            organisation=found.tenant_name,
            charge_point_id=charge_point_id,
            identity=identity,
            required=required_profile(
                charge_point_profile=found.security_profile,
                tenant_minimum=found.tenant_minimum_profile,
                has_password=bool(found.password_hash),
            ),
            pending=found.security_profile_pending,
            password_hash=found.password_hash,
            authorization=authorization,
            tls=tls,
            source=source,
            locked_out=found.locked_out,
            rotation_pending=found.rotation_pending,
        ),
        trusted_charge_point_cas=lambda: charge_point_ca_certificates(tenant_id=found.tenant_id),
        now=timezone.now(),
    )
    if isinstance(verdict, Refused):
        handshake_refuse(found, charge_point_id, identity, source, verdict, tenant_slug=tenant_slug)
    if verdict.adopted_rotation_id is not None:
        rotation_adopt(
            rotation_id=verdict.adopted_rotation_id,
            tenant_id=found.tenant_id,
            identity=identity,
            source_address=source,
        )
    if verdict.raise_profile_to is not None:
        security_profile_reached(
            tenant_id=found.tenant_id,
            charge_point_id=charge_point_id,
            identity=identity,
            profile=verdict.raise_profile_to,
        )

    previous_channel = _presence_take(
        charge_point_id=charge_point_id,
        tenant_id=found.tenant_id,
        identity=identity,
        channel_name=channel_name,
        seen=(found.connected, found.channel_name),
    )
    session = ChargePointSession(
        tenant_id=found.tenant_id,
        tenant_slug=tenant_slug,
        charge_point_id=charge_point_id,
        identity=identity,
        registration_status=registration_status,
        heartbeat_interval=found.heartbeat_interval or found.tenant_heartbeat_interval,
        switches=switches,
        last_seen_written=time.monotonic(),
        commands_waiting=found.commands_waiting,
    )
    return session, previous_channel


def _presence_take(
    *,
    charge_point_id: int,
    tenant_id: int,
    identity: str,
    channel_name: str,
    seen: tuple[bool, str],
) -> str:
    """Make ``channel_name`` the charge point's one live connection; the channel it took the
    charge point from ("" if none), which must then be closed.

    A compare-and-swap on the presence the handshake read (issue 16 §4): when handshakes of
    one identity race — a charger reconnecting in a loop, in one process or several — each
    write succeeds only over the presence it saw, so every winner knows exactly whom it
    displaced and the last one stays: the newest connection wins, every older one is told to
    close. Uncontended (every handshake but a race's) it is the one update it always was.
    """
    connected, held_by = seen
    while True:
        now = timezone.now()
        with transaction.atomic():
            taken = rows_change(
                _presence_take_statement(),
                [now, now, channel_name, charge_point_id, connected, held_by],
            )
            if taken:
                publish(
                    ChargePointConnected(
                        tenant_id=tenant_id,
                        charge_point_id=charge_point_id,
                        identity=identity,
                        connected_at=now,
                    )
                )
                return held_by if connected else ""
        # Another handshake (or a close) changed it since it was read: over that, then.
        current = (
            ChargePoint.objects.filter(pk=charge_point_id)
            .values_list("connected", "channel_name")
            .first()
        )
        if current is None:
            raise ConnectionRefusedError(404, "Unknown charge point")
        connected, held_by = current[0], current[1] or ""


# Prepared statements (csms.statements): a reconnect storm takes thousands of presences at once.
@cache
def _presence_take_statement() -> str:
    return (
        f"UPDATE {table(ChargePoint)} SET connected = TRUE, connected_at = %s, "  # noqa: S608
        "last_seen = %s, channel_name = %s WHERE id = %s AND connected = %s AND channel_name = %s"
    )


@cache
def _presence_leave_statement() -> str:
    return (
        f"UPDATE {table(ChargePoint)} SET connected = FALSE, channel_name = '', "  # noqa: S608
        "last_seen = %s WHERE id = %s AND channel_name = %s"
    )


def _register_pending(*, tenant_id: int, identity: str) -> ChargePoint:
    try:
        with transaction.atomic():
            return ChargePoint.objects.create(
                tenant_id=tenant_id,
                identity=identity,
                registration_status=RegistrationStatus.PENDING,
            )
    except IntegrityError:  # two handshakes of the same new identity at once
        return ChargePoint.objects.get(tenant_id=tenant_id, identity=identity)


def close_session(*, session: ChargePointSession, channel_name: str) -> None:
    # Only the connection that holds presence may clear it: after a takeover the old
    # connection's close must not mark the charge point offline.
    now = timezone.now()
    with transaction.atomic():
        left = rows_change(
            _presence_leave_statement(), [now, session.charge_point_id, channel_name]
        )
        if left:
            publish(
                ChargePointDisconnected(
                    tenant_id=session.tenant_id,
                    charge_point_id=session.charge_point_id,
                    identity=session.identity,
                    disconnected_at=now,
                )
            )


def refresh_session(*, session: ChargePointSession) -> None:
    row = (
        ChargePoint.objects.filter(pk=session.charge_point_id)
        .values(
            "registration_status",
            "heartbeat_interval",
            "compat_overrides",
            "tenant__heartbeat_interval",
            "tenant__compat_defaults",
        )
        .first()
    )
    if row is not None:
        session.registration_status = row["registration_status"]
        session.heartbeat_interval = row["heartbeat_interval"] or row["tenant__heartbeat_interval"]
        session.switches = CompatSwitches.merged(
            row["tenant__compat_defaults"], row["compat_overrides"]
        )


# --- The message log ------------------------------------------------------------------------------


def call_record(
    *,
    ctx: CallContext,
    raw_frame: str,
    answer: str,
    answered_ok: bool,
    log_rows: list[LogRow] | None = None,
) -> None:
    """The call's message-log rows (written now, or added to ``log_rows`` for the batch's one
    insert), its quirks, and ``last_seen`` at most once a minute."""
    now = timezone.now()
    cp_id = ctx.charge_point_id
    rows: list[LogRow] = [
        (cp_id, _IN, 2, ctx.message_id, ctx.action, raw_frame, ctx.received_at),
        (cp_id, _OUT, 3 if answered_ok else 4, ctx.message_id, ctx.action, answer, now),
    ]
    if log_rows is None:
        message_log_write(rows)
    else:
        log_rows.extend(rows)
    if ctx.quirks:
        count_quirks(charge_point_id=cp_id, quirks=ctx.quirks)
    session = ctx.session
    monotonic = time.monotonic()
    if monotonic - session.last_seen_written >= settings.OCPP_LAST_SEEN_RESOLUTION_SECONDS:
        ChargePoint.objects.filter(pk=cp_id).update(last_seen=now)
        session.last_seen_written = monotonic


def count_quirks(*, charge_point_id: int, quirks: list[str]) -> None:
    for quirk in sorted(set(quirks)):
        times = quirks.count(quirk)
        updated = CompatAbsorption.objects.filter(
            charge_point_id=charge_point_id, quirk=quirk
        ).update(count=F("count") + times, last_seen=timezone.now())
        if not updated:
            try:
                with transaction.atomic():
                    CompatAbsorption.objects.create(
                        charge_point_id=charge_point_id, quirk=quirk, count=times
                    )
            except IntegrityError:
                CompatAbsorption.objects.filter(
                    charge_point_id=charge_point_id, quirk=quirk
                ).update(count=F("count") + times)


def log_frames(*, session: ChargePointSession, frames: list[tuple[str, str]], at: datetime) -> None:
    """Message-log rows for frames answered without a handler (errors, responses)."""
    message_log_write(
        (
            session.charge_point_id,
            direction,
            *_frame_fields(text),
            text,
            at if direction == MessageDirection.IN else timezone.now(),
        )
        for direction, text in frames
    )


def _frame_fields(text: str) -> tuple[int | None, str, str]:
    """message type, message id and action of a frame, as far as they can be read."""
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):
        return None, "", ""
    if not isinstance(message, list) or not message:
        return None, "", ""
    message_type = message[0] if message[0] in (2, 3, 4) else None
    message_id = message[1] if len(message) > 1 and isinstance(message[1], str) else ""
    # A malformed CALL may stop short of its action (``[2, "id"]``).
    action = (
        message[2] if message_type == 2 and len(message) > 2 and isinstance(message[2], str) else ""
    )
    return message_type, message_id[:64], action[:64]


# --- What the consumer is given -------------------------------------------------------------------


class ChargePointBackend:
    """The backend the consumer is given (csms.routing); stateless, one per process."""

    session_open = staticmethod(open_session)
    session_close = staticmethod(close_session)
    session_refresh = staticmethod(refresh_session)
    call_record = staticmethod(call_record)
    message_log_write = staticmethod(message_log_write)
    frames_log = staticmethod(log_frames)
    outbox_claim = staticmethod(outbox.outbox_claim_next)
    outbox_release = staticmethod(outbox.outbox_release)
    outbox_complete = staticmethod(outbox.outbox_complete)
    outbox_fail = staticmethod(outbox.outbox_fail)
    charge_points_with_work = staticmethod(outbox.charge_points_with_queued_commands)
