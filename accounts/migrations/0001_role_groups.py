"""The annotator and researcher groups exist right after `migrate` (see accounts/roles.py).

They were made by ``benchmarks.0002_role_groups`` until the roles got this app of their own;
that migration stays in benchmarks' history (databases have it applied, and benchmarks' later
migrations depend on it) but does nothing now. On such a database the groups already exist and
this finds them (get_or_create): their members keep their roles. On a new database this makes
them. Going backwards leaves them: deleting a group would take its memberships with it.
"""

from __future__ import annotations

from django.db import migrations

ROLE_GROUPS = ("annotator", "researcher")


def create_role_groups(apps, schema_editor):  # type: ignore[no-untyped-def]
    group_model = apps.get_model("auth", "Group")
    for name in ROLE_GROUPS:
        group_model.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(create_role_groups, migrations.RunPython.noop)]
