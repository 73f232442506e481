"""Admin building blocks shared by the apps' admin modules."""

from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest


class ReadOnlyAdminMixin:
    """For what charge points report: staff read it, nobody edits it by hand."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class LimitedInlineFormSet(BaseInlineFormSet):
    """Only the first ``limit`` rows (in the model's ordering): a charge point's message log
    or a long transaction's meter values must not turn a change page into a huge query."""

    limit = 20

    def get_queryset(self) -> QuerySet[Any]:
        if not hasattr(self, "_limited_queryset"):
            self._limited_queryset = super().get_queryset()[: self.limit]
        return self._limited_queryset


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    max_num = 0
    show_change_link = False

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        return list(self.fields or [])
