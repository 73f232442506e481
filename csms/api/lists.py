"""What every list of the API takes: ``ordering``, ``search`` and ``page_size`` (SPEC §3.3).

They are the global defaults of DRF (``REST_FRAMEWORK`` in settings), so a list a new app adds
gets them without a line of its own; a view narrows them with ``ordering_fields``,
``search_fields`` and ``ordering``. A parameter a list cannot honour is a 400 that says what it
can, never silently ignored (an integrator who asked for ``ordering=-started_at`` and got the
default order would page through the wrong data without knowing).

Lists that are not generic views (the async views that also send commands) go through
``paginated_list`` with the same backends, name ``LIST_PARAMETERS`` in their schema, and set
``pagination_class`` so that the OpenAPI document shows their answer as a page.
"""

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import models
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter
from rest_framework import filters, pagination
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

# Model fields a search looks into when a view names none: the text a person would type.
_SEARCHABLE_FIELDS = (models.CharField, models.TextField, models.SlugField, models.EmailField)


def _model_field(model: type[models.Model], path: str) -> "models.Field[Any, Any] | None":
    """The concrete field ``path`` (``a__b``) reaches from ``model``, or None."""
    field: Any = None
    for part in path.split("__"):
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return None
        if not getattr(field, "concrete", False):
            return None
        if field.is_relation:
            model = field.related_model
    found: models.Field[Any, Any] | None = field
    return found


class StrictPageNumberPagination(pagination.PageNumberPagination):
    """Page numbers (``count``, ``next``, ``previous``, ``results``) with ``?page_size=``
    from 1 to ``API_MAX_PAGE_SIZE``; anything else is a 400."""

    page_size_query_param = "page_size"

    @property
    def max_page_size(self) -> int:  # type: ignore[override]
        return int(settings.API_MAX_PAGE_SIZE)

    def get_page_size(self, request: Request) -> int | None:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None or raw == "":
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if not 1 <= size <= self.max_page_size:
            raise ValidationError(
                {"page_size": f"must be a whole number from 1 to {self.max_page_size}"}
            )
        return size


class StrictOrderingFilter(filters.OrderingFilter):
    """``?ordering=a,-b``; fields the list does not offer are a 400 naming those it does.

    Without ``ordering_fields`` a view offers the serializer's fields that are concrete model
    fields (DRF's default also offers computed attributes, which the database cannot sort by).
    """

    def get_default_valid_fields(
        self, queryset: QuerySet[Any], view: APIView, context: Mapping[str, Any] | None = None
    ) -> list[tuple[str, str]]:
        try:
            fields = super().get_default_valid_fields(queryset, view, context)
        except ImproperlyConfigured:  # a view with neither a serializer nor ordering_fields
            return []
        return [(name, label) for name, label in fields if _model_field(queryset.model, name)]

    def remove_invalid_fields(
        self, queryset: QuerySet[Any], fields: Iterable[str], view: APIView, request: Request
    ) -> list[str]:
        terms = [term for term in fields if term]  # "a,,b" or a trailing comma
        valid = [name for name, _ in self.get_valid_fields(queryset, view, {"request": request})]
        unknown = [term for term in terms if term.removeprefix("-") not in valid]
        if unknown:
            raise ValidationError(
                {
                    self.ordering_param: f"cannot order by {', '.join(unknown)}; "
                    f"use {', '.join(sorted(valid)) or 'nothing here'} (prefix - to reverse)"
                }
            )
        return terms

    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: APIView) -> Any:
        ordering = self.get_ordering(request, queryset, view)
        if ordering:
            # Ties broken by the primary key, so that pages never repeat or skip a row.
            if "pk" not in ordering and "-pk" not in ordering:
                ordering = [*ordering, "pk"]
            return queryset.order_by(*ordering)
        return queryset


class DefaultSearchFilter(filters.SearchFilter):
    """``?search=words``: each word must appear (case-insensitively) in one of the fields.

    Without ``search_fields`` a view searches the serializer's text fields that are model
    fields; a list with nothing to search answers ``?search=`` with a 400.
    """

    def get_search_fields(self, view: APIView, request: Request) -> Sequence[str] | None:
        named: Sequence[str] | None = getattr(view, "search_fields", None)
        if named is not None:
            return named
        queryset = getattr(view, "queryset", None)
        try:
            serializer_class = view.get_serializer_class()  # type: ignore[attr-defined]
        except (AttributeError, AssertionError):
            serializer_class = getattr(view, "serializer_class", None)
        if queryset is None or serializer_class is None:
            return None
        found = []
        for name, field in serializer_class().fields.items():
            source = field.source.replace(".", "__") if field.source != "*" else ""
            model_field = _model_field(queryset.model, source or name)
            if isinstance(model_field, _SEARCHABLE_FIELDS) and not field.write_only:
                found.append(source or name)
        return found

    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: APIView) -> Any:
        if request.query_params.get(self.search_param) and not self.get_search_fields(
            view, request
        ):
            raise ValidationError({self.search_param: "this list cannot be searched"})
        return super().filter_queryset(request, queryset, view)


LIST_PARAMETERS = [
    OpenApiParameter(
        "ordering", str, description="Fields to sort by, comma-separated; -field reverses."
    ),
    OpenApiParameter("search", str, description="Words that must all appear in the text fields."),
    OpenApiParameter("page", int, description="Page number (from 1)."),
    OpenApiParameter("page_size", int, description="Results per page (1 to the maximum)."),
]


def paginated_list(
    view: APIView,
    request: Request,
    queryset: QuerySet[Any],
    represent: Callable[[list[Any]], Any],
) -> Response:
    """A list answered by a view that is not a generic view: the API's filter backends
    (``view.filterset_class``, ordering, search) and its pagination, like every other list."""
    backends: Any = api_settings.DEFAULT_FILTER_BACKENDS  # classes, once imported by DRF
    for backend in backends:
        queryset = backend().filter_queryset(request, queryset, view)
    pagination_class: Any = (
        getattr(view, "pagination_class", None) or api_settings.DEFAULT_PAGINATION_CLASS
    )
    paginator: pagination.BasePagination = pagination_class()
    page = paginator.paginate_queryset(queryset, request, view=view)
    response: Response = paginator.get_paginated_response(represent(page or []))
    return response
