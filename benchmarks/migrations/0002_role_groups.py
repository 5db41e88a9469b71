"""Made the annotator and researcher groups until roles got an app of their own; now
``accounts.0001_role_groups`` makes them (finding them where this already did).

Kept, doing nothing, for history: databases have it applied and benchmarks' later migrations
depend on it, so removing it would break their `migrate`.
"""

from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("benchmarks", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]
    operations = [migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop)]
