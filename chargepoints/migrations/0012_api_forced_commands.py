from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('chargepoints', '0011_idtag_local_list_index'),
    ]

    operations = [
        migrations.AddField(
            model_name='command',
            name='forced',
            field=models.BooleanField(default=False),
        ),
    ]
