from django.apps.registry import Apps
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor


def imported_reason_to_unknown(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    # Imports used to write "imported", which says nothing about how the answer ended; "" is
    # "unknown", so that only "length" ever reads as truncated.
    Response = apps.get_model("inference", "Response")
    Response.objects.filter(finish_reason="imported").update(finish_reason="")


class Migration(migrations.Migration):
    dependencies = [
        ("inference", "0003_judges_after"),
    ]

    operations = [
        migrations.AlterField(
            model_name="response",
            name="finish_reason",
            field=models.CharField(
                blank=True,
                db_index=True,
                help_text='"stop", "length" (cut off at max_new_tokens), "error", or "" (unknown, '
                "e.g. imported without one).",
                max_length=50,
            ),
        ),
        migrations.RunPython(imported_reason_to_unknown, migrations.RunPython.noop),
    ]
