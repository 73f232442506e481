"""AuthorizationKey rotation that never locks a charger out (issue 19 §1, whitepaper §2.3.2).

A ChangeConfiguration(AuthorizationKey) writes, when it is queued, a pending rotation holding the
new password's hash: from then on the handshake accepts the current password *or* a pending one.
The first handshake with a pending one adopts it (it becomes the password; the old one and any
other pending one are dropped, and the security log says so). Until then both work, whatever
became of the command:

* ``Accepted`` — the charger says it took it, but it may reconnect only later (or not at all if
  it keeps its socket): the old password must keep working until it does;
* ``RebootRequired`` — it takes the key after a reboot, i.e. at its next handshake;
* the answer is lost (time-out, socket closed) — the charger may hold either password.

Only an answer that says the charger did not take it (``Rejected``, ``NotSupported``) or a
command that was never sent (expired, withdrawn) abandons the rotation.
"""

from django.db import transaction
from django.utils import timezone

from chargepoints.models import (
    AuthorizationKeyRotation,
    ChargePoint,
    Command,
    CommandStatus,
    RotationStatus,
)
from chargepoints.passwords import hash_password, password_matches
from chargepoints.security.security_log import CentralSystemEvent, security_event_log

AUTHORIZATION_KEY = "AuthorizationKey"
# The answers after which the charger certainly does not hold the new key.
NOT_TAKEN_ANSWERS = frozenset({"Rejected", "NotSupported"})


def rotation_begin(*, charge_point: ChargePoint, command: Command, password: str) -> None:
    """The queued command ``command`` sends ``password``: keep it pending beside the current."""
    AuthorizationKeyRotation.objects.create(
        charge_point=charge_point, command=command, password_hash=hash_password(password)
    )


def rotation_answered(*, command_id: int, status: str) -> None:
    """The charger answered the ChangeConfiguration: only a refusal ends the rotation."""
    AuthorizationKeyRotation.objects.filter(
        command_id=command_id, status=RotationStatus.PENDING
    ).update(
        answer=status[:32],
        **(
            {"status": RotationStatus.ABANDONED, "finished_at": timezone.now()}
            if status in NOT_TAKEN_ANSWERS
            else {}
        ),
    )


def rotation_command_failed(*, command_id: int, status: str) -> None:
    """No answer: a command never sent cannot have reached the charger; a lost one may have."""
    if status == CommandStatus.EXPIRED:
        AuthorizationKeyRotation.objects.filter(
            command_id=command_id, status=RotationStatus.PENDING
        ).update(status=RotationStatus.ABANDONED, answer="expired", finished_at=timezone.now())
    else:
        AuthorizationKeyRotation.objects.filter(
            command_id=command_id, status=RotationStatus.PENDING
        ).update(answer=status[:32])


def pending_password_match(*, charge_point_id: int, password: str) -> int | None:
    """The pending rotation whose password this is (newest first), or None."""
    pending = AuthorizationKeyRotation.objects.filter(
        charge_point_id=charge_point_id, status=RotationStatus.PENDING
    ).order_by("-created_at", "-id")
    for rotation_id, password_hash in pending.values_list("pk", "password_hash")[:5]:
        if password_matches(password, password_hash):
            return rotation_id
    return None


def rotation_adopt(
    *, rotation_id: int, tenant_id: int, identity: str, source_address: str = ""
) -> None:
    """The charger authenticated with a pending password: it is the password now."""
    now = timezone.now()
    with transaction.atomic():
        rotation = (
            AuthorizationKeyRotation.objects.select_for_update()
            .filter(pk=rotation_id, status=RotationStatus.PENDING)
            .first()
        )
        if rotation is None:
            return  # another handshake adopted it a moment ago
        ChargePoint.objects.filter(pk=rotation.charge_point_id).update(
            password_hash=rotation.password_hash
        )
        rotation.status, rotation.finished_at = RotationStatus.ADOPTED, now
        rotation.save(update_fields=["status", "finished_at"])
        AuthorizationKeyRotation.objects.filter(
            charge_point_id=rotation.charge_point_id, status=RotationStatus.PENDING
        ).update(status=RotationStatus.ABANDONED, finished_at=now)
        security_event_log(
            tenant_id=tenant_id,
            charge_point_id=rotation.charge_point_id,
            identity=identity,
            type=CentralSystemEvent.PASSWORD_ROTATED,
            tech_info=(
                f"the charge point authenticated with the AuthorizationKey of command "
                f"{rotation.command_id}; the previous password no longer works"
            ),
            source_address=source_address,
            at=now,
        )


def rotations_abandon(*, charge_point_id: int) -> int:
    """Staff set a password by hand: whatever was pending no longer applies."""
    return AuthorizationKeyRotation.objects.filter(
        charge_point_id=charge_point_id, status=RotationStatus.PENDING
    ).update(status=RotationStatus.ABANDONED, finished_at=timezone.now())
