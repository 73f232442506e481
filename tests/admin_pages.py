"""The Django admin as the tests drive it as staff: page URLs, and the pages of one model."""

from collections.abc import Callable
from typing import Any

from django.db.models import Model
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

from csms.tenancy.models import Tenant


def admin_url(model: type[Model], view: str, *args: Any) -> str:
    meta = model._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=args)


def pages_of(
    admin_client: Client, make: Callable[[Tenant], Model], tenant: Tenant, other_tenant: Tenant
) -> tuple[type[Model], HttpResponse, HttpResponse]:
    """One object made by ``make`` in each tenant; the model, its changelist and the change page
    of the first, as staff get them."""
    obj = make(tenant)
    make(other_tenant)
    model = type(obj)
    changelist = admin_client.get(admin_url(model, "changelist"))
    change = admin_client.get(admin_url(model, "change", obj.pk))
    return model, changelist, change
