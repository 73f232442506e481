import django.db.models.deletion
import django.db.models.functions.text
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("chargepoints", "0012_faults_command_job_key"),
        ("tenancy", "0003_field_tenant_settings"),
    ]

    operations = [
        migrations.CreateModel(
            name="IdTagRevocation",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("id_tag", models.CharField(max_length=20)),
                (
                    "method",
                    models.CharField(
                        choices=[("SendLocalList", "Local List"), ("ClearCache", "Clear Cache")],
                        max_length=16,
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("confirmed_at", models.DateTimeField(blank=True, null=True)),
                (
                    "charge_point",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="id_tag_revocations",
                        to="chargepoints.chargepoint",
                    ),
                ),
                (
                    "command",
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
                "ordering": ["-created_at", "-id"],
                "indexes": [
                    models.Index(
                        models.F("tenant"),
                        django.db.models.functions.text.Lower("id_tag"),
                        condition=models.Q(("confirmed_at", None)),
                        name="idtag_revocation_pending",
                    )
                ],
            },
        ),
    ]
