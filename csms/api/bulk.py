"""Bulk creation on a resource's list: ``POST …/import/`` with a CSV file (``text/csv`` body,
or a multipart ``file``) and ``POST …/bulk/`` with a JSON list, both all or nothing
(``chargepoints.imports``). 201 with the report (rows, created, the created items' keys), or
the API's 400 validation error naming every refused row (``attr`` = ``line.<n>.<field>``).
"""

from typing import Any, ClassVar

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import parsers, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from chargepoints.imports import ImportKind, bulk_create, csv_rows


class CsvParser(parsers.BaseParser):
    """A ``text/csv`` request body, as text."""

    media_type = "text/csv"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> str:
        raw = stream.read() if stream is not None else b""
        try:
            return str(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise ValidationError({"file": ["The CSV file must be UTF-8."]}) from None


class CsvUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="UTF-8 CSV with a header row.")


class ImportReportSerializer(serializers.Serializer):
    rows = serializers.IntegerField(help_text="Rows read.")
    created = serializers.IntegerField(help_text="Objects created (all rows, or none).")
    items = serializers.ListField(child=serializers.CharField(), help_text="Their keys.")


def csv_text(request: Request) -> str:
    """The CSV of an import request: the body itself, or the multipart ``file``."""
    data = request.data
    if isinstance(data, str):
        return data
    if request.content_type.startswith(CsvParser.media_type):
        return ""  # an empty body: DRF parses none
    upload = data.get("file") if hasattr(data, "get") else None
    if upload is None:
        raise ValidationError({"file": ["Send the CSV as a text/csv body or a 'file' part."]})
    try:
        return str(upload.read().decode("utf-8"))
    except UnicodeDecodeError:
        raise ValidationError({"file": ["The CSV file must be UTF-8."]}) from None


class BulkImportMixin:
    """Adds ``import/`` and ``bulk/`` to a tenant viewset; ``import_kind`` says what a row is
    (its serializer is the viewset's)."""

    import_kind: ClassVar[ImportKind]

    def _kind(self) -> ImportKind:
        return self.import_kind

    @extend_schema(
        request={"text/csv": OpenApiTypes.STR, "multipart/form-data": CsvUploadSerializer},
        responses={201: ImportReportSerializer},
        summary="Import from a CSV file (all rows or none)",
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        parser_classes=[CsvParser, parsers.MultiPartParser],
        filterset_class=None,
    )
    def import_csv(self, request: Request) -> Response:
        kind = self._kind()
        report = bulk_create(
            tenant=self.tenant,  # type: ignore[attr-defined]
            kind=kind,
            rows=csv_rows(csv_text(request), kind=kind),
        )
        return Response(ImportReportSerializer(report.as_dict()).data, status.HTTP_201_CREATED)

    @extend_schema(
        request={"application/json": {"type": "array", "items": {"type": "object"}}},
        responses={201: ImportReportSerializer},
        summary="Create many at once from a JSON list of the create's bodies (all or none)",
    )
    @action(detail=False, methods=["post"], url_path="bulk", filterset_class=None)
    def bulk(self, request: Request) -> Response:
        items = request.data
        if not isinstance(items, list):
            raise ValidationError({"items": ["Send a JSON list of objects."]})
        report = bulk_create(
            tenant=self.tenant,  # type: ignore[attr-defined]
            kind=self._kind(),
            rows=enumerate(items),
        )
        return Response(ImportReportSerializer(report.as_dict()).data, status.HTTP_201_CREATED)
