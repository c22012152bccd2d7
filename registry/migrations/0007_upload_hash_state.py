from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0006_package_blob_seen_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="upload",
            name="hash_state",
            field=models.BinaryField(blank=True, default=b""),
        ),
    ]
