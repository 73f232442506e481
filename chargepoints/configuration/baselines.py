"""Configuration baselines: a tenant's desired configuration values (services and selectors).

Every entry is checked against the catalogue when it is stored, so a baseline never asks a
charge point for a value the platform would refuse to send by hand.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q

from chargepoints.configuration.catalogue import catalogue_key, configuration_change_problem
from chargepoints.configuration.mirror import SECRET_KEYS
from chargepoints.models import (
    ChargePoint,
    ConfigurationBaseline,
    ConfigurationBaselineEntry,
)
from csms.errors import DomainError
from csms.tenancy.models import Tenant

KEY_MAX_LENGTH = 50  # ChangeConfiguration.req key: CiString50
VALUE_MAX_LENGTH = 500  # ChangeConfiguration.req value: CiString500


class BaselineError(DomainError):
    code = "invalid_baseline"


# --- Entries ------------------------------------------------------------------------------------


def configuration_baseline_entry_clean(*, key: str, value: str) -> tuple[str, str]:
    """The entry as stored (a standard key in the catalogue's spelling, booleans lower-case),
    or BaselineError saying why no baseline may hold it."""
    key = key.strip()
    if not key or len(key) > KEY_MAX_LENGTH:
        raise BaselineError(f"A key must be 1-{KEY_MAX_LENGTH} characters.", code="invalid_key")
    if len(value) > VALUE_MAX_LENGTH:
        raise BaselineError(
            f"{key}: a value must be at most {VALUE_MAX_LENGTH} characters.", code="invalid_value"
        )
    spec = catalogue_key(key)
    if spec is not None and spec.name in SECRET_KEYS:
        raise BaselineError(
            f"{spec.name} is a per-charge-point secret: change it on the charge point, "
            "not in a baseline.",
            code="invalid_key",
        )
    if problem := configuration_change_problem(key, value):
        raise BaselineError(problem, code="invalid_value")
    if spec is None:
        return key, value  # vendor-specific: as given
    return spec.name, value.lower() if spec.type.kind == "boolean" else value


def configuration_baseline_entries_clean(*, entries: Iterable[Mapping[str, str]]) -> dict[str, str]:
    """key -> value of every entry, each cleaned; a key twice (in any case) is refused."""
    cleaned: dict[str, str] = {}
    seen: set[str] = set()
    for entry in entries:
        key, value = configuration_baseline_entry_clean(key=entry["key"], value=entry["value"])
        if key.lower() in seen:
            raise BaselineError(f"{key} is listed twice.", code="duplicate_key")
        seen.add(key.lower())
        cleaned[key] = value
    return cleaned


# --- Baselines ----------------------------------------------------------------------------------

DUPLICATE_SCOPE = "This tenant already has a baseline for this vendor and model."
MODEL_WITHOUT_VENDOR = "A baseline for a model names its vendor too."


def _scope_clean(vendor: str, model: str) -> tuple[str, str]:
    vendor, model = vendor.strip(), model.strip()
    if model and not vendor:
        raise BaselineError(MODEL_WITHOUT_VENDOR, code="invalid_scope")
    return vendor, model


def configuration_baseline_create(
    *,
    tenant: Tenant,
    name: str,
    vendor: str = "",
    model: str = "",
    enabled: bool = True,
    entries: Iterable[Mapping[str, str]] = (),
) -> ConfigurationBaseline:
    vendor, model = _scope_clean(vendor, model)
    values = configuration_baseline_entries_clean(entries=entries)
    try:
        with transaction.atomic():
            baseline = ConfigurationBaseline.objects.create(
                tenant=tenant, name=name, vendor=vendor, model=model, enabled=enabled
            )
            _entries_set(baseline, values)
    except IntegrityError as exc:
        raise BaselineError(DUPLICATE_SCOPE, code="duplicate") from exc
    if enabled and values:
        configuration_baselines_changed(tenant_id=tenant.pk)
    return baseline


def configuration_baseline_update(
    *,
    baseline: ConfigurationBaseline,
    entries: Iterable[Mapping[str, str]] | None = None,
    **changes: Any,
) -> ConfigurationBaseline:
    """Change fields (name, vendor, model, enabled); ``entries`` replaces them all."""
    vendor, model = _scope_clean(
        changes.get("vendor", baseline.vendor), changes.get("model", baseline.model)
    )
    if "vendor" in changes or "model" in changes:
        changes.update(vendor=vendor, model=model)
    values = None if entries is None else configuration_baseline_entries_clean(entries=entries)
    for field, value in changes.items():
        setattr(baseline, field, value)
    try:
        with transaction.atomic():
            baseline.save(update_fields=[*changes, "updated_at"])
            if values is not None:
                _entries_set(baseline, values)
    except IntegrityError as exc:
        raise BaselineError(DUPLICATE_SCOPE, code="duplicate") from exc
    if baseline.enabled:
        configuration_baselines_changed(tenant_id=baseline.tenant_id)
    return baseline


def _entries_set(baseline: ConfigurationBaseline, values: Mapping[str, str]) -> None:
    baseline.entries.all().delete()
    ConfigurationBaselineEntry.objects.bulk_create(
        ConfigurationBaselineEntry(baseline=baseline, key=key, value=value)
        for key, value in values.items()
    )


def configuration_baseline_delete(*, baseline: ConfigurationBaseline) -> None:
    baseline.delete()


def configuration_baselines_changed(*, tenant_id: int) -> None:
    """Apply the tenant's baselines soon (after commit): a new desired value is due at once."""
    transaction.on_commit(lambda: _enqueue_tenant_apply(tenant_id), robust=True)


def _enqueue_tenant_apply(tenant_id: int) -> None:
    from chargepoints.tasks import apply_configuration_baselines  # the tasks import this module

    apply_configuration_baselines.delay(tenant_id)


# --- Selectors ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DesiredValue:
    value: str
    baseline_id: int
    baseline_name: str


def configuration_baselines_for(*, charge_point: ChargePoint) -> list[ConfigurationBaseline]:
    """The tenant's enabled baselines that match the charge point, least specific first."""
    vendor, model = charge_point.vendor, charge_point.model
    baselines = ConfigurationBaseline.objects.filter(
        tenant_id=charge_point.tenant_id, enabled=True
    ).filter(
        Q(vendor="")
        | Q(vendor__iexact=vendor, model="")
        | Q(vendor__iexact=vendor, model__iexact=model)
    )
    return sorted(
        baselines.prefetch_related("entries"), key=lambda b: (bool(b.vendor), bool(b.model))
    )


def configuration_desired(*, charge_point: ChargePoint) -> dict[str, DesiredValue]:
    """key -> the value the most specific matching baseline wants."""
    desired: dict[str, DesiredValue] = {}
    by_lower: dict[str, str] = {}
    for baseline in configuration_baselines_for(charge_point=charge_point):
        for entry in baseline.entries.all():
            # A vendor key may be spelt differently by two baselines: the later one wins.
            desired.pop(by_lower.get(entry.key.lower(), ""), None)
            by_lower[entry.key.lower()] = entry.key
            desired[entry.key] = DesiredValue(entry.value, baseline.pk, baseline.name)
    return desired
