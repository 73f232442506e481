"""Reading the API's one error shape (csms.api.exceptions) in tests."""

from typing import Any


def error_fields(response: Any) -> dict[str, list[str]]:
    """An error answer's messages by the field they are about (``attr``; the whole request's
    under ``None``), in order."""
    fields: dict[str, list[str]] = {}
    for error in response.json()["errors"]:
        fields.setdefault(error["attr"], []).append(error["detail"])
    return fields


def error_summary(response: Any) -> dict[str, str]:
    """``detail`` and ``code`` of an error answer: what a domain error (a refused command, a
    refused change) says."""
    body = response.json()
    return {"detail": body["detail"], "code": body["code"]}


def errored_fields(response: Any) -> set[str]:
    """The top-level fields an error answer is about (``charging_schedule`` for an error at
    ``charging_schedule.charging_schedule_period.0.limit``)."""
    return {attr.split(".")[0] for attr in error_fields(response) if attr is not None}


def is_about(response: Any, field: str) -> bool:
    """Whether an error answer names ``field`` (a dotted path), or a field inside it."""
    return any(
        attr == field or attr.startswith(f"{field}.")
        for attr in error_fields(response)
        if attr is not None
    )
