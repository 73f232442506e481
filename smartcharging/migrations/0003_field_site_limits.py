import django.core.validators
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("chargepoints", "0011_idtag_local_list_index"),
        ("smartcharging", "0002_rebalance_overdue_schedule"),
        ("tenancy", "0003_field_tenant_settings"),
    ]

    operations = [
        migrations.AddField(
            model_name="chargingsite",
            name="session_default_rate",
            field=models.DecimalField(
                blank=True,
                decimal_places=1,
                help_text="What a session may take from its first second, before its share "
                "arrives (the members' TxDefaultProfile, in limit_unit); empty: min_rate.",
                max_digits=10,
                null=True,
                validators=[django.core.validators.MinValueValidator(0)],
            ),
        ),
        migrations.AlterField(
            model_name="chargingsite",
            name="stack_level",
            field=models.PositiveIntegerField(
                default=0,
                help_text="Stack level of the profiles the site pushes where a charge point has "
                "not reported its ChargeProfileMaxStackLevel (the site uses that maximum "
                "otherwise).",
            ),
        ),
        migrations.CreateModel(
            name="ChargingProfileRejection",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("connector_id", models.PositiveIntegerField()),
                ("charging_profile_id", models.IntegerField()),
                ("payload", models.JSONField()),
                ("attempts", models.PositiveSmallIntegerField(default=0)),
                ("next_attempt_at", models.DateTimeField(blank=True, null=True)),
                ("given_up_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "charge_point",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="rejected_charging_profiles",
                        to="chargepoints.chargepoint",
                    ),
                ),
                (
                    "last_command",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="chargepoints.command",
                    ),
                ),
                (
                    "tenant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="tenancy.tenant",
                    ),
                ),
            ],
            options={
                "ordering": ["-updated_at", "-id"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("charge_point", "connector_id", "charging_profile_id"),
                        name="uniq_rejected_profile",
                    )
                ],
            },
        ),
    ]
