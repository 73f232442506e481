"""A refused handshake, written down before it is answered: the security log's row (with the
reason and the source address), the Basic-auth failure that may lock the identity or the
address out, then the HTTP status the charger sees (OCPP security whitepaper, issue 19)."""

import logging
from typing import NoReturn

from django.db import transaction

from chargepoints.handshake_read import HandshakeRead
from chargepoints.security.brute_force import FailureSubject, basic_auth_failure_record
from chargepoints.security.handshake_auth import Refused
from chargepoints.security.security_log import CentralSystemEvent, security_event_log
from csms.ocpp.backend import ConnectionRefusedError

security_log = logging.getLogger("csms.security")


def client_address(client: str) -> str:
    """The host of daphne's ``host:port`` (IPv6 hosts contain colons too)."""
    host, separator, _port = client.rpartition(":")
    return host.strip("[]") if separator else client


def handshake_refuse(
    found: HandshakeRead,
    charge_point_id: int | None,
    identity: str,
    source: str,
    refusal: Refused,
    *,
    tenant_slug: str = "",
) -> NoReturn:
    """Log the refusal (the security log's row, a lockout if wrong credentials make one) and
    raise it as the handshake's HTTP answer."""
    security_log.warning(
        "refused %s/%s from %s: %s", tenant_slug, identity, source, refusal.tech_info
    )
    with transaction.atomic():
        if refusal.logged:
            security_event_log(
                tenant_id=found.tenant_id,
                charge_point_id=charge_point_id,
                identity=identity,
                type=refusal.event_type,
                tech_info=refusal.tech_info,
                source_address=source,
            )
        if refusal.count_as_failure:
            basic_auth_failure_record(
                subject=FailureSubject(
                    tenant_id=found.tenant_id,
                    tenant_slug=tenant_slug,
                    charge_point_id=charge_point_id,
                    identity=identity,
                    source=source,
                )
            )
    raise ConnectionRefusedError(refusal.status, refusal.reason)


def refusal_unregistered(minimum: int) -> Refused:
    return Refused(
        "Unknown charge point",
        CentralSystemEvent.PROFILE_VIOLATION,
        f"unknown identity cannot be auto-registered: the tenant requires security profile "
        f"{minimum}",
        count_as_failure=False,
        status=404,
    )
