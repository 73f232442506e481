"""The Local Authorization List as data: entries, differences, chunks, the messages of a sync.

Plain functions, no ORM. A list is a mapping ``idTag -> idTagInfo`` in wire form (camelCase),
as the charge point holds it. IdTokens compare case-insensitively (OCPP 1.6 §7.28), so two
spellings of one idTag are one entry here as on the charge point.
"""

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

FULL = "Full"
DIFFERENTIAL = "Differential"
# GetLocalListVersion.conf: -1 means the charge point has no Local Authorization List
# (OCPP 1.6 §5.10); 0 means its list is empty.
VERSION_NOT_SUPPORTED = -1

LocalList = Mapping[str, dict[str, Any]]


def wire_datetime(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def id_tag_info(
    *, status: str, expiry_date: datetime | None = None, parent_id_tag: str = ""
) -> dict[str, Any]:
    """``idTagInfo`` as SendLocalList carries it (OCPP 1.6 §7.29)."""
    info: dict[str, Any] = {"status": status}
    if expiry_date is not None:
        info["expiryDate"] = wire_datetime(expiry_date)
    if parent_id_tag:
        info["parentIdTag"] = parent_id_tag
    return info


def _ordered(tags: Iterable[str]) -> list[str]:
    return sorted(tags, key=lambda tag: (tag.lower(), tag))


def local_list_fit(desired: LocalList, *, max_length: int | None) -> tuple[dict[str, Any], int]:
    """At most ``max_length`` entries (LocalAuthListMaxLength), the first ones by idTag so that
    the same tags are kept every time; and how many were left out."""
    ordered = _ordered(desired)
    if max_length is None or len(ordered) <= max_length:
        return {tag: desired[tag] for tag in ordered}, 0
    kept = ordered[: max(max_length, 0)]
    return {tag: desired[tag] for tag in kept}, len(ordered) - len(kept)


def local_list_changes(held: LocalList, desired: LocalList) -> list[dict[str, Any]]:
    """A Differential update's entries: removals (no idTagInfo, OCPP 1.6 §5.15) first, so the
    list never outgrows its maximum half-way, then additions and updates."""
    desired_keys = {tag.lower() for tag in desired}
    held_by_key = {tag.lower(): (tag, info) for tag, info in held.items()}
    removals = [{"idTag": tag} for tag in _ordered(held) if tag.lower() not in desired_keys]
    upserts = [
        {"idTag": tag, "idTagInfo": desired[tag]}
        for tag in _ordered(desired)
        if held_by_key.get(tag.lower()) != (tag, desired[tag])
    ]
    return removals + upserts


def local_list_apply(
    held: LocalList, *, update_type: str, entries: Iterable[dict[str, Any]]
) -> dict[str, Any]:
    """What the charge point holds after accepting a SendLocalList."""
    result: dict[str, Any] = {} if update_type == FULL else dict(held)
    spelling = {tag.lower(): tag for tag in result}
    for entry in entries:
        key = entry["idTag"].lower()
        if key in spelling:
            del result[spelling.pop(key)]
        if "idTagInfo" in entry:
            result[entry["idTag"]] = entry["idTagInfo"]
            spelling[key] = entry["idTag"]
    return result


def _chunks(entries: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    size = max(size, 1)
    return [entries[start : start + size] for start in range(0, len(entries), size)]


def _message(version: int, update_type: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {"listVersion": version, "updateType": update_type, "localAuthorizationList": entries}


def local_list_full_messages(
    desired: LocalList, *, base_version: int, chunk_size: int
) -> list[dict[str, Any]]:
    """The whole list: a Full update with the first chunk, then Differential ones adding the
    rest (SendLocalListMaxLength bounds each message). Versions count up from
    ``base_version + 1``, one per message, so every message moves the charge point forward."""
    entries = [{"idTag": tag, "idTagInfo": desired[tag]} for tag in _ordered(desired)]
    chunks = _chunks(entries, chunk_size) or [[]]
    return [
        _message(base_version + number, FULL if number == 1 else DIFFERENTIAL, chunk)
        for number, chunk in enumerate(chunks, start=1)
    ]


def local_list_messages(
    *,
    held: LocalList,
    held_version: int,
    reported_version: int,
    desired: LocalList,
    chunk_size: int,
    full: bool = False,
) -> tuple[str, list[dict[str, Any]]]:
    """The SendLocalList payloads that bring the charge point from what it reports to
    ``desired``: Differential when it still holds the version we last sent, else Full.
    Returns the kind of update and the messages (none when nothing has to change)."""
    in_step = reported_version == held_version and held_version > 0
    if in_step and not full:
        changes = local_list_changes(held, desired)
        return DIFFERENTIAL, [
            _message(held_version + number, DIFFERENTIAL, chunk)
            for number, chunk in enumerate(_chunks(changes, chunk_size), start=1)
        ]
    if not full and reported_version == 0 and not desired:
        return FULL, []  # an empty list is what it holds already
    base = max(held_version, reported_version, 0)
    return FULL, local_list_full_messages(desired, base_version=base, chunk_size=chunk_size)
