"""Tenant-aware pickers: autocomplete selects that only ever offer one tenant's objects.

The admin's own autocomplete cannot know which tenant a half-filled form is for, and
``filter_horizontal`` renders every charge point of every tenant (10,000 options per field on a
real fleet). These widgets render only the chosen values; the browser asks
``/admin/console/pick/<kind>/?tenant=<id>&term=…`` for the rest, with the tenant taken from the
form's tenant field (or fixed, when the object already has one). Without a tenant nothing is
offered. The forms check the chosen objects' tenant again on the server.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.urls import reverse_lazy

from chargepoints.models import ChargePoint, ChargePointGroup, IdTag

PAGE_SIZE = 20
ADMIN_JS = [
    "admin/js/vendor/jquery/jquery.min.js",
    "admin/js/vendor/select2/select2.full.min.js",
    "admin/js/jquery.init.js",
    "console/tenant_picker.js",
]
ADMIN_CSS = ["admin/css/vendor/select2/select2.min.css", "admin/css/autocomplete.css"]


@dataclass(frozen=True, slots=True)
class PickerKind:
    model: type[Model]
    search_field: str
    # The value the form receives: the primary key, or a natural key (an idTag's text).
    value_field: str = "pk"


KINDS: dict[str, PickerKind] = {
    "charge_point": PickerKind(ChargePoint, "identity"),
    "charge_point_group": PickerKind(ChargePointGroup, "name"),
    "id_tag": PickerKind(IdTag, "id_tag", value_field="id_tag"),
}


def picker_search(
    *, kind: str, tenant_id: int | None, term: str, page: int = 1
) -> tuple[list[dict[str, str]], bool]:
    """One page of ``kind`` of ``tenant_id`` whose name contains ``term``: (results, more)."""
    spec = KINDS.get(kind)
    if spec is None or tenant_id is None:
        return [], False
    queryset: QuerySet[Any] = spec.model.objects.filter(tenant_id=tenant_id)
    if term:
        # A prefix first is what an operator types (CP-00…), but "contains" finds site names.
        queryset = queryset.filter(**{f"{spec.search_field}__icontains": term})
    start = (max(page, 1) - 1) * PAGE_SIZE
    rows = list(
        queryset.order_by(spec.search_field).values_list(spec.value_field, spec.search_field)[
            start : start + PAGE_SIZE + 1
        ]
    )
    results = [{"id": str(value), "text": text} for value, text in rows[:PAGE_SIZE]]
    return results, len(rows) > PAGE_SIZE


class _TenantPickerMixin:
    """Renders the chosen values only; the rest comes from the picker endpoint."""

    kind: str

    def __init__(
        self, *, kind: str, tenant_field: str = "tenant", tenant_id: int | None = None, **kw: Any
    ) -> None:
        super().__init__(**kw)  # type: ignore[call-arg]
        self.kind = kind
        self.attrs.update(  # type: ignore[attr-defined]
            {
                "class": "tenant-picker",
                "data-picker-url": reverse_lazy("console:pick", args=[kind]),
                "data-tenant-field": tenant_field,
                "data-placeholder": "type to search",
                "style": "min-width: 20em",
            }
        )
        if tenant_id is not None:
            self.attrs["data-tenant"] = str(tenant_id)  # type: ignore[attr-defined]

    @property
    def media(self) -> forms.Media:
        return forms.Media(js=ADMIN_JS, css={"screen": ADMIN_CSS})

    def optgroups(self, name: str, value: list[Any], attrs: dict[str, Any] | None = None) -> list:
        chosen = [v for v in value if v not in ("", None)]
        spec = KINDS[self.kind]
        labels = dict(
            spec.model.objects.filter(**{f"{spec.value_field}__in": chosen}).values_list(
                spec.value_field, spec.search_field
            )
        )
        options = [
            self.create_option(  # type: ignore[attr-defined]
                name, v, labels.get(_same_type(v, labels), str(v)), True, i
            )
            for i, v in enumerate(chosen)
        ]
        return [(None, options, 0)]


def _same_type(value: Any, labels: dict[Any, str]) -> Any:
    for key in labels:
        if str(key) == str(value):
            return key
    return value


class TenantPickerSelect(_TenantPickerMixin, forms.Select):
    pass


class TenantPickerSelectMultiple(_TenantPickerMixin, forms.SelectMultiple):
    pass


def _widgets(widget: forms.Widget) -> Iterable[forms.Widget]:
    yield widget
    inner = getattr(widget, "widget", None)  # the admin's RelatedFieldWidgetWrapper
    if inner is not None:
        yield inner


class TenantPickersAdminMixin:
    """For ModelAdmins whose objects have a ``tenant`` and refer to charge points, groups or
    idTags: ``tenant_pickers = {"field": "kind"}`` turns those fields into tenant-aware pickers,
    fixed to the object's tenant once it has one."""

    tenant_pickers: dict[str, str] = {}

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name in self.tenant_pickers:
            kwargs["widget"] = TenantPickerSelectMultiple(kind=self.tenant_pickers[db_field.name])
        return super().formfield_for_manytomany(db_field, request, **kwargs)  # type: ignore[misc]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name in self.tenant_pickers:
            kwargs["widget"] = TenantPickerSelect(kind=self.tenant_pickers[db_field.name])
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]

    def get_form(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, **kwargs)  # type: ignore[misc]
        tenant_id = getattr(obj, "tenant_id", None)
        for name in self.tenant_pickers:
            field = form.base_fields.get(name)
            if field is None:
                continue
            if tenant_id is not None:
                # The object keeps its tenant: its pickers are bound to it.
                field.queryset = field.queryset.filter(tenant_id=tenant_id)
                for widget in _widgets(field.widget):
                    widget.attrs["data-tenant"] = str(tenant_id)
        return form

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        """The same for inlines: their objects' tenant is the parent's."""
        formset = super().get_formset(request, obj, **kwargs)  # type: ignore[misc]
        tenant_id = getattr(obj, "tenant_id", None)
        for name in self.tenant_pickers:
            field = formset.form.base_fields.get(name)
            if field is not None and tenant_id is not None:
                field.queryset = field.queryset.filter(tenant_id=tenant_id)
                for widget in _widgets(field.widget):
                    widget.attrs["data-tenant"] = str(tenant_id)
        return formset


def foreign_to_tenant(tenant: Any, chosen: Any) -> list[Any]:
    """What of ``chosen`` (an object, a list or a queryset) belongs to another tenant."""
    if tenant is None or chosen is None:
        return []
    objects = [chosen] if isinstance(chosen, Model) else list(chosen)
    return [obj for obj in objects if obj.tenant_id != tenant.pk]


__all__ = [
    "KINDS",
    "TenantPickerSelect",
    "TenantPickerSelectMultiple",
    "TenantPickersAdminMixin",
    "foreign_to_tenant",
    "picker_search",
]
