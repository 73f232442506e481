"""Test data factories (factory_boy)."""

from datetime import UTC, datetime, timedelta

import factory

from chargepoints.models import ChargePoint, Connector, IdTag
from csms.tenancy.models import Tenant
from transactions.models import MeterValue, Transaction


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"tenant-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.replace("-", " ").title())


class ChargePointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChargePoint

    tenant = factory.SubFactory(TenantFactory)
    identity = factory.Sequence(lambda n: f"CP-{n:04d}")
    vendor = "Acme"
    model = "Wallbox 22"


class ConnectorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Connector

    charge_point = factory.SubFactory(ChargePointFactory)
    connector_id = factory.Sequence(lambda n: n + 1)
    status = "Available"
    error_code = "NoError"


class IdTagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IdTag

    tenant = factory.SubFactory(TenantFactory)
    id_tag = factory.Sequence(lambda n: f"TAG{n:05d}")


class TransactionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Transaction

    charge_point = factory.SubFactory(ChargePointFactory)
    tenant = factory.LazyAttribute(lambda o: o.charge_point.tenant)
    connector_id = 1
    id_tag = factory.Sequence(lambda n: f"TX-TAG{n:04d}")
    id_tag_status = "Accepted"
    meter_start = 1000
    started_at = factory.Sequence(lambda n: datetime(2025, 1, 1, tzinfo=UTC) + timedelta(hours=n))

    # What the stop would have settled (transactions.energy): meterStop - meterStart. (Without
    # the ``stopped`` trait or a value given, factory_boy hands the lazy attributes a Skip.)
    energy_wh = factory.LazyAttribute(
        lambda o: max(o.meter_stop - o.meter_start, 0) if isinstance(o.meter_stop, int) else None
    )
    energy_source = factory.LazyAttribute(
        lambda o: "meter_stop" if isinstance(o.stopped_at, datetime) else ""
    )
    stopped_by = factory.LazyAttribute(
        lambda o: "charge_point" if isinstance(o.stopped_at, datetime) else ""
    )

    class Params:
        # ``stopped=True``: a finished session with 2.5 kWh charged.
        stopped = factory.Trait(
            meter_stop=factory.LazyAttribute(lambda o: o.meter_start + 2500),
            stopped_at=factory.LazyAttribute(lambda o: o.started_at + timedelta(hours=1)),
            stop_reason="Local",
        )


class MeterValueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MeterValue

    transaction = factory.SubFactory(TransactionFactory)
    charge_point = factory.LazyAttribute(lambda o: o.transaction.charge_point)
    connector_id = factory.LazyAttribute(lambda o: o.transaction.connector_id)
    reported_transaction_id = factory.LazyAttribute(
        lambda o: o.transaction.pk if o.transaction else None
    )
    timestamp = factory.LazyAttribute(
        lambda o: (
            (o.transaction.started_at if o.transaction else datetime(2025, 1, 1, tzinfo=UTC))
            + timedelta(minutes=5)
        )
    )
    value = "1234"
    context = "Sample.Periodic"
    format = "Raw"
    measurand = "Energy.Active.Import.Register"
    location = "Outlet"
    unit = "Wh"
    content_hash = factory.Sequence(lambda n: f"{n:040x}")


class ChargePointGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "chargepoints.ChargePointGroup"
        skip_postgeneration_save = True

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Group {n}")

    @factory.post_generation
    def members(self, create: bool, extracted: list[ChargePoint] | None, **kwargs: object) -> None:
        if create and extracted:
            self.members.set(extracted)


class ReservationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "chargepoints.Reservation"

    charge_point = factory.SubFactory(ChargePointFactory)
    tenant = factory.LazyAttribute(lambda o: o.charge_point.tenant)
    connector_id = 1
    id_tag = factory.Sequence(lambda n: f"RES-TAG{n:04d}")
    expiry_date = factory.LazyFunction(lambda: datetime.now(UTC) + timedelta(hours=1))
    reservation_id = factory.Sequence(lambda n: n + 1)
    status = "accepted"


class ConfigurationBaselineFactory(factory.django.DjangoModelFactory):
    """A baseline with ``entries={"Key": "value"}`` (stored as given: no catalogue check)."""

    class Meta:
        model = "chargepoints.ConfigurationBaseline"
        skip_postgeneration_save = True

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Baseline {n}")

    @factory.post_generation
    def entries(self, create: bool, extracted: dict[str, str] | None, **kwargs: object) -> None:
        if create and extracted:
            for key, value in extracted.items():
                self.entries.create(key=key, value=value)


class ChargingProfileFactory(factory.django.DjangoModelFactory):
    """A TxDefaultProfile of 16 A from the start, absolute, stack level 0."""

    class Meta:
        model = "smartcharging.ChargingProfile"

    tenant = factory.SubFactory(TenantFactory)
    charging_profile_id = factory.Sequence(lambda n: n + 1)
    stack_level = 0
    charging_profile_purpose = "TxDefaultProfile"
    charging_profile_kind = "Absolute"
    charging_rate_unit = "A"
    periods = factory.LazyFunction(lambda: [{"start_period": 0, "limit": 16.0}])


class CommandFactory(factory.django.DjangoModelFactory):
    """A command queued by hand (as staff would), not through command_dispatch; five minutes
    to live."""

    class Meta:
        model = "chargepoints.Command"

    charge_point = factory.SubFactory(ChargePointFactory)
    tenant = factory.LazyAttribute(lambda o: o.charge_point.tenant)
    action = "GetConfiguration"
    payload = factory.LazyFunction(dict)
    expires_at = factory.LazyFunction(lambda: datetime.now(UTC) + timedelta(minutes=5))


class InstalledCertificateFactory(factory.django.DjangoModelFactory):
    """A CA certificate the charge point reported holding (GetInstalledCertificateIds.conf)."""

    class Meta:
        model = "chargepoints.InstalledCertificate"

    charge_point = factory.SubFactory(ChargePointFactory)
    certificate_type = "CentralSystemRootCertificate"
    hash_algorithm = "SHA256"
    issuer_name_hash = "a1"
    issuer_key_hash = "b2"
    serial_number = factory.Sequence(lambda n: f"{n + 1:02d}")
    reported_at = factory.LazyFunction(lambda: datetime.now(UTC))
