"""What the database holds after a scenario, against what the simulated fleet was told.

Synchronous ORM code: the benchmark runs it in a thread between (or after) its phases.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from django.db import connections
from django.db.models import Count

from chargepoints.models import MessageDirection, OcppMessage
from simulator.session import Session
from transactions.models import MeterValue, Transaction, UnmatchedTransactionMessage


@dataclass(frozen=True)
class SessionCheck:
    sessions: int  # sessions the charge points started (StartTransaction acknowledged)
    found: int  # of which the database holds exactly one transaction
    lost: int  # acknowledged but missing (or the stop acknowledged but not stored)
    duplicated: int  # transactions or meter values stored more than once, or unexpected
    meter_values_expected: int
    meter_values_found: int
    unmatched: int  # Stop/MeterValues the server could not match to a transaction

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.duplicated == 0 and self.unmatched == 0


def _key(
    identity: str, connector_id: int, id_tag: str, started: datetime, meter_start: int
) -> tuple:
    return (identity, connector_id, id_tag.lower(), started, meter_start)


def sessions_check(
    *, tenant_slug: str, sessions: list[Session], elsewhere: frozenset[int] = frozenset()
) -> SessionCheck:
    """Every acknowledged session stored exactly once, with every acknowledged meter value.

    ``elsewhere``: transactions of these charge points that belong to other sessions (earlier
    scenarios); any other transaction of theirs since the first session began is unexpected.
    """
    try:
        acknowledged = [s for s in sessions if s.start_acked]
        if not acknowledged:
            return SessionCheck(0, 0, 0, 0, 0, 0, 0)
        identities = {s.identity for s in acknowledged}
        since = min(datetime.fromisoformat(s.started_at) for s in acknowledged)
        rows = list(
            Transaction.objects.filter(
                tenant__slug=tenant_slug,
                charge_point__identity__in=identities,
                started_at__gte=since,
            ).values(
                "pk",
                "charge_point__identity",
                "connector_id",
                "id_tag",
                "started_at",
                "meter_start",
                "meter_stop",
            )
        )
        by_key: dict[tuple, list[dict]] = {}
        for row in rows:
            key = _key(
                row["charge_point__identity"],
                row["connector_id"],
                row["id_tag"],
                row["started_at"],
                row["meter_start"],
            )
            by_key.setdefault(key, []).append(row)
        meter_values = Counter(
            dict(
                MeterValue.objects.filter(transaction_id__in=[row["pk"] for row in rows])
                .values_list("transaction_id")
                .annotate(n=Count("pk"))
                .values_list("transaction_id", "n")
            )
        )
        found = lost = duplicated = expected_values = found_values = 0
        matched = set()
        for session in acknowledged:
            key = _key(
                session.identity,
                session.connector_id,
                session.id_tag,
                datetime.fromisoformat(session.started_at),
                session.meter_start,
            )
            stored = by_key.get(key, [])
            if not stored:
                lost += 1
                continue
            duplicated += len(stored) - 1
            row = stored[0]
            matched.add(row["pk"])
            if row["pk"] != session.transaction_id or (
                session.stop_acked and row["meter_stop"] != session.meter_stop
            ):
                lost += 1
                continue
            found += 1
            expected_values += session.samples_acked
            # More rows than were sent: stored twice; fewer than acknowledged: lost.
            stored_values = meter_values.get(row["pk"], 0)
            found_values += stored_values
            if stored_values > session.samples_sent:
                duplicated += 1
            elif stored_values < session.samples_acked:
                lost += 1
        duplicated += sum(1 for row in rows if row["pk"] not in matched | elsewhere)
        unmatched = UnmatchedTransactionMessage.objects.filter(
            charge_point__tenant__slug=tenant_slug, charge_point__identity__in=identities
        ).count()
        return SessionCheck(
            len(acknowledged),
            found,
            lost,
            duplicated,
            expected_values,
            found_values,
            unmatched,
        )
    finally:
        connections.close_all()


def inbound_calls_logged(*, tenant_slug: str, prefix: str) -> int:
    """CALLs from these charge points in the message log (one row per CALL received)."""
    try:
        return OcppMessage.objects.filter(
            charge_point__tenant__slug=tenant_slug,
            charge_point__identity__startswith=prefix,
            direction=MessageDirection.IN,
            message_type=2,
        ).count()
    finally:
        connections.close_all()
