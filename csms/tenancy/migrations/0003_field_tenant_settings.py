from decimal import Decimal

import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tenancy", "0002_tenant_compat_defaults"),
    ]

    operations = [
        migrations.AddField(
            model_name="tenant",
            name="authorization_cache_lifetime",
            field=models.PositiveIntegerField(
                blank=True,
                help_text="Seconds an Accepted idTagInfo may be cached by a charge point (its "
                "expiryDate); empty: only the tag's own expiry date.",
                null=True,
                validators=[django.core.validators.MinValueValidator(60)],
            ),
        ),
        migrations.AddField(
            model_name="tenant",
            name="nominal_voltage",
            field=models.DecimalField(
                decimal_places=1,
                default=Decimal("230.0"),
                help_text="Volts (phase to neutral) for converting charging limits between W "
                "and A.",
                max_digits=5,
                validators=[django.core.validators.MinValueValidator(1)],
            ),
        ),
    ]
