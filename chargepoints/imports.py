"""Bulk creation of idTags and charge points: from a CSV file (the API and the admin) or a JSON
list (the API), validated row by row, all or nothing, with a report.

A row is accepted exactly when a POST of it to the API would be: each row goes through the
resource's API serializer (the same rules, the same services on save). Every problem of every
row is reported with its line (CSV: the file's line, the header being line 1; JSON: the item's
index); if there is any, nothing is created. Otherwise all rows are created in one transaction.
"""

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from csms.tenancy.models import Tenant


@dataclass(frozen=True)
class ImportKind:
    """What a bulk import creates: its serializer, the columns a CSV may have, and the field
    whose value must be unique in the file (as in the tenant)."""

    name: str
    serializer: Callable[..., serializers.BaseSerializer[Any]]
    columns: tuple[str, ...]
    required: tuple[str, ...]
    unique: str
    # Case-insensitive uniqueness (idTags are compared that way, OCPP 1.6 IdToken).
    unique_casefold: bool = False


@dataclass
class ImportReport:
    rows: int = 0
    created: list[str] = field(default_factory=list)
    # {line: {field or "row": [messages]}}
    errors: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def add_error(self, line: int | str, attr: str, message: str) -> None:
        self.errors.setdefault(str(line), {}).setdefault(attr, []).append(message)

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "created": len(self.created), "items": self.created}


class ImportRefusedError(ValidationError):
    """The rows that were refused, and why (the report, as the API's validation errors)."""

    def __init__(self, report: ImportReport, *, summary: str | None = None) -> None:
        detail: dict[str, Any] = {"line": report.errors} if report.errors else {}
        if summary:
            detail = {"file": [summary], **detail}
        super().__init__(detail)
        self.report = report


def csv_rows(text: str, *, kind: ImportKind) -> list[tuple[int, dict[str, str]]]:
    """The rows of a CSV file as ``(line, {column: value})``; empty cells are left out (the
    field's default applies). Unknown or missing columns refuse the whole file."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [name.strip() for name in reader.fieldnames or []]
    empty = ImportReport()
    if not header:
        raise ImportRefusedError(empty, summary="The file is empty: a header row is needed.")
    unknown = [name for name in header if name not in kind.columns]
    missing = [name for name in kind.required if name not in header]
    if unknown or missing:
        problems = []
        if unknown:
            problems.append(f"unknown column(s) {', '.join(unknown)}")
        if missing:
            problems.append(f"missing column(s) {', '.join(missing)}")
        raise ImportRefusedError(
            empty,
            summary=f"{'; '.join(problems)}; the columns are {', '.join(kind.columns)}.",
        )
    reader.fieldnames = header
    rows = []
    for record in reader:
        if None in record:  # more cells than the header has
            rows.append((reader.line_num, {"__extra__": "x"}))
            continue
        rows.append((reader.line_num, {k: v.strip() for k, v in record.items() if v and v.strip()}))
    return rows


def bulk_create(
    *,
    tenant: Tenant,
    kind: ImportKind,
    rows: Iterable[tuple[int | str, Any]],
    context: dict[str, Any] | None = None,
) -> ImportReport:
    """Validate every row, then create them all, or none (ImportRefusedError with the report)."""
    rows = list(rows)
    report = ImportReport(rows=len(rows))
    limit = settings.API_BULK_MAX_ROWS
    if len(rows) > limit:
        raise ImportRefusedError(report, summary=f"At most {limit} rows at once.")
    if not rows:
        raise ImportRefusedError(report, summary="Nothing to import: no rows.")
    context = {"tenant": tenant, **(context or {})}
    accepted: list[serializers.BaseSerializer[Any]] = []
    seen: dict[str, int | str] = {}
    for line, data in rows:
        if not isinstance(data, dict):
            report.add_error(line, "row", "Expected an object of fields.")
            continue
        if "__extra__" in data:
            report.add_error(line, "row", "More cells than the header has columns.")
            continue
        serializer = kind.serializer(data=data, context=context)
        if not serializer.is_valid():
            for attr, messages in _messages(serializer.errors):
                report.add_error(line, attr, messages)
            continue
        value = str(serializer.validated_data[kind.unique])
        unique = value.casefold() if kind.unique_casefold else value
        if unique in seen:
            report.add_error(line, kind.unique, f"{value} is also on line {seen[unique]}.")
            continue
        seen[unique] = line
        accepted.append(serializer)
    if report.errors:
        raise ImportRefusedError(report)
    with transaction.atomic():
        for serializer in accepted:
            serializer.save(tenant=tenant)
            report.created.append(str(serializer.validated_data[kind.unique]))
    return report


def _messages(errors: Any, prefix: str = "") -> Iterable[tuple[str, str]]:
    """A serializer's errors as ``(field path, message)`` pairs."""
    if isinstance(errors, dict):
        for key, value in errors.items():
            name = "row" if key == "non_field_errors" else key
            yield from _messages(value, f"{prefix}.{name}" if prefix else name)
    elif isinstance(errors, list):
        for item in errors:
            yield from _messages(item, prefix)
    else:
        yield prefix or "row", str(errors)
