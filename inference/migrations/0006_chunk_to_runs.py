"""The chunk queue moves to the runs app: its table is renamed, its rows stay (runs.0001 takes
the model over)."""

from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("inference", "0005_chunk_heartbeat")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.AlterModelTable(name="chunk", table="runs_chunk")],
            state_operations=[migrations.DeleteModel(name="chunk")],
        )
    ]
