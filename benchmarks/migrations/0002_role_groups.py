"""The annotator and researcher groups exist right after `migrate` (see config/roles.py)."""

from __future__ import annotations

from django.db import migrations

ROLE_GROUPS = ("annotator", "researcher")


def create_role_groups(apps, schema_editor):  # type: ignore[no-untyped-def]
    group_model = apps.get_model("auth", "Group")
    for name in ROLE_GROUPS:
        group_model.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [
        ("benchmarks", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]
    operations = [migrations.RunPython(create_role_groups, migrations.RunPython.noop)]
