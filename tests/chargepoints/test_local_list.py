"""The Local Authorization List as data: differences, chunks, truncation (no database)."""

import random
from datetime import UTC, datetime

import pytest

from chargepoints.authorization.local_list import (
    DIFFERENTIAL,
    FULL,
    id_tag_info,
    local_list_apply,
    local_list_changes,
    local_list_fit,
    local_list_messages,
)

ACCEPTED = {"status": "Accepted"}
BLOCKED = {"status": "Blocked"}


def test_id_tag_info_is_wire_form_with_optional_fields_left_out() -> None:
    expiry = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)

    assert id_tag_info(status="Accepted") == {"status": "Accepted"}
    assert id_tag_info(status="Expired", expiry_date=expiry, parent_id_tag="FLEET") == {
        "status": "Expired",
        "expiryDate": "2030-01-02T03:04:05Z",
        "parentIdTag": "FLEET",
    }


def test_changes_list_removals_first_then_additions_and_updates() -> None:
    held = {"KEEP": ACCEPTED, "GONE": ACCEPTED, "CHANGED": ACCEPTED}
    desired = {"KEEP": ACCEPTED, "CHANGED": BLOCKED, "NEW": ACCEPTED}

    assert local_list_changes(held, desired) == [
        {"idTag": "GONE"},
        {"idTag": "CHANGED", "idTagInfo": BLOCKED},
        {"idTag": "NEW", "idTagInfo": ACCEPTED},
    ]


def test_a_new_spelling_of_a_held_tag_is_one_update_not_a_removal_and_an_add() -> None:
    # IdTokens are case-insensitive: "abc" and "ABC" are one entry on the charge point, and
    # one SendLocalList must not name it twice (OCPP 1.6 §5.15).
    changes = local_list_changes({"abc": ACCEPTED}, {"ABC": ACCEPTED})

    assert changes == [{"idTag": "ABC", "idTagInfo": ACCEPTED}]
    assert local_list_apply({"abc": ACCEPTED}, update_type=DIFFERENTIAL, entries=changes) == {
        "ABC": ACCEPTED
    }


@pytest.mark.parametrize("seed", range(20))
def test_applying_the_changes_yields_the_desired_list(seed: int) -> None:
    rng = random.Random(seed)
    universe = [f"T{n}" for n in range(12)]
    statuses = [ACCEPTED, BLOCKED, {"status": "Expired", "expiryDate": "2020-01-01T00:00:00Z"}]
    held = {tag: rng.choice(statuses) for tag in rng.sample(universe, rng.randint(0, 12))}
    desired = {tag: rng.choice(statuses) for tag in rng.sample(universe, rng.randint(0, 12))}

    result = local_list_apply(
        held, update_type=DIFFERENTIAL, entries=local_list_changes(held, desired)
    )

    assert result == desired


def test_full_update_replaces_everything() -> None:
    assert local_list_apply(
        {"OLD": ACCEPTED}, update_type=FULL, entries=[{"idTag": "NEW", "idTagInfo": BLOCKED}]
    ) == {"NEW": BLOCKED}


def test_fit_keeps_the_first_tags_by_id_tag_and_counts_the_rest() -> None:
    desired = dict.fromkeys(["d", "B", "a", "C", "e"], ACCEPTED)

    kept, truncated = local_list_fit(desired, max_length=3)

    assert list(kept) == ["a", "B", "C"]
    assert truncated == 2
    assert local_list_fit(desired, max_length=None) == (
        dict.fromkeys(["a", "B", "C", "d", "e"], ACCEPTED),
        0,
    )


def test_messages_are_differential_when_the_charge_point_holds_our_last_version() -> None:
    update_type, messages = local_list_messages(
        held={"A": ACCEPTED, "B": ACCEPTED},
        held_version=4,
        reported_version=4,
        desired={"A": ACCEPTED, "C": ACCEPTED},
        chunk_size=20,
    )

    assert update_type == DIFFERENTIAL
    assert messages == [
        {
            "listVersion": 5,
            "updateType": "Differential",
            "localAuthorizationList": [{"idTag": "B"}, {"idTag": "C", "idTagInfo": ACCEPTED}],
        }
    ]


def test_nothing_to_send_when_in_step_and_unchanged() -> None:
    assert local_list_messages(
        held={"A": ACCEPTED},
        held_version=2,
        reported_version=2,
        desired={"A": ACCEPTED},
        chunk_size=20,
    ) == (DIFFERENTIAL, [])


@pytest.mark.parametrize(("held_version", "reported_version"), [(4, 7), (4, 0), (0, 0), (0, 3)])
def test_messages_are_full_when_the_versions_differ(
    held_version: int, reported_version: int
) -> None:
    update_type, messages = local_list_messages(
        held={"A": ACCEPTED},
        held_version=held_version,
        reported_version=reported_version,
        desired={"B": ACCEPTED},
        chunk_size=20,
    )

    assert update_type == FULL
    assert messages == [
        {
            "listVersion": max(held_version, reported_version) + 1,
            "updateType": "Full",
            "localAuthorizationList": [{"idTag": "B", "idTagInfo": ACCEPTED}],
        }
    ]


def test_full_list_is_chunked_into_a_full_then_differential_messages() -> None:
    desired = {f"T{n}": ACCEPTED for n in range(5)}

    _, messages = local_list_messages(
        held={}, held_version=0, reported_version=0, desired=desired, chunk_size=2
    )

    assert [(m["listVersion"], m["updateType"]) for m in messages] == [
        (1, "Full"),
        (2, "Differential"),
        (3, "Differential"),
    ]
    assert [[e["idTag"] for e in m["localAuthorizationList"]] for m in messages] == [
        ["T0", "T1"],
        ["T2", "T3"],
        ["T4"],
    ]
    held: dict = {}
    for message in messages:
        held = local_list_apply(
            held, update_type=message["updateType"], entries=message["localAuthorizationList"]
        )
    assert held == desired


def test_forced_full_of_an_empty_list_still_sends_one_message() -> None:
    assert local_list_messages(
        held={}, held_version=0, reported_version=0, desired={}, chunk_size=20
    ) == (FULL, [])
    _, messages = local_list_messages(
        held={"A": ACCEPTED},
        held_version=3,
        reported_version=3,
        desired={},
        chunk_size=20,
        full=True,
    )
    assert messages == [{"listVersion": 4, "updateType": "Full", "localAuthorizationList": []}]
